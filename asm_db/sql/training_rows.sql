-- The training matrix: filtered labels joined to the tiles they intersect (label_tiles),
-- with that tile's feature vector. Ordered as the seed's sjoin output (labels in file order,
-- then tiles), so the seed's split with the same random_state picks the same rows.
COPY (
    SELECT lt.label_id, lt.tile_id, lt.label, f.features
    FROM asmdb.label_tiles AS lt
    JOIN asmdb.tile_features AS f ON f.tile_id = lt.tile_id
    WHERE f.feature_set_id = %(feature_set_id)s
      AND lt.label_id IN (
          SELECT label_id
          FROM asmdb.filtered_labels(%(min_proportion_inspected)s,
                                     %(exclude_mine_types)s::text[],
                                     %(min_confidence)s)
      )
    ORDER BY lt.label_id, lt.tile_id
) TO STDOUT (FORMAT BINARY)
