"""``ml`` and ``orchestration`` are generic top-level names (docs/architecture.md,
"Package names"): the project must be the only distribution that provides them here, and
``orchestration`` must refuse to run over another project's ``ml``."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import ml
import orchestration

ROOT = Path(__file__).resolve().parents[1]


def test_ml_and_orchestration_are_this_projects_packages() -> None:
    for package in (ml, orchestration):
        assert Path(package.__file__).resolve().parent.parent == ROOT
        assert package.PROJECT == "skillpath"
        # the editable install and a source tree's egg-info both name skillpath
        assert set(packages_distributions().get(package.__name__, ())) == {"skillpath"}


def test_orchestration_refuses_a_foreign_ml(tmp_path: Path) -> None:
    foreign = tmp_path / "ml"
    foreign.mkdir()
    (foreign / "__init__.py").write_text('"""Someone else\'s ml."""\n')
    done = subprocess.run(
        [sys.executable, "-c", "import orchestration"],
        cwd=tmp_path,  # the current directory comes first on sys.path
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "another installed distribution also provides a top-level 'ml'" in done.stderr
