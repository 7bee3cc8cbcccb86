-- A reviewer's answer from the web page, written as the reviewer's own role. It lands only
-- when the item is pending, was answered by this same reviewer, or the reviewer chose to
-- replace exactly the answer they were shown (status, reviewer and time unchanged since):
-- another's answer is never overwritten unseen. No row back means it did not land.
UPDATE asmdb.review_queue
SET status = %(status)s, reviewer = %(reviewer)s, reviewed_at = now(), notes = %(notes)s
WHERE review_id = %(review_id)s
  AND change_id IS NULL  -- a change's sample is answered per period, in its file
  AND (
      status = 'pending'
      OR reviewer = %(reviewer)s
      OR (
          %(replace)s
          AND status = %(seen_status)s
          AND reviewer IS NOT DISTINCT FROM %(seen_reviewer)s
          AND reviewed_at IS NOT DISTINCT FROM %(seen_reviewed_at)s::timestamptz
      )
  )
RETURNING review_id;
