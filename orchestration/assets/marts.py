"""Assets of the marts stage (filled in by its issue)."""
