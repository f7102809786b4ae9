"""Design warnings: study-level (:func:`design_warnings`) and measure-level
(:func:`measure_warnings`, :func:`disagreement_warnings`), each ``{"kind", "message"}`` in plain
words: a comparison group chosen by outcome (seed notes 002), a treatment that everyone or no
one received (seed notes 004), poor overlap of propensity scores (Crump et al. 2009 rule of
thumb), too few persons in a cell, a single region, an outcome that does not vary, and
estimators that disagree beyond their intervals.
"""
from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pandas as pd

#: designs whose estimates rest on "no unmeasured confounding" and get E-values and refuters
#: (a dose design's estimand is a dose-response slope, which has no risk ratio).
OBSERVATIONAL = ("observational",)
#: designs in which everyone received the measure (at most its dose varies).
EVERYONE = ("universal", "dose")

_OUTCOME_SAMPLING = re.compile(
    r"outcome[- ]dependent|(chosen|selected|sampled|defined|stratified) (by|on) (the |their )?"
    r"(outcome|exit|dependent variable)|sampling on the (outcome|dependent)|case[- ]control",
    re.IGNORECASE)


def _w(kind: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "message": message, **extra}


def design_warnings(study) -> list[dict[str, Any]]:
    """Study-level warnings about the design, each ``{"kind", "message"}`` in plain words."""
    spec = study.spec
    out: list[dict[str, Any]] = []
    df = study.data
    oc, tc = study.outcome, study.treatment
    k = spec.disclosure.min_cell

    # 1. a comparison group chosen by the outcome (case-control; seed notes 002)
    on_outcome = [c for c in spec.population.conditions if c.column == oc]
    reason = spec.identification.reason or ""
    if on_outcome or _OUTCOME_SAMPLING.search(reason):
        why = (f"the spec's population conditions select persons on the outcome column "
               f"'{oc}'" if on_outcome else f"the spec says: {reason.strip()}")
        out.append(_w("outcome_sampling",
                      "The comparison group was chosen by outcome (" + why + "). When persons "
                      "are sampled on whether they found work, the share who found work says "
                      "nothing about the measure, and risk differences are not identified "
                      "without the sampling fractions (seed notes 002, a case-control design)."))

    # 2. a treatment that everyone or no one received (seed notes 004)
    d = study.d()
    n, n1 = len(d), int((d == 1).sum())
    if spec.treatment.assignment in EVERYONE:
        out.append(_w("universal_treatment",
                      f"Everyone received the measure (assignment '{spec.treatment.assignment}'),"
                      " so there is no untreated comparison group and the effect of having the "
                      "measure at all is not identified: what can be estimated rests on "
                      "differences in dose or timing, and on the assumption that units with "
                      "more of it would otherwise have fared alike, as with Perspectief op Werk "
                      "in all 35 regions (seed notes 004)."))
    elif n and (n1 / n > 0.98 or n1 / n < 0.02):
        from causal.report.gate import fmt_count

        who = "Almost everyone" if n1 / n > 0.98 else "Almost no one"
        few = min(n1, n - n1)
        share = "" if few < k else f", {n1 / n:.1%}"  # a share of a small count tells it
        out.append(_w("treatment_share",
                      f"{who} received the measure ({fmt_count(n1, spec.disclosure)} of "
                      f"{fmt_count(n, spec.disclosure)}{share}): the comparison rests on "
                      f"{fmt_count(few, spec.disclosure)} persons in the smaller group, so the "
                      "net effect is imprecise and leans heavily on the model."))

    # 3. region: a single one, or treatment constant within every region
    reg = study.region
    if reg and reg in df.columns:
        levels = df[reg].nunique(dropna=True)
        if levels == 1:
            out.append(_w("single_region",
                          f"All persons are in one region ({df[reg].iloc[0]!r}): region "
                          "effects" + (", regional conjunctuur" if "conjunctuur" in
                                       spec.context_confounders else "")
                          + " and region-level estimates cannot vary, and the result may not "
                          "carry over to other regions."))
        elif levels > 1 and spec.treatment.assignment not in EVERYONE:
            within = df.groupby(reg, observed=True)[tc].agg(["min", "max"])
            if (within["min"] == within["max"]).all():
                out.append(_w("treatment_by_region",
                              f"The treatment does not vary within any region ('{reg}'): "
                              "every region is all treated or all untreated, so region and "
                              "the measure are confounded and a comparison within regions is "
                              "impossible."))

    # 4. the outcome does not vary
    y = study.y()
    if len(y) and np.nanstd(y) == 0:
        out.append(_w("constant_outcome",
                      f"The outcome '{oc}' has the same value ({y[0]:g}) for everyone: no "
                      "estimator can find an effect, and every interval is degenerate."))

    # 5. too few persons in a cell (treatment x each categorical covariate or region)
    small = _small_cells(study, k)
    if small:
        by_var: dict[str, int] = {}
        for var in small:
            by_var[var] = by_var.get(var, 0) + 1
        shown = "; ".join(f"{v}: {c} cell{'s' * (c != 1)}" for v, c in by_var.items())
        out.append(_w("small_cells",
                      f"{len(small)} cell(s) of treatment by a covariate hold fewer than {k} "
                      f"persons ({shown}; which level and arm is not said: disclosure "
                      "control). Estimates that lean on these cells are unreliable, and no "
                      "number in the reports rests on a cell this small.", cells=len(small)))

    # 6. poor overlap of propensity scores (observational designs only)
    if spec.treatment.assignment in OBSERVATIONAL:
        ov = overlap(study)
        if ov is not None and ov["share_outside"] > 0.10:
            out.append(_w("overlap",
                          f"Poor overlap of propensity scores: {ov['share_outside']:.0%} of "
                          f"persons have an estimated chance of taking part below 0.1 or above "
                          "0.9 (Crump et al. 2009). For them there is hardly anyone comparable "
                          "in the other group, so the estimate extrapolates.", **ov))
    return out


def _small_cells(study, k: int) -> list[str]:
    df = study.data
    tc = study.treatment
    cols = [c for c in dict.fromkeys([*study.covariates, *([study.region] if study.region else [])])
            if c in df.columns and c != tc]
    from causal.columns import n_distinct

    def codes(s: pd.Series) -> tuple[np.ndarray, int]:
        """Any exact coding of the levels (-1: missing) and the number of codes: integers
        as their offset from the smallest (no hash table over millions of rows)."""
        v = s.to_numpy()
        if isinstance(v, np.ndarray) and v.dtype.kind in "iu" and len(v):
            lo, hi = int(v.min()), int(v.max())
            if hi - lo <= 1000:
                return (v.astype(np.int64) - lo).astype(np.intp), hi - lo + 1
        c, u = pd.factorize(s)
        return c, len(u)

    out = []
    arm, n_arms = codes(df[tc])
    for c in cols:
        s = df[c]
        if pd.api.types.is_numeric_dtype(s) and not isinstance(s.dtype, pd.CategoricalDtype):
            if n_distinct(s) > 2:  # continuous; binary numeric flags are cells too
                continue
        if n_distinct(s) > 100:
            continue
        # the persons per (level, arm) cell, as pd.crosstab counts them (rows with a missing
        # level or arm left out), by one bincount: crosstab took 0.4 s a column at 1M rows
        level, _ = codes(s)
        ok = (level >= 0) & (arm >= 0)
        tab = np.bincount(level[ok] * n_arms + arm[ok])
        small = int(((tab > 0) & (tab < k)).sum())
        out += [str(c)] * small  # neither the cell nor its count is named (disclosure)
    return out


def overlap(study) -> dict[str, Any] | None:
    """A quick propensity model (the logit MLE of :mod:`causal.estimators.propensity` on the
    adjustment set; its Newton steps from a subsample's fit take about half the time of
    scikit-learn's lbfgs at 1,000,000 rows): the share of persons with a score outside
    [0.1, 0.9], and the score range per group."""
    X = study.design_matrix()
    d = study.d().astype(int)
    if X.shape[1] == 0 or d.min() == d.max():
        return None
    from causal.estimators.propensity import fit_propensity

    e = getattr(study, "scores", {}).get(("logistic", tuple(map(str, X.columns))))
    if e is None or len(e) != len(d):  # not fitted on these rows by an estimator of this
        # run (the plain logit MLE, seed 0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            e = fit_propensity(X, d, "logistic").p
    outside = (e < 0.1) | (e > 0.9)
    return {"share_outside": float(outside.mean()),
            "score_range_treated": [float(e[d == 1].min()), float(e[d == 1].max())],
            "score_range_untreated": [float(e[d == 0].min()), float(e[d == 0].max())]}


def disagreement_warnings(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pairs of estimators (same estimand, naive left out) whose 95% intervals do not
    overlap: they disagree beyond their own uncertainty. ``rows`` are estimate dicts."""
    good = [r for r in rows if r.get("estimator") != "naive" and r.get("net") is not None
            and r.get("ci_low") is not None and r.get("ci_high") is not None]
    out = []
    for i, a in enumerate(good):
        for b in good[i + 1:]:
            if a["estimand"] != b["estimand"]:
                continue
            if a["ci_high"] < b["ci_low"] or b["ci_high"] < a["ci_low"]:
                na, nb = a.get("name", a["estimator"]), b.get("name", b["estimator"])
                out.append(_w(
                    "estimators_disagree",
                    f"{na} ({a['net']:.2f}, interval {a['ci_low']:.2f} to {a['ci_high']:.2f}) "
                    f"and {nb} ({b['net']:.2f}, interval {b['ci_low']:.2f} to "
                    f"{b['ci_high']:.2f}) estimate the same {a['estimand']} but their intervals "
                    "do not overlap: at least one rests on an assumption these data do not "
                    "support (or they weight persons or periods differently).",
                    estimators=[na, nb]))
    return out


def _estimator_overlap(rows: list[dict[str, Any]]) -> tuple[str, float] | None:
    """An estimator's own overlap diagnostic (propensity matching and weighting report
    ``diagnostics["overlap"]["share_outside_0.1_0.9"]``): (estimator name, share)."""
    for r in rows:
        ov = (r.get("diagnostics") or {}).get("overlap")
        share = ov.get("share_outside_0.1_0.9") if isinstance(ov, dict) else None
        if isinstance(share, (int, float)) and not isinstance(share, bool):
            return str(r.get("name") or r.get("estimator")), float(share)
    return None


def measure_warnings(info: dict[str, Any], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """All warnings for one measure's summary: the study's design warnings and estimator
    disagreement. Overlap is judged once: from an estimator's own propensity diagnostics when
    one reports them, else from the study-level check; not at all when an estimator already
    warns about it."""
    design = list(info.get("design_warnings") or [])
    warned = any("overlap" in w.lower() for r in rows for w in (r.get("warnings") or []))
    own = _estimator_overlap(rows)
    if warned or own is not None:
        design = [w for w in design if w.get("kind") != "overlap"]
    if own is not None and not warned and own[1] > 0.10:
        design.append(_w("overlap",
                         f"Poor overlap of propensity scores: {own[1]:.0%} of persons have an "
                         "estimated chance of taking part below 0.1 or above 0.9 (propensity "
                         f"model of {own[0]}; Crump et al. 2009). For them there is hardly "
                         "anyone comparable in the other group, so the estimate extrapolates.",
                         share_outside=own[1], source=own[0]))
    return design + disagreement_warnings(rows)


