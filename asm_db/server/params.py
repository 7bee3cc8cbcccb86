"""The OGC query parameters tipg takes as given, checked first: a malformed value is a 400
with one line here instead of an error deep inside tipg or PostgreSQL (a 500).

tipg binds or quotes every value, so nothing malformed reaches SQL as code; what these checks
prevent is a client's mistake answered as the server's. The filter has its own module
(`filters`); the tile's z/x/y and the ids, which depend on the layer, are checked in `ogc`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from ciso8601 import parse_rfc3339

BIGINT_MAX = 2**63 - 1
INTEGER_RANGES = {
    "smallint": 2**15,
    "int2": 2**15,
    "integer": 2**31,
    "int4": 2**31,
    "serial": 2**31,
    "bigint": 2**63,
    "int8": 2**63,
    "bigserial": 2**63,
}


def invalid_params(params: Mapping[str, str]) -> str | None:
    """Why these OGC query parameters are malformed (one line), or None."""
    for check in (_bbox, _datetime, _whole_numbers, _simplify):
        problem = check(params)
        if problem is not None:
            return problem
    return None


def _bbox(params: Mapping[str, str]) -> str | None:
    bbox = params.get("bbox")
    if bbox is None:
        return None
    try:
        values = [float(v) for v in bbox.split(",")]
    except ValueError:
        values = []
    if len(values) not in (4, 6) or not all(math.isfinite(v) for v in values):
        return "bbox: four (or six) comma-separated numbers"
    return None


def _datetime(params: Mapping[str, str]) -> str | None:
    value = params.get("datetime")
    if value is None:
        return None
    ends = value.split("/")
    if len(ends) == 1:
        ok = _instant(ends[0])
    else:
        ok = len(ends) == 2 and all(end in ("", "..") or _instant(end) for end in ends)
    if not ok:
        return (
            "datetime: an RFC 3339 date-time (2020-01-01T00:00:00Z) or an interval of two "
            "separated by '/' ('..' for an open end)"
        )
    return None


def _instant(text: str) -> bool:
    try:
        parse_rfc3339(text)  # as tipg parses it
    except ValueError:
        return False
    return True


def _whole_numbers(params: Mapping[str, str]) -> str | None:
    for name in ("limit", "offset"):
        value = params.get(name)
        if value is None:
            continue
        try:
            number = int(value)
        except ValueError:
            number = -1
        if not 0 <= number <= BIGINT_MAX:
            return f"{name}: a whole number from 0"
    return None


def _simplify(params: Mapping[str, str]) -> str | None:
    value = params.get("simplify")
    if value is None:
        return None
    try:
        tolerance = float(value)
    except ValueError:
        tolerance = -1.0
    # tipg writes the number into the SQL: only a finite, non-negative one is a tolerance.
    if not (math.isfinite(tolerance) and tolerance >= 0):
        return "simplify: a tolerance of 0 or more (in the layer's units)"
    return None


def id_fits(value: str, pg_type: str) -> bool:
    """Whether `value` can be a key of a column of this type (any text for a text key)."""
    bound = INTEGER_RANGES.get(pg_type)
    if bound is None:
        return True
    try:
        number = int(value)
    except ValueError:
        return False
    return -bound <= number < bound
