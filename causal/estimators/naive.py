"""The comparison a report's reader makes: participants' mean minus non-participants' mean.

Shown beside every real estimator so users see how far it is off. It has an interval (by
default HC2, which for a difference in means is exactly Welch's; clustered at the spec's
``treatment.assigned_by`` when declared, see :mod:`causal.inference`), but it estimates the
ATT only when there is no confounding, which is rarely so here.
"""
from __future__ import annotations

import numpy as np

from causal.errors import NotIdentified
from causal.estimators import estimator
from causal.inference import InferenceOptions, for_study, swap_treatment
from causal.result import Estimate


class NaiveOptions(InferenceOptions):
    """Only the standard-error options (see causal.inference)."""


@estimator("naive", NaiveOptions)
def naive(study, options: NaiveOptions) -> list[Estimate]:
    """Difference in means, participants minus non-participants (HC2 = Welch standard error,
    or clustered)."""
    y, d = study.y(), study.d()
    y0 = y[d == 0]
    if d.min() == d.max():
        raise NotIdentified("everyone in the data is " + (
            "a participant" if d[0] == 1 else "a non-participant") + ": there is no one to "
            "compare with")
    X = np.column_stack([np.ones_like(d), d])
    inf = for_study(study, options, "naive", y, X, 1, default="HC2", treated=d,
                    design_of=swap_treatment(X, 1))
    return [inf.attach(study.estimate(
        "naive", "naive", inf.coef, **inf.fields(),
        method="Difference in means without any adjustment: what a reader of the report would "
               "compute. Biased whenever participation depends on the outcome's drivers.",
        warnings=[_ignores(study)],
        diagnostics={"control_mean": float(y0.mean())},
    ))]


def _ignores(study) -> str:
    """The warning, naming the confounders this spec adjusts for elsewhere (never the AOW
    age or the conjunctuur when the spec does not name them)."""
    from causal.design import terms_variables

    names = terms_variables(study.covariates or study.spec.confounders)
    shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
    what = f"{shown}, selection" if names else "selection into the measure"
    return (f"the naive comparison ignores confounding ({what}); it is shown only to "
            "contrast with the net effect")
