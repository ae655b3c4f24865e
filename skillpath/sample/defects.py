"""Bad rows of the kinds real exports contain (``--inject-defects``).

Each defect is applied to a small share of rows and counted per file and kind; the
counts go into the truth directory (``truth.json``) and the summary, so a test of the
ingestion can check that every bad row was quarantined or counted as a duplicate — and
that no good row was.

JSON-level corruption (a truncated line) is only applied to JSON-lines files: in a
JSON array it would make the whole file unreadable, which is a different failure.
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pandas as pd

from skillpath.sample.timeline import new_ids, uuid_strings

# files written the way a spreadsheet saves them (UTF-8 BOM and CRLF line ends)
EXCEL_FILES = frozenset({"hr/employees.csv", "surveys/pulse.csv"})
STATEMENT_RATES = {
    "malformed_json": 0.0005,
    "duplicate_same": 0.002,
    "duplicate_conflicting": 0.0005,
    "unknown_actor": 0.001,
    "score_out_of_range": 0.005,  # of scored statements
    "no_time": 0.0005,
    "missing_actor": 0.0003,
    "missing_verb": 0.0003,
}
JSONL_ONLY = frozenset({"malformed_json"})
COPIES = frozenset({"duplicate_same", "duplicate_conflicting", "unknown_actor"})  # added lines
# (file, column) -> (kind, share of rows, bad value)
CSV_VALUES = {
    ("lms/content_skills.csv", "level_taught"): ("out_of_range", 0.005, 7),
    ("surveys/pulse.csv", "enps"): ("out_of_range", 0.003, 11),
    ("surveys/pulse.csv", "engagement"): ("out_of_range", 0.001, 0),
    ("surveys/course_feedback.csv", "rating"): ("out_of_range", 0.003, 6),
    ("surveys/skill_assessments.csv", "level"): ("out_of_range", 0.002, 0),
    ("surveys/skill_assessments.csv", "source"): ("invalid_value", 0.001, "self-assessment"),
}
UNKNOWN_EMPLOYEE_SHARE = {
    "surveys/pulse.csv": 0.002,
    "surveys/course_feedback.csv": 0.002,
    "surveys/skill_assessments.csv": 0.001,
}


def unknown_employee_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Ids in the HR format that HR has never issued (contractors, typos)."""
    return np.char.add("E0", rng.integers(10000, 99999, n).astype(str))


class Defects:
    """Injects defects when enabled; when not, every method hands its input back."""

    def __init__(self, rng: np.random.Generator, enabled: bool = True):
        self.rng, self.enabled = rng, enabled
        self.counts: Counter[tuple[str, str]] = Counter()

    def manifest(self) -> list[dict[str, object]]:
        return [
            {"file": file, "kind": kind, "count": count}
            for (file, kind), count in sorted(self.counts.items())
            if count
        ]

    def excel(self, relative: str) -> bool:
        if self.enabled and relative in EXCEL_FILES:
            self.counts[(relative, "bom_crlf")] = 1
            return True
        return False

    def _pick(self, candidates: np.ndarray, share: float, at_least: int = 0) -> np.ndarray:
        n = len(candidates)
        count = min(n, max(at_least, int(self.rng.binomial(n, share))))
        return np.sort(self.rng.choice(candidates, size=count, replace=False))

    def csv(self, relative: str, frame: pd.DataFrame) -> pd.DataFrame:
        """Out-of-range or invalid values in place, plus rows about unknown employees;
        one defect per row at most, so every count is a count of bad rows."""
        if not self.enabled or not len(frame):
            return frame
        frame = frame.copy()
        clean = np.ones(len(frame), dtype=bool)
        for (file, column), (kind, share, bad) in CSV_VALUES.items():
            if file == relative:
                rows = self._pick(np.flatnonzero(clean), share, at_least=1)
                frame[column] = frame[column].astype(object)
                frame.iloc[rows, frame.columns.get_loc(column)] = bad
                clean[rows] = False
                self.counts[(relative, kind)] += len(rows)
        share = UNKNOWN_EMPLOYEE_SHARE.get(relative)
        if share:
            rows = self._pick(np.flatnonzero(clean), share, at_least=1)
            extra = frame.iloc[rows].copy()
            extra["employee_id"] = unknown_employee_ids(self.rng, len(rows))
            id_column = frame.columns[0]
            extra[id_column] = [f"{v}-X" for v in extra[id_column]]
            frame = pd.concat([frame, extra], ignore_index=True)
            self.counts[(relative, "unknown_employee")] += len(rows)
        return frame

    def statements(self, relative: str, lines: list[str], jsonl: bool) -> list[str]:
        """Corrupt a chunk of rendered statements; returns the new list of lines. Each
        line gets one defect at most, and copies are made of untouched lines only."""
        n = len(lines)
        if not (self.enabled and n):
            return lines
        out = list(lines)
        extra: list[str] = []
        untouched = np.ones(n, dtype=bool)
        scored = np.asarray(['"scaled":' in line for line in lines])
        for kind, rate in STATEMENT_RATES.items():
            if kind in JSONL_ONLY and not jsonl:
                continue
            candidates = untouched & scored if kind == "score_out_of_range" else untouched
            chosen = self._pick(np.flatnonzero(candidates), rate, at_least=1 if jsonl else 0)
            untouched[chosen] = False
            for i in chosen.tolist():
                changed = self._corrupt(kind, lines[i])
                if kind in COPIES:
                    extra.append(changed)
                else:
                    out[i] = changed
            self.counts[(relative, kind)] += len(chosen)
        if extra:  # re-sent statements arrive later in the export
            positions = np.sort(self.rng.integers(0, n + 1, len(extra)))
            for offset, (pos, line) in enumerate(zip(positions.tolist(), extra, strict=True)):
                out.insert(pos + offset, line)
        return out

    def _corrupt(self, kind: str, line: str) -> str:
        if kind == "malformed_json":
            return line[: int(self.rng.integers(10, len(line) - 1))]
        if kind == "duplicate_same":
            return line
        statement = json.loads(line)
        if kind == "duplicate_conflicting":
            statement["verb"] = {
                "id": "http://adlnet.gov/expapi/verbs/experienced",
                "display": {"en-US": "experienced"},
            }
        elif kind == "unknown_actor":
            hi, lo = new_ids(self.rng, 1)
            statement["id"] = uuid_strings(hi, lo)[0]
            stranger = str(unknown_employee_ids(self.rng, 1)[0])
            if "account" in statement["actor"]:
                statement["actor"]["account"]["name"] = stranger
            else:
                statement["actor"] = {
                    "name": "External Trainer",
                    "mbox": f"mailto:{stranger.lower()}@partner.example.org",
                }
        elif kind == "score_out_of_range":
            statement["result"]["score"]["scaled"] = 1.5
        elif kind == "no_time":
            statement.pop("timestamp", None)
            statement.pop("stored", None)
        elif kind == "missing_actor":
            statement.pop("actor")
        elif kind == "missing_verb":
            statement.pop("verb")
        return json.dumps(statement, ensure_ascii=False, separators=(",", ":"))
