"""The protocols and models `asmdb train` offers, by name (no scikit-learn import, so the
command line starts fast); `asm_db.model` and `asm_db.estimators` implement them."""

PROTOCOLS = ("spatial", "seed")
MODEL_NAMES = ("ridge", "logistic", "random-forest", "gradient-boosting")
