"""Synthetic control (Abadie, Diamond and Hainmueller 2010), with placebo-in-space inference
and the ridge-augmented variant (Ben-Michael, Feller and Rothstein 2021).

The weights come from pysyncon (a maintained port of the R packages Synth and augsynth;
its dry-run install changes none of pymc, pytensor, arviz, numpy, pandas, scipy):

- ``adh``: non-negative donor weights summing to one that reproduce the treated unit's
  pre-intervention series (``pysyncon.Synth``). The predictors are the pre-period outcomes
  themselves; with ``v: identity`` every pre period weighs the same (the inner quadratic
  programme only, fast enough for the placebo runs); ``v: optimize`` runs the nested
  optimisation of ADH over the predictor weights V (slow: tens of seconds per fit).
- ``augmented``: the ADH weights corrected by a ridge regression of the post-period outcomes
  on the pre-period ones (``pysyncon.AugSynth``, lambda by cross-validation), which removes
  the bias left by an imperfect pre-period fit at the price of weights that may be negative.

Speed: pysyncon solves the inner quadratic programme (simplex-constrained least squares) with
SLSQP and finite-difference gradients, about 0.1-1 s per fit at 30 donors; the placebo runs
need J + 1 fits per variant. :func:`simplex_ls` solves the same programme exactly by
non-negative least squares (Lawson and Hanson 1974, scipy) with the sum-to-one constraint as a
heavily weighted extra row, and is plugged into pysyncon's own Synth and AugSynth classes
(their V handling, ridge augmentation and cross-validation stay the library's). Tests check
the weights against pysyncon called directly; ``benchmarks/synth.py`` measures the ratio.

Inference (ADH 2010 §2.4; Abadie, Diamond and Hainmueller 2015): every donor in turn is
treated as if it had been treated, with the remaining donors as its pool. The ratio of post-
to pre-intervention root mean squared prediction error (RMSPE) of the treated unit is ranked
among those of the placebos: the permutation p-value is (1 + number of placebos with a ratio
at least as large) / (J + 1); placebos whose pre-period fit is worse than ``mspe_cutoff``
times the treated unit's are left out of it (ADH 2010 do the same), unless fewer than five
would remain. The interval is the confidence set of Firpo and Possebom (2018): every constant
effect the placebo test does not reject, with the average post-period gap studentised by
each unit's cross-validated pre-period RMSPE as the statistic, over all J placebos (the
studentising does the cutoff's work); its exact level is a multiple of 1/(J + 1) and it is
unbounded, said in words, with 18 placebos or fewer at 5% (:mod:`synth_inference`). The
earlier interval, the estimate plus or minus t(J-1) times the root mean square of the
placebos' average gaps, stays in the diagnostics (``placebo_spread_interval``): it covered
the Almere twin's truth in 200 of 200 twins, 1.5 pp wide against an RMSE of 0.23, because
the placebos, nearer the edge of the donor cloud than the treated unit, are harder to
reproduce. ``interval: studentised_t`` gives instead the estimate plus or minus t(J-1) times
the treated unit's cross-validated RMSPE times the root mean square of the placebos'
studentised average gaps: approximate (it takes those as normal), narrower, and defined with
any number of placebos. On 200 Almere twins (30 donors; RMSE 0.23 pp) the permutation set
covered in 98.0% (ADH) and 98.5% (ridge-augmented) at its exact level 96.8%, mean width 1.66,
power 0.12; the studentised interval in 95.5% and 96.5%, width 1.29, power 0.17
(``benchmarks/synth_intervals.py``). The figure's band is the 2.5-97.5% range of the placebo gaps per period around
the synthetic series.

Assumed: the treated unit's untreated series is (close to) a weighted average of the donors'
(a factor model whose loadings the donors span); no donor was touched by the measure or by a
shock of its own after the intervention; units are exchangeable enough for the placebo
distribution to describe the estimate's noise. Rates rest on each unit's population, which
the diagnostics carry beside every weight and period.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field
from scipy import stats

from causal.errors import EstimationError
from causal.estimators import Options, estimator
from causal.estimators.synth_inference import confidence_set, loo_rmspe
from causal.result import Estimate


class SynthOptions(Options):
    variants: list[Literal["adh", "augmented"]] = Field(
        ["adh", "augmented"], description="adh: Abadie-Diamond-Hainmueller weights; "
        "augmented: ridge-augmented (Ben-Michael, Feller and Rothstein 2021).")
    v: Literal["identity", "optimize"] = Field(
        "identity", description="Predictor weights V of the ADH fit: equal for every "
        "pre-period outcome, or optimised (nested, slow).")
    mspe_cutoff: float | None = Field(
        5.0, gt=0, description="Leave out placebos whose pre-period MSPE exceeds this multiple "
        "of the treated unit's (None: keep all).")
    alpha: float = Field(0.05, gt=0, lt=0.5, description="Level of the placebo test whose "
                         "inversion is the confidence set (its exact level is 1 - m/(J+1)).")
    interval: Literal["permutation", "studentised_t"] = Field(
        "permutation", description="permutation: the Firpo-Possebom confidence set (exact "
        "under exchangeable units); studentised_t: estimate +- t(J-1) x the treated unit's "
        "cross-validated RMSPE x the root mean square of the placebos' studentised gaps "
        "(approximate, narrower, no granularity limit).")


def simplex_ls(V_mat: np.ndarray, X0: np.ndarray, X1: np.ndarray, qp_method: str = "SLSQP",
               qp_options: dict | None = None) -> tuple[np.ndarray, float]:
    """min_w (X1 - X0 w)' V (X1 - X0 w) subject to w >= 0, sum(w) = 1, exactly (NNLS with
    the constraint as a weighted row); returns pysyncon's (W, 0.5 w'Pw - q'w)."""
    from scipy.optimize import nnls

    sv = np.sqrt(np.clip(np.diag(V_mat), 0, None))
    A = X0 * sv[:, None]
    b = X1 * sv
    big = 1e4 * max(1.0, float(np.abs(A).max()), float(np.abs(b).max()))
    w, _ = nnls(np.vstack([A, np.full((1, A.shape[1]), big)]), np.r_[b, big], maxiter=50 * A.shape[1])
    w = w / w.sum()
    P = X0.T @ V_mat @ X0
    q = X1.T @ V_mat @ X0
    return w, float(0.5 * w @ P @ w - q @ w)


def _classes():
    """pysyncon's Synth and AugSynth with the exact inner solver plugged in."""
    from pysyncon import AugSynth, Synth

    class FastSynth(Synth):
        w_optimize = staticmethod(simplex_ls)

    class FastAugSynth(AugSynth):
        w_optimize = staticmethod(simplex_ls)

    return FastSynth, FastAugSynth


def _dataprep(Y: pd.DataFrame, treated: str, donors: list[str], pre: np.ndarray):
    """A pysyncon Dataprep of the wide outcome frame (periods as integers 0..T-1)."""
    from pysyncon import Dataprep

    long = Y[[treated, *donors]].reset_index(drop=True).rename_axis("t").reset_index()
    long = long.melt(id_vars="t", var_name="unit", value_name="y")
    pre_t = list(np.flatnonzero(pre))
    return Dataprep(foo=long, predictors=[], predictors_op="mean", dependent="y",
                    unit_variable="unit", time_variable="t", treatment_identifier=treated,
                    controls_identifier=list(donors), time_predictors_prior=pre_t,
                    time_optimize_ssr=pre_t)


def fit_weights(Y: pd.DataFrame, treated: str, donors: list[str], pre: np.ndarray,
                variant: str, v: str = "identity", lambda_: float | None = None
                ) -> tuple[np.ndarray, float | None]:
    """Donor weights (in the order of ``donors``) of one synthetic control fit, and the
    ridge penalty of the augmented variant (cross-validated unless ``lambda_`` is given)."""
    import contextlib
    import io

    FastSynth, FastAugSynth = _classes()
    if variant == "adh":
        Z0 = Y.loc[pre, donors].reset_index(drop=True)
        Z1 = Y.loc[pre, treated].reset_index(drop=True)
        sc = FastSynth()
        kw = {"custom_V": np.ones(int(pre.sum()))} if v == "identity" else {}
        sc.fit(X0=Z0, X1=Z1, Z0=Z0, Z1=Z1, **kw)
        return np.asarray(sc.W, dtype=float), None
    sc = FastAugSynth()
    with contextlib.redirect_stdout(io.StringIO()):
        sc.fit(_dataprep(Y, treated, donors, pre), lambda_=lambda_, use_covariates=False)
    return np.asarray(sc.W, dtype=float), float(sc.lambda_)


def placebo_runs(Y: pd.DataFrame, treated: str, donors: list[str], pre: np.ndarray,
                 variant: str, v: str = "identity") -> tuple[pd.DataFrame, np.ndarray, float | None]:
    """Gap paths (periods x units): the treated unit's and each donor's as a placebo, the
    placebo's pool being the other donors (the treated unit is never a donor); the treated
    unit's weights; the ridge penalty, cross-validated on the treated unit and reused for
    the placebos (one cross-validation instead of J + 1)."""
    w, lam = fit_weights(Y, treated, donors, pre, variant, v)
    gaps = {treated: Y[treated].to_numpy(dtype=float) - Y[donors].to_numpy(dtype=float) @ w}
    for unit in donors:
        pool = [d for d in donors if d != unit]
        wu, _ = fit_weights(Y, unit, pool, pre, variant, v, lambda_=lam)
        gaps[unit] = Y[unit].to_numpy(dtype=float) - Y[pool].to_numpy(dtype=float) @ wu
    return pd.DataFrame(gaps, index=Y.index), w, lam


def rmspe_ratios(gaps: pd.DataFrame, pre: np.ndarray) -> pd.Series:
    """Post- over pre-intervention root mean squared prediction error, per unit."""
    g2 = gaps.to_numpy() ** 2
    pre_r = np.sqrt(g2[pre].mean(axis=0))
    post_r = np.sqrt(g2[~pre].mean(axis=0))
    return pd.Series(post_r / np.maximum(pre_r, 1e-12), index=gaps.columns)


def permutation_p(ratios: pd.Series, treated: str) -> float:
    """(1 + placebos with a ratio at least the treated unit's) / (J + 1): ADH (2010)."""
    r = ratios.drop(treated)
    return float((1 + (r >= ratios[treated]).sum()) / (len(r) + 1))


@estimator("synthetic_control", SynthOptions, assignments=("series",))
def synthetic_control(study, options: SynthOptions) -> list[Estimate]:
    """Abadie-Diamond-Hainmueller synthetic control (pysyncon) and its ridge-augmented
    variant, with placebo-in-space inference (RMSPE ratios, permutation p-value)."""
    from causal.aggregate import series_wide
    from causal.estimators.its import series_figure
    from causal.report.gate_figures import GatedFigure

    s = study.spec.series
    Y, pop, treated, donors, post = series_wide(study)
    pre = ~post
    if len(donors) < 4:
        raise EstimationError(f"{len(donors)} donor units; placebo-in-space inference needs at "
                              "least 4 (better 20 or more for a 5% test)")
    # each unit's out-of-sample pre-period fit, the scale of its post-period gap (one set of
    # ADH fits for both variants: a statistic computed alike for every unit keeps the test exact)
    scale = {treated: loo_rmspe(Y, treated, donors, pre)}
    for u in donors:
        scale[u] = loo_rmspe(Y, u, [d for d in donors if d != u], pre)
    out = []
    for variant in options.variants:
        gaps, w, lam = placebo_runs(Y, treated, donors, pre, variant, options.v)
        pre_mspe = (gaps.loc[pre] ** 2).mean()
        keep = [u for u in donors if options.mspe_cutoff is None
                or pre_mspe[u] <= options.mspe_cutoff * pre_mspe[treated]]
        warnings = []
        if len(keep) < 5:
            warnings.append(f"only {len(keep)} placebos fit the pre-period within "
                            f"{options.mspe_cutoff} x the treated unit's MSPE; all "
                            f"{len(donors)} are used")
            keep = list(donors)
        ratios = rmspe_ratios(gaps[[treated, *keep]], pre)
        p = permutation_p(ratios, treated)
        net = float(gaps.loc[post, treated].mean())
        placebo_att = gaps.loc[post, keep].mean().to_numpy()
        q = stats.t.ppf(1 - options.alpha / 2, len(keep) - 1)
        spread = float(np.sqrt(np.mean(placebo_att**2)))
        z = np.array([abs(gaps.loc[post, u].mean()) / max(scale[u], 1e-12) for u in donors])
        cs = confidence_set(net, max(scale[treated], 1e-12), z, options.alpha)
        se = float(scale[treated] * np.sqrt(np.mean(z**2)))
        ci = (cs["low"], cs["high"]) if cs["bounded"] else None
        if options.interval == "studentised_t":
            qs = stats.t.ppf(1 - options.alpha / 2, len(donors) - 1)
            ci = (net - qs * se, net + qs * se)
        elif not cs["bounded"]:
            warnings.append(f"with {len(donors)} placebos the smallest attainable permutation "
                            f"p-value is 1/{len(donors) + 1} = {cs['granularity']:.3f}, above "
                            f"{options.alpha}: the placebo test can never reject, so the "
                            "confidence set is unbounded (every effect is compatible with the "
                            "data); more donors are needed for an interval")
        synthetic = Y[treated].to_numpy() - gaps[treated].to_numpy()
        lo_b = np.quantile(gaps[keep].to_numpy(), options.alpha / 2, axis=1)
        hi_b = np.quantile(gaps[keep].to_numpy(), 1 - options.alpha / 2, axis=1)
        rows = [{"period": str(pd.Timestamp(t).date()), "observed": float(o),
                 "without_measure": float(c), "cf_low": float(c + lo), "cf_high": float(c + hi),
                 "post": bool(b), "n": int(n)}
                for t, o, c, lo, hi, b, n in zip(Y.index, Y[treated], synthetic, lo_b, hi_b,
                                                 post, pop[treated])]
        weights = [{"unit": u, "weight": float(wi), "n": int(pop[u].mean())}
                   for u, wi in zip(donors, w) if abs(wi) > 1e-4]
        pre_fit = float(np.sqrt(pre_mspe[treated]))
        sd_pre = float(Y.loc[pre, treated].std())
        if pre_fit > 0.5 * sd_pre:
            warnings.append(f"the synthetic control fits the pre-period poorly (RMSPE "
                            f"{pre_fit:.2f} against the series' sd {sd_pre:.2f})")
        if p > options.alpha:
            warnings.append(f"the placebo-in-space test does not reject 'no effect' "
                            f"(permutation p = {p:.2f} with {len(keep)} placebos)")
        label = "ADH" if variant == "adh" else "ridge-augmented"
        method = ("Synthetic control (Abadie, Diamond and Hainmueller 2010): non-negative donor "
                  "weights summing to one that reproduce the pre-period series (pysyncon Synth"
                  f", V {options.v})" if variant == "adh" else
                  "Ridge-augmented synthetic control (Ben-Michael, Feller and Rothstein 2021; "
                  "pysyncon AugSynth, lambda by cross-validation)")
        method += (f". Net effect: the average gap over the periods from {s.intervention}. "
                   f"Placebo in space over {len(keep)} donors: RMSPE ratio p = {p:.3f}. "
                   + (f"Interval: t({len(donors) - 1}) times the treated unit's cross-"
                      "validated pre-period RMSPE times the spread of the placebos' average "
                      "gaps over theirs (approximate)." if options.interval == "studentised_t"
                      else f"Interval: the effects the placebo test over {len(donors)} donors "
                      "does not reject (Firpo and Possebom 2018; average post-period gap over "
                      "the cross-validated pre-period RMSPE), exact level "
                      f"{cs['level']:.1%}, p-values in steps of 1/{len(donors) + 1}."))
        persons = int(pop[treated][post].mean())
        est = study.estimate(
            "synthetic_control", "ATT", net, ci, se, gross=float(Y.loc[post, treated].mean()),
            df_resid=int(Y.size - len(donors)), label=label,
            interval=(f"{1 - options.alpha:.0%} studentised placebo interval"
                      if options.interval == "studentised_t" else
                      f"{cs['level']:.1%} permutation confidence set ({len(donors)} placebos)"
                      if cs["bounded"] else "no interval: permutation confidence set unbounded"),
            method=method,
            warnings=warnings,
            diagnostics={"series": rows, "weights": weights, "pre_rmspe": pre_fit,
                         "rmspe_ratio": float(ratios[treated]), "p_value": p,
                         "placebos": len(keep), "n_population_treated": persons,
                         "ridge_lambda": lam, "cv_rmspe": scale[treated],
                         "confidence_set": cs,
                         "placebo_spread_interval": [net - q * spread, net + q * spread],
                         "refutations": [{"name": "placebo in space (RMSPE ratio rank)",
                                          "value": p, "passed": None,
                                          "reading": f"treated unit's RMSPE ratio ranks among "
                                                     f"{len(keep)} placebos: p = {p:.3f}"}],
                         "assumes": "the treated unit's untreated series is a weighted average "
                                    "of the donors'; donors untouched by the measure"})
        est.figures["series"] = GatedFigure(
            rows, lambda recs, lab=label: series_figure(
                recs, study.spec.title, study.unit, f"synthetic control ({lab})",
                s.intervention, band_label="placebo band (2.5-97.5% of placebo gaps)"),
            what="the treated unit's observed series, its synthetic control and the placebo "
                 "band; each rate rests on the unit's population (n)")
        out.append(est)
    return out
