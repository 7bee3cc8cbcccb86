"""The change classes and the defaults of `asmdb change` (no imports: the CLI reads them)."""

CLASSES = ("new", "gone", "persistent", "absent", "no_data")
DEFAULT_THRESHOLD = 0.5
DEFAULT_MIN_DELTA = 0.0
