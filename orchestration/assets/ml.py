"""Assets of the ml stage (filled in by its issue)."""
