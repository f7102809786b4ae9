"""Benchmark: our ``propensity_matching`` against dowhy's propensity-score matching.

One run generates a labour-market twin (the ``individual`` generator: selection on age,
education, benefit duration, health, the cycle and a measured motivation score; about 20
covariate columns, padded with registry-like numeric covariates that carry no signal), then
times, on the same data at each size:

- ours: ``propensity_matching`` ATT with its Abadie-Imbens interval, including the logistic
  propensity fit, the matching, the variance and the balance table;
- dowhy 0.14: ``CausalModel.estimate_effect(method_name="backdoor.propensity_score_matching",
  target_units="att")``, including its own propensity fit (scikit-learn logistic
  regression); it gives a point estimate only.

Each (method, size) runs in a fresh child process, so the peak memory (``ru_maxrss``) is that
method's own; both methods first run once on a 5,000-row slice, so library imports and lazy
initialisation are outside the timing for both; "extra" is the peak minus the resident memory after loading the data.

Usage::

    .venv/bin/python benchmarks/matching.py                      # 100,000 and 1,000,000 rows
    .venv/bin/python benchmarks/matching.py --sizes 20000 50000  # quick run

Targets at 1,000,000 rows on the 2-core machine: ours under 5 s, at least 4x faster than
dowhy, peak memory under 2 GiB.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SPEC = dict(
    measure="benchmark_matching", title="benchmark twin", source={"report": "synthetic"},
    treatment={"column": "participant", "assignment": "observational"},
    outcome={"column": "work_12m", "kind": "binary", "horizon_months": 12},
    confounders=["age", "sex", "education", "benefit_months", "health_limitation",
                 "motivation", "months_to_aow", "conjunctuur"],
    estimators=[{"name": "propensity_matching"}],
    simulation=dict(generator="individual", n=1000, seed=1, below_aow=True,
                    share_treated=0.25, base_rate=0.25, true_effect_pp=6.0,
                    motivation_effect=0.6, motivation_observed=True, motivation_proxy_sd=0.0,
                    selection={"age": -0.4, "education": 0.4, "benefit_months": -0.5,
                               "health_limitation": -0.3, "cycle": 0.2, "motivation": 0.7}),
)
N_EXTRA = 9  # registry-like numeric covariates (no signal) to reach about 20 columns


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def make_data(n: int, seed: int, path: Path) -> dict:
    """Generate the twin, build the numeric covariate matrix, save it as Parquet."""
    from causal.pipeline import prepare
    from causal.spec import Spec

    spec = Spec.model_validate(SPEC)
    study = prepare(spec, n=n, seed=seed)
    X = study.design_matrix(spec.confounders)
    rng = np.random.default_rng(seed + 1)
    for j in range(N_EXTRA):
        X[f"registry_{j + 1:02d}"] = rng.normal(size=len(X))
    X["participant"] = study.d()
    X["work_12m"] = study.data["work_12m"].to_numpy()
    X.reset_index(drop=True).to_parquet(path)
    return {"n": len(X), "covariates": X.shape[1] - 2, "truth_att": study.truth.get("ATT")}


def run_ours(path: str) -> dict:
    from causal.estimators.matching import MatchingOptions, propensity_matching
    from causal.spec import Spec
    from causal.study import Study

    df = pd.read_parquet(path)
    covs = [c for c in df.columns if c not in ("participant", "work_12m")]
    spec = Spec.model_validate({**SPEC, "confounders": covs, "simulation": None})
    study = Study(spec=spec, data=df, source=path, covariates=covs)
    # warm-up on a slice, as for dowhy below: library imports are not part of the timing
    warm = Study(spec=spec, data=df.head(5000), source=path, covariates=covs)
    propensity_matching(warm, MatchingOptions(estimands=["ATT"]))
    base = _rss_mib()
    t = time.perf_counter()
    est = propensity_matching(study, MatchingOptions(estimands=["ATT"]))[0]
    secs = time.perf_counter() - t
    return {"seconds": secs, "estimate": est.net, "ci": [est.ci_low, est.ci_high],
            "rss_base_mib": base}


def run_dowhy(path: str) -> dict:
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    from dowhy import CausalModel

    df = pd.read_parquet(path)
    covs = [c for c in df.columns if c not in ("participant", "work_12m")]
    df["work_12m"] = df["work_12m"] * 100.0  # percentage points, like ours
    df["participant"] = df["participant"].astype(bool)
    model = CausalModel(data=df, treatment="participant", outcome="work_12m",
                        common_causes=covs)
    ident = model.identify_effect(proceed_when_unidentifiable=True)
    # warm-up on a slice (imports, lazy initialisation), as for ours above
    small = CausalModel(data=df.head(5000), treatment="participant", outcome="work_12m",
                        common_causes=covs)
    small.estimate_effect(small.identify_effect(proceed_when_unidentifiable=True),
                          method_name="backdoor.propensity_score_matching", target_units="att")
    base = _rss_mib()
    t = time.perf_counter()
    est = model.estimate_effect(ident, method_name="backdoor.propensity_score_matching",
                                target_units="att")
    secs = time.perf_counter() - t
    return {"seconds": secs, "estimate": float(est.value), "ci": None, "rss_base_mib": base}


def child(method: str, path: str) -> None:
    out = run_ours(path) if method == "ours" else run_dowhy(path)
    out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(out))


def in_child(method: str, path: Path) -> dict:
    r = subprocess.run([sys.executable, __file__, "--child", method, str(path)],
                       capture_output=True, text=True, cwd=ROOT)
    for line in r.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{method} failed:\n{r.stderr[-3000:]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-dowhy", action="store_true")
    ap.add_argument("--child", nargs=2, metavar=("METHOD", "PATH"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(*a.child)
        return
    print(f"uptime: {os.popen('uptime').read().strip()}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in a.sizes:
            path = Path(tmp) / f"twin_{n}.parquet"
            info = make_data(n, a.seed, path)
            ours = in_child("ours", path)
            dw = None if a.skip_dowhy else in_child("dowhy", path)
            rows.append((info, ours, dw))
            ratio = dw["seconds"] / ours["seconds"] if dw else float("nan")
            print(f"\nrows {info['n']:,}  covariate columns {info['covariates']}  "
                  f"true ATT {info['truth_att']:.2f} pp")
            print(f"  ours : {ours['seconds']:7.2f} s  ATT {ours['estimate']:6.2f} pp  "
                  f"95% CI [{ours['ci'][0]:.2f}, {ours['ci'][1]:.2f}]  peak "
                  f"{ours['peak_mib']:7.0f} MiB (extra {ours['peak_mib'] - ours['rss_base_mib']:.0f})")
            if dw:
                print(f"  dowhy: {dw['seconds']:7.2f} s  ATT {dw['estimate']:6.2f} pp  "
                      f"(no interval)        peak {dw['peak_mib']:7.0f} MiB "
                      f"(extra {dw['peak_mib'] - dw['rss_base_mib']:.0f})")
                print(f"  dowhy / ours time ratio: {ratio:.1f}x")
    print(f"\nuptime: {os.popen('uptime').read().strip()}")


if __name__ == "__main__":
    main()
