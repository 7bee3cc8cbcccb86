CREATE TEMPORARY TABLE predictions_stage (
    tile_id bigint NOT NULL,
    score double precision NOT NULL,
    probability double precision NOT NULL
) ON COMMIT DROP;
