"""Options and design matrix of the Bayesian multilevel estimator
(:mod:`causal.estimators.multilevel`, whose docstring gives the model and what it assumes):
covariates reference-coded or standardised and centred, continuous covariates binned where
the options allow, rows collapsed to cells (group x treatment x covariate levels) where the
likelihood has sufficient statistics."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from causal.errors import DataError, EstimationError
from causal.estimators import Options

NAME = "bayesian_multilevel"


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
        "where the group's own data pin them down more tightly than the groups vary (raw "
        "standard error below half a moment estimate of the between-group sd; an effect's "
        "also below 0.1 on the logit scale) and non-centred "
        "elsewhere; centred or noncentred forces one form for all groups.")
    priors: Priors = Field(Priors(), description="Prior scales of the model's parameters.")
    estimands: list[Literal["ATT", "dose_response"]] | None = Field(
        None, description="ATT and/or dose_response (per unit of the effect predictor); "
        "default: what the spec's design allows.")
    att_not_identified: str | None = Field(
        None, description="Why the treated-vs-untreated contrast is no net effect in this "
        "design (every region received the measure, say); the ATT is then reported without "
        "a number, with this reason.")
    att_not_identified_nl: str | None = Field(
        None, description="The att_not_identified reason in Dutch (Dutch reports).")
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


def _onehot(k: np.ndarray, col: np.ndarray, ref: int, L: int) -> np.ndarray:
    """Reference-coded indicator columns of the level codes ``k`` (``col``: level -> column)."""
    out = np.zeros((len(k), L - 1))
    rows = np.flatnonzero(k != ref)
    out[rows, col[k[rows]]] = 1.0
    return out


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
    # per covariate: its design columns for the rows ``idx`` (all rows, or one per cell:
    # at 10M persons the row-level matrix alone took 1 GiB)
    blocks: list[Callable[[Any], np.ndarray]] = []
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
            B = (B - B.mean(axis=0)) / B.std(axis=0)
            blocks.append(lambda idx, B=B: B[idx])
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
            blocks.append(lambda idx, k=k, col=col, ref=ref, L=L: _onehot(k[idx], col, ref, L))
            colnames += [f"{c}[{cat.categories[j]}]" for j in others]
            codes.append(k)
        else:
            v = s.to_numpy(float)
            sd = v.std()
            if sd <= 0:
                notes.append(f"'{c}' has one value only; left out")
                continue
            blocks.append(lambda idx, v=v, m=v.mean(), sd=sd: ((v[idx] - m) / sd)[:, None])
            colnames.append(c)
            if kind == "exact":
                codes.append(pd.factorize(v, sort=True)[0].astype(np.int64))
            else:
                continuous.append(c)

    def design_rows(idx) -> np.ndarray:
        n_idx = len(df) if isinstance(idx, slice) else len(idx)
        return np.hstack([b(idx) for b in blocks]) if blocks else np.zeros((n_idx, 0))

    row_level = not options.collapse or bool(continuous)
    if continuous and options.collapse:
        warns.append(f"continuous covariate(s) {', '.join(continuous)} cannot be collapsed to "
                     f"cells, so the model ran on all {len(df)} rows (slow); allow binning with "
                     f"the option bin, e.g. bin: {{{continuous[0]}: 12}}")
    y_mean, y_sd = (0.0, 1.0) if binary else (float(y.mean()), float(y.std() or 1.0))
    ys = y if binary else (y - y_mean) / y_sd

    if row_level:
        g, dd, X, n = gcode, d.astype(float), design_rows(slice(None)), np.ones(len(df))
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
        X = design_rows(first)
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


