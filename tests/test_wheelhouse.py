"""Offline install (issue 20): a wheelhouse built from the lock installs with
``pip install --no-index --find-links`` into a fresh venv outside the repository, and the
examples run there. The core install only (no pymc, econml or dask): it is the smallest and
shows that the optional extras are optional. Slow (a minute or more: downloads are cached by
pip, the install is real)."""
from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def _run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, **kw)
    return r


def test_core_wheelhouse_installs_offline_and_runs_the_examples(tmp_path):
    wh = tmp_path / "wheelhouse"
    r = _run([sys.executable, str(ROOT / "scripts" / "wheelhouse.py"), "--extras", "core",
              "--out", str(wh)], cwd=ROOT)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    wheels = {p.name.split("-")[0].lower() for p in wh.glob("*.whl")}
    assert "netto_effect" in wheels and "pandas" in wheels
    assert not wheels & {"pymc", "econml", "distributed"}  # extras stay out of core

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    r = _run([str(py), "-m", "pip", "install", "--quiet", "--no-compile", "--no-index",
              "--find-links", str(wh), "netto-effect"], env=clean)
    assert r.returncode == 0, r.stderr[-3000:]

    work = tmp_path / "outside"  # not the repository: only the installed package is there
    work.mkdir()
    causal = env_dir / "bin" / "causal"
    r = _run([str(causal), "examples", "ex"], cwd=work, env=clean)
    assert r.returncode == 0, r.stderr
    r = _run([str(causal), "run", "ex/data_specs/almere_aanpak45plus.yaml", "--out", "rep",
              "-w", "1", "-q"], cwd=work, env=clean)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert (work / "rep" / "almere_aanpak45plus" / "summary.json").is_file()
    r = _run([str(py), "-c", "import causal; print(causal.__file__)"], cwd=work, env=clean)
    assert str(env_dir) in r.stdout  # the run used the installed wheel, not the checkout
    # a spec that needs an extra says which one, exit 2
    r = _run([str(causal), "check", "ex/data_specs/experimenten_meer_werk.yaml"], cwd=work,
             env=clean)
    assert r.returncode == 2 and "netto-effect[bayes]" in r.stderr, r.stderr
    assert Path(work / "ex" / "notebooks").is_dir()
