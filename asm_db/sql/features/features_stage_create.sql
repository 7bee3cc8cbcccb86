-- The tile centres of one feature file, with the tile id the feature set's grid gives each,
-- before validation and merge; gone at the end of the transaction. The vectors are not
-- staged: they are COPYed straight into tile_features.
CREATE TEMPORARY TABLE features_stage (
    line integer NOT NULL,
    tile_id bigint NOT NULL,
    lat double precision NOT NULL,
    lon double precision NOT NULL,
    image_id text
) ON COMMIT DROP;
