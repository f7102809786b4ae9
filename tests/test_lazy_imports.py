"""`causal check` validates every estimator's options without loading scipy.stats and
scipy.special (about half of the command's CPU time before): the estimator modules bind a
lazily loading module. The sub-commands in their own modules (`causal context`, `causal
validate`) load only when used (causal.cli_mount)."""
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
for name in ("scipy.stats", "scipy.special", "causal.validate", "causal.context.cli",
             "pandas"):
    m = sys.modules.get(name)
    print(name, "loaded" if m is not None and type(m).__name__ == "module" else "deferred")
"""


def _states(spec) -> dict[str, str]:
    out = subprocess.run([sys.executable, "-c", PROBE, str(spec)], capture_output=True,
                         text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return dict(line.split() for line in out.stdout.strip().splitlines()[-5:])


def test_check_defers_scipy_and_the_other_commands():
    state = _states(SPECS)
    state.pop("pandas")  # panel twins' periods are checked by pandas: loaded when needed
    assert state == {"scipy.stats": "deferred", "scipy.special": "deferred",
                     "causal.validate": "deferred", "causal.context.cli": "deferred"}, state


def test_check_of_a_spec_without_periods_never_loads_pandas():
    """ISO dates are read by the standard library (causal.spec_yaml.when), so a spec whose
    check needs no pandas (no panel periods) leaves it unloaded: about 0.3 s of the 0.8."""
    state = _states(SPECS / "almere_focus_op_werk.yaml")
    assert state["pandas"] == "deferred" and state["scipy.stats"] == "deferred", state


def test_lazily_mounted_commands_run_and_are_listed():
    from typer.testing import CliRunner

    from causal.cli import app

    r = CliRunner().invoke(app, ["context", "aow", "1957-05-12", "--on", "2018-03-01"])
    assert r.exit_code == 0 and "74.38" in r.output, r.output
    listed = CliRunner().invoke(app, ["--help"]).output
    assert "context" in listed and "validate" in listed
    typo = CliRunner().invoke(app, ["contex"])
    assert typo.exit_code == 2 and "Did you mean 'context'?" in typo.output, typo.output


def test_deferred_module_still_works():
    probe = ("from causal.lazyimport import defer; defer('scipy.stats'); "
             "from scipy import stats; print(round(stats.norm.ppf(0.975), 4))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    assert out.stdout.strip() == "1.96", out.stderr[-2000:]


def test_deferred_package_is_the_real_one_once_used():
    """``defer_package('pandas')``: ``import pandas as pd`` binds a stand-in; the first use
    loads pandas, and its classes, submodules and later imports are pandas' own."""
    probe = ("import sys; from causal.lazyimport import defer_package; defer_package('pandas'); "
             "import pandas as pd; assert type(sys.modules['pandas']).__name__ == '_Deferred'; "
             "df = pd.DataFrame({'a': [1, 2]}); import pandas as real; import pandas.api.types "
             "as t; assert isinstance(df, real.DataFrame) and t.is_integer_dtype(df['a']); "
             "assert type(sys.modules['pandas']).__name__ == 'module'; print(int(df.a.sum()))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    assert out.stdout.strip() == "3", out.stderr[-2000:]
