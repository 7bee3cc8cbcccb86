"""The web server's CQL2 filter guard (`asm_db.server.filters`): only OGC API - Features Part 3
predicates over the layer's own columns, in cql2-text and cql2-json. Pure: no server, no
database (`test_server.py` sends the same filters to a running server)."""

from __future__ import annotations

import json

import pytest
from cql2 import Expr

from asm_db.server.filters import MAX_FILTER_CHARS, FilterRejected, checked_filter

# The columns of asmdb.maps_by_period as tipg reads them, and a text and an array column.
COLUMNS = {
    "geom": "geometry",
    "map_id": "integer",
    "map_tile_id": "bigint",
    "tile_id": "bigint",
    "run_id": "integer",
    "probability": "float8",
    "period_start": "date",
    "period_end": "date",
    "class": "text",
    "tags": "text[]",
}

LEGITIMATE = [
    "probability > 0.5",
    "S_INTERSECTS(geom, BBOX(-13.3, 7.0, -10.2, 9.9))",
    "S_INTERSECTS(geom, BBOX(-13.3, 7.0, 0, -10.2, 9.9, 10))",
    "tile_id IN (1,2)",
    "period_start > DATE('2020-01-01')",
    "probability BETWEEN 0.2 AND 0.8",
    "run_id = 1 AND probability >= 0.5",
    "map_id=3 AND probability >= 0.5",
    "NOT (probability > 0.5) OR tile_id <> 4",
    "probability IS NULL",
    "probability IS NOT NULL",
    "tile_id NOT IN (1, 2, 3)",
    "probability NOT BETWEEN 0.1 AND 0.2",
    "class LIKE 'new%'",
    "CASEI(class) = CASEI('New')",
    "S_WITHIN(geom, POLYGON((-14 6, -10 6, -10 10, -14 10, -14 6)))",
    "S_DISJOINT(geom, POINT(-12 8))",
    "S_CONTAINS(geom, LINESTRING(-12 8, -12.01 8.01))",
    "T_INTERSECTS(period_start, INTERVAL('2020-01-01', '..'))",
    "T_BEFORE(period_end, TIMESTAMP('2021-01-01T00:00:00Z'))",
    "T_DURING(INTERVAL(period_start, period_end), INTERVAL('2019-01-01', '2022-01-01'))",
    "period_start >= '2020-01-01'",
    "A_CONTAINS(tags, ('a', 'b'))",
    "probability * 2 - 1 > 0",
    "-probability < 0",
    "tile_id % 2 = 0 AND tile_id div 2 > 3",
    "probability ^ 2 < 0.25",
    "TRUE",
]


@pytest.mark.parametrize("text", LEGITIMATE)
def test_the_standard_predicates_over_the_layer_columns_pass(text):
    tree = checked_filter(text, None, COLUMNS)
    assert Expr(tree).to_sql()  # tipg can write it as SQL


@pytest.mark.parametrize("text", LEGITIMATE)
def test_each_passes_the_same_as_cql2_json(text):
    as_json = json.dumps(Expr(text).to_json())
    assert checked_filter(as_json, "cql2-json", COLUMNS) == checked_filter(text, None, COLUMNS)


def test_a_bbox_becomes_a_wgs84_polygon_postgis_can_compare_with_geom():
    sql = Expr(checked_filter("S_INTERSECTS(geom, BBOX(0, 1, 2, 3))", None, COLUMNS)).to_sql()
    assert "st_geomfromgeojson" in sql and "st_makeenvelope" not in sql


SQL_FUNCTIONS = [
    "array_to_string(xpath('//v/text()', query_to_xml('select count(*)>0 as v "
    "from asmdb.labels', false,false,'')),',') = 'true'",
    "pg_read_file('/etc/passwd') LIKE 'root:%'",
    "pg_sleep(0.05) IS NULL",
    "probability > pg_sleep(1)",
    "tile_id IN (1, pg_sleep(1))",
    "S_INTERSECTS(geom, st_buffer(geom, 1))",
    "set_config('statement_timeout', '0', false) = '0'",
    "current_setting('server_version') LIKE '%'",
    "version() LIKE 'x'",
    "lo_import('/etc/passwd') > 0",
    "dblink('host=evil', 'select 1') IS NULL",
    "probability > random()",
    "NOT pg_terminate_backend(1)",
    '"pg_sleep"(1) IS NULL',
    "upper(class) = 'X'",
    "A_OVERLAPS(tags, ('a'))",  # cql2 writes it with @@, PostgreSQL's text-search operator
]


@pytest.mark.parametrize("text", SQL_FUNCTIONS)
def test_any_other_function_is_refused_naming_it(text):
    with pytest.raises(FilterRejected, match="is not a CQL2 function or operator"):
        checked_filter(text, None, COLUMNS)
    as_json = json.dumps(Expr(text).to_json())
    with pytest.raises(FilterRejected, match="is not a CQL2 function or operator"):
        checked_filter(as_json, "cql2-json", COLUMNS)


def test_the_refusal_names_the_function():
    with pytest.raises(FilterRejected, match="^pg_read_file is not"):
        checked_filter("pg_read_file('/etc/passwd') LIKE 'root:%'", None, COLUMNS)
    hidden = {"op": "and", "args": [True, {"op": "query_to_xml", "args": ["select 1"]}]}
    with pytest.raises(FilterRejected, match="^query_to_xml is not"):
        checked_filter(json.dumps(hidden), "cql2-json", COLUMNS)


def test_accenti_is_refused_as_postgresql_has_no_such_function():
    with pytest.raises(FilterRejected, match="ACCENTI is not supported"):
        checked_filter("ACCENTI(class) = 'e'", None, COLUMNS)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nosuch = 1", "unknown property 'nosuch'"),
        ('"Probability" > 0.5', "unknown property 'Probability'"),
        ("\"current_user\" = 'postgres'", "unknown property 'current_user'"),
        ("probability > NaN", "unknown property 'NaN'"),
        ("CASEI(probability) = 'x'", "CASEI takes text, not probability"),
        ("ACCENTI(probability) = 'x'", "ACCENTI is not supported"),
        ("probability BETWEEN 0 AND 1e999", "numbers must be finite"),
        ("probability > -1e999", "numbers must be finite"),
        ("S_INTERSECTS(geom, BBOX(1e999, 0, 1, 1))", "BBOX takes four"),
        ("probability", "not a condition"),
        ("1 + 1", "not a condition"),
        ("probability = 'x'", "cannot compare probability"),
        ("class < 1", "cannot compare class"),
        ("period_start = class", "cannot compare period_start"),
        ("geom = 1", "cannot compare geom"),
        ("probability LIKE 'a%'", "LIKE takes text"),
        ("probability % 2 = 1", "% takes integers"),
        ("probability div 2 = 1", "div takes integers"),
        ("tile_id IN (1, 'a')", "mixes values"),
        ("tile_id IN ('a')", "IN takes a value and a list of its type"),
        ("S_INTERSECTS(probability, BBOX(0, 0, 1, 1))", "S_INTERSECTS takes geometries"),
        ("T_BEFORE(probability, DATE('2020-01-01'))", "T_BEFORE takes dates"),
        ("period_start = DATE('2020-02-30')", "not a valid date"),
        ("period_start = TIMESTAMP('yesterday')", "not a valid timestamp"),
        ("A_CONTAINS(tags, (1, 2))", "two lists of one type"),
        ("probability > 0.5 AND 1", "AND takes conditions"),
        ("probability IN ()", "not a valid cql2-text expression"),
        ("probability >", "not a valid cql2-text expression"),
        ("S_INTERSECTS(geom, POLYGON((0 0, 1 0, 1 1)))", "not a valid Polygon"),
    ],
)
def test_a_mistake_is_one_line_saying_what(text, message):
    with pytest.raises(FilterRejected, match=message) as caught:
        checked_filter(text, None, COLUMNS)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "tree",
    [
        {"op": "=", "args": [{"property": "tile_id"}]},
        {"op": "and", "args": [True]},
        {"op": "between", "args": [{"property": "probability"}, 0]},
        {"op": "s_intersects", "args": [{"property": "geom"}, {"bbox": [0, 0, "1", 1]}]},
        {
            "op": "s_intersects",
            "args": [{"property": "geom"}, {"type": "Point", "coordinates": [1]}],
        },
        {"op": "=", "args": [{"property": "period_start"}, {"date": "2020'); SELECT 1; --"}]},
        {"op": "t_after", "args": [{"property": "period_start"}, {"interval": ["x", ".."]}]},
        {"op": "in", "args": [{"property": "tile_id"}, [None]]},
        {"op": "st_transform", "args": [{"property": "geom"}, 3857]},
    ],
)
def test_malformed_cql2_json_is_refused(tree):
    with pytest.raises(FilterRejected):
        checked_filter(json.dumps(tree), "cql2-json", COLUMNS)


def test_cql2_json_must_be_json():
    with pytest.raises(FilterRejected, match="not valid JSON"):
        checked_filter("probability > 0.5", "cql2-json", COLUMNS)
    with pytest.raises(FilterRejected, match="is an object"):
        checked_filter("[1, 2]", "cql2-json", COLUMNS)


def test_an_over_long_filter_is_refused_before_it_is_parsed():
    long = " OR ".join(["probability > 0.5"] * (MAX_FILTER_CHARS // 10))
    with pytest.raises(FilterRejected, match=f"longer than {MAX_FILTER_CHARS} characters"):
        checked_filter(long, None, COLUMNS)


@pytest.mark.parametrize(
    "text",
    [
        "NOT " * 2000 + "probability > 0",
        "probability = " + "-" * 8000 + "probability",
        "probability = " + " + ".join(["1"] * 2000),
        "CASEI(" * 1000 + "class" + ")" * 1000 + " = 'x'",
        "tile_id = " + "(tile_id + " * 600 + "1" + ")" * 600,
    ],
)
def test_deep_nesting_is_refused_without_exhausting_the_stack(text):
    assert len(text) <= MAX_FILTER_CHARS
    with pytest.raises(FilterRejected):
        checked_filter(text, None, COLUMNS)


def test_nested_json_is_refused():
    tree: object = {"op": ">", "args": [{"property": "probability"}, 0]}
    for _ in range(200):
        tree = {"op": "not", "args": [tree]}
    with pytest.raises(FilterRejected):
        checked_filter(json.dumps(tree), "cql2-json", COLUMNS)


def test_redundant_parentheses_are_harmless():
    text = "(" * 1000 + "probability > 0.5" + ")" * 1000
    assert checked_filter(text, None, COLUMNS) == checked_filter("probability > 0.5", None, COLUMNS)


def test_values_stay_values():
    hostile = "x'); DROP TABLE asmdb.labels; --\\"
    tree = checked_filter(
        json.dumps({"op": "=", "args": [{"property": "class"}, hostile]}), "cql2-json", COLUMNS
    )
    assert tree == {"op": "=", "args": [{"property": "class"}, hostile]}
