UPDATE asmdb.changes SET area_estimate = %(estimate)s WHERE change_id = %(change_id)s;
