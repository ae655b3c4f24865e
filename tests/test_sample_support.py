"""Shared helpers for the sample generator's tests: generate a small organisation and
read back what it wrote, the way a consumer of the landing files would."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from skillpath.sample import SampleConfig, generate
from skillpath.sample.generate import Summary
from skillpath.sample.truth import Truth, load_truth

ADL = "http://adlnet.gov/expapi/verbs/"


@dataclass
class Org:
    root: Path
    summary: Summary

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def truth_dir(self) -> Path:
        return self.root / "truth"

    def csv(self, relative: str) -> pd.DataFrame:
        return pd.read_csv(self.landing / relative, dtype=str, keep_default_na=False)

    def truth(self) -> Truth:
        return load_truth(self.truth_dir)

    def statement_files(self) -> list[Path]:
        return sorted((self.landing / "lms" / "statements").iterdir())

    def raw_statements(self) -> list[tuple[str, int, str]]:
        """(file name, line or array position, JSON text) of every statement."""
        out = []
        for path in self.statement_files():
            if path.suffix == ".jsonl":
                lines = path.read_text(encoding="utf-8").splitlines()
                out += [(path.name, i, line) for i, line in enumerate(lines, 1)]
            else:
                items = json.loads(path.read_text(encoding="utf-8"))
                out += [(path.name, i, json.dumps(s)) for i, s in enumerate(items)]
        return out

    def statements(self) -> list[dict]:
        return [json.loads(text) for _, _, text in self.raw_statements()]

    def events(self) -> pd.DataFrame:
        """One row per statement that was not voided: employee, verb name, object id,
        registration, time, result."""
        employees = self.csv("hr/employees.csv")
        by_mail = dict(zip("mailto:" + employees["email"], employees["employee_id"], strict=True))
        statements = self.statements()
        voided = {s["object"]["id"] for s in statements if s["verb"]["id"] == ADL + "voided"}
        rows = []
        for s in statements:
            if s["id"] in voided:
                continue
            actor = s["actor"]
            employee = actor["account"]["name"] if "account" in actor else by_mail[actor["mbox"]]
            rows.append(
                (
                    employee,
                    s["verb"]["id"].rsplit("/", 1)[-1],
                    s["object"]["id"],
                    (s.get("context") or {}).get("registration"),
                    s["timestamp"],
                    s.get("result", {}),
                )
            )
        frame = pd.DataFrame(
            rows, columns=["employee_id", "verb", "object_id", "registration", "ts", "result"]
        )
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True, format="ISO8601")
        return frame

    def attempts(self) -> pd.DataFrame:
        """One row per registration on catalogue content: who, what, when, outcome."""
        ev = self.events()
        ev = ev[ev["registration"].notna()]
        verbs = ev.groupby("registration")["verb"].agg(set)
        out = ev.groupby("registration").agg(
            employee_id=("employee_id", "first"),
            content_id=("object_id", "first"),
            started=("ts", "min"),
        )
        out["completed"] = verbs.map(lambda v: "completed" in v)
        out["passed"] = verbs.map(lambda v: "passed" in v)
        out["failed"] = verbs.map(lambda v: "failed" in v)
        return out


def make_org(root: Path, **config) -> Org:
    summary = generate(
        SampleConfig(**config), landing_dir=root / "landing", truth_dir=root / "truth"
    )
    return Org(root, summary)
