"""Pseudonymisation at the door: persons enter the warehouse only as ``person_key``.

A keyed hash (HMAC-SHA256), not a plain hash, because employee ids and e-mail addresses
are guessable: without the key nobody can recompute a person's key from their id, and
rotating the key unlinks history. Names and e-mail addresses are only ever hashed here,
never stored.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import re
from collections.abc import Callable

import duckdb

# Extra CSV columns whose name suggests personal data are dropped rather than kept in
# ``_extra``: an HRIS export gaining a "private_email" column must not leak it.
PERSONAL_COLUMN = re.compile(
    r"(name|mail|phone|mobile|address|street|birth|ssn|social|passport|iban|salary|national)",
    re.I,
)


def keyed_hash(value: str, key: bytes) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def person_key(employee_id: str, key: bytes) -> str:
    """The one identifier of a person in every table (docs/data-contract.md, The warehouse)."""
    return keyed_hash(employee_id.strip(), key)


def email_hash(email: str, key: bytes) -> str:
    """Matches xAPI ``mbox`` actors to HR records without keeping the address; the
    address is case-insensitive, as mail systems treat it."""
    return keyed_hash(email.strip().lower(), key)


def mbox_sha1sum_hash(sha1sum: str, key: bytes) -> str:
    """Matches xAPI ``mbox_sha1sum`` actors (the SHA1 of ``mailto:<address>``, which LMSs
    send instead of the address for privacy) to HR records. Kept in the same table as
    ``email_hash``, with its own prefix, so the two kinds of identifier cannot collide."""
    return keyed_hash("mbox_sha1sum:" + sha1sum.strip().lower(), key)


def email_sha1sum(email: str) -> str:
    """The ``mbox_sha1sum`` an LMS computes for an address (lower case, as mail systems
    treat addresses and as ``email_hash`` does)."""
    return hashlib.sha1(("mailto:" + email.strip().lower()).encode()).hexdigest()


def define_function(
    con: duckdb.DuckDBPyConnection, name: str, func: Callable[[str | None], str | None]
) -> None:
    """(Re)define a scalar VARCHAR → VARCHAR SQL function on this connection."""
    with contextlib.suppress(duckdb.Error):  # not defined on this connection yet
        con.remove_function(name)
    con.create_function(
        name, func, ["VARCHAR"], "VARCHAR", null_handling="special", side_effects=False
    )


def register_functions(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    """SQL functions bound to this key, so ingestion can pseudonymise inside DuckDB:
    ``sp_person_key``, ``sp_email_hash``, ``sp_email_sha1sum_hash`` (an address's
    ``mbox_sha1sum``, hashed) and ``sp_sha1sum_hash`` (a statement's ``mbox_sha1sum``,
    hashed). Each value is hashed once and remembered: statements call them per row, and
    few people make many statements."""

    def cached(func: Callable[[str], str]) -> Callable[[str | None], str | None]:
        @functools.lru_cache(maxsize=1 << 16)
        def call(value: str | None) -> str | None:
            return None if value is None else func(value)

        return call

    for name, func in (
        ("sp_person_key", lambda v: person_key(v, key)),
        ("sp_email_hash", lambda v: email_hash(v, key)),
        ("sp_email_sha1sum_hash", lambda v: mbox_sha1sum_hash(email_sha1sum(v), key)),
        ("sp_sha1sum_hash", lambda v: mbox_sha1sum_hash(v, key)),
    ):
        define_function(con, name, cached(func))
