"""Triple difference for a threshold change (age band x eligible group x after): the triple
interaction of a saturated OLS regression through :mod:`causal.inference`; with a ``period``
option also the triple difference by period (an event-study check of pre-trends). Assumes
the band gap in the group gap would have moved in parallel without the change. Split from
:mod:`causal.estimators.did`."""
from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field
from scipy import sparse

from causal.errors import DataError, NotIdentified
from causal.estimators import estimator
from causal.estimators.did_panel import _clusters, _need, pretrend
from causal.inference import (
    FEW_CLUSTERS,
    Inference,
    InferenceOptions,
    cluster_codes,
    cluster_column,
    coefficient,
)
from causal.result import Estimate


class DDDOptions(InferenceOptions):
    band: str = Field(description="0/1 column: in the age band the change concerns.")
    group: str = Field(description="0/1 column: in the group the change applies to.")
    post: str = Field(description="0/1 column: after the change.")
    period: str | None = Field(None, description="Column of the period, for the triple "
                               "difference by period (a pre-trend check).")
    alpha: float = Field(0.05, gt=0, lt=0.5, description="1 - the interval's coverage.")


@estimator("triple_difference", DDDOptions, assignments=("policy_change", "threshold"))
def triple_difference(study, options: DDDOptions) -> list[Estimate]:
    """Band x group x after interaction of a saturated OLS, cluster-robust errors."""

    o = options
    df = study.data
    cols = {}
    for opt in ("band", "group", "post"):
        col = getattr(o, opt)
        _need(study, col, opt, "triple_difference")
        v = df[col]
        if not pd.api.types.is_numeric_dtype(v) and not pd.api.types.is_bool_dtype(v):
            raise DataError(study.source, f"option '{opt}' of triple_difference needs a 0/1 "
                            "column", column=col)
        v = v.astype(float).to_numpy()
        if not set(np.unique(v)) <= {0.0, 1.0}:
            raise DataError(study.source, f"option '{opt}' of triple_difference needs a 0/1 "
                            f"column, found values {sorted(np.unique(v))[:5]}", column=col)
        cols[opt] = v
    A, G, T = cols["band"], cols["group"], cols["post"]
    y, d = study.y(), study.d()
    cells = np.bincount((A + 2 * G + 4 * T).astype(np.int64), minlength=8)
    if (cells == 0).any():
        raise NotIdentified("a triple difference needs data in all 8 cells of band x group x "
                            f"after; found {int((cells > 0).sum())} filled cells")
    warn = []
    mism = int(((A * G * T) != d).sum())
    if mism:
        warn.append(f"{mism} rows have a treatment value that differs from band x group x "
                    "after; the estimate is for the band x group x after cell")
    tr = (A * G * T) == 1
    inf = _triple(study, o, A, G, T, y, tr)
    b, how = inf.coef, inf.se_type
    # one record per band x group x after cell, with its persons (the gate hides small ones)
    cell_recs = [{"cell": f"band{a}_group{g}_post{t}", "n": int(m.sum()),
                  "mean": float(y[m].mean())}
                 for a in (0, 1) for g in (0, 1) for t in (0, 1)
                 for m in [(A == a) & (G == g) & (T == t)]]
    diag = {"cells": cell_recs,
            # a saturated model's coefficient is a sum of cell means: it rests on the smallest
            "_gate": {"counts": {"n_smallest_cell": min(r["n"] for r in cell_recs)}}}
    figures = {}
    if o.period:
        _need(study, o.period, "period", "triple_difference")
        ev = _ddd_by_period(study, o, A, G, T, y)
        diag["by_period"] = ev
        diag.update(pretrend(ev.set_index("rel", drop=True), o.alpha,
                             testable=inf.ci is not None))
        if diag.get("pretrend_flag"):
            warn.append(diag["pretrend_flag"])
        figures["event_study"] = _ddd_figure(ev, study)
    return [inf.attach(study.estimate(
        "triple_difference", "ATT", b, **inf.fields(),
        label="triple difference", method=(
            "Triple difference (band x eligible group x after) from a saturated OLS regression "
            f"of the outcome on all interactions; standard errors {how}. Assumes that without "
            "the change the band-vs-rest gap in the eligible group would have moved like the "
            "same gap in the ineligible group."),
        gross=float(y[tr].mean()), n_treated=int(tr.sum()), n_control=int((~tr).sum()),
        diagnostics=diag, warnings=warn, figures=figures))]


def _triple(study, o: DDDOptions, A, G, T, y, tr) -> Inference:
    """The band x group x after coefficient of the saturated OLS through the inference
    layer. With the flavours whose sandwich is invariant to partialling out (classical,
    HC0/HC1, CR1 with enough clusters for the analytic interval) it is passed as one
    regressor (Frisch-Waugh-Lovell): u, the triple interaction residualised on the other
    seven saturated columns, is constant within each of the 8 cells (a weighted regression
    of 8 cell values), and the outcome e + theta u (e: residuals from the cell means) gives
    the same coefficient, residuals and sandwich; the small-sample factors count the seven.
    Leverage-based flavours (HC2, HC3, CR2) and the resampling intervals (few clusters)
    use the full n x 8 design."""
    col = cluster_column(study, o.cluster)
    if o.se in ("classical", "HC0", "HC1", "HC2", "HC3") and not o.cluster:
        col = None
    cl = cluster_codes(study, col, "triple_difference") if col else None
    kind = o.se if o.se != "auto" else ("CR1" if cl is not None else "HC1")
    few = cl is not None and kind in ("CR1", "CR2") and int(cl.max()) + 1 < FEW_CLUSTERS
    if kind in ("HC2", "HC3", "CR2") or few or o.inference == "randomization":
        X = np.column_stack([np.ones_like(y), A, G, T, A * G, A * T, G * T, A * G * T])
        yy, j, k_abs = y, 7, 0
    else:
        cell = (A + 2 * G + 4 * T).astype(np.int64)
        n_c = np.bincount(cell, minlength=8).astype(float)
        ybar = np.bincount(cell, weights=y, minlength=8) / n_c
        c = np.arange(8)
        a, g, t = (c % 2).astype(float), (c // 2 % 2).astype(float), (c // 4).astype(float)
        Z = np.column_stack([np.ones(8), a, g, t, a * g, a * t, g * t])
        agt = a * g * t
        u_c = agt - Z @ np.linalg.solve((Z.T * n_c) @ Z, (Z.T * n_c) @ agt)
        theta = (n_c * u_c) @ ybar / ((n_c * u_c) @ u_c)
        u = u_c[cell]
        yy = y - ybar[cell] + theta * u
        X, j, k_abs = u[:, None], 0, 7
    return coefficient(yy, X, j, se=o.se, default="HC1", clusters=cl, cluster_name=col,
                       treated=tr.astype(float), alpha=o.alpha, wild_draws=o.wild_draws,
                       seed=o.seed, k_absorbed=k_abs, inference=o.inference)


def _ddd_by_period(study, o: DDDOptions, A, G, T, y):
    """The triple difference per period against the last period before the change: the
    saturated OLS of the outcome on band x group x period (statsmodels' design, HC1 or CR1
    by the cluster column, statsmodels' small-sample factors), computed from the 4 x periods
    cells. A saturated model's fitted values are the cell means, so X'X, X'y and both
    sandwiches are sums over cells (the residuals' squares per cell; their sums per cluster
    and cell): no n x 4P design (24 columns of the panel's length, and statsmodels' pinv
    copies of it, at 6 periods). tests/test_ddd.py compares it to statsmodels."""
    per = study.data[o.period]
    order = sorted(pd.unique(per).tolist())
    pidx = pd.Categorical(per, categories=order).codes.astype(np.int64)
    P = len(order)
    share_post = np.bincount(pidx, weights=T, minlength=P) / np.bincount(pidx, minlength=P)
    pre = [p for p, s in zip(order, share_post) if s < 0.5]
    if not pre:
        raise NotIdentified("no period before the change; the triple difference needs one")
    ref = pre[-1]
    others = [i for i, p in enumerate(order) if p != ref]
    C = 4 * P
    cell = A.astype(np.int64) + 2 * G.astype(np.int64) + 4 * pidx
    n_c = np.bincount(cell, minlength=C).astype(float)
    c = np.arange(C)
    a_c, g_c, p_c = (c % 2).astype(float), (c // 2 % 2).astype(float), c // 4
    D = np.column_stack([(p_c == i).astype(float) for i in others])
    ag = a_c * g_c
    Xc = np.column_stack([np.ones(C), a_c, g_c, ag, D, D * a_c[:, None], D * g_c[:, None],
                          D * ag[:, None]])
    XtX = Xc.T @ (n_c[:, None] * Xc)
    A_inv = np.linalg.pinv(XtX)
    beta = A_inv @ (Xc.T @ np.bincount(cell, weights=y, minlength=C))
    e = y - (Xc @ beta)[cell]
    n, k = y.size, int(np.linalg.matrix_rank(XtX))
    col = cluster_column(study, o.cluster)
    if col:
        groups = _clusters(study, col, "triple_difference")
        n_g = int(groups.max()) + 1
        S = sparse.csr_matrix((e, (groups, cell)), shape=(n_g, C)) @ Xc
        V = A_inv @ (S.T @ S) @ A_inv * n_g / (n_g - 1) * (n - 1) / (n - k)
    else:
        q_c = np.bincount(cell, weights=e ** 2, minlength=C)
        V = A_inv @ (Xc.T @ (q_c[:, None] * Xc)) @ A_inv * n / (n - k)
    kcols = slice(Xc.shape[1] - len(others), Xc.shape[1])
    b, se = beta[kcols], np.sqrt(np.diag(V))[kcols]
    # event time: the last period before the change is -1, the first after it 0
    rel = {q: i - len(pre) for i, q in enumerate(order)}
    # the smallest band x group cell of a period: what its estimate rests on
    smallest = n_c.reshape(P, 4).min(axis=1).astype(int)
    n_ref = int(smallest[order.index(ref)])
    rows = [{"period": str(order[i]), "rel": rel[order[i]], "ATT": float(bb),
             "std_error": float(s), "n": min(int(smallest[i]), n_ref)}
            for i, bb, s in zip(others, b, se)]
    rows.append({"period": str(ref), "rel": -1, "ATT": 0.0, "std_error": 0.0, "n": n_ref})
    ev = pd.DataFrame(rows).sort_values("rel").reset_index(drop=True)
    return ev


def _ddd_figure(ev: pd.DataFrame, study):
    recs = [{"period": str(r["period"]), "rel": int(r["rel"]), "ATT": float(r["ATT"]),
             "std_error": float(r["std_error"]), "n": int(r["n"])} for _, r in ev.iterrows()]
    unit, measure = study.unit, study.measure

    def draw(recs):
        from matplotlib.figure import Figure

        k = np.array([r["rel"] for r in recs], float)
        b = np.array([r["ATT"] for r in recs], float)
        se = np.array([r["std_error"] for r in recs], float)
        labels = [r["period"] for r in recs]
        fig = Figure(figsize=(7, 4))
        ax = fig.add_subplot()
        pre = k < 0
        ax.errorbar(k[pre], b[pre], yerr=1.96 * se[pre], fmt="o", color="tab:grey", capsize=3,
                    label="before the change (pre-trend)")
        ax.errorbar(k[~pre], b[~pre], yerr=1.96 * se[~pre], fmt="o", color="tab:blue",
                    capsize=3, label="after the change")
        ax.set_xticks(k, labels)
        ax.axhline(0, color="black", lw=0.8)
        ax.axvline(-0.5, color="black", lw=0.8, ls=":")
        ax.set_ylabel(f"triple difference ({unit})")
        ax.set_title(f"{measure}: triple difference by period")
        ax.legend(fontsize=8)
        fig.tight_layout()
        return fig

    from causal.report.gate_figures import GatedFigure

    return GatedFigure(recs, draw, what="triple difference per period with its 95% interval; "
                       "n = the smallest band x group cell of the period and the reference "
                       "period; periods under min_cell are left out")
