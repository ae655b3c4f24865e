"""When things happen: attempts become the timed events an LMS records.

A short item is done in one sitting; a long course is spread over a few working days
at the person's usual hour. Each sitting is launched and terminated; progress is
reported at quarter milestones; completion and the test result come at the end.
Nothing is recorded after a person's cutoff (leave date or end of the window), so an
attempt under way at that moment simply stops.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from skillpath.sample.model import FORMATS

DAY_MS = 86_400_000
VERBS = (
    "launched",
    "progressed",
    "completed",
    "passed",
    "failed",
    "terminated",
    "commented",
    "answered",
    "earned",
    "voided",
)
V = {name: i for i, name in enumerate(VERBS)}
MILESTONES = (0.25, 0.5, 0.75)
SESSION_SECONDS = 2700  # a sitting of long content lasts about 45 minutes
BINGE_DAY_MS = 10 * 3_600_000  # a binge day: at most ten hours of learning ...
BINGE_START_MS = 10 * 3_600_000  # ... begun by ten in the morning
WORKSHOP = FORMATS.index("workshop")
LRS, EVENTS_PLATFORM = 0, 1  # where a statement was recorded (see xapi.py)
# activities outside the catalogue, by index: forum threads, quizzes, then one badge
# per skill and level (BADGE_BASE + skill * 5 + level - 1)
FORUM_THREADS, QUIZZES = 400, 200
BADGE_BASE = FORUM_THREADS + QUIZZES


@dataclass
class Statements:
    """Statements as columns; -1 marks an absent value."""

    person: np.ndarray  # int32
    content: np.ndarray  # int32, catalogue index or -1
    other: np.ndarray  # int32, index of a non-catalogue activity or -1
    verb: np.ndarray  # int8, index into VERBS
    ts: np.ndarray  # int64 epoch ms
    stored: np.ndarray  # int64 epoch ms
    progress: np.ndarray  # int16 percent
    raw: np.ndarray  # int16 score out of 100
    success: np.ndarray  # int8 0/1
    duration: np.ndarray  # int32 seconds
    reg_hi: np.ndarray  # uint64 registration (0 = none)
    reg_lo: np.ndarray
    id_hi: np.ndarray  # uint64 statement id
    id_lo: np.ndarray
    ref_hi: np.ndarray  # uint64 voided statement id (0 = none)
    ref_lo: np.ndarray
    channel: np.ndarray  # int8 LRS or EVENTS_PLATFORM

    def __len__(self) -> int:
        return len(self.ts)

    def take(self, index: np.ndarray) -> Statements:
        return Statements(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @staticmethod
    def concat(parts: list[Statements]) -> Statements:
        return Statements(
            **{
                f.name: np.concatenate([getattr(p, f.name) for p in parts])
                for f in fields(Statements)
            }
        )

    @staticmethod
    def make(n: int, **columns) -> Statements:
        defaults = {
            "content": (-1, np.int32),
            "other": (-1, np.int32),
            "progress": (-1, np.int16),
            "raw": (-1, np.int16),
            "success": (-1, np.int8),
            "duration": (-1, np.int32),
            "reg_hi": (0, np.uint64),
            "reg_lo": (0, np.uint64),
            "id_hi": (0, np.uint64),
            "id_lo": (0, np.uint64),
            "ref_hi": (0, np.uint64),
            "ref_lo": (0, np.uint64),
            "channel": (LRS, np.int8),
            "stored": (0, np.int64),
        }
        values = {}
        for f in fields(Statements):
            if f.name in columns:
                values[f.name] = np.asarray(columns[f.name])
            else:
                fill, dtype = defaults[f.name]
                values[f.name] = np.full(n, fill, dtype=dtype)
        return Statements(**values)


def _days(day: np.ndarray) -> np.ndarray:
    return np.asarray(day, dtype=np.int64).astype("datetime64[D]")


def working_days(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Working days (Monday to Friday) in [lo, hi), days as ints since the epoch."""
    return np.busday_count(_days(lo), _days(np.maximum(hi, lo)))


def working_day(lo: np.ndarray, hi: np.ndarray, u: np.ndarray) -> np.ndarray:
    """A uniformly drawn working day in [lo, hi); callers make sure there is one."""
    k = np.floor(u * np.maximum(working_days(lo, hi), 1)).astype(np.int64)
    return add_working_days(lo, k)


def next_working_day(day: np.ndarray) -> np.ndarray:
    """The day itself, or the Monday after when it falls on a weekend."""
    return add_working_days(day, 0)


def add_working_days(day: np.ndarray, n) -> np.ndarray:
    """``n`` working days after ``day`` (from the next working day if it is a weekend)."""
    return np.busday_offset(_days(day), n, roll="forward").astype(np.int64)


def time_of_day_ms(preferred_hour: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Around the person's usual hour, within office hours."""
    n = len(preferred_hour)
    hour = np.clip(preferred_hour + rng.normal(0.0, 1.0, n), 7.0, 18.5)
    return (hour * 3_600_000 + rng.uniform(0, 600_000, n)).astype(np.int64)


def new_ids(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Random 128-bit ids as (high, low) 64-bit halves (see ``uuid_strings``)."""
    hi = rng.integers(0, np.iinfo(np.uint64).max, n, dtype=np.uint64, endpoint=True)
    lo = rng.integers(0, np.iinfo(np.uint64).max, n, dtype=np.uint64, endpoint=True)
    # 0 means "no id" in the columns above
    return np.maximum(hi, 1), lo


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def uuid_strings(hi: np.ndarray, lo: np.ndarray) -> list[str]:
    """Random 128-bit values as version-4 UUID strings, vectorised."""
    n = len(hi)
    b = np.empty((n, 16), dtype=np.uint8)
    b[:, :8] = hi.astype(">u8").view(np.uint8).reshape(n, 8)
    b[:, 8:] = lo.astype(">u8").view(np.uint8).reshape(n, 8)
    b[:, 6] = (b[:, 6] & 0x0F) | 0x40
    b[:, 8] = (b[:, 8] & 0x3F) | 0x80
    nibbles = np.empty((n, 32), dtype=np.uint8)
    nibbles[:, 0::2] = _HEX[b >> 4]
    nibbles[:, 1::2] = _HEX[b & 0x0F]
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    dst = 0
    for src, width in ((0, 8), (8, 4), (12, 4), (16, 4), (20, 12)):  # 8-4-4-4-12
        out[:, dst : dst + width] = nibbles[:, src : src + width]
        dst += width + 1
    return out.view("S36").ravel().astype("U36").tolist()


@dataclass
class Attempts:
    person: np.ndarray
    content: np.ndarray
    fmt: np.ndarray
    mandatory: np.ndarray
    start_day: np.ndarray  # int days since the epoch
    start_tod: np.ndarray  # ms since midnight
    gap_days: np.ndarray  # working days between sittings
    full_seconds: np.ndarray  # time the whole item takes this person
    progress: np.ndarray  # share reached, 1.0 when completed
    completed: np.ndarray  # reached the end before the person's cutoff
    assessed: np.ndarray
    raw: np.ndarray  # test score, -1 when not assessed or not completed
    passed: np.ndarray
    reg_hi: np.ndarray
    reg_lo: np.ndarray

    def __len__(self) -> int:
        return len(self.person)

    def sessions(self) -> np.ndarray:
        long = (self.fmt != WORKSHOP) & (self.full_seconds > 3600)
        n = np.clip(np.ceil(self.full_seconds / SESSION_SECONDS), 1, 4).astype(np.int64)
        return np.where(long, n, 1)

    def at_work(self, work: np.ndarray, rows: np.ndarray, sitting=None) -> np.ndarray:
        """Epoch ms at which a person, ``work`` seconds into the item, is at it (in the
        given sitting, or the one that work falls in)."""
        n_sess = self.sessions()[rows]
        length = self.full_seconds[rows] / n_sess
        if sitting is None:
            sitting = np.minimum(np.floor(work / length), n_sess - 1).astype(np.int64)
        day = add_working_days(self.start_day[rows], sitting * self.gap_days[rows])
        into = np.maximum(work - sitting * length, 0.0)
        return day * DAY_MS + self.start_tod[rows] + (into * 1000).astype(np.int64)

    def completion_ms(self) -> np.ndarray:
        rows = np.arange(len(self))
        return self.at_work(self.full_seconds, rows)


def back_to_back(a: Attempts, rows: np.ndarray, day: np.ndarray, rng: np.random.Generator) -> None:
    """A binge: the attempts ``rows`` start on their person's binge ``day`` (per person),
    one after another from the morning with short breaks; what does not fit into ten
    hours goes on the next working day."""
    rows = rows[np.argsort(a.person[rows], kind="stable")]
    if not len(rows):
        return
    person = a.person[rows]
    first = np.r_[True, person[1:] != person[:-1]]
    leader = np.maximum.accumulate(np.where(first, np.arange(len(rows)), 0))
    sitting = a.full_seconds[rows] / a.sessions()[rows]
    busy = (sitting + rng.uniform(60, 600, len(rows))) * 1000  # ms, with the break after it
    begin = np.cumsum(busy) - busy
    days, into = np.divmod((begin - begin[leader]).astype(np.int64), BINGE_DAY_MS)
    morning = np.minimum(a.start_tod[rows][leader], BINGE_START_MS)
    a.start_day[rows] = add_working_days(day[person], days)
    a.start_tod[rows] = morning + into


def _events(
    a: Attempts,
    rows: np.ndarray,
    verb: str,
    work: np.ndarray,
    *,
    sitting=None,
    delay_ms=0,
    **columns,
) -> Statements:
    """One statement per row of ``rows``, ``work`` seconds into the item."""
    n = len(rows)
    return Statements.make(
        n,
        person=a.person[rows].astype(np.int32),
        content=a.content[rows].astype(np.int32),
        verb=np.full(n, V[verb], dtype=np.int8),
        ts=a.at_work(work, rows, sitting) + delay_ms,
        reg_hi=a.reg_hi[rows],
        reg_lo=a.reg_lo[rows],
        channel=np.where(a.fmt[rows] == WORKSHOP, EVENTS_PLATFORM, LRS).astype(np.int8),
        **columns,
    )


def attempt_statements(a: Attempts) -> Statements:
    """Every statement the attempts produce, before cutoffs (see ``cut``)."""
    idx = np.arange(len(a))
    n_sess = a.sessions()
    length = a.full_seconds / n_sess
    done_work = a.progress * a.full_seconds
    used = np.clip(np.ceil(done_work / length - 1e-9), 1, n_sess).astype(np.int64)

    rows = np.repeat(idx, used)
    sitting = np.arange(len(rows)) - np.repeat(np.cumsum(used) - used, used)
    begin = sitting * length[rows] + 1e-3
    end = np.minimum(done_work[rows], (sitting + 1) * length[rows])
    parts = [
        _events(a, rows, "launched", begin, sitting=sitting),
        _events(
            a,
            rows,
            "terminated",
            end,
            sitting=sitting,
            delay_ms=np.where(a.completed[rows] & (sitting == used[rows] - 1), 6000, 2000),
            duration=np.rint(end - begin).astype(np.int32),
        ),
    ]
    with_milestones = (a.fmt != WORKSHOP) & (a.full_seconds >= 900)
    for m in MILESTONES:
        rows = idx[with_milestones & (a.progress > m)]
        parts.append(
            _events(
                a,
                rows,
                "progressed",
                m * a.full_seconds[rows],
                progress=np.full(len(rows), int(m * 100), dtype=np.int16),
            )
        )
    pct = np.rint(a.progress * 100).astype(np.int16)
    rows = idx[~a.completed & (pct > 0)]  # where they stopped
    parts.append(_events(a, rows, "progressed", done_work[rows], progress=pct[rows]))
    rows = idx[a.completed]
    parts.append(
        _events(
            a,
            rows,
            "completed",
            a.full_seconds[rows],
            delay_ms=1000,
            duration=np.rint(a.full_seconds[rows]).astype(np.int32),
            progress=np.full(len(rows), 100, dtype=np.int16),
        )
    )
    rows = idx[a.completed & a.assessed]
    result = _events(
        a,
        rows,
        "passed",
        a.full_seconds[rows],
        delay_ms=3000,
        raw=a.raw[rows],
        success=a.passed[rows].astype(np.int8),
        duration=np.rint(a.full_seconds[rows]).astype(np.int32),
    )
    result.verb[~a.passed[rows]] = V["failed"]
    parts.append(result)
    return Statements.concat(parts)


def cut(s: Statements, cutoff_ms: np.ndarray) -> Statements:
    """Drop what would be recorded on or after the person's cutoff."""
    return s.take(np.flatnonzero(s.ts < cutoff_ms[s.person]))


def finalise(s: Statements, rng: np.random.Generator) -> Statements:
    """Give statements ids and the time the LRS stored them: seconds later for
    the LMS, hours later for the events platform, which uploads in batches."""
    n = len(s)
    missing = s.id_hi == 0  # statements referred to by others already have theirs
    s.id_hi[missing], s.id_lo[missing] = new_ids(rng, int(missing.sum()))
    delay = np.where(
        s.channel == EVENTS_PLATFORM,
        rng.uniform(2 * 3_600_000, 30 * 3_600_000, n),
        rng.lognormal(np.log(1500.0), 1.0, n),
    )
    s.stored = s.ts + delay.astype(np.int64)
    return s
