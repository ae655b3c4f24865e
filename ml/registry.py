"""The names under which models are tracked and registered in MLflow: one declaration
for training (``ml.tracking``, which registers ``challenger``) and publishing
(``skillpath.publish.champion``, which moves ``champion``). No MLflow import here, so
publishing can name the model without loading MLflow."""

EXPERIMENT = "skillpath"
REGISTERED_MODEL = "skillpath-recommender"
CHALLENGER = "challenger"  # the latest trained version
CHAMPION = "champion"  # the version whose recommendations are current
