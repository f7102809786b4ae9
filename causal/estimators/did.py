"""Difference in differences for policy changes and staggered roll-outs.

Data: long format, one row per unit x period (a panel), with the spec's treatment column the
0/1 "treated in this row" indicator (absorbing: once on, it stays on). Design columns (unit,
period, first treated period, cluster) are estimator options, not spec fields.

- ``did``: the overall effect on the treated.
  * One adoption date (the simple 2 x 2 case and its multi-period version): two-way fixed
    effects (unit and period effects) through :mod:`causal.inference` (clustered at the
    adoption unit; wild cluster bootstrap with few clusters). Assumes parallel trends and no
    anticipation.
  * Staggered adoption (several adoption dates): group-time effects ATT(g, t) of Callaway and
    Sant'Anna (2021) with not-yet-treated (or never-treated) units as the comparison,
    aggregated to one overall ATT (each treated unit-period weighted alike, their "simple"
    aggregation), with influence-function standard errors clustered by unit, or by the
    adoption unit from the influence functions' cluster sums (:mod:`causal.estimators.did_cs`;
    wild cluster multiplier bootstrap with few clusters). Two-way fixed effects is biased here once effects change over time, because
    it uses already-treated units as controls (Goodman-Bacon 2021; de Chaisemartin and
    D'Haultfoeuille 2020); its number is kept as a diagnostic only.
    Built on the ``differences`` package (ATTgt; a maintained Python port of the authors' R
    ``did``), which we checked against twins with known effects in tests/test_did.py.
- ``event_study``: effects by event time (periods since adoption), with the PRE-treatment
  estimates that test parallel trends, as a figure. Staggered: the Callaway-Sant'Anna dynamic
  aggregation; one adoption date: two-way fixed effects with a dummy per event time
  (reference: the period before adoption). Its headline number is the average of the
  post-treatment event-time effects (truth key ``ATT_dynamic``), with the same interval rule
  as ``did`` (the average is made one coefficient by reparametrisation; the event-time
  effects are a linear map of the same fit's coefficients).
- ``triple_difference``: in :mod:`causal.estimators.ddd`.

The parts by concern: the options and the panel (:mod:`~causal.estimators.did_panel`), two-way
fixed effects (:mod:`~causal.estimators.did_twfe`), Callaway-Sant'Anna
(:mod:`~causal.estimators.did_cs`); this module holds the two estimators and the event-study
figure.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from causal.errors import EstimationError, NotIdentified
from causal.estimators import estimator
from causal.estimators.did_cs import CSFit, callaway_santanna, cs_inference, event_table
from causal.estimators.did_cs import draws as cs_draws
from causal.estimators.did_panel import (  # noqa: F401  (re-exported: the DiD API)
    DESIGNS,
    DiDOptions,
    Panel,
    _identified_cells,
    build_panel,
    few_cluster_rule,
    without_anticipation,
)
from causal.estimators.did_panel import pretrend as _pretrend
from causal.estimators.did_twfe import event_study_twfe, twfe, twfe_inference
from causal.result import Estimate


def _cs_headline(fit: CSFit, key: str, P: Panel, o: DiDOptions, ok: bool, cdiag: dict):
    """Estimate, interval, SE and its name of a Callaway-Sant'Anna aggregate; no interval
    (the analytic one kept in the diagnostics) when too few groups are treated."""
    inf = cs_inference(fit, key, o, cs_draws(P, o))
    cdiag.update({k: v for k, v in inf.diagnostics.items() if k not in ("n", "cluster")})
    if not ok:
        cdiag.update({"analytic_ci": list(inf.ci), "analytic_se": inf.se})
        return inf.coef, None, None, cdiag["no_interval"]
    return inf.coef, inf.ci, inf.se, inf.se_type


# --------------------------------------------------------------------------------------
# Estimators
# --------------------------------------------------------------------------------------
def _staggered(P: Panel, o: DiDOptions) -> bool:
    if o.method == "twfe":
        return False
    if o.method == "callaway_santanna":
        return True
    first_t = 1
    return len([g for g in P.cohorts if g > first_t]) > 1


def _common(study, P: Panel, o: DiDOptions) -> tuple[dict, list[str]]:
    """Gross on the identified treated rows, person counts, warnings."""
    if o.inference == "randomization" and _staggered(P, o):
        raise EstimationError("inference: randomization is available for one adoption date "
                              "(two-way fixed effects did); with staggered adoption use "
                              "the default inference")
    warn: list[str] = []
    always = np.unique(P.unit[(P.g == 1)])
    if always.size:
        warn.append(f"{always.size} units are treated from the first period on; without a "
                    "pre-period they cannot contribute and are left out")
    cells = _identified_cells(P, o.control_group)
    if not cells.any():
        raise NotIdentified(
            "no treated unit-period has a comparison: every unit is treated by the time "
            "anyone is" + (" and there are no never-treated units" if not P.has_never else ""))
    late = (P.d == 1) & ~cells
    if late.any():
        warn.append(f"{int(late.sum())} treated rows fall in periods when no unit is "
                    "untreated; they have no comparison and are not in the estimate")
    treated_units = np.unique(P.unit[cells])
    if o.control_group == "never_treated":
        ctrl = np.unique(P.unit[P.g == 0])
    else:  # units untreated in some period in which others are treated (later adopters too)
        ctrl = np.unique(P.unit[(P.g == 0) | (P.g > P.t[cells].min())])
    kw = dict(gross=float(P.y[cells].mean()), n_treated=int(treated_units.size),
              n_control=int(ctrl.size))
    return kw, warn


@estimator("did", DiDOptions, assignments=DESIGNS)
def did(study, options: DiDOptions) -> list[Estimate]:
    """Overall ATT: TWFE (one adoption date) or Callaway-Sant'Anna (staggered adoption)."""
    o = options
    P = build_panel(study, o, "did")
    kw, warn = _common(study, P, o)
    diag: dict = {"periods": len(P.labels), "units": P.n_units,
                  "adoption_periods": [str(P.labels[g - 1]) for g in P.cohorts],
                  "never_treated_units": int(np.unique(P.unit[P.g == 0]).size),
                  "anticipation_periods": o.anticipation, "comparison": o.control_group}
    Pa = without_anticipation(P, o.anticipation)
    figures = {}
    antic = ("no anticipation" if not o.anticipation else
             f"no anticipation earlier than {o.anticipation} period(s) before adoption "
             "(those periods left out)")
    if _staggered(P, o):
        b_tw, se_tw = twfe(Pa)
        diag["twfe"] = {"estimate": b_tw, "se": se_tw}
        ok, cw, cdiag = few_cluster_rule(P, o)
        fit = callaway_santanna(P, o)
        net, ci, se, se_type = _cs_headline(fit, "simple", P, o, ok, cdiag)
        ev = event_table(fit, o)
        diag["inference"] = cdiag
        warn += cw
        method = (f"Callaway and Sant'Anna (2021) group-time effects with "
                  f"{o.control_group.replace('_', '-')} units as the comparison, aggregated over "
                  f"all treated unit-periods; standard errors: {se_type}. Assumes parallel "
                  f"trends and {antic}.")
        if se is not None and abs(b_tw - net) > 2 * se:
            warn.append(f"plain two-way fixed effects gives {b_tw:.2f}, far from this estimate: "
                        "with staggered adoption and effects that change over time it compares "
                        "later- with earlier-treated units and is biased; it is not used")
        diag.update(_pretrend(ev, o.alpha, testable=ci is not None))
        ev = _with_event_counts(ev, P)
        figures["event_study"] = _event_figure(ev, study, "Callaway-Sant'Anna event study",
                                               intervals=ci is not None)
        if diag.get("pretrend_flag"):
            warn.append(diag["pretrend_flag"])
        n_cl = cdiag["n_clusters"]
        est = study.estimate("did", "ATT", net, ci, se, label="difference in differences",
                             method=method, diagnostics=diag, warnings=warn, figures=figures,
                             se_type=se_type, n_clusters=n_cl, **kw)
        cohorts = _cohort_estimates(study, P, o, fit, ok, cdiag) if o.by_cohort else []
        return [est, *cohorts]
    if len(P.cohorts) == 1 and not P.has_never:
        raise NotIdentified("all units adopt in the same period and none stays untreated: "
                            "there is no comparison group for a difference in differences")
    inf = twfe_inference(Pa, o)
    method = ("Two-way fixed effects (unit and period effects; unit effects projected out, "
              f"period dummies as regressors); standard error: {inf.se_type}. Assumes "
              f"parallel trends and {antic}; with a single adoption date this is the ATT.")
    return [inf.attach(study.estimate(
        "did", "ATT", inf.coef, **inf.fields(), label="difference in differences",
        method=method, diagnostics=diag, warnings=warn, figures=figures, **kw))]


def _cohort_estimates(study, P: Panel, o: DiDOptions, fit: CSFit, ok: bool,
                      cdiag: dict) -> list[Estimate]:
    """ATT(g) per start cohort (Callaway and Sant'Anna 2021, their group aggregation: the
    average of the cohort's post-adoption ATT(g, t)), each later cohort with its difference
    from the first and that difference's interval (the difference of the two influence
    functions, clustered as the headline is). Whether the effect depends on when the measure
    started, in a downturn or a boom, is this difference (seed notes 003 P11); it assumes
    parallel trends for every cohort and that the cohorts' participants are alike apart from
    the cycle at their start (else the difference mixes the two)."""
    cells = _identified_cells(P, o.control_group)
    out: list[Estimate] = []
    first = None
    for g in sorted(fit.cohorts):
        name = str(P.labels[g - 1])
        rows = cells & (P.g == g)
        if not rows.any():
            continue
        net, ci, se, se_type = _cs_headline(fit, ("cohort", g), P, o, ok, dict(cdiag))
        diag: dict = {"cohort": name}
        method = (f"Callaway and Sant'Anna (2021) ATT of the units that adopted in {name}: "
                  f"the average of their post-adoption group-time effects; standard error: "
                  f"{se_type}.")
        if first is None:
            first = (g, name)
        else:
            c = cs_inference(fit, ("contrast", g, first[0]), o, cs_draws(P, o) if ok else 0)
            diag["cohort_contrast"] = {"against": first[1], "difference": c.coef,
                                       "ci": list(c.ci) if ok else None, "se": c.se if ok else None}
            method += (f" Difference from the {first[1]} cohort: {c.coef:.2f} "
                       + (f"(95% interval {c.ci[0]:.2f} to {c.ci[1]:.2f})." if ok else
                          "(no interval: too few treated groups to separate it from group "
                          "shocks)."))
        out.append(study.estimate(
            "did", "ATT", net, ci, se, label=f"start cohort {name}", method=method,
            diagnostics=diag, se_type=se_type, n_clusters=cdiag["n_clusters"],
            truth_key=f"ATT_g{name}", gross=float(P.y[rows].mean()),
            n_treated=int(np.unique(P.unit[rows]).size),
            n_control=int(np.unique(P.unit[(P.g == 0) | (P.g > g)]).size)))
    return out


@estimator("event_study", DiDOptions, assignments=DESIGNS)
def event_study(study, options: DiDOptions) -> list[Estimate]:
    """Effects by event time with pre-trend estimates, and their average after adoption."""
    o = options
    P = build_panel(study, o, "event_study")
    kw, warn = _common(study, P, o)
    ok, cw, cdiag = few_cluster_rule(P, o)
    inf = None
    if _staggered(P, o):
        warn += cw
        fit = callaway_santanna(P, o)
        net, ci, se, se_type = _cs_headline(fit, "dynamic", P, o, ok, cdiag)
        ev = event_table(fit, o)
        method = ("Callaway and Sant'Anna (2021) dynamic aggregation: ATT by periods since "
                  f"adoption ({o.control_group.replace('_', '-')} comparison, varying base "
                  "period for the pre-trend estimates"
                  + (f", {o.anticipation} anticipation period(s)" if o.anticipation else "")
                  + "); headline = average of the post-adoption event-time effects; "
                  f"standard errors: {se_type}.")
    else:
        if not P.has_never:
            raise NotIdentified("all units adopt in the same period and none stays untreated: "
                                "there is no comparison group for an event study")
        inf, ev = event_study_twfe(P, o)
        net, ci, se, se_type = inf.coef, inf.ci, inf.se, inf.se_type
        cdiag.update(inf.diagnostics)
        method = ("Two-way fixed effects event study with a dummy per event time, reference = "
                  "the period before adoption"
                  + (f" less {o.anticipation} anticipation period(s)" if o.anticipation else "")
                  + "; headline = average of the post-adoption coefficients of the same fit, "
                  f"standard error {se_type}; event-time errors clustered by "
                  f"{P.cluster_name} as linearmodels gives them (CR0 with every fixed effect "
                  "counted).")
    ev = _with_event_counts(ev, P)
    diag = {"event_time": ev[["ATT", "std_error", "n_treated"]].rename_axis("event_time"),
            "inference": cdiag, **_pretrend(ev[ev.index < -o.anticipation]
                                            if o.anticipation else ev, o.alpha,
                                            testable=ci is not None)}
    if diag.get("pretrend_flag"):
        warn.append(diag["pretrend_flag"])
    fig = _event_figure(ev, study, "event study", intervals=ci is not None)
    est = study.estimate("event_study", "ATT", net, ci, se,
                         label="event-time average", truth_key="ATT_dynamic", method=method,
                         diagnostics=diag, warnings=warn, figures={"event_study": fig},
                         se_type=se_type, n_clusters=cdiag["n_clusters"], **kw)
    return [inf.attach(est) if inf is not None else est]


def _with_event_counts(ev: pd.DataFrame, P: Panel) -> pd.DataFrame:
    """Add ``n_treated``: the treated units observed at each event time (the persons each
    event-time effect rests on; the output gate drops event times under min_cell)."""
    tr = P.g > 0
    e = P.t[tr] - P.g[tr]
    n = pd.Series(P.unit[tr]).groupby(e).nunique()
    out = ev.copy()
    out["n_treated"] = [int(n.get(int(k), 0)) for k in out.index]
    return out


def _event_figure(ev: pd.DataFrame, study, title: str, intervals: bool = True):
    """The event-time effects with their 95% intervals; without bars where the headline has
    no interval (too few clusters): errors from two or three clusters would draw intervals
    the estimate refuses to give."""
    recs = [{"event_time": int(k), "ATT": float(r["ATT"]), "std_error": float(r["std_error"]),
             "n_treated": int(r["n_treated"])} for k, r in ev.iterrows()]
    truth = {int(key[5:]): v for key, v in study.truth.items() if key.startswith("ATT_e")}
    unit = study.unit
    measure = study.measure

    def draw(recs):
        from matplotlib.figure import Figure

        k = np.array([r["event_time"] for r in recs], dtype=float)
        b = np.array([r["ATT"] for r in recs], dtype=float)
        se = np.array([r["std_error"] for r in recs], dtype=float)

        fig = Figure(figsize=(7, 4))
        ax = fig.add_subplot()
        pre = k < 0
        for mask, colour, lab in ((pre, "tab:grey", "before adoption (pre-trend)"),
                                  (~pre, "tab:blue", "after adoption")):
            ax.errorbar(k[mask], b[mask], yerr=1.96 * se[mask] if intervals else None,
                        fmt="o", color=colour, capsize=3, label=lab)
        if not intervals:
            ax.annotate("no interval: too few clusters", (0, 0), xycoords="axes fraction",
                        xytext=(0, -30), textcoords="offset points", va="top", fontsize=8,
                        color="dimgrey")  # below the axis, clear of the points
        if truth:
            tk = np.array(sorted(truth))
            ax.plot(tk, [truth[i] for i in tk], "x", color="tab:red", label="true effect (twin)")
        ax.axhline(0, color="black", lw=0.8)
        ax.axvline(-0.5, color="black", lw=0.8, ls=":")
        ax.set_xlabel("periods since adoption")
        ax.set_ylabel(f"effect ({unit})")
        ax.set_title(f"{measure}: {title}")
        ax.legend(fontsize=8)
        fig.tight_layout()
        return fig

    from causal.report.gate_figures import GatedFigure

    return GatedFigure(recs, draw, what=("effect per event time with its 95% interval"
                                         if intervals else "effect per event time (no "
                                         "interval: too few clusters)") + "; event times "
                       "reached by fewer than min_cell treated units are left out")
