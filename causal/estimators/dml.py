"""Double/debiased machine learning for effects that differ by age group or region.

econml's ``LinearDML`` (Chernozhukov et al. 2018): the outcome and the participation are
each predicted from the covariates with cross-fitted machine-learning models (gradient
boosting by default, or linear/logistic), and the residualised outcome is regressed on the
residualised participation interacted with group dummies. That gives one effect per age
group (45-49, 50-54, 55-59, 60+) or region, with intervals, and the overall ATE (and ATT) as
the average of the group effects over all persons (participants). ``model: causal_forest``
uses econml's ``CausalForestDML`` (Athey, Tibshirani and Wager 2019) with all covariates as
effect modifiers and reports the group averages of its person-level effects.

Registry scale: the nuisance models are cross-fitted once, on the covariates plus the
dummies of every subgroup dimension; each dimension then only refits the final stage on the
cached residuals (econml's ``refit_final`` with a featurizer that selects that dimension's
dummies). The learners may use threads (option ``threads``; 0 = one thread below 100,000
persons, all cores above). Large-n policy: ``folds`` defaults to 5 below 200,000 persons and
to 2 above (Chernozhukov et al. 2018 allow any K >= 2; with K = 2 each nuisance model still
learns from 100,000+ persons, and the learners' work falls fourfold: 1 x n training rows per
model instead of 4 x n).

Disclosure control: a group with fewer than ``spec.disclosure.min_cell`` participants or
non-participants gets no estimate in the output (the row says it was suppressed), following
the rule that no table cell rests on fewer than that many persons.

Assumed: no unobserved confounding given the adjustment set, overlap; within a group the
linear final stage estimates an overlap-weighted average of the person-level effects.
"""
from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from causal.errors import EstimationError
from causal.estimators import Options, estimator
from causal.estimators.comparison import refuse_outcome_selected
from causal.estimators.propensity import covariate_matrix
from causal.result import Estimate
from causal.study import age_group, subgroup_key


class DMLOptions(Options):
    by: list[Literal["age_group", "region"]] = Field(
        default_factory=lambda: ["age_group"], description="Subgroups to report effects for "
        "(age group 45-49, 50-54, 55-59, 60+; the spec's region).")
    estimands: list[Literal["ATE", "ATT"]] = Field(
        default_factory=lambda: ["ATE"], description="ATE (everyone) and/or ATT (the "
        "participants).")
    model: Literal["linear_dml", "causal_forest"] = Field(
        "linear_dml", description="econml LinearDML (effects linear in the subgroup "
        "dummies) or CausalForestDML (Athey, Tibshirani and Wager 2019).")
    nuisance: Literal["gbm", "linear"] = Field(
        "gbm", description="Outcome and propensity learners: gradient boosting or "
        "linear/logistic regression.")
    folds: int | None = Field(None, ge=2, le=20, description="Cross-fitting folds "
                              "(Chernozhukov et al. 2018); default 5, or 2 from 200,000 rows.")
    comparison_selected_on_outcome: bool = Field(
        False, description="True when the comparison group was chosen by its outcome (a "
        "case-control sample): the estimator then refuses.")
    alpha: float = Field(0.05, gt=0, lt=0.5, description="1 - the interval's coverage.")
    seed: int = Field(0, description="Seed of the folds and the learners.")
    threads: int = Field(0, ge=0, description="Threads for the learners; 0: one thread below "
                         "100,000 rows, all cores above.")


def _groups(study, dim: str) -> pd.Series:
    df = study.data
    if dim == "age_group":
        if "age" not in df.columns:
            raise EstimationError("dml by age_group needs an 'age' column in the data")
        return age_group(df["age"])
    col = study.region
    if not col or col not in df.columns:
        raise EstimationError("dml by region needs the spec's region column (field region)")
    return df[col].astype(str).reset_index(drop=True)


def _nuisances(kind: str, seed: int):
    if kind == "gbm":
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        return (HistGradientBoostingRegressor(max_iter=150, random_state=seed),
                HistGradientBoostingClassifier(max_iter=150, random_state=seed))
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return (LinearRegression(),
            make_pipeline(StandardScaler(), LogisticRegression(C=1e4, max_iter=1000)))


#: persons from which the default cross-fitting uses 2 folds instead of 5
LARGE_N = 200_000


def _folds(options: DMLOptions, n: int) -> int:
    if options.folds:
        return options.folds
    return 2 if n >= LARGE_N else 5


def _threads(options: DMLOptions, n: int) -> int:
    import os

    if options.threads:
        return options.threads
    return 1 if n < 100_000 else (os.cpu_count() or 1)


def _fit(study, options: DMLOptions, W: np.ndarray, X: np.ndarray | None):
    """Cross-fit the nuisances (once) and the final stage; residuals cached for refits."""
    from econml.dml import CausalForestDML, LinearDML
    from threadpoolctl import threadpool_limits

    model_y, model_t = _nuisances(options.nuisance, options.seed)
    y, d = study.y(), study.d().astype(int)
    with warnings.catch_warnings(), threadpool_limits(_threads(options, len(y))):
        warnings.simplefilter("ignore")
        if options.model == "causal_forest":
            est = CausalForestDML(model_y=model_y, model_t=model_t, discrete_treatment=True,
                                  cv=_folds(options, len(y)), random_state=options.seed,
                                  n_estimators=400)
            est.fit(y, d, X=W, W=None)
        else:
            est = LinearDML(model_y=model_y, model_t=model_t, discrete_treatment=True,
                            cv=_folds(options, len(y)), random_state=options.seed)
            est.fit(y, d, X=X, W=W, cache_values=True)
    return est


def _select(cols: list[int]):
    """A featurizer that keeps only the given columns of X (one subgroup dimension)."""
    from sklearn.compose import ColumnTransformer

    return ColumnTransformer([("dim", "passthrough", cols)], remainder="drop")


def _dummies(g: pd.Series) -> tuple[np.ndarray, list[str]]:
    levels = sorted(g.unique())
    D = pd.get_dummies(pd.Categorical(g, categories=levels), drop_first=True, dtype=float)
    return D.to_numpy(), levels


@estimator("dml", DMLOptions, assignments=("observational", "dose"))
def dml(study, options: DMLOptions) -> list[Estimate]:
    """econml LinearDML / CausalForestDML: overall effect plus effects by age group / region,
    small groups suppressed."""
    refuse_outcome_selected(study, options.comparison_selected_on_outcome)
    d = study.d()
    if d.min() == d.max():
        raise EstimationError("the treatment does not vary: nobody to compare with")
    W = covariate_matrix(study).to_numpy(float)
    k = study.spec.disclosure.min_cell
    alpha = options.alpha
    dims, single = [], []
    for dim in options.by:  # a dimension with one level has no effects to split
        (dims if _groups(study, dim).nunique() > 1 else single).append(dim)
    subgroups: dict[str, list[dict]] = {}
    suppressed_total = 0
    # every dimension's dummies side by side; the nuisances are cross-fitted once on them
    groups = {dim: _groups(study, dim) for dim in dims}
    blocks = {dim: _dummies(groups[dim]) for dim in dims}
    cols, o = {}, 0
    for dim in dims:
        cols[dim] = list(range(o, o + blocks[dim][0].shape[1]))
        o += len(cols[dim])
    X_all = np.hstack([blocks[dim][0] for dim in dims]) if dims else None
    est = _fit(study, options, W, X_all)
    overall = None
    for dim in dims or [None]:
        if options.model == "causal_forest":
            Xq = W
        elif dim is None:
            Xq = None
        else:  # only the final stage, on this dimension's dummies
            Xq = X_all
            if len(dims) > 1:
                est.featurizer = _select(cols[dim])
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    est.refit_final()
        if overall is None:  # the overall effects average the first dimension's group effects
            overall = {e: (est.ate_inference() if Xq is None else
                           est.ate_inference(X=Xq[np.ones(len(d), bool) if e == "ATE"
                                                  else d == 1]))
                       for e in options.estimands}
        if dim is None:
            continue
        g, levels = groups[dim], blocks[dim][1]
        rows = []
        for lev in levels:
            m = (g == lev).to_numpy()
            n_t, n_c = int(d[m].sum()), int((1 - d[m]).sum())
            row = {"group": lev, "n_treated": n_t, "n_control": n_c}
            truth = study.truth.get(subgroup_key("ATE", dim, lev))
            if truth is not None:  # a twin knows each group's true average effect
                row["truth"] = truth
            if n_t < k or n_c < k:
                row.update(effect=None, ci_low=None, ci_high=None,
                           note=f"suppressed: fewer than {k} participants or non-participants")
                suppressed_total += 1
            else:
                inf = est.ate_inference(X=Xq[m])
                lo, hi = inf.conf_int_mean(alpha=alpha)
                row.update(effect=float(inf.mean_point), ci_low=float(np.ravel(lo)[0]),
                           ci_high=float(np.ravel(hi)[0]), se=float(inf.stderr_mean))
            rows.append(row)
        subgroups[dim] = rows

    out = []
    folds = _folds(options, len(d))
    for estimand in options.estimands:
        inf = overall[estimand]
        lo, hi = inf.conf_int_mean(alpha=alpha)
        tau, se = float(inf.mean_point), float(inf.stderr_mean)
        warns = [f"only one {x.replace('_', ' ')} in the data: no effects by {x.replace('_', ' ')}"
                 for x in single]
        if suppressed_total:
            warns.append(f"{suppressed_total} subgroup estimate(s) suppressed: fewer than {k} "
                         "participants or non-participants in the group (disclosure control)")
        what = {"linear_dml": "econml LinearDML", "causal_forest": "econml CausalForestDML"}
        by = " and ".join(x.replace("_", " ") for x in dims) or "none"
        out.append(study.estimate(
            "dml", estimand, tau, (float(np.ravel(lo)[0]), float(np.ravel(hi)[0])), se,
            label=estimand,
            method=f"Double machine learning ({what[options.model]}, {folds}-fold "
                   f"cross-fitted {options.nuisance} nuisance models; Chernozhukov et al. "
                   f"2018); effects by {by}; the {estimand} averages the group effects over "
                   + ("all persons." if estimand == "ATE" else "the participants."),
            diagnostics={"subgroups": subgroups, "min_cell": k, "nuisance": options.nuisance,
                         "model": options.model, "folds": folds},
            warnings=warns,
            figures={f"effects_by_{dim}": _forest(subgroups[dim], dim, study.unit)
                     for dim in subgroups},
        ))
    return out


def _forest(rows: list[dict], dim: str, unit: str):
    """Effects by group as a figure for the output gate (groups under min_cell left out)."""
    from causal.report.gate_figures import GatedFigure

    def make(recs):
        from matplotlib.figure import Figure

        shown = [r for r in recs if r.get("effect") is not None][::-1]  # first on top
        fig = Figure(figsize=(6.4, max(2.2, 0.3 * len(shown) + 1.2)))
        ax = fig.add_subplot(1, 1, 1)
        yy = np.arange(len(shown))
        ax.errorbar([r["effect"] for r in shown], yy,
                    xerr=[[r["effect"] - r["ci_low"] for r in shown],
                          [r["ci_high"] - r["effect"] for r in shown]],
                    fmt="o", color="#2166ac", ecolor="#92c5de", capsize=2)
        truths = [(y, r["truth"]) for y, r in zip(yy, shown) if r.get("truth") is not None]
        if truths:  # a twin: each group's true effect
            ax.scatter([t for _, t in truths], [y for y, _ in truths], marker="x",
                       color="#b2182b", zorder=3, label="true effect (twin)")
            ax.legend(fontsize=8, loc="best")
        ax.axvline(0, color="grey", lw=0.8, ls="--")
        ax.set_yticks(yy)
        ax.set_yticklabels([f"{r['group']} (about {r['n_treated']} participants)" for r in shown],
                           fontsize=8)
        ax.set_xlabel(f"net effect ({unit}), 95% interval")
        n_sup = len(rows) - len(shown)
        title = f"Effect by {dim.replace('_', ' ')}"
        if n_sup:
            title += "\n(groups with too few persons left out)"
        ax.set_title(title, fontsize=10)
        fig.tight_layout()
        return fig

    recs = [{k: v for k, v in r.items() if k != "note"} for r in rows
            if r.get("effect") is not None]
    return GatedFigure(recs, make, what=f"net effect by {dim} with its 95% interval; groups "
                       "with fewer than min_cell participants or non-participants left out")
