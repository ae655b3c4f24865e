"""The rules of xAPI 1.0.3 (https://github.com/adlnet/xAPI-Spec/blob/1.0.3/xAPI-Data.md)
as SQL conditions over a statement's typed fields (``fields.typed_sql``). Each rule is a
condition, the reason code a broken statement is quarantined with, and a message that
says what to fix. Liberal where the spec is (objectType defaults, extra properties,
partial scores, offsets and fractions in timestamps), strict where it is not."""

from __future__ import annotations

from skillpath.ingest.limits import TimeWindow
from skillpath.ingest.sql import lit, problem, problems_list
from skillpath.ingest.xapi.fields import PROGRESS, VOIDED, is_iri, is_string, text_of

# result.score property -> its typed column (NULL when absent or not a number)
_SCORE_FIELDS = {"scaled": "scaled", "raw": "score_raw", "min": "score_min", "max": "score_max"}


Rule = tuple[str, str, str]  # condition, reason code, message (SQL)


def statement_rules() -> list[Rule]:
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
            f"or not coalesce({is_iri('account_home')}, false))))",
            "invalid_actor",
            m(
                "actor must be an Agent (or Group) with exactly one identifier: mbox "
                "'mailto:…', mbox_sha1sum (40 hex digits), openid, or account with homePage "
                "(a URL) and name"
            ),
        ),
        ("j_verb is null", "missing_verb", m("the statement has no verb")),
        (
            f"j_verb is not null and not coalesce({is_iri('verb')}, false)",
            "invalid_verb_id",
            m("verb.id must be an IRI, e.g. http://adlnet.gov/expapi/verbs/completed"),
        ),
        ("j_object is null", "missing_object", m("the statement has no object")),
        (
            "j_object is not null and ("
            "not starts_with(j_object, '{') "
            "or object_kind not in ('Activity', 'Agent', 'Group', 'StatementRef', 'SubStatement')"
            f" or (object_kind = 'Activity' and not coalesce({is_iri('object')}, false))"
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
            f"verb = {lit(VOIDED)} and object_kind <> 'StatementRef'",
            "invalid_voiding",
            m("a voiding statement (verb voided) must have a StatementRef object"),
        ),
        (
            "(j_timestamp is not null and ts is null) "
            "or (j_stored is not null and stored_ts is null)",
            "invalid_timestamp",
            "case when j_timestamp is not null and ts is null then 'timestamp' else 'stored' "
            "end || ' is not an ISO 8601 date-time with a time zone "
            "(e.g. 2024-05-01T09:30:00Z)'",
        ),
        (
            "j_timestamp is null and j_stored is null",
            "no_time",
            m("neither timestamp nor stored is set"),
        ),
        (
            "(j_result is not null and not starts_with(j_result, '{')) "
            "or (j_score is not null and not starts_with(j_score, '{')) "
            f"or (j_response is not null and not {is_string('j_response')}) "
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
            m("result.score out of range: scaled must be within -1..1, raw within min..max"),
        ),
        (
            "duration is not null and not duration_valid",
            "invalid_duration",
            m("result.duration is not an ISO 8601 duration (e.g. PT1H30M)"),
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
            f"or not coalesce({is_string('j_context_statement_id')}, false) "
            f"or case when {is_string('j_context_statement_id')} "
            f"then try_cast({text_of('j_context_statement_id')} as uuid) is null end)) "
            f"or (j_platform is not null and not {is_string('j_platform')}) "
            f"or (j_revision is not null and not {is_string('j_revision')}) "
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
            m("version is neither 1.0.x nor 2.0.x"),
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


def of_statements(rules: list[Rule]) -> list[Rule]:
    """Statement rules apply to lines that are JSON objects (``valid``) only."""
    return [(f"valid and ({condition})", code, msg) for condition, code, msg in rules]


def limit_rules(max_bytes: int, max_depth: int, window: TimeWindow) -> list[Rule]:
    """What no statement may be, whatever xAPI says: longer than
    ``ingest.max_record_bytes``, nested deeper than ``ingest.max_json_depth``
    (``too_deep``, a column of ``xapi._checked_sql``), or dated outside the plausible
    window (``limits.TimeWindow``)."""
    return [
        (
            f"strlen(line) > {max_bytes}",
            "line_too_long",
            f"'the statement is ' || format('{{:,}}', strlen(line)) || "
            f"' bytes long, over the limit of {max_bytes:,} (ingest.max_record_bytes)'",
        ),
        (
            "too_deep",
            "too_deep",
            lit(
                f"the statement nests more than {max_depth} levels deep "
                "(ingest.max_json_depth): a broken or hostile export"
            ),
        ),
        (
            f"valid and ({window.condition('ts')} or {window.condition('stored_ts')})",
            "implausible_time",
            window.message(
                f"coalesce(case when {window.condition('ts')} then ts end, stored_ts)",
                "timestamp/stored",
            ),
        ),
    ]


def problems_sql(limits: list[Rule]) -> str:
    """The broken rules of a line. The list is only built for lines that break one:
    building and filtering a list of structs per row costs more than all the rules'
    conditions, and almost every statement passes."""
    rules_of_statement = statement_rules()
    rules = [
        *limits,
        ("not is_json", "malformed_json", lit("not valid JSON; fix or remove it")),
        (
            "is_json and not valid",
            "invalid_statement",
            lit("not a JSON object; a statement is an object with actor, verb and object"),
        ),
        *of_statements(rules_of_statement),
    ]
    # a line that is no statement breaks one of the first two rules
    broken = " or ".join(f"({condition})" for condition, _, _ in [*limits, *rules_of_statement])
    listed = problems_list([problem(*rule) for rule in rules])
    return f"case when not valid or {broken} then {listed} else {problems_list([])} end"


def sub_statement_rules() -> list[Rule]:
    """A SubStatement's rules (xAPI 1.0.3 §2.4.4.3): a statement's, less what only a
    statement needs (a time, an employee as actor: the SubStatement may plan someone
    else's activity, or a group's), plus what it must not have."""
    own = [rule for rule in statement_rules() if rule[1] not in _STATEMENT_ONLY]
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
