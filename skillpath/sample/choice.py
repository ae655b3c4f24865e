"""Who starts what: the voluntary picks of a month.

A start follows one of three habits — what people in my role take, what closes a gap I
believe I have, what everyone is taking — and the person then chooses among a handful of
such candidates by taste (format, language, appeal). People judge their gaps by their
own (inflated) view of their skills, not by the truth.

With ``--inject-bias`` the steered groups of the chosen attributes (``STEERED``: women,
persons aged 40 and over, persons with a disability) are steered away from leadership and
advanced content regardless of skill: such a pick is, with probability
``--bias-strength``, replaced by ordinary content for their role. That is the history a
model must not learn to repeat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skillpath.sample.organisation import Organisation
from skillpath.sample.regimes import zipf_popularity

CANDIDATES = 4  # options a person weighs before starting one
ROLE_SHARE_OF_REST = 0.6  # of the starts that do not chase a gap, role-typical picks
# attribute -> the group it steers and who is in it
STEERED_AGE = 40
STEERED = {
    "gender": "women",
    "age": f"persons aged {STEERED_AGE} and over",
    "disability": "persons with a disability",
}
ADVANCED_LEVEL = 4
GAP, ROLE, POPULAR = 0, 1, 2  # habits
CHUNK = 16384  # starts whose perceived gaps (starts × skills) are computed at once


@dataclass(frozen=True)
class MonthTables:
    role_cum: np.ndarray  # roles × content, cumulative pick probabilities
    plain_cum: np.ndarray  # the same without advanced and leadership content
    pop_cum: np.ndarray  # 1 × content
    by_key: np.ndarray  # available content sorted by (primary skill, level)
    keys: np.ndarray  # primary skill * 5 + level - 1 of by_key


def _sample_rows(cum: np.ndarray, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Draw one column per row from row-wise cumulative weights (each row ending in
    1.0), vectorised by offsetting every row into one increasing sequence."""
    n_cols = cum.shape[1]
    flat = (cum + np.arange(cum.shape[0])[:, None]).ravel()
    pos = np.searchsorted(flat, rows + np.minimum(u, 1 - 1e-12), side="right")
    return np.minimum(pos - rows * n_cols, n_cols - 1)


def _cumulative(weights: np.ndarray) -> np.ndarray:
    total = weights.sum(axis=-1, keepdims=True)
    safe = np.where(total > 0, weights / np.where(total > 0, total, 1), 1.0 / weights.shape[-1])
    cum = np.cumsum(safe, axis=-1)
    cum[..., -1] = 1.0
    return cum


def steered_mask(people, attributes, year: int) -> np.ndarray:
    """Who the injected bias steers: anyone in the steered group of any chosen attribute."""
    masks = {
        "gender": lambda: people.gender == "female",
        "age": lambda: year - people.birth_year >= STEERED_AGE,
        "disability": lambda: people.disability == "yes",
    }
    out = np.zeros(len(people.gender), dtype=bool)
    for attribute in attributes:
        out |= np.asarray(masks[attribute](), dtype=bool)
    return out


class Chooser:
    def __init__(self, org: Organisation):
        tax, people, catalog = org.tax, org.people, org.catalog
        self.people = people
        self.catalog = catalog
        self.inject_bias = bool(org.config.inject_bias)
        self.strength = org.config.bias_strength
        self.required, self.importance = tax.requirement_matrices()
        self.steered = steered_mask(people, org.config.inject_bias, org.config.end_date.year)
        c = catalog
        valid = c.taught_skill >= 0
        taught = np.zeros((len(c), tax.n_skills))
        rows = np.repeat(np.arange(len(c)), valid.sum(axis=1))
        taught[rows, c.taught_skill[valid]] = c.taught_weight[valid]
        # role-typical: content teaching what the role needs, near the level it needs
        primary = c.taught_skill[:, 0]
        level_fit = np.exp(-0.5 * (c.level[None, :] - self.required[:, primary] - 0.5) ** 2)
        self.role_fit = (self.importance / 5.0) @ taught.T * level_fit  # roles × content
        self.role_weight = self.role_fit * np.exp(0.6 * c.quality)[None, :]
        self.role_weight[:, c.mandatory] = 0.0
        self.advanced = (c.level >= ADVANCED_LEVEL) | (c.category == "leadership")
        # what "everyone is taking": appealing content, advanced content for fewer
        self.popularity = np.exp(1.2 * c.quality) * np.where(c.mandatory, 0.0, 1.0)
        self.popularity *= np.where(c.level <= 3, 1.0, 0.5)
        knobs = org.config.knobs
        if knobs.popularity_tail is not None:  # a few hits everyone can take all year
            whole_year = (c.available_from == 0) & c.active(org.config.months)
            hits = whole_year & (c.language == "en")
            self.popularity = zipf_popularity(self.popularity, hits, knobs.popularity_tail)
        self.role_share = (
            ROLE_SHARE_OF_REST if knobs.popular_habit is None else 1.0 - knobs.popular_habit
        )
        self.primary = primary
        # a person reads content in English or in their office's language
        languages, self.person_language = np.unique(people.language, return_inverse=True)
        self.language_ok = (c.language[None, :] == "en") | (
            c.language[None, :] == languages[:, None]
        )

    def relevance(self, role: np.ndarray, content: np.ndarray) -> np.ndarray:
        """How much a content item matters to a role, 0–1 (for survey relevance)."""
        return np.clip(1.5 * self.role_fit[role, content], 0.0, 1.0)

    def _month_tables(self, month: int):
        avail = self.catalog.available(month) & ~self.catalog.mandatory
        pop = self.popularity * avail
        role_w = self.role_weight * avail
        plain_w = self.role_weight * (avail & ~self.advanced)
        # a role with nothing relevant on offer falls back to what is popular
        role_w[role_w.sum(axis=1) == 0] = pop
        plain_w[plain_w.sum(axis=1) == 0] = pop * ~self.advanced
        # content per (primary skill, level), for gap-driven picks
        idx = np.flatnonzero(avail)
        key = self.primary[idx] * 5 + (self.catalog.level[idx] - 1)
        order = np.argsort(key, kind="stable")
        return MonthTables(
            role_cum=_cumulative(role_w),
            plain_cum=_cumulative(plain_w),
            pop_cum=_cumulative(pop[None, :]),
            by_key=idx[order],
            keys=key[order],
        )

    def _gap_candidates(self, person, level_noise, u_skill, u_item, tables: MonthTables):
        """Content for the skill a person believes they lack most, around one level
        above where they think they are; -1 where they see no gap."""
        out = np.full(level_noise.shape, -1)
        for lo in range(0, len(person), CHUNK):
            part = slice(lo, lo + CHUNK)
            out[part] = self._gap_chunk(
                person[part], level_noise[part], u_skill[part], u_item[part], tables
            )
        return out

    def _gap_chunk(self, person, level_noise, u_skill, u_item, t: MonthTables):
        p = self.people
        role = p.role[person]
        perceived = np.clip(p.skills[person] + p.self_bias[person, None], 0.0, 5.0)
        gap = self.importance[role] * np.maximum(self.required[role] - perceived, 0.0)
        has_gap = gap.sum(axis=1) > 0
        rows = np.arange(len(person))
        skill = _sample_rows(_cumulative(gap), rows, u_skill)
        target = np.rint(perceived[rows, skill][:, None] + 1 + level_noise)
        target = np.clip(target, 1, 5).astype(int)
        out = np.full(target.shape, -1)
        for shift in (0, -1, 1, -2, 2, -3, 3, -4, 4):  # nearest level that has content
            level = target + shift
            key = skill[:, None] * 5 + (level - 1)
            lo = np.searchsorted(t.keys, key, side="left")
            hi = np.searchsorted(t.keys, key, side="right")
            found = (out < 0) & (hi > lo) & (level >= 1) & (level <= 5)
            pick = np.minimum(lo + (u_item * (hi - lo)).astype(int), len(t.by_key) - 1)
            out[found] = t.by_key[pick][found]
        out[~has_gap] = -1
        return out

    def choose(self, person: np.ndarray, month: int, rng: np.random.Generator) -> np.ndarray:
        """The content each voluntary start (one row per start in ``person``) goes to."""
        p, c = self.people, self.catalog
        n, k = len(person), CANDIDATES
        t = self._month_tables(month)
        role = p.role[person]
        u = rng.random((n, 3 + 3 * k))
        habit = np.where(
            u[:, 0] < p.self_direction[person],
            GAP,
            np.where(u[:, 1] < self.role_share, ROLE, POPULAR),
        )
        cand = _sample_rows(t.role_cum, np.repeat(role, k), u[:, 3 : 3 + k].ravel())
        cand = cand.reshape(n, k)
        popular = habit == POPULAR
        cand[popular] = _sample_rows(
            t.pop_cum, np.zeros(popular.sum() * k, dtype=int), u[popular, 3 + k : 3 + 2 * k].ravel()
        ).reshape(-1, k)
        gap_rows = np.flatnonzero(habit == GAP)
        gap_pick = self._gap_candidates(
            person[gap_rows],
            rng.normal(0.0, 0.6, (len(gap_rows), k)),
            u[gap_rows, 2],
            u[gap_rows, 3 + 2 * k :],
            t,
        )
        # no perceived gap (or no content for it): fall back to role-typical picks
        cand[gap_rows] = np.where(gap_pick >= 0, gap_pick, cand[gap_rows])

        utility = (
            p.format_pref[person[:, None], c.format[cand]]
            + 0.5 * c.quality[cand]
            + np.where(self.language_ok[self.person_language[person][:, None], cand], 0.0, -4.0)
            + rng.gumbel(size=cand.shape)
        )
        chosen = cand[np.arange(n), np.argmax(utility, axis=1)]

        # drawn whether or not bias is injected, so both histories share their randomness
        steer = rng.random(n) < self.strength
        replacement = _sample_rows(t.plain_cum, role, rng.random(n))
        if self.inject_bias:
            steer &= self.steered[person] & self.advanced[chosen]
            chosen = np.where(steer, replacement, chosen)
        return chosen
