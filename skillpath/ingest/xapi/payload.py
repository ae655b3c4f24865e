"""What is stored of a statement and how it is named: the payload without anything
that identifies a person, and the deterministic id of a statement exported without one."""

from __future__ import annotations

import json
import uuid

from skillpath.ingest.sql import lit

# Namespace of the deterministic ids given to statements exported without one.
_STATEMENT_NAMESPACE = uuid.UUID("5b8e7d2a-9c1f-5e3b-8a47-2f0d6c9e1b34")
# Properties an LRS sets itself; left out of the content that names an id-less statement.
_LRS_PROPERTIES = ("stored", "authority", "version")
# Context properties that name persons (the last two are xAPI 2.0's): not in payloads.
_CONTEXT_PERSONS = ("instructor", "team", "contextAgents", "contextGroups")


def payload_sql() -> str:
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


def statement_uuid(line: str | None) -> str | None:
    """UUID5 of the canonical JSON (sorted keys, LRS-set properties left out): the same
    statement exported twice without an id gets the same id, so it is deduplicated."""
    if line is None:
        return None
    statement = {k: v for k, v in json.loads(line).items() if k not in _LRS_PROPERTIES}
    canonical = json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return str(uuid.uuid5(_STATEMENT_NAMESPACE, canonical))
