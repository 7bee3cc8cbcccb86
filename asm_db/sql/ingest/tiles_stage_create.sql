-- Tiles to make sure of (asm_db.ingest.tiles.ensure_tiles); gone at the end of the transaction.
CREATE TEMPORARY TABLE tiles_stage (
    tile_id bigint NOT NULL,
    lat double precision NOT NULL,
    lon double precision NOT NULL,
    image_id text
) ON COMMIT DROP;
