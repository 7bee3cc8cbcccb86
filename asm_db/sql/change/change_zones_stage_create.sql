-- The zones of one `asmdb change --zones FILE`, in EPSG:4326; dropped at commit.
CREATE TEMPORARY TABLE change_zones_stage (
    zone text NOT NULL,
    geom geometry(MultiPolygon, 4326) NOT NULL
) ON COMMIT DROP;
