"""The review loop: a queue of tiles to check, review files, reviews to labels, area estimates."""
