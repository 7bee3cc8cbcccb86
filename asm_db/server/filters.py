"""What a visitor's CQL2 `filter` may do: the predicates of OGC API - Features Part 3, nothing else.

tipg turns a CQL2 expression into SQL and a CQL2 function call into an SQL function call, so a
filter could otherwise call any function the server's role may run (`pg_read_file`,
`query_to_xml`, `pg_sleep`). `checked_filter` parses the filter as tipg does, walks the tree
against an allow-list of operators, checks every property is a column of the collection and
every operand has a type its operator takes, and returns the tree rebuilt from what it checked.
Anything else is a `FilterRejected` with one line saying why.
"""

from __future__ import annotations

import datetime
import json
import math
import re
import threading
from collections.abc import Mapping

from ciso8601 import parse_rfc3339
from cql2 import Expr
from geojson_pydantic.geometries import parse_geometry_obj
from pydantic import ValidationError

MAX_FILTER_CHARS = 8192
MAX_DEPTH = 32
# The CQL2 parser (cql2-rs) recurses once per level of nesting: parsed on a thread with this
# much stack, a filter of MAX_FILTER_CHARS cannot overflow it, whatever its nesting.
PARSER_STACK_BYTES = 256 * 2**20

LOGICAL = {"and", "or", "not"}
COMPARISONS = {"=", "<>", "<", ">", "<=", ">="}
ARITHMETIC = {"+", "-", "*", "/", "%", "div", "^"}
SPATIAL = {
    "s_intersects",
    "s_equals",
    "s_disjoint",
    "s_touches",
    "s_within",
    "s_overlaps",
    "s_crosses",
    "s_contains",
}
TEMPORAL = {
    "t_after",
    "t_before",
    "t_contains",
    "t_disjoint",
    "t_during",
    "t_equals",
    "t_finishedby",
    "t_finishes",
    "t_intersects",
    "t_meets",
    "t_metby",
    "t_overlappedby",
    "t_overlaps",
    "t_startedby",
    "t_starts",
}
# A_OVERLAPS is left out: cql2 writes it as `@@`, which PostgreSQL has for text search only.
ARRAYS = {"a_equals", "a_contains", "a_containedby"}
OTHER = {"like", "between", "in", "isNull", "casei"}
ALLOWED = LOGICAL | COMPARISONS | ARITHMETIC | SPATIAL | TEMPORAL | ARRAYS | OTHER
NOT_HERE = {"accenti": "ACCENTI is not supported here (PostgreSQL has no accent folding)"}

ARITY = {"not": 1, "isNull": 1, "casei": 1, "between": 3}
NUMBERS = {"int", "exact", "float"}
SCALARS = NUMBERS | {"text", "string", "bool", "temporal"}
COLUMN_KINDS = {
    "int": {"smallint", "integer", "bigint", "int2", "int4", "int8", "serial", "bigserial"},
    "exact": {"numeric", "decimal"},
    "float": {"float4", "float8", "real", "double precision"},
    "text": {"text", "varchar", "character varying", "char", "character", "bpchar", "citext"},
    "bool": {"bool", "boolean"},
    "temporal": {"date", "timestamp", "timestamptz"},
    "geometry": {"geometry"},
}
KIND_NAMES = {
    "int": "an integer",
    "exact": "a number",
    "float": "a float",
    "text": "text",
    "string": "text",
    "bool": "a boolean",
    "temporal": "a date or time",
    "interval": "an interval",
    "geometry": "a geometry",
    "array": "an array",
    "null": "NULL",
    "other": "not comparable",
}


class FilterRejected(ValueError):
    """A filter this server does not run; the message is one line for the client."""


def checked_filter(text: str, lang: str | None, columns: Mapping[str, str]) -> dict | bool:
    """The cql2-json tree of `text` once every part of it is allowed, or FilterRejected.

    `lang` is the request's `filter-lang` (cql2-text when None); `columns` maps the collection's
    property names to their PostgreSQL types (tipg's `Column.type`)."""
    if len(text) > MAX_FILTER_CHARS:
        raise FilterRejected(f"longer than {MAX_FILTER_CHARS} characters")
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(_check(text, lang, columns))
        except FilterRejected as exc:
            outcome.append(exc)

    # threading.stack_size is process-wide: set for this one thread and restored at once.
    with _STACK_SIZE_LOCK:
        previous = threading.stack_size(PARSER_STACK_BYTES)
        try:
            worker = threading.Thread(target=run, name="cql2-parse", daemon=True)
            worker.start()
        finally:
            threading.stack_size(previous)
    worker.join()
    if not outcome:
        raise FilterRejected("could not be read")
    if isinstance(outcome[0], FilterRejected):
        raise outcome[0]
    return outcome[0]


_STACK_SIZE_LOCK = threading.Lock()


def _check(text: str, lang: str | None, columns: Mapping[str, str]) -> dict | bool:
    if lang == "cql2-json":
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise FilterRejected("not valid JSON (filter-lang is cql2-json)") from exc
        if not isinstance(parsed, dict | bool):
            raise FilterRejected('cql2-json is an object such as {"op": ..., "args": [...]}')
    try:
        # As tipg reads it: the string, whichever language it is written in.
        tree = Expr(text).to_json()
    except Exception as exc:  # cql2 raises plain Exception for a parse error
        raise FilterRejected(_parse_problem(text, lang, exc)) from exc
    if _depth(tree) > MAX_DEPTH:
        raise FilterRejected(f"nested deeper than {MAX_DEPTH} levels")
    kind, rebuilt = _Checker(columns).node(tree)
    if kind not in ("bool", "null"):
        raise FilterRejected(f"is {KIND_NAMES[kind]}, not a condition that is true or false")
    return rebuilt


def _parse_problem(text: str, lang: str | None, exc: Exception) -> str:
    where = re.search(r"--> (\d+):(\d+)", str(exc))
    language = "cql2-json" if lang == "cql2-json" or text.lstrip().startswith("{") else "cql2-text"
    at = f" (at line {where[1]}, column {where[2]})" if where else ""
    return f"not a valid {language} expression{at}"


def _depth(tree: object) -> int:
    """How deeply the tree nests (without recursion: the tree can be thousands deep)."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(node, dict):
            stack.extend((child, level + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, level + 1) for child in node)
    return deepest


def column_kind(pg_type: str) -> str:
    """The filter's kind of a column of this PostgreSQL type ('int', 'text', ..., 'other')."""
    name = pg_type.lower().strip()
    if name.endswith("[]"):
        return f"array:{column_kind(name[:-2])}"
    if name.startswith("_"):  # PostgreSQL's internal name of an array type
        return f"array:{column_kind(name[1:])}"
    for kind, names in COLUMN_KINDS.items():
        if name in names or name.split("(")[0].strip() in names:
            return kind
    if name.startswith(("timestamp", "time ")):
        return "temporal"
    return "other"


def _family(kind: str) -> str:
    if kind in NUMBERS:
        return "number"
    if kind in ("text", "string"):
        return "text"
    return kind


def _comparable(a: str, b: str) -> bool:
    if "null" in (a, b):
        return True
    if {a, b} == {"string", "temporal"}:  # PostgreSQL reads the string as a date or time
        return True
    return _family(a) == _family(b) and _family(a) in ("number", "text", "temporal", "bool")


def _temporal_text(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        if "T" in value or " " in value:
            parse_rfc3339(value)
        else:
            datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


class _Checker:
    """Walks a parsed filter: each part's kind ('int', 'text', 'array:int', ...) and rebuilt form."""

    def __init__(self, columns: Mapping[str, str]) -> None:
        self.columns = columns

    def node(self, node: object) -> tuple[str, object]:
        if isinstance(node, bool):
            return "bool", node
        if isinstance(node, int | float):
            if not math.isfinite(node):
                raise FilterRejected(f"numbers must be finite, not {node}")
            return "exact", node
        if isinstance(node, str):
            return "string", node
        if node is None:
            return "null", None
        if isinstance(node, list):
            element, items = self.array(node)
            return f"array:{element}", items
        if not isinstance(node, dict):
            raise FilterRejected("has a part that is not CQL2")
        if "op" in node:
            return self.operation(str(node["op"]), node.get("args"))
        if "property" in node:
            name = node["property"]
            if name not in self.columns:
                known = ", ".join(sorted(self.columns))
                raise FilterRejected(f"unknown property {name!r} (this layer has {known})")
            return column_kind(self.columns[name]), {"property": name}
        if "date" in node or "timestamp" in node:
            key = "date" if "date" in node else "timestamp"
            if not _temporal_text(node[key]):
                raise FilterRejected(f"{key.upper()}({node[key]!r}) is not a valid {key}")
            return "temporal", {key: node[key]}
        if "interval" in node:
            return "interval", {"interval": self.interval(node["interval"])}
        if "bbox" in node:
            return "geometry", self.bbox(node["bbox"])
        if "type" in node:
            return "geometry", self.geometry(node)
        raise FilterRejected("has a part that is not CQL2")

    def array(self, items: list) -> tuple[str, list]:
        """The kind of a list's elements, and the list."""
        if not items:
            raise FilterRejected("an empty list has no type")
        kinds, rebuilt = zip(*(self.node(item) for item in items), strict=True)
        if not all(k in SCALARS for k in kinds):
            raise FilterRejected("a list holds numbers, text, booleans or dates only")
        if not all(_comparable(kinds[0], k) for k in kinds):
            raise FilterRejected("a list mixes values of different types")
        return kinds[0], list(rebuilt)

    def interval(self, ends: object) -> list:
        if not isinstance(ends, list) or len(ends) != 2:
            raise FilterRejected("INTERVAL takes a start and an end")
        rebuilt = []
        for end in ends:
            if end == ".." or _temporal_text(end):
                rebuilt.append(end)
                continue
            kind, part = self.node(end)
            if kind != "temporal":
                raise FilterRejected("INTERVAL ends are dates, times, date properties or '..'")
            rebuilt.append(part)
        return rebuilt

    def bbox(self, values: object) -> dict:
        if (
            not isinstance(values, list)
            or len(values) not in (4, 6)
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
            or not all(math.isfinite(v) for v in values)
        ):
            raise FilterRejected("BBOX takes four (or six) finite numbers")
        if len(values) == 6:
            west, south, _, east, north, _ = values
        else:
            west, south, east, north = values
        # As a GeoJSON polygon, which PostGIS reads in WGS 84 (the CRS of OGC filters): cql2
        # writes BBOX as an envelope of no SRID, which PostGIS refuses to compare with `geom`.
        ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
        return {"type": "Polygon", "coordinates": [ring]}

    def geometry(self, node: dict) -> dict:
        try:
            geometry = parse_geometry_obj(node)
        except (ValidationError, ValueError) as exc:
            raise FilterRejected(f"not a valid {node.get('type')} geometry") from exc
        text = geometry.model_dump_json(exclude_none=True, exclude={"bbox"})
        if "Infinity" in text or "NaN" in text or "inf" in text:
            raise FilterRejected("coordinates must be finite numbers")
        return json.loads(text)

    def operation(self, op: str, args: object) -> tuple[str, object]:
        if op in NOT_HERE:
            raise FilterRejected(NOT_HERE[op])
        if op not in ALLOWED:
            raise FilterRejected(
                f"{op} is not a CQL2 function or operator this server runs (it runs comparisons, "
                "LIKE, BETWEEN, IN, IS NULL, AND/OR/NOT, S_*, T_*, A_*, CASEI and arithmetic)"
            )
        if not isinstance(args, list):
            raise FilterRejected(f"{op} needs a list of arguments")
        if op in ("and", "or"):
            if len(args) < 2:
                raise FilterRejected(f"{op.upper()} takes two or more conditions")
        elif len(args) != ARITY.get(op, 2):
            raise FilterRejected(f"{op} takes {ARITY.get(op, 2)} arguments, not {len(args)}")
        checked = [self.node(arg) for arg in args]
        kinds = [kind for kind, _ in checked]
        result = self.result(op, kinds, args)
        return result, {"op": op, "args": [part for _, part in checked]}

    def result(self, op: str, kinds: list[str], args: list) -> str:
        """The kind `op` gives over operands of these kinds, or FilterRejected."""
        described = " and ".join(
            _describe(arg, kind) for arg, kind in zip(args, kinds, strict=True)
        )
        if op in LOGICAL:
            if all(k in ("bool", "null") for k in kinds):
                return "bool"
            raise FilterRejected(f"{op.upper()} takes conditions, not {described}")
        if op in COMPARISONS or op == "between":
            if all(k in SCALARS or k == "null" for k in kinds) and all(
                _comparable(a, b) for a in kinds for b in kinds
            ):
                return "bool"
            raise FilterRejected(f"{op.upper()} cannot compare {described}")
        if op == "in":
            element = kinds[1].removeprefix("array:")
            if (
                kinds[0] in SCALARS
                and kinds[1].startswith("array:")
                and _comparable(kinds[0], element)
            ):
                return "bool"
            raise FilterRejected(f"IN takes a value and a list of its type, not {described}")
        if op == "like":
            if all(k in ("text", "string") for k in kinds):
                return "bool"
            raise FilterRejected(f"LIKE takes text, not {described}")
        if op == "isNull":
            return "bool"
        if op == "casei":
            if kinds[0] in ("text", "string"):
                return "text"
            raise FilterRejected(f"CASEI takes text, not {described}")
        if op in ARITHMETIC:
            if not all(k in NUMBERS for k in kinds):
                raise FilterRejected(f"{op} takes numbers, not {described}")
            if op in ("%", "div") and "float" in kinds:
                raise FilterRejected(f"{op} takes integers or exact numbers, not {described}")
            if "float" in kinds:
                return "float"
            return "int" if op not in ("/", "^") and all(k == "int" for k in kinds) else "exact"
        if op in SPATIAL:
            if all(k == "geometry" for k in kinds):
                return "bool"
            raise FilterRejected(f"{op.upper()} takes geometries, not {described}")
        if op in TEMPORAL:
            if all(k in ("temporal", "interval") for k in kinds):
                return "bool"
            raise FilterRejected(f"{op.upper()} takes dates, times or intervals, not {described}")
        if op in ARRAYS:
            elements = [k.removeprefix("array:") for k in kinds]
            if all(k.startswith("array:") for k in kinds) and _comparable(*elements):
                return "bool"
            raise FilterRejected(f"{op.upper()} takes two lists of one type, not {described}")
        raise FilterRejected(f"{op} is not handled")  # every allowed operator is handled above


def _describe(arg: object, kind: str) -> str:
    name = KIND_NAMES.get(kind.split(":")[0], kind)
    if isinstance(arg, dict) and "property" in arg:
        return f"{arg['property']} ({name})"
    return name
