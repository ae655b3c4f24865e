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
from collections.abc import Callable, Iterable

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


# What the suppression key is derived for: a fixed context, so the key of the
# suppression list is neither the pseudonym key nor guessable from a person key.
_SUPPRESSION_CONTEXT = b"skillpath erasure suppression list v1"


@functools.lru_cache(maxsize=4)
def _suppression_key(key: bytes) -> bytes:
    return hmac.new(key, _SUPPRESSION_CONTEXT, hashlib.sha256).digest()


def suppression_token(identity: str, key: bytes) -> str:
    """An erased person's entry on the suppression list (``audit.erasure_suppression``):
    a keyed hash of their person key (``"person:" + person_key``) or of a keyed hash of
    their e-mail (``"identity:" + email_hash``), under a key derived from the pseudonym
    key for this purpose only. The person key itself is deleted on erasure; this token
    cannot be turned back into it or into the employee id, yet ingestion recomputes it
    from a new delivery and so recognises the person (docs/privacy.md, Erasure)."""
    return hmac.new(_suppression_key(key), identity.encode(), hashlib.sha256).hexdigest()


def person_token(person_key_value: str, key: bytes) -> str:
    return suppression_token("person:" + person_key_value, key)


def identity_token(identity_hash: str, key: bytes) -> str:
    """The token of an ``audit.person_identity`` hash (e-mail or ``mbox_sha1sum``)."""
    return suppression_token("identity:" + identity_hash, key)


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
    ``mbox_sha1sum``, hashed), ``sp_sha1sum_hash`` (a statement's ``mbox_sha1sum``,
    hashed), and ``sp_person_token`` / ``sp_identity_token`` (the suppression list's
    tokens of a person key / an identity hash). Each value is hashed once and
    remembered: statements call them per row, and few people make many statements."""

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
        ("sp_person_token", lambda v: person_token(v, key)),
        ("sp_identity_token", lambda v: identity_token(v, key)),
    ):
        define_function(con, name, cached(func))


def suppressed_persons(
    con: duckdb.DuckDBPyConnection, person_keys: Iterable[str], key: bytes
) -> set[str]:
    """Which of these person keys belong to erased persons (their token is on the
    suppression list): publishing drops them, whatever a candidate was computed from."""
    listed = {r[0] for r in con.execute("select token from audit.erasure_suppression").fetchall()}
    if not listed:
        return set()
    return {k for k in set(person_keys) if person_token(k, key) in listed}
