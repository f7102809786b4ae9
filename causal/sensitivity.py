"""How far to trust a number: E-values, dowhy refuters and design warnings.

Three kinds of checks, each reported in plain words:

- **E-value** (VanderWeele and Ding 2017) for every observational estimate: the minimum
  strength of association, on the risk-ratio scale, that an unmeasured confounder would need
  with both the treatment and the outcome (beyond the measured confounders) to explain the
  estimate away. For an outcome in percentage points the risk ratio is the treated mean over
  its counterfactual, ``gross / (gross - net)``; for a continuous outcome the approximate
  conversion of the standardised difference ``d`` is ``RR ~ exp(0.91 d)`` (VanderWeele and
  Ding 2017, after Chinn 2000). The E-value of the interval uses the limit closer to no effect.
  Assumed: the risk ratio of the treated versus their counterfactual describes the effect
  (for an ATE this uses the treated mean as the reference, an approximation).
- **Refuters** (dowhy; Sharma and Kiciman 2020): placebo treatment, random common cause, data
  subset and the unobserved common cause sensitivity (Cinelli and Hazlett 2020 robustness
  value, dowhy's ``linear-partial-R2``). Refuters re-estimate many times, so they run on a
  fast re-estimate (backdoor linear regression on the Study's adjustment set), once per
  Study, for observational designs only. Switch them off with ``NETTO_REFUTE=0`` or
  ``run_estimator(..., refute=False)``.
- **Design warnings** (:func:`design_warnings`, study level; :func:`disagreement_warnings`,
  measure level): a comparison group chosen by outcome (seed notes 002), a treatment that
  everyone or no one received (seed notes 004), poor overlap of propensity scores (Crump et
  al. 2009 rule of thumb), too few persons in a cell, a single region, an outcome that does
  not vary, and estimators that disagree beyond their intervals.
"""
from __future__ import annotations

import logging
import math
import os
import re
import warnings
import weakref
from typing import Any

import numpy as np
import pandas as pd

from causal.result import Estimate

#: designs whose estimates rest on "no unmeasured confounding" and get E-values and refuters
#: (a dose design's estimand is a dose-response slope, which has no risk ratio).
OBSERVATIONAL = ("observational",)
#: designs in which everyone received the measure (at most its dose varies).
EVERYONE = ("universal", "dose")
#: dowhy refutations per Study (refuters are slow; every estimate of a Study shares them).
_REFUTED: dict[int, tuple[weakref.ref, list[dict[str, Any]]]] = {}
#: rows above which the refuters run on a (deterministic) random subsample.
REFUTE_MAX_ROWS = 20_000
REFUTE_SIMULATIONS = 10


# --------------------------------------------------------------------------------------
# E-value
# --------------------------------------------------------------------------------------
def e_value_rr(rr: float) -> float:
    """E-value of a risk ratio (VanderWeele and Ding 2017, eq. 2): RR + sqrt(RR (RR - 1)),
    after taking the inverse of a protective ratio. 1 means no confounding is needed."""
    if not math.isfinite(rr) or rr <= 0:
        return float("nan")
    rr = 1.0 / rr if rr < 1 else rr
    return rr + math.sqrt(rr * (rr - 1.0))


def _rr_risk(gross: float, effect: float) -> float:
    """Treated mean over counterfactual (gross - effect), both on the same (pp) scale."""
    cf = gross - effect
    if cf <= 0 or gross <= 0:
        return float("nan")
    return gross / cf


def e_value(est: Estimate, sd_outcome: float | None = None) -> dict[str, Any] | None:
    """E-value of an estimate and of its interval limit closer to no effect.

    Returns ``{"e_value", "e_value_ci", "e_value_reading", "e_value_scale"}`` or None when
    there is no number. ``sd_outcome`` is needed for outcomes not in percentage points.
    """
    if est.net is None or not math.isfinite(est.net):
        return None
    lo, hi = est.ci_low, est.ci_high
    if est.unit == "pp":
        if est.gross is None or not math.isfinite(est.gross):
            return None
        scale = "risk ratio of the treated versus their counterfactual (gross / (gross - net))"

        def rr(x: float) -> float:
            return _rr_risk(est.gross, x)
    else:
        if not sd_outcome or not math.isfinite(sd_outcome) or sd_outcome <= 0:
            return None
        scale = ("approximate risk ratio exp(0.91 d) of the standardised difference d = net / "
                 f"SD of the outcome ({sd_outcome:.3g}; VanderWeele and Ding 2017)")

        def rr(x: float) -> float:
            return math.exp(0.91 * x / sd_outcome)
    point = rr(est.net)
    if not math.isfinite(point):
        return {"e_value": None, "e_value_ci": None, "e_value_scale": scale,
                "e_value_reading": "No E-value: the estimate implies a counterfactual of zero "
                                   "or less, so its risk ratio is not defined."}
    ev = e_value_rr(point)
    # the interval limit closer to no effect; 1 when the interval includes no effect
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        ev_ci = None
    elif lo <= 0 <= hi:
        ev_ci = 1.0
    else:
        near = lo if est.net > 0 else hi
        r = rr(near)
        ev_ci = e_value_rr(r) if math.isfinite(r) else None
    what = "raise" if est.net < 0 else "lower"
    reading = (f"To explain the estimate away, an unmeasured confounder would have to be "
               f"associated with both taking part and the outcome by a risk ratio of at least "
               f"{ev:.2f} each, over and above the measured confounders")
    if ev_ci is None:
        reading += "."
    elif ev_ci <= 1.0:
        reading += ("; the interval already includes no effect, so no confounding at all is "
                    "needed to make the data compatible with zero.")
    else:
        reading += (f"; one of {ev_ci:.2f} could {what} the interval to include no effect.")
    if ev < 1.5:
        reading += " That is a weak confounder: the estimate is fragile."
    return {"e_value": ev, "e_value_ci": ev_ci, "e_value_reading": reading,
            "e_value_scale": scale}


# --------------------------------------------------------------------------------------
# dowhy refuters
# --------------------------------------------------------------------------------------
def refute_enabled(refute: bool | None = None) -> bool:
    """``refute`` if given, else the environment: ``NETTO_REFUTE=0`` switches refuters off."""
    if refute is not None:
        return refute
    return os.environ.get("NETTO_REFUTE", "1").strip().lower() not in ("0", "false", "no", "off")


def _refute_frame(study) -> tuple[pd.DataFrame, dict[str, str], str]:
    """Numeric frame for dowhy: treatment ``d``, outcome ``y`` (reporting scale), covariates
    renamed to ``w0..wk`` (one-hot, constant columns dropped), and a note on subsampling."""
    X = study.design_matrix().reset_index(drop=True)
    X = X.loc[:, X.std(ddof=0) > 1e-12] if X.shape[1] else X
    names = {f"w{i}": str(c) for i, c in enumerate(X.columns)}
    X.columns = list(names)
    df = pd.concat([X, pd.DataFrame({"d": study.d().astype(bool), "y": study.y()})], axis=1)
    note = ""
    if len(df) > REFUTE_MAX_ROWS:
        df = df.sample(REFUTE_MAX_ROWS, random_state=np.random.RandomState(20170))
        df = df.reset_index(drop=True)
        note = f" (on a random subsample of {REFUTE_MAX_ROWS} of {len(study.data)} rows)"
    return df, names, note


def refutations(study, simulations: int = REFUTE_SIMULATIONS) -> list[dict[str, Any]]:
    """Run dowhy's refuters on a backdoor linear-regression re-estimate (cached per Study).

    Each result: ``{"name", "value", "reading", "passed", ...}``; values in the outcome's
    unit. Deterministic: fixed random states.
    """
    hit = _REFUTED.get(id(study))
    if hit is not None and hit[0]() is study:
        return [dict(r) for r in hit[1]]
    out = _run_refuters(study, simulations)
    _REFUTED.clear()  # one Study at a time, like the batch workers' cache
    _REFUTED[id(study)] = (weakref.ref(study), out)
    return [dict(r) for r in out]


def _run_refuters(study, simulations: int) -> list[dict[str, Any]]:
    from dowhy import CausalModel

    df, names, note = _refute_frame(study)
    u = study.unit
    common = list(names)
    logging.getLogger("dowhy").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = CausalModel(data=df, treatment="d", outcome="y", common_causes=common or None)
        ident = model.identify_effect(proceed_when_unidentifiable=True)
        est = model.estimate_effect(ident, method_name="backdoor.linear_regression",
                                    test_significance=False, confidence_intervals=False)
        base = float(est.value)
        # the regression's own standard error, to judge how far a refuter moved it
        se = _ols_se(df, common)
        where = (f"re-estimated by linear regression on the adjustment set{note}: "
                 f"{base:.2f} {u}")
        res: list[dict[str, Any]] = []

        r = model.refute_estimate(ident, est, method_name="placebo_treatment_refuter",
                                  placebo_type="permute", num_simulations=simulations,
                                  random_state=np.random.RandomState(1))
        new = float(r.new_effect)
        # each permutation estimate spreads about one standard error around zero, so their
        # mean lies within 4 se / sqrt(k) of zero unless the machinery makes an effect
        ok = abs(new) <= 4 * se / math.sqrt(simulations)
        res.append({
            "name": "placebo treatment", "value": new, "original": base, "passed": ok,
            "p_value": _p(r), "simulations": simulations,
            "reading": (f"With the treatment shuffled at random the effect is {new:.2f} {u} "
                        f"(mean of {simulations}; {where}). "
                        + ("Near zero, as it should be." if ok else
                           "Not near zero: the model, not the treatment, produces an effect."))})

        r = model.refute_estimate(ident, est, method_name="random_common_cause",
                                  num_simulations=simulations,
                                  random_state=np.random.RandomState(2))
        new = float(r.new_effect)
        ok = abs(new - base) <= 0.5 * se
        res.append({
            "name": "random common cause", "value": new, "original": base, "passed": ok,
            "p_value": _p(r), "simulations": simulations,
            "reading": (f"Adding a random confounder moves the estimate from {base:.2f} to "
                        f"{new:.2f} {u}. " + ("Stable, as it should be." if ok else
                                              "Unstable: the estimate depends on noise.")),
        })

        r = model.refute_estimate(ident, est, method_name="data_subset_refuter",
                                  subset_fraction=0.8, num_simulations=simulations,
                                  random_state=np.random.RandomState(3))
        new = float(r.new_effect)
        # an 80% subset's estimate spreads se * sqrt(0.2 / 0.8) around the full-data one
        ok = abs(new - base) <= 4 * 0.5 * se / math.sqrt(simulations)
        res.append({
            "name": "data subset (80%)", "value": new, "original": base, "passed": ok,
            "p_value": _p(r), "simulations": simulations,
            "reading": (f"On random 80% subsets the estimate averages {new:.2f} {u} against "
                        f"{base:.2f} on all data. " + (
                            "Stable, as it should be." if ok else
                            "Unstable: a few persons drive the estimate.")),
        })
        if common:
            res.append(_unobserved(model, ident, est, names, base, u))
    return res


def _p(r) -> float | None:
    try:
        return float(r.refutation_result["p_value"])
    except (TypeError, KeyError, ValueError, AttributeError):
        return None


def _ols_se(df: pd.DataFrame, common: list[str]) -> float:
    """Conventional OLS standard error of the treatment coefficient (a yardstick only)."""
    X = np.column_stack([np.ones(len(df)), df["d"].to_numpy(float),
                         *(df[c].to_numpy(float) for c in common)])
    y = df["y"].to_numpy(float)
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    dof = max(len(y) - np.linalg.matrix_rank(X), 1)
    cov = np.linalg.pinv(X.T @ X) * (resid @ resid / dof)
    return float(np.sqrt(max(cov[1, 1], 0.0)))


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


# --------------------------------------------------------------------------------------
# the pipeline hook
# --------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------
# design warnings
# --------------------------------------------------------------------------------------
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
        who = "Almost everyone" if n1 / n > 0.98 else "Almost no one"
        out.append(_w("treatment_share",
                      f"{who} received the measure ({n1} of {n}, {n1 / n:.1%}): the comparison "
                      f"rests on only {min(n1, n - n1)} persons in the smaller group, so the "
                      "net effect is imprecise and leans heavily on the model."))

    # 3. region: a single one, or treatment constant within every region
    reg = study.region
    if reg and reg in df.columns:
        levels = df[reg].nunique(dropna=True)
        if levels == 1:
            out.append(_w("single_region",
                          f"All persons are in one region ({df[reg].iloc[0]!r}): region "
                          "effects, regional conjunctuur and region-level estimates cannot "
                          "vary, and the result may not carry over to other regions."))
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
        shown = "; ".join(small[:6]) + (f"; and {len(small) - 6} more" if len(small) > 6 else "")
        out.append(_w("small_cells",
                      f"{len(small)} cell(s) of treatment by a covariate hold fewer than {k} "
                      f"persons ({shown}). Estimates that lean on these cells are unreliable, "
                      "and reports suppress them (disclosure control).", cells=len(small)))

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
    out = []
    for c in cols:
        s = df[c]
        if pd.api.types.is_numeric_dtype(s) and not isinstance(s.dtype, pd.CategoricalDtype):
            if s.nunique() > 2:  # continuous; binary numeric flags are cells too
                continue
        if s.nunique() > 100:
            continue
        tab = pd.crosstab(s, df[tc])
        for level, row in tab.iterrows():
            for arm, cnt in row.items():
                if 0 < cnt < k:  # the count itself is not shown (disclosure control)
                    out.append(f"{c} = {level}, {'treated' if arm == 1 else 'untreated'}")
    return out


def overlap(study) -> dict[str, Any] | None:
    """A quick propensity model (scikit-learn logistic regression on the adjustment set):
    the share of persons with a score outside [0.1, 0.9], and the score range per group."""
    X = study.design_matrix()
    if X.shape[1] == 0:
        return None
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    d = study.d().astype(int)
    Xs = StandardScaler().fit_transform(X.to_numpy(float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = LogisticRegression(C=1e4, max_iter=500).fit(Xs, d).predict_proba(Xs)[:, 1]
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


__all__ = ["e_value", "e_value_rr", "refutations", "annotate", "design_warnings",
           "disagreement_warnings", "measure_warnings", "overlap", "OBSERVATIONAL"]
