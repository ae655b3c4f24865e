"""The learning catalogue: what there is to learn, in which format, at which level,
teaching which skills, requiring what first.

Every learnable skill gets content at the first three levels; skills many roles need
get more, and advanced levels (a regime may fix the size instead: a small catalogue keeps
the most needed skills and levels, a large one adds more of them). A few items are
retired during the window and a few are launched, as in any LMS; mandatory compliance
training runs as yearly campaigns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from skillpath.sample.config import SampleConfig
from skillpath.sample.model import FORMATS, MAX_TAUGHT
from skillpath.sample.taxonomy import Taxonomy

ACTIVITY_BASE = "https://lms.example.com/activities"
# format mix per skill category, in FORMATS order
FORMAT_MIX = {
    "technical": (0.28, 0.15, 0.25, 0.03, 0.04, 0.10, 0.15),
    "data": (0.28, 0.15, 0.25, 0.03, 0.04, 0.10, 0.15),
    "digital": (0.30, 0.15, 0.20, 0.05, 0.03, 0.17, 0.10),
    "leadership": (0.20, 0.20, 0.15, 0.20, 0.12, 0.08, 0.05),
    "communication": (0.22, 0.18, 0.12, 0.20, 0.10, 0.10, 0.08),
    "compliance": (0.10, 0.12, 0.25, 0.02, 0.01, 0.32, 0.18),
    "domain": (0.22, 0.20, 0.22, 0.12, 0.07, 0.10, 0.07),
}
# median minutes and log-normal spread per format
DURATION = {
    "video": (12, 0.5),
    "article": (10, 0.4),
    "course": (150, 0.5),
    "workshop": (210, 0.35),
    "podcast": (35, 0.3),
    "microlearning": (6, 0.35),
    "interactive": (35, 0.4),
}
PROVIDERS = {
    "video": ("LinkedIn Learning", "Udemy Business", "Pluralsight", "Internal Academy"),
    "article": ("Harvard Business Publishing", "O'Reilly", "Internal Academy"),
    "course": ("Coursera", "Udemy Business", "Skillsoft", "Internal Academy"),
    "workshop": ("Internal Academy", "Franklin Covey", "General Assembly"),
    "podcast": ("HBR IdeaCast", "Internal Academy"),
    "microlearning": ("Skillsoft", "EdApp", "Internal Academy"),
    "interactive": ("Pluralsight", "DataCamp", "Internal Academy"),
}
LANGUAGES = ("en", "de", "es", "pl", "pt", "nl")
LANGUAGE_SHARE = (0.85, 0.06, 0.03, 0.02, 0.02, 0.02)
EXTRA_LEVEL_SHARE = (0.22, 0.28, 0.25, 0.15, 0.10)
TITLES = {
    1: ("Introduction to {s}", "{s} Fundamentals", "{s} for Beginners", "Getting Started with {s}"),
    2: ("{s} Essentials", "Working with {s}", "{s}: Core Skills", "Practical {s} Basics"),
    3: ("Applied {s}", "{s} in Practice", "Intermediate {s}", "{s}: Beyond the Basics"),
    4: ("Advanced {s}", "{s}: Advanced Techniques", "Deep Dive: {s}", "{s} for Practitioners"),
    5: ("Mastering {s}", "{s} Masterclass", "Expert {s}", "{s}: Strategy and Leadership"),
}
FORMAT_SUFFIX = {
    "workshop": " Workshop",
    "podcast": " (Podcast)",
    "microlearning": " in Ten Minutes",
    "interactive": " Lab",
}
# the yearly mandatory trainings: skill -> (title, format, minutes); campaigns are spread
# over the year, one every three months
MANDATORY = {
    "code-of-conduct": ("Code of Conduct Annual Training", "course", 30),
    "data-protection-gdpr": ("Data Protection (GDPR) Essentials", "interactive", 25),
    "information-security-awareness": ("Information Security Awareness", "course", 40),
    "harassment-prevention": ("Preventing Harassment at Work", "microlearning", 15),
}


@dataclass
class Catalog:
    content_id: np.ndarray
    title: np.ndarray
    format: np.ndarray  # index into FORMATS
    duration: np.ndarray  # minutes
    level: np.ndarray
    language: np.ndarray
    provider: np.ndarray
    quality: np.ndarray  # latent appeal/quality, logit scale
    available_from: np.ndarray  # first month (index in the window) it can be started
    retired_at: np.ndarray  # first month it can no longer be started (> months: never)
    campaign_month: np.ndarray  # mandatory: campaign month (index in the window mod 12); -1
    taught_skill: np.ndarray  # (n, MAX_TAUGHT) skill index, -1 padding
    taught_level: np.ndarray  # (n, MAX_TAUGHT)
    taught_weight: np.ndarray  # (n, MAX_TAUGHT): 1 primary, 0.5 secondary, 0 padding
    category: np.ndarray  # category of the primary skill
    prereq_content: np.ndarray  # edges: content requires ...
    prereq_requires: np.ndarray  # ... this content

    def __len__(self) -> int:
        return len(self.content_id)

    def active(self, months: int) -> np.ndarray:
        """Not retired by the end of the window (the catalogue's ``active`` flag)."""
        return self.retired_at >= months

    def available(self, month: int) -> np.ndarray:
        return (self.available_from <= month) & (self.retired_at > month)

    @property
    def mandatory(self) -> np.ndarray:
        return self.campaign_month >= 0


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _skill_demand(tax: Taxonomy) -> np.ndarray:
    """How much the organisation needs each skill: importance summed over roles,
    weighted by the headcount share of their family."""
    share = tax.families.set_index("job_family")["headcount_share"]
    roles = tax.roles.set_index("job_code")
    req = tax.requirements
    weight = roles.loc[req["job_code"], "job_family"].map(share).fillna(0.01).to_numpy()
    demand = np.zeros(tax.n_skills)
    np.add.at(demand, tax.skill_index(req["skill_id"]), weight * req["importance"].to_numpy())
    learnable = np.zeros(tax.n_skills, dtype=bool)
    learnable[tax.learnable] = True
    floor = demand[learnable & (demand > 0)].min()
    return np.where(learnable, np.maximum(demand, 0.3 * floor), 0.0)


def _items(cfg: SampleConfig, tax: Taxonomy, rng: np.random.Generator):
    """(primary skill, level) of every voluntary item."""
    demand = _skill_demand(tax)
    skills = tax.learnable
    high = demand[skills] >= np.median(demand[skills])
    base_skill = np.concatenate([np.repeat(skills, 3), np.repeat(skills[high], 2)])
    base_level = np.concatenate([np.tile([1, 2, 3], len(skills)), np.tile([4, 5], high.sum())])
    size = cfg.knobs.catalog_items  # a regime's fixed size, mandatory items included
    voluntary = None if size is None else size - len(MANDATORY)
    n_extra = min(cfg.employees // 15, 3000) if size is None else voluntary - len(base_skill)
    p = demand[skills] ** 0.8
    extra_skill = rng.choice(skills, size=max(n_extra, 0), p=p / p.sum())
    extra_level = rng.choice(np.arange(1, 6), size=max(n_extra, 0), p=EXTRA_LEVEL_SHARE)
    skill = np.concatenate([base_skill, extra_skill])
    level = np.concatenate([base_level, extra_level])
    if n_extra < 0:  # fewer items than skills × levels: those most needed
        weight = demand[skill] ** 0.8 * np.asarray(EXTRA_LEVEL_SHARE)[level - 1]
        pick = rng.choice(len(skill), size=voluntary, replace=False, p=weight / weight.sum())
        keep = np.sort(pick)
        skill, level = skill[keep], level[keep]
    return skill, level


def _secondary(tax: Taxonomy, primary: np.ndarray, level: np.ndarray, rng):
    """Up to two sibling skills (same parent) taught alongside, a level lower."""
    n = len(primary)
    taught_skill = np.full((n, MAX_TAUGHT), -1)
    taught_level = np.zeros((n, MAX_TAUGHT), dtype=int)
    taught_weight = np.zeros((n, MAX_TAUGHT))
    taught_skill[:, 0], taught_level[:, 0], taught_weight[:, 0] = primary, level, 1.0
    parent = tax.skills["parent_skill_id"].to_numpy()
    siblings = {p: np.flatnonzero(parent == p) for p in np.unique(parent[tax.learnable]) if p}
    compliance = (tax.skills["category"] == "compliance").to_numpy()
    for slot, chance in ((1, 0.45), (2, 0.12)):
        pick = (rng.random(n) < chance) & ~compliance[primary]
        u = rng.random(n)
        for i in np.flatnonzero(pick):
            options = siblings.get(parent[primary[i]], np.empty(0, int))
            options = options[~np.isin(options, taught_skill[i])]
            if len(options):
                taught_skill[i, slot] = options[int(u[i] * len(options))]
                taught_level[i, slot] = max(1, level[i] - 1)
                taught_weight[i, slot] = 0.5
    return taught_skill, taught_level, taught_weight


def _titles(tax: Taxonomy, primary, level, fmt, campaign, rng) -> tuple[list, list]:
    names = tax.skills["name"].to_numpy()
    skill_ids = tax.skills["skill_id"].to_numpy()
    variant = rng.integers(0, 4, len(primary))
    titles, ids, seen = [], [], set()
    for i, (s, lvl, f) in enumerate(zip(primary, level, fmt, strict=True)):
        fname = FORMATS[f]
        if campaign[i] >= 0:
            title = MANDATORY[skill_ids[s]][0]
        else:
            title = TITLES[int(lvl)][variant[i]].format(s=names[s]) + FORMAT_SUFFIX.get(fname, "")
        # ids must be unique even where titles differ only in symbols (C++ / C#)
        base, n = title, 1
        while (slug := _slug(title)) in seen:
            n += 1
            title = f"{base} ({n})"
        seen.add(slug)
        titles.append(title)
        ids.append(f"{ACTIVITY_BASE}/{fname}/{slug}")
    return titles, ids


def _prerequisites(primary, level, taught_skill, rng) -> tuple[np.ndarray, np.ndarray]:
    """Each edge points to a strictly lower level, so the graph is acyclic."""
    frame = pd.DataFrame({"skill": primary, "level": level, "idx": np.arange(len(primary))})
    lookup = frame.groupby(["skill", "level"])["idx"].apply(np.asarray).to_dict()
    content, requires = [], []
    wants = (level >= 2) & (rng.random(len(primary)) < 0.3)
    u = rng.random(len(primary))
    for i in np.flatnonzero(wants):
        below = lookup.get((primary[i], level[i] - 1))
        if below is not None:
            content.append(i)
            requires.append(below[int(u[i] * len(below))])
    also = (level >= 3) & (taught_skill[:, 1] >= 0) & (rng.random(len(primary)) < 0.1)
    for i in np.flatnonzero(also):
        below = lookup.get((taught_skill[i, 1], level[i] - 2))
        if below is not None:
            content.append(i)
            requires.append(below[int(u[i] * len(below))])
    return np.asarray(content, dtype=int), np.asarray(requires, dtype=int)


def generate_catalog(cfg: SampleConfig, tax: Taxonomy) -> Catalog:
    rng = cfg.rng("catalog")
    primary, level = _items(cfg, tax, rng)
    mandatory = tax.skill_index(pd.Series(list(MANDATORY)))
    primary = np.concatenate([mandatory, primary])
    level = np.concatenate([np.ones(len(mandatory), dtype=int), level])
    campaign = np.full(len(primary), -1)
    campaign[: len(mandatory)] = (np.arange(len(mandatory)) * 3 + 1) % 12
    n = len(primary)

    category = tax.skills["category"].to_numpy()[primary]
    fmt = np.empty(n, dtype=int)
    for cat, mix in FORMAT_MIX.items():
        rows = np.flatnonzero(category == cat)
        fmt[rows] = rng.choice(len(FORMATS), size=len(rows), p=np.asarray(mix) / sum(mix))
    fmt[: len(mandatory)] = [FORMATS.index(f) for _, f, _ in MANDATORY.values()]
    median = np.asarray([DURATION[FORMATS[f]][0] for f in fmt])
    spread = np.asarray([DURATION[FORMATS[f]][1] for f in fmt])
    minutes = median * np.exp(spread * rng.normal(size=n))
    duration = np.where(minutes > 60, np.rint(minutes / 15) * 15, np.rint(minutes))
    duration = np.clip(duration, 2, 480).astype(int)
    duration[: len(mandatory)] = [minutes for *_, minutes in MANDATORY.values()]

    provider = np.asarray(
        [
            PROVIDERS[FORMATS[f]][int(u * len(PROVIDERS[FORMATS[f]]))]
            for f, u in zip(fmt, rng.random(n), strict=True)
        ],
        dtype=object,
    )
    language = np.asarray(LANGUAGES, dtype=object)[rng.choice(6, size=n, p=LANGUAGE_SHARE)]
    language[: len(mandatory)] = "en"
    provider[: len(mandatory)] = "Internal Academy"

    months = cfg.months
    available_from = np.where(rng.random(n) < 0.10, rng.integers(1, max(months, 2), n), 0)
    retired_at = np.where(rng.random(n) < 0.07, rng.integers(1, max(months, 2), n), months + 1)
    retired_at = np.maximum(retired_at, available_from + 1)
    available_from[: len(mandatory)], retired_at[: len(mandatory)] = 0, months + 1

    taught_skill, taught_level, taught_weight = _secondary(tax, primary, level, rng)
    titles, ids = _titles(tax, primary, level, fmt, campaign, rng)
    prereq_content, prereq_requires = _prerequisites(primary, level, taught_skill, rng)
    return Catalog(
        content_id=np.asarray(ids, dtype=object),
        title=np.asarray(titles, dtype=object),
        format=fmt,
        duration=duration,
        level=level,
        language=language,
        provider=provider,
        quality=rng.normal(0.0, 0.5, n),
        available_from=available_from,
        retired_at=retired_at,
        campaign_month=campaign,
        taught_skill=taught_skill,
        taught_level=taught_level,
        taught_weight=taught_weight,
        category=category,
        prereq_content=prereq_content,
        prereq_requires=prereq_requires,
    )
