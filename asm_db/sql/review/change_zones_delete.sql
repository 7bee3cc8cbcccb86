-- A change's stored zones (their estimates go with them): a new `review estimate --zones`
-- replaces them.
DELETE FROM asmdb.change_zones WHERE change_id = %(change_id)s;
