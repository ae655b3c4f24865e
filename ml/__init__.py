"""The recommender as pure Python: dataset, training, evaluation, baselines, scoring,
ranking, reasons and tracking. No Dagster imports: ``orchestration/`` wires it.

``ml`` is a generic top-level name (docs/architecture.md, "Package names"): the marker
below lets ``orchestration`` and the CLI check that ``import ml`` found this project's
package and not another distribution's."""

PROJECT = "skillpath"
