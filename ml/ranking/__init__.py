"""From model scores to each person's next learning steps.

The model is good at "people like you finished this"; it knows nothing of what a person
already masters, what they must take first, or that ten items on one skill is a poor
list. Those are rules, applied here on top of the scores, each switchable in
:class:`RankingConfig` so that a data scientist can measure what each one costs or buys.

Work happens on candidate lists, never per person over the whole catalogue: the model's
top ``candidates`` items per person (``np.argpartition`` on a chunk of the score
matrix), or, for the non-personalised role path, the items that teach a skill the person
lacks for their role plus the organisation's most completed items. Every rule is then a
vectorised operation over (person, item) pairs.

Persons who opted out of personalisation (``dim_employee.opted_out``), and everyone when
there is no model, get the role path: the same rules, the same number of items, but no
model score and no behavioural signal (format affinity, colleagues) — only their role's
requirements, their own skill levels (where their evidence is thin, what people in their
role hold: ``ml.skill_prior``) and completions.

Modules: ``config`` (RankingConfig), ``context`` (facts indexed from the marts),
``candidates`` (model and role-path candidates), ``rules`` (filters, adjustments, cap
and cut), ``lists`` (the public functions: each person's list and its reasons).
"""

from ml.ranking.candidates import Scorer
from ml.ranking.config import FORMATS, MAX_LEVEL, RankingConfig
from ml.ranking.context import RankingContext
from ml.ranking.lists import ranked_lists, recommend

__all__ = [
    "FORMATS",
    "MAX_LEVEL",
    "RankingConfig",
    "RankingContext",
    "Scorer",
    "ranked_lists",
    "recommend",
]
