"""``skillpath sample``: the whole sample organisation, written as landing files plus its
ground truth.

Order matters for reproducibility only through the named random streams of
``SampleConfig.rng``; memory stays bounded because the history is written month by
month as it is simulated.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from skillpath.sample import tables
from skillpath.sample.choice import ADVANCED_LEVEL, STEERED
from skillpath.sample.config import SampleConfig
from skillpath.sample.defects import Defects
from skillpath.sample.files import CsvFile, FileStat, write_csv
from skillpath.sample.model import BehaviourModel
from skillpath.sample.organisation import Organisation, build_organisation
from skillpath.sample.regimes import DEFAULT
from skillpath.sample.simulate import Simulation
from skillpath.sample.surveys import ASSESSMENT_COLUMNS, FEEDBACK_COLUMNS, PULSE_COLUMNS, Surveys
from skillpath.sample.truth import write_truth
from skillpath.sample.xapi import STATEMENTS_DIR, Renderer, StatementFiles

log = logging.getLogger(__name__)

CREDIT = (
    "O*NET 29.2 Database by the U.S. Department of Labor, Employment and Training "
    "Administration (USDOL/ETA), used under CC BY 4.0"
)
# files this generator owns: removed before writing so a smaller run leaves no stale months
OWN_STATEMENT_GLOBS = ("lrs-export-*.jsonl", "events-platform-export.json")
SURVEY_FILES = {
    "surveys/pulse.csv": PULSE_COLUMNS,
    "surveys/course_feedback.csv": FEEDBACK_COLUMNS,
    "surveys/skill_assessments.csv": ASSESSMENT_COLUMNS,
}
TAXONOMY_FILES = (
    "skills/skills.csv",
    "hr/role_skill_requirements.csv",
    "lms/content_skills.csv",
    "lms/prerequisites.csv",
)


@dataclass
class Summary:
    config: SampleConfig
    landing_dir: Path
    truth_dir: Path
    files: list[FileStat] = field(default_factory=list)
    truth_files: list[Path] = field(default_factory=list)
    defects: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def render(self) -> str:
        cfg = self.config
        lines = [
            f"sample organisation: {cfg.employees:,} employees, {cfg.months} months "
            f"to {cfg.end_date}, seed {cfg.seed}"
            + (f", regime {cfg.regime}" if cfg.regime != DEFAULT else "")
            + (
                f", bias injected ({', '.join(cfg.inject_bias)}, strength {cfg.bias_strength})"
                if cfg.inject_bias
                else ""
            )
            + (", defects injected" if cfg.inject_defects else ""),
            f"landing files in {self.landing_dir}:",
        ]
        statements = [f for f in self.files if f.path.startswith(str(STATEMENTS_DIR))]
        others = [f for f in self.files if f not in statements]
        for f in others:
            lines.append(f"  {f.path:<42} {f.rows:>10,} rows {f.bytes / 2**20:>9.1f} MiB")
        lines.append(
            f"  {str(STATEMENTS_DIR) + '/ (' + str(len(statements)) + ' files)':<42} "
            f"{sum(f.rows for f in statements):>10,} stmts"
            f"{sum(f.bytes for f in statements) / 2**20:>9.1f} MiB"
        )
        if self.defects:
            lines.append(
                f"injected defects: {sum(d['count'] for d in self.defects):,} "
                f"(listed in {self.truth_dir / 'truth.json'})"
            )
        lines.append(f"ground truth (never ingested) in {self.truth_dir}")
        lines.append(f"done in {self.seconds:.1f} s")
        return "\n".join(lines)


def _check_dirs(landing_dir: Path, truth_dir: Path) -> None:
    landing, truth = landing_dir.resolve(), truth_dir.resolve()
    if truth == landing or landing in truth.parents:
        raise ValueError(
            f"the truth directory {truth} is inside the landing directory {landing}: it "
            "would be ingested. Choose a --truth-dir outside it (the default is next to it)."
        )


def withheld(config: SampleConfig) -> tuple[str, ...]:
    """Files the regime does not export (an organisation without them)."""
    knobs = config.knobs
    return (TAXONOMY_FILES if not knobs.taxonomy else ()) + (
        tuple(SURVEY_FILES) if not knobs.surveys else ()
    )


def _clear_own_files(landing_dir: Path, config: SampleConfig) -> None:
    for relative in withheld(config):  # left by an earlier run, they would be ingested
        (landing_dir / relative).unlink(missing_ok=True)
    statements = landing_dir / STATEMENTS_DIR
    for pattern in OWN_STATEMENT_GLOBS:
        for path in sorted(statements.glob(pattern)):
            path.unlink()
    strangers = sorted(p.name for p in statements.glob("*") if p.is_file())
    if strangers:
        log.warning(
            "%s also holds files this generator did not write (they will be ingested too): %s",
            statements,
            ", ".join(strangers[:5]),
        )


def _write_organisation(landing_dir: Path, org: Organisation, defects: Defects) -> list[FileStat]:
    tax, people, catalog = org.tax, org.people, org.catalog
    frames = {
        "hr/employees.csv": tables.employees(people, tax),
        "hr/sensitive_attributes.csv": tables.sensitive_attributes(people),
        "hr/roles.csv": tables.roles(tax),
        "hr/role_skill_requirements.csv": tables.role_skill_requirements(tax),
        "hr/personalisation_consent.csv": tables.consent(people),
        "skills/skills.csv": tables.skills(tax),
        "lms/catalog.csv": tables.catalog(catalog, org.config.months),
        "lms/content_skills.csv": tables.content_skills(catalog, tax),
        "lms/prerequisites.csv": tables.prerequisites(catalog),
    }
    return [
        write_csv(landing_dir, rel, defects.csv(rel, frame), excel=defects.excel(rel))
        for rel, frame in frames.items()
        if rel not in withheld(org.config)
    ]


def _write_history(
    landing_dir: Path,
    config: SampleConfig,
    sim: Simulation,
    surveys: Surveys,
    renderer: Renderer,
    defects: Defects,
) -> list[FileStat]:
    """Simulate month by month, writing each month's statements and survey rows as
    they are produced (bounded memory)."""
    statements = StatementFiles(landing_dir, renderer, config.month_starts(), defects)
    out = {
        rel: CsvFile(landing_dir, rel, columns, excel=defects.excel(rel))
        for rel, columns in SURVEY_FILES.items()
        if rel not in withheld(config)
    }

    def write(relative: str, frame) -> None:
        if relative in out:
            out[relative].write(defects.csv(relative, frame))

    for month in sim.months():
        statements.add(month.index, month.statements)
        rng = config.rng(f"surveys-{month.index}")
        write("surveys/pulse.csv", surveys.pulse(month, rng))
        write("surveys/course_feedback.csv", surveys.feedback(month, rng))
        for frame in surveys.assessments(month, rng):
            write("surveys/skill_assessments.csv", frame)
    return [f.close() for f in out.values()] + statements.close()


def _truth_meta(config: SampleConfig, model: BehaviourModel, defects: list[dict]) -> dict:
    return {
        "config": {
            "employees": config.employees,
            "seed": config.seed,
            "months": config.months,
            "inject_bias": list(config.inject_bias),
            "bias_strength": config.bias_strength,
            "inject_defects": config.inject_defects,
            "regime": config.knobs.as_dict(),
            "start_date": str(config.start_date),
            "end_date": str(config.end_date),
        },
        "behaviour_model": model.as_dict(),
        "bias": {
            "steered_groups": [STEERED[a] for a in config.inject_bias],
            "steered_away_from": f"content at level >= {ADVANCED_LEVEL} or teaching leadership",
            "probability": config.bias_strength if config.inject_bias else 0.0,
        },
        "defects": defects,
        "credit": CREDIT,
    }


def generate(config: SampleConfig, landing_dir: Path, truth_dir: Path) -> Summary:
    started = time.perf_counter()
    landing_dir, truth_dir = Path(landing_dir), Path(truth_dir)
    _check_dirs(landing_dir, truth_dir)
    _clear_own_files(landing_dir, config)
    defects = Defects(config.rng("defects"), enabled=config.inject_defects)
    org = build_organisation(config)
    model = BehaviourModel()
    log.info(
        "organisation: %d employees, %d roles, %d skills, %d content items",
        len(org.people),
        len(org.tax.roles),
        org.tax.n_skills,
        len(org.catalog),
    )
    summary = Summary(config, landing_dir, truth_dir)
    summary.files = _write_organisation(landing_dir, org, defects)

    skills_start = org.people.skills.copy()
    sim = Simulation(org, model)
    surveys = Surveys(org, sim.chooser, sim.cutoff_day)
    summary.files += _write_history(landing_dir, config, sim, surveys, Renderer(org), defects)

    summary.defects = defects.manifest()
    assessment_ids, assessment_levels = surveys.assessment_truth()
    summary.truth_files = write_truth(
        truth_dir,
        org,
        meta=_truth_meta(config, model, summary.defects),
        skills_start=skills_start,
        steered=sim.chooser.steered & bool(config.inject_bias),
        assessment_ids=assessment_ids,
        assessment_levels=assessment_levels,
    )
    summary.seconds = time.perf_counter() - started
    log.info("sample organisation written in %.1f s", summary.seconds)
    return summary
