-- Set the inclusion probability of every sample tile of the given strata of a change (after
-- an extension, each stratum's union is a simple random sample of the larger size).
UPDATE asmdb.review_queue AS q
SET inclusion_probability = x.inclusion
FROM unnest(%(strata)s::text[], %(inclusion)s::float8[]) AS x(stratum, inclusion)
WHERE q.change_id = %(change_id)s AND q.stratum = x.stratum;
