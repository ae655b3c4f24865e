"""Reports for people (HR, L&D) rendered from the marts: files, no Dagster."""
