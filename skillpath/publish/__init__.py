"""Publishing: candidate recommendations are written under a new publication id, judged
by gates (data quality, model quality, fairness) and only then made current, atomically.
No Dagster here; ``orchestration/assets/publish.py`` wires it."""
