"""Asset checks of the ml stage (filled in by its issue)."""
