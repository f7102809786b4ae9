"""The comparison a report's reader makes: participants' mean minus non-participants' mean.

Shown beside every real estimator so users see how far it is off. It has an interval (Welch),
but it estimates the ATT only when there is no confounding, which is rarely so here.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from causal.estimators import Options, estimator
from causal.result import Estimate


@estimator("naive", Options)
def naive(study, options: Options) -> list[Estimate]:
    """Difference in means, participants minus non-participants (Welch standard error)."""
    y, d = study.y(), study.d()
    y1, y0 = y[d == 1], y[d == 0]
    diff = y1.mean() - y0.mean()
    se = float(np.sqrt(y1.var(ddof=1) / len(y1) + y0.var(ddof=1) / len(y0)))
    z = stats.norm.ppf(0.975)
    return [study.estimate(
        "naive", "naive", float(diff), (diff - z * se, diff + z * se), se,
        method="Difference in means without any adjustment: what a reader of the report would "
               "compute. Biased whenever participation depends on the outcome's drivers.",
        warnings=["the naive comparison ignores confounding (conjunctuur, AOW age, selection); "
                  "it is shown only to contrast with the net effect"],
        diagnostics={"control_mean": float(y0.mean())},
    )]
