"""Sensors (filled in by the ingestion issue)."""

SENSORS: list = []
