"""Asset checks of the ingest stage (filled in by its issue)."""
