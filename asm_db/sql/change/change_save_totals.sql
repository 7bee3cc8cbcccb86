UPDATE asmdb.changes SET classes = %(classes)s, zones = %(zones)s WHERE change_id = %(change_id)s;
