"""Shared fixtures. Tests run on synthetic twins and small hand-made data only."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "data_specs"
ALMERE = SPECS / "almere_aanpak45plus.yaml"


@pytest.fixture
def spec_copy(tmp_path: Path):
    """Copy a bundled spec (and the models folder) into tmp_path, so tests can edit it."""

    def _copy(name: str = "almere_aanpak45plus.yaml") -> Path:
        (tmp_path / "data_specs").mkdir(exist_ok=True)
        if not (tmp_path / "models").exists():
            shutil.copytree(ROOT / "models", tmp_path / "models")
        dst = tmp_path / "data_specs" / name
        shutil.copy(SPECS / name, dst)
        return dst

    return _copy


@pytest.fixture(scope="session")
def bundled_reports(tmp_path_factory):
    """Every bundled spec on its small twin (n = 600), run once per session: the batch result
    and its report folder (English pages). Shared by the disclosure audit and the Dutch
    rendering check, so the suite runs the whole batch only once."""
    from causal.batch import run_batch

    out = tmp_path_factory.mktemp("bundled") / "r"
    batch = run_batch([SPECS], out=out, workers=1, n=600)
    return batch, out
