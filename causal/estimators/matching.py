"""Propensity-score matching: 1:k nearest neighbours on the logit of the score.

Method (Rosenbaum and Rubin 1983, 1985; Abadie and Imbens 2006, 2016; Austin 2011):

1. Propensity score P(D=1 | X) by logistic regression (default) or gradient boosting, on
   the adjustment set (the graph's back-door set, see :mod:`causal.identify`).
2. Each participant is matched to its k nearest non-participants on the logit of the score
   (ATT); for the ATE each non-participant is also matched to its k nearest participants.
   Matching is within exact strata when the options name them (region, inflow year, ...),
   and a caliper (default 0.2 standard deviations of the logit, Austin 2011) drops matches
   that are too far; who is dropped is counted and reported.
3. With replacement (default) a non-participant can serve several participants; without
   replacement, matching is greedy: every unmatched participant proposes to its nearest
   still-available non-participant and each contested non-participant goes to the closest
   proposer, round after round, until no one can be matched within the caliper.
4. Standard errors: Abadie and Imbens (2006) matching variance, with conditional variances
   estimated by matching within the own group (J = ``var_neighbours``). With a logistic score
   fitted by maximum likelihood, matching with replacement and no exact strata, the
   Abadie and Imbens (2016) adjustment for the estimated propensity score is applied
   (ATE: minus c'V c; ATT: minus c_t'V c_t plus d_t'V d_t). Otherwise the AI (2006) variance
   treats the score as known, and the method text says so. The bootstrap is not valid for
   nearest-neighbour matching (Abadie and Imbens 2008) and is not offered.
   With option ``cluster`` (default: the spec's ``treatment.assigned_by``) the variance is
   clustered instead: the cluster sums of each unit's contribution to the estimate, as a
   participant and as a match (:mod:`causal.estimators.matching_cluster`), CR1 with a
   t(G - 1) interval and the wild cluster multiplier bootstrap under 30 clusters.

Assumed: no unobserved confounding given the adjustment set, overlap, and a comparison
group NOT chosen by its outcome (an outcome-selected "control group" is refused).

Written by hand (vectorised numpy): the one-dimensional nearest-neighbour search within
strata (sorted arrays + ``np.searchsorted`` + a 2k window), the matching without
replacement, and the AI variances: scikit-learn's NearestNeighbors has no strata or
caliper and is several times slower in one dimension, and no Python library implements the
Abadie-Imbens variances.
"""
from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
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
    overlap_summary,
)
from causal.estimators.comparison import refuse_outcome_selected, strata_codes  # noqa: F401
from causal.estimators.matching_cluster import contributions, residuals
from causal.estimators.matching_search import (  # noqa: F401 - re-exported
    SortedPool,
    match_with_replacement,
    match_without_replacement,
)
from causal.estimators.matching_ties import tie_matches
from causal.estimators.matching_variance import (  # noqa: F401
    _ai2016_adjustment,
    _imputed,
    _own_group_stats,
    _sigma2,
    _weights,
)
from causal.estimators.propensity import StandardRows, covariate_matrix, fit_propensity
from causal.estimators.score_terms import balance_terms, nonlinear_balance
from causal.inference import (
    FEW_CLUSTERS,
    ClusterOptions,
    cluster_codes,
    cluster_column,
    influence_inference,
    treated_groups,
)
from causal.result import Estimate

#: from this many rows on, a second thread takes independent parts of the work
_THREAD_MIN_ROWS = 200_000
#: share of participants dropped (caliper, empty strata) above which we warn.
DROP_WARN_SHARE = 0.05


class MatchingOptions(ClusterOptions):
    estimands: list[Literal["ATT", "ATE"]] = Field(
        default_factory=lambda: ["ATT"], description="ATT (effect on the participants) "
        "and/or ATE (on everyone; needs replace: true).")
    propensity: Literal["logistic", "flexible", "gbm"] = Field(
        "flexible", description="Propensity model. flexible (default): logistic regression "
        "(MLE) whose terms (the covariates; plus natural splines of the continuous ones; plus "
        "pairwise products) are chosen by AIC (causal.estimators.score_terms); logistic: "
        "linear in the covariates; gbm: gradient boosting (scikit-learn).")
    k: int = Field(1, ge=1, le=20, description="Matches per unit (1:k).")
    replace: bool = Field(True, description="Match with replacement (a non-participant may "
                          "serve several participants); false: greedy without replacement.")
    caliper: float | None = Field(0.2, gt=0, description="Widest match, in SDs of the "
                                  "matching key (Austin 2011); null: none.")
    exact: list[str] = Field(default_factory=list,
                             description="Columns to match exactly on; 'inflow_year' is "
                                         "derived from the inflow date when not a column.")
    match_on: Literal["logit", "score"] = Field(
        "logit", description="Match on the logit of the propensity score or on the score.")
    ties: Literal["average", "first"] = Field(
        "average", description="average: every unit at the k-th nearest distance is a match, "
        "weighted equally (Abadie and Imbens 2006; R's Matching default); first: the first "
        "found in (stratum, score) order. Without replacement always first.")
    var_neighbours: int | None = Field(
        None, ge=1, le=50, description="J own-group neighbours for the conditional variances; "
                                       "default 8 for binary outcomes, 2 otherwise.")
    conditional_variance: Literal["heteroskedastic", "homoskedastic"] = Field(
        "heteroskedastic", description="heteroskedastic: each unit's conditional outcome "
        "variance from its own-group neighbours (Abadie and Imbens 2006, eq. 14); "
        "homoskedastic: one pooled variance for all (their section 4; R's Matching "
        "default, Var.calc = 0).")
    variance: Literal["ai2016", "ai2006"] = Field(
        "ai2016", description="ai2016: subtract the Abadie-Imbens (2016) adjustment for the "
        "estimated logistic score (with replacement, no exact strata); ai2006: treat the "
        "score as known.")
    comparison_selected_on_outcome: bool = Field(
        False, description="True when the comparison group was chosen by its outcome "
                           "(a case-control sample): matching is then refused.")
    alpha: float = Field(0.05, gt=0, lt=0.5, description="1 - the interval's coverage.")
    seed: int = Field(0, ge=0, description="Seed of the gradient-boosted score and of the "
                      "subsample behind the AI (2016) terms on large data.")




@estimator("propensity_matching", MatchingOptions, assignments=("observational", "dose"))
def propensity_matching(study, options: MatchingOptions) -> list[Estimate]:
    """1:k nearest-neighbour matching on the (logit) propensity score, ATT and/or ATE, with
    Abadie-Imbens (2006/2016) standard errors, caliper, exact strata, balance diagnostics.

    From ``_THREAD_MIN_ROWS`` rows on, independent parts run in a second thread (numpy
    releases the GIL in sorts, searches and gathers): about a third off at 1,000,000 rows on
    two cores."""
    big = len(study.data) >= _THREAD_MIN_ROWS
    with ThreadPoolExecutor(max_workers=1) if big else contextlib.nullcontext() as side:
        return _match(study, options, side)


def _match(study, options: MatchingOptions, side: ThreadPoolExecutor | None
           ) -> list[Estimate]:
    refuse_outcome_selected(study, options.comparison_selected_on_outcome)
    if "ATE" in options.estimands and not options.replace:
        raise EstimationError("option replace: false works only for the ATT; the ATE matches "
                              "both groups to each other and needs replacement")
    d = study.d()
    y = study.y()
    if d.min() == d.max():
        raise EstimationError("the treatment does not vary: nobody to compare with")
    Xdf = covariate_matrix(study)
    ps = fit_propensity(Xdf, d, options.propensity, seed=options.seed)
    if options.propensity != "gbm" and ps.terms in (None, [str(c) for c in Xdf.columns]) \
            and ps.info is not None and options.seed == 0:  # the plain logit MLE: share it
        study.scores[("logistic", tuple(map(str, Xdf.columns)))] = ps.p
    Zrows = Zbal = ps.Z
    if ps.Z is not None and ps.Z.shape[1] == Xdf.shape[1] + 1 and len(d) >= _THREAD_MIN_ROWS:
        # a linear score: its standardised design is the covariates' (read by rows below)
        X = Xdf.to_numpy(dtype=float)
        Zrows = StandardRows(X, ps.loc, ps.scale)
        Zbal = StandardRows(X, ps.loc, ps.scale, intercept=False)
        ps.Z = None
    key = ps.logit if options.match_on == "logit" else ps.p
    t_mask = d == 1
    sd_pooled = float(np.sqrt((key[t_mask].var() + key[~t_mask].var()) / 2))
    caliper = np.inf if options.caliper is None else options.caliper * sd_pooled
    strata, exact_cols = strata_codes(study, options.exact)
    ti, ci = np.flatnonzero(t_mask), np.flatnonzero(~t_mask)
    q = stats.norm.ppf(1 - options.alpha / 2)
    overlap, ov_warn = overlap_summary(ps.p, d)
    scale_name = "logit of the propensity score" if options.match_on == "logit" else \
        "propensity score"
    out: list[Estimate] = []
    # each group sorted once; reused for matching, variances and the AI (2016) terms. With
    # a side thread the two sorts run side by side, and below the AI (2016) adjustment runs
    # beside the AI (2006) variance and the balance table.
    fut_t = side.submit(SortedPool, key[ti], strata[ti]) if side else None
    pool_c = SortedPool(key[ci], strata[ci])
    pool_t = fut_t.result() if fut_t else SortedPool(key[ti], strata[ti])
    pools = {0: pool_c, 1: pool_t}
    # participants -> non-participants (Y(0) for the treated): the same for both estimands
    match = match_with_replacement if options.replace else match_without_replacement
    # the queries in their own pool's sorted order: searches run forward through memory
    kw_t = {"order": pool_t.order} if options.replace else {}
    idx_t, dist_t = match(key[ti], strata[ti], key[ci], strata[ci], options.k, caliper,
                          pool=pool_c, **kw_t)
    ties = options.ties == "average" and options.replace
    tie_t = tie_matches(pool_c, key[ti], strata[ti], dist_t, pool_t.order) if ties else None
    y0_t = tie_t.imputed(y[ci]) if tie_t else _imputed(idx_t, y[ci])
    # own-group variances: with the ATE among the estimands every unit's is needed, and the
    # ATT's (re-used non-participants) are among them: computed once for both
    sig_all: dict[int, np.ndarray] = {}
    nl_terms = None  # squares and products of the covariates, for the balance after
    for estimand in options.estimands:
        if estimand == "ATE":
            idx_c, dist_c = match_with_replacement(key[ci], strata[ci], key[ti], strata[ti],
                                                   options.k, caliper, pool=pool_t,
                                                   order=pool_c.order)
            tie_c = tie_matches(pool_t, key[ci], strata[ci], dist_c, pool_c.order) \
                if ties else None
            y1_c = tie_c.imputed(y[ti]) if tie_c else _imputed(idx_c, y[ti])
        # who stays, and why others went
        no_stratum_t = ~np.isin(strata[ti], np.unique(strata[ci]))  # no partner possible
        kept_t = ~np.isnan(y0_t)
        n_drop_caliper = int((~kept_t & ~no_stratum_t).sum())
        n_drop_exact = int((~kept_t & no_stratum_t).sum())
        effect = np.full(len(y), np.nan)
        effect[ti] = y[ti] - y0_t
        if estimand == "ATE":
            effect[ci] = y1_c - y[ci]
        if estimand == "ATT":
            use = np.zeros(len(y), dtype=bool)
            use[ti] = kept_t
        else:
            use = ~np.isnan(effect)
        if use[ti].sum() == 0 or (estimand == "ATE" and use[ci].sum() == 0):
            raise EstimationError("no participant has a non-participant within the caliper "
                                  f"({options.caliper} SD) in the same exact stratum; widen "
                                  "the caliper or drop exact strata")
        n_use = int(use.sum())
        tau = float(np.nanmean(effect[use]))

        # -- Abadie-Imbens (2006) variance ---------------------------------------------
        m_t, K_c, K2_c = tie_t.weights(kept_t) if tie_t else \
            _weights(np.where(kept_t[:, None], idx_t, -1), len(ci))
        Kall = np.zeros(len(y))
        K2all = np.zeros(len(y))
        Kall[ci], K2all[ci] = K_c, K2_c
        if estimand == "ATE":
            _, K_t, K2_t = tie_c.weights(use[ci]) if tie_c else \
                _weights(np.where(use[ci][:, None], idx_c, -1), len(ti))
            Kall[ti], K2all[ti] = K_t, K2_t
        can_adjust = (options.variance == "ai2016" and ps.info is not None and options.replace
                      and not exact_cols)
        fut_adj = None
        if can_adjust:  # no exact strata: pools unstratified
            args = (key, Zrows, y, d, ps.p, tau, estimand, ps.info, options.k, options.seed,
                    pools)
            fut_adj = side.submit(_ai2016_adjustment, *args) if side else None
        sig2 = np.zeros(len(y))
        J = options.var_neighbours or (8 if study.spec.is_binary else 2)
        every = "ATE" in options.estimands
        for w, grp, pool in ((1, ti, pool_t), (0, ci, pool_c)):
            if w in sig_all:
                sig2[grp] = sig_all[w]
                continue
            # ATT alone: only re-used non-participants enter the variance through sigma^2
            need = None if every else np.flatnonzero(Kall[grp] > 0)
            sig2[grp] = _sigma2(key[grp], strata[grp], y[grp], J,
                                study.scale if study.spec.is_binary else None, need, pool)
            if every:
                sig_all[w] = sig2[grp]
        if options.conditional_variance == "homoskedastic":  # one pooled variance
            comp = np.ones(len(y), dtype=bool) if estimand == "ATE" else np.zeros(len(y), bool)
            if estimand == "ATT":
                comp[ci] = Kall[ci] > 0
            sig2 = np.where(comp, float(sig2[comp].mean()) if comp.any() else 0.0, 0.0)
        if estimand == "ATT":
            v_ai = (((effect[use] - tau) ** 2).sum()
                    + ((Kall[ci] ** 2 - K2all[ci]) * sig2[ci]).sum()) / n_use ** 2
        else:
            v_ai = (((effect[use] - tau) ** 2).sum()
                    + ((Kall ** 2 + 2 * Kall - K2all) * sig2)[use].sum()) / n_use ** 2
        var, var_note = float(v_ai), f"Abadie-Imbens (2006) {options.conditional_variance} " \
                                      "variance, treating the estimated propensity score as known"

        # -- balance: matched participants vs their weighted matches --------------------
        w_after = np.zeros(len(y))
        if estimand == "ATT":
            w_after[ti] = kept_t.astype(float)
            w_after[ci] = Kall[ci]
        else:
            w_after[use] = 1.0  # each unit in its own arm, plus as a match in the other
            w_after += Kall
        # the standardised design, no second copy of the data: rows computed block by block
        # (a linear score at scale), else the score's Z (a flexible score's Z has more terms
        # after the covariates)
        nb = Xdf.shape[1]
        Zb = Zbal if Zbal is not ps.Z else None if ps.Z is None else ps.Z[:, 1:nb + 1]
        tab = balance_table(Xdf, d, w_after) if Zb is None else balance_table(
            Zb, d, w_after, names=list(Xdf.columns), loc=ps.loc[:nb], scale=ps.scale[:nb])
        if nl_terms is None:
            nl_terms = balance_terms(Xdf.to_numpy(float), list(Xdf.columns))
        nl_diag, nl_warns = nonlinear_balance(None, list(Xdf.columns), d, w_after, "matching",
                                              terms=nl_terms)
        # the AI (2016) adjustment ran beside the variance and the balance table
        adj = None
        if can_adjust:
            adj = fut_adj.result() if fut_adj else _ai2016_adjustment(*args)
            if var - adj > 0:
                var = var - adj
                var_note = (f"Abadie-Imbens (2006) {options.conditional_variance} variance with "
                            "the Abadie-Imbens (2016) adjustment for the estimated propensity "
                            "score")
            else:
                var_note += " (the AI 2016 adjustment exceeded the variance and was not applied)"
        elif options.variance == "ai2016":
            why = ("gradient-boosted score" if ps.info is None else
                   "matching without replacement" if not options.replace else "exact strata")
            var_note += f" (AI 2016 adjustment not available with {why})"
        se = float(np.sqrt(var))
        warns = list(ov_warn) + balance_warnings(tab, "matching") + nl_warns + list(ps.notes)
        share_matched = float(kept_t.mean())
        dropped = len(ti) - int(kept_t.sum())
        if dropped / len(ti) > DROP_WARN_SHARE:
            warns.append(f"{dropped} of {len(ti)} participants ({dropped / len(ti):.0%}) had no "
                         "non-participant within the caliper"
                         + (" or exact stratum" if exact_cols else "")
                         + f" and were left out: the {estimand} refers to the matched "
                         "participants only")
        diag = {
            "propensity_model": ps.model,
            "match_on": scale_name,
            "k": options.k, "replace": options.replace,
            "caliper_sd": options.caliper, "caliper_width": None if options.caliper is None
            else float(caliper),
            "exact_strata": exact_cols, "n_strata": int(strata.max() + 1),
            "share_treated_matched": share_matched,
            "n_treated_matched": int(kept_t.sum()),
            "n_dropped_by_caliper": n_drop_caliper,
            "n_dropped_no_control_in_stratum": n_drop_exact,
            "n_controls_used": int((Kall[ci] > 0).sum()),
            "max_times_control_used": int(round(tie_t.times_used(kept_t).max())) if tie_t
            else int(np.bincount(idx_t[kept_t][idx_t[kept_t] >= 0], minlength=1).max()),
            "ties": "averaged" if tie_t else "first found",
            "mean_matches_per_treated": float(m_t[kept_t].mean()) if kept_t.any() else None,
            "mean_match_distance": float(np.nanmean(np.where(np.isfinite(dist_t), dist_t,
                                                             np.nan))),
            "se_ai2006": float(np.sqrt(v_ai)),
            "ai2016_adjustment": adj,
            "variance": var_note,
            "balance": balance_records(tab),
            **balance_summary(tab),
            "balance_nonlinear": nl_diag,
            "overlap": overlap,
        }
        if ps.design is not None:
            diag["propensity_design"] = ps.design
        if estimand == "ATE":
            diag["share_controls_matched"] = float(use[ci].mean())
        method = (f"1:{options.k} nearest-neighbour matching on the {scale_name} "
                  f"({ps.model}), {'with' if options.replace else 'without'} replacement"
                  + (f", caliper {options.caliper} SD" if options.caliper else ", no caliper")
                  + (f", exact within {', '.join(exact_cols)}" if exact_cols else "")
                  + f"; {var_note} (Rosenbaum and Rubin 1983; Abadie and Imbens 2006, 2016).")
        gross = float(y[ti][kept_t].mean()) if estimand == "ATT" else None
        kw = dict(label=estimand, method=method, diagnostics=diag, warnings=warns,
                  figures=balance_figures(tab, ps.p, d, f"Balance before and after matching "
                                          f"({estimand})", "after matching"))
        if gross is not None:
            kw["gross"] = gross
            kw["n_treated"] = int(kept_t.sum())
            kw["n_control"] = int((Kall[ci] > 0).sum())
        ci_, se_, se_type, n_cl = (tau - q * se, tau + q * se), se, var_note, None
        col = cluster_column(study, options.cluster)
        if col:
            cl = cluster_codes(study, col, "propensity_matching")
            J = options.var_neighbours or (8 if study.spec.is_binary else 2)
            eps = np.zeros(len(y))
            eps[ti] = residuals(key[ti], strata[ti], y[ti], J, pool_t, _own_group_stats)
            eps[ci] = residuals(key[ci], strata[ci], y[ci], J, pool_c, _own_group_stats)
            em = np.full(len(y), np.nan)
            em[ti] = tie_t.imputed(eps[ci]) if tie_t else _imputed(idx_t, eps[ci])
            if estimand == "ATE":
                em[ci] = tie_c.imputed(eps[ti]) if tie_c else _imputed(idx_c, eps[ti])
            a = contributions(len(y), ti, ci, effect, use, tau, Kall, eps, em, estimand)
            G = int(cl.max()) + 1
            res = influence_inference(tau, a * len(y) / n_use, cl, col, alpha=options.alpha,
                                      draws=options.wild_draws if G < FEW_CLUSTERS else 0,
                                      seed=options.seed)
            counts, few = treated_groups(d.astype(float), cl, col)
            diag["inference"] = {**res.diagnostics, **counts, "se_unclustered": se}
            ci_, se_, n_cl = res.ci, res.se, G
            se_type = (f"{res.se_type} of the per-unit matching contributions (Abadie and "
                       "Imbens 2006 residuals; score treated as known)")
            if few is not None:
                warn, what = few
                warns.append(warn)
                diag["inference"].update({"analytic_ci": list(res.ci), "analytic_se": res.se})
                ci_, se_, se_type = None, None, what
            kw["method"] = method.replace(var_note, se_type)
        out.append(study.estimate("propensity_matching", estimand, tau, ci_, se_,
                                  se_type=se_type, n_clusters=n_cl, **kw))
        # this estimand's unit arrays go before the next one's are made (peak memory)
        del effect, use, Kall, K2all, sig2, w_after
    return out

