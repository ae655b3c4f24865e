"""The workforce: who works where, reports to whom, since when — and the latent truth
behind each person (true skills, format preferences, rhythm, engagement) that their
learning history is later simulated from.

Gender, birth year and disability are drawn independently of everything else: without
``--inject-bias`` no behaviour depends on them, so any disparity a model shows on clean
data is its own doing.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from skillpath.sample.config import SampleConfig
from skillpath.sample.model import FORMATS
from skillpath.sample.taxonomy import EXECUTIVE, Taxonomy, load_resource
from skillpath.sample.timeline import next_working_day

LOCATIONS = ("Berlin", "London", "Madrid", "Warsaw", "Lisbon", "Amsterdam", "Remote")
LOCATION_LANGUAGE = ("de", "en", "es", "pl", "pt", "nl", "en")
LOCATION_SHARE = (0.28, 0.20, 0.12, 0.14, 0.08, 0.10, 0.08)
GENDERS = ("female", "male", "non_binary", "not_disclosed")
GENDER_SHARE = (0.46, 0.505, 0.012, 0.023)
DISABILITY = ("no", "yes", "not_disclosed")
DISABILITY_SHARE = (0.80, 0.06, 0.14)
LEVEL_SHARE = (0.24, 0.32, 0.24, 0.13, 0.07)
# share of each level hired within a year (juniors turn over fastest)
HIRE_RATE = (0.24, 0.15, 0.10, 0.07, 0.04)
LEAVE_RATE = 0.09  # per year
PART_TIME_SHARE = 0.11
OPT_OUT_SHARE = 0.03
# population-wide taste for formats (logit scale); persons vary around it
FORMAT_TASTE = {
    "video": 0.3,
    "article": 0.0,
    "course": -0.1,
    "workshop": -0.2,
    "podcast": -0.3,
    "microlearning": 0.35,
    "interactive": 0.1,
}
EMAIL_DOMAIN = "example.com"


@dataclass
class People:
    employee_id: np.ndarray
    first_name: np.ndarray
    last_name: np.ndarray
    email: np.ndarray
    role: np.ndarray  # index into Taxonomy.roles
    department: np.ndarray
    manager: np.ndarray  # index of the manager, -1 for the chief executive
    location: np.ndarray  # index into LOCATIONS
    hire_date: np.ndarray  # datetime64[D]
    leave_date: np.ndarray  # datetime64[D], NaT while employed
    part_time: np.ndarray
    gender: np.ndarray
    birth_year: np.ndarray
    disability: np.ndarray
    opted_out: np.ndarray
    consent_changed_at: np.ndarray  # datetime64[s]
    # latent truth
    propensity: np.ndarray  # engagement propensity, mean ~1
    format_pref: np.ndarray  # (n, len(FORMATS)) logit-scale taste
    preferred_hour: np.ndarray  # hour of day, float
    self_bias: np.ndarray  # how much a person overrates themselves
    engagement: np.ndarray  # baseline engagement on the pulse scale
    self_direction: np.ndarray  # share of own picks that chase perceived gaps
    skills: np.ndarray  # (n, n_skills) float32 true levels 0–5, updated as they learn

    def __len__(self) -> int:
        return len(self.employee_id)

    @property
    def language(self) -> np.ndarray:
        return np.asarray(LOCATION_LANGUAGE)[self.location]


def _ascii(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def _emails(first: np.ndarray, last: np.ndarray) -> np.ndarray:
    seen: dict[str, int] = {}
    out = []
    for f, la in zip(first, last, strict=True):
        local = f"{_ascii(f)}.{_ascii(la)}"
        seen[local] = seen.get(local, 0) + 1
        suffix = str(seen[local]) if seen[local] > 1 else ""
        out.append(f"{local}{suffix}@{EMAIL_DOMAIN}")
    return np.asarray(out, dtype=object)


def _structure(cfg: SampleConfig, tax: Taxonomy, rng: np.random.Generator):
    """Family and level of everyone; person 0 is the chief executive and every
    department gets a head (level 5)."""
    n = cfg.employees
    share = tax.families["headcount_share"].to_numpy()
    family = rng.choice(len(share), size=n, p=share / share.sum())
    level = rng.choice(np.arange(1, 6), size=n, p=LEVEL_SHARE)
    department = tax.families["department"].to_numpy()[family]
    for dept in np.unique(department):
        members = np.flatnonzero(department == dept)
        members = members[members > 0]
        if len(members) and not (level[members] == 5).any():
            level[members[np.argmax(level[members])]] = 5
    family[0], level[0], department[0] = -1, 5, EXECUTIVE["department"]
    codes = tax.families["code"].to_numpy()[np.maximum(family, 0)]
    code = np.where(family >= 0, codes, EXECUTIVE["code"])
    job_code = np.char.add(code.astype(str), np.char.zfill(level.astype(str), 2))
    role = pd.Index(tax.roles["job_code"]).get_indexer(job_code)
    return family, level, department.astype(object), role


def _dates(cfg: SampleConfig, level: np.ndarray, rng: np.random.Generator):
    n = len(level)
    start = np.datetime64(cfg.start_date, "D")
    end = np.datetime64(cfg.end_date, "D")
    window_days = int((end - start).astype(int)) + 1
    years = window_days / 365.25
    p_hire = np.minimum(np.asarray(HIRE_RATE)[level - 1] * years, 0.6)
    hired_in_window = rng.random(n) < p_hire
    prior_years = rng.gamma(1.6, 0.9 + 0.7 * (level - 1)) + 0.05
    prior_days = np.minimum(prior_years * 365.25, 35 * 365.25).astype(int)
    hire = np.where(
        hired_in_window,
        start + rng.integers(0, window_days, n).astype("timedelta64[D]"),
        start - prior_days.astype("timedelta64[D]"),
    )
    hired_in_window[0], hire[0] = False, start - np.timedelta64(6 * 365, "D")
    hire = next_working_day(hire.astype("datetime64[D]")).astype("datetime64[D]")
    leave = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    earliest = np.maximum(hire + np.timedelta64(45, "D"), start)
    can_leave = earliest < end
    leaves = can_leave & (rng.random(n) < min(LEAVE_RATE * years, 0.5))
    leaves[0] = False
    span = np.maximum((end - earliest).astype(int), 1)
    offset = (rng.random(n) * span).astype(int).astype("timedelta64[D]")
    leave[leaves] = (earliest + offset)[leaves]
    return hire, leave


def _managers(level, family, department, leave, rng: np.random.Generator) -> np.ndarray:
    """Juniors to seniors report to a lead of their family, leads and heads to the
    department head, heads to the chief executive — employed managers preferred."""
    n = len(level)
    manager = np.full(n, -1)
    staying = np.isnat(leave)
    for dept in np.unique(department[1:]):
        members = np.flatnonzero(department == dept)
        members = members[members > 0]
        heads = members[(level[members] == 5) & staying[members]]
        head = heads[0] if len(heads) else members[level[members] == 5][0]
        manager[members] = head
        manager[head] = 0
        for fam in np.unique(family[members]):
            juniors = members[(family[members] == fam) & (level[members] <= 3)]
            leads = members[(family[members] == fam) & (level[members] == 4) & staying[members]]
            if len(juniors) and len(leads):
                manager[juniors] = leads[rng.integers(0, len(leads), len(juniors))]
    return manager


def _true_skills(cfg, tax: Taxonomy, role, hire, rng: np.random.Generator) -> np.ndarray:
    """Skills a person holds at the start of the window: near what the role demands,
    higher with tenure, plus a few unrelated interests."""
    n = len(role)
    required, _ = tax.requirement_matrices()
    start = np.datetime64(cfg.start_date, "D")
    tenure = np.maximum((start - hire).astype(int), 0) / 365.25
    skills = np.zeros((n, tax.n_skills), dtype=np.float32)
    for lo in range(0, n, 8192):
        hi = min(lo + 8192, n)
        req = required[role[lo:hi]]
        noise = rng.normal(-0.45, 0.7, req.shape)
        x = req + noise + 0.22 * np.log1p(tenure[lo:hi, None])
        skills[lo:hi] = np.where(req > 0, np.clip(x, 0.0, 5.0), 0.0)
    interests = rng.poisson(0.05 * len(tax.learnable), n)
    who = np.repeat(np.arange(n), interests)
    what = tax.learnable[rng.integers(0, len(tax.learnable), len(who))]
    skills[who, what] = np.maximum(skills[who, what], rng.uniform(0.5, 3.0, len(who)))
    return skills


def generate_people(cfg: SampleConfig, tax: Taxonomy) -> People:
    rng = cfg.rng("people")
    n = cfg.employees
    family, level, department, role = _structure(cfg, tax, rng)
    hire, leave = _dates(cfg, level, rng)
    manager = _managers(level, family, department, leave, rng)

    # employee ids follow hiring order, with the gaps that deleted records leave
    order = np.argsort(hire, kind="stable")
    number = 100000 + np.cumsum(rng.geometric(0.8, n))
    employee_id = np.empty(n, dtype=object)
    employee_id[order] = [f"E{x}" for x in number]

    names = load_resource("names.csv")
    first = names.loc[names["kind"] == "first", "name"].to_numpy()
    last = names.loc[names["kind"] == "last", "name"].to_numpy()
    first_name = first[rng.integers(0, len(first), n)]
    last_name = last[rng.integers(0, len(last), n)]

    end = np.datetime64(cfg.end_date, "D")
    experience = rng.gamma(2.0, 1.1 * level) + np.maximum((end - hire).astype(int), 0) / 365.25
    age = np.clip(np.rint(22 + experience + rng.normal(0, 2, n)), 19, 66).astype(int)

    # consent is recorded since the platform launched (two years before the window),
    # or since hiring; opt-outs happen any time after that
    opted_out = rng.random(n) < OPT_OUT_SHARE
    launch = np.datetime64(cfg.start_date, "D") - 2 * 365
    recorded = np.maximum(hire, launch).astype("datetime64[s]") + np.timedelta64(9 * 3600, "s")
    span = (end.astype("datetime64[s]") - recorded).astype(int)
    changed = recorded + (rng.random(n) * np.maximum(span, 1)).astype(int).astype("timedelta64[s]")
    consent_changed_at = np.where(opted_out, changed, recorded)

    propensity = rng.lognormal(-0.18, 0.6, n)
    taste = np.asarray([FORMAT_TASTE[f] for f in FORMATS])
    slot = rng.choice(3, size=n, p=(0.45, 0.25, 0.30))
    hour = np.choose(
        slot, (rng.normal(9.0, 0.8, n), rng.normal(12.5, 0.5, n), rng.normal(15.5, 1.0, n))
    )
    return People(
        employee_id=employee_id,
        first_name=first_name,
        last_name=last_name,
        email=_emails(first_name, last_name),
        role=role,
        department=department,
        manager=manager,
        location=rng.choice(len(LOCATIONS), size=n, p=LOCATION_SHARE),
        hire_date=hire,
        leave_date=leave,
        part_time=rng.random(n) < PART_TIME_SHARE,
        gender=np.asarray(GENDERS, dtype=object)[rng.choice(4, size=n, p=GENDER_SHARE)],
        birth_year=cfg.end_date.year - age,
        disability=np.asarray(DISABILITY, dtype=object)[rng.choice(3, size=n, p=DISABILITY_SHARE)],
        opted_out=opted_out,
        consent_changed_at=consent_changed_at,
        propensity=propensity,
        format_pref=taste + rng.normal(0.0, 0.7, (n, len(FORMATS))),
        preferred_hour=np.clip(hour, 7.5, 17.5),
        self_bias=rng.normal(0.55, 0.35, n),
        engagement=3.5 + 0.45 * np.log(propensity) + rng.normal(0, 0.55, n),
        self_direction=rng.beta(2.0, 3.0, n),
        skills=_true_skills(cfg, tax, role, hire, rng),
    )
