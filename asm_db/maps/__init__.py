"""Maps: a run's model applied to the tiles of a feature set, streamed and written back."""
