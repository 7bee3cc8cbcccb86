"""Maps: a run's model applied to the tiles of a feature set, streamed and written back."""

# Connections that stream a feature set's tiles to score at once. Each is a PostgreSQL backend
# sending rows and a thread receiving them; four kept both cores of a 2-core machine busy
# (75,076 tiles x 4,000 features: 1.46 s with two, 1.21 s with four).
READERS = 4
