"""`causal check` validates every estimator's options without loading scipy.stats (about half
of the command's CPU time before): the estimator modules bind a lazily loading module."""
from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT, SPECS

PROBE = """
import sys
from typer.testing import CliRunner
from causal.cli import app
r = CliRunner().invoke(app, ["check", sys.argv[1]])
assert r.exit_code == 0, r.output
m = sys.modules.get("scipy.stats")
print("loaded" if m is not None and type(m).__name__ == "module" else "deferred")
"""


def test_check_defers_scipy_stats():
    out = subprocess.run([sys.executable, "-c", PROBE, str(SPECS)], capture_output=True,
                         text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "deferred", out.stdout


def test_deferred_module_still_works():
    probe = ("from causal.lazyimport import defer; defer('scipy.stats'); "
             "from scipy import stats; print(round(stats.norm.ppf(0.975), 4))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    assert out.stdout.strip() == "1.96", out.stderr[-2000:]
