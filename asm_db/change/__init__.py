"""Change maps: where mining started and stopped between two periods."""
