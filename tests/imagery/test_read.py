"""The tile reader: a mosaic of files read tile by tile, whatever number of them it keeps open."""

from __future__ import annotations

import numpy as np

from asm_db.imagery.read import TileReader, open_imagery

from rasters import EAST, NORTH, RES_DEG, SOUTH, WEST, write_4326


def test_a_reader_keeping_one_file_open_reads_what_one_keeping_all_reads(tmp_path):
    middle = (WEST + EAST) / 2
    files = [
        str(write_4326(tmp_path / "west.tif", bounds=(WEST, SOUTH, middle, NORTH))),
        str(write_4326(tmp_path / "east.tif", bounds=(middle, SOUTH, EAST, NORTH))),
    ]
    imagery = open_imagery(files)
    # Tiles across both files, west and east in turn: the one-file reader closes one each time.
    size = 20 * RES_DEG
    tiles = [(x, SOUTH, x + size, SOUTH + size) for x in (middle - size / 2, WEST, EAST - size)]
    with TileReader(imagery) as everything, TileReader(imagery, max_open=1) as one:
        for bounds in tiles * 2:
            expected, expected_valid = everything.read(bounds, 20)
            values, valid = one.read(bounds, 20)
            assert len(one._open) == 1
            np.testing.assert_array_equal(values, expected)
            np.testing.assert_array_equal(valid, expected_valid)
            assert valid.all()
        assert len(everything._open) == 2
