"""One xAPI 1.0.3 statement export → ``raw.lms_statements``, with the rules an LRS
applies (https://github.com/adlnet/xAPI-Spec/blob/1.0.3/xAPI-Data.md).

The file is read by DuckDB as text lines (JSON lines) or as array elements, every
statement is parsed once (``json_extract`` with a list of paths) and all rules are SQL
expressions over the extracted fragments, so a million statements never meet a Python
loop. Liberal where the spec is (objectType defaults, extra properties, partial scores,
offsets and fractions in timestamps), strict where it is not.

Throughput comes from touching the wide data (lines, payloads) as few times as possible
and from computing nothing per row that only a few rows need: the lines are stored once
(their row ids are the line numbers), one query parses each once, types, checks, cleans
them and looks their actors up, and dedup only materialises the contested rows
(docs/benchmarks.md has the figures). That query runs before the file's transaction
(``stage_statement_file``), which then only deduplicates and writes.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

import duckdb

from skillpath.ingest.dedup import (
    OUTCOME,
    insert_loaded,
    lineage_values,
    ordinal,
    resolve_outcomes,
)
from skillpath.ingest.landing import LandingFile
from skillpath.ingest.ledger import FileResult, quarantine_file, tally
from skillpath.ingest.sql import lit, problem, problems_list, problems_message
from skillpath.privacy import define_function
from skillpath.warehouse import RAW_TABLES

VOIDED = "http://adlnet.gov/expapi/verbs/voided"
PROGRESS = "https://w3id.org/xapi/cmi5/result/extensions/progress"
# Namespace of the deterministic ids given to statements exported without one.
STATEMENT_NAMESPACE = uuid.UUID("5b8e7d2a-9c1f-5e3b-8a47-2f0d6c9e1b34")
# Properties an LRS sets itself; left out of the content that names an id-less statement.
_LRS_PROPERTIES = ("stored", "authority", "version")
# Context properties that name persons (the last two are xAPI 2.0's): not in payloads.
_CONTEXT_PERSONS = ("instructor", "team", "contextAgents", "contextGroups")

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


def _text(col: str) -> str:
    """The value of a JSON string fragment (cheap path when nothing is escaped). The
    unescaped value is cut with ``substring`` rather than ``[2:-2]``: same result (the
    length is clamped for fragments shorter than two characters) at a third of the cost
    for ASCII text."""
    return (
        f"case when contains({col}, '\\\\') then {col}->>'$' "
        f"else substring({col}, 2, greatest(length({col}) - 2, 0)) end"
    )


def _is_str(col: str) -> str:
    return f"starts_with({col}, '\"')"


def _num(col: str) -> str:
    return f"try_cast(case when regexp_full_match({col}, '{_NUM}') then {col} end as double)"


def _is_iri(text: str) -> str:
    """Whether a value is an IRI (``_IRI``). Most are http(s) IRIs, whose scheme is valid:
    for them the regex reduces to 'no whitespace' (RE2's \\s: tab, LF, FF, CR, space),
    which ``contains`` answers at a third of the regex's cost."""
    whitespace = " or ".join(f"contains({text}, chr({c}))" for c in (9, 10, 12, 13, 32))
    return (
        f"case when starts_with({text}, 'https://') or starts_with({text}, 'http://') "
        f"then not ({whitespace}) else regexp_full_match({text}, '{_IRI}') end"
    )


def _bool(col: str) -> str:
    return f"case {col} when 'true' then true when 'false' then false end"


def _timestamp(col: str) -> str:
    """ISO 8601 date-time with any offset, as a naive UTC timestamp; NULL if invalid.
    RFC 3339's "unknown local offset" (-00, -0000, -00:00) is no offset: xAPI 1.0.3 §4.5
    forbids it."""
    unknown_offset = " or ".join(f"ends_with({col}, '{o}\"')" for o in ("-00", "-0000", "-00:00"))
    return (
        f"case when {_is_str(col)} and {col}[12] = 'T' and not ({unknown_offset}) "
        f"then timezone('UTC', try_cast({_text(col)} as timestamptz)) end"
    )


def _duration_seconds(parts: str) -> str:
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


# The lines of the statement file with their 1-based numbers.
_NUMBERED_LINES = f"select {ordinal('_sp_lines')} + 1 as line_no, line from _sp_lines"


def _extract_sql(validate: bool, lines: str = _NUMBERED_LINES) -> str:
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
                                    else starts_with(ltrim(line), '{{') end as is_object
                        from ({lines})
                        where case when {_PRINTABLE_START} then true else trim(line) <> '' end))
        )"""


def _typed_sql(validate: bool, lines: str = _NUMBERED_LINES) -> str:
    """Stage 2: typed values of each statement (NULL where absent or invalid)."""
    return f"""
        select *,
            case when j_id is null then null
                 when {_is_str("j_id")} then try_cast({_text("j_id")} as uuid)::varchar
            end as id_value,
            coalesce({_text("j_actor_type")}, 'Agent') as actor_kind,
            (j_mbox is not null)::int + (j_mbox_sha1sum is not null)::int
                + (j_openid is not null)::int + (j_account is not null)::int as ifi_count,
            case when {_is_str("j_mbox")} and starts_with(lower({_text("j_mbox")}), 'mailto:')
                 then lower({_text("j_mbox")})[8:] end as email,
            case when {_is_str("j_mbox_sha1sum")}
                      and regexp_full_match({_text("j_mbox_sha1sum")}, '[0-9A-Fa-f]{{40}}')
                 then lower({_text("j_mbox_sha1sum")}) end as sha1sum,
            case when {_is_str("j_account_name")} then {_text("j_account_name")} end
                as account,
            case when {_is_str("j_account_home")} then {_text("j_account_home")} end
                as account_home,
            case when {_is_str("j_verb_id")} then {_text("j_verb_id")} end as verb,
            coalesce({_text("j_object_type")}, 'Activity') as object_kind,
            case when {_is_str("j_object_id")} then {_text("j_object_id")} end as object,
            {_timestamp("j_timestamp")} as ts,
            {_timestamp("j_stored")} as stored_ts,
            {_num("j_scaled")} as scaled, {_num("j_raw")} as score_raw,
            {_num("j_min")} as score_min, {_num("j_max")} as score_max,
            {_bool("j_success")} as success, {_bool("j_completion")} as completion,
            case when {_is_str("j_duration")} then {_text("j_duration")} end as duration,
            regexp_extract(duration, '^{_DURATION}$', {_DURATION_PARTS})
                as duration_parts,
            {_duration_valid("duration", "duration_parts")} as duration_valid,
            {_num("j_progress")} as progress_pct,
            case when {_is_str("j_registration")}
                 then try_cast({_text("j_registration")} as uuid)::varchar end as registration
        from ({_extract_sql(validate, lines)})"""


# result.score property -> its typed column (NULL when absent or not a number)
_SCORE_FIELDS = {"scaled": "scaled", "raw": "score_raw", "min": "score_min", "max": "score_max"}


_Rule = tuple[str, str, str]  # condition, reason code, message (SQL)
_EMPTY = "[]::struct(code varchar, msg varchar)[]"


def _rules() -> list[_Rule]:
    """The xAPI rules of a statement (a line that is a JSON object), in the order it is
    checked; the first broken one is its quarantine reason, the others are listed in the
    message. The actor's match to an employee comes last (``unknown_actor``)."""
    m = lit
    score_types = " or ".join(
        f"(j_{f} is not null and {typed} is null)" for f, typed in _SCORE_FIELDS.items()
    )
    return [
        (
            "j_id is not null and id_value is null",
            "invalid_id",
            m("id is not a UUID (xAPI 1.0.3 §2.4.1)"),
        ),
        ("j_actor is null", "missing_actor", m("the statement has no actor")),
        (
            "j_actor is not null and ("
            "not starts_with(j_actor, '{') or actor_kind not in ('Agent', 'Group') "
            "or (actor_kind = 'Agent' and ifi_count <> 1) or ifi_count > 1 "
            "or (j_mbox is not null and email is null) "
            "or (j_mbox_sha1sum is not null and sha1sum is null) "
            "or (j_account is not null and (account is null "
            f"or not coalesce({_is_iri('account_home')}, false))))",
            "invalid_actor",
            m(
                "actor must be an Agent (or Group) with exactly one identifier: mbox "
                "'mailto:…', mbox_sha1sum (40 hex digits), openid, or account with homePage "
                "(a URL) and name"
            ),
        ),
        ("j_verb is null", "missing_verb", m("the statement has no verb")),
        (
            f"j_verb is not null and not coalesce({_is_iri('verb')}, false)",
            "invalid_verb_id",
            m("verb.id must be an IRI, e.g. http://adlnet.gov/expapi/verbs/completed"),
        ),
        ("j_object is null", "missing_object", m("the statement has no object")),
        (
            "j_object is not null and ("
            "not starts_with(j_object, '{') "
            "or object_kind not in ('Activity', 'Agent', 'Group', 'StatementRef', 'SubStatement')"
            f" or (object_kind = 'Activity' and not coalesce({_is_iri('object')}, false))"
            # a CASE, not AND: DuckDB would try (and fail) the cast for every Activity
            " or case when object_kind = 'StatementRef' then try_cast(object as uuid) is null"
            " end)",
            "invalid_object",
            m(
                "object must be an Activity with an IRI id, an Agent or Group, a StatementRef "
                "with a UUID id, or a SubStatement"
            ),
        ),
        (
            f"verb = '{VOIDED}' and object_kind <> 'StatementRef'",
            "invalid_voiding",
            m("a voiding statement (verb voided) must have a StatementRef object"),
        ),
        (
            "(j_timestamp is not null and ts is null) "
            "or (j_stored is not null and stored_ts is null)",
            "invalid_timestamp",
            "'timestamp/stored is not an ISO 8601 date-time: ' || "
            "coalesce(case when ts is null then j_timestamp end, j_stored)",
        ),
        (
            "j_timestamp is null and j_stored is null",
            "no_time",
            m("neither timestamp nor stored is set"),
        ),
        (
            "(j_result is not null and not starts_with(j_result, '{')) "
            "or (j_score is not null and not starts_with(j_score, '{')) "
            f"or (j_response is not null and not {_is_str('j_response')}) "
            "or (j_success is not null and success is null) "
            "or (j_completion is not null and completion is null) "
            f"or {score_types} or (j_duration is not null and duration is null)",
            "invalid_result",
            m(
                "result must be an object: success/completion booleans, score an object of "
                "numbers, response a string, duration an ISO 8601 duration"
            ),
        ),
        (
            "scaled not between -1 and 1 or score_raw < score_min or score_raw > score_max "
            "or score_min > score_max",
            "score_out_of_range",
            "'result.score out of range (scaled must be within -1..1, raw within min..max): ' "
            "|| coalesce(json_extract(j_result, '$.score')::varchar, '')",
        ),
        (
            "duration is not null and not duration_valid",
            "invalid_duration",
            "'result.duration ' || duration || ' is not an ISO 8601 duration (e.g. PT1H30M)'",
        ),
        (
            "j_progress is not null and not coalesce(progress_pct between 0 and 100, false)",
            "invalid_progress",
            m(f"the cmi5 progress extension ({PROGRESS}) must be a number 0–100"),
        ),
        (
            "(j_context is not null and not starts_with(j_context, '{')) "
            "or (j_registration is not null and registration is null) "
            "or (j_context_statement is not null and ("
            "coalesce(j_context_statement_type, '') <> '\"StatementRef\"' "
            f"or not coalesce({_is_str('j_context_statement_id')}, false) "
            f"or case when {_is_str('j_context_statement_id')} "
            f"then try_cast({_text('j_context_statement_id')} as uuid) is null end)) "
            f"or (j_platform is not null and not {_is_str('j_platform')}) "
            f"or (j_revision is not null and not {_is_str('j_revision')}) "
            "or ((j_platform is not null or j_revision is not null) "
            "and object_kind <> 'Activity')",
            "invalid_context",
            m(
                "context must be an object: registration a UUID, statement a StatementRef "
                "with a UUID id, platform and revision strings and only with an Activity "
                "object (xAPI 1.0.3 §2.4.6)"
            ),
        ),
        (
            "j_version is not null and not (starts_with(j_version, '\"1.0.') "
            "or starts_with(j_version, '\"2.0.'))",
            "invalid_version",
            "'version ' || j_version || ' is neither 1.0.x nor 2.0.x'",
        ),
        (
            "actor_kind = 'Group'",
            "group_actor",
            m(
                "the actor is a Group (xAPI 1.0.3 §2.4.2.2): learning records are kept per "
                "person; have the LMS send one statement per member"
            ),
        ),
        (
            "person_key is null and j_openid is null",
            "unknown_actor",
            m(
                "the actor matches no employee (account.name is no employee_id, mbox no "
                "e-mail and mbox_sha1sum no hashed e-mail of hr/employees.csv); add the "
                "person to the HR export or fix the LMS's user mapping"
            ),
        ),
        (
            "person_key is null and j_openid is not null",
            "unknown_actor",
            m(
                "the actor is identified by an OpenID, which HR exports do not carry; have "
                "the LMS send account.name = employee_id or mbox = mailto:<e-mail> instead"
            ),
        ),
    ]


def _of_statements(rules: list[_Rule]) -> list[_Rule]:
    """Statement rules apply to lines that are JSON objects (``valid``) only."""
    return [(f"valid and ({condition})", code, msg) for condition, code, msg in rules]


def _problems() -> str:
    """The broken rules of a line. The list is only built for lines that break one:
    building and filtering a list of structs per row costs more than all the rules'
    conditions, and almost every statement passes."""
    statement_rules = _rules()
    rules = [
        ("not is_json", "malformed_json", lit("not valid JSON; fix or remove it")),
        (
            "is_json and not valid",
            "invalid_statement",
            lit("not a JSON object; a statement is an object with actor, verb and object"),
        ),
        *_of_statements(statement_rules),
    ]
    # a line that is no statement breaks one of the first two rules
    broken = " or ".join(f"({condition})" for condition, _, _ in statement_rules)
    listed = problems_list([problem(*rule) for rule in rules])
    return f"case when not valid or {broken} then {listed} else {_EMPTY} end"


def _payload() -> str:
    """The statement without anything that identifies a person: the actor keeps only
    its objectType, person objects, the context's persons (``_CONTEXT_PERSONS``) and
    authority are dropped. Built from the extracted fragments in one ``concat`` (no
    second parse, no intermediate strings); absent properties are left out."""
    actor = "'{\"objectType\":\"' || actor_kind || '\"}'"
    drop_persons = json.dumps(dict.fromkeys(_CONTEXT_PERSONS))
    # a SubStatement's own actor, object and context persons; "context" only patched
    # where present (a merge patch would add an empty one)
    sub = json.dumps({"actor": None, "object": None})
    sub_context = json.dumps(
        {"actor": None, "object": None, "context": dict.fromkeys(_CONTEXT_PERSONS)}
    )
    obj = (
        "case when object_kind in ('Agent', 'Group') "
        "then '{\"objectType\":\"' || object_kind || '\"}' "
        "when object_kind = 'SubStatement' then json_merge_patch(j_object, "
        f"case when json_exists(j_object, '$.context') then {lit(sub_context)} "
        f"else {lit(sub)} end)::varchar else j_object end"
    )
    context = (
        "case when j_instructor is not null or j_team is not null "
        "or j_context_agents is not null or j_context_groups is not null then "
        f"json_merge_patch(j_context, {lit(drop_persons)})::varchar else j_context end"
    )
    parts = [
        ("actor", f"case when j_actor is not null then {actor} end"),
        ("verb", "j_verb"),
        ("object", obj),
        ("result", "j_result"),
        ("context", context),
        ("timestamp", "j_timestamp"),
        ("stored", "j_stored"),
        ("version", "j_version"),
        ("attachments", "j_attachments"),
    ]
    # each member is its key (with a leading comma) and its value, both NULL when the
    # value is: concat skips them. Passing them apart spares a copy of every fragment.
    members = ", ".join(
        f"case when ({expr}) is not null then ',\"{name}\":' end, ({expr})" for name, expr in parts
    )
    return (
        f"case when statement_id is null then '{{' || ltrim(concat({members}, '}}'), ',') "
        f"else concat('{{\"id\":\"', statement_id, '\"', {members}, '}}') end"
    )


def _statement_uuid(line: str | None) -> str | None:
    """UUID5 of the canonical JSON (sorted keys, LRS-set properties left out): the same
    statement exported twice without an id gets the same id, so it is deduplicated."""
    if line is None:
        return None
    statement = {k: v for k, v in json.loads(line).items() if k not in _LRS_PROPERTIES}
    canonical = json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return str(uuid.uuid5(STATEMENT_NAMESPACE, canonical))


def register_functions(con: duckdb.DuckDBPyConnection) -> None:
    define_function(con, "sp_statement_uuid", _statement_uuid)


def _first_char(file: LandingFile) -> str:
    opener = gzip.open if file.gzipped else open
    with opener(file.path, "rb") as fh:
        head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head[:1].decode("latin-1")


# The longest line or JSON value read (bytes): a StatementResult page exported on one
# line easily passes the readers' defaults (2 MiB lines, 16 MiB objects). Costs nothing.
_MAX_TEXT = 1 << 30


def _read_lines(con: duckdb.DuckDBPyConnection, file: LandingFile) -> str:
    """Load the file into ``_sp_lines`` (line), in file order; return 'line' or
    'element' (what a row number counts). A ``.json`` file may also be one JSON document
    (``_read_document``)."""
    path = lit(str(file.path))
    name = file.path.name.lower()
    first = _first_char(file) if name.endswith((".json", ".json.gz")) else ""
    if first == "[":
        con.execute(
            f"""
            create or replace temp table _sp_lines as
            select json::varchar as line
            from read_json({path}, format = 'array', records = false,
                           columns = {{'json': 'JSON'}}, maximum_object_size = {_MAX_TEXT})
            """
        )
        return "element"
    # Not parallel: splitting lines is no faster on two threads, only busier, and
    # the other core is better spent hashing the next file (runner).
    con.execute(
        f"""
        create or replace temp table _sp_lines as
        select line from read_csv({path}, columns = {{'line': 'VARCHAR'}}, header = false,
            delim = '\\x1f', quote = '', escape = '', auto_detect = false,
            new_line = '\\r\\n', strict_mode = false, null_padding = true, parallel = false,
            max_line_size = {_MAX_TEXT})
        """
    )
    if first == "{" and _read_document(con, path):
        return "element"
    return "line"


def _is_statement_result(json_text: str) -> str:
    """Whether a JSON value is a StatementResult rather than a statement."""
    return (
        f"(json_type({json_text}, '$.statements') = 'ARRAY' "
        f"and json_type({json_text}, '$.actor') is null)"
    )


def _read_document(con: duckdb.DuckDBPyConnection, path: str) -> bool:
    """Replace ``_sp_lines`` by the statements of a ``.json`` file that is one JSON
    document rather than a statement per line: a pretty-printed statement, or what an
    LRS answers to GET /statements and exports page by page, a StatementResult
    ``{"statements": [...], "more": "..."}`` (xAPI 1.0.3 §2.5). The lines tell: a
    document's first line is no JSON value of its own (pretty-printed), or it is a
    StatementResult. Should the document not parse, the lines stay and are judged one
    by one, as for JSON lines. Returns whether the file was a document."""
    [(document,)] = con.execute(
        f"""
        select case when json_valid(line) then {_is_statement_result("line")}
                    else (select count(*) from _sp_lines) > 1 end
        from _sp_lines where rowid = (select min(rowid) from _sp_lines)
        """
    ).fetchall()
    if not document:
        return False
    with contextlib.suppress(duckdb.Error):
        con.execute(
            f"""
            create or replace temp table _sp_document as
            select unnest(case when {_is_statement_result("json")}
                               then json_extract(json, '$.statements[*]')
                               else [json] end)::varchar as line
            from read_json({path}, format = 'unstructured', records = false,
                           columns = {{'json': 'JSON'}}, maximum_object_size = {_MAX_TEXT})
            """
        )
        con.execute("create or replace temp table _sp_lines as from _sp_document")
        con.execute("drop table _sp_document")
        return True
    return False


_TYPED = "_sp_x"  # the typed rows (dedup.TYPED's columns) of a statement file

# What makes two statements with one id the same statement: the typed values plus
# the statement's own timestamp (``timestamp`` falls back to ``stored``, which an LRS
# sets and which differs between exports of one statement).
_CONTENT = [
    "statement_id",
    "person_key",
    "verb_id",
    "object_id",
    "registration",
    "try_cast(json_extract_string(payload, '$.timestamp') as timestamptz)",
    "result_score_scaled",
    "result_score_raw",
    "result_score_min",
    "result_score_max",
    "result_success",
    "result_completion",
    "result_duration_seconds",
    "progress",
    "voids_statement_id",
]


def _checked_sql(validate: bool) -> str:
    """``_sp_x``: every statement checked, cleaned and its actor looked up in one pass
    over the lines (dedup.TYPED's columns). Persons by the identifier the actor carries:
    account.name = employee_id, or the keyed hash of the mbox address or of the
    mbox_sha1sum (``audit.person_identity`` holds both for every HR e-mail)."""
    return f"""
        create or replace temp table {_TYPED} as
        select line_no, valid, statement_id, person_key, verb as verb_id,
               case when object_kind in ('Activity', 'StatementRef') then object end
                   as object_id,
               object_id in (select content_id from raw.lms_catalog) as object_in_catalog,
               registration, coalesce(ts, stored_ts) as timestamp, stored_ts as stored,
               scaled as result_score_scaled, score_raw as result_score_raw,
               score_min as result_score_min, score_max as result_score_max,
               success as result_success, completion as result_completion,
               case when duration_valid
                    then {_duration_seconds("duration_parts")} end as result_duration_seconds,
               progress_pct / 100.0 as progress,
               false as voided,
               case when verb = '{VOIDED}' and object_kind = 'StatementRef'
                    then try_cast(object as uuid)::varchar end as voids_statement_id,
               object_kind = 'SubStatement' as sub_statement,
               {_problems()} as problems,
               case when valid then {_payload()}
                    else '{{"bytes":' || strlen(line) || '}}' end
                   as payload
        from (
            select t.*,
                   coalesce(id_value, case when valid and j_id is null
                                           then sp_statement_uuid(line) end) as statement_id,
                   case when actor_kind = 'Agent'
                        then coalesce(pa.person_key, pm.person_key, ps.person_key) end
                       as person_key
            from ({_typed_sql(validate)}) t
            left join _sp_persons pa on pa.kind = 'account' and pa.value = t.account
            left join _sp_persons pm on pm.kind = 'mbox'
                and pm.value = case when t.email is not null then sp_email_hash(t.email) end
            left join _sp_persons ps on ps.kind = 'mbox'
                and ps.value = case when t.sha1sum is not null
                                    then sp_sha1sum_hash(t.sha1sum) end
        )
        """


def _check_statements(con: duckdb.DuckDBPyConnection) -> None:
    """``_sp_x`` from ``_sp_lines``, each line parsed once. Should a line that starts like
    an object not be JSON (a hand-edited export), the query fails and is repeated with
    every line validated first: such a file costs up to twice as much, every other file a
    parse per line less (a tenth of the query). An export cut off in its last line (the
    likeliest broken file) is validated right away."""
    [(last_is_json,)] = con.execute(
        "select bool_and(json_valid(line)) from _sp_lines "
        "where rowid = (select max(rowid) from _sp_lines)"
    ).fetchall()
    checked = False
    if last_is_json is not False:
        with contextlib.suppress(duckdb.InvalidInputException):
            con.execute(_checked_sql(validate=False))
            checked = True
    if not checked:
        con.execute(_checked_sql(validate=True))
    _check_sub_statements(con)


def _sub_statement_rules() -> list[_Rule]:
    """A SubStatement's rules (xAPI 1.0.3 §2.4.4.3): a statement's, less what only a
    statement needs (a time, an employee as actor: the SubStatement may plan someone
    else's activity, or a group's), plus what it must not have."""
    own = [rule for rule in _rules() if rule[1] not in _STATEMENT_ONLY]
    return [
        (
            "j_id is not null or j_stored is not null or j_version is not null "
            "or json_exists(line, '$.authority')",
            "invalid_object",
            lit("a SubStatement must not have id, stored, version or authority"),
        ),
        *own,
        (
            "object_kind = 'SubStatement'",
            "invalid_object",
            lit("a SubStatement must not contain a SubStatement"),
        ),
    ]


_STATEMENT_ONLY = ("invalid_id", "no_time", "group_actor", "unknown_actor")


def _check_sub_statements(con: duckdb.DuckDBPyConnection) -> None:
    """Statements whose object is a SubStatement break ``invalid_object`` when the
    SubStatement breaks a rule. Checked apart, and only when a file has any: they are
    rare (planned or proposed activity), and checking the object of every statement
    again would cost every file."""
    [(count,)] = con.execute(f"select count(*) from {_TYPED} where sub_statement").fetchall()
    if not count:
        return
    objects = f"""
        select line_no, json_extract(l.line, '$.object')::varchar as line
        from ({_NUMBERED_LINES}) l
        where line_no in (select line_no from {_TYPED} where sub_statement)"""
    rules = [problem(*rule) for rule in _of_statements(_sub_statement_rules())]
    con.execute(
        f"""
        update {_TYPED}
        set problems = list_append(problems, {{
            'code': 'invalid_object',
            'msg': 'object: the SubStatement breaks a rule: ' || s.sub_problems[1].msg}})
        from (select line_no as sub_line_no, {problems_list(rules)} as sub_problems
              from ({_typed_sql(validate=True, lines=objects)})) s
        where s.sub_line_no = {_TYPED}.line_no and len(s.sub_problems) > 0
        """
    )


def _read_error(exc: BaseException) -> str:
    """The reader's first line (the later ones quote the file's text, which may name a
    person), and what it means when the text is no UTF-8."""
    first = str(exc).strip().splitlines()[0]
    line = re.search(r"Line: (\d+)", first)
    if line and "not utf-8 encoded" in str(exc).lower():
        return f"line {line.group(1)} is not UTF-8 text"
    return first


@dataclass(frozen=True)
class StagedFile:
    """A statement file read and checked into temp tables, or why it cannot be read."""

    unit: str = "line"  # what a row number counts: 'line' or 'element' (of an array)
    unreadable: str | None = None


def stage_statement_file(con: duckdb.DuckDBPyConnection, file: LandingFile) -> StagedFile:
    """Read and check a statement file into ``_sp_x``: temp tables only, so the runner
    does this before the file's transaction, where a failed query
    (``_check_statements``) would abort it."""
    try:
        unit = _read_lines(con, file)
    except (duckdb.Error, OSError, EOFError) as exc:
        return StagedFile(unreadable=_read_error(exc))
    # Who the identifiers are (the least person key where HR gives one to several).
    con.execute(
        """
        create or replace temp table _sp_persons as
        select 'account' as kind, employee_id as value, min(person_key) as person_key
        from published.employee_directory group by all
        union all
        select 'mbox', email_hash, min(person_key) from audit.person_identity group by all
        """
    )
    _check_statements(con)
    con.execute("drop table _sp_lines")  # a file's text need not stay in memory
    return StagedFile(unit)


def load_statement_file(
    con: duckdb.DuckDBPyConnection,
    file: LandingFile,
    staged: StagedFile,
    result: FileResult,
    loaded_at: datetime,
) -> FileResult:
    """Load a staged file (``stage_statement_file``): inside the file's transaction."""
    if staged.unreadable is not None:
        return quarantine_file(
            con,
            result,
            1,
            "malformed_json",
            "cannot be read as JSON lines or a JSON array of statements "
            f"({staged.unreadable}); export it again as UTF-8 JSON",
        )
    result.rows_in = con.execute(f"select count(*) from {_TYPED}").fetchone()[0]
    resolve_outcomes(
        con, "lms_statements", ("statement_id",), _CONTENT, immutable=True, typed=_TYPED
    )
    raw_columns = [name for name, _ in RAW_TABLES["lms_statements"]]
    insert_loaded(con, "lms_statements", raw_columns, lineage_values(file, loaded_at))
    con.execute(
        f"""
        insert into audit.quarantine
        select 'lms_statements', {lit(file.relative)}, line_no,
               payload, reason_code,
               {lit(file.relative)} || ' {staged.unit} ' || line_no || ': ' || case
                   when reason_code = 'conflicting_duplicate' then
                       'statement id ' || statement_id || ' was already stored with '
                       || 'different content; an LRS never changes a stored statement: '
                       || 'give the corrected statement a new id (and void the old one)'
                   else {problems_message("problems")}
               end,
               now()::timestamp
        from {OUTCOME} where outcome = 'quarantined' order by line_no
        """
    )
    return tally(con, result, OUTCOME)


def apply_voiding_and_catalog(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Table-wide, because a voiding statement or a catalogue entry may arrive in a
    later file than the statements it concerns. A voiding statement cannot itself be
    voided (xAPI 1.0.3 §2.3.2)."""
    voided = con.execute(
        f"""
        update raw.lms_statements s set voided = true
        where not voided and verb_id <> '{VOIDED}'
          and statement_id in (select voids_statement_id from raw.lms_statements
                               where voids_statement_id is not null)
        """
    ).fetchone()[0]
    flagged = con.execute(
        """
        update raw.lms_statements s
        set object_in_catalog = s.object_id in (select content_id from raw.lms_catalog)
        where object_in_catalog is distinct from
              (s.object_id in (select content_id from raw.lms_catalog))
        """
    ).fetchone()[0]
    return {"newly_voided": voided, "catalog_flag_updates": flagged}
