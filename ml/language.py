"""Which content languages a person reads, from what people start.

Why: a catalogue mixes English with local languages, and a rule that matches content to
skill gaps alone happily offers a Berlin engineer the Spanish version of the course they
need. Nobody records what languages a person reads, but starts show it: the person's own
starts, and, where those are few, the starts of colleagues at the same location (an office
shares its languages; "Remote" is just another location). So

    reads(language) = (own starts in it + PRIOR_STARTS · location share)
                      / (own starts + PRIOR_STARTS)

where the location share is the share of that language among the location's starts
(the whole organisation's where the location has fewer than ``MIN_LOCATION_STARTS``).
The fit of an item is ``reads`` of its language over the person's most read language, so
the main language scores 1 and a language nobody around the person reads scores about 0.
Content without a language fits everyone. Persons who opted out feed no location share and
no own figure (their behaviour is not used), so they get their location's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.data import Marts

PRIOR_STARTS = 5.0  # weight of the location's shares, in starts of the person's own
MIN_LOCATION_STARTS = 50  # starts a location needs before its own shares are used


def _shares(counts: pd.DataFrame) -> pd.DataFrame:
    return counts.div(counts.sum(axis=1).replace(0, 1), axis=0)


def language_fit(marts: Marts, persons: pd.Index) -> pd.DataFrame:
    """(persons × languages of the catalogue) fit in [0, 1] (module docstring)."""
    content = marts.content.set_index(marts.content["content_id"].astype(str))
    languages = pd.Index(sorted(content["language"].dropna().astype(str).unique()), dtype=object)
    emp = marts.employees.set_index(marts.employees["person_key"].astype(str))
    consenting = emp.index[~emp["opted_out"].astype(bool)]
    starts = marts.engagement[marts.engagement["person_key"].astype(str).isin(consenting)]
    starts = pd.DataFrame(
        {
            "person_key": starts["person_key"].astype(str).to_numpy(),
            "language": content["language"].reindex(starts["content_id"].astype(str)).to_numpy(),
        }
    ).dropna()
    starts["location"] = emp["location"].reindex(starts["person_key"]).fillna("").to_numpy()
    own = pd.crosstab(starts["person_key"], starts["language"]).reindex(
        index=persons, columns=languages, fill_value=0
    )
    by_location = pd.crosstab(starts["location"], starts["language"]).reindex(
        columns=languages, fill_value=0
    )
    org = _shares(by_location.sum().to_frame().T).iloc[0].to_numpy()
    enough = by_location.sum(axis=1) >= MIN_LOCATION_STARTS
    location = emp["location"].reindex(persons).fillna("").to_numpy()
    prior = _shares(by_location[enough]).reindex(location).to_numpy(dtype=np.float64)
    prior = np.where(np.isnan(prior), org[None, :], prior)
    counts = own.to_numpy(dtype=np.float64)
    reads = (counts + PRIOR_STARTS * prior) / (counts.sum(axis=1, keepdims=True) + PRIOR_STARTS)
    best = reads.max(axis=1, keepdims=True) if len(languages) else np.ones((len(persons), 1))
    fit = np.divide(reads, best, out=np.ones_like(reads), where=best > 0)
    return pd.DataFrame(fit, index=persons, columns=languages)
