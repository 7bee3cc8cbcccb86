"""The limits of one `asmdb featurize` run, so that a small file cannot ask for gigabytes.

A tile is read as n x n float64 pixels a band, and rcf holds its (n - 2)^2 windows of
9 x bands float32 values twice: about 220 MB at 1,024 pixels and 3 bands, four times that at
2,048. The plan holds 8 bytes a tile id, a few times over while it is made.
"""

DEFAULT_MAX_TILES = 1_000_000  # tiles a run may plan, unless --max-tiles says more
MAX_DERIVED_TILE_PIXELS = 1024  # pixels a tile side from the imagery's resolution
MAX_TILE_PIXELS = 2048  # what --tile-pixels may ask for
