"""The OGC query parameters the web server checks before tipg sees them
(`asm_db.server.params`): pure, no server (`test_server.py` sends them to a running one)."""

from __future__ import annotations

import pytest

from asm_db.server.params import id_fits, invalid_params


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"bbox": "-13.3,7.0,-10.2,9.9"},
        {"bbox": "-13.3,7.0,0,-10.2,9.9,10"},
        {"datetime": "2020-01-01T00:00:00Z"},
        {"datetime": "2020-01-01T00:00:00Z/.."},
        {"datetime": "../2021-01-01T00:00:00+01:00"},
        {"limit": "10", "offset": "0"},
        {"offset": str(2**63 - 1)},
        {"simplify": "0"},
        {"simplify": "0.001"},
    ],
)
def test_well_formed_parameters_pass(params):
    assert invalid_params(params) is None


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"bbox": "0,0,1"}, "bbox"),
        ({"bbox": "0,0,1,nan"}, "bbox"),
        ({"bbox": "0,0,1,1e999"}, "bbox"),
        ({"datetime": "2020-13-01T00:00:00Z"}, "datetime"),
        ({"datetime": "2020-01-01"}, "datetime"),
        ({"datetime": ".."}, "datetime"),
        ({"datetime": "2020-01-01T00:00:00Z/garbage"}, "datetime"),
        ({"datetime": "a/b/c"}, "datetime"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "1.5"}, "limit"),
        ({"offset": "99999999999999999999"}, "offset"),
        ({"offset": "-1"}, "offset"),
        ({"simplify": "-1"}, "simplify"),
        ({"simplify": "nan"}, "simplify"),
        ({"simplify": "inf"}, "simplify"),
        ({"simplify": "x"}, "simplify"),
    ],
)
def test_a_malformed_parameter_is_one_line_naming_it(params, named):
    problem = invalid_params(params)
    assert problem is not None and problem.startswith(f"{named}: ") and "\n" not in problem


def test_an_id_fits_its_key_only_within_the_key_type():
    assert id_fits("42", "bigint") and id_fits(str(2**63 - 1), "bigint")
    assert not id_fits(str(2**63), "bigint")
    assert not id_fits("99999999999999999999999", "bigint")
    assert not id_fits("abc", "integer") and not id_fits("1.5", "integer")
    assert not id_fits(str(2**31), "integer")
    assert id_fits("anything at all", "text")
