"""How far to trust a number, one module per concern:

- :mod:`~causal.sensitivity.evalue`: the E-value of every observational estimate
  (VanderWeele and Ding 2017);
- :mod:`~causal.sensitivity.refute`: dowhy's refuters (placebo treatment, random common
  cause, data subset), judged against the standard error, on a fast regression re-estimate;
- :mod:`~causal.sensitivity.bounds`: how far an unobserved confounder as strong as an
  observed one could move the estimate (Cinelli and Hazlett 2020; Chernozhukov et al. 2022);
- :mod:`~causal.sensitivity.design`: design warnings in plain words (outcome sampling,
  universal treatment, overlap, small cells, disagreeing estimators).

:func:`annotate` is the pipeline's hook: it adds these to the observational estimates of a
Study. A failing sensitivity analysis never loses the estimate: it becomes a warning on it.
"""
from __future__ import annotations

import numpy as np

from causal.result import Estimate
from causal.sensitivity.design import (
    EVERYONE,
    OBSERVATIONAL,
    design_warnings,
    disagreement_warnings,
    measure_warnings,
    overlap,
)
from causal.sensitivity.evalue import e_value, e_value_rr
from causal.sensitivity.refute import (
    REFUTE_MAX_ROWS,
    REFUTE_SIMULATIONS,
    refutations,
    refute_enabled,
)


def annotate(study, estimates: list[Estimate], refute: bool | None = None) -> list[Estimate]:
    """Add E-values (and, unless switched off, refutations) to the observational estimates
    of a Study, in place. A failing sensitivity analysis never loses the estimate: it
    becomes a warning on it."""
    if study.spec.treatment.assignment not in OBSERVATIONAL:
        return estimates
    targets = [e for e in estimates if e.net is not None and e.estimator != "naive"]
    if not targets:
        return estimates
    sd = float(np.std(study.y())) if study.unit != "pp" else None
    for e in targets:
        ev = e_value(e, sd)
        if ev:
            e.diagnostics.update({k: v for k, v in ev.items() if k not in e.diagnostics})
    add_bounds(study, targets, nonparametric=refute_enabled(refute))
    if not refute_enabled(refute):
        off = {"name": "refutation tests", "value": None, "passed": None,
               "reading": "Switched off for this run (NETTO_REFUTE=0 or refute=False); rerun "
                          "without it (with --force when results are cached) to see them."}
        for e in targets:
            e.diagnostics.setdefault("refutations", [dict(off)])
    else:
        try:
            refs = refutations(study)
        except Exception as exc:  # noqa: BLE001 - a library failure must not lose the estimate
            for e in targets:
                e.warnings.append(f"the refutation tests could not run: {type(exc).__name__}: "
                                  f"{str(exc).splitlines()[0][:200] if str(exc) else ''}")
            return estimates
        for e in targets:
            e.diagnostics.setdefault("refutations", [dict(r) for r in refs])
            failed = [r["name"] for r in refs if r.get("passed") is False]
            if failed:
                e.warnings.append("refutation test(s) not passed: " + ", ".join(failed)
                                  + " (see the refutation table)")
    return estimates


def add_bounds(study, targets: list[Estimate], nonparametric: bool = True) -> None:
    """``diagnostics["sensitivity_bounds"]`` and a contour figure on every target estimate
    (:mod:`causal.sensitivity.bounds`); the nonparametric bounds only when ``nonparametric``
    (they are the costly part; refuters switched off means these too)."""
    from causal.sensitivity.bounds import bound_estimate, study_bounds
    from causal.sensitivity.plot import contour

    if not study.covariates:
        return
    try:
        sb = study_bounds(study, nonparametric=nonparametric)
    except Exception as exc:  # noqa: BLE001 - a library failure must not lose the estimate
        for e in targets:
            e.warnings.append(f"the sensitivity bounds could not be computed: "
                              f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}")
        return
    for e in targets:
        b = bound_estimate(e, sb)
        e.diagnostics["sensitivity_bounds"] = b
        e.figures["sensitivity"] = (lambda e=e, b=b: contour(e, sb["linear"], b))


__all__ = ["add_bounds", "e_value", "e_value_rr", "refutations", "refute_enabled", "annotate",
           "design_warnings", "disagreement_warnings", "measure_warnings", "overlap",
           "OBSERVATIONAL", "EVERYONE", "REFUTE_MAX_ROWS", "REFUTE_SIMULATIONS"]
