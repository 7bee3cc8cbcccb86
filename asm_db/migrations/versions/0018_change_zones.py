"""A change's zones and their estimates, and how a change chose its minimum difference.

- `asmdb.change_zones`: the zones of the last `asmdb review estimate --change ID --zones FILE`
  of each change (name, MultiPolygon in EPSG:4326 with a GiST index, reviewed sample tiles in
  the zone, and why there is no interval where there is none).
- `asmdb.change_zone_estimates`: per zone and change class, the mapped area and (with enough
  reviews) the estimated area with its 95 percent interval.
- `asmdb.changes.min_delta_rule` and `held_back`: how `min_delta` was chosen (`--min-delta
  auto` takes it from the noise of the maps) and how many tiles crossed the threshold by less
  (they keep their earlier class). A change made before this revision has neither.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

SCHEMA = "asmdb"
SAMPLED = "('new', 'gone', 'persistent', 'absent')"

COMMENTS = {
    "change_zones": (
        "TABLE",
        "The zones of a change (asmdb review estimate --change ID --zones FILE): one row per "
        "zone name; its estimates are in change_zone_estimates.",
    ),
    "change_zones.zone_id": ("COLUMN", "The zone's key (unique across changes)."),
    "change_zones.change_id": ("COLUMN", "The change the zone's estimates are of."),
    "change_zones.zone": ("COLUMN", "The zone's name (the --zone-field value)."),
    "change_zones.reviewed": (
        "COLUMN",
        "Reviewed sample tiles of the change whose centre lies in the zone.",
    ),
    "change_zones.note": (
        "COLUMN",
        "Why the zone has no interval (too few reviewed tiles); null where it has one.",
    ),
    "change_zones.geom": (
        "COLUMN",
        "The zone's outline in EPSG:4326 (features of one name unioned).",
    ),
    "change_zone_estimates": (
        "TABLE",
        "Per zone of change_zones and change class: mapped area and estimated area with its "
        "95 percent interval.",
    ),
    "change_zone_estimates.zone_id": ("COLUMN", "The zone (change_zones)."),
    "change_zone_estimates.class": ("COLUMN", "new, gone, persistent or absent."),
    "change_zone_estimates.mapped_km2": (
        "COLUMN",
        "Area of the class the change map shows in the zone, km2 (exact, on the ellipsoid).",
    ),
    "change_zone_estimates.mapped_tiles": (
        "COLUMN",
        "Tiles of the class whose centre lies in the zone.",
    ),
    "change_zone_estimates.area_km2": (
        "COLUMN",
        "Area of the class the reviews estimate in the zone, km2; null with too few reviews.",
    ),
    "change_zone_estimates.low": ("COLUMN", "Low end of the 95 percent interval of area_km2."),
    "change_zone_estimates.high": ("COLUMN", "High end of the 95 percent interval of area_km2."),
    "changes.min_delta_rule": (
        "COLUMN",
        "How min_delta was chosen: given, or auto from the noise of the two maps.",
    ),
    "changes.held_back": (
        "COLUMN",
        "Tiles that crossed the threshold by less than min_delta and kept their earlier class.",
    ),
}


def upgrade() -> None:
    op.execute(
        f"""
        CREATE TABLE {SCHEMA}.change_zones (
            zone_id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            change_id integer NOT NULL
                REFERENCES {SCHEMA}.changes (change_id) ON DELETE CASCADE,
            zone text NOT NULL,
            reviewed integer NOT NULL,
            note text,
            geom geometry(MultiPolygon, 4326) NOT NULL,
            CONSTRAINT change_zones_once UNIQUE (change_id, zone)
        )
        """
    )
    op.execute(f"CREATE INDEX change_zones_geom_idx ON {SCHEMA}.change_zones USING gist (geom)")
    op.execute(
        f"""
        CREATE TABLE {SCHEMA}.change_zone_estimates (
            zone_id integer NOT NULL
                REFERENCES {SCHEMA}.change_zones (zone_id) ON DELETE CASCADE,
            class text NOT NULL,
            mapped_km2 double precision NOT NULL,
            mapped_tiles integer NOT NULL,
            area_km2 double precision,
            low double precision,
            high double precision,
            CONSTRAINT change_zone_estimates_class CHECK (class IN {SAMPLED}),
            CONSTRAINT change_zone_estimates_pkey PRIMARY KEY (zone_id, class)
        )
        """
    )
    op.execute(
        f"ALTER TABLE {SCHEMA}.changes ADD COLUMN min_delta_rule text, ADD COLUMN held_back integer"
    )
    for name, (kind, text) in COMMENTS.items():
        quoted = text.replace("'", "''")
        op.execute(f"COMMENT ON {kind} {SCHEMA}.{name} IS '{quoted}'")


def downgrade() -> None:
    op.execute(f"DROP VIEW IF EXISTS {SCHEMA}.zone_estimates")
    op.execute(f"ALTER TABLE {SCHEMA}.changes DROP COLUMN held_back, DROP COLUMN min_delta_rule")
    op.execute(f"DROP TABLE {SCHEMA}.change_zone_estimates")
    op.execute(f"DROP TABLE {SCHEMA}.change_zones")
