"""Getting data in: label files, feature files (MOSAIKS layouts), batch readers, sample data."""
