"""What each landing source looks like (docs/data-contract.md renders it): which files
are its deliveries, how they arrive (snapshot or events, docs/operations.md), which
columns it needs, how each value is typed and validated, and which columns form its
natural key. The loaders are generic; everything source-specific is here."""

from __future__ import annotations

import fnmatch
import posixpath
from dataclasses import dataclass, field
from typing import Literal

from skillpath.vocabulary import CONTENT_FORMATS

Kind = Literal["text", "int", "date", "timestamp", "bool", "enum", "person", "person_ref", "email"]
Group = Literal["ingest_hr", "ingest_lms", "ingest_surveys"]
_RAW_TYPE = {"int": "integer", "date": "date", "timestamp": "timestamp", "bool": "boolean"}
# snapshot: every delivery is the whole table, the latest is the truth; event: every
# delivery adds records (deduplicated by key)
Delivery = Literal["snapshot", "event"]
# what becomes of a key absent from the latest snapshot: ``leaver`` (its person leaves,
# status leaver), ``inactive`` (catalogue item, active = false), ``removed`` (a tombstone
# row that staging drops), ``kept`` (its last version stays)
Retire = Literal["leaver", "inactive", "removed", "kept"]

STATEMENT_SUFFIXES = (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz")


@dataclass(frozen=True)
class Column:
    """One landing column.

    ``kind`` says how it is typed: ``person`` is an employee id that becomes
    ``person_key`` (looked up in the employee directory, or hashed for the HR file
    itself), ``person_ref`` a reference to another employee (hashed, may be unknown),
    ``email`` is used for identity matching only and never stored.
    """

    name: str
    kind: Kind = "text"
    required: bool = True  # the header must have it
    nullable: bool = False  # an empty value is allowed
    low: int | None = None
    high: int | None = None
    accepted: tuple[str, ...] = ()
    target: str | None = None  # raw column name when it differs
    event_time: bool = False  # when the event happened: must be plausible (plausibility.py)

    @property
    def raw_type(self) -> str:
        """The DuckDB type of its raw column (``warehouse.RAW_TABLES`` must agree)."""
        return _RAW_TYPE.get(self.kind, "varchar")

    @property
    def raw_name(self) -> str | None:
        if self.kind == "email":
            return None
        if self.target:
            return self.target
        return {"person": "person_key", "person_ref": "manager_key"}.get(self.kind, self.name)


@dataclass(frozen=True)
class Source:
    table: str  # raw.<table>, also the Dagster asset key raw/<table>
    path: str  # relative to the landing directory; a directory for statements
    group: Group
    required: bool
    columns: tuple[Column, ...] = ()
    key: tuple[str, ...] = ()  # raw column names forming the natural key
    identifies_persons: bool = False  # hr/employees.csv: builds the employee directory
    needs: tuple[str, ...] = field(default=())  # tables that must be ingested first
    delivery: Delivery = "snapshot"
    retire: Retire = "removed"

    @property
    def is_statements(self) -> bool:
        return self.table == "lms_statements"

    @property
    def pattern(self) -> str:
        """The file names of this source's deliveries (shell wildcards), e.g.
        ``hr/employees*.csv``: exports named by date (``employees-2026-12.csv``) are
        deliveries of the same source."""
        if self.is_statements:
            return f"{self.path}/**/*.json, .jsonl, .ndjson (each also .gz)"
        stem, ext = posixpath.splitext(self.path)
        return f"{stem}*{ext}"

    def matches(self, relative: str) -> bool:
        """Whether the landing file ``relative`` (a posix path) is a delivery of this
        source; the file name is compared without regard to case."""
        name = relative.lower()
        if self.is_statements:
            return name.startswith(self.path + "/") and name.endswith(STATEMENT_SUFFIXES)
        folder, pattern = posixpath.split(self.path)
        stem, ext = posixpath.splitext(pattern)
        return posixpath.dirname(relative) == folder and fnmatch.fnmatchcase(
            posixpath.basename(name), f"{stem}*{ext}"
        )

    @property
    def ignored_columns(self) -> tuple[str, ...]:
        """Known columns that are deliberately never read (names)."""
        return ("first_name", "last_name") if self.identifies_persons else ()


def _level(name: str, nullable: bool = False) -> Column:
    return Column(name, "int", low=1, high=5, nullable=nullable)


_PERSON = Column("employee_id", "person")
_HR = ("hr_employees",)

SOURCES: tuple[Source, ...] = (
    Source(
        "hr_employees",
        "hr/employees.csv",
        "ingest_hr",
        required=True,
        retire="leaver",
        identifies_persons=True,
        key=("person_key",),
        columns=(
            _PERSON,
            Column("email", "email", required=False, nullable=True),
            Column("department"),
            Column("job_code"),
            Column("manager_id", "person_ref", required=False, nullable=True),
            Column("location", required=False, nullable=True),
            Column("hire_date", "date"),
            Column("employment_type", "enum", accepted=("full_time", "part_time")),
            Column("status", "enum", accepted=("active", "leaver")),
            Column("leave_date", "date", required=False, nullable=True),
        ),
    ),
    Source(
        "hr_sensitive_attributes",
        "hr/sensitive_attributes.csv",
        "ingest_hr",
        required=False,
        retire="kept",
        needs=_HR,
        key=("person_key",),
        columns=(
            _PERSON,
            Column("gender", nullable=True),
            Column("birth_year", "int", nullable=True, low=1900, high=2100),
            Column("disability", nullable=True),
        ),
    ),
    Source(
        "hr_roles",
        "hr/roles.csv",
        "ingest_hr",
        required=False,
        retire="kept",  # persons and requirements still name a role HR dropped
        key=("job_code",),
        columns=(
            Column("job_code"),
            Column("title"),
            Column("job_family", nullable=True),
            _level("level", nullable=True),
        ),
    ),
    Source(
        "hr_role_skill_requirements",
        "hr/role_skill_requirements.csv",
        "ingest_hr",
        required=False,
        key=("job_code", "skill_id"),
        columns=(
            Column("job_code"),
            Column("skill_id"),
            _level("required_level"),
            _level("importance", nullable=True),
        ),
    ),
    Source(
        "hr_personalisation_consent",
        "hr/personalisation_consent.csv",
        "ingest_hr",
        required=False,
        delivery="event",
        needs=_HR,
        key=("person_key", "changed_at"),
        columns=(
            _PERSON,
            Column("opted_out", "bool"),
            Column("changed_at", "timestamp", event_time=True),
        ),
    ),
    Source(
        "skills",
        "skills/skills.csv",
        "ingest_hr",
        required=False,
        retire="kept",  # content and assessments still name a skill
        key=("skill_id",),
        columns=(
            Column("skill_id"),
            Column("name"),
            Column("category", nullable=True),
            Column("parent_skill_id", nullable=True),
        ),
    ),
    Source(
        "lms_catalog",
        "lms/catalog.csv",
        "ingest_lms",
        required=True,
        retire="inactive",
        key=("content_id",),
        columns=(
            Column("content_id"),
            Column("title"),
            Column("format", "enum", accepted=CONTENT_FORMATS),
            Column("duration_minutes", "int", nullable=True, low=0, high=100_000),
            _level("level", nullable=True),
            Column("language", nullable=True),
            Column("provider", nullable=True),
            Column("active", "bool", required=False, nullable=True),
            # assigned by the organisation (compliance, onboarding); absent column = false
            Column("mandatory", "bool", required=False, nullable=True),
        ),
    ),
    Source(
        "lms_content_skills",
        "lms/content_skills.csv",
        "ingest_lms",
        required=False,
        key=("content_id", "skill_id"),
        columns=(Column("content_id"), Column("skill_id"), _level("level_taught", nullable=True)),
    ),
    Source(
        "lms_prerequisites",
        "lms/prerequisites.csv",
        "ingest_lms",
        required=False,
        key=("content_id", "requires_content_id"),
        columns=(Column("content_id"), Column("requires_content_id")),
    ),
    Source(
        "lms_statements",
        "lms/statements",
        "ingest_lms",
        required=True,
        delivery="event",
        needs=("hr_employees", "lms_catalog"),
        key=("statement_id",),
    ),
    Source(
        "survey_pulse",
        "surveys/pulse.csv",
        "ingest_surveys",
        required=False,
        delivery="event",
        needs=_HR,
        key=("response_id",),
        columns=(
            Column("response_id"),
            _PERSON,
            Column("survey_date", "date", event_time=True),
            _level("engagement", nullable=True),
            Column("enps", "int", nullable=True, low=0, high=10),
        ),
    ),
    Source(
        "survey_course_feedback",
        "surveys/course_feedback.csv",
        "ingest_surveys",
        required=False,
        delivery="event",
        needs=_HR,
        key=("response_id",),
        columns=(
            Column("response_id"),
            _PERSON,
            Column("content_id"),
            _level("rating", nullable=True),
            _level("relevance", nullable=True),
            Column("submitted_at", "timestamp", event_time=True),
        ),
    ),
    Source(
        "survey_skill_assessments",
        "surveys/skill_assessments.csv",
        "ingest_surveys",
        required=False,
        delivery="event",
        needs=_HR,
        key=("assessment_id",),
        columns=(
            Column("assessment_id"),
            _PERSON,
            Column("skill_id"),
            _level("level"),
            Column("source", "enum", accepted=("self", "peer", "manager", "test")),
            Column("assessed_at", "timestamp", event_time=True),
        ),
    ),
)

SOURCES_BY_TABLE: dict[str, Source] = {s.table: s for s in SOURCES}
