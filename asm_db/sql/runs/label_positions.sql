-- Where each training label lies, for the spatial blocks of cross-validation.
SELECT label_id, lon, lat FROM asmdb.labels WHERE label_id = ANY(%(label_ids)s);
