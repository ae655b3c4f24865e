"""The erasure suppression list, applied before loading: a row or statement of a person
erased with ``skillpath erase`` (or blocked with ``--suppress-only``) that a new delivery
still carries is counted in ``audit.ingest_log.rows_erased`` and dropped from the typed
rows before anything is deduplicated, loaded or quarantined, so neither the row nor its
payload is kept (docs/privacy.md, Erasure).

The list holds keyed tokens (``privacy.suppression_token``), not person keys, so a
delivery's identifiers are turned into tokens inside DuckDB (``privacy.register_functions``)
— once per distinct identifier, and only for rows that matched no current person (an
erased person is in no directory), so a file of a million statements by known persons
costs one ``exists`` query more. Nothing is computed while the list is empty.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from skillpath.ingest.sql import ident

# How an identifier becomes its suppression token (privacy.register_functions).
PERSON_KEY = "sp_person_token({})"
EMPLOYEE_ID = "sp_person_token(sp_person_key({}))"
EMAIL = "sp_identity_token(sp_email_hash({}))"
SHA1SUM = "sp_identity_token(sp_sha1sum_hash({}))"

# the ledger message of a delivery with such rows (``.format(rows)``)
NOTE = (
    "{} row(s) of erased persons counted as erased and not loaded "
    "(skillpath erase; audit.erasure_suppression)"
)


@dataclass(frozen=True)
class Identifier:
    """A column of the typed rows that names a person, how its token is computed
    (``PERSON_KEY``, ``EMPLOYEE_ID``...), and which rows are worth checking."""

    column: str
    token: str
    where: str = "true"


def active(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether anyone is on the suppression list."""
    [(listed,)] = con.execute("select exists (select 1 from audit.erasure_suppression)").fetchall()
    return bool(listed)


def _erased_values(
    con: duckdb.DuckDBPyConnection, typed: str, identifier: Identifier, name: str
) -> None:
    """``name``: the distinct values of the identifier whose token is listed."""
    column = ident(identifier.column)
    con.execute(
        f"""
        create or replace temp table {name} as
        select value from (
            select distinct {column} as value from {typed}
            where {column} is not null and ({identifier.where})
        ) where {identifier.token.format("value")}
                in (select token from audit.erasure_suppression)
        """
    )


def _apply(
    con: duckdb.DuckDBPyConnection, typed: str, identifiers: list[Identifier], statement: str
) -> int:
    """Run ``statement`` on the typed rows, its ``{where}`` a condition that some
    identifier names an erased person; returns the rows it changed. The erased values
    (identifiers in clear) are dropped again at once."""
    names = [f"_sp_erased_{i}" for i in range(len(identifiers))]
    try:
        conditions = []
        for identifier, name in zip(identifiers, names, strict=True):
            _erased_values(con, typed, identifier, name)
            column = ident(identifier.column)
            conditions.append(f"(({identifier.where}) and {column} in (select value from {name}))")
        [(count,)] = con.execute(statement.format(where=" or ".join(conditions))).fetchall()
    finally:
        for name in names:
            con.execute(f"drop table if exists {name}")
    return int(count)


def drop_erased(con: duckdb.DuckDBPyConnection, typed: str, identifiers: list[Identifier]) -> int:
    """Delete the rows of ``typed`` that belong to erased persons; returns how many."""
    if not identifiers or not active(con):
        return 0
    return _apply(con, typed, identifiers, f"delete from {typed} where {{where}}")


def clear_references(
    con: duckdb.DuckDBPyConnection, typed: str, key_column: str, text_column: str
) -> int:
    """Clear a reference to an erased person in someone else's row (a manager): the row
    is loaded, without them, as erasure left the stored rows (``gdpr.erasure``)."""
    if not active(con):
        return 0
    return _apply(
        con,
        typed,
        [Identifier(key_column, PERSON_KEY)],
        f"update {typed} set {ident(key_column)} = null, {ident(text_column)} = null "
        "where {where}",
    )
