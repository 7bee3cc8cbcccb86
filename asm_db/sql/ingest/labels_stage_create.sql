-- Rows of one label file, validated in Python, merged by unique_id; dropped at commit.
CREATE TEMPORARY TABLE labels_stage (
    lon double precision NOT NULL,
    lat double precision NOT NULL,
    unique_id text NOT NULL,
    country text,
    sample_type text,
    mine_type text,
    confidence double precision,
    label smallint NOT NULL,
    proportion_inspected double precision,
    observed_at date,
    extra jsonb NOT NULL
) ON COMMIT DROP;
