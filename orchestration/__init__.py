"""Dagster wiring for skillpath: thin assets, checks, schedules and sensors over the
pure-Python packages ``skillpath`` (ingestion, sample) and ``ml`` (recommender)."""
