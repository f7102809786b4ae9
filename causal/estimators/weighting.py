"""Inverse probability weighting (``ipw``) and doubly robust AIPW (``aipw``).

``ipw`` (Hajek-normalised weights; Hirano, Imbens and Ridder 2003; Imbens 2004):
  ATE: weights 1/p for participants and 1/(1-p) for non-participants, normalised within each
  group; ATT: participants weight 1, non-participants p/(1-p), normalised. Intervals from the
  influence function of the stacked estimating equations (weighted means plus the logit's
  score; Lunceford and Davidian 2004), so they account for the estimated propensity score;
  with a gradient-boosted score the score is treated as known. Optional trimming drops units
  with a score outside [trim, 1 - trim] (Crump, Hotz, Imbens and Mitnik 2009) and refits;
  the estimand then refers to the trimmed population.

``aipw`` (augmented IPW, doubly robust; Robins, Rotnitzky and Zhao 1994; Chernozhukov et al.
  2018 cross-fitting): propensity and outcome regressions are fit on the other folds, each
  person's contribution to the efficient influence function is computed out of fold, and the
  interval is mean +/- z * sd(psi) / sqrt(n). ATT follows the DR form of Hahn (1998) /
  Chernozhukov et al. (2018, section 5.1). Consistent if either model is right.

Written here (a few numpy lines): the Hajek means and both influence functions; the models
come from scikit-learn (see :mod:`causal.estimators.propensity`).

Assumed: no unobserved confounding given the adjustment set, overlap (scores bounded away
from 0 and 1), and no interference between persons.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field
from scipy import stats

from causal.errors import EstimationError
from causal.estimators import estimator
from causal.estimators.balance import (
    balance_figures,
    balance_records,
    balance_summary,
    balance_table,
    balance_warnings,
    effective_sample_size,
    overlap_summary,
)
from causal.estimators.comparison import refuse_outcome_selected
from causal.estimators.propensity import covariate_matrix, crossfit_predictions, fit_propensity
from causal.estimators.score_terms import nonlinear_balance
from causal.inference import (
    FEW_CLUSTERS,
    ClusterOptions,
    cluster_codes,
    cluster_column,
    coefficient,
    influence_inference,
    influence_se,
    treated_groups,
)
from causal.result import Estimate

#: effective sample size of the weighted non-participants below this share of their number
#: gets a warning: a few persons carry the counterfactual.
ESS_WARN_SHARE = 0.1


class IPWOptions(ClusterOptions):
    estimands: list[Literal["ATT", "ATE"]] = Field(
        default_factory=lambda: ["ATT"], description="ATT (effect on the participants) "
        "and/or ATE (on everyone).")
    propensity: Literal["logistic", "flexible", "gbm"] = Field(
        "flexible", description="Propensity model. flexible (default): logistic regression "
        "(MLE) whose terms (the covariates; plus natural splines of the continuous ones; plus "
        "pairwise products) are chosen by AIC (causal.estimators.score_terms); logistic: "
        "linear in the covariates; gbm: gradient boosting (scikit-learn).")
    trim: float | None = Field(None, gt=0, lt=0.5, description="Drop persons whose score is "
                               "outside [trim, 1 - trim] (Crump et al. 2009) and refit.")
    comparison_selected_on_outcome: bool = Field(
        False, description="True when the comparison group was chosen by its outcome (a "
        "case-control sample): the estimator then refuses.")
    interval: Literal["influence_function", "sandwich"] = Field(
        "influence_function", description="Headline standard error. influence_function: "
        "accounts for the estimated logistic score (Lunceford and Davidian 2004); sandwich: "
        "the weighted-regression robust sandwich that treats the score as known (what "
        "textbooks and Stata's regress [pw=w], robust report; conservative for the ATE). "
        "Both are in the diagnostics.")
    alpha: float = Field(0.05, gt=0, lt=0.5, description="1 - the interval's coverage.")
    seed: int = Field(0, ge=0, description="Seed of the gradient-boosted score and of the "
                      "cross-fitting folds.")


class AIPWOptions(IPWOptions):
    outcome_model: Literal["logistic", "linear", "gbm"] = Field(
        "logistic", description="Outcome regressions per arm: logistic (binary outcomes), "
        "linear or gradient boosting.")
    folds: int = Field(5, ge=2, le=20, description="Cross-fitting folds (Chernozhukov et al. "
                       "2018).")


def _hajek_if(y, d, p, Z, info, estimand) -> tuple[float, np.ndarray, np.ndarray]:
    """Hajek estimate, its influence function (per unit) and the weights used."""
    n = len(y)
    if estimand == "ATE":
        w1, w0 = d / p, (1 - d) / (1 - p)
        mu1 = (w1 * y).sum() / w1.sum()
        mu0 = (w0 * y).sum() / w0.sum()
        phi = w1 * (y - mu1) / w1.mean() - w0 * (y - mu0) / w0.mean()
        if Z is not None:
            # d/dtheta of the estimating functions (logit: dp = p(1-p) z)
            h1 = -(d * (y - mu1) * (1 - p) / p) @ Z / n / w1.mean()
            h0 = ((1 - d) * (y - mu0) * p / (1 - p)) @ Z / n / w0.mean()
            score = Z * (d - p)[:, None]
            phi = phi + score @ np.linalg.solve(info, h1 - h0)
        weights = w1 / w1.mean() * d + w0 / w0.mean() * (1 - d)
    else:
        odds = p / (1 - p)
        w0 = (1 - d) * odds
        mu1 = y[d == 1].mean()
        mu0 = (w0 * y).sum() / w0.sum()
        phi = d * (y - mu1) / d.mean() - w0 * (y - mu0) / w0.mean()
        if Z is not None:
            h0 = (w0 * (y - mu0)) @ Z / n / w0.mean()
            score = Z * (d - p)[:, None]
            phi = phi - score @ np.linalg.solve(info, h0)
        weights = d + w0 / w0.mean() * d.mean()
    return float(mu1 - mu0), phi, weights


def _weights_diag(Xdf, d, weights, p) -> tuple[dict, list[str], object]:
    tab = balance_table(Xdf, d, weights)
    ess_c = effective_sample_size(weights[d == 0])
    ess_t = effective_sample_size(weights[d == 1])
    n_c = int((d == 0).sum())
    warns = balance_warnings(tab, "weighting")
    if ess_c < ESS_WARN_SHARE * n_c:
        warns.append(f"the weighted non-participants count as only {ess_c:.0f} persons "
                     f"(effective sample size, of {n_c}): a few persons with extreme weights "
                     "carry the counterfactual; consider trimming (option trim: 0.05)")
    w0 = weights[d == 0]
    diag = {"effective_sample_size_control": ess_c, "effective_sample_size_treated": ess_t,
            "max_weight_share_control": float(w0.max() / w0.sum()) if w0.sum() > 0 else None,
            "balance": balance_records(tab), **balance_summary(tab)}
    return diag, warns, tab


def _weighting_figs(tab, p, d) -> dict:
    return balance_figures(tab, p, d, "Balance before and after weighting", "after weighting")


@estimator("ipw", IPWOptions, assignments=("observational", "dose"))
def ipw(study, options: IPWOptions) -> list[Estimate]:
    """Hajek inverse probability weighting, ATT and/or ATE, influence-function intervals."""
    refuse_outcome_selected(study, options.comparison_selected_on_outcome)
    d, y = study.d(), study.y()
    Xdf = covariate_matrix(study)
    ps = fit_propensity(Xdf, d, options.propensity, seed=options.seed)
    notes, warns0 = list(ps.notes), []
    keep = np.ones(len(d), dtype=bool)
    if options.trim is not None:
        keep = (ps.p >= options.trim) & (ps.p <= 1 - options.trim)
        if keep.sum() < len(d):
            warns0.append(f"trimming at [{options.trim}, {1 - options.trim}] dropped "
                          f"{len(d) - keep.sum()} of {len(d)} persons; the estimate refers to "
                          "the persons with overlapping scores (Crump et al. 2009)")
            Xdf, d, y = Xdf[keep], d[keep], y[keep]
            if d.min() == d.max():
                raise EstimationError(f"after trimming at {options.trim} only one group is "
                                      "left; lower the trim")
            Xdf = Xdf.loc[:, Xdf.std() > 0]
            ps = fit_propensity(Xdf, d, options.propensity, seed=options.seed)
    overlap, ov_warn = overlap_summary(ps.p, d)
    q = stats.norm.ppf(1 - options.alpha / 2)
    col = cluster_column(study, options.cluster)
    cl = cluster_codes(study, col, "ipw", study.data[keep]) if col else None
    out = []
    for estimand in options.estimands:
        tau, phi, weights = _hajek_if(y, d, ps.p, ps.Z, ps.info, estimand)
        se_if = influence_se(phi, cl)
        sw = _sandwich(y, d, weights, cl, col, options)
        diag, warns, tab = _weights_diag(Xdf, d, weights, ps.p)
        diag["balance_nonlinear"], nl_warns = nonlinear_balance(
            Xdf.to_numpy(float), list(Xdf.columns), d, weights, "weighting")
        warns = warns + nl_warns
        if ps.design is not None:
            diag["propensity_design"] = ps.design
        diag.update({"propensity_model": ps.model, "overlap": overlap, "trim": options.trim,
                     "n_trimmed": int((~keep).sum()),
                     "se_influence_function": se_if, "se_sandwich": sw.se,
                     "sandwich_ci": list(sw.ci) if sw.ci else None})
        if_name = ("influence function accounting for the estimated logistic score"
                   if ps.Z is not None else "influence function, score treated as known")
        if cl is not None:
            if_name += f", clustered by {col}"
        if options.interval == "sandwich":
            se, se_type = sw.se, f"robust sandwich, score treated as known ({sw.se_type})"
        else:
            se, se_type = se_if, if_name
        se_note = f"standard errors: {se_type}"
        gross = float(y[d == 1].mean())
        kw = dict(label=estimand, warnings=warns0 + ov_warn + warns + notes,
                  method=f"Inverse probability weighting with Hajek-normalised weights "
                         f"({ps.model}), {se_note} (Hirano, Imbens and Ridder 2003; "
                         "Lunceford and Davidian 2004).",
                  diagnostics=diag, figures=_weighting_figs(tab, ps.p, d))
        if options.trim is not None and (~keep).any():
            kw.update(gross=gross, n_treated=int(d.sum()), n_control=int((d == 0).sum()),
                      truth_key=f"{estimand}_trimmed")
        if cl is not None and sw.se is None:  # too few treated groups: no interval at all
            se, se_type = None, sw.se_type
        ci = sw.ci if options.interval == "sandwich" and sw.ci else \
            (clustered_if_interval(tau, phi, cl, col, options) or (tau - q * se, tau + q * se))\
            if se is not None else None
        kw["warnings"] = kw["warnings"] + sw.warnings
        out.append(study.estimate("ipw", estimand, tau, ci, se, se_type=se_type,
                                  n_clusters=None if cl is None else int(cl.max()) + 1, **kw))
    return out


def _sandwich(y, d, weights, cl, col, options: IPWOptions):
    """The weighted regression of y on (1, d) with the Hajek weights (its coefficient is the
    Hajek difference) and the robust sandwich of causal.inference, which treats the weights
    as known: HC1, or CR1 (wild bootstrap with few clusters) when clustered."""
    sw = np.sqrt(weights)
    X = np.column_stack([sw, sw * d])
    return coefficient(sw * y, X, 1, se="auto", default="HC1", clusters=cl, cluster_name=col,
                       treated=d, alpha=options.alpha, wild_draws=options.wild_draws,
                       seed=options.seed)


def clustered_if_interval(tau: float, phi: np.ndarray, cl: np.ndarray | None, col,
                          options: IPWOptions) -> tuple[float, float] | None:
    """The influence-function interval clustered by ``col`` through the inference layer
    (t(G-1); the wild cluster multiplier bootstrap under 30 clusters); None unclustered."""
    if cl is None:
        return None
    G = int(cl.max()) + 1
    return influence_inference(tau, phi, cl, col, alpha=options.alpha,
                               draws=options.wild_draws if G < FEW_CLUSTERS else 0,
                               seed=options.seed).ci


@estimator("aipw", AIPWOptions, assignments=("observational", "dose"))
def aipw(study, options: AIPWOptions) -> list[Estimate]:
    """Doubly robust AIPW with cross-fitting; influence-function intervals."""
    refuse_outcome_selected(study, options.comparison_selected_on_outcome)
    d, y = study.d(), study.y()
    Xdf = covariate_matrix(study)
    if d.min() == d.max():
        raise EstimationError("the treatment does not vary: nobody to compare with")
    if min(d.sum(), (1 - d).sum()) < 2 * options.folds:
        raise EstimationError(f"too few persons in one group for {options.folds}-fold "
                              "cross-fitting; lower option folds")
    X = Xdf.to_numpy(float)
    binary = study.spec.is_binary
    kind = options.outcome_model
    if kind == "logistic" and not binary:
        kind = "linear"
    yfit = y / study.scale if binary else y
    p, m0, m1 = crossfit_predictions(X, d, yfit, options.folds, options.seed,
                                     options.propensity, "gbm" if kind == "gbm" else kind,
                                     binary)
    if binary:
        m0, m1 = m0 * study.scale, m1 * study.scale
    keep = np.ones(len(d), dtype=bool)
    warns0: list[str] = []
    if options.trim is not None:
        keep = (p >= options.trim) & (p <= 1 - options.trim)
        if (~keep).any():
            warns0.append(f"trimming at [{options.trim}, {1 - options.trim}] dropped "
                          f"{(~keep).sum()} of {len(d)} persons; the estimate refers to the "
                          "persons with overlapping scores (Crump et al. 2009)")
    dd, yy, pp, mm0, mm1 = d[keep], y[keep], p[keep], m0[keep], m1[keep]
    col = cluster_column(study, options.cluster)
    cl = cluster_codes(study, col, "aipw", study.data[keep]) if col else None
    overlap, ov_warn = overlap_summary(pp, dd)
    q = stats.norm.ppf(1 - options.alpha / 2)
    out = []
    for estimand in options.estimands:
        if estimand == "ATE":
            psi = mm1 - mm0 + dd * (yy - mm1) / pp - (1 - dd) * (yy - mm0) / (1 - pp)
            tau = float(psi.mean())
            phi = psi - tau
            weights = dd / pp + (1 - dd) / (1 - pp)
        else:
            odds = pp / (1 - pp)
            num = dd * (yy - mm0) - (1 - dd) * odds * (yy - mm0)
            tau = float(num.sum() / dd.sum())
            phi = (num - dd * tau) / dd.mean()
            weights = dd + (1 - dd) * odds
        se = influence_se(phi, cl)
        se_type = ("influence function of the doubly robust score, nuisances cross-fitted and "
                   "treated as known (the robust sandwich of the AIPW score)"
                   + (f", clustered by {col}" if col else ""))
        w = weights.copy()
        for g in (0, 1):
            m = dd == g
            w[m] = w[m] / w[m].mean()
        diag, warns, tab = _weights_diag(Xdf[keep], dd, w, pp)
        diag["balance_nonlinear"], nl_warns = nonlinear_balance(
            Xdf[keep].to_numpy(float), list(Xdf.columns), dd, w, "weighting")
        warns = warns + nl_warns
        diag.update({"propensity_model": f"{options.propensity}, cross-fitted",
                     "outcome_model": kind, "folds": options.folds, "overlap": overlap,
                     "trim": options.trim, "n_trimmed": int((~keep).sum()),
                     "mean_outcome_model_control": float(mm0[dd == 1].mean())})
        kw = dict(label=estimand, warnings=warns0 + ov_warn + warns,
                  method=f"Augmented inverse probability weighting (doubly robust), "
                         f"{options.folds}-fold cross-fitted {options.propensity} propensity "
                         f"and {kind} outcome models; influence-function interval (Robins, "
                         "Rotnitzky and Zhao 1994; Chernozhukov et al. 2018).",
                  diagnostics=diag, figures=_weighting_figs(tab, pp, dd))
        if (~keep).any():
            kw.update(gross=float(yy[dd == 1].mean()), n_treated=int(dd.sum()),
                      n_control=int((dd == 0).sum()), truth_key=f"{estimand}_trimmed")
        ci = clustered_if_interval(tau, phi, cl, col, options) or (tau - q * se, tau + q * se)
        if cl is not None:  # too few treated (or untreated) groups: no interval at all
            counts, few = treated_groups(dd.astype(float), cl, col)
            diag["inference"] = counts
            if few is not None:
                kw["warnings"] = kw["warnings"] + [few[0]]
                diag["inference"].update({"analytic_ci": list(ci), "analytic_se": se})
                ci, se, se_type = None, None, few[1]
        out.append(study.estimate("aipw", estimand, tau, ci, se,
                                  se_type=se_type,
                                  n_clusters=None if cl is None else int(cl.max()) + 1, **kw))
    return out
