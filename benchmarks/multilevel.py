"""Benchmark: bayesian_multilevel (cells, nutpie) against the same model written the plain
way (Bernoulli likelihood on rows, pymc's default NUTS sampler), in one script.

Stages (each fit runs in a fresh subprocess, so compilation and peak memory are counted):

1. agreement at a size where both finish: national effect means within 0.1 posterior sd;
2. speed at 100,000 rows: wall-time ratio plain / ours (target >= 20); the plain model is
   stopped after ``--timeout`` seconds (default 600) and the ratio printed as a lower bound;
3. ours at 1,000,000 rows and 35 regions: wall time including compilation (target < 30 s),
   R-hat <= 1.01 and bulk ESS >= 400 of the national effect, peak memory < 2 GiB;
4. at 100,000 and 1,000,000 rows, ours against the same model on the same binomial cells
   written as a plain pymc model and compiled by nutpie (``nutpie.compile_pymc_model``):
   netto's gain over that is compile time, not sampling speed;
5. at the same sizes, ours against R's lme4 ``glmer`` on the same cells (a Laplace
   likelihood fit: a point estimate, no posterior), where ``Rscript`` with lme4 is installed.

Every model draws the same number of draws and tuning steps per chain as netto's defaults
(``MultilevelOptions``), with 2 chains. Every fit runs in its own process group, killed as a
group on timeout (pymc's chain processes included).

Data: a participation twin (causal.twins.regions) over the 35 arbeidsmarktregio's, binary
outcome, covariates sex, education, health limitation, months to the AOW date (binned) and
conjunctuur. ``--quick`` runs small sizes (a minute or two). Prints ``uptime`` before and
after: the machine is shared, so read the figures with the load.

    .venv/bin/python benchmarks/multilevel.py [--quick] [--timeout 600]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# run as a script, this folder comes first on sys.path; its other benchmark files (say
# coverage.py) must not shadow installed packages that numba imports
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]
sys.path.insert(0, str(ROOT))

BINS = {"months_to_aow": [0, 12, 24, 36, 48, 60, 120]}
COVS = ["sex", "education", "health_limitation", "months_to_aow", "conjunctuur"]


def bench_spec(n: int, seed: int = 1):
    from causal.spec import Spec

    return Spec.model_validate({
        "measure": "bench_regions", "title": "benchmark", "source": {"report": "benchmark"},
        "treatment": {"column": "treated", "assignment": "observational"},
        "outcome": {"column": "work_12m", "kind": "binary", "horizon_months": 12},
        "confounders": COVS, "region": "region",
        "estimators": [{"name": "bayesian_multilevel"}],
        "simulation": {"generator": "regions", "n": n, "seed": seed, "age": [50, 67],
                       "below_aow": True, "inflow": ["2017-01-01", "2018-12-31"],
                       "base_rate": 0.5, "true_effect_pp": 4.0, "effect_sd": 0.2,
                       "selection": {"education": 0.3, "health_limitation": -0.3},
                       "outcome_effects": {"education": 0.15, "health_limitation": -0.5,
                                           "sex": 0.05}}})


def make_data(n: int, path: Path) -> float:
    from causal.twins import make_twin

    tw = make_twin(bench_spec(n))
    tw.data.to_parquet(path)
    return tw.truth["ATT"]


def study(path: Path, n: int):
    import pandas as pd

    from causal.pipeline import prepare

    return prepare(bench_spec(n), data=pd.read_parquet(path))


# --------------------------------------------------------------------------------------
# workers (run in subprocesses)
# --------------------------------------------------------------------------------------
def worker_ours(path: Path, n: int) -> dict:
    t0 = time.perf_counter()
    st = study(path, n)
    t1 = time.perf_counter()
    from causal.estimators.multilevel import MultilevelOptions, bayesian_multilevel

    (est,) = bayesian_multilevel(st, MultilevelOptions(bin=BINS))
    t2 = time.perf_counter()
    c = est.diagnostics["convergence"]
    return {"seconds": t2 - t1, "seconds_prepare_data": t1 - t0, "mean": est.net, "sd": est.se,
            "ci": [est.ci_low, est.ci_high], "rhat": c["rhat"], "ess_bulk": c["ess_bulk"],
            "ess_tail": c["ess_tail"], "divergences": c["divergences"],
            "rhat_max_all": c["rhat_max_all"], "cells": est.diagnostics["n_cells"],
            "rows": est.diagnostics["rows"], "breakdown": est.diagnostics["seconds"]}


def worker_plain(path: Path, n: int) -> dict:
    """The same model, written the plain way: Bernoulli on rows, pm.sample defaults."""
    import numpy as np

    st = study(path, n)
    t1 = time.perf_counter()
    import arviz as az
    import pymc as pm
    import xarray as xr

    from causal.estimators.multilevel import MultilevelOptions, Priors, make_design

    d = make_design(st, MultilevelOptions(bin=BINS, collapse=False))
    pr = Priors()
    G = len(d.groups)
    with pm.Model():
        alpha = pm.Normal("intercept", 0, pr.intercept_sd)
        theta = pm.Normal("effect", 0, pr.effect_sd)
        sa = pm.HalfNormal("sd_intercept", pr.group_sd_intercept)
        sb = pm.HalfNormal("sd_effect", pr.group_sd_effect)
        za = pm.Normal("za", 0, 1, shape=G)
        zb = pm.Normal("zb", 0, 1, shape=G)
        beta = pm.Normal("beta", 0, pr.coef_sd, shape=d.X.shape[1])
        mu = pm.Deterministic("group_intercept", alpha + sa * za)
        tau = pm.Deterministic("group_effect", theta + sb * zb)
        eta = mu[d.g] + pm.math.dot(d.X, beta) + d.d * tau[d.g]
        pm.Bernoulli("y", logit_p=eta, observed=d.y.astype(int))
        o = MultilevelOptions()
        idata = pm.sample(draws=o.draws, tune=o.tune, chains=2, cores=2, random_seed=1,
                          progressbar=False, compute_convergence_checks=False)
    post = idata.posterior
    S = post.sizes["chain"] * post.sizes["draw"]
    mu_s = post["group_intercept"].values.reshape(S, G)
    tau_s = post["group_effect"].values.reshape(S, G)
    b_s = post["beta"].values.reshape(S, -1)
    t = d.d == 1
    nat = np.empty(S)
    for a in range(0, S, 100):
        eta0 = mu_s[a:a + 100][:, d.g[t]] + b_s[a:a + 100] @ d.X[t].T
        eta1 = eta0 + tau_s[a:a + 100][:, d.g[t]]
        nat[a:a + 100] = (1 / (1 + np.exp(-eta1)) - 1 / (1 + np.exp(-eta0))).mean(axis=1) * 100
    nat = nat.reshape(post.sizes["chain"], post.sizes["draw"])
    ds = xr.Dataset({"x": xr.DataArray(nat, dims=("chain", "draw"))})
    t2 = time.perf_counter()
    return {"seconds": t2 - t1, "mean": float(nat.mean()), "sd": float(nat.std()),
            "rhat": float(az.rhat(ds)["x"]), "ess_bulk": float(az.ess(ds)["x"]),
            "divergences": int(idata.sample_stats["diverging"].values.sum())}


def worker_cells_nutpie(path: Path, n: int) -> dict:
    """The same model on the same binomial cells, written as a plain pymc model and
    compiled by nutpie."""
    import numpy as np

    st = study(path, n)
    t1 = time.perf_counter()
    import arviz as az
    import nutpie
    import pymc as pm
    import xarray as xr

    from causal.estimators.multilevel import MultilevelOptions, Priors, make_design

    o = MultilevelOptions(bin=BINS)
    d = make_design(st, o)
    pr = Priors()
    G = len(d.groups)
    with pm.Model() as model:
        alpha = pm.Normal("intercept", 0, pr.intercept_sd)
        theta = pm.Normal("effect", 0, pr.effect_sd)
        sa = pm.HalfNormal("sd_intercept", pr.group_sd_intercept)
        sb = pm.HalfNormal("sd_effect", pr.group_sd_effect)
        za = pm.Normal("za", 0, 1, shape=G)
        zb = pm.Normal("zb", 0, 1, shape=G)
        beta = pm.Normal("beta", 0, pr.coef_sd, shape=d.X.shape[1])
        mu = pm.Deterministic("group_intercept", alpha + sa * za)
        tau = pm.Deterministic("group_effect", theta + sb * zb)
        eta = mu[d.g] + pm.math.dot(d.X, beta) + d.d * tau[d.g]
        pm.Binomial("y", n=d.n.astype(int), logit_p=eta, observed=d.y.astype(int))
    t_c = time.perf_counter()
    compiled = nutpie.compile_pymc_model(model)
    t_s = time.perf_counter()
    idata = nutpie.sample(compiled, draws=o.draws, tune=o.tune, chains=2, cores=2, seed=1,
                          progress_bar=False)
    t2 = time.perf_counter()
    post = idata.posterior
    S = post.sizes["chain"] * post.sizes["draw"]
    mu_s = post["group_intercept"].values.reshape(S, G)
    tau_s = post["group_effect"].values.reshape(S, G)
    b_s = post["beta"].values.reshape(S, -1)
    t = d.d == 1
    w = d.n[t] / d.n[t].sum()
    eta0 = mu_s[:, d.g[t]] + b_s @ d.X[t].T
    eta1 = eta0 + tau_s[:, d.g[t]]
    nat = ((1 / (1 + np.exp(-eta1)) - 1 / (1 + np.exp(-eta0))) @ w * 100)
    nat = nat.reshape(post.sizes["chain"], post.sizes["draw"])
    ds = xr.Dataset({"x": xr.DataArray(nat, dims=("chain", "draw"))})
    return {"seconds": t2 - t1, "compile": t_s - t_c, "sampling": t2 - t_s,
            "mean": float(nat.mean()), "sd": float(nat.std()), "cells": int(len(d.n)),
            "rhat": float(az.rhat(ds)["x"]), "ess_bulk": float(az.ess(ds)["x"]),
            "divergences": int(idata.sample_stats["diverging"].values.sum())}


LME4_R = r"""
suppressPackageStartupMessages(library(lme4))
a <- commandArgs(trailingOnly = TRUE)
d <- read.csv(a[1])
xs <- grep("^x", names(d), value = TRUE)
f <- as.formula(paste("cbind(y, n - y) ~", paste(c(xs, "d"), collapse = " + "),
                      "+ (1 | g) + (0 + d | g)"))
t0 <- proc.time()[["elapsed"]]
m <- glmer(f, data = d, family = binomial, nAGQ = 1)
t1 <- proc.time()[["elapsed"]]
tr <- d[d$d == 1, ]
p1 <- predict(m, newdata = tr, type = "response")
tr$d <- 0
p0 <- predict(m, newdata = tr, type = "response")
nat <- 100 * sum((p1 - p0) * tr$n) / sum(tr$n)
conv <- length(m@optinfo$conv$lme4$messages)
cat(sprintf('{"fit": %.3f, "mean": %.6f, "warnings": %d}', t1 - t0, nat, conv),
    file = a[2])
"""


def worker_lme4(path: Path, n: int) -> dict:
    """The same model on the same binomial cells fitted by R's lme4 ``glmer`` (Laplace
    approximation, maximum likelihood; Bates et al. 2015): independent group intercepts and
    group effects, ``cbind(y, n - y) ~ X + d + (1 | g) + (0 + d | g)``. It gives a point
    estimate of the national effect on the treated cells, no posterior. Needs Debian's
    ``r-cran-lme4`` (``apt-get install r-cran-lme4``); skipped when ``Rscript`` is absent."""
    import numpy as np
    import pandas as pd

    from causal.estimators.multilevel import MultilevelOptions, make_design

    st = study(path, n)
    t1 = time.perf_counter()
    d = make_design(st, MultilevelOptions(bin=BINS))
    cells = pd.DataFrame(np.asarray(d.X, dtype=float),
                         columns=[f"x{j}" for j in range(d.X.shape[1])])
    cells = cells.assign(d=d.d, g=d.g, y=d.y, n=d.n)
    with tempfile.TemporaryDirectory(prefix="netto_lme4_") as tmp:
        csv, res, script = (Path(tmp) / x for x in ("cells.csv", "res.json", "fit.R"))
        cells.to_csv(csv, index=False)
        script.write_text(LME4_R)
        subprocess.run(["Rscript", str(script), str(csv), str(res)], check=True,
                       capture_output=True)
        out = json.loads(res.read_text())
    return {"seconds": time.perf_counter() - t1, "fit": out["fit"], "mean": out["mean"],
            "warnings": out["warnings"], "cells": int(len(d.n))}


# --------------------------------------------------------------------------------------
# driver
# --------------------------------------------------------------------------------------
def run(kind: str, path: Path, n: int, timeout: float) -> dict:
    """Run one worker in a fresh process; returns its result, peak memory and wall time."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = Path(f.name)
    cmd = [sys.executable, __file__, "--worker", kind, "--data", str(path), "--n", str(n),
           "--out", str(out)]
    t0 = time.perf_counter()
    # its own process group: on timeout the whole group goes (pymc's chain processes too)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
                            start_new_session=True)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return {"timeout": True, "wall": time.perf_counter() - t0}
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"failed": proc.returncode, "wall": wall}
    res = json.loads(out.read_text())
    out.unlink()
    res["wall"] = wall
    return res


def _versus(ours: dict[int, dict], kind: str, files: dict[int, Path], timeout: float,
            describe) -> None:
    """One line per size: netto's fit (``ours[n]``, a fresh process of stage 2 or 3)
    against the peer ``kind`` on the same file, described by ``describe(ours, peer)``."""
    for n, o in ours.items():
        p = run(kind, files[n], n, timeout)
        if "seconds" not in p:
            print(f"    {n:>9,} rows: {kind} {'timed out' if p.get('timeout') else 'failed'} "
                  f"after {p['wall']:.1f} s; ours {o['wall']:.1f} s")
            continue
        print(f"    {n:>9,} rows, {p['cells']} cells: ours {o['wall']:.1f} s wall; "
              + describe(o, p))


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes (a minute or two)")
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--worker", choices=list(WORKERS))
    ap.add_argument("--data")
    ap.add_argument("--n", type=int)
    ap.add_argument("--out")
    a = ap.parse_args()
    if a.worker:
        import warnings

        warnings.simplefilter("ignore")
        res = WORKERS[a.worker](Path(a.data), a.n)
        # this process's peak resident memory (KiB on Linux)
        res["peak_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
        Path(a.out).write_text(json.dumps(res))
        return

    n_agree, n_ratio, n_big = (3_000, 10_000, 100_000) if a.quick else (
        10_000, 100_000, 1_000_000)
    print(f"uptime before: {uptime()}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="netto_bench_"))
    files = {}
    for n in sorted({n_agree, n_ratio, n_big}):
        t = time.perf_counter()
        files[n] = tmp / f"twin_{n}.parquet"
        truth = make_data(n, files[n])
        print(f"twin {n:>9,} rows: made in {time.perf_counter() - t:5.1f} s, true ATT "
              f"{truth:.2f} pp", flush=True)

    # 1. agreement where both finish
    o = run("ours", files[n_agree], n_agree, a.timeout)
    p = run("plain", files[n_agree], n_agree, a.timeout)
    print(f"\n[1] agreement at {n_agree:,} rows")
    if p.get("timeout"):
        print(f"    plain model did not finish in {a.timeout:.0f} s")
    else:
        gap = abs(o["mean"] - p["mean"]) / p["sd"]
        print(f"    ours : mean {o['mean']:.3f} pp, sd {o['sd']:.3f}, {o['wall']:.1f} s")
        print(f"    plain: mean {p['mean']:.3f} pp, sd {p['sd']:.3f}, {p['wall']:.1f} s "
              f"(R-hat {p['rhat']:.3f}, ESS {p['ess_bulk']:.0f})")
        print(f"    difference {gap:.3f} posterior sd (target < 0.1): "
              f"{'OK' if gap < 0.1 else 'NOT MET'}")

    # 2. speed ratio
    ours = {n_ratio: run("ours", files[n_ratio], n_ratio, a.timeout)}
    o = ours[n_ratio]
    p = run("plain", files[n_ratio], n_ratio, a.timeout)
    print(f"\n[2] speed at {n_ratio:,} rows (wall time of a fresh process, incl. compilation)")
    print(f"    ours : {o['wall']:.1f} s ({o['cells']} cells; estimator {o['seconds']:.1f} s)")
    if p.get("timeout"):
        print(f"    plain: did not finish in {a.timeout:.0f} s")
        lb = a.timeout / o["wall"]
        print(f"    ratio plain/ours >= {lb:.0f}x (target >= 20x): "
              f"{'OK' if lb >= 20 else 'NOT SHOWN (raise --timeout)'}")
    else:
        gap = abs(o["mean"] - p["mean"]) / p["sd"]
        print(f"    plain: {p['wall']:.1f} s; national means differ by {gap:.3f} sd")
        r = p["wall"] / o["wall"]
        print(f"    ratio plain/ours = {r:.1f}x (target >= 20x): {'OK' if r >= 20 else 'NOT MET'}")

    # 3. ours at the large size
    o = ours[n_big] = run("ours", files[n_big], n_big, a.timeout)
    print(f"\n[3] ours at {n_big:,} rows, 35 regions")
    print(f"    wall {o['wall']:.1f} s in a fresh process (estimator {o['seconds']:.1f} s: "
          f"{o['breakdown']}; reading the data and adding context {o['seconds_prepare_data']:.1f}"
          f" s); target < 30 s: {'OK' if o['wall'] < 30 else 'NOT MET'}")
    print(f"    {o['cells']} cells; national effect {o['mean']:.2f} pp "
          f"[{o['ci'][0]:.2f}, {o['ci'][1]:.2f}]")
    print(f"    R-hat {o['rhat']:.4f} (<= 1.01: {'OK' if o['rhat'] <= 1.01 else 'NOT MET'}), "
          f"bulk ESS {o['ess_bulk']:.0f} (>= 400: {'OK' if o['ess_bulk'] >= 400 else 'NOT MET'}),"
          f" tail ESS {o['ess_tail']:.0f}, divergences {o['divergences']}, worst R-hat of the "
          f"model's quantities {o['rhat_max_all']:.4f}")
    print(f"    peak memory {o['peak_gib']:.2f} GiB (< 2 GiB: "
          f"{'OK' if o['peak_gib'] < 2 else 'NOT MET'})")
    # 4. ours (the fits of stages 2 and 3) against the plain pymc model on the same cells,
    # compiled by nutpie
    print("\n[4] ours against a plain pymc model on the same cells, compiled by nutpie "
          "(same draws)")
    _versus(ours, "cells_nutpie", files, a.timeout, lambda o, c: (
        f"plain-on-cells {c['wall']:.1f} s wall (compile {c['compile']:.1f} s, sampling "
        f"{c['sampling']:.1f} s, R-hat {c['rhat']:.3f}); ratio {c['wall'] / o['wall']:.2f}x; "
        f"national means differ by {abs(o['mean'] - c['mean']) / c['sd']:.3f} sd"))
    # 5. ours against lme4's glmer on the same cells (a likelihood fit, no posterior)
    print("\n[5] ours against R's lme4 glmer on the same cells (Laplace, point estimate only)")
    if not shutil.which("Rscript"):
        print("    skipped: Rscript not found (Debian: apt-get install r-cran-lme4)")
    else:
        _versus(ours, "lme4", files, a.timeout, lambda o, m: (
            f"(ours: mean {o['mean']:.2f} pp, sd {o['sd']:.2f}); glmer {m['wall']:.1f} s wall "
            f"(fit {m['fit']:.1f} s; mean {m['mean']:.2f} pp; {m['warnings']} convergence "
            f"warnings); ratio {m['wall'] / o['wall']:.2f}x; means differ by "
            f"{abs(o['mean'] - m['mean']) / o['sd']:.3f} posterior sd"))
    print(f"\nuptime after: {uptime()}")
    for f in files.values():
        f.unlink(missing_ok=True)
    os.rmdir(tmp)


WORKERS = {"ours": worker_ours, "plain": worker_plain, "cells_nutpie": worker_cells_nutpie,
           "lme4": worker_lme4}


if __name__ == "__main__":
    main()
