"""What ingestion tolerates (``[ingest]`` of the configuration): how long a record may
be, when an event can have happened, how much of a snapshot may disappear at once.

Plausible time: not before ``ingest.earliest_event_date`` and not later than
``ingest.future_tolerance_hours`` after the file was delivered. One statement dated
9999-12-31 used to become the marts' "today": new hires, tenure and the KPI months all
moved with it. Such a row is not a few bad values but a wrong clock (an LMS's default
date, a typo in the year), so it is quarantined as ``implausible_time`` and the rest of
the file loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from skillpath.config import IngestConfig
from skillpath.ingest.sql import lit, problem


@dataclass(frozen=True)
class IngestLimits:
    max_record_bytes: int
    max_json_depth: int
    earliest_event_date: date
    future_tolerance: timedelta
    max_absent_share: float  # of a snapshot's current keys; above it the file is held

    @classmethod
    def from_config(cls, config: IngestConfig) -> IngestLimits:
        return cls(
            max_record_bytes=config.max_record_bytes,
            max_json_depth=config.max_json_depth,
            earliest_event_date=config.earliest_event_date,
            future_tolerance=timedelta(hours=config.future_tolerance_hours),
            max_absent_share=config.snapshot_max_absent_share,
        )

    def window(self, delivered_at: datetime) -> TimeWindow:
        return TimeWindow(self.earliest_event_date, delivered_at, self.future_tolerance)


@dataclass(frozen=True)
class TimeWindow:
    earliest: date
    delivered_at: datetime  # naive UTC
    tolerance: timedelta

    @property
    def latest(self) -> datetime:
        return self.delivered_at + self.tolerance

    def condition(self, t: str) -> str:
        """SQL: the timestamp (or date) expression ``t`` lies outside the window."""
        return (
            f"(({t})::timestamp < {lit(self.earliest.isoformat())}::timestamp "
            f"or ({t})::timestamp > {lit(self.latest.isoformat(sep=' '))}::timestamp)"
        )

    def message(self, t: str, what: str) -> str:
        """SQL text of the reason (``what`` names the value, e.g. 'column changed_at'); the
        typed time is quoted, nothing else of the row."""
        hours = self.tolerance.total_seconds() / 3600
        rest = (
            f" is before {self.earliest.isoformat()} (ingest.earliest_event_date) or more "
            f"than {hours:g} h after the file was delivered "
            f"({self.delivered_at:%Y-%m-%d %H:%M} UTC); fix the clock or the date of that "
            "row in the source system"
        )
        return (
            f"{lit(what + ': ')} || strftime(({t})::timestamp, '%Y-%m-%d %H:%M:%S') || {lit(rest)}"
        )

    def problem(self, t: str, what: str) -> str:
        return problem(self.condition(t), "implausible_time", self.message(t, what))
