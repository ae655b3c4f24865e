"""The recommender as pure Python: dataset, training, evaluation, baselines, scoring,
ranking, reasons and tracking. No Dagster imports: ``orchestration/`` wires it."""
