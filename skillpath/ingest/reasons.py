"""Every reason code a row or a file can be quarantined with (``audit.quarantine``), what
it means and what the company should do about it. The loaders refuse a code that is
not declared here, and ``docs/data-contract.md`` lists this table, so the codes people
see in the quarantine are the ones they can look up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Scope = Literal["file", "row", "statement"]  # a whole file, a CSV row, an xAPI statement


@dataclass(frozen=True)
class Reason:
    code: str
    scope: tuple[Scope, ...]
    meaning: str


_REASONS = (
    Reason(
        "unreadable_file",
        ("file",),
        "The CSV file cannot be read as UTF-8 with a header row; export it again as UTF-8 CSV.",
    ),
    Reason(
        "missing_column",
        ("file",),
        "A required column is missing from the header; add it and deliver the file again.",
    ),
    Reason(
        "ingest_error",
        ("file",),
        "The loader failed on this file (a defect of skillpath): nothing of it was written; "
        "report it with the file's shape (not its data). Its lines are counted as its rows.",
    ),
    Reason(
        "suspect_truncated",
        ("file",),
        "A snapshot that would retire more than ingest.snapshot_max_absent_share of the "
        "current keys (persons, catalogue items...): held, nothing applied; confirm it with "
        "skillpath ingest --accept FILE or deliver a complete export (docs/operations.md).",
    ),
    Reason(
        "malformed_row",
        ("row",),
        "The line cannot be parsed as CSV (e.g. an unbalanced quote or too many fields).",
    ),
    Reason(
        "undecodable",
        ("row", "statement"),
        "The line holds bytes that are not UTF-8 text (or a NUL byte); export the file "
        "again as UTF-8.",
    ),
    Reason(
        "line_too_long",
        ("row", "statement"),
        "The line is longer than ingest.max_record_bytes: a lost line break or pasted "
        "binary data; fix or remove it.",
    ),
    Reason(
        "implausible_time",
        ("row", "statement"),
        "The event is dated before ingest.earliest_event_date or more than "
        "ingest.future_tolerance_hours after its file was delivered: a wrong clock or year.",
    ),
    Reason("missing_value", ("row",), "A column that must have a value is empty."),
    Reason(
        "unknown_employee",
        ("row",),
        "employee_id is not in hr/employees.csv; deliver the HR export with the person first.",
    ),
    Reason(
        "invalid_type",
        ("row",),
        "A value is not of its column's type (integer, date, timestamp, true/false).",
    ),
    Reason("not_accepted", ("row",), "A value is not one of the column's accepted values."),
    Reason("out_of_range", ("row",), "A number is outside its column's range (e.g. 1–5)."),
    Reason(
        "conflicting_duplicate",
        ("row", "statement"),
        "The key appears earlier in the file with other values (keep one version), or a "
        "statement id was already stored with other content (an LRS never changes a stored "
        "statement: give the correction a new id and void the old one).",
    ),
    Reason(
        "malformed_json",
        ("file", "statement"),
        "The line or array element is not valid JSON (a carriage return inside a line, an "
        "element the file is cut off in), or the whole file cannot be read as JSON.",
    ),
    Reason(
        "too_deep",
        ("statement",),
        "The statement nests deeper than ingest.max_json_depth: a broken or hostile export.",
    ),
    Reason(
        "unreadable_line",
        ("statement",),
        "The line reader delivered nothing for this line (control characters?); check it.",
    ),
    Reason(
        "invalid_statement",
        ("statement",),
        "The JSON value is not an object; a statement is an object with actor, verb, object.",
    ),
    Reason("invalid_id", ("statement",), "id is not a UUID (xAPI 1.0.3 §2.4.1)."),
    Reason("missing_actor", ("statement",), "The statement has no actor."),
    Reason(
        "invalid_actor",
        ("statement",),
        "The actor is not an Agent or Group with exactly one identifier (mbox 'mailto:…', "
        "mbox_sha1sum, openid, or account with a homePage URL and a name).",
    ),
    Reason("missing_verb", ("statement",), "The statement has no verb."),
    Reason("invalid_verb_id", ("statement",), "verb.id is not an IRI."),
    Reason("missing_object", ("statement",), "The statement has no object."),
    Reason(
        "invalid_object",
        ("statement",),
        "The object is not an Activity with an IRI id, an Agent or Group, a StatementRef "
        "with a UUID id or a valid SubStatement.",
    ),
    Reason(
        "invalid_voiding",
        ("statement",),
        "A voiding statement (verb voided) whose object is not a StatementRef.",
    ),
    Reason(
        "invalid_timestamp",
        ("statement",),
        "timestamp or stored is not an ISO 8601 date-time with an offset.",
    ),
    Reason(
        "no_time",
        ("statement",),
        "The statement has neither timestamp nor stored: when it happened is unknown.",
    ),
    Reason(
        "invalid_result",
        ("statement",),
        "result is not an object of the xAPI types (success/completion booleans, score an "
        "object of numbers, response a string, duration a string).",
    ),
    Reason(
        "score_out_of_range",
        ("statement",),
        "result.score.scaled is outside −1..1, or raw outside min..max.",
    ),
    Reason("invalid_duration", ("statement",), "result.duration is not an ISO 8601 duration."),
    Reason(
        "invalid_progress",
        ("statement",),
        "The cmi5 progress extension is not a number from 0 to 100.",
    ),
    Reason(
        "invalid_context",
        ("statement",),
        "context is not an object of the xAPI types (registration a UUID, statement a "
        "StatementRef, platform and revision strings and only with an Activity).",
    ),
    Reason("invalid_version", ("statement",), "version is neither 1.0.x nor 2.0.x."),
    Reason(
        "group_actor",
        ("statement",),
        "The actor is a Group: records are kept per person; send one statement per member.",
    ),
    Reason(
        "unknown_actor",
        ("statement",),
        "The actor matches no employee (see 'Actor matching'); retried automatically when a "
        "later HR export brings the person.",
    ),
)

REASONS: dict[str, Reason] = {r.code: r for r in _REASONS}


def declared(code: str) -> str:
    """``code``, once it is known to be declared: the loaders build their rules with it."""
    if code not in REASONS:
        raise ValueError(
            f"quarantine reason code {code!r} is not declared in skillpath/ingest/reasons.py; "
            "add it there with what it means and what to do (docs/data-contract.md lists it)"
        )
    return code
