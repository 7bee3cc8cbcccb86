UPDATE asmdb.review_queue
SET status = %(status)s, reviewer = %(reviewer)s,
    reviewed_at = coalesce(%(reviewed_at)s::timestamptz, reviewed_at, now()), notes = %(notes)s
WHERE review_id = %(review_id)s
RETURNING review_id;
