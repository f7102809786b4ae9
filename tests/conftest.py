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
