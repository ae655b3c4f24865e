"""The fields of a statement, parsed once: ``_extract_sql`` extracts every property of
interest as JSON text in one ``json_extract`` per line, ``typed_sql`` types them (NULL
where absent or invalid). The SQL expressions that read JSON fragments (strings,
numbers, booleans, IRIs, timestamps, durations) are here too, for the rules to use."""

from __future__ import annotations

from skillpath.ingest.sql import lit
from skillpath.ingest.xapi.reader import NUMBERED_LINES

VOIDED = "http://adlnet.gov/expapi/verbs/voided"
PROGRESS = "https://w3id.org/xapi/cmi5/result/extensions/progress"

# name -> JSON path; each becomes a column of the extracted JSON text (NULL if absent).
_PATHS = {
    "id": "$.id",
    "actor": "$.actor",
    "actor_type": "$.actor.objectType",
    "mbox": "$.actor.mbox",
    "mbox_sha1sum": "$.actor.mbox_sha1sum",
    "openid": "$.actor.openid",
    "account": "$.actor.account",
    "account_name": "$.actor.account.name",
    "account_home": "$.actor.account.homePage",
    "verb": "$.verb",
    "verb_id": "$.verb.id",
    "object": "$.object",
    "object_type": "$.object.objectType",
    "object_id": "$.object.id",
    "result": "$.result",
    "score": "$.result.score",
    "scaled": "$.result.score.scaled",
    "raw": "$.result.score.raw",
    "min": "$.result.score.min",
    "max": "$.result.score.max",
    "success": "$.result.success",
    "completion": "$.result.completion",
    "duration": "$.result.duration",
    "progress": f'$.result.extensions."{PROGRESS}"',
    "context": "$.context",
    "registration": "$.context.registration",
    "instructor": "$.context.instructor",
    "team": "$.context.team",
    "context_agents": "$.context.contextAgents",  # xAPI 2.0
    "context_groups": "$.context.contextGroups",  # xAPI 2.0
    "timestamp": "$.timestamp",
    "stored": "$.stored",
    "version": "$.version",
    "attachments": "$.attachments",
    "response": "$.result.response",
    "platform": "$.context.platform",
    "revision": "$.context.revision",
    "context_statement": "$.context.statement",
    "context_statement_type": "$.context.statement.objectType",
    "context_statement_id": "$.context.statement.id",
}

_IRI = r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+"
_NUM = r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?"
_DURATION = (
    r"P(?:([0-9.]+)Y)?(?:([0-9.]+)M)?(?:([0-9.]+)W)?(?:([0-9.]+)D)?"
    r"(?:T(?:([0-9.]+)H)?(?:([0-9.]+)M)?(?:([0-9.]+)S)?)?"
)
_DURATION_SECONDS = (365 * 86400, 30 * 86400, 7 * 86400, 86400, 3600, 60, 1)
_DURATION_PARTS = [str(i) for i in range(len(_DURATION_SECONDS))]  # the pattern's groups
_WEEKS = "2"  # the group of W


def text_of(col: str) -> str:
    """The value of a JSON string fragment (cheap path when nothing is escaped). The
    unescaped value is cut with ``substring`` rather than ``[2:-2]``: same result (the
    length is clamped for fragments shorter than two characters) at a third of the cost
    for ASCII text."""
    return (
        f"case when contains({col}, '\\\\') then {col}->>'$' "
        f"else substring({col}, 2, greatest(length({col}) - 2, 0)) end"
    )


def is_string(col: str) -> str:
    return f"starts_with({col}, '\"')"


def _number(col: str) -> str:
    return f"try_cast(case when regexp_full_match({col}, '{_NUM}') then {col} end as double)"


def is_iri(text: str) -> str:
    """Whether a value is an IRI (``_IRI``). Most are http(s) IRIs, whose scheme is valid:
    for them the regex reduces to 'no whitespace' (RE2's \\s: tab, LF, FF, CR, space),
    which ``contains`` answers at a third of the regex's cost."""
    whitespace = " or ".join(f"contains({text}, chr({c}))" for c in (9, 10, 12, 13, 32))
    return (
        f"case when starts_with({text}, 'https://') or starts_with({text}, 'http://') "
        f"then not ({whitespace}) else regexp_full_match({text}, '{_IRI}') end"
    )


def _boolean(col: str) -> str:
    return f"case {col} when 'true' then true when 'false' then false end"


def _timestamp(col: str) -> str:
    """ISO 8601 date-time with any offset, as a naive UTC timestamp; NULL if invalid.
    RFC 3339's "unknown local offset" (-00, -0000, -00:00) is no offset: xAPI 1.0.3 §4.5
    forbids it."""
    unknown_offset = " or ".join(f"ends_with({col}, '{o}\"')" for o in ("-00", "-0000", "-00:00"))
    return (
        f"case when {is_string(col)} and {col}[12] = 'T' and not ({unknown_offset}) "
        f"then timezone('UTC', try_cast({text_of(col)} as timestamptz)) end"
    )


def duration_seconds(parts: str) -> str:
    """Seconds of a parsed duration (years and months as 365 and 30 days: xAPI
    durations of learning activities are minutes or hours)."""
    return " + ".join(
        f"coalesce(try_cast(nullif({parts}['{i}'], '') as double), 0) * {s}"
        for i, s in enumerate(_DURATION_SECONDS)
    )


def _duration_valid(text: str, parts: str) -> str:
    """Whether the text is an ISO 8601 duration, from the one match that parsed it
    (``parts``): a text the pattern does not match has only empty parts, and so have
    'P' and 'PT', which are no durations either. A second regex over every duration cost
    a tenth of the statement query."""
    some_part = " or ".join(f"{parts}['{i}'] <> ''" for i in _DURATION_PARTS)
    not_weeks = " and ".join(f"{parts}['{i}'] = ''" for i in _DURATION_PARTS if i != _WEEKS)
    return (
        f"({some_part}) and not ends_with({text}, 'T') "
        # weeks cannot be combined with other periods (xAPI 1.0.3 §4.6: 'P4W1D' is invalid)
        f"and ({parts}['{_WEEKS}'] = '' or ({not_weeks})) "
        f"and case when contains({text}, '.') "
        f"then not regexp_matches({text}, '[0-9]*\\.[0-9]*\\.') else true end"
    )


# Whether a line's first character is printable, not a space: then trimming it (which
# copies the whole line) cannot change how it starts.
_PRINTABLE_START = "ascii(line) between 33 and 126"
# What a blank line may hold (census._BLANK, so both count the same lines). DuckDB's
# trim() without characters keeps tabs and drops Unicode spaces.
BLANK_CHARS = "(' ' || chr(9) || chr(11) || chr(12) || chr(13))"


def _extract_sql(validate: bool, lines: str = NUMBERED_LINES) -> str:
    """Stage 1: one parse per statement; every property of interest as JSON text. Line
    numbers count blank lines too (they are what an editor shows), blank lines are not
    statements. Unless ``validate``, a line that starts like an object is taken to be
    JSON without a parse of its own: ``json_extract`` then fails the query if it is not
    (``_check_statements``)."""
    paths = ", ".join(lit(p) for p in _PATHS.values())
    columns = ", ".join(
        f"nullif(f[{i + 1}]::varchar, 'null') as j_{name}" for i, name in enumerate(_PATHS)
    )
    is_json = (
        "json_valid(line)"
        if validate
        else "case when is_object then true else json_valid(line) end"
    )
    return f"""
        select line_no, line, is_json, valid, {columns}
        from (
            select line_no, line, is_json, valid,
                   case when valid then json_extract(line, [{paths}]) end as f
            from (select line_no, line, {is_json} as is_json, is_json and is_object as valid
                  from (select line_no, line,
                               case when {_PRINTABLE_START} then ascii(line) = 123
                                    else starts_with(ltrim(line, {BLANK_CHARS}), '{{')
                               end as is_object
                        from ({lines})
                        where case when {_PRINTABLE_START} then true
                                   else trim(line, {BLANK_CHARS}) <> '' end))
        )"""


def typed_sql(validate: bool, lines: str = NUMBERED_LINES) -> str:
    """Stage 2: typed values of each statement (NULL where absent or invalid)."""
    return f"""
        select *,
            case when j_id is null then null
                 when {is_string("j_id")} then try_cast({text_of("j_id")} as uuid)::varchar
            end as id_value,
            coalesce({text_of("j_actor_type")}, 'Agent') as actor_kind,
            (j_mbox is not null)::int + (j_mbox_sha1sum is not null)::int
                + (j_openid is not null)::int + (j_account is not null)::int as ifi_count,
            case when {is_string("j_mbox")} and starts_with(lower({text_of("j_mbox")}), 'mailto:')
                 then lower({text_of("j_mbox")})[8:] end as email,
            case when {is_string("j_mbox_sha1sum")}
                      and regexp_full_match({text_of("j_mbox_sha1sum")}, '[0-9A-Fa-f]{{40}}')
                 then lower({text_of("j_mbox_sha1sum")}) end as sha1sum,
            case when {is_string("j_account_name")} then {text_of("j_account_name")} end
                as account,
            case when {is_string("j_account_home")} then {text_of("j_account_home")} end
                as account_home,
            case when {is_string("j_verb_id")} then {text_of("j_verb_id")} end as verb,
            coalesce({text_of("j_object_type")}, 'Activity') as object_kind,
            case when {is_string("j_object_id")} then {text_of("j_object_id")} end as object,
            {_timestamp("j_timestamp")} as ts,
            {_timestamp("j_stored")} as stored_ts,
            {_number("j_scaled")} as scaled, {_number("j_raw")} as score_raw,
            {_number("j_min")} as score_min, {_number("j_max")} as score_max,
            {_boolean("j_success")} as success, {_boolean("j_completion")} as completion,
            case when {is_string("j_duration")} then {text_of("j_duration")} end as duration,
            regexp_extract(duration, '^{_DURATION}$', {_DURATION_PARTS})
                as duration_parts,
            {_duration_valid("duration", "duration_parts")} as duration_valid,
            {_number("j_progress")} as progress_pct,
            case when {is_string("j_registration")}
                 then try_cast({text_of("j_registration")} as uuid)::varchar end as registration
        from ({_extract_sql(validate, lines)})"""
