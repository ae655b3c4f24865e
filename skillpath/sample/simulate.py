"""A year (or more) of learning, month by month, drawn from the latent truth.

Each month: mandatory compliance campaigns and onboarding assignments, voluntary starts
(see ``choice.py``), retries of failed tests and resumed drop-outs; outcomes from the
behaviour model (``model.py``); timed statements (``timeline.py``); then skills grow by
what was completed, plus a little on the job. A regime (``regimes.py``) may give some
people a long spell without learning, or make some learn in binges. Everything is
vectorised over the month's attempts; the loop is over months only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from skillpath.sample.choice import Chooser
from skillpath.sample.model import ASSESSED, BehaviourModel
from skillpath.sample.organisation import Organisation
from skillpath.sample.regimes import dormant_spells
from skillpath.sample.timeline import (
    BADGE_BASE,
    DAY_MS,
    FORUM_THREADS,
    QUIZZES,
    WORKSHOP,
    Attempts,
    Statements,
    V,
    attempt_statements,
    back_to_back,
    cut,
    finalise,
    new_ids,
    time_of_day_ms,
    working_day,
    working_days,
)

log = logging.getLogger(__name__)

BASE_RATE = 1.0  # voluntary starts per person-month at propensity 1
PART_TIME_FACTOR = 0.6
ONBOARDING_FACTOR = 1.2  # the first three months
SEASON = {8: 0.6, 12: 0.7, 1: 1.15}  # calendar month -> activity factor
CAMPAIGN_UPTAKE = 0.93
ONBOARDING_UPTAKE = 0.95
RETRY_FAILED = 0.4
RESUME_DROPPED = 0.12
ON_THE_JOB = 0.012  # monthly share of the gap to the role closed by doing the job
VOID_SHARE = 0.002  # abandoned attempts for which the LMS wrongly sent "completed"
CHUNK = 16384  # persons per step where a persons × skills temporary is needed


@dataclass
class Month:
    index: int
    first_day: int  # int days since the epoch
    end_day: int  # exclusive
    lo: np.ndarray  # per person: first day employed within the month
    hi: np.ndarray  # per person: first day after it
    active: np.ndarray  # per person: employed on at least one working day of the month
    attempts: Attempts
    gap: np.ndarray  # per attempt: levels the content sits above the person's true level
    completion_ms: np.ndarray  # per attempt: when it was (or would have been) completed
    primary_after: np.ndarray  # per attempt: true level in the main skill afterwards
    growth: np.ndarray  # per person: skill levels gained this month
    completions: np.ndarray  # per person: items completed this month
    statements: Statements
    skills: np.ndarray  # true skills during the month (updated once the month is consumed)


class Simulation:
    def __init__(self, org: Organisation, model: BehaviourModel):
        cfg, people = org.config, org.people
        self.cfg, self.people, self.catalog, self.model = cfg, people, org.catalog, model
        self.chooser = Chooser(org)
        self.required, _ = org.tax.requirement_matrices()
        end = np.datetime64(cfg.end_date, "D").astype(np.int64) + 1
        leave = people.leave_date.astype(np.int64)
        # first day without activity: the leave date, or the day after the window
        self.cutoff_day = np.where(np.isnat(people.leave_date), end, np.minimum(leave, end))
        self.hire_day = people.hire_date.astype(np.int64)
        self.done = np.empty(0, dtype=np.int64)  # learnt (person, content) keys, sorted
        # regimes (regimes.py): spells without learning, people who learn in binges
        knobs = cfg.knobs
        self.dormant_from, self.dormant_to = dormant_spells(
            knobs, cfg.months, len(people), cfg.rng("dormancy")
        )
        self.binger = cfg.rng("binge").random(len(people)) < knobs.binge_share
        self.binge_rate = knobs.binge_rate
        self.retry = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))

    def _key(self, person: np.ndarray, content: np.ndarray) -> np.ndarray:
        return person.astype(np.int64) * len(self.catalog) + content

    def _mandatory(self, m: int, first: int, end: int, active: np.ndarray, rng):
        """This month's compliance campaign for staff, every mandatory item for newcomers."""
        c = self.catalog
        campaign = np.flatnonzero(c.campaign_month == m % 12)
        staff = np.flatnonzero(active & (self.hire_day < first))
        newcomers = np.flatnonzero(active & (self.hire_day >= first) & (self.hire_day < end))
        everything = np.flatnonzero(c.mandatory)
        person = np.concatenate(
            [np.repeat(staff, len(campaign)), np.repeat(newcomers, len(everything))]
        )
        content = np.concatenate(
            [np.tile(campaign, len(staff)), np.tile(everything, len(newcomers))]
        )
        uptake = np.where(
            np.arange(len(person)) < len(staff) * len(campaign), CAMPAIGN_UPTAKE, ONBOARDING_UPTAKE
        )
        take = rng.random(len(person)) < uptake
        return person[take], content[take]

    def _voluntary(self, m: int, first: int, frac: np.ndarray, active: np.ndarray, rng):
        p = self.people
        calendar_month = int(str(np.datetime64(first, "D"))[5:7])
        rate = (
            BASE_RATE
            * p.propensity
            * np.where(p.part_time, PART_TIME_FACTOR, 1.0)
            * np.where(first - self.hire_day < 90, ONBOARDING_FACTOR, 1.0)
            * SEASON.get(calendar_month, 1.0)
            * frac
            * np.where(self.binger, self.binge_rate, 1.0)
        )
        person = np.repeat(np.arange(len(p)), rng.poisson(np.where(active, rate, 0.0)))
        content = self.chooser.choose(person, m, rng)
        keep = ~np.isin(self._key(person, content), self.done)  # nobody redoes what they learnt
        return person[keep], content[keep]

    def _attempts(self, m, person, content, mandatory, lo, hi, rng, ids):
        """The month's attempts with their outcomes, plus the level gap of each and the
        true levels held in the taught skills."""
        p, c, model = self.people, self.catalog, self.model
        n = len(person)
        fmt = c.format[content]
        taught = c.taught_skill[content]
        held = np.where(taught >= 0, p.skills[person[:, None], np.maximum(taught, 0)], 0.0)
        gap = model.level_gap(held, c.taught_level[content], c.taught_weight[content])
        logit = model.completion_logit(
            gap,
            p.propensity[person],
            p.format_pref[person, fmt],
            c.quality[content],
            c.duration[content],
            mandatory,
        )
        completed = rng.random(n) < expit(logit)
        assessed = ASSESSED[fmt]
        raw = model.raw_score(gap, p.propensity[person], rng.normal(size=n))
        raw = np.where(completed & assessed, raw, -1).astype(np.int16)
        # those who give up on hard content give up later than those bored by easy content
        dropped_at = rng.beta(1.2 + 0.5 * np.clip(gap, 0, 4), 2.2)
        # live events run to schedule: fixed length, mornings, short ones also afternoons
        workshop = fmt == WORKSHOP
        afternoon = (rng.random(n) < 0.5) & (c.duration[content] <= 240)
        live = np.where(afternoon, 13 * 3_600_000 + 1_800_000, 9 * 3_600_000)
        speed = np.where(workshop, 1.0, rng.lognormal(0.0, 0.3, n))
        reg_hi, reg_lo = new_ids(ids, n)
        a = Attempts(
            person=person,
            content=content,
            fmt=fmt,
            mandatory=mandatory,
            start_day=working_day(lo[person], hi[person], rng.random(n)),
            start_tod=np.where(workshop, live, time_of_day_ms(p.preferred_hour[person], rng)),
            gap_days=1 + rng.poisson(1.0, n),
            full_seconds=np.maximum(c.duration[content] * 60.0 * speed, 60.0),
            progress=np.where(completed, 1.0, np.clip(dropped_at, 0.01, 0.97)),
            completed=completed,
            assessed=assessed,
            raw=raw,
            passed=raw >= model.pass_mark,
            reg_hi=reg_hi,
            reg_lo=reg_lo,
        )
        if self.binger.any():  # their own picks, on one day of the month (not live events)
            binge = self.cfg.rng(f"binge-{m}")
            day = working_day(lo, np.maximum(hi, lo + 1), binge.random(len(p)))
            own = np.flatnonzero(self.binger[person] & ~mandatory & ~workshop)
            back_to_back(a, own, day, binge)
        # an item that would be finished only after the person's cutoff was not
        lost = a.completed & (a.completion_ms() + 10_000 >= self.cutoff_day[person] * DAY_MS)
        a.completed &= ~lost
        a.passed &= ~lost
        a.progress = np.where(lost, 0.99, a.progress)
        a.raw = np.where(lost, -1, a.raw).astype(np.int16)
        return a, gap, held

    def _extras(self, a: Attempts, completion_ms, lo, hi, active, frac, rng) -> Statements:
        """Activity outside the catalogue (forum posts, quizzes, badges) and the LMS's
        own mistakes: a "completed" sent for an abandoned attempt, voided days later."""
        p, c = self.people, self.catalog
        parts = []
        for verb, rate, n_objects, base in (
            ("commented", 0.12, FORUM_THREADS, 0),
            ("answered", 0.18, QUIZZES, FORUM_THREADS),
        ):
            who = np.repeat(
                np.arange(len(p)), rng.poisson(np.where(active, rate * p.propensity * frac, 0.0))
            )
            day = working_day(lo[who], hi[who], rng.random(len(who)))
            correct = (rng.random(len(who)) < 0.7).astype(np.int8)
            parts.append(
                Statements.make(
                    len(who),
                    person=who.astype(np.int32),
                    other=(base + rng.integers(0, n_objects, len(who))).astype(np.int32),
                    verb=np.full(len(who), V[verb], dtype=np.int8),
                    ts=day * DAY_MS + time_of_day_ms(p.preferred_hour[who], rng),
                    success=correct if verb == "answered" else np.full(len(who), -1, np.int8),
                )
            )
        rows = np.flatnonzero(a.passed & (c.level[a.content] >= 2) & (rng.random(len(a)) < 0.25))
        content = a.content[rows]
        parts.append(
            Statements.make(
                len(rows),
                person=a.person[rows].astype(np.int32),
                other=(BADGE_BASE + c.taught_skill[content, 0] * 5 + c.level[content] - 1).astype(
                    np.int32
                ),
                verb=np.full(len(rows), V["earned"], dtype=np.int8),
                ts=completion_ms[rows] + 10_000,
            )
        )
        rows = np.flatnonzero(~a.completed & (a.progress < 0.9) & (rng.random(len(a)) < VOID_SHARE))
        at = a.at_work(a.progress[rows] * a.full_seconds[rows], rows) + 500
        mistake = Statements.make(
            len(rows),
            person=a.person[rows].astype(np.int32),
            content=a.content[rows].astype(np.int32),
            verb=np.full(len(rows), V["completed"], dtype=np.int8),
            ts=at,
            reg_hi=a.reg_hi[rows],
            reg_lo=a.reg_lo[rows],
        )
        mistake.id_hi, mistake.id_lo = new_ids(rng, len(rows))
        day = working_day(at // DAY_MS + 1, at // DAY_MS + 4, rng.random(len(rows)))
        voiding = Statements.make(
            len(rows),
            person=mistake.person,
            verb=np.full(len(rows), V["voided"], dtype=np.int8),
            ts=day * DAY_MS + time_of_day_ms(np.full(len(rows), 10.0), rng),
            ref_hi=mistake.id_hi,
            ref_lo=mistake.id_lo,
        )
        # a correction that would come after the cutoff is not made: nor is the mistake
        in_time = np.flatnonzero(voiding.ts < self.cutoff_day[voiding.person] * DAY_MS)
        parts += [mistake.take(in_time), voiding.take(in_time)]
        return Statements.concat(parts)

    def _grow(self, a: Attempts, gain: np.ndarray, active: np.ndarray) -> None:
        """Apply what was learnt: completed content, then a little from the job."""
        p, c = self.people, self.catalog
        taught = c.taught_skill[a.content]
        valid = (taught >= 0) & (gain > 0)
        who = np.repeat(a.person, valid.sum(axis=1))
        np.add.at(p.skills, (who, taught[valid]), gain[valid].astype(np.float32))
        for lo in range(0, len(p), CHUNK):
            part = slice(lo, lo + CHUNK)
            req = self.required[p.role[part]]
            drift = ON_THE_JOB * np.maximum(req - p.skills[part], 0.0) * active[part, None]
            p.skills[part] += drift.astype(np.float32)
        np.clip(p.skills, 0.0, 5.0, out=p.skills)

    def _carry_over(self, a: Attempts, rng) -> None:
        """Who tries again next month: some who failed the test, a few who dropped out."""
        failed = a.completed & a.assessed & ~a.passed & (rng.random(len(a)) < RETRY_FAILED)
        resumed = ~a.completed & ~a.mandatory & (rng.random(len(a)) < RESUME_DROPPED)
        again = failed | resumed
        self.retry = (a.person[again], a.content[again])
        learnt = a.completed & (a.passed | ~a.assessed) & ~a.mandatory
        self.done = np.union1d(self.done, self._key(a.person[learnt], a.content[learnt]))

    def months(self) -> Iterator[Month]:
        cfg, p, c, model = self.cfg, self.people, self.catalog, self.model
        bounds = cfg.month_starts().astype(np.int64)
        ids = cfg.rng("statement-ids")
        for m in range(cfg.months):
            rng = cfg.rng(f"month-{m}")
            first, end = int(bounds[m]), int(bounds[m + 1])
            lo = np.maximum(first, self.hire_day)
            hi = np.minimum(end, self.cutoff_day)
            days = working_days(lo, hi)
            # a Sunday as the last day of employment is not activity, nor a dormant spell
            dormant = (self.dormant_from <= m) & (m < self.dormant_to)
            active = (days > 0) & ~dormant
            frac = days / working_days(np.int64(first), np.int64(end))

            mp, mc = self._mandatory(m, first, end, active, rng)
            rp, rc = self.retry
            back = active[rp]
            vp, vc = self._voluntary(m, first, frac, active, rng)
            person = np.concatenate([mp, rp[back], vp])
            content = np.concatenate([mc, rc[back], vc])
            mandatory = np.arange(len(person)) < len(mp)
            _, once = np.unique(self._key(person, content), return_index=True)
            once.sort()  # one attempt per person and item a month, assignments first
            person, content, mandatory = person[once], content[once], mandatory[once]

            a, gap, held = self._attempts(m, person, content, mandatory, lo, hi, rng, ids)
            completion_ms = a.completion_ms()
            factor = np.where(a.assessed & ~a.passed, model.fail_gain_factor, 1.0)
            gain = model.gains(
                held, c.taught_level[content], c.taught_weight[content], c.duration[content], factor
            )
            gain *= a.completed[:, None]
            statements = Statements.concat(
                [attempt_statements(a), self._extras(a, completion_ms, lo, hi, active, frac, rng)]
            )
            statements = finalise(cut(statements, self.cutoff_day * DAY_MS), ids)
            growth = np.zeros(len(p))
            np.add.at(growth, person, gain.sum(axis=1))
            log.info(
                "month %d/%d: %d attempts (%d completed), %d statements",
                m + 1,
                cfg.months,
                len(a),
                a.completed.sum(),
                len(statements),
            )
            yield Month(
                index=m,
                first_day=first,
                end_day=end,
                lo=lo,
                hi=hi,
                active=active,
                attempts=a,
                gap=gap,
                completion_ms=completion_ms,
                primary_after=np.minimum(held[:, 0] + gain[:, 0], 5.0),
                growth=growth,
                completions=np.bincount(person[a.completed], minlength=len(p)),
                statements=statements,
                skills=p.skills,
            )
            self._grow(a, gain, active)
            self._carry_over(a, rng)
