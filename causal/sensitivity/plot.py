"""Contour plot of the sensitivity bound (Cinelli and Hazlett 2020, figure 3): the estimate
moved toward zero by a hidden confounder of partial R2 ``R2_D~U|X`` (x) and ``R2_Y~U|D,X``
(y), with the zero line in red and the observed confounders as benchmarks (a hidden
confounder as strong as each). Built on matplotlib's object API (no pyplot state)."""
from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure


def contour(est, lin, bound: dict[str, Any]) -> Figure:
    """``est`` an Estimate, ``lin`` the Study's :class:`~causal.sensitivity.bounds.LinearBounds`,
    ``bound`` its ``diagnostics["sensitivity_bounds"]`` (its method is named in the title
    when it is not the linear one drawn here)."""
    sign = 1.0 if (est.net or 0) >= 0 else -1.0
    # benchmarks on this plot's (linear) scale, the four strongest
    bm = sorted(({"covariate": k, **v, "estimate": est.net - sign * v["bias"]}
                 for k, v in lin.benchmarks.items()), key=lambda b: -b["bias"])[:4]
    # up to the zero line on the diagonal (the robustness value) and past the benchmarks
    top = max([0.02, 1.6 * lin.rv] + [1.4 * max(b["r2_treatment"], b["r2_outcome"]) for b in bm])
    top = min(top, 0.95)
    x = np.linspace(0.0, top, 80)
    X, Y = np.meshgrid(x, x)
    # the linear bias of the regression re-estimate, applied to this estimate
    Z = est.net - sign * np.asarray(lin.bias(X.ravel(), Y.ravel())).reshape(X.shape)
    fig = Figure(figsize=(5.6, 4.8), layout="constrained")
    ax = fig.add_subplot()
    cs = ax.contour(X, Y, Z, levels=8, colors="#4C72B0", linewidths=0.8)
    ax.clabel(cs, fontsize=7, fmt="%.1f")
    if Z.min() < 0 < Z.max() or Z.max() < 0 < Z.min():
        zero = ax.contour(X, Y, Z, levels=[0.0], colors="#C44E52", linewidths=1.6)
        ax.clabel(zero, fontsize=7, fmt="0")
    ax.plot(0, 0, "D", color="black")
    ax.annotate(f"estimate {est.net:.2f}", (0, 0), xytext=(4, 4), textcoords="offset points",
                fontsize=8)
    for i, b in enumerate(bm):
        ax.plot(b["r2_treatment"], b["r2_outcome"], "^", color="#C44E52")
        ax.annotate(f"1x {b['covariate']} ({b['estimate']:.2f})",
                    (b["r2_treatment"], b["r2_outcome"]), xytext=(5, 4 - 9 * i),
                    textcoords="offset points", fontsize=7)
    ax.set_xlabel("partial R² of the hidden confounder with taking part")
    ax.set_ylabel("partial R² with the outcome")
    extra = "" if bound.get("method", "").startswith("Cinelli") else (
        "\n(linear bounds; the reported bound is nonparametric)")
    ax.set_title(f"{est.name}: estimate under a hidden confounder{extra}", fontsize=9)
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    return fig
