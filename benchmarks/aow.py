"""Benchmark: vectorised AOW dates against a plain per-person Python loop, same process.

    .venv/bin/python benchmarks/aow.py [n]

Times ``aow_date`` and ``months_to_aow`` on a million birth dates, and the plain loop
(``aow_date_loop``, the statute's rule one person at a time) on ``n`` dates (default
100,000; the loop is linear, so its time is scaled to a million for the ratio). Both give
the same dates (checked on the loop's sample). Prints times and the speed ratio; report the
machine load (``uptime``) with them.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np
import pandas as pd

from causal.context.aow import aow_date, aow_date_loop, months_to_aow


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main(n_loop: int = 100_000, n: int = 1_000_000) -> None:
    rng = np.random.default_rng(0)
    births = pd.Series(pd.Timestamp("1935-01-01")
                       + pd.to_timedelta(rng.integers(0, 365 * 40, n), unit="D"))
    inflow = births + pd.to_timedelta(rng.integers(45 * 365, 67 * 365, n), unit="D")
    aow_date(births.iloc[:1000])  # warm up

    t_vec = best_of(lambda: aow_date(births))
    t_mta = best_of(lambda: months_to_aow(births, inflow))
    sample = births.iloc[:n_loop]
    t0 = time.perf_counter()
    slow = aow_date_loop(sample)
    t_loop = time.perf_counter() - t0
    fast = aow_date(sample)
    assert [d.date() for d in fast] == slow, "vectorised and loop disagree"

    t_loop_1m = t_loop * n / n_loop
    print(f"aow_date, {n:,} dates (vectorised, best of 3):      {t_vec:7.3f} s")
    print(f"months_to_aow, {n:,} dates (vectorised, best of 3): {t_mta:7.3f} s")
    print(f"plain Python loop, {n_loop:,} dates:                 {t_loop:7.3f} s"
          f"  (-> {t_loop_1m:.1f} s per million)")
    print(f"speed ratio loop / vectorised (per date):         {t_loop_1m / t_vec:7.0f} x")
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    if load:
        print(f"load average (1, 5, 15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
