""" "Find more like this": tiles whose feature vectors are most similar to some query tiles."""
