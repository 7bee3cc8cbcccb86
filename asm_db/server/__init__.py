"""`asmdb serve`: the web map, OGC API - Features and Tiles (tipg), review and similar tiles."""
