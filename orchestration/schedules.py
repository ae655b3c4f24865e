"""Schedules (filled in by the ingestion and publishing issues)."""

SCHEDULES: list = []
