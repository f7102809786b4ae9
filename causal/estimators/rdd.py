"""Sharp regression discontinuity at a threshold in a running variable (age 56, say).

Built on the authors' own Python packages:

- ``rdrobust`` (Calonico, Cattaneo and Titiunik 2014; Calonico, Cattaneo and Farrell 2020):
  local linear fit on each side with a triangular (or uniform, Epanechnikov) kernel,
  MSE-optimal bandwidth chosen from the data (``mserd``) unless one is given, and the robust
  bias-corrected confidence interval. As rdrobust reports it, the point estimate is the
  conventional local linear jump and the headline interval the robust one (centred on the
  bias-corrected estimate), which stays right at the MSE-optimal bandwidth where the
  conventional interval undercovers; both intervals and both standard errors are in the
  diagnostics, labelled, and ``interval: conventional`` makes the conventional one the
  headline. Treated below the cutoff (``treated_side: below``) is as sharp as above: the
  effect is the left limit minus the right one. rdrobust's mass-points notice (a running
  variable with few distinct values) becomes a warning.
- ``rddensity`` (Cattaneo, Jansson and Ma 2020): a test for a jump in the density of the
  running variable at the cutoff (manipulation: people timing their inflow or hire around it).

Assumed: the outcome's expectation would be smooth in the running variable at the cutoff
without the measure (continuity), nobody sorts precisely around the cutoff, and treatment
switches on exactly at it (sharp design). The estimand is the effect AT the cutoff
(``LATE_cutoff``): for people aged exactly 56, not for all older jobseekers.

The gross/net split of an RD: ``gross`` is the fitted outcome just above the cutoff (what
the eligible get), the counterfactual the fitted outcome just below it.

Data in person-month form (a hazard) need ``cluster`` = the person id: one person's months
are not independent.
"""
from __future__ import annotations

import contextlib
import io
import warnings
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from causal.errors import DataError, EstimationError, NotIdentified
from causal.estimators import Options, estimator
from causal.inference import cluster_codes, cluster_column
from causal.result import Estimate


class RDDOptions(Options):
    running: str = Field("age", description="The running variable (a numeric column).")
    cutoff: float = Field(56.0, description="Where treatment switches on.")
    treated_side: Literal["above", "below"] = Field(
        "above", description="above: treated when the running variable is at or above the "
        "cutoff; below: treated when it is below (still a sharp design).")
    kernel: Literal["triangular", "uniform", "epanechnikov"] = Field(
        "triangular", description="Kernel weighting observations by their distance to the "
        "cutoff (rdrobust's kernels).")
    bandwidth: float | None = Field(None, gt=0, description="Bandwidth on each side; default: "
                                    "chosen from the data by bwselect.")
    bwselect: Literal["mserd", "msetwo", "cerrd", "certwo"] = Field(
        "mserd", description="rdrobust's bandwidth selector: MSE- or CER-optimal, one common "
        "(rd) or two (two) bandwidths.")
    polynomial: int = Field(1, ge=0, le=4, description="Order of the local polynomial.")
    cluster: str | None = Field(None, description="Column to cluster by (one person's months "
                                "in person-month data); default: treatment.assigned_by.")
    vce: Literal["hc1", "hc0", "nn"] = Field(
        "hc1", description="rdrobust's variance without clusters: hc1/hc0 robust, nn nearest "
        "neighbours.")
    interval: Literal["robust", "conventional"] = Field(
        "robust", description="Headline interval: robust bias-corrected (Calonico, Cattaneo "
        "and Titiunik 2014; the default, right at the MSE-optimal bandwidth) or conventional. "
        "Both are in the diagnostics either way.")
    density_test: bool = Field(True, description="Run the Cattaneo-Jansson-Ma test for a "
                               "jump in the density of the running variable.")
    bins: int = Field(20, ge=2, le=200, description="Bins per side in the RD plot.")
    alpha: float = Field(0.05, gt=0, lt=0.5, description="1 - the interval's coverage.")


@estimator("rdd", RDDOptions, assignments=("threshold",))
def rdd(study, options: RDDOptions) -> list[Estimate]:
    """Local linear RD with robust bias-corrected interval, density test and RD plot."""
    from rdrobust import rdrobust

    o = options
    df = study.data
    if o.running not in df.columns:
        raise DataError(study.source, "the rdd estimator's option 'running' names this column "
                        "but the data do not have it", column=o.running)
    x = pd.to_numeric(df[o.running], errors="coerce").to_numpy(float)
    if np.isnan(x).any():
        raise DataError(study.source, f"{int(np.isnan(x).sum())} rows have no numeric value of "
                        "the running variable", column=o.running)
    y, d = study.y(), study.d()
    c = o.cutoff
    left, right = x < c, x >= c
    if left.sum() < 20 or right.sum() < 20:
        raise NotIdentified(f"too few observations on one side of the cutoff {c:g} in "
                            f"'{o.running}' ({int(left.sum())} below, {int(right.sum())} above)")
    above = o.treated_side == "above"
    treated_side = right if above else left
    off = int((d != treated_side).sum())
    if off:
        hint = ("; the treatment is 1 exactly below the cutoff: set option treated_side: below"
                if above and not (d != left).any() else
                "; the treatment is 1 exactly at or above the cutoff: set option treated_side: "
                "above" if not above and not (d != right).any() else
                ": this is a fuzzy design, which this sharp RD does not handle; give the "
                "eligibility indicator as the treatment")
        raise EstimationError(
            f"the treatment column '{study.treatment}' is not 1 exactly when '{o.running}' "
            f"{'>=' if above else '<'} {c:g} ({off} rows differ){hint}")
    kernel = {"triangular": "tri", "uniform": "uni", "epanechnikov": "epa"}[o.kernel]
    kw: dict = dict(c=c, p=o.polynomial, kernel=kernel, level=100 * (1 - o.alpha))
    cl = None
    col = cluster_column(study, o.cluster)
    if col:
        cl = cluster_codes(study, col, "rdd")
        kw.update(cluster=cl, vce="cr1")
    else:
        kw.update(vce=o.vce)
    if o.bandwidth is not None:
        kw["h"] = o.bandwidth
    else:
        kw["bwselect"] = o.bwselect
    if np.ptp(y) == 0:
        raise EstimationError(f"the outcome '{study.outcome}' has the same value for everyone "
                              f"({y[0]:g}): there is no jump to estimate")
    notes = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(notes):
        warnings.simplefilter("ignore")
        try:
            r = rdrobust(y, x, **kw)
        except Exception as e:  # rdrobust raises bare Exceptions for data it cannot fit
            raise EstimationError(f"rdrobust could not fit these data: {e}") from None
    # rdrobust's jump is right minus left; treated below the cutoff, the effect is its negative
    sign = 1.0 if above else -1.0
    net = sign * float(r.coef.iloc[0, 0])          # conventional local polynomial jump
    ci_conv = sorted(sign * float(v) for v in r.ci.iloc[0])
    ci_rb = sorted(sign * float(v) for v in r.ci.iloc[2])   # robust bias-corrected
    se_conv, se_rb = float(r.se.iloc[0, 0]), float(r.se.iloc[2, 0])
    h_l, h_r = (float(v) for v in r.bws.iloc[0])
    b_l, b_r = (float(v) for v in r.bws.iloc[1])

    # left/right limits at the cutoff (local polynomial, the same kernel): gross and
    # counterfactual are the treated and the untreated side's limits
    fit_l = _local_fit(x, y, c, h_l, side="left", p=o.polynomial, kernel=o.kernel)
    fit_r = _local_fit(x, y, c, h_r, side="right", p=o.polynomial, kernel=o.kernel)
    gross = float(fit_r[0] if above else fit_l[0])
    in_l = left & (x >= c - h_l)
    in_r = right & (x <= c + h_r)
    if cl is not None:
        n_l, n_r = int(np.unique(cl[in_l]).size), int(np.unique(cl[in_r]).size)
        who = "persons"
    else:
        n_l, n_r = int(in_l.sum()), int(in_r.sum())
        who = "rows"
    warn: list[str] = []
    diag: dict = {"bandwidth": {"h_left": h_l, "h_right": h_r, "b_left": b_l, "b_right": b_r,
                                "selector": "given" if o.bandwidth is not None else o.bwselect},
                  "n_in_bandwidth": {"left": n_l, "right": n_r, "counted_as": who},
                  "conventional": {"estimate": net, "se": se_conv, "ci": ci_conv,
                                   "p_value": float(r.pv.iloc[0, 0])},
                  "robust_bias_corrected": {"estimate": sign * float(r.coef.iloc[1, 0]),
                                            "se": se_rb, "ci": ci_rb,
                                            "p_value": float(r.pv.iloc[2, 0])},
                  "kernel": o.kernel, "treated_side": o.treated_side,
                  "left_limit": float(fit_l[0]), "right_limit": float(fit_r[0])}
    if notes.getvalue().strip():
        diag["rdrobust_notes"] = notes.getvalue().strip()
    if o.density_test:
        diag["density_test"] = _density(x, c)
        pv = diag["density_test"].get("p_value")
        if pv is not None and pv < 0.05:
            warn.append(f"the density of '{o.running}' jumps at the cutoff (Cattaneo-Jansson-Ma "
                        f"test p = {pv:.3f}): people may sort around it, which breaks the design")
    if "mass points" in notes.getvalue().lower():
        warn.append(f"rdrobust: mass points in '{o.running}' (many persons share each value, "
                    "as with age in whole years); the bandwidth and variance were adjusted "
                    "for them (masspoints=adjust), and the effect rests on the values nearest "
                    "the cutoff (Cattaneo, Idrobo and Titiunik 2020, section 5)")
    if min(n_l, n_r) < 50:
        warn.append(f"few {who} within the bandwidth ({n_l} below, {n_r} above); the interval "
                    "is wide and the bias correction rests on little data")
    fig = _rd_plot(x, y, c, h_l, h_r, fit_l, fit_r, o.bins, study, o.running)
    robust = o.interval == "robust"
    how = (f"clustered by {col}" if col else o.vce)
    se_type = (f"robust bias-corrected ({how}); the interval is centred on the bias-corrected "
               "estimate, the point estimate is the conventional one (rdrobust convention)"
               if robust else f"conventional ({how})")
    method = ("Sharp regression discontinuity (rdrobust), treated "
              f"{'at or above' if above else 'below'} {c:g}: local "
              f"{'linear' if o.polynomial == 1 else f'polynomial (p={o.polynomial})'} fit on "
              f"each side with a {o.kernel} kernel, bandwidth {h_l:.2f} "
              f"({'given' if o.bandwidth is not None else o.bwselect + ' data-driven'}); "
              + ("robust bias-corrected interval (Calonico, Cattaneo and Titiunik 2014), the "
                 "conventional one in the diagnostics" if robust else
                 "conventional interval (undercovers at the MSE-optimal bandwidth; the robust "
                 "one is in the diagnostics)")
              + (f", clustered by {col}" if col else "")
              + ". Effect at the cutoff only; assumes no sorting around it and a smooth "
              "outcome without the measure.")
    n_t, n_c = (n_r, n_l) if above else (n_l, n_r)
    return [study.estimate("rdd", "LATE_cutoff", net, ci_rb if robust else ci_conv,
                           se_rb if robust else se_conv, label="effect at cutoff",
                           gross=gross, n_treated=n_t, n_control=n_c, method=method,
                           interval=("95% robust bias-corrected confidence interval" if robust
                                     else "95% conventional confidence interval"),
                           se_type=se_type,
                           n_clusters=None if cl is None else int(np.unique(cl).size),
                           diagnostics=diag, warnings=warn, figures={"rd_plot": fig})]


def _local_fit(x: np.ndarray, y: np.ndarray, c: float, h: float, side: str,
               p: int = 1, kernel: str = "triangular") -> np.ndarray:
    """Weighted least squares of y on (x-c)^0..p with rdrobust's kernel, one side of c."""
    m = (x < c) if side == "left" else (x >= c)
    m &= np.abs(x - c) <= h
    u = x[m] - c
    z = np.abs(u) / h
    w = {"triangular": np.clip(1 - z, 0, None), "uniform": np.full_like(z, 0.5),
         "epanechnikov": np.clip(0.75 * (1 - z ** 2), 0, None)}[kernel]
    X = np.vander(u, p + 1, increasing=True)
    sw = np.sqrt(w)
    beta, *_ = np.linalg.lstsq(X * sw[:, None], y[m] * sw, rcond=None)
    return beta


def _density(x: np.ndarray, c: float) -> dict:
    try:
        from rddensity import rddensity

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = rddensity(X=x, c=c)
        pv = float(res.test["p_jk"])
        t = float(res.test["t_jk"])
        return {"method": "Cattaneo, Jansson and Ma (2020) local polynomial density test",
                "t": t, "p_value": pv if np.isfinite(pv) else None}
    except Exception as e:  # the test is a diagnostic; its failure must not stop the estimate
        return {"method": "Cattaneo, Jansson and Ma (2020)", "error": f"{type(e).__name__}: {e}"}


def _rd_plot(x, y, c, h_l, h_r, fit_l, fit_r, bins, study, running):
    span = max(h_l, h_r) * 2.0
    lo_x, hi_x = max(x.min(), c - span), min(x.max(), c + span)
    edges_l = np.linspace(lo_x, c, bins + 1)
    edges_r = np.linspace(c, hi_x, bins + 1)

    def binned(edges, side):
        m = (x < c) if side == "left" else (x >= c)
        idx = np.digitize(x[m], edges) - 1
        ok = (idx >= 0) & (idx < len(edges) - 1)
        s = np.bincount(idx[ok], weights=y[m][ok], minlength=len(edges) - 1)
        sx = np.bincount(idx[ok], weights=x[m][ok], minlength=len(edges) - 1)
        n = np.bincount(idx[ok], minlength=len(edges) - 1)
        return [{"side": side, "x_lo": float(edges[i]), "x_hi": float(edges[i + 1]),
                 "x": float(sx[i] / n[i]), "mean": float(s[i] / n[i]), "n": int(n[i])}
                for i in range(len(n)) if n[i] > 0]

    bins_all = binned(edges_l, "left") + binned(edges_r, "right")
    ul = np.linspace(-h_l, 0, 50)
    ur = np.linspace(0, h_r, 50)
    line_l = np.polyval(fit_l[::-1], ul)
    line_r = np.polyval(fit_r[::-1], ur)
    unit, measure, label = study.unit, study.measure, study.spec.outcome.label

    def draw(recs):
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7, 4))
        ax = fig.add_subplot()
        for i, side in enumerate(("left", "right")):
            pts = [r for r in recs if r["side"] == side]
            ax.plot([r["x"] for r in pts], [r["mean"] for r in pts], "o", color="tab:grey",
                    ms=4, label="binned means (bins of at least min_cell persons)" if i == 0 else None)
        ax.plot(c + ul, line_l, color="tab:blue", lw=2, label="local linear fit (bandwidth)")
        ax.plot(c + ur, line_r, color="tab:orange", lw=2)
        ax.axvline(c, color="black", ls=":", lw=1)
        ax.set_xlabel(running)
        ax.set_ylabel(f"{label} ({'%' if unit == 'pp' else unit})")
        ax.set_title(f"{measure}: regression discontinuity at {c:g}")
        ax.legend(fontsize=8)
        fig.tight_layout()
        return fig

    from causal.report.gate_figures import GatedFigure

    return GatedFigure(bins_all, draw, merge="adjacent", group="side",
                       what=f"mean outcome per bin of '{running}' on each side of the cutoff "
                       "(bins merged until each holds min_cell persons) and the local fit")
