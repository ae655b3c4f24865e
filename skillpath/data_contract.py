"""The tables of ``docs/data-contract.md``, rendered from the declarations the code runs
on, so the document cannot say something the loaders do not do:

- landing files and their columns: ``skillpath.ingest.sources.SOURCES``;
- quarantine reason codes: ``skillpath.ingest.reasons.REASONS``;
- raw and audit tables: ``skillpath.warehouse``, ``skillpath.publish.tables`` and
  ``skillpath.publish.fairness``;
- marts: the descriptions of ``dbt_project/models/marts/*.yml``.

The prose around them is written by hand. ``python -m skillpath.data_contract`` rewrites
the generated blocks in place; ``--check`` only says whether they are current (a test
runs it)."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import yaml

from skillpath.gdpr.tables import GDPR_TABLES
from skillpath.ingest.reasons import REASONS
from skillpath.ingest.sources import SOURCES, STATEMENT_SUFFIXES, Column, Source
from skillpath.publish.fairness import FAIRNESS_TABLES
from skillpath.publish.tables import PUBLISH_TABLES
from skillpath.warehouse import AUDIT_TABLES, RAW_TABLES, qualified

DOC = Path("docs/data-contract.md")
MARTS_DIR = Path("dbt_project/models/marts")
_BLOCK = re.compile(
    r"(<!-- generated: (?P<name>[a-z-]+) -->\n).*?(<!-- end generated: (?P=name) -->)",
    re.DOTALL,
)
_KIND = {
    "text": "text",
    "int": "whole number",
    "date": "date (YYYY-MM-DD)",
    "timestamp": "timestamp (ISO 8601, e.g. 2024-05-01T09:30:00Z)",
    "bool": "true / false",
    "enum": "one of the accepted values",
    "person": "employee id",
    "person_ref": "employee id (may be unknown)",
    "email": "e-mail address",
}


def _table(header: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    head = list(header)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _code(text: str) -> str:
    return f"`{text}`"


_ABSENT = {
    "leaver": "absent persons become leavers",
    "inactive": "absent items become inactive",
    "removed": "absent rows are removed",
    "kept": "absent keys keep their last version",
}


def _delivery(source: Source) -> str:
    """docs/operations.md explains these."""
    if source.delivery == "event":
        return f"events: appended, deduplicated by {', '.join(source.key)}"
    return f"snapshot: the latest delivery is the truth; {_ABSENT[source.retire]}"


def landing_files() -> str:
    return _table(
        ("file", "table", "required", "key", "delivery"),
        (
            (
                _code(s.path + "/" if s.is_statements else s.pattern),
                _code(qualified(s.table)),
                "**required**" if s.required else "optional",
                ", ".join(s.key),
                _delivery(s),
            )
            for s in SOURCES
        ),
    )


def _values(col: Column) -> str:
    if col.accepted:
        return " \\| ".join(col.accepted)
    if col.low is not None and col.high is not None:
        return f"{col.low}–{col.high}"
    return ""


def _stored(col: Column) -> str:
    if col.raw_name is None:
        return "not stored (identity matching only)"
    if col.raw_name != col.name:
        return f"as {_code(col.raw_name)} (keyed hash)"
    return _code(col.name)


def _columns(source: Source) -> str:
    table = _table(
        ("column", "type", "in header", "empty allowed", "values", "stored"),
        (
            (
                _code(c.name),
                _KIND[c.kind],
                "required" if c.required else "optional",
                "yes" if c.nullable else "no",
                _values(c),
                _stored(c),
            )
            for c in source.columns
        ),
    )
    header = ",".join(c.name for c in source.columns)
    ignored = (
        f"\nRead but never stored: {', '.join(_code(c) for c in source.ignored_columns)}.\n"
        if source.ignored_columns
        else ""
    )
    return f"#### `{source.path}`\n\n{table}\nHeader: `{header}`\n{ignored}"


def landing_columns() -> str:
    return "\n".join(_columns(s) for s in SOURCES if not s.is_statements)


def statement_files() -> str:
    return ", ".join(_code(s) for s in STATEMENT_SUFFIXES) + "\n"


def reason_codes() -> str:
    return _table(
        ("reason_code", "for", "meaning and what to do"),
        ((_code(r.code), ", ".join(r.scope), r.meaning) for r in REASONS.values()),
    )


def _columns_list(columns: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"{name} ({type_})" for name, type_ in columns)


def raw_tables() -> str:
    return _table(
        ("table", "columns"),
        ((_code(qualified(t)), _columns_list(cols)) for t, cols in RAW_TABLES.items()),
    )


def audit_and_published_tables() -> str:
    tables = {("audit", t): cols for t, cols in AUDIT_TABLES.items()} | PUBLISH_TABLES
    tables |= FAIRNESS_TABLES | GDPR_TABLES
    return _table(
        ("table", "columns"),
        ((_code(f"{s}.{t}"), _columns_list(cols)) for (s, t), cols in sorted(tables.items())),
    )


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    end = re.search(r"(?<=\.)\s", text)
    return text[: end.start()] if end else text


def marts(root: Path) -> str:
    rows = []
    for path in sorted((root / MARTS_DIR).glob("*.yml")):
        for model in yaml.safe_load(path.read_text()).get("models", []):
            description = _first_sentence(model.get("description", ""))
            rows.append((_code(f"marts.{model['name']}"), description.replace("|", "\\|")))
    return _table(("table", "what one row is"), rows)


def blocks(root: Path) -> dict[str, Callable[[], str]]:
    return {
        "landing-files": landing_files,
        "landing-columns": landing_columns,
        "statement-files": statement_files,
        "reason-codes": reason_codes,
        "raw-tables": raw_tables,
        "audit-tables": audit_and_published_tables,
        "marts": lambda: marts(root),
    }


def render(text: str, root: Path) -> str:
    """``text`` with every generated block replaced by its current content."""
    generators = blocks(root)
    unknown = {m.group("name") for m in _BLOCK.finditer(text)} - set(generators)
    if unknown:
        raise ValueError(f"unknown generated block(s): {', '.join(sorted(unknown))}")
    return _BLOCK.sub(lambda m: m.group(1) + generators[m.group("name")]() + m.group(3), text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report a stale document")
    parser.add_argument("--root", type=Path, default=Path("."), help="the repository")
    args = parser.parse_args(argv)
    doc = args.root / DOC
    current = doc.read_text()
    fresh = render(current, args.root)
    if fresh == current:
        return 0
    if args.check:
        print(f"{doc} is stale: run python -m skillpath.data_contract", file=sys.stderr)
        return 1
    doc.write_text(fresh)
    print(f"rewrote {doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
