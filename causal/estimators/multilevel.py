"""Bayesian multilevel estimation by region (or project, municipality, ...): partial pooling.

Model (Gelman and Hill 2007, ch. 11-14), person i in group g, treatment d_i:

    binary:     logit P(y_i = 1) = mu_g + x_i'beta + d_i tau_g
    continuous: y_i ~ Normal(mu_g + x_i'beta + d_i tau_g, sigma)   (y standardised inside)
    mu_g  ~ Normal(alpha, sd_intercept)           region-varying intercepts
    tau_g ~ Normal(theta + w_g'gamma, sd_effect)   region-varying treatment effects, with
                                                   optional region-level predictors w_g (dose)

Covariates and the context confounders (``months_to_aow``, ``conjunctuur``) are fixed
effects: categorical ones reference-coded (the most frequent level is the reference, so no
redundant intercept and the least correlated coefficients),
numeric ones standardised, every column centred on its mean so the intercept is the mean
logit (this decorrelates alpha and beta and keeps the sampler fast). Weakly informative
priors (Gelman et al. 2008), all overridable in ``options.priors``: alpha ~ N(0, 2.5),
beta ~ N(0, 1) per column (per SD of a numeric covariate), theta ~ N(0, 1) (one logit is
about 25 points at 50%), sd_intercept ~ HalfNormal(1), sd_effect ~ HalfNormal(0.5),
gamma ~ N(0, 1) per SD of a region-level predictor, sigma ~ HalfNormal(1).

Parameterisation: a group's intercept and effect are sampled centred (mu_g directly) when its
data pin them down (the data alone give them a standard error below 0.1 on the logit scale)
and non-centred (mu_g = alpha + sd z_g) when they do not, so small regions avoid the funnel
and large ones avoid the opposite ridge (Papaspiliopoulos, Roberts and Skold 2007;
Betancourt and Girolami 2015). The choice is a 0/1 weight per group passed as data (the
partially non-centred form), so it never forces a recompilation. ``parameterization``
forces one form for all groups.

Speed: a binary outcome with categorical covariates has sufficient statistics, so rows are
collapsed to cells (group x treatment x covariate levels) and the likelihood is binomial
on the cells: exact, and the cost depends on the number of cells, not rows. A continuous
outcome collapses exactly too (cell count, mean and within-cell sum of squares). Continuous
covariates are binned where ``options.bin`` allows (the bins are then the covariate's levels);
a numeric covariate with at most ``max_levels`` distinct values is used exactly; any other
continuous covariate makes the model run on rows, with a warning. The likelihood enters the
pymc model as a pm.Potential (the binomial kernel y eta - n log(1 + e^eta), without its
constant: the same posterior as pm.Binomial) computed by a small PyTensor Op whose value and
gradient come from one fused numba loop over the cells that releases the GIL
(causal.estimators.multilevel_kernels, written by hand: PyTensor's own C code took several
passes over the cells and held the GIL, so chains could not run side by side).

Sampling: nutpie's NUTS (Hoffman and Gelman 2014; nutpie, Seyboldt et al.) with its low-rank
mass-matrix adaptation, fed the log density and gradient that PyTensor compiles from the pymc
model (C backend; PyTensor's numba backend where no C compiler is configured, as on Windows
without a compiler: ``PYTENSOR_FLAGS=cxx=``; on the Experimenten Meer Werk spec 64 s against 52 s
with C, and 18 s against 50 s with PyTensor's Python linker, each pair under the same load;
tests/test_no_compiler.py). Why not ``nutpie.compile_pymc_model``: its numba compilation took 16-50 s per
new process on this 2-core machine and its gradients were slower here, while PyTensor's C code
and the numba kernels are cached on disk (a few seconds in a new process). The compiled
functions are cached per model structure (family, number of groups, columns and predictors,
priors) for the whole process; the data, including which groups are sampled centred, are
inputs of the compiled function, so a new data set of the same structure reuses it.

Reported on the outcome's scale: the national net effect is the average over the treated of
P(y | treated) - P(y | untreated) computed from every posterior draw (pp for a binary
outcome), with its 95% equal-tailed credible interval; the same per region (with the region's
n, beside the raw treated-minus-untreated difference). Regions with fewer than
``spec.disclosure.min_cell`` treated or untreated persons are pooled in the estimate but not
shown. With region-level predictors the dose-response is reported too: the points the treated
would gain from one more unit of the predictor, holding the rest of their region's effect.

Diagnostics (arviz; Vehtari et al. 2021): R-hat, bulk and tail ESS of the national effect and
the worst over the model's quantities (not the sampler's raw coordinates), divergences; R-hat
above 1.01, any divergence or a bulk ESS under 400 gives a warning on the estimate.

Assumed: no unmeasured confounding given the covariates (the model adjusts, it does not
randomise); the logit (or normal) model with these covariates is adequate; effects vary
between groups as a normal distribution around the mean (plus the predictors).
"""
from __future__ import annotations

import functools
import math
import os
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from causal.errors import DataError, EstimationError
from causal.estimators import Options, estimator
from causal.result import Estimate

NAME = "bayesian_multilevel"
#: a group's parameter is sampled centred when the data alone give it a standard error below
#: this (logit scale; standardised scale for a continuous outcome).
CENTRED_SE = 0.1
RHAT_MAX, ESS_MIN = 1.01, 400


# --------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------
class Priors(BaseModel):
    """Prior scales (logit scale for a binary outcome; standardised outcome otherwise)."""

    model_config = ConfigDict(extra="forbid")
    intercept_sd: float = Field(2.5, gt=0, description="alpha ~ Normal(0, intercept_sd)")
    coef_sd: float = Field(1.0, gt=0, description="beta ~ Normal(0, coef_sd) per column")
    effect_sd: float = Field(1.0, gt=0, description="theta ~ Normal(0, effect_sd)")
    group_sd_intercept: float = Field(1.0, gt=0, description="sd_intercept ~ HalfNormal(.)")
    group_sd_effect: float = Field(0.5, gt=0, description="sd_effect ~ HalfNormal(.)")
    dose_sd: float = Field(1.0, gt=0, description="gamma ~ Normal(0, dose_sd) per SD of a "
                           "region-level predictor")
    sigma_sd: float = Field(1.0, gt=0, description="sigma ~ HalfNormal(.) (continuous outcome)")


class MultilevelOptions(Options):
    group: str | None = Field(None, description="Grouping column (default: the spec's "
                              "region).")
    covariates: list[str] | None = Field(None, description="Fixed-effect covariates (default: "
                                         "the study's adjustment set).")
    effect_predictors: list[str] = Field(
        [], description="Region-level columns (constant within a group) that predict the "
        "group's effect.")
    predictor_units: dict[str, str] = Field(
        {}, description="Readable unit per predictor, for the dose-response estimate's "
        "label.")
    bin: dict[str, float | list[float]] = Field(
        {}, description="Continuous covariates to bin: a width, or a list of edges (values "
        "outside the edges go to the first or last bin). The bins become the covariate's "
        "levels.")
    max_levels: int = Field(40, ge=2, description="Numeric covariates with at most this many "
                            "distinct values are used exactly.")
    collapse: bool = Field(True, description="Collapse rows to binomial cells where exact "
                           "(false: always the row-level model).")
    parameterization: Literal["auto", "centred", "noncentred"] = Field(
        "auto", description="Of each group's intercept and effect: auto samples them centred "
        "where the group's data pin them down (standard error below 0.1 on the logit scale) "
        "and non-centred elsewhere; centred or noncentred forces one form for all groups.")
    priors: Priors = Field(Priors(), description="Prior scales of the model's parameters.")
    estimands: list[Literal["ATT", "dose_response"]] | None = Field(
        None, description="ATT and/or dose_response (per unit of the effect predictor); "
        "default: what the spec's design allows.")
    att_not_identified: str | None = Field(
        None, description="Why the treated-vs-untreated contrast is no net effect in this "
        "design (every region received the measure, say); the ATT is then reported without "
        "a number, with this reason.")
    draws: int = Field(500, ge=20, description="Draws per chain: 2 x 500 gave a bulk ESS of "
                       "the national effect well above 400 in every model tried here (the "
                       "benchmark prints it); raise them for tail quantities or when the "
                       "diagnostics warn.")
    tune: int = Field(500, ge=20, description="Tuning steps per chain.")
    chains: int = Field(2, ge=1, le=16, description="Markov chains.")
    target_accept: float = Field(0.8, gt=0.5, lt=1.0, description="NUTS target acceptance "
                                 "rate; raise it when the diagnostics report divergences.")
    mass_matrix: Literal["low_rank", "diag"] = Field(
        "low_rank", description="nutpie's mass matrix: low_rank adapts to correlated "
        "parameters (covariate levels), which halved the sampling time here; diag is the "
        "classic diagonal adaptation.")
    seed: int = Field(0, description="Seed of the sampler.")


# --------------------------------------------------------------------------------------
# Collapsing rows to cells
# --------------------------------------------------------------------------------------
@dataclass
class Design:
    """What the model needs: cells (or rows), group-level predictors and bookkeeping."""

    family: str                   # "binomial" | "normal"
    groups: list[str]
    g: np.ndarray                 # int64, cell -> group
    d: np.ndarray                 # float, 0/1
    X: np.ndarray                 # float (cells x P), centred
    n: np.ndarray                 # float, persons per cell
    y: np.ndarray                 # successes (binomial) or standardised cell mean (normal)
    ss: np.ndarray                # within-cell sum of squares (normal; zeros otherwise)
    columns: list[str]
    W: np.ndarray                 # float (groups x Q), standardised
    predictors: list[str]
    w_mean: np.ndarray
    w_sd: np.ndarray
    w_raw: np.ndarray             # groups x Q, original units
    y_mean: float = 0.0
    y_sd: float = 1.0
    rows: int = 0
    row_level: bool = False
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _covariate_kind(s: pd.Series, name: str, options: MultilevelOptions) -> str:
    if name in options.bin:
        return "bin"
    if (isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(s)
            or not pd.api.types.is_numeric_dtype(s)):
        return "category"
    return "exact" if s.nunique() <= options.max_levels else "continuous"


def _binned(s: pd.Series, spec: float | list[float], name: str, source: str) -> pd.Series:
    if not pd.api.types.is_numeric_dtype(s):
        raise DataError(source, f"options.bin.{name} of {NAME} bins a numeric column, but "
                        f"'{name}' holds values such as {list(pd.unique(s)[:3])}", column=name)
    v = s.to_numpy(float)
    if isinstance(spec, list):
        edges = np.asarray(sorted(spec), float)
        if len(edges) < 2:
            raise DataError(source, f"options.bin.{name} of {NAME}: expected a width or at "
                            "least two edges", column=name)
        k = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, len(edges) - 2)
        labels = [f"[{edges[i]:g}, {edges[i + 1]:g})" for i in range(len(edges) - 1)]
        if (v < edges[0]).any():
            labels[0] = f"< {edges[1]:g}"
        if (v >= edges[-1]).any():
            labels[-1] = f">= {edges[-2]:g}"
        return pd.Series(pd.Categorical.from_codes(k, labels), index=s.index)
    if spec <= 0:
        raise DataError(source, f"options.bin.{name} of {NAME}: the bin width must be "
                        f"positive (got {spec})", column=name)
    lo = np.floor(np.nanmin(v) / spec) * spec
    k = np.floor((v - lo) / spec).astype(int)
    labels = [f"[{lo + i * spec:g}, {lo + (i + 1) * spec:g})" for i in range(int(k.max()) + 1)]
    return pd.Series(pd.Categorical.from_codes(k, labels), index=s.index)


def make_design(study, options: MultilevelOptions) -> Design:
    """Check the data, code covariates, collapse to cells where exact."""
    df, source, spec = study.data, study.source, study.spec
    group = options.group or spec.region
    if not group:
        raise EstimationError(f"{NAME} needs a grouping column: set the spec's region or the "
                              "estimator option group")
    if group not in df.columns:
        raise DataError(source, f"is the grouping column of {NAME} (option group, default the "
                        f"spec's region) but is not in the data", column=group)
    gcol = df[group]
    if gcol.isna().any():
        raise DataError(source, f"{int(gcol.isna().sum())} rows have no group value; {NAME} "
                        "needs every person's group", column=group)
    gcat = pd.Categorical(gcol.astype(str) if not isinstance(gcol.dtype, pd.CategoricalDtype)
                          else gcol.astype(str))
    gcat = gcat.remove_unused_categories()
    groups = [str(c) for c in gcat.categories]
    if len(groups) < 2:
        raise EstimationError(f"{NAME}: the data have only one {group} ('{groups[0]}'), so "
                              "there is nothing to pool; use a single-level estimator")
    gcode = gcat.codes.astype(np.int64)
    binary = spec.is_binary
    y = df[study.outcome].to_numpy(float)
    d = study.d()
    notes: list[str] = []
    warns: list[str] = []

    # region-level predictors (dose): constant within each group
    preds = list(options.effect_predictors)
    W_raw = np.zeros((len(groups), len(preds)))
    for j, c in enumerate(preds):
        if c not in df.columns:
            raise DataError(source, f"is an effect predictor of {NAME} (option "
                            "effect_predictors) but is not in the data", column=c)
        s = df[c]
        if not pd.api.types.is_numeric_dtype(s) or s.isna().any():
            raise DataError(source, f"effect predictor of {NAME} must be numeric with a value in "
                            "every row", column=c)
        per = pd.Series(s.to_numpy(float)).groupby(gcode)
        spread = per.max() - per.min()
        if (spread > 1e-9 * (1 + per.max().abs())).any():
            bad = groups[int(spread.idxmax())]
            raise DataError(source, f"effect predictor of {NAME} must be constant within each "
                            f"{group} (a region-level dose); it varies within '{bad}'", column=c)
        W_raw[:, j] = per.first().reindex(range(len(groups))).to_numpy()
    w_mean = W_raw.mean(axis=0) if preds else np.zeros(0)
    w_sd = W_raw.std(axis=0) if preds else np.zeros(0)
    if preds and (w_sd <= 0).any():
        c = preds[int(np.argmin(w_sd))]
        raise DataError(source, f"effect predictor of {NAME} has the same value in every "
                        f"{group}, so it cannot predict differences between them", column=c)
    W = (W_raw - w_mean) / np.where(w_sd > 0, w_sd, 1.0) if preds else np.zeros((len(groups), 0))

    # covariates
    covs = list(study.covariates if options.covariates is None else options.covariates)
    dropped = [c for c in covs if c in (group, *preds, study.treatment, study.outcome)]
    covs = [c for c in covs if c not in dropped]
    if group in dropped:
        notes.append(f"'{group}' is the grouping level ({group}-varying intercepts), not a "
                     "fixed effect")
    from causal.design import is_plain

    missing = [c for c in covs if c not in df.columns and is_plain(c)]
    if missing:
        raise DataError(source, f"covariate(s) of {NAME} not in the data: {missing}",
                        column=missing[0])
    for c in options.bin:
        if c not in covs:
            warns.append(f"options.bin names '{c}', which is not a covariate of this model; "
                         "ignored")
    codes: list[np.ndarray] = []      # per covariate: integer level codes (for collapsing)
    blocks: list[np.ndarray] = []     # per covariate: row-level design columns
    colnames: list[str] = []
    continuous: list[str] = []
    for c in covs:
        if c not in df.columns:  # a formula term: its columns of the study's design matrix
            B = study.design_matrix([c]).to_numpy(float)
            sd = B.std(axis=0)
            if not (sd > 0).any():
                notes.append(f"'{c}' has one value only; left out")
                continue
            B = B[:, sd > 0]
            blocks.append((B - B.mean(axis=0)) / B.std(axis=0))
            colnames += [f"{c}[{j}]" for j in range(B.shape[1])] if B.shape[1] > 1 else [c]
            k = pd.factorize(pd.Series(map(tuple, B.round(12))), sort=True)[0]
            if k.max() + 1 <= max(options.max_levels, B.shape[1] + 1):
                codes.append(k.astype(np.int64))
            else:
                continuous.append(c)
            continue
        s = df[c]
        if s.isna().any():
            raise DataError(source, f"{int(s.isna().sum())} rows have no value for this "
                            f"covariate of {NAME}", column=c)
        kind = _covariate_kind(s, c, options)
        if kind == "bin":
            s = _binned(s, options.bin[c], c, source)
            notes.append(f"'{c}' binned into {len(s.cat.categories)} levels "
                         f"({', '.join(map(str, s.cat.categories[:8]))}"
                         f"{', ...' if len(s.cat.categories) > 8 else ''})")
            kind = "category"
        if kind == "category":
            cat = pd.Categorical(s).remove_unused_categories()
            k = np.asarray(cat.codes, np.int64)
            L = len(cat.categories)
            if L < 2:
                notes.append(f"'{c}' has one value only; left out")
                continue
            # reference level: the most frequent one (least correlated coefficients)
            ref = int(np.argmax(np.bincount(k, minlength=L)))
            others = [j for j in range(L) if j != ref]
            col = np.full(L, -1)
            col[others] = np.arange(L - 1)
            onehot = np.zeros((len(k), L - 1))
            rows = np.flatnonzero(k != ref)
            onehot[rows, col[k[rows]]] = 1.0
            blocks.append(onehot)
            colnames += [f"{c}[{cat.categories[j]}]" for j in others]
            codes.append(k)
        else:
            v = s.to_numpy(float)
            sd = v.std()
            if sd <= 0:
                notes.append(f"'{c}' has one value only; left out")
                continue
            blocks.append(((v - v.mean()) / sd)[:, None])
            colnames.append(c)
            if kind == "exact":
                codes.append(pd.factorize(v, sort=True)[0].astype(np.int64))
            else:
                continuous.append(c)
    Xrow = np.hstack(blocks) if blocks else np.zeros((len(df), 0))

    row_level = not options.collapse or bool(continuous)
    if continuous and options.collapse:
        warns.append(f"continuous covariate(s) {', '.join(continuous)} cannot be collapsed to "
                     f"cells, so the model ran on all {len(df)} rows (slow); allow binning with "
                     f"the option bin, e.g. bin: {{{continuous[0]}: 12}}")
    y_mean, y_sd = (0.0, 1.0) if binary else (float(y.mean()), float(y.std() or 1.0))
    ys = y if binary else (y - y_mean) / y_sd

    if row_level:
        g, dd, X, n = gcode, d.astype(float), Xrow, np.ones(len(df))
        yc, ss = ys.astype(float), np.zeros(len(df))
    else:
        # one integer key per row (mixed radix over group, treatment and covariate codes),
        # then a 1-d unique: much faster than np.unique(axis=0) on millions of rows
        parts = [gcode, d.astype(np.int64), *codes]
        key = np.zeros(len(df), np.int64)
        for part in parts:
            key = key * (int(part.max()) + 1) + part
        _, first, inv = np.unique(key, return_index=True, return_inverse=True)
        inv = inv.reshape(-1)
        C = len(first)
        n = np.bincount(inv, minlength=C).astype(float)
        s1 = np.bincount(inv, weights=ys, minlength=C)
        g = gcode[first]
        dd = d[first].astype(float)
        X = Xrow[first]
        if binary:
            yc, ss = s1, np.zeros(C)
        else:
            yc = s1 / n
            ss = np.bincount(inv, weights=(ys - yc[inv]) ** 2, minlength=C)
        notes.append(f"{len(df)} rows collapsed to {C} cells ({group} x treatment x covariate "
                     f"levels); {'binomial' if binary else 'normal'} likelihood on the cells, "
                     "exact for these covariates")
    # centre the columns on their person-weighted means (the intercept becomes the mean logit)
    if X.shape[1]:
        X = X - (X * n[:, None]).sum(axis=0) / n.sum()
    return Design(
        family="binomial" if binary else "normal", groups=groups,
        g=np.ascontiguousarray(g, np.int64), d=np.ascontiguousarray(dd, float),
        X=np.ascontiguousarray(X, float), n=np.ascontiguousarray(n, float),
        y=np.ascontiguousarray(yc, float), ss=np.ascontiguousarray(ss, float),
        columns=colnames, W=np.ascontiguousarray(W, float), predictors=preds,
        w_mean=w_mean, w_sd=w_sd, w_raw=W_raw, y_mean=y_mean, y_sd=y_sd, rows=len(df),
        row_level=row_level, notes=notes, warnings=warns)


# --------------------------------------------------------------------------------------
# The pymc model, compiled once per structure
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Structure:
    """What a compiled model depends on; everything else (cells, which groups are sampled
    centred) is data."""

    family: str
    n_groups: int
    n_coef: int
    n_pred: int
    priors: tuple[float, ...]


DATA_INPUTS = ("g", "d", "X", "n", "y", "ss", "W", "wi", "we")


@functools.cache
def _op_class():
    """A PyTensor Op computing the cell likelihood and its gradient in one fused pass
    (causal.estimators.multilevel_kernels); defined lazily so that validating a spec does
    not import pytensor."""
    import pytensor.tensor as pt
    from pytensor.gradient import grad_not_implemented
    from pytensor.graph.basic import Apply
    from pytensor.graph.op import Op

    from causal.estimators.multilevel_kernels import evaluate

    class CellLikelihoodOp(Op):
        """(mu, tau, beta, g, d, X, n, y) -> (value, d/dmu, d/dtau, d/dbeta)."""

        __props__ = ("kind",)

        def __init__(self, kind: str):
            self.kind = kind

        def make_node(self, mu, tau, beta, g, d, X, n, y):
            ins = [pt.as_tensor_variable(v) for v in (mu, tau, beta, g, d, X, n, y)]
            outs = [pt.dscalar(), pt.dvector(), pt.dvector(), pt.dvector()]
            return Apply(self, ins, outs)

        def perform(self, node, inputs, outputs):
            v, dmu, dtau, dbeta = evaluate(self.kind, *inputs)
            outputs[0][0] = np.asarray(v, dtype=float)
            outputs[1][0], outputs[2][0], outputs[3][0] = dmu, dtau, dbeta

        def grad(self, inputs, output_grads):
            _, dmu, dtau, dbeta = self(*inputs)
            gz = output_grads[0]
            return [gz * dmu, gz * dtau, gz * dbeta] + [
                grad_not_implemented(self, i, inputs[i]) for i in range(3, 8)]

    return CellLikelihoodOp


def CellLikelihood(kind: str):
    return _op_class()(kind)


def build_model(s: Structure):
    """The pymc model for a structure; data enter as symbolic inputs (returned with it).

    Group parameters use the partially non-centred form of Papaspiliopoulos, Roberts and
    Skold (2007) with a 0/1 weight per group as data: z_g ~ Normal(w_g m, sd^w_g) and
    theta_g = m + sd^(1 - w_g) (z_g - w_g m), i.e. centred (theta_g = z_g) where w_g = 1 and
    non-centred (theta_g = m + sd z_g) where w_g = 0, so the choice costs no recompilation.
    """
    import pymc as pm
    import pytensor.tensor as pt

    pr = Priors(**dict(zip(Priors.model_fields, s.priors, strict=True)))
    data = {"g": pt.lvector("g"), "d": pt.dvector("d"), "X": pt.dmatrix("X"),
            "n": pt.dvector("n"), "y": pt.dvector("y"), "ss": pt.dvector("ss"),
            "W": pt.dmatrix("W"), "wi": pt.dvector("wi"), "we": pt.dvector("we")}
    G = s.n_groups
    wi, we = data["wi"], data["we"]
    with pm.Model() as model:
        alpha = pm.Normal("intercept", 0.0, pr.intercept_sd)
        theta = pm.Normal("effect", 0.0, pr.effect_sd)
        sa = pm.HalfNormal("sd_intercept", pr.group_sd_intercept)
        sb = pm.HalfNormal("sd_effect", pr.group_sd_effect)
        mean_tau = theta + pt.zeros(G)
        if s.n_pred:
            gamma = pm.Normal("dose", 0.0, pr.dose_sd, shape=s.n_pred)
            mean_tau = mean_tau + pt.dot(data["W"], gamma)
        z_mu = pm.Normal("intercept_z", wi * alpha, sa ** wi, shape=G, initval=np.zeros(G))
        z_tau = pm.Normal("effect_z", we * mean_tau, sb ** we, shape=G, initval=np.zeros(G))
        mu = pm.Deterministic("group_intercept", alpha + sa ** (1 - wi) * (z_mu - wi * alpha))
        tau = pm.Deterministic("group_effect",
                               mean_tau + sb ** (1 - we) * (z_tau - we * mean_tau))
        beta = (pm.Normal("beta", 0.0, pr.coef_sd, shape=s.n_coef) if s.n_coef
                else pt.zeros(0))
        cells = [data[k] for k in ("g", "d", "X", "n", "y")]
        if s.family == "binomial":
            # binomial kernel on cells (Bernoulli on rows when n = 1); constant left out
            pm.Potential("loglik", CellLikelihood("binomial")(mu, tau, beta, *cells)[0])
        else:
            sigma = pm.HalfNormal("sigma", pr.sigma_sd)
            sse = CellLikelihood("squared_error")(mu, tau, beta, *cells)[0]
            pm.Potential("loglik", -pt.sum(data["n"]) * pt.log(sigma)
                         - (sse + pt.sum(data["ss"])) / (2.0 * pt.sqr(sigma)))
    return model, data


@dataclass
class Compiled:
    logp: Any                     # pytensor Function (x, *data) -> (logp, grad)
    expand: Any                   # pytensor Function (x, *data) -> constrained values
    names: list[str]
    shapes: list[tuple[int, ...]]
    x0: np.ndarray
    slices: dict[str, slice]
    ndim: int
    lock: threading.Lock = field(default_factory=threading.Lock)


_CACHE: dict[Structure, Compiled] = {}
_CACHE_LOCK = threading.Lock()


def compiled(s: Structure) -> Compiled:
    """Compile (once per structure in this process) the log density, its gradient and the
    map from the unconstrained vector to the trace's values."""
    with _CACHE_LOCK:
        hit = _CACHE.get(s)
    if hit is not None:
        return hit
    import pytensor
    import pytensor.tensor as pt

    model, data = build_model(s)
    ip = model.initial_point()
    vvs = model.value_vars
    x = pt.dvector("x")
    repl, slices, start = {}, {}, 0
    for v in vvs:
        shp = ip[v.name].shape
        k = int(np.prod(shp))
        repl[v] = x[start:start + k].reshape(shp)
        slices[v.name] = slice(start, start + k)
        start += k
    logp = model.logp()
    grad = pt.concatenate([gr.ravel() for gr in pt.grad(logp, vvs)])
    logp, grad = pytensor.clone_replace([logp, grad], repl)
    inputs = [x] + [data[k] for k in DATA_INPUTS]
    mode = compile_mode()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = pytensor.function(inputs, [logp, grad], mode=mode,
                              on_unused_input="ignore", trust_input=True)
        outs = model.unobserved_value_vars
        names = [o.name for o in outs]
        fe = pytensor.function(inputs, pytensor.clone_replace(outs, repl), mode=mode,
                               on_unused_input="ignore")
    x0 = np.concatenate([np.asarray(ip[v.name], float).ravel() for v in vvs])
    G, P, Q = s.n_groups, s.n_coef, s.n_pred
    probe = [np.zeros(2, np.int64), np.zeros(2), np.zeros((2, P)), np.ones(2), np.zeros(2),
             np.zeros(2), np.zeros((G, Q)), np.ones(G), np.ones(G)]
    shapes = [np.asarray(v).shape for v in fe(x0, *probe)]
    out = Compiled(f, fe, names, shapes, x0, slices, start)
    with _CACHE_LOCK:
        _CACHE.setdefault(s, out)
        return _CACHE[s]


def compile_mode() -> str | None:
    """PyTensor's FAST_RUN (C backend) where a C compiler is configured; PyTensor's own
    default (Python/VM linker) where it is not (``PYTENSOR_FLAGS=cxx=``, as on Windows
    machines or secure environments without a compiler). Passing FAST_RUN there fails with
    "We do not support the passing of multiple modes"."""
    import pytensor

    return "FAST_RUN" if pytensor.config.cxx else "NUMBA"


def model_structure(design: Design, options: MultilevelOptions
                    ) -> tuple[Structure, np.ndarray, np.ndarray]:
    """Model structure, and per group whether its intercept and effect are sampled centred
    (1) or non-centred (0): centred where the data alone give the parameter a standard error
    below CENTRED_SE."""
    G = len(design.groups)
    if options.parameterization != "auto":
        c = 1.0 if options.parameterization == "centred" else 0.0
        wi = we = np.full(G, c)
    else:
        if design.family == "binomial":
            p = float(np.clip(design.y.sum() / design.n.sum(), 0.02, 0.98))
            w = design.n * p * (1 - p)
        else:
            w = design.n.copy()
        info_c = np.bincount(design.g, weights=w * (design.d == 0), minlength=G)
        info_t = np.bincount(design.g, weights=w * (design.d == 1), minlength=G)
        info_tau = np.where((info_c > 0) & (info_t > 0),
                            info_c * info_t / np.maximum(info_c + info_t, 1e-12), 0.0)
        thr = 1.0 / CENTRED_SE ** 2
        wi = (info_c + info_t > thr).astype(float)
        we = (info_tau > thr).astype(float)
    s = Structure(design.family, G, design.X.shape[1], design.W.shape[1],
                  tuple(getattr(options.priors, k) for k in Priors.model_fields))
    return s, wi, we


def sample(design: Design, options: MultilevelOptions):
    """Sample the posterior with nutpie; returns (InferenceData, structure)."""
    import nutpie
    from nutpie.compiled_pyfunc import from_pyfunc

    s, wi, we = model_structure(design, options)
    c = compiled(s)
    data = [design.g, design.d, design.X, design.n, design.y, design.ss, design.W, wi, we]
    x0 = c.x0.copy()
    if design.family == "binomial":  # start the intercepts at the overall logit
        p = float(np.clip(design.y.sum() / design.n.sum(), 0.01, 0.99))
        x0[c.slices["intercept"]] = math.log(p / (1 - p))
        x0[c.slices["intercept_z"]] = wi * math.log(p / (1 - p))

    def make_logp():
        f = c.logp.copy()  # own storage per chain: a pytensor Function is not re-entrant

        def logp(x, **_):
            lp, gr = f(x, *data)
            return float(lp), gr
        return logp

    def make_expand(_s1, _s2, _chain):
        f = c.expand.copy()

        def expand(x, **_):
            return {nm: np.asarray(v, dtype=float) for nm, v in zip(c.names, f(x, *data),
                                                                    strict=True)}
        return expand

    def init(seed):
        rng = np.random.default_rng(seed)
        return x0 + rng.uniform(-0.5, 0.5, c.ndim)

    dims = {"group_intercept": ("group",), "group_effect": ("group",), "beta": ("coef",),
            "dose": ("predictor",)}
    coords = {"group": design.groups, "coef": design.columns, "predictor": design.predictors}
    dims = {k: v for k, v in dims.items() if k in c.names}
    model = from_pyfunc(c.ndim, make_logp, make_expand, [np.dtype("float64")] * len(c.names),
                        c.shapes, c.names, coords=coords, dims=dims,
                        make_initial_point_fn=init)
    idata = nutpie.sample(model, draws=options.draws, tune=options.tune, chains=options.chains,
                          cores=min(options.chains, os.cpu_count() or 1), seed=options.seed,
                          save_warmup=False, progress_bar=False,
                          target_accept=options.target_accept,
                          low_rank_modified_mass_matrix=options.mass_matrix == "low_rank")
    return idata, (wi, we)


# --------------------------------------------------------------------------------------
# Effects on the outcome's scale, from the posterior draws
# --------------------------------------------------------------------------------------
def _expit(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


@dataclass
class Effects:
    national: np.ndarray          # draws (chains x draws)
    region: np.ndarray            # draws x groups (NaN for groups without treated)
    dose: np.ndarray              # draws x predictors
    n_treated: np.ndarray         # per group
    n_control: np.ndarray
    raw: np.ndarray               # per group raw difference (scale of the report)
    raw_se: np.ndarray


def effects(idata, design: Design, scale: float, budget: int = 5_000_000) -> Effects:
    """National, per-group and dose-response effects for every draw (pp for binary).
    Draws are processed in chunks of about ``budget`` cell evaluations (bounded memory even
    on the row-level model)."""
    from scipy import sparse

    post = idata.posterior
    ch, dr = post.sizes["chain"], post.sizes["draw"]
    S, G = ch * dr, len(design.groups)
    mu = post["group_intercept"].values.reshape(S, G)
    tau = post["group_effect"].values.reshape(S, G)
    beta = (post["beta"].values.reshape(S, -1) if "beta" in post
            else np.zeros((S, 0)))
    gamma = post["dose"].values.reshape(S, -1) if "dose" in post else np.zeros((S, 0))
    t = design.d == 1
    gt, nt, Xt = design.g[t], design.n[t], design.X[t]
    n_treated = np.bincount(gt, weights=nt, minlength=G)
    n_control = np.bincount(design.g[~t], weights=design.n[~t], minlength=G)
    Q = gamma.shape[1]
    nat = np.empty(S)
    reg = np.empty((S, G))
    dose = np.empty((S, Q))
    M = sparse.csr_matrix((np.ones(len(gt)), (np.arange(len(gt)), gt)), shape=(len(gt), G))
    chunk = int(max(1, min(S, budget // max(1, len(gt)))))
    for a in range(0, S, chunk):
        b = min(S, a + chunk)
        if design.family == "binomial":
            eta0 = mu[a:b][:, gt] + beta[a:b] @ Xt.T
            eta1 = eta0 + tau[a:b][:, gt]
            p1 = _expit(eta1)
            e = (p1 - _expit(eta0)) * nt
            for q in range(Q):
                step = gamma[a:b, q] / design.w_sd[q]
                dose[a:b, q] = ((_expit(eta1 + step[:, None]) - p1) @ nt) / nt.sum()
        else:
            e = tau[a:b][:, gt] * nt * design.y_sd
            for q in range(Q):
                dose[a:b, q] = gamma[a:b, q] / design.w_sd[q] * design.y_sd
        nat[a:b] = e.sum(axis=1) / nt.sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            reg[a:b] = np.asarray((M.T @ e.T).T) / n_treated
    # raw treated-minus-untreated difference per group, with a normal-approximation se
    y1 = np.bincount(gt, weights=design.y[t] * (1 if design.family == "binomial" else nt),
                     minlength=G)
    y0 = np.bincount(design.g[~t], weights=design.y[~t] * (1 if design.family == "binomial"
                                                           else design.n[~t]), minlength=G)
    with np.errstate(invalid="ignore", divide="ignore"):
        m1, m0 = y1 / n_treated, y0 / n_control
        if design.family == "binomial":
            se = np.sqrt(m1 * (1 - m1) / n_treated + m0 * (1 - m0) / n_control)
            raw, raw_se = (m1 - m0) * scale, se * scale
        else:
            v1 = _group_var(design, t, m1)
            v0 = _group_var(design, ~t, m0)
            raw = (m1 - m0) * design.y_sd
            raw_se = np.sqrt(v1 / n_treated + v0 / n_control) * design.y_sd
    national = nat.reshape(ch, dr) * (scale if design.family == "binomial" else 1.0)
    return Effects(national, reg * (scale if design.family == "binomial" else 1.0),
                   dose * (scale if design.family == "binomial" else 1.0),
                   n_treated, n_control, raw, raw_se)


def _group_var(design: Design, mask: np.ndarray, means: np.ndarray) -> np.ndarray:
    """Within-group variance (standardised scale) of the rows in ``mask``, from cell stats."""
    G = len(design.groups)
    g, n, yb = design.g[mask], design.n[mask], design.y[mask]
    tot = np.bincount(g, weights=design.ss[mask] + n * (yb - means[g]) ** 2, minlength=G)
    cnt = np.bincount(g, weights=n, minlength=G)
    with np.errstate(invalid="ignore", divide="ignore"):
        return tot / np.maximum(cnt - 1, 1)


# --------------------------------------------------------------------------------------
# Diagnostics and figures
# --------------------------------------------------------------------------------------
def convergence(idata, national: np.ndarray) -> dict[str, Any]:
    import arviz as az
    import xarray as xr

    da = xr.Dataset({"national_effect": xr.DataArray(national, dims=("chain", "draw"))})
    rhat = float(az.rhat(da)["national_effect"])
    ess_b = float(az.ess(da, method="bulk")["national_effect"])
    ess_t = float(az.ess(da, method="tail")["national_effect"])
    # the model's quantities (not the sampler's raw z and log-sd coordinates)
    params = [v for v in idata.posterior.data_vars
              if not v.endswith(("_z", "_log__"))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r_all = az.rhat(idata.posterior[params])
        e_all = az.ess(idata.posterior[params], method="bulk")
    r_by = {v: float(np.nanmax(r_all[v].values)) for v in params if r_all[v].size}
    e_by = {v: float(np.nanmin(e_all[v].values)) for v in params if e_all[v].size}
    worst_r, worst_e = max(r_by.values()), min(e_by.values())
    div = int(idata.sample_stats["diverging"].values.sum())
    steps = float(idata.sample_stats["n_steps"].values.mean()) \
        if "n_steps" in idata.sample_stats else float("nan")
    return {"rhat": rhat, "ess_bulk": ess_b, "ess_tail": ess_t, "rhat_max_all": worst_r,
            "rhat_max_parameter": max(r_by, key=r_by.get), "ess_bulk_min_all": worst_e,
            "ess_bulk_min_parameter": min(e_by, key=e_by.get), "divergences": div, "mean_leapfrog_steps": steps,
            "chains": int(idata.posterior.sizes["chain"]),
            "draws": int(idata.posterior.sizes["draw"])}


def convergence_warnings(c: dict[str, Any]) -> list[str]:
    out = []
    if not (c["rhat"] <= RHAT_MAX):
        out.append(f"the chains have not mixed: R-hat of the effect {c['rhat']:.3f} (above "
                   f"{RHAT_MAX}); raise tune/draws before trusting this estimate")
    elif not (c["rhat_max_all"] <= RHAT_MAX):
        out.append(f"a model parameter has not mixed ('{c['rhat_max_parameter']}': R-hat "
                   f"{c['rhat_max_all']:.3f}, above {RHAT_MAX}; the effect itself "
                   f"{c['rhat']:.3f}); raise tune/draws to be sure")
    if c["divergences"]:
        out.append(f"{c['divergences']} divergent transitions: the posterior may be biased; "
                   "raise target_accept (e.g. 0.95) or change the parameterisation")
    if not (c["ess_bulk"] >= ESS_MIN):
        out.append(f"the national effect's bulk ESS is {c['ess_bulk']:.0f} (below {ESS_MIN}); "
                   "raise draws for a stable interval")
    return out


def forest_figure(rows: list[dict[str, Any]], national: float, unit: str, group: str,
                  truth: float | None = None, title: str | None = None):
    """Raw beside pooled region effects, so the shrinkage is visible."""
    from matplotlib.figure import Figure

    rows = sorted(rows, key=lambda r: r["pooled"])
    k = len(rows)
    fig = Figure(figsize=(7.5, max(2.5, 0.28 * k + 1.2)))
    ax = fig.add_subplot(1, 1, 1)
    yy = np.arange(k)
    for i, r in enumerate(rows):
        if r["raw"] is not None:
            ax.plot([r["raw_low"], r["raw_high"]], [i + 0.18] * 2, color="0.65", lw=1)
            ax.plot(r["raw"], i + 0.18, "o", mfc="white", mec="0.4", ms=4)
        ax.plot([r["pooled_low"], r["pooled_high"]], [i - 0.12] * 2, color="C0", lw=1.6)
        ax.plot(r["pooled"], i - 0.12, "o", color="C0", ms=4.5)
    ax.axvline(national, color="C0", ls="--", lw=1, label=f"national {national:.1f}")
    ax.axvline(0, color="0.3", lw=0.6)
    if truth is not None:
        ax.axvline(truth, color="C3", ls=":", lw=1.2, label=f"truth (twin) {truth:.1f}")
    ax.set_yticks(yy)
    ax.set_yticklabels([f"{r['group']} (n={r['n']})" for r in rows], fontsize=7)
    ax.set_xlabel(f"effect ({unit}); open: raw difference, filled: partially pooled (95%)")
    ax.set_title(title or f"Effects by {group}: raw beside pooled", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def posterior_figure(draws: np.ndarray, lo: float, hi: float, unit: str, what: str,
                     truth: float | None = None):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.2))
    ax = fig.add_subplot(1, 1, 1)
    ax.hist(draws.ravel(), bins=40, color="C0", alpha=0.75, density=True)
    for v in (lo, hi):
        ax.axvline(v, color="C0", ls="--", lw=1)
    ax.axvline(float(np.mean(draws)), color="C0", lw=1.5, label=f"mean {np.mean(draws):.2f}")
    if truth is not None:
        ax.axvline(truth, color="C3", ls=":", lw=1.5, label=f"truth (twin) {truth:.2f}")
    ax.axvline(0, color="0.3", lw=0.6)
    ax.set_xlabel(f"{what} ({unit}); dashed: 95% credible interval")
    ax.set_yticks([])
    ax.legend(fontsize=7)
    ax.set_title(f"Posterior of the {what}", fontsize=10)
    fig.tight_layout()
    return fig


def dose_figure(rows: list[dict[str, Any]], predictor: str, unit: str, group: str):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 3.6))
    ax = fig.add_subplot(1, 1, 1)
    for r in rows:
        ax.plot([r[predictor]] * 2, [r["pooled_low"], r["pooled_high"]], color="C0", lw=0.8,
                alpha=0.6)
    ax.plot([r[predictor] for r in rows], [r["pooled"] for r in rows], "o", color="C0", ms=4,
            label="pooled contrast (95%)")
    raw = [r for r in rows if r["raw"] is not None]
    ax.plot([r[predictor] for r in raw], [r["raw"] for r in raw], "o", mfc="white", mec="0.4",
            ms=3.5, label="raw contrast")
    ax.set_xlabel(predictor)
    ax.set_ylabel(f"treated minus untreated ({unit})")
    ax.set_title(f"Contrast by {group} against {predictor}", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------
# The estimator
# --------------------------------------------------------------------------------------
def _interval(x: np.ndarray) -> tuple[float, float]:
    lo, hi = np.quantile(x.ravel(), [0.025, 0.975])
    return float(lo), float(hi)


@estimator(NAME, MultilevelOptions)
def bayesian_multilevel(study, options: MultilevelOptions) -> list[Estimate]:
    """Partially pooled national and region effects (pymc model, nutpie sampler, arviz
    diagnostics); binary outcomes collapsed to binomial cells where exact."""
    import time

    t0 = time.perf_counter()
    design = make_design(study, options)
    want = options.estimands or (["ATT"] + (["dose_response"] if design.predictors else []))
    if "dose_response" in want and not design.predictors:
        raise EstimationError(f"{NAME}: the dose_response estimand needs region-level "
                              "predictors (option effect_predictors)")
    t1 = time.perf_counter()
    idata, (wi, we) = sample(design, options)
    t2 = time.perf_counter()
    eff = effects(idata, design, study.scale)
    conv = convergence(idata, eff.national)
    from causal.report.gate_figures import GatedFigure
    warns = list(design.warnings) + convergence_warnings(conv)
    group = options.group or study.spec.region
    unit = study.unit
    k = study.spec.disclosure.min_cell

    # regions: shown only when both arms reach the disclosure threshold
    rows: list[dict[str, Any]] = []
    suppressed = 0
    for j, gname in enumerate(design.groups):
        nt, nc = int(round(eff.n_treated[j])), int(round(eff.n_control[j]))
        if nt < k or nc < k:
            suppressed += 1
            continue
        lo, hi = _interval(eff.region[:, j])
        raw = float(eff.raw[j])
        row = {"group": gname, "n": nt + nc, "n_treated": nt, "n_control": nc,
               "pooled": float(np.mean(eff.region[:, j])), "pooled_low": lo, "pooled_high": hi,
               "raw": raw if math.isfinite(raw) else None,
               "raw_low": raw - 1.96 * float(eff.raw_se[j]) if math.isfinite(raw) else None,
               "raw_high": raw + 1.96 * float(eff.raw_se[j]) if math.isfinite(raw) else None}
        for q, pname in enumerate(design.predictors):
            row[pname] = float(design.w_raw[j, q])
        rows.append(row)
    disclosure = (f"{suppressed} of {len(design.groups)} {group} groups have fewer than {k} "
                  "treated or untreated persons: they are pooled in the estimate but not shown"
                  if suppressed else f"every {group} has at least {k} treated and {k} "
                  "untreated persons")
    n_cells = len(design.n)
    struct_txt = (f"{int(wi.sum())} of {len(wi)} group intercepts and {int(we.sum())} group "
                  "effects sampled centred, the rest non-centred")
    diag = {
        "group": group, "n_groups": len(design.groups), "regions": rows,
        "disclosure": disclosure, "suppressed_groups": suppressed,
        "convergence": conv, "likelihood": ("rows" if design.row_level else "cells"),
        "n_cells": n_cells, "rows": design.rows, "columns": design.columns,
        "parameterization": struct_txt, "notes": design.notes,
        "priors": options.priors.model_dump(),
        "sd_intercept": float(idata.posterior["sd_intercept"].mean()),
        "sd_effect": float(idata.posterior["sd_effect"].mean()),
        "seconds": {"prepare": round(t1 - t0, 2), "sample": round(t2 - t1, 2),
                    "total": round(time.perf_counter() - t0, 2)},
    }
    lik = (f"{'binomial' if design.family == 'binomial' else 'normal'} likelihood on "
           + (f"{n_cells} cells collapsed from {design.rows} rows (exact)" if not design.row_level
              else f"{design.rows} rows"))
    method = (f"Bayesian multilevel model (Gelman and Hill 2007): {group}-varying intercepts "
              f"and treatment effects, partially pooled; {len(design.columns)} fixed-effect "
              f"columns; {'logit link' if design.family == 'binomial' else 'normal outcome'}; "
              f"{lik}; weakly informative priors (Gelman et al. 2008); {struct_txt}; NUTS via "
              f"nutpie, {options.chains} chains x {options.draws} draws. The national effect "
              "is the average over the treated of the difference in predicted outcome, from "
              "every posterior draw; 95% equal-tailed credible interval. Assumes no "
              "unmeasured confounding given the covariates.")
    post_file = _posterior_file(idata, eff, design, rows)
    totals = {"what": "all persons", "n_treated": int(round(float(np.sum(eff.n_treated)))),
              "n_control": int(round(float(np.sum(eff.n_control))))}
    out: list[Estimate] = []

    nat = eff.national
    lo, hi = _interval(nat)
    truth = study.truth.get("ATT")
    if "ATT" in want or options.att_not_identified:
        if options.att_not_identified:
            out.append(study.estimate(
                NAME, "ATT", None, label=f"pooled by {group}", interval="95% credible interval",
                reason=options.att_not_identified, method=method,
                diagnostics={**diag, "contrast_not_an_effect": {
                    "mean": float(nat.mean()), "ci": [lo, hi],
                    "note": "treated-vs-untreated contrast from the same model; not a net "
                            "effect in this design (see reason)"}},
                warnings=list(warns)))
            if rows:
                out[-1].figures = {"forest": GatedFigure(rows, lambda recs: forest_figure(
                    recs, float(nat.mean()), unit, group, None,
                    title=f"Treated-vs-untreated contrast by {group} (not an effect)"),
                    what=f"raw and pooled contrast by {group} (groups under min_cell left out)")}
        else:
            est = study.estimate(
                NAME, "ATT", float(nat.mean()), (lo, hi), float(nat.std()),
                label=f"pooled by {group}", interval="95% credible interval", method=method,
                diagnostics=diag, warnings=list(warns))
            est.figures = {"national_posterior": GatedFigure(
                [totals], lambda _r: posterior_figure(nat, lo, hi, unit, "national net effect",
                                                      truth),
                what="posterior draws of the national net effect (a model output over all "
                     "persons)")}
            if rows:
                est.figures["forest"] = GatedFigure(
                    rows, lambda recs: forest_figure(recs, float(nat.mean()), unit, group, truth),
                    what=f"raw and pooled effect by {group} (groups under min_cell left out)")
            out.append(est)

    if "dose_response" in want:
        for q, pname in enumerate(design.predictors):
            draws = eff.dose[:, q].reshape(nat.shape)
            c = convergence(idata, draws)
            dlo, dhi = _interval(draws)
            per = options.predictor_units.get(pname, f"unit of {pname}")
            key = "dose_response" if len(design.predictors) == 1 else f"dose_response[{pname}]"
            dtruth = study.truth.get(key)
            est = study.estimate(
                NAME, "dose_response", float(draws.mean()), (dlo, dhi), float(draws.std()),
                gross=None, truth_key=key, unit=f"{unit} per {per}",
                label=f"dose-response {pname}", interval="95% credible interval",
                method=method + (f" Dose-response: the change in the treated's outcome from "
                                 f"one more {per} in their {group} ({pname} predicts the "
                                 f"{group} effects), averaged over the treated; assumes "
                                 f"nothing else that changes a {group}'s contrast is related "
                                 f"to {pname}."),
                diagnostics={**diag, "convergence": c,
                             "gamma_per_unit_logit": float(
                                 (idata.posterior["dose"].values[..., q] / design.w_sd[q]).mean())},
                warnings=list(design.warnings) + convergence_warnings(c))
            est.figures = {"posterior": GatedFigure(
                [totals], lambda _r, d=draws, a=dlo, b=dhi, t=dtruth, u=f"{unit} per {per}":
                posterior_figure(d, a, b, u, "dose-response", t),
                what="posterior draws of the dose-response (a model output over all persons)")}
            if rows:
                est.figures["by_dose"] = GatedFigure(
                    rows, lambda recs, p=pname: dose_figure(recs, p, unit, group),
                    what=f"contrast by {group} against {pname} (groups under min_cell left out)")
            out.append(est)
    for e in out:
        if e.net is not None:
            e.files = {"posterior.nc": post_file}
            break
    return out


def _posterior_file(idata, eff: Effects, design: Design, rows: list[dict[str, Any]]):
    """The posterior.nc file for the output gate: the posterior and sample stats (no data),
    the groups that passed the gate, and the national and region effects on the outcome's
    scale."""
    import xarray as xr

    from causal.report.gate_figures import GatedFile

    def write(path, recs) -> None:
        import arviz as az

        shown = [r["group"] for r in recs]
        keep = [j for j, g in enumerate(design.groups) if g in shown]

        post = idata.posterior
        drop = [v for v in post.data_vars if v.endswith("_z")]
        post = post.drop_vars(drop).isel(group=keep)
        ch, dr = post.sizes["chain"], post.sizes["draw"]
        post = post.assign(
            national_effect=xr.DataArray(eff.national, dims=("chain", "draw")),
            region_effect=xr.DataArray(eff.region[:, keep].reshape(ch, dr, len(keep)),
                                       dims=("chain", "draw", "group")))
        post.attrs["note"] = ("netto bayesian_multilevel posterior; groups under the "
                              "disclosure threshold are left out; effects on the outcome's "
                              "scale (pp for a binary outcome)")
        az.InferenceData(posterior=post, sample_stats=idata.sample_stats).to_netcdf(str(path))

    recs = [{"group": r["group"], "n_treated": r["n_treated"], "n_control": r["n_control"]}
            for r in rows]
    return GatedFile(recs, write, what="posterior draws (no data) of the model parameters and "
                     "the national and group effects; groups under min_cell left out")
