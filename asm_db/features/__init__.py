"""Feature sets: one vector per tile, made by `asmdb ingest features` or `asmdb featurize`,
read by train, predict, similar and the server. Their record, how a command finds one, how
they are written, listed and deleted, and how their vectors are read, live here."""
