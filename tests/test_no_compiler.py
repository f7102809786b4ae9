"""The multilevel model without PyTensor's C compiler (issue 20): Windows machines and secure
environments often have none. Run in a fresh process with ``PYTENSOR_FLAGS=cxx=``, since
PyTensor reads its configuration once, at import."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

SCRIPT = """
import json, pytensor
from causal.estimators.multilevel import MultilevelOptions, bayesian_multilevel, compile_mode
from causal.pipeline import prepare
from tests.test_multilevel import twin_spec, study_of
assert pytensor.config.cxx == "", pytensor.config.cxx
spec = twin_spec(3, 1200, true_effect_pp=6.0, min_cell=1)
st, tw = study_of(spec)
(e,) = bayesian_multilevel(st, MultilevelOptions(draws=300, tune=300, chains=2, seed=1))
print(json.dumps({"mode": compile_mode(), "net": e.net, "lo": e.ci_low, "hi": e.ci_high,
                  "truth": e.truth, "warnings": e.warnings}))
"""


def test_multilevel_runs_without_a_c_compiler():
    env = {**os.environ, "PYTENSOR_FLAGS": "cxx=", "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["mode"] == "NUMBA"
    assert out["lo"] < out["net"] < out["hi"]
    # a real posterior, not a stub: the interval is finite, narrower than the outcome's
    # range, and on this well-specified twin it contains the truth
    assert 0 < out["hi"] - out["lo"] < 40
    assert out["lo"] <= out["truth"] <= out["hi"]
