UPDATE asmdb.changes
SET classes = %(classes)s, zones = %(zones)s, held_back = %(held_back)s
WHERE change_id = %(change_id)s;
