"""Models without a database: estimators, the ridge search, evaluation protocols, metrics."""
