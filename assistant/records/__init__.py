"""What the service keeps: answers and their ratings, and the audit log.

One schema for two engines: SQLite, a file beside the index (the default, for one machine), and
PostgreSQL (``NHS_ASSISTANT_DATABASE_URL=postgresql://...``), which several API workers and
machines share and a DBA can back up. :mod:`database` gives both the same small interface;
:mod:`migrations` applies the schema's ordered SQL files, written in the SQL both engines speak.
"""
