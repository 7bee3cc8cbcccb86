"""Runs: the joined training rows, fitting and evaluating a model, the run registry."""
