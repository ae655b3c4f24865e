"""Small SQL-building helpers shared by the CSV and xAPI loaders."""

from __future__ import annotations

from skillpath.ingest.reasons import declared


def lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def problem(condition: str, code: str, message_sql: str) -> str:
    """A struct(code, msg) when ``condition`` holds, else NULL; rows collect these in a
    list and the first one names the quarantine reason (``reasons.REASONS``)."""
    return f"case when {condition} then {{'code': {lit(declared(code))}, 'msg': {message_sql}}} end"


def problems_list(problems: list[str]) -> str:
    if not problems:
        return "[]::struct(code varchar, msg varchar)[]"
    return f"list_filter([{', '.join(problems)}], lambda p: p is not null)"


def problems_message(problems: str) -> str:
    """The first problem in full, the others by code: one actionable sentence."""
    return (
        f"{problems}[1].msg || case when len({problems}) > 1 then ' (also: ' || "
        f"array_to_string(list_transform({problems}[2:], lambda p: p.code), ', ') || ')' "
        "else '' end"
    )


def outcome_columns(immutable: bool) -> str:
    """``outcome`` and ``reason_code`` of each row of a table with ``problems``,
    ``rank_in_file``, ``fp``, ``first_fp`` and ``existing_fp`` (latest stored version of
    the key). A row with a problem is quarantined for the first one; a repeat of its key
    in the same file is a duplicate when identical, a conflict otherwise; a row equal to
    the stored version is a duplicate. A different stored version is a conflict for
    immutable records (xAPI statements: an LRS never changes a stored id) and a newer
    version for everything else (the marts keep the latest)."""
    stored_conflict = "existing_fp is not null" if immutable else "false"
    conflict = lit(declared("conflicting_duplicate"))
    # rows without a contested key have no fingerprint: nothing to compare

    return f"""
        case
            when len(problems) > 0 then 'quarantined'
            when rank_in_file > 1 and fp = first_fp then 'duplicate'
            when rank_in_file > 1 then 'quarantined'
            when existing_fp = fp then 'duplicate'
            when {stored_conflict} then 'quarantined'
            else 'loaded'
        end as outcome,
        case
            when len(problems) > 0 then problems[1].code
            when rank_in_file > 1 and fp = first_fp then null
            when rank_in_file > 1 then {conflict}
            when existing_fp = fp then null
            when {stored_conflict} then {conflict}
        end as reason_code"""
