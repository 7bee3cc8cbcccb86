"""asmdb's Alembic migrations (versions/)."""

# The newest revision in versions/: what `asmdb db upgrade` migrates to and every command
# expects. A new revision changes it too (tests/test_migrations.py checks it is Alembic's head).
HEAD = "0020"
