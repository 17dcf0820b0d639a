"""The import rules of docs/CONVENTIONS.md hold, measured from the code with import-linter.

A service imports ``tickcast`` and third-party packages, never another service, and there is
no import circle inside ``tickcast`` or inside a service. The contracts live in the root
``pyproject.toml`` (``[tool.importlinter]``); the second test proves they catch a violation.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = ["tickcast", "trade_producer", "candle_builder", "feature_pipeline", "training", "inference", "gateway"]


def lint_imports(cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_services_meet_only_through_tickcast_and_nothing_imports_in_a_circle():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout, result.stdout


def test_the_rules_catch_a_service_importing_another_and_a_circle(tmp_path: Path):
    # A stand-in tree with the same package names, one of each violation planted in it.
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "training" / "serving.py").write_text("")
    (tmp_path / "inference" / "champion.py").write_text("from training import serving\n")
    (tmp_path / "tickcast" / "registry.py").write_text("def load():\n    from tickcast import serving\n")
    (tmp_path / "tickcast" / "serving.py").write_text("from tickcast.registry import load\n")
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    # The stand-ins come first on the path, ahead of the installed packages of the same names.
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}

    result = lint_imports(tmp_path, env)

    assert result.returncode != 0, result.stdout
    assert "inference is not allowed to import training" in result.stdout, result.stdout
    assert "- inference.champion -> training.serving" in result.stdout, result.stdout
    assert "No cycles are allowed in tickcast" in result.stdout, result.stdout
