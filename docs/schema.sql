CREATE SCHEMA asmdb;

CREATE FUNCTION asmdb.feature_array(v bytea) RETURNS real[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
        WITH x AS MATERIALIZED (SELECT v || ''::bytea AS d)  -- detoasted once, not per byte
        SELECT coalesce(array_agg(asmdb.float32_from_bits(
                   get_byte(x.d, 4 * i)::int8
                   | (get_byte(x.d, 4 * i + 1)::int8 << 8)
                   | (get_byte(x.d, 4 * i + 2)::int8 << 16)
                   | (get_byte(x.d, 4 * i + 3)::int8 << 24)) ORDER BY i), '{}')
        FROM x, generate_series(0, octet_length(x.d) / 4 - 1) AS i
        $$;

COMMENT ON FUNCTION asmdb.feature_array(v bytea) IS 'A stored feature vector as real[].';

CREATE FUNCTION asmdb.feature_bytes(a real[]) RETURNS bytea
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
        SELECT coalesce(string_agg(substring(b FROM 4 FOR 1) || substring(b FROM 3 FOR 1)
                                   || substring(b FROM 2 FOR 1) || substring(b FROM 1 FOR 1),
                                   ''::bytea ORDER BY i), ''::bytea)
        FROM unnest(a) WITH ORDINALITY AS u(x, i), LATERAL float4send(u.x) AS s(b)
        $$;

COMMENT ON FUNCTION asmdb.feature_bytes(a real[]) IS 'real[] as a stored feature vector (little-endian float32).';

CREATE FUNCTION asmdb.feature_value(v bytea, i integer) RETURNS real
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
        WITH x AS MATERIALIZED (SELECT substring(v FROM 4 * i - 3 FOR 4) AS b)
        SELECT asmdb.float32_from_bits(
                   get_byte(x.b, 0)::int8 | (get_byte(x.b, 1)::int8 << 8)
                   | (get_byte(x.b, 2)::int8 << 16) | (get_byte(x.b, 3)::int8 << 24))
        FROM x
        WHERE i >= 1 AND octet_length(x.b) = 4
        $$;

COMMENT ON FUNCTION asmdb.feature_value(v bytea, i integer) IS 'Value i (1-based) of a stored feature vector, reading only the bytes that hold it.';

CREATE TABLE asmdb.labels (
    label_id integer NOT NULL,
    unique_id text NOT NULL,
    lon double precision NOT NULL,
    lat double precision NOT NULL,
    country text,
    sample_type text,
    mine_type text,
    confidence double precision,
    label smallint NOT NULL,
    proportion_inspected double precision,
    extra jsonb DEFAULT '{}'::jsonb NOT NULL,
    source_file text,
    ingested_at timestamp with time zone DEFAULT now() NOT NULL,
    geom public.geometry(Point,4326) NOT NULL,
    observed_at date,
    CONSTRAINT labels_label_binary CHECK ((label = ANY (ARRAY[0, 1]))),
    CONSTRAINT labels_lonlat CHECK ((((lat >= ('-90'::integer)::double precision) AND (lat <= (90)::double precision)) AND ((lon >= ('-180'::integer)::double precision) AND (lon <= (180)::double precision))))
);

COMMENT ON TABLE asmdb.labels IS 'Ground-truth points: one row per label file row (asmdb ingest labels), keyed by unique_id.';

COMMENT ON COLUMN asmdb.labels.label_id IS 'The label''s number in asmdb.';

COMMENT ON COLUMN asmdb.labels.unique_id IS 'The label file''s identifier of the label; re-ingesting it updates the row.';

COMMENT ON COLUMN asmdb.labels.lon IS 'Longitude, EPSG:4326 degrees.';

COMMENT ON COLUMN asmdb.labels.lat IS 'Latitude, EPSG:4326 degrees.';

COMMENT ON COLUMN asmdb.labels.country IS 'Country of the label, as the label file gives it.';

COMMENT ON COLUMN asmdb.labels.sample_type IS 'How the label was collected, as the label file gives it.';

COMMENT ON COLUMN asmdb.labels.mine_type IS 'Kind of mine (artisanal, commercial, ...); filtered_labels() drops commercial ones by default.';

COMMENT ON COLUMN asmdb.labels.confidence IS 'The labeller''s confidence (the seed keeps 3 and above).';

COMMENT ON COLUMN asmdb.labels.label IS '1: mining, 0: no mining.';

COMMENT ON COLUMN asmdb.labels.proportion_inspected IS 'Share of the tile the labeller inspected, 0 to 1.';

COMMENT ON COLUMN asmdb.labels.extra IS 'The label file''s other columns, as JSON.';

COMMENT ON COLUMN asmdb.labels.source_file IS 'Name of the file the label came from.';

COMMENT ON COLUMN asmdb.labels.ingested_at IS 'When the label was last written.';

COMMENT ON COLUMN asmdb.labels.geom IS 'The label''s point (lon, lat).';

COMMENT ON COLUMN asmdb.labels.observed_at IS 'When the label was observed in the field or on imagery (NULL: unknown).';

CREATE FUNCTION asmdb.filtered_labels(min_proportion_inspected double precision DEFAULT 0.2, exclude_mine_types text[] DEFAULT ARRAY['commercial'::text], min_confidence double precision DEFAULT 3, observed_from date DEFAULT NULL::date, observed_to date DEFAULT NULL::date) RETURNS SETOF asmdb.labels
    LANGUAGE sql STABLE
    AS $$
    SELECT *
    FROM asmdb.labels AS l
    WHERE (coalesce(l.proportion_inspected >= min_proportion_inspected, false) OR l.label = 1)
      AND (l.mine_type IS NULL OR l.mine_type <> ALL (exclude_mine_types))
      AND coalesce(l.confidence >= min_confidence, false)
      AND (
          (observed_from IS NULL AND observed_to IS NULL)
          OR coalesce(l.observed_at BETWEEN coalesce(observed_from, '-infinity'::date)
                                        AND coalesce(observed_to, 'infinity'::date), false)
      )
$$;

COMMENT ON FUNCTION asmdb.filtered_labels(min_proportion_inspected double precision, exclude_mine_types text[], min_confidence double precision, observed_from date, observed_to date) IS 'The labels that pass the quality filters (defaults: the seed''s thresholds), optionally only those observed between two dates.';

CREATE FUNCTION asmdb.float32_from_bits(bits bigint) RETURNS real
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN (((CASE WHEN (bits >= '2147483648'::bigint) THEN '-1'::integer ELSE 1 END)::double precision * CASE ((bits >> 23) & (255)::bigint) WHEN 0 THEN (((bits & (8388607)::bigint))::double precision * ((2)::double precision ^ ('-149'::integer)::double precision)) WHEN 255 THEN CASE WHEN ((bits & (8388607)::bigint) = 0) THEN 'Infinity'::double precision ELSE 'NaN'::double precision END ELSE ((((bits & (8388607)::bigint) + 8388608))::double precision * ((2)::double precision ^ ((((bits >> 23) & (255)::bigint) - 150))::double precision)) END))::real;

COMMENT ON FUNCTION asmdb.float32_from_bits(bits bigint) IS 'One IEEE-754 float32 from its 32 bits (exact, NaN and infinities too).';

CREATE FUNCTION asmdb.grid_tile_id(grid_id integer, cell_size double precision, origin_lon double precision, origin_lat double precision, lat double precision, lon double precision) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN (((((grid_id - 1))::bigint * '1099511627776'::bigint) + ((floor((round(((lat - origin_lat) * ((10)::double precision / cell_size))) / (10)::double precision)))::bigint * ((round((((180)::double precision - origin_lon) / cell_size)))::bigint + 1))) + (floor((round(((lon - origin_lon) * ((10)::double precision / cell_size))) / (10)::double precision)))::bigint);

COMMENT ON FUNCTION asmdb.grid_tile_id(grid_id integer, cell_size double precision, origin_lon double precision, origin_lat double precision, lat double precision, lon double precision) IS 'The tile id of (lat, lon) on the grid given by its id, cell size and origin.';

CREATE TABLE asmdb.grids (
    grid_id integer NOT NULL,
    cell_size double precision NOT NULL,
    origin_lon double precision NOT NULL,
    origin_lat double precision NOT NULL,
    srid integer DEFAULT 4326 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT grids_cell_size_positive_finite CHECK (((cell_size > (0)::double precision) AND (cell_size < 'Infinity'::double precision))),
    CONSTRAINT grids_cells_fit CHECK ((((round((((90)::double precision - origin_lat) / cell_size)) + (1)::double precision) * (round((((180)::double precision - origin_lon) / cell_size)) + (1)::double precision)) <= ('1099511627776'::bigint)::double precision)),
    CONSTRAINT grids_id_fits CHECK (((grid_id >= 1) AND (grid_id <= 8388607))),
    CONSTRAINT grids_origin CHECK (((origin_lon <= ('-180'::integer)::double precision) AND (origin_lon > ('-540'::integer)::double precision) AND (origin_lat <= ('-90'::integer)::double precision) AND (origin_lat > ('-270'::integer)::double precision))),
    CONSTRAINT grids_srid CHECK ((srid = 4326))
);

COMMENT ON TABLE asmdb.grids IS 'Tile grids: square cells in EPSG:4326.';

COMMENT ON COLUMN asmdb.grids.grid_id IS 'The grid''s number (the top bits of its tiles'' ids).';

COMMENT ON COLUMN asmdb.grids.cell_size IS 'Side of a cell, in degrees.';

COMMENT ON COLUMN asmdb.grids.origin_lon IS 'Longitude of the grid''s origin corner.';

COMMENT ON COLUMN asmdb.grids.origin_lat IS 'Latitude of the grid''s origin corner.';

COMMENT ON COLUMN asmdb.grids.srid IS 'The grid''s coordinate system (4326).';

COMMENT ON COLUMN asmdb.grids.created_at IS 'When the grid was made.';

CREATE FUNCTION asmdb.grid_tile_id(grid integer, lat double precision, lon double precision) RETURNS bigint
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    RETURN (SELECT asmdb.grid_tile_id(g.grid_id, g.cell_size, g.origin_lon, g.origin_lat, grid_tile_id.lat, grid_tile_id.lon) AS grid_tile_id FROM asmdb.grids g WHERE (g.grid_id = grid_tile_id.grid));

COMMENT ON FUNCTION asmdb.grid_tile_id(grid integer, lat double precision, lon double precision) IS 'The tile id of (lat, lon) on grid `grid` of asmdb.grids.';

CREATE FUNCTION asmdb.latest_change_id() RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT max(change_id) FROM asmdb.changes
$$;

COMMENT ON FUNCTION asmdb.latest_change_id() IS 'The newest change map (highest change_id).';

CREATE FUNCTION asmdb.promoted_map() RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT m.map_id
    FROM asmdb.maps AS m
    JOIN asmdb.feature_sets AS fs USING (feature_set_id)
    WHERE m.map_id = ANY (asmdb.promoted_maps())
    ORDER BY coalesce(fs.period_end, fs.period_start) DESC NULLS LAST,
             fs.period_start DESC NULLS LAST,
             m.promoted_at DESC
    LIMIT 1
$$;

COMMENT ON FUNCTION asmdb.promoted_map() IS 'The promoted map of the newest period, dated periods before undated ones.';

CREATE FUNCTION asmdb.promoted_maps() RETURNS integer[]
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT coalesce(array_agg(map_id ORDER BY map_id), '{}')
    FROM (
        SELECT DISTINCT ON (fs.period_start, fs.period_end) m.map_id
        FROM asmdb.maps AS m
        JOIN asmdb.feature_sets AS fs USING (feature_set_id)
        WHERE m.promoted_at IS NOT NULL
        ORDER BY fs.period_start, fs.period_end, m.promoted_at DESC, m.map_id DESC
    ) AS per_period
$$;

COMMENT ON FUNCTION asmdb.promoted_maps() IS 'The promoted map of every period (the map promoted last within each period).';

CREATE FUNCTION asmdb.promoted_run() RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT run_id FROM asmdb.maps WHERE map_id = asmdb.promoted_map()
$$;

COMMENT ON FUNCTION asmdb.promoted_run() IS 'The run of the promoted map: the run asmdb shows.';

CREATE FUNCTION asmdb.tile_id(lat double precision, lon double precision) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN asmdb.grid_tile_id(1, (0.01)::double precision, ('-180'::integer)::double precision, ('-90'::integer)::double precision, lat, lon);

COMMENT ON FUNCTION asmdb.tile_id(lat double precision, lon double precision) IS 'The tile id of (lat, lon) on grid 1 (0.01 degree cells).';

CREATE TABLE asmdb.change_tiles (
    change_id integer NOT NULL,
    tile_id bigint NOT NULL,
    p_from double precision,
    p_to double precision,
    delta double precision,
    class text NOT NULL,
    area_km2 double precision NOT NULL,
    geom public.geometry(Polygon,4326) NOT NULL,
    CONSTRAINT change_tiles_class CHECK ((class = ANY (ARRAY['new'::text, 'gone'::text, 'persistent'::text, 'absent'::text, 'no_data'::text])))
)
PARTITION BY LIST (change_id);

COMMENT ON TABLE asmdb.change_tiles IS 'Change maps, one partition per change (change_tiles_N); class: new, gone, persistent, absent, no_data; area_km2 on the ellipsoid.';

COMMENT ON COLUMN asmdb.change_tiles.change_id IS 'The change map of the row.';

COMMENT ON COLUMN asmdb.change_tiles.tile_id IS 'The tile.';

COMMENT ON COLUMN asmdb.change_tiles.p_from IS 'Probability in the earlier map.';

COMMENT ON COLUMN asmdb.change_tiles.p_to IS 'Probability in the later map.';

COMMENT ON COLUMN asmdb.change_tiles.delta IS 'p_to minus p_from.';

COMMENT ON COLUMN asmdb.change_tiles.class IS 'new, gone, persistent, absent or no_data.';

COMMENT ON COLUMN asmdb.change_tiles.area_km2 IS 'The tile''s area on the ellipsoid, km2.';

COMMENT ON COLUMN asmdb.change_tiles.geom IS 'The tile''s outline.';

CREATE TABLE asmdb.change_zone_estimates (
    zone_id integer NOT NULL,
    class text NOT NULL,
    mapped_km2 double precision NOT NULL,
    mapped_tiles integer NOT NULL,
    area_km2 double precision,
    low double precision,
    high double precision,
    CONSTRAINT change_zone_estimates_class CHECK ((class = ANY (ARRAY['new'::text, 'gone'::text, 'persistent'::text, 'absent'::text])))
);

COMMENT ON TABLE asmdb.change_zone_estimates IS 'Per zone of change_zones and change class: mapped area and estimated area with its 95 percent interval.';

COMMENT ON COLUMN asmdb.change_zone_estimates.zone_id IS 'The zone (change_zones).';

COMMENT ON COLUMN asmdb.change_zone_estimates.class IS 'new, gone, persistent or absent.';

COMMENT ON COLUMN asmdb.change_zone_estimates.mapped_km2 IS 'Area of the class the change map shows in the zone, km2 (exact, on the ellipsoid).';

COMMENT ON COLUMN asmdb.change_zone_estimates.mapped_tiles IS 'Tiles of the class whose centre lies in the zone.';

COMMENT ON COLUMN asmdb.change_zone_estimates.area_km2 IS 'Area of the class the reviews estimate in the zone, km2; null with too few reviews.';

COMMENT ON COLUMN asmdb.change_zone_estimates.low IS 'Low end of the 95 percent interval of area_km2.';

COMMENT ON COLUMN asmdb.change_zone_estimates.high IS 'High end of the 95 percent interval of area_km2.';

CREATE TABLE asmdb.change_zones (
    zone_id integer NOT NULL,
    change_id integer NOT NULL,
    zone text NOT NULL,
    reviewed integer NOT NULL,
    note text,
    geom public.geometry(MultiPolygon,4326) NOT NULL
);

COMMENT ON TABLE asmdb.change_zones IS 'The zones of a change (asmdb review estimate --change ID --zones FILE): one row per zone name; its estimates are in change_zone_estimates.';

COMMENT ON COLUMN asmdb.change_zones.zone_id IS 'The zone''s key (unique across changes).';

COMMENT ON COLUMN asmdb.change_zones.change_id IS 'The change the zone''s estimates are of.';

COMMENT ON COLUMN asmdb.change_zones.zone IS 'The zone''s name (the --zone-field value).';

COMMENT ON COLUMN asmdb.change_zones.reviewed IS 'Reviewed sample tiles of the change whose centre lies in the zone.';

COMMENT ON COLUMN asmdb.change_zones.note IS 'Why the zone has no interval (too few reviewed tiles); null where it has one.';

COMMENT ON COLUMN asmdb.change_zones.geom IS 'The zone''s outline in EPSG:4326 (features of one name unioned).';

ALTER TABLE asmdb.change_zones ALTER COLUMN zone_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME asmdb.change_zones_zone_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE asmdb.changes (
    change_id integer NOT NULL,
    from_map integer NOT NULL,
    to_map integer NOT NULL,
    threshold double precision NOT NULL,
    min_delta double precision NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    classes jsonb DEFAULT '{}'::jsonb NOT NULL,
    zones jsonb,
    area_estimate jsonb,
    min_delta_rule text,
    held_back integer,
    CONSTRAINT changes_min_delta_range CHECK (((min_delta >= (0)::double precision) AND (min_delta <= (1)::double precision))),
    CONSTRAINT changes_threshold_range CHECK (((threshold > (0)::double precision) AND (threshold <= (1)::double precision))),
    CONSTRAINT changes_two_maps CHECK ((from_map <> to_map))
);

COMMENT ON TABLE asmdb.changes IS 'Change maps between two maps (asmdb change): parameters and totals; the tiles are in change_tiles.';

COMMENT ON COLUMN asmdb.changes.change_id IS 'The change map''s number.';

COMMENT ON COLUMN asmdb.changes.from_map IS 'The earlier map.';

COMMENT ON COLUMN asmdb.changes.to_map IS 'The later map.';

COMMENT ON COLUMN asmdb.changes.threshold IS 'Probability at and above which a tile counts as mining.';

COMMENT ON COLUMN asmdb.changes.min_delta IS 'Smallest change of probability that counts as new or gone.';

COMMENT ON COLUMN asmdb.changes.created_at IS 'When the change map was made.';

COMMENT ON COLUMN asmdb.changes.classes IS 'Tiles and area per change class, as JSON.';

COMMENT ON COLUMN asmdb.changes.zones IS 'Tiles and area per class within each zone, as JSON (NULL: no zones).';

COMMENT ON COLUMN asmdb.changes.area_estimate IS 'Area of change estimated from the reviewed change sample, as JSON.';

COMMENT ON COLUMN asmdb.changes.min_delta_rule IS 'How min_delta was chosen: given, or auto from the noise of the two maps.';

COMMENT ON COLUMN asmdb.changes.held_back IS 'Tiles that crossed the threshold by less than min_delta and kept their earlier class.';

ALTER TABLE asmdb.changes ALTER COLUMN change_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME asmdb.changes_change_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE asmdb.feature_sets (
    feature_set_id integer NOT NULL,
    name text NOT NULL,
    n_features integer NOT NULL,
    feature_names text[] NOT NULL,
    tile_half_size double precision NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    grid_id integer NOT NULL,
    provenance jsonb DEFAULT '{}'::jsonb NOT NULL,
    source text,
    period_start date,
    period_end date,
    complete boolean DEFAULT true NOT NULL,
    CONSTRAINT feature_sets_check CHECK (((n_features > 0) AND (cardinality(feature_names) = n_features))),
    CONSTRAINT feature_sets_period_order CHECK (((period_start IS NULL) OR (period_end IS NULL) OR (period_start <= period_end))),
    CONSTRAINT feature_sets_tile_half_size_check CHECK ((tile_half_size > (0)::double precision))
);

COMMENT ON TABLE asmdb.feature_sets IS 'Named sets of feature vectors (MOSAIKS random convolutional features) on one grid, for one period.';

COMMENT ON COLUMN asmdb.feature_sets.feature_set_id IS 'The feature set''s number.';

COMMENT ON COLUMN asmdb.feature_sets.name IS 'The feature set''s unique name (asmdb featurize / ingest features --name).';

COMMENT ON COLUMN asmdb.feature_sets.n_features IS 'Length of every vector of the set.';

COMMENT ON COLUMN asmdb.feature_sets.feature_names IS 'The name of each feature, in vector order.';

COMMENT ON COLUMN asmdb.feature_sets.tile_half_size IS 'Half the side of a tile, in degrees.';

COMMENT ON COLUMN asmdb.feature_sets.created_at IS 'When the feature set was made.';

COMMENT ON COLUMN asmdb.feature_sets.grid_id IS 'The grid of the set''s tiles.';

COMMENT ON COLUMN asmdb.feature_sets.provenance IS 'How the vectors were made (imagery, bands, model, seed), as JSON.';

COMMENT ON COLUMN asmdb.feature_sets.source IS 'Where the vectors came from (a features file, or imagery featurized).';

COMMENT ON COLUMN asmdb.feature_sets.period_start IS 'First day of the imagery''s period (NULL: unknown).';

COMMENT ON COLUMN asmdb.feature_sets.period_end IS 'Last day of the imagery''s period (NULL: unknown).';

COMMENT ON COLUMN asmdb.feature_sets.complete IS 'False while featurizing is still writing vectors; such a set is not used.';

ALTER TABLE asmdb.feature_sets ALTER COLUMN feature_set_id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME asmdb.feature_sets_feature_set_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE asmdb.grids ALTER COLUMN grid_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME asmdb.grids_grid_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE asmdb.imagery (
    imagery_id integer NOT NULL,
    name text NOT NULL,
    period_start date,
    period_end date,
    footprint public.geometry(MultiPolygon,4326) NOT NULL,
    bands text[] NOT NULL,
    files text[] NOT NULL,
    files_owned boolean DEFAULT false NOT NULL,
    scale double precision[] NOT NULL,
    "offset" double precision[] NOT NULL,
    stretch jsonb,
    empty_fraction double precision,
    source jsonb DEFAULT '{}'::jsonb NOT NULL,
    item_ids text[] DEFAULT '{}'::text[] NOT NULL,
    parameters jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT imagery_check CHECK (((period_start IS NULL) OR (period_end IS NULL) OR (period_start <= period_end))),
    CONSTRAINT imagery_empty_fraction_check CHECK (((empty_fraction IS NULL) OR ((empty_fraction >= (0)::double precision) AND (empty_fraction <= (1)::double precision))))
);

COMMENT ON TABLE asmdb.imagery IS 'Imagery asmdb can featurize by name: composites made by asmdb imagery composite and rasters registered by asmdb imagery add.';

COMMENT ON COLUMN asmdb.imagery.imagery_id IS 'Key of the imagery.';

COMMENT ON COLUMN asmdb.imagery.name IS 'Unique name users give the imagery (featurize --imagery NAME).';

COMMENT ON COLUMN asmdb.imagery.period_start IS 'First day the imagery shows.';

COMMENT ON COLUMN asmdb.imagery.period_end IS 'Last day the imagery shows.';

COMMENT ON COLUMN asmdb.imagery.footprint IS 'Area the imagery covers (EPSG:4326).';

COMMENT ON COLUMN asmdb.imagery.bands IS 'Band names, in the files'' band order.';

COMMENT ON COLUMN asmdb.imagery.files IS 'Paths or URLs of the raster files, in mosaic order.';

COMMENT ON COLUMN asmdb.imagery.files_owned IS 'True when asmdb wrote the files (imagery delete removes them).';

COMMENT ON COLUMN asmdb.imagery.scale IS 'Per band: the scale of the stored numbers (value = stored * scale + offset).';

COMMENT ON COLUMN asmdb.imagery."offset" IS 'Per band: the offset of the stored numbers (value = stored * scale + offset).';

COMMENT ON COLUMN asmdb.imagery.stretch IS 'Display stretch for true colour: per band the 2nd and 98th percentile of the values, as {band: [low, high]}.';

COMMENT ON COLUMN asmdb.imagery.empty_fraction IS 'Share of the imagery''s pixels with no valid observation (0 to 1).';

COMMENT ON COLUMN asmdb.imagery.source IS 'How it was made: the STAC API, collection and query, or imagery add.';

COMMENT ON COLUMN asmdb.imagery.item_ids IS 'Ids of the STAC items the composite used (provenance).';

COMMENT ON COLUMN asmdb.imagery.parameters IS 'Composite parameters: statistic, mask, cloud limit, grid and block size.';

COMMENT ON COLUMN asmdb.imagery.created_at IS 'When the imagery was registered.';

ALTER TABLE asmdb.imagery ALTER COLUMN imagery_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME asmdb.imagery_imagery_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE asmdb.tiles (
    tile_id bigint NOT NULL,
    image_id text,
    lat double precision NOT NULL,
    lon double precision NOT NULL,
    geom public.geometry(Polygon,4326) NOT NULL,
    grid_id integer GENERATED ALWAYS AS (((tile_id >> 40) + 1)) STORED NOT NULL
);

COMMENT ON TABLE asmdb.tiles IS 'The tiles of every grid: one square cell per row, the unit features, maps and reviews are about.';

COMMENT ON COLUMN asmdb.tiles.tile_id IS 'The tile''s id: its grid''s number in the top bits, its cell on the grid below (asmdb.grid_tile_id).';

COMMENT ON COLUMN asmdb.tiles.image_id IS 'The imagery tile''s identifier, where the features file gave one.';

COMMENT ON COLUMN asmdb.tiles.lat IS 'Latitude of the tile''s centre.';

COMMENT ON COLUMN asmdb.tiles.lon IS 'Longitude of the tile''s centre.';

COMMENT ON COLUMN asmdb.tiles.geom IS 'The tile''s square outline, EPSG:4326.';

COMMENT ON COLUMN asmdb.tiles.grid_id IS 'The grid the tile belongs to (read from tile_id).';

CREATE VIEW asmdb.label_tiles AS
 SELECT ((((l.label_id)::bigint << 32) | ((t.grid_id)::bigint << 8)) | (t.rank - 1)) AS label_tile_id,
    l.label_id,
    t.tile_id,
    l.unique_id,
    t.image_id,
    l.label,
    l.mine_type,
    l.confidence,
    l.proportion_inspected,
    l.sample_type,
    l.country,
    l.geom,
    t.grid_id
   FROM (asmdb.labels l
     CROSS JOIN LATERAL ( SELECT t_1.tile_id,
            t_1.image_id,
            t_1.grid_id,
            row_number() OVER (PARTITION BY t_1.grid_id ORDER BY t_1.tile_id) AS rank
           FROM asmdb.tiles t_1
          WHERE public.st_intersects(l.geom, t_1.geom)
         OFFSET 0) t);

COMMENT ON VIEW asmdb.label_tiles IS 'Labels joined to the tiles they intersect, per grid. QGIS key: label_tile_id (int8, unique).';

COMMENT ON COLUMN asmdb.label_tiles.label_tile_id IS 'Unique key: label, grid and the tile''s rank among those the label touches.';

COMMENT ON COLUMN asmdb.label_tiles.label_id IS 'The label.';

COMMENT ON COLUMN asmdb.label_tiles.tile_id IS 'A tile the label intersects.';

COMMENT ON COLUMN asmdb.label_tiles.unique_id IS 'The label file''s identifier of the label.';

COMMENT ON COLUMN asmdb.label_tiles.image_id IS 'The tile''s imagery identifier.';

COMMENT ON COLUMN asmdb.label_tiles.label IS '1: mining, 0: no mining.';

COMMENT ON COLUMN asmdb.label_tiles.mine_type IS 'Kind of mine.';

COMMENT ON COLUMN asmdb.label_tiles.confidence IS 'The labeller''s confidence.';

COMMENT ON COLUMN asmdb.label_tiles.proportion_inspected IS 'Share of the tile the labeller inspected, 0 to 1.';

COMMENT ON COLUMN asmdb.label_tiles.sample_type IS 'How the label was collected.';

COMMENT ON COLUMN asmdb.label_tiles.country IS 'Country of the label.';

COMMENT ON COLUMN asmdb.label_tiles.geom IS 'The label''s point.';

COMMENT ON COLUMN asmdb.label_tiles.grid_id IS 'The tile''s grid.';

ALTER TABLE asmdb.labels ALTER COLUMN label_id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME asmdb.labels_label_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE asmdb.maps (
    map_id integer NOT NULL,
    run_id integer NOT NULL,
    feature_set_id integer NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    promoted_at timestamp with time zone,
    tiles integer NOT NULL,
    counts jsonb DEFAULT '{}'::jsonb NOT NULL
);

COMMENT ON TABLE asmdb.maps IS 'A run''s model applied to a feature set: one map per (run, feature set); the promoted map of each period is the one shown.';

COMMENT ON COLUMN asmdb.maps.map_id IS 'The map''s number.';

COMMENT ON COLUMN asmdb.maps.run_id IS 'The run whose model made the map.';

COMMENT ON COLUMN asmdb.maps.feature_set_id IS 'The feature set the model was applied to (its period is the map''s).';

COMMENT ON COLUMN asmdb.maps.created_at IS 'When the map was written.';

COMMENT ON COLUMN asmdb.maps.promoted_at IS 'When the map was last promoted (NULL: never shown).';

COMMENT ON COLUMN asmdb.maps.tiles IS 'Number of tiles in the map.';

COMMENT ON COLUMN asmdb.maps.counts IS 'Tiles per probability class, as JSON.';

CREATE VIEW asmdb.latest_change AS
 SELECT c.tile_id,
    c.change_id,
    c.p_from,
    c.p_to,
    c.delta,
    c.class,
    c.area_km2,
    c.geom,
    fa.period_start AS from_period_start,
    fa.period_end AS from_period_end,
    fb.period_start AS to_period_start,
    fb.period_end AS to_period_end
   FROM (((((asmdb.change_tiles c
     JOIN asmdb.changes ch ON ((ch.change_id = c.change_id)))
     JOIN asmdb.maps ma ON ((ma.map_id = ch.from_map)))
     JOIN asmdb.feature_sets fa ON ((fa.feature_set_id = ma.feature_set_id)))
     JOIN asmdb.maps mb ON ((mb.map_id = ch.to_map)))
     JOIN asmdb.feature_sets fb ON ((fb.feature_set_id = mb.feature_set_id)))
  WHERE (c.change_id = ( SELECT asmdb.latest_change_id() AS latest_change_id));

COMMENT ON VIEW asmdb.latest_change IS 'The newest change map: new, gone, persistent, absent, no_data per tile. QGIS key: tile_id.';

COMMENT ON COLUMN asmdb.latest_change.tile_id IS 'The tile (unique in the view).';

COMMENT ON COLUMN asmdb.latest_change.change_id IS 'The newest change map.';

COMMENT ON COLUMN asmdb.latest_change.p_from IS 'Probability in the earlier map.';

COMMENT ON COLUMN asmdb.latest_change.p_to IS 'Probability in the later map.';

COMMENT ON COLUMN asmdb.latest_change.delta IS 'p_to minus p_from.';

COMMENT ON COLUMN asmdb.latest_change.class IS 'new, gone, persistent, absent or no_data.';

COMMENT ON COLUMN asmdb.latest_change.area_km2 IS 'The tile''s area on the ellipsoid, km2.';

COMMENT ON COLUMN asmdb.latest_change.geom IS 'The tile''s outline.';

COMMENT ON COLUMN asmdb.latest_change.from_period_start IS 'The earlier map''s period: its start.';

COMMENT ON COLUMN asmdb.latest_change.from_period_end IS 'The earlier map''s period: its end.';

COMMENT ON COLUMN asmdb.latest_change.to_period_start IS 'The later map''s period: its start.';

COMMENT ON COLUMN asmdb.latest_change.to_period_end IS 'The later map''s period: its end.';

CREATE TABLE asmdb.map_overviews (
    overview_id bigint NOT NULL,
    map_id integer NOT NULL,
    cells integer NOT NULL,
    tiles integer NOT NULL,
    tiles_at_least_half integer NOT NULL,
    probability double precision NOT NULL,
    probability_mean double precision NOT NULL,
    geom public.geometry(Polygon,4326) NOT NULL,
    CONSTRAINT map_overviews_cells_check CHECK ((cells > 1))
);

COMMENT ON TABLE asmdb.map_overviews IS 'Each map''s predictions aggregated into blocks of cells x cells grid cells, for the web map''s low zooms; written with the map.';

COMMENT ON COLUMN asmdb.map_overviews.overview_id IS 'The block''s number.';

COMMENT ON COLUMN asmdb.map_overviews.map_id IS 'The map aggregated.';

COMMENT ON COLUMN asmdb.map_overviews.cells IS 'Side of the block, in grid cells.';

COMMENT ON COLUMN asmdb.map_overviews.tiles IS 'Predicted tiles in the block.';

COMMENT ON COLUMN asmdb.map_overviews.tiles_at_least_half IS 'Tiles in the block with probability 0.5 or more.';

COMMENT ON COLUMN asmdb.map_overviews.probability IS 'Highest tile probability in the block.';

COMMENT ON COLUMN asmdb.map_overviews.probability_mean IS 'Mean tile probability in the block.';

COMMENT ON COLUMN asmdb.map_overviews.geom IS 'The block''s outline.';

CREATE VIEW asmdb.latest_overviews AS
 SELECT o.overview_id,
    o.map_id,
    o.cells,
    o.tiles,
    o.tiles_at_least_half,
    o.probability,
    o.probability_mean,
    o.geom
   FROM asmdb.map_overviews o
  WHERE (o.map_id = ( SELECT asmdb.promoted_map() AS promoted_map));

COMMENT ON VIEW asmdb.latest_overviews IS 'The promoted map aggregated into blocks of cells x cells tiles (max and mean probability). QGIS key: overview_id (int8, unique).';

COMMENT ON COLUMN asmdb.latest_overviews.overview_id IS 'The block (unique).';

COMMENT ON COLUMN asmdb.latest_overviews.map_id IS 'The promoted map.';

COMMENT ON COLUMN asmdb.latest_overviews.cells IS 'Side of the block, in grid cells.';

COMMENT ON COLUMN asmdb.latest_overviews.tiles IS 'Predicted tiles in the block.';

COMMENT ON COLUMN asmdb.latest_overviews.tiles_at_least_half IS 'Tiles in the block with probability 0.5 or more.';

COMMENT ON COLUMN asmdb.latest_overviews.probability IS 'Highest tile probability in the block.';

COMMENT ON COLUMN asmdb.latest_overviews.probability_mean IS 'Mean tile probability in the block.';

COMMENT ON COLUMN asmdb.latest_overviews.geom IS 'The block''s outline.';

CREATE TABLE asmdb.predictions (
    map_id integer NOT NULL,
    run_id integer NOT NULL,
    tile_id bigint NOT NULL,
    score double precision NOT NULL,
    probability double precision NOT NULL,
    geom public.geometry(Polygon,4326) NOT NULL,
    map_tile_id bigint NOT NULL,
    CONSTRAINT predictions_probability_range CHECK (((probability >= (0)::double precision) AND (probability <= (1)::double precision)))
)
PARTITION BY LIST (map_id);

COMMENT ON TABLE asmdb.predictions IS 'Every map''s probability per tile, one partition per map (predictions_map_N).';

COMMENT ON COLUMN asmdb.predictions.map_id IS 'The map of the prediction.';

COMMENT ON COLUMN asmdb.predictions.run_id IS 'The run whose model made the map.';

COMMENT ON COLUMN asmdb.predictions.tile_id IS 'The tile predicted.';

COMMENT ON COLUMN asmdb.predictions.score IS 'The model''s raw score.';

COMMENT ON COLUMN asmdb.predictions.probability IS 'The calibrated probability of mining, 0 to 1.';

COMMENT ON COLUMN asmdb.predictions.geom IS 'The tile''s outline.';

COMMENT ON COLUMN asmdb.predictions.map_tile_id IS 'Unique across maps: the key of asmdb.maps_by_period.';

CREATE VIEW asmdb.latest_predictions AS
 SELECT p.tile_id,
    p.map_id,
    p.run_id,
    p.score,
    p.probability,
    p.geom
   FROM asmdb.predictions p
  WHERE (p.map_id = ( SELECT asmdb.promoted_map() AS promoted_map));

COMMENT ON VIEW asmdb.latest_predictions IS 'The promoted map''s calibrated probability per tile. QGIS key: tile_id (int8, unique).';

COMMENT ON COLUMN asmdb.latest_predictions.tile_id IS 'The tile (unique in the view).';

COMMENT ON COLUMN asmdb.latest_predictions.map_id IS 'The promoted map.';

COMMENT ON COLUMN asmdb.latest_predictions.run_id IS 'The run whose model made the map.';

COMMENT ON COLUMN asmdb.latest_predictions.score IS 'The model''s raw score.';

COMMENT ON COLUMN asmdb.latest_predictions.probability IS 'The calibrated probability of mining, 0 to 1.';

COMMENT ON COLUMN asmdb.latest_predictions.geom IS 'The tile''s outline.';

ALTER TABLE asmdb.map_overviews ALTER COLUMN overview_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME asmdb.map_overviews_overview_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE SEQUENCE asmdb.map_tile_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE asmdb.map_tile_id_seq OWNED BY asmdb.predictions.map_tile_id;

CREATE VIEW asmdb.maps_by_period AS
 SELECT p.map_tile_id,
    p.tile_id,
    p.map_id,
    fs.period_start,
    fs.period_end,
    p.probability,
    p.geom
   FROM ((asmdb.predictions p
     JOIN asmdb.maps m ON ((m.map_id = p.map_id)))
     JOIN asmdb.feature_sets fs ON ((fs.feature_set_id = m.feature_set_id)))
  WHERE (p.map_id = ANY (( SELECT asmdb.promoted_maps() AS promoted_maps)::integer[]));

COMMENT ON VIEW asmdb.maps_by_period IS 'The promoted map of every period. QGIS key: map_tile_id (int8, unique).';

COMMENT ON COLUMN asmdb.maps_by_period.map_tile_id IS 'Unique key of the (map, tile) row.';

COMMENT ON COLUMN asmdb.maps_by_period.tile_id IS 'The tile.';

COMMENT ON COLUMN asmdb.maps_by_period.map_id IS 'The period''s promoted map.';

COMMENT ON COLUMN asmdb.maps_by_period.period_start IS 'First day of the map''s period.';

COMMENT ON COLUMN asmdb.maps_by_period.period_end IS 'Last day of the map''s period.';

COMMENT ON COLUMN asmdb.maps_by_period.probability IS 'The calibrated probability of mining, 0 to 1.';

COMMENT ON COLUMN asmdb.maps_by_period.geom IS 'The tile''s outline.';

ALTER TABLE asmdb.maps ALTER COLUMN map_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME asmdb.maps_map_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE asmdb.model_runs (
    run_id integer NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    feature_set_id integer NOT NULL,
    parameters jsonb NOT NULL,
    metrics jsonb NOT NULL,
    counts jsonb NOT NULL,
    model bytea NOT NULL,
    model_format text NOT NULL,
    library_versions jsonb NOT NULL,
    protocol text,
    model_name text,
    data_fingerprint text,
    code_version text,
    feature_importance real[],
    importance_method text,
    area_estimate jsonb
);

COMMENT ON TABLE asmdb.model_runs IS 'Trained models: parameters, cross-validated metrics and the model itself, one row per asmdb train.';

COMMENT ON COLUMN asmdb.model_runs.run_id IS 'The run''s number.';

COMMENT ON COLUMN asmdb.model_runs.created_at IS 'When the run was trained.';

COMMENT ON COLUMN asmdb.model_runs.feature_set_id IS 'The feature set the model was trained on.';

COMMENT ON COLUMN asmdb.model_runs.parameters IS 'The run''s options (label filters, model, protocol, seed), as JSON.';

COMMENT ON COLUMN asmdb.model_runs.metrics IS 'Cross-validated metrics (ROC AUC, accuracy, ...), as JSON.';

COMMENT ON COLUMN asmdb.model_runs.counts IS 'Labels and tiles used and dropped, as JSON.';

COMMENT ON COLUMN asmdb.model_runs.model IS 'The fitted model, in model_format.';

COMMENT ON COLUMN asmdb.model_runs.model_format IS 'How model is serialised.';

COMMENT ON COLUMN asmdb.model_runs.library_versions IS 'Versions of the libraries the model was fitted with, as JSON.';

COMMENT ON COLUMN asmdb.model_runs.protocol IS 'The training protocol (the seed''s, or another).';

COMMENT ON COLUMN asmdb.model_runs.model_name IS 'The kind of model (logistic regression, forest, ...).';

COMMENT ON COLUMN asmdb.model_runs.data_fingerprint IS 'Digest of the training rows: equal runs trained on equal data.';

COMMENT ON COLUMN asmdb.model_runs.code_version IS 'The asmdb version that trained the run.';

COMMENT ON COLUMN asmdb.model_runs.feature_importance IS 'Importance of each feature, in the feature set''s order.';

COMMENT ON COLUMN asmdb.model_runs.importance_method IS 'How feature_importance was measured.';

COMMENT ON COLUMN asmdb.model_runs.area_estimate IS 'Mining area estimated from the run''s reviewed sample (asmdb review area), as JSON.';

ALTER TABLE asmdb.model_runs ALTER COLUMN run_id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME asmdb.model_runs_run_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE asmdb.operation_locks (
    name text NOT NULL
);

COMMENT ON TABLE asmdb.operation_locks IS 'One row per asmdb operation that must not overlap; writers lock it FOR UPDATE.';

COMMENT ON COLUMN asmdb.operation_locks.name IS 'The operation''s name.';

CREATE VIEW asmdb.overviews_by_period AS
 SELECT o.overview_id,
    o.map_id,
    fs.period_start,
    fs.period_end,
    o.cells,
    o.tiles,
    o.tiles_at_least_half,
    o.probability,
    o.probability_mean,
    o.geom
   FROM ((asmdb.map_overviews o
     JOIN asmdb.maps m ON ((m.map_id = o.map_id)))
     JOIN asmdb.feature_sets fs ON ((fs.feature_set_id = m.feature_set_id)))
  WHERE (o.map_id = ANY (( SELECT asmdb.promoted_maps() AS promoted_maps)::integer[]));

COMMENT ON VIEW asmdb.overviews_by_period IS 'The promoted map of every period aggregated into blocks of cells x cells tiles. QGIS key: overview_id (int8, unique).';

COMMENT ON COLUMN asmdb.overviews_by_period.overview_id IS 'The block (unique).';

COMMENT ON COLUMN asmdb.overviews_by_period.map_id IS 'The period''s promoted map.';

COMMENT ON COLUMN asmdb.overviews_by_period.period_start IS 'First day of the map''s period.';

COMMENT ON COLUMN asmdb.overviews_by_period.period_end IS 'Last day of the map''s period.';

COMMENT ON COLUMN asmdb.overviews_by_period.cells IS 'Side of the block, in grid cells.';

COMMENT ON COLUMN asmdb.overviews_by_period.tiles IS 'Predicted tiles in the block.';

COMMENT ON COLUMN asmdb.overviews_by_period.tiles_at_least_half IS 'Tiles in the block with probability 0.5 or more.';

COMMENT ON COLUMN asmdb.overviews_by_period.probability IS 'Highest tile probability in the block.';

COMMENT ON COLUMN asmdb.overviews_by_period.probability_mean IS 'Mean tile probability in the block.';

COMMENT ON COLUMN asmdb.overviews_by_period.geom IS 'The block''s outline.';

CREATE TABLE asmdb.qgis_projects (
    name text NOT NULL,
    metadata jsonb,
    content bytea
);

COMMENT ON TABLE asmdb.qgis_projects IS 'QGIS projects: Project > Open From > PostgreSQL, schema asmdb';

COMMENT ON COLUMN asmdb.qgis_projects.name IS 'The project''s name.';

COMMENT ON COLUMN asmdb.qgis_projects.metadata IS 'QGIS''s metadata of the project.';

COMMENT ON COLUMN asmdb.qgis_projects.content IS 'The project file (.qgz).';

CREATE TABLE asmdb.review_plans (
    plan_id integer NOT NULL,
    change_id integer,
    map_id integer,
    class text NOT NULL,
    target_se_km2 double precision NOT NULL,
    expected_se_km2 double precision,
    sample_sizes jsonb NOT NULL,
    plan jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT review_plans_of_one CHECK (((change_id IS NULL) <> (map_id IS NULL))),
    CONSTRAINT review_plans_target_se_km2_check CHECK ((target_se_km2 > (0)::double precision))
);

COMMENT ON TABLE asmdb.review_plans IS 'Sample plans (asmdb review plan): per-stratum sample sizes that reach a target standard error of one class''s area; the last of a change or map is drawn by review queue --plan.';

COMMENT ON COLUMN asmdb.review_plans.plan_id IS 'The plan''s number; the highest of a change or map is its last.';

COMMENT ON COLUMN asmdb.review_plans.change_id IS 'The change whose sample is planned (null for a map''s plan).';

COMMENT ON COLUMN asmdb.review_plans.map_id IS 'The map whose sample is planned (null for a change''s plan).';

COMMENT ON COLUMN asmdb.review_plans.class IS 'The class whose area the target is for (new, gone, ...; asm for a map).';

COMMENT ON COLUMN asmdb.review_plans.target_se_km2 IS 'The standard error of that class''s area the plan aims at, km2.';

COMMENT ON COLUMN asmdb.review_plans.expected_se_km2 IS 'The standard error the planned sample sizes are expected to give, km2.';

COMMENT ON COLUMN asmdb.review_plans.sample_sizes IS 'Tiles to draw per stratum, as JSON {stratum: tiles}.';

COMMENT ON COLUMN asmdb.review_plans.plan IS 'The whole plan as `asmdb review plan --json` prints it: strata, anticipated user''s accuracies and where each came from.';

COMMENT ON COLUMN asmdb.review_plans.created_at IS 'When the plan was made.';

ALTER TABLE asmdb.review_plans ALTER COLUMN plan_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME asmdb.review_plans_plan_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE asmdb.review_queue (
    review_id integer NOT NULL,
    run_id integer NOT NULL,
    tile_id bigint NOT NULL,
    stratum text NOT NULL,
    reason text NOT NULL,
    probability double precision NOT NULL,
    inclusion_probability double precision,
    status text DEFAULT 'pending'::text NOT NULL,
    reviewer text,
    reviewed_at timestamp with time zone,
    notes text,
    label_id integer,
    geom public.geometry(Polygon,4326) NOT NULL,
    change_id integer,
    answer_from text,
    answer_to text,
    reference_class text GENERATED ALWAYS AS (
CASE
    WHEN ((answer_from = 'rejected'::text) AND (answer_to = 'confirmed'::text)) THEN 'new'::text
    WHEN ((answer_from = 'confirmed'::text) AND (answer_to = 'rejected'::text)) THEN 'gone'::text
    WHEN ((answer_from = 'confirmed'::text) AND (answer_to = 'confirmed'::text)) THEN 'persistent'::text
    WHEN ((answer_from = 'rejected'::text) AND (answer_to = 'rejected'::text)) THEN 'absent'::text
    ELSE NULL::text
END) STORED,
    CONSTRAINT review_queue_answer_from CHECK ((answer_from = ANY (ARRAY['confirmed'::text, 'rejected'::text, 'unclear'::text]))),
    CONSTRAINT review_queue_answer_to CHECK ((answer_to = ANY (ARRAY['confirmed'::text, 'rejected'::text, 'unclear'::text]))),
    CONSTRAINT review_queue_change_rows CHECK ((((change_id IS NOT NULL) = (reason = 'change sample'::text)) AND ((change_id IS NOT NULL) OR ((answer_from IS NULL) AND (answer_to IS NULL))))),
    CONSTRAINT review_queue_status CHECK ((status = ANY (ARRAY['pending'::text, 'confirmed'::text, 'rejected'::text, 'unclear'::text])))
);

COMMENT ON TABLE asmdb.review_queue IS 'Tiles queued for review (hotspot, uncertain, stratified sample, change sample) and the reviewers'' answers.';

COMMENT ON COLUMN asmdb.review_queue.review_id IS 'The queue row''s number.';

COMMENT ON COLUMN asmdb.review_queue.run_id IS 'The run whose map the tile was chosen from.';

COMMENT ON COLUMN asmdb.review_queue.tile_id IS 'The tile to review.';

COMMENT ON COLUMN asmdb.review_queue.stratum IS 'The probability class (or change class) the tile was drawn from.';

COMMENT ON COLUMN asmdb.review_queue.reason IS 'Why the tile is queued: hotspot, uncertain, stratified sample or change sample.';

COMMENT ON COLUMN asmdb.review_queue.probability IS 'The tile''s probability in the map.';

COMMENT ON COLUMN asmdb.review_queue.inclusion_probability IS 'Chance the sample drew the tile (sample rows only).';

COMMENT ON COLUMN asmdb.review_queue.status IS 'pending, confirmed, rejected or unclear.';

COMMENT ON COLUMN asmdb.review_queue.reviewer IS 'Who answered.';

COMMENT ON COLUMN asmdb.review_queue.reviewed_at IS 'When the answer was given.';

COMMENT ON COLUMN asmdb.review_queue.notes IS 'The reviewer''s notes.';

COMMENT ON COLUMN asmdb.review_queue.label_id IS 'The label the answer became, if any.';

COMMENT ON COLUMN asmdb.review_queue.geom IS 'The tile''s outline.';

COMMENT ON COLUMN asmdb.review_queue.change_id IS 'The change map of a change sample row.';

COMMENT ON COLUMN asmdb.review_queue.answer_from IS 'A change sample row''s answer for the earlier period.';

COMMENT ON COLUMN asmdb.review_queue.answer_to IS 'A change sample row''s answer for the later period.';

COMMENT ON COLUMN asmdb.review_queue.reference_class IS 'A change sample row''s class in the imagery of both periods: new, gone, persistent, absent (from answer_from and answer_to).';

ALTER TABLE asmdb.review_queue ALTER COLUMN review_id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME asmdb.review_queue_review_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE asmdb.run_evaluations (
    run_id integer NOT NULL,
    label_id integer NOT NULL,
    tile_id bigint NOT NULL,
    fold smallint NOT NULL,
    label smallint NOT NULL,
    score double precision NOT NULL,
    raw_probability double precision NOT NULL,
    probability double precision NOT NULL
);

COMMENT ON TABLE asmdb.run_evaluations IS 'Each run''s out-of-fold predictions for the labelled tiles it was trained and evaluated on.';

COMMENT ON COLUMN asmdb.run_evaluations.run_id IS 'The run evaluated.';

COMMENT ON COLUMN asmdb.run_evaluations.label_id IS 'The label of the evaluated row.';

COMMENT ON COLUMN asmdb.run_evaluations.tile_id IS 'The tile the label is on.';

COMMENT ON COLUMN asmdb.run_evaluations.fold IS 'The cross-validation fold that held the row out.';

COMMENT ON COLUMN asmdb.run_evaluations.label IS 'The label''s value: 1 mining, 0 not.';

COMMENT ON COLUMN asmdb.run_evaluations.score IS 'The model''s raw score out of fold.';

COMMENT ON COLUMN asmdb.run_evaluations.raw_probability IS 'The model''s probability out of fold, before calibration.';

COMMENT ON COLUMN asmdb.run_evaluations.probability IS 'The calibrated probability out of fold.';

CREATE TABLE asmdb.similar_tiles (
    similar_tile_id integer NOT NULL,
    query_id integer NOT NULL,
    rank integer NOT NULL,
    tile_id bigint NOT NULL,
    similarity double precision NOT NULL,
    geom public.geometry(Polygon,4326) NOT NULL
);

COMMENT ON TABLE asmdb.similar_tiles IS 'The tiles a similarity query found, ranked, with their outlines for QGIS.';

COMMENT ON COLUMN asmdb.similar_tiles.similar_tile_id IS 'The row''s number.';

COMMENT ON COLUMN asmdb.similar_tiles.query_id IS 'The query that found the tile.';

COMMENT ON COLUMN asmdb.similar_tiles.rank IS '1 for the most similar tile.';

COMMENT ON COLUMN asmdb.similar_tiles.tile_id IS 'The tile found.';

COMMENT ON COLUMN asmdb.similar_tiles.similarity IS 'Similarity to the query tiles (higher: more alike).';

COMMENT ON COLUMN asmdb.similar_tiles.geom IS 'The tile''s outline.';

ALTER TABLE asmdb.similar_tiles ALTER COLUMN similar_tile_id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME asmdb.similar_tiles_similar_tile_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE asmdb.similarity_queries (
    query_id integer NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    created_by text DEFAULT CURRENT_USER NOT NULL,
    feature_set_id integer NOT NULL,
    query_tiles bigint[] NOT NULL,
    source text NOT NULL,
    top integer NOT NULL,
    method text NOT NULL,
    CONSTRAINT similarity_queries_source CHECK ((source = ANY (ARRAY['tiles'::text, 'confirmed'::text])))
);

COMMENT ON TABLE asmdb.similarity_queries IS 'Similar-tile searches: the tiles asked about and how they were searched.';

COMMENT ON COLUMN asmdb.similarity_queries.query_id IS 'The query''s number.';

COMMENT ON COLUMN asmdb.similarity_queries.created_at IS 'When the query ran.';

COMMENT ON COLUMN asmdb.similarity_queries.created_by IS 'The database role that ran it.';

COMMENT ON COLUMN asmdb.similarity_queries.feature_set_id IS 'The feature set searched.';

COMMENT ON COLUMN asmdb.similarity_queries.query_tiles IS 'The tiles whose vectors were searched for.';

COMMENT ON COLUMN asmdb.similarity_queries.source IS 'tiles (given) or confirmed (the confirmed reviews).';

COMMENT ON COLUMN asmdb.similarity_queries.top IS 'How many similar tiles were asked for.';

COMMENT ON COLUMN asmdb.similarity_queries.method IS 'How similarity was measured.';

ALTER TABLE asmdb.similarity_queries ALTER COLUMN query_id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME asmdb.similarity_queries_query_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE asmdb.tile_features (
    feature_set_id integer NOT NULL,
    tile_id bigint NOT NULL,
    features bytea NOT NULL,
    grid_id integer GENERATED ALWAYS AS (((tile_id >> 40) + 1)) STORED NOT NULL,
    CONSTRAINT tile_features_float32 CHECK (((octet_length(features) > 0) AND ((octet_length(features) % 4) = 0)))
);
ALTER TABLE ONLY asmdb.tile_features ALTER COLUMN features SET STORAGE EXTERNAL;

COMMENT ON TABLE asmdb.tile_features IS 'One feature vector per (feature set, tile), as n_features little-endian float32 values.';

COMMENT ON COLUMN asmdb.tile_features.feature_set_id IS 'The feature set of the vector.';

COMMENT ON COLUMN asmdb.tile_features.tile_id IS 'The tile of the vector.';

COMMENT ON COLUMN asmdb.tile_features.features IS 'n_features little-endian IEEE-754 float32 values (asmdb.feature_array reads them).';

COMMENT ON COLUMN asmdb.tile_features.grid_id IS 'The tile''s grid (read from tile_id), the feature set''s own.';

CREATE VIEW asmdb.tile_feature_arrays AS
 SELECT tile_features.feature_set_id,
    tile_features.tile_id,
    asmdb.feature_array(tile_features.features) AS features
   FROM asmdb.tile_features;

COMMENT ON VIEW asmdb.tile_feature_arrays IS 'tile_features with each vector as real[] (slow: for reading a few vectors in SQL).';

COMMENT ON COLUMN asmdb.tile_feature_arrays.feature_set_id IS 'The feature set of the vector.';

COMMENT ON COLUMN asmdb.tile_feature_arrays.tile_id IS 'The tile of the vector.';

COMMENT ON COLUMN asmdb.tile_feature_arrays.features IS 'The vector as real[].';

CREATE VIEW asmdb.zone_estimates AS
SELECT
    NULL::integer AS zone_id,
    NULL::integer AS change_id,
    NULL::text AS zone,
    NULL::date AS period_from,
    NULL::date AS period_to,
    NULL::integer AS reviewed,
    NULL::boolean AS estimated,
    NULL::text AS note,
    NULL::double precision AS new_km2,
    NULL::double precision AS new_low,
    NULL::double precision AS new_high,
    NULL::double precision AS new_mapped_km2,
    NULL::double precision AS gone_km2,
    NULL::double precision AS gone_low,
    NULL::double precision AS gone_high,
    NULL::double precision AS gone_mapped_km2,
    NULL::double precision AS persistent_km2,
    NULL::double precision AS persistent_low,
    NULL::double precision AS persistent_high,
    NULL::double precision AS persistent_mapped_km2,
    NULL::double precision AS absent_km2,
    NULL::double precision AS absent_low,
    NULL::double precision AS absent_high,
    NULL::double precision AS absent_mapped_km2,
    NULL::public.geometry(MultiPolygon,4326) AS geom;

COMMENT ON VIEW asmdb.zone_estimates IS 'Change by zone of the newest change with zone estimates. QGIS key: zone_id.';

COMMENT ON COLUMN asmdb.zone_estimates.zone_id IS 'The zone''s key (unique in the view).';

COMMENT ON COLUMN asmdb.zone_estimates.change_id IS 'The change the estimates are of.';

COMMENT ON COLUMN asmdb.zone_estimates.zone IS 'The zone''s name.';

COMMENT ON COLUMN asmdb.zone_estimates.period_from IS 'First day of the earlier map''s period.';

COMMENT ON COLUMN asmdb.zone_estimates.period_to IS 'First day of the later map''s period.';

COMMENT ON COLUMN asmdb.zone_estimates.reviewed IS 'Reviewed sample tiles in the zone.';

COMMENT ON COLUMN asmdb.zone_estimates.estimated IS 'Whether the zone has enough reviews for estimates with intervals.';

COMMENT ON COLUMN asmdb.zone_estimates.note IS 'Why the zone has no interval, where it has none.';

COMMENT ON COLUMN asmdb.zone_estimates.new_km2 IS 'Estimated area of new mining in the zone, km2 (null: too few reviews).';

COMMENT ON COLUMN asmdb.zone_estimates.new_low IS 'Low end of the 95 percent interval of new_km2.';

COMMENT ON COLUMN asmdb.zone_estimates.new_high IS 'High end of the 95 percent interval of new_km2.';

COMMENT ON COLUMN asmdb.zone_estimates.new_mapped_km2 IS 'Area of new mining the change map shows in the zone, km2.';

COMMENT ON COLUMN asmdb.zone_estimates.gone_km2 IS 'Estimated area of mining gone in the zone, km2 (null: too few reviews).';

COMMENT ON COLUMN asmdb.zone_estimates.gone_low IS 'Low end of the 95 percent interval of gone_km2.';

COMMENT ON COLUMN asmdb.zone_estimates.gone_high IS 'High end of the 95 percent interval of gone_km2.';

COMMENT ON COLUMN asmdb.zone_estimates.gone_mapped_km2 IS 'Area of mining gone the change map shows in the zone, km2.';

COMMENT ON COLUMN asmdb.zone_estimates.persistent_km2 IS 'Estimated area of mining in both periods in the zone, km2 (null: too few reviews).';

COMMENT ON COLUMN asmdb.zone_estimates.persistent_low IS 'Low end of the 95 percent interval of persistent_km2.';

COMMENT ON COLUMN asmdb.zone_estimates.persistent_high IS 'High end of the 95 percent interval of persistent_km2.';

COMMENT ON COLUMN asmdb.zone_estimates.persistent_mapped_km2 IS 'Area of mining in both periods the change map shows in the zone, km2.';

COMMENT ON COLUMN asmdb.zone_estimates.absent_km2 IS 'Estimated area of no mining in either period in the zone, km2 (null: too few reviews).';

COMMENT ON COLUMN asmdb.zone_estimates.absent_low IS 'Low end of the 95 percent interval of absent_km2.';

COMMENT ON COLUMN asmdb.zone_estimates.absent_high IS 'High end of the 95 percent interval of absent_km2.';

COMMENT ON COLUMN asmdb.zone_estimates.absent_mapped_km2 IS 'Area of no mining in either period the change map shows in the zone, km2.';

COMMENT ON COLUMN asmdb.zone_estimates.geom IS 'The zone''s outline.';

ALTER TABLE ONLY asmdb.predictions ALTER COLUMN map_tile_id SET DEFAULT nextval('asmdb.map_tile_id_seq'::regclass);

ALTER TABLE ONLY asmdb.change_tiles
    ADD CONSTRAINT change_tiles_pkey PRIMARY KEY (change_id, tile_id);

ALTER TABLE ONLY asmdb.change_zone_estimates
    ADD CONSTRAINT change_zone_estimates_pkey PRIMARY KEY (zone_id, class);

ALTER TABLE ONLY asmdb.change_zones
    ADD CONSTRAINT change_zones_once UNIQUE (change_id, zone);

ALTER TABLE ONLY asmdb.change_zones
    ADD CONSTRAINT change_zones_pkey PRIMARY KEY (zone_id);

ALTER TABLE ONLY asmdb.changes
    ADD CONSTRAINT changes_pkey PRIMARY KEY (change_id);

ALTER TABLE ONLY asmdb.feature_sets
    ADD CONSTRAINT feature_sets_grid UNIQUE (feature_set_id, grid_id);

ALTER TABLE ONLY asmdb.feature_sets
    ADD CONSTRAINT feature_sets_name_key UNIQUE (name);

ALTER TABLE ONLY asmdb.feature_sets
    ADD CONSTRAINT feature_sets_pkey PRIMARY KEY (feature_set_id);

ALTER TABLE ONLY asmdb.grids
    ADD CONSTRAINT grids_definition_once UNIQUE (cell_size, origin_lon, origin_lat, srid);

ALTER TABLE ONLY asmdb.grids
    ADD CONSTRAINT grids_pkey PRIMARY KEY (grid_id);

ALTER TABLE ONLY asmdb.imagery
    ADD CONSTRAINT imagery_name_key UNIQUE (name);

ALTER TABLE ONLY asmdb.imagery
    ADD CONSTRAINT imagery_pkey PRIMARY KEY (imagery_id);

ALTER TABLE ONLY asmdb.labels
    ADD CONSTRAINT labels_pkey PRIMARY KEY (label_id);

ALTER TABLE ONLY asmdb.labels
    ADD CONSTRAINT labels_unique_id_key UNIQUE (unique_id);

ALTER TABLE ONLY asmdb.map_overviews
    ADD CONSTRAINT map_overviews_pkey PRIMARY KEY (overview_id);

ALTER TABLE ONLY asmdb.maps
    ADD CONSTRAINT maps_map_run UNIQUE (map_id, run_id);

ALTER TABLE ONLY asmdb.maps
    ADD CONSTRAINT maps_pkey PRIMARY KEY (map_id);

ALTER TABLE ONLY asmdb.model_runs
    ADD CONSTRAINT model_runs_pkey PRIMARY KEY (run_id);

ALTER TABLE ONLY asmdb.operation_locks
    ADD CONSTRAINT operation_locks_pkey PRIMARY KEY (name);

ALTER TABLE ONLY asmdb.predictions
    ADD CONSTRAINT predictions_pkey PRIMARY KEY (map_id, tile_id);

ALTER TABLE ONLY asmdb.qgis_projects
    ADD CONSTRAINT qgis_projects_pkey PRIMARY KEY (name);

ALTER TABLE ONLY asmdb.review_plans
    ADD CONSTRAINT review_plans_pkey PRIMARY KEY (plan_id);

ALTER TABLE ONLY asmdb.review_queue
    ADD CONSTRAINT review_queue_pkey PRIMARY KEY (review_id);

ALTER TABLE ONLY asmdb.review_queue
    ADD CONSTRAINT review_queue_tile_once UNIQUE NULLS NOT DISTINCT (run_id, tile_id, reason, change_id);

ALTER TABLE ONLY asmdb.run_evaluations
    ADD CONSTRAINT run_evaluations_pkey PRIMARY KEY (run_id, label_id, tile_id);

ALTER TABLE ONLY asmdb.similar_tiles
    ADD CONSTRAINT similar_tiles_pkey PRIMARY KEY (similar_tile_id);

ALTER TABLE ONLY asmdb.similar_tiles
    ADD CONSTRAINT similar_tiles_rank_once UNIQUE (query_id, rank);

ALTER TABLE ONLY asmdb.similarity_queries
    ADD CONSTRAINT similarity_queries_pkey PRIMARY KEY (query_id);

ALTER TABLE ONLY asmdb.tile_features
    ADD CONSTRAINT tile_features_pkey PRIMARY KEY (feature_set_id, tile_id);

ALTER TABLE ONLY asmdb.tiles
    ADD CONSTRAINT tiles_pkey PRIMARY KEY (tile_id);

CREATE INDEX change_tiles_geom_idx ON ONLY asmdb.change_tiles USING gist (geom);

CREATE INDEX change_zones_geom_idx ON asmdb.change_zones USING gist (geom);

CREATE INDEX changes_from_idx ON asmdb.changes USING btree (from_map);

CREATE INDEX changes_to_idx ON asmdb.changes USING btree (to_map);

CREATE INDEX imagery_footprint_idx ON asmdb.imagery USING gist (footprint);

CREATE INDEX labels_geom_idx ON asmdb.labels USING gist (geom);

CREATE INDEX map_overviews_geom_idx ON asmdb.map_overviews USING gist (geom);

CREATE INDEX map_overviews_map_idx ON asmdb.map_overviews USING btree (map_id, cells);

CREATE INDEX maps_promoted_idx ON asmdb.maps USING btree (promoted_at DESC, map_id DESC) WHERE (promoted_at IS NOT NULL);

CREATE INDEX maps_run_idx ON asmdb.maps USING btree (run_id);

CREATE INDEX predictions_geom_idx ON ONLY asmdb.predictions USING gist (geom);

CREATE INDEX predictions_map_tile_id_idx ON ONLY asmdb.predictions USING btree (map_tile_id);

CREATE INDEX review_plans_change_idx ON asmdb.review_plans USING btree (change_id);

CREATE INDEX review_plans_map_idx ON asmdb.review_plans USING btree (map_id);

CREATE INDEX review_queue_change_idx ON asmdb.review_queue USING btree (change_id);

CREATE INDEX review_queue_geom_idx ON asmdb.review_queue USING gist (geom);

CREATE INDEX similar_tiles_geom_idx ON asmdb.similar_tiles USING gist (geom);

CREATE INDEX tile_features_tile_idx ON asmdb.tile_features USING btree (tile_id);

CREATE INDEX tiles_geom_idx ON asmdb.tiles USING gist (geom);

CREATE OR REPLACE VIEW asmdb.zone_estimates AS
 SELECT z.zone_id,
    z.change_id,
    z.zone,
    fa.period_start AS period_from,
    fb.period_start AS period_to,
    z.reviewed,
    (z.note IS NULL) AS estimated,
    z.note,
    max(e.area_km2) FILTER (WHERE (e.class = 'new'::text)) AS new_km2,
    max(e.low) FILTER (WHERE (e.class = 'new'::text)) AS new_low,
    max(e.high) FILTER (WHERE (e.class = 'new'::text)) AS new_high,
    COALESCE(max(e.mapped_km2) FILTER (WHERE (e.class = 'new'::text)), (0)::double precision) AS new_mapped_km2,
    max(e.area_km2) FILTER (WHERE (e.class = 'gone'::text)) AS gone_km2,
    max(e.low) FILTER (WHERE (e.class = 'gone'::text)) AS gone_low,
    max(e.high) FILTER (WHERE (e.class = 'gone'::text)) AS gone_high,
    COALESCE(max(e.mapped_km2) FILTER (WHERE (e.class = 'gone'::text)), (0)::double precision) AS gone_mapped_km2,
    max(e.area_km2) FILTER (WHERE (e.class = 'persistent'::text)) AS persistent_km2,
    max(e.low) FILTER (WHERE (e.class = 'persistent'::text)) AS persistent_low,
    max(e.high) FILTER (WHERE (e.class = 'persistent'::text)) AS persistent_high,
    COALESCE(max(e.mapped_km2) FILTER (WHERE (e.class = 'persistent'::text)), (0)::double precision) AS persistent_mapped_km2,
    max(e.area_km2) FILTER (WHERE (e.class = 'absent'::text)) AS absent_km2,
    max(e.low) FILTER (WHERE (e.class = 'absent'::text)) AS absent_low,
    max(e.high) FILTER (WHERE (e.class = 'absent'::text)) AS absent_high,
    COALESCE(max(e.mapped_km2) FILTER (WHERE (e.class = 'absent'::text)), (0)::double precision) AS absent_mapped_km2,
    z.geom
   FROM ((((((asmdb.change_zones z
     JOIN asmdb.changes c ON ((c.change_id = z.change_id)))
     JOIN asmdb.maps ma ON ((ma.map_id = c.from_map)))
     JOIN asmdb.feature_sets fa ON ((fa.feature_set_id = ma.feature_set_id)))
     JOIN asmdb.maps mb ON ((mb.map_id = c.to_map)))
     JOIN asmdb.feature_sets fb ON ((fb.feature_set_id = mb.feature_set_id)))
     LEFT JOIN asmdb.change_zone_estimates e ON ((e.zone_id = z.zone_id)))
  WHERE (z.change_id = ( SELECT max(change_zones.change_id) AS max
           FROM asmdb.change_zones))
  GROUP BY z.zone_id, fa.period_start, fb.period_start;

ALTER TABLE asmdb.change_tiles
    ADD CONSTRAINT change_tiles_change_id_fkey FOREIGN KEY (change_id) REFERENCES asmdb.changes(change_id) ON DELETE CASCADE;

ALTER TABLE ONLY asmdb.change_zone_estimates
    ADD CONSTRAINT change_zone_estimates_zone_id_fkey FOREIGN KEY (zone_id) REFERENCES asmdb.change_zones(zone_id) ON DELETE CASCADE;

ALTER TABLE ONLY asmdb.change_zones
    ADD CONSTRAINT change_zones_change_id_fkey FOREIGN KEY (change_id) REFERENCES asmdb.changes(change_id) ON DELETE CASCADE;

ALTER TABLE ONLY asmdb.changes
    ADD CONSTRAINT changes_from_map_fkey FOREIGN KEY (from_map) REFERENCES asmdb.maps(map_id) ON DELETE CASCADE;

ALTER TABLE ONLY asmdb.changes
    ADD CONSTRAINT changes_to_map_fkey FOREIGN KEY (to_map) REFERENCES asmdb.maps(map_id) ON DELETE CASCADE;

ALTER TABLE ONLY asmdb.feature_sets
    ADD CONSTRAINT feature_sets_grid_id_fkey FOREIGN KEY (grid_id) REFERENCES asmdb.grids(grid_id);

ALTER TABLE ONLY asmdb.map_overviews
    ADD CONSTRAINT map_overviews_map_id_fkey FOREIGN KEY (map_id) REFERENCES asmdb.maps(map_id) ON DELETE CASCADE;

ALTER TABLE ONLY asmdb.maps
    ADD CONSTRAINT maps_feature_set_id_fkey FOREIGN KEY (feature_set_id) REFERENCES asmdb.feature_sets(feature_set_id) ON DELETE CASCADE;

ALTER TABLE ONLY asmdb.maps
    ADD CONSTRAINT maps_run_id_fkey FOREIGN KEY (run_id) REFERENCES asmdb.model_runs(run_id) ON DELETE CASCADE;

ALTER TABLE ONLY asmdb.model_runs
    ADD CONSTRAINT model_runs_feature_set_id_fkey FOREIGN KEY (feature_set_id) REFERENCES asmdb.feature_sets(feature_set_id) ON DELETE CASCADE;

ALTER TABLE asmdb.predictions
    ADD CONSTRAINT predictions_map_fkey FOREIGN KEY (map_id, run_id) REFERENCES asmdb.maps(map_id, run_id) ON DELETE CASCADE;

ALTER TABLE ONLY asmdb.review_plans
    ADD CONSTRAINT review_plans_change_id_fkey FOREIGN KEY (change_id) REFERENCES asmdb.changes(change_id) ON DELETE CASCADE;

ALTER TABLE ONLY asmdb.review_plans
    ADD CONSTRAINT review_plans_map_id_fkey FOREIGN KEY (map_id) REFERENCES asmdb.maps(map_id) ON DELETE CASCADE;

ALTER TABLE ONLY asmdb.review_queue
    ADD CONSTRAINT review_queue_change_id_fkey FOREIGN KEY (change_id) REFERENCES asmdb.changes(change_id) ON DELETE CASCADE;

ALTER TABLE ONLY asmdb.review_queue
    ADD CONSTRAINT review_queue_label_id_fkey FOREIGN KEY (label_id) REFERENCES asmdb.labels(label_id) ON DELETE SET NULL;

ALTER TABLE ONLY asmdb.review_queue
    ADD CONSTRAINT review_queue_run_id_fkey FOREIGN KEY (run_id) REFERENCES asmdb.model_runs(run_id) ON DELETE CASCADE;

ALTER TABLE ONLY asmdb.run_evaluations
    ADD CONSTRAINT run_evaluations_run_id_fkey FOREIGN KEY (run_id) REFERENCES asmdb.model_runs(run_id) ON DELETE CASCADE;

ALTER TABLE ONLY asmdb.similar_tiles
    ADD CONSTRAINT similar_tiles_query_id_fkey FOREIGN KEY (query_id) REFERENCES asmdb.similarity_queries(query_id) ON DELETE CASCADE;

ALTER TABLE ONLY asmdb.similarity_queries
    ADD CONSTRAINT similarity_queries_feature_set_id_fkey FOREIGN KEY (feature_set_id) REFERENCES asmdb.feature_sets(feature_set_id) ON DELETE CASCADE;

ALTER TABLE ONLY asmdb.tile_features
    ADD CONSTRAINT tile_features_feature_set_grid_fkey FOREIGN KEY (feature_set_id, grid_id) REFERENCES asmdb.feature_sets(feature_set_id, grid_id) ON DELETE CASCADE;

ALTER TABLE ONLY asmdb.tile_features
    ADD CONSTRAINT tile_features_tile_id_fkey FOREIGN KEY (tile_id) REFERENCES asmdb.tiles(tile_id) ON DELETE CASCADE;

ALTER TABLE ONLY asmdb.tiles
    ADD CONSTRAINT tiles_grid_id_fkey FOREIGN KEY (grid_id) REFERENCES asmdb.grids(grid_id);
