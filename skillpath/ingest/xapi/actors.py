"""Matching a statement's actor to an employee, without clear-text identifiers in the
warehouse. An Agent is the employee whose

- ``employee_id`` is its ``account.name`` (``published.employee_directory``), or
- e-mail is its ``mbox`` (``mailto:`` + address, compared as a keyed hash), or
- e-mail's SHA1 is its ``mbox_sha1sum`` (compared as a keyed hash of that SHA1).

``audit.person_identity`` holds both keyed hashes of every HR e-mail
(``privacy.register_functions`` defines the hash functions). A Group matches nobody
(records are per person); an actor that matches no employee is quarantined as
``unknown_actor`` (``rules``) and retried when a later HR export knows the person."""

from __future__ import annotations

import duckdb

PERSONS = "_sp_persons"  # kind ('account' | 'mbox'), value, person_key

# The person key of a typed statement (``fields.typed_sql``'s ``t``), joined by
# ``PERSON_JOINS``.
PERSON_KEY = """
    case when actor_kind = 'Agent'
         then coalesce(pa.person_key, pm.person_key, ps.person_key) end"""

PERSON_JOINS = f"""
    left join {PERSONS} pa on pa.kind = 'account' and pa.value = t.account
    left join {PERSONS} pm on pm.kind = 'mbox'
        and pm.value = case when t.email is not null then sp_email_hash(t.email) end
    left join {PERSONS} ps on ps.kind = 'mbox'
        and ps.value = case when t.sha1sum is not null then sp_sha1sum_hash(t.sha1sum) end"""


def stage_persons(con: duckdb.DuckDBPyConnection) -> None:
    """Who the identifiers are (the least person key where HR gives one to several)."""
    con.execute(
        f"""
        create or replace temp table {PERSONS} as
        select 'account' as kind, employee_id as value, min(person_key) as person_key
        from published.employee_directory group by all
        union all
        select 'mbox', email_hash, min(person_key) from audit.person_identity group by all
        """
    )
