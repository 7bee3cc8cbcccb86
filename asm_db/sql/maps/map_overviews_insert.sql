-- A map's overview blocks (asm_db/maps/overviews.py): for each block size, the map's tiles
-- grouped by the block of `cells` x `cells` grid cells holding them (row and column from the
-- grid's origin, as asmdb.grid_tile_id numbers them), with the block's square polygon;
-- tiles_at_least_half counts the tiles at or above the map threshold (%(map_threshold)s).
INSERT INTO asmdb.map_overviews
    (map_id, cells, tiles, tiles_at_least_half, probability, probability_mean, geom)
SELECT p.map_id, b.cells, count(*), count(*) FILTER (WHERE p.probability >= %(map_threshold)s),
       max(p.probability), avg(p.probability),
       ST_MakeEnvelope(
           g.origin_lon + b.block_col * b.cells * g.cell_size,
           g.origin_lat + b.block_row * b.cells * g.cell_size,
           g.origin_lon + (b.block_col + 1) * b.cells * g.cell_size,
           g.origin_lat + (b.block_row + 1) * b.cells * g.cell_size,
           4326)
FROM asmdb.predictions AS p
JOIN asmdb.grids AS g ON g.grid_id = (p.tile_id >> 40) + 1
CROSS JOIN LATERAL (
    SELECT p.tile_id - ((g.grid_id - 1)::bigint << 40) AS local,
           round((180 - g.origin_lon) / g.cell_size)::bigint + 1 AS n_cols
) AS c
CROSS JOIN LATERAL (
    SELECT s.cells, (c.local / c.n_cols) / s.cells AS block_row,
           mod(c.local, c.n_cols) / s.cells AS block_col
    FROM unnest(%(cells)s::integer[]) AS s (cells)
) AS b
WHERE p.map_id = %(map_id)s
GROUP BY p.map_id, g.grid_id, g.origin_lon, g.origin_lat, g.cell_size,
         b.cells, b.block_row, b.block_col
