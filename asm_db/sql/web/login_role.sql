-- The logged-in role: a superuser (refused by the web page), and whether it may answer reviews.
SELECT r.rolsuper,
       has_column_privilege(current_user, 'asmdb.review_queue', 'status', 'UPDATE')
FROM pg_roles AS r
WHERE r.rolname = current_user;
