"""The ground truth behind a sample organisation, for evaluation only.

``generate`` writes it next to (never inside) the landing directory; the pipeline never
reads it. Benchmarks and tests load it to ask what would really happen if a person took
a content item — the same behaviour model the history was drawn from, applied to the
person's true skills at the end of the history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from skillpath.sample.model import FORMATS, MAX_TAUGHT, BehaviourModel
from skillpath.sample.organisation import Organisation

PERSONS = "persons.parquet"
SKILLS_START = "skills_start.parquet"
SKILLS_END = "skills_end.parquet"
CONTENT = "content.parquet"
ASSESSMENTS = "assessments.parquet"
META = "truth.json"
README = """# Ground truth of a sample organisation

Written by `skillpath sample`; never ingested. Load it with
`skillpath.sample.truth.load_truth(<this directory>)`.

- `persons.parquet`: employee_id and each person's latent traits — engagement
  propensity, format preferences (`pref_<format>`, logit scale), preferred hour,
  self-rating bias, baseline engagement, share of gap-driven picks, and whether the
  injected bias steered them (`steered`).
- `skills_start.parquet`, `skills_end.parquet`: true skill levels (0–5, continuous; a
  level L is held when the value is >= L) per employee_id and skill_id, at the start and
  at the end of the history.
- `content.parquet`: latent quality, mandatory campaign, availability and the taught
  skills of every catalogue item (up to three, weight 1 primary, 0.5 secondary).
- `assessments.parquet`: the true level behind every skill assessment at its time.
- `truth.json`: the configuration, the behaviour model's parameters, the injected bias
  and the list of injected defects (file, kind, count).
"""


def _write(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path, compression="zstd")


def _skills_table(employee_ids: np.ndarray, skill_ids: np.ndarray, skills: np.ndarray) -> pa.Table:
    columns = {"employee_id": pa.array(employee_ids.astype(str))}
    columns.update({sid: pa.array(skills[:, j]) for j, sid in enumerate(skill_ids)})
    return pa.table(columns)


def write_truth(
    truth_dir: Path,
    org: Organisation,
    *,
    meta: dict,
    skills_start: np.ndarray,
    steered: np.ndarray,
    assessment_ids: np.ndarray,
    assessment_levels: np.ndarray,
) -> list[Path]:
    truth_dir.mkdir(parents=True, exist_ok=True)
    tax, p, c = org.tax, org.people, org.catalog
    persons = {
        "employee_id": p.employee_id.astype(str),
        "job_code": tax.roles["job_code"].to_numpy()[p.role].astype(str),
        "opted_out": p.opted_out,
        "steered": steered,
        "propensity": p.propensity,
        "preferred_hour": p.preferred_hour,
        "self_bias": p.self_bias,
        "engagement": p.engagement,
        "self_direction": p.self_direction,
    }
    persons.update({f"pref_{f}": p.format_pref[:, i] for i, f in enumerate(FORMATS)})
    skill_ids = tax.skills["skill_id"].to_numpy().astype(str)
    content = {
        "content_id": c.content_id.astype(str),
        "format": np.asarray(FORMATS)[c.format],
        "level": c.level,
        "duration_minutes": c.duration,
        "quality": c.quality,
        "campaign_month": c.campaign_month,
        "available_from_month": c.available_from,
        "retired_at_month": c.retired_at,
    }
    for k in range(MAX_TAUGHT):
        taught = c.taught_skill[:, k]
        content[f"skill_{k + 1}"] = np.where(taught >= 0, skill_ids[np.maximum(taught, 0)], "")
        content[f"level_{k + 1}"] = c.taught_level[:, k]
        content[f"weight_{k + 1}"] = c.taught_weight[:, k]
    files = {
        PERSONS: pa.table(persons),
        SKILLS_START: _skills_table(p.employee_id, skill_ids, skills_start),
        SKILLS_END: _skills_table(p.employee_id, skill_ids, p.skills),
        CONTENT: pa.table(content),
        ASSESSMENTS: pa.table(
            {"assessment_id": assessment_ids.astype(str), "true_level": assessment_levels}
        ),
    }
    for name, table in files.items():
        _write(table, truth_dir / name)
    (truth_dir / META).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    (truth_dir / "README.md").write_text(README)
    return [truth_dir / name for name in [*files, META, "README.md"]]


@dataclass(frozen=True)
class Truth:
    persons: pd.DataFrame  # indexed by employee_id
    content: pd.DataFrame  # indexed by content_id
    skill_ids: np.ndarray
    skills_start: np.ndarray  # persons × skills, rows in persons' order
    skills_end: np.ndarray
    assessments: pd.DataFrame  # indexed by assessment_id: true_level
    meta: dict
    model: BehaviourModel

    def _index(self, index: pd.Index, ids, what: str) -> np.ndarray:
        pos = index.get_indexer(pd.Index(np.asarray(ids)))
        if (pos < 0).any():
            missing = np.asarray(ids)[pos < 0][:5].tolist()
            raise KeyError(
                f"{what} not in this truth (first: {missing}); were they generated "
                "with the same seed and size?"
            )
        return pos

    def _taught(self, content_pos: np.ndarray):
        c = self.content
        skill_pos = pd.Index(self.skill_ids)
        skill = np.stack(
            [
                skill_pos.get_indexer(c[f"skill_{k + 1}"].to_numpy()[content_pos])
                for k in range(MAX_TAUGHT)
            ],
            axis=1,
        )
        level = np.stack(
            [c[f"level_{k + 1}"].to_numpy()[content_pos] for k in range(MAX_TAUGHT)], axis=1
        )
        weight = np.stack(
            [c[f"weight_{k + 1}"].to_numpy()[content_pos] for k in range(MAX_TAUGHT)], axis=1
        )
        return skill, level, weight

    def _held(self, person_pos, skill) -> np.ndarray:
        return np.where(skill >= 0, self.skills_end[person_pos[:, None], np.maximum(skill, 0)], 0.0)

    def expected_outcome(self, employee_ids, content_ids) -> pd.DataFrame:
        """For each (employee, content) pair, if the person started the content now:
        p_complete, p_pass (NaN for formats without a test) and expected_gain — the
        skill levels they would gain in expectation, summed over the taught skills."""
        person = self._index(self.persons.index, employee_ids, "employee_id")
        content = self._index(self.content.index, content_ids, "content_id")
        skill, level, weight = self._taught(content)
        fmt = pd.Index(FORMATS).get_indexer(self.content["format"].to_numpy()[content])
        prefs = self.persons[[f"pref_{f}" for f in FORMATS]].to_numpy()
        p_complete, p_pass, gain = self.model.expected(
            held=self._held(person, skill),
            taught=level.astype(float),
            weight=weight,
            format_idx=fmt,
            format_pref=prefs[person, fmt],
            propensity=self.persons["propensity"].to_numpy()[person],
            quality=self.content["quality"].to_numpy()[content],
            duration=self.content["duration_minutes"].to_numpy()[content].astype(float),
        )
        return pd.DataFrame({"p_complete": p_complete, "p_pass": p_pass, "expected_gain": gain})

    def mastered(self, employee_ids, content_ids) -> np.ndarray:
        """Whether the person already holds every skill the content teaches at (or
        above) the level it teaches, at the end of the history."""
        person = self._index(self.persons.index, employee_ids, "employee_id")
        content = self._index(self.content.index, content_ids, "content_id")
        skill, level, _ = self._taught(content)
        held = self._held(person, skill)
        ok = (held >= level) | (skill < 0)
        return ok.all(axis=1) & (skill >= 0).any(axis=1)


def _read_skills(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    table = pq.read_table(path)
    names = table.column_names[1:]
    values = np.column_stack([table.column(n).to_numpy() for n in names]).astype(np.float32)
    return table.column("employee_id").to_numpy(zero_copy_only=False), np.asarray(names), values


def load_truth(truth_dir: Path) -> Truth:
    truth_dir = Path(truth_dir)
    if not (truth_dir / META).exists():
        raise FileNotFoundError(
            f"no sample truth in {truth_dir}: run `skillpath sample --truth-dir {truth_dir}` first"
        )
    meta = json.loads((truth_dir / META).read_text())
    persons = pq.read_table(truth_dir / PERSONS).to_pandas().set_index("employee_id")
    ids_start, skill_ids, start = _read_skills(truth_dir / SKILLS_START)
    ids_end, _, end = _read_skills(truth_dir / SKILLS_END)
    content = pq.read_table(truth_dir / CONTENT).to_pandas().set_index("content_id")
    if not (np.array_equal(ids_start, persons.index) and np.array_equal(ids_end, persons.index)):
        raise ValueError(f"{truth_dir}: skill tables do not match persons.parquet")
    if not (persons.index.is_unique and content.index.is_unique):
        raise ValueError(f"{truth_dir}: employee or content ids repeat; regenerate the sample")
    return Truth(
        persons=persons,
        content=content,
        skill_ids=skill_ids,
        skills_start=start,
        skills_end=end,
        assessments=pq.read_table(truth_dir / ASSESSMENTS).to_pandas().set_index("assessment_id"),
        meta=meta,
        model=BehaviourModel(**meta["behaviour_model"]),
    )
