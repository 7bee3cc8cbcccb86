"""The integer types of asmdb's keys: runs, maps, changes and reviews are numbered with
PostgreSQL `integer`, tiles with `bigint`. A number outside its key's type names nothing
stored: a lookup answers "not found" for it, without sending the database a value it would
refuse to compare."""

from __future__ import annotations

INTEGER_MAX = 2**31 - 1
BIGINT_MAX = 2**63 - 1


def fits_integer(value: int) -> bool:
    """Whether `value` can be a run, map, change or review id (PostgreSQL `integer`)."""
    return -INTEGER_MAX - 1 <= value <= INTEGER_MAX


def fits_bigint(value: int) -> bool:
    """Whether `value` can be a tile id (PostgreSQL `bigint`)."""
    return -BIGINT_MAX - 1 <= value <= BIGINT_MAX
