"""Synthetic control's inner programme: netto's exact NNLS solver against pysyncon's SLSQP.

Both solve min_w (X1 - X0 w)' V (X1 - X0 w), w >= 0, sum w = 1 (the ADH weights for a given
V) on the same matrices in the same run: the Almere twin (30 donors, 9 pre-periods) and a
larger series (50 donors, 40 pre-periods). Reported per case: median seconds per fit of each,
their ratio, the largest weight difference, and the objective each reaches (lower is
better). The estimator needs J + 1 fits per variant for its placebo runs, which is why the
solver matters (causal/estimators/synth.py).

    .venv/bin/python benchmarks/synth.py        # writes benchmarks/results/synth.txt
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _case_almere():
    from causal.aggregate import series_wide
    from causal.pipeline import prepare

    Y, _, treated, donors, post = series_wide(prepare(ROOT / "data_specs" / "almere_bijstand_synth.yaml"))
    pre = ~post
    return Y.loc[pre, donors].to_numpy(), Y.loc[pre, treated].to_numpy()


def _case_large(seed: int = 1, J: int = 50, T0: int = 40):
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(T0, 3)).cumsum(axis=0)
    load = rng.uniform(0.5, 1.5, (3, J + 1))
    Y = f @ load + rng.normal(0, 0.3, (T0, J + 1))
    return Y[:, 1:], Y[:, 0]


def _time(fn, args: tuple, reps: int) -> float:
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn(*args)
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def main() -> str:
    from pysyncon import Synth

    from causal.estimators.synth import simplex_ls

    lines = [f"# synthetic control inner QP, {time.strftime('%Y-%m-%d')}, load "
             f"{os.getloadavg()[0]:.1f}", "case | J | T0 | netto NNLS s | pysyncon SLSQP s | ratio "
             "| max |w diff| | objective netto | objective pysyncon"]
    for name, (Z0, Z1) in (("almere twin", _case_almere()), ("large", _case_large())):
        sd = np.c_[Z0, Z1].std(axis=1, ddof=1)
        X0, X1 = Z0 / sd[:, None], Z1 / sd
        V = np.eye(len(sd))
        w1, l1 = simplex_ls(V, X0, X1)
        w2, l2 = Synth.w_optimize(V, X0, X1)
        t1 = _time(simplex_ls, (V, X0, X1), 20)
        t2 = _time(Synth.w_optimize, (V, X0, X1), 5)
        lines.append(f"{name} | {Z0.shape[1]} | {Z0.shape[0]} | {t1:.4f} | {t2:.4f} | "
                     f"{t2 / t1:.0f}x | {np.abs(w1 - w2).max():.2e} | {l1:.6f} | {l2:.6f}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    text = main()
    print(text, end="")
    out = ROOT / "benchmarks" / "results" / "synth.txt"
    out.write_text(text)
