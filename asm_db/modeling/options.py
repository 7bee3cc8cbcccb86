"""The protocols and models `asmdb train` offers, by name (no scikit-learn import, so the
command line starts fast); `asm_db.modeling.protocols` and `asm_db.modeling.estimators` implement them."""

PROTOCOLS = ("spatial", "seed")
MODEL_NAMES = ("ridge", "logistic", "random-forest", "gradient-boosting")
