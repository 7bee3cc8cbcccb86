"""The database: engine and migrations, the binary COPY codec, locks, the SQL file loader."""
