-- Rows of one feature file, before validation and merge; gone at the end of the transaction.
CREATE TEMPORARY TABLE features_stage (
    line integer NOT NULL,
    lat double precision NOT NULL,
    lon double precision NOT NULL,
    features real[] NOT NULL,
    image_id text
) ON COMMIT DROP;
