"""Sensitivity to an unobserved confounder, benchmarked on the observed ones (dowhy).

Cinelli and Hazlett (2020): the robustness value and partial-R2 bounds of a regression
estimate (dowhy's ``add_unobserved_common_cause`` with ``simulation_method=
"linear-partial-R2"``).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def _unobserved(model, ident, est, names: dict[str, str], base: float, u: str) -> dict[str, Any]:
    """Cinelli and Hazlett (2020) robustness value via dowhy's linear-partial-R2 method,
    benchmarked against the measured confounders."""
    bench = list(names)
    r = model.refute_estimate(ident, est, method_name="add_unobserved_common_cause",
                              simulation_method="linear-partial-R2",
                              benchmark_common_causes=bench, plot_estimate=False,
                              effect_fraction_on_treatment=[1.0] * len(bench),
                              effect_fraction_on_outcome=[1.0] * len(bench))
    rv = float(r.stats["robustness_value"])
    rv_a = float(r.stats["robustness_value_alpha"])
    out = {"name": "unobserved common cause (robustness value, %)", "value": 100 * rv,
           "robustness_value": rv, "robustness_value_alpha": rv_a, "original": base}
    reading = (f"An unobserved confounder would have to explain at least {100 * rv:.1f}% of "
               f"the residual variance of both taking part and the outcome to bring the "
               f"estimate to zero ({100 * rv_a:.1f}% to make it indistinguishable from zero; "
               "Cinelli and Hazlett 2020).")
    bm = getattr(r, "benchmarking_results", None)
    if isinstance(bm, pd.DataFrame) and len(bm) == len(bench) and "bias_adjusted_estimate" in bm:
        adj = bm["bias_adjusted_estimate"].to_numpy(float)
        k = int(np.nanargmax(np.abs(base - adj))) if np.isfinite(adj).any() else None
        if k is not None:
            out["benchmark"] = names[bench[k]]
            out["benchmark_adjusted"] = float(adj[k])
            reading += (f" A confounder as strong as the strongest measured one "
                        f"('{names[bench[k]]}') would move it to {adj[k]:.2f} {u}.")
    out["reading"] = reading
    out["passed"] = None
    return out
