"""Benchmark: netto's two-way fixed-effects event study against linearmodels and pyfixest.

    .venv/bin/python benchmarks/panel_within.py [parquet] [--out FILE]

The same regression three ways, each in a fresh process (peak memory is per process): the
outcome on the event-time dummies with unit and period effects, errors clustered by the
panel's clusters (the sectorplan_did twin by default; ``benchmarks/scaling.py`` caches it
in /tmp/netto-scaling). Each child reads the same columns of the parquet file, builds what its
library needs and fits:

- ``netto``: :func:`causal.estimators.did_twfe.event_study_twfe` (the within
  transformation by group sums, :mod:`causal.estimators.did_within`, the event dummies
  streamed one at a time into the Gram matrix and the cluster scores, the post-adoption
  average through :mod:`causal.inference` as one regressor);
- ``linearmodels``: ``PanelOLS`` with entity and time effects, clustered (what netto used
  for the event-time table before);
- ``pyfixest``: ``feols("y ~ e... | unit + t", vcov={"CRV1": cluster})``.

Prints wall, CPU (whole child: reading and preparing the panel included, the same for
all three; and the fit alone) and peak RSS per child, each peer's CPU and memory against netto's, and the
largest difference of the event-time coefficients against netto's (they must agree). Write
the machine's load beside the figures (``benchmarks/results/panel_within.txt``).
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

DEFAULT = "/tmp/netto-scaling/sectorplan_did-125000.parquet"
SPEC = Path(__file__).resolve().parents[1] / "data_specs" / "sectorplan_did.yaml"


def _panel(path: str):
    """The panel as netto builds it (unit, period, first treated, cluster codes)."""
    from causal.estimators.did_panel import DiDOptions, build_panel
    from causal.pipeline import prepare

    st = prepare(SPEC, path)
    o = DiDOptions.model_validate(st.spec.estimator_options("event_study"))
    return build_panel(st, o, "event_study"), o


def child(lib: str, path: str) -> None:
    import numpy as np
    import pandas as pd

    from causal.estimators.did_twfe import _event_times

    P, o = _panel(path)
    t0 = time.process_time()
    e, ks, _ = _event_times(P, 0)
    if lib == "netto":
        from causal.estimators.did_twfe import event_study_twfe

        _, ev = event_study_twfe(P, o)
        b = ev.loc[ks, "ATT"].to_numpy()
    elif lib == "linearmodels":
        from linearmodels.panel import PanelOLS

        idx = pd.MultiIndex.from_arrays([P.unit, P.t])
        X = pd.DataFrame(np.column_stack([(e == k).astype(float) for k in ks]), index=idx,
                         columns=[f"e{i}" for i in range(len(ks))])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = PanelOLS(pd.Series(P.y, index=idx), X, entity_effects=True,
                         time_effects=True, drop_absorbed=True, check_rank=False).fit(
                cov_type="clustered", clusters=pd.DataFrame({"c": P.cluster}, index=idx))
        b = r.params.to_numpy()
    else:
        import pyfixest as pf

        df = pd.DataFrame({"y": P.y, "u": P.unit, "t": P.t, "c": P.cluster})
        for i, k in enumerate(ks):
            df[f"e{i}"] = (e == k).astype(float)
        r = pf.feols("y ~ " + " + ".join(f"e{i}" for i in range(len(ks))) + " | u + t",
                     data=df, vcov={"CRV1": "c"})
        b = r.coef().to_numpy()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print("RESULT " + json.dumps({"fit_cpu": time.process_time() - t0,
                                  "cpu": ru.ru_utime + ru.ru_stime,
                                  "rss_gib": ru.ru_maxrss / 1024 ** 2,
                                  "b": list(map(float, b))}))


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        return child(sys.argv[2], sys.argv[3])
    path = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("--") else DEFAULT
    rows = []
    for lib in ("netto", "linearmodels", "pyfixest"):
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, __file__, "--child", lib, path],
                           capture_output=True, text=True)
        res = json.loads(next(ln for ln in p.stdout.splitlines()
                              if ln.startswith("RESULT "))[7:])
        rows.append({"lib": lib, "wall": time.perf_counter() - t0, "load": load, **res})
    import numpy as np

    ours = rows[0]
    lines = [f"panel_within on {path} ({len(ours['b'])} event-time coefficients)",
             "lib           wall    CPU  fit CPU  peak GiB  CPU/netto  GiB/netto  max|b - netto|  load"]
    for r in rows:
        diff = float(np.max(np.abs(np.array(r["b"]) - np.array(ours["b"]))))
        lines.append(f"{r['lib']:<12} {r['wall']:5.1f} {r['cpu']:6.1f} {r['fit_cpu']:8.1f} "
                     f"{r['rss_gib']:9.2f} {r['cpu'] / ours['cpu']:10.1f} "
                     f"{r['rss_gib'] / ours['rss_gib']:10.1f} {diff:15.1e} {r['load']:5.1f}")
    text = "\n".join(lines)
    print(text)
    if "--out" in sys.argv:
        Path(sys.argv[sys.argv.index("--out") + 1]).write_text(text + "\n")


if __name__ == "__main__":
    main()
