"""Propensity scores P(D=1 | X) for the matching and weighting estimators.

- ``logistic`` (default): the unpenalised logit MLE (Rosenbaum and Rubin 1983), by Newton
  steps written here by hand: a few lines that give the exact MLE together with its
  information matrix, which the Abadie-Imbens (2016) matching variance and the weighting
  estimators' influence functions need. Large data: the MLE of a 100,000-row subsample
  starts Newton steps on all rows that use the subsample's Hessian and the exact gradient.
  (statsmodels' Logit took about 10 s at 1,000,000 rows and 20 covariates on the 2-core
  machine; this takes about 1 s.)
- ``flexible``: the same logit MLE on terms chosen by AIC (asymptotically cross-validated log-loss) among the
  covariates, plus natural splines of the continuous ones, plus pairwise products
  (:mod:`causal.estimators.score_terms`); the information matrix is that of the chosen
  design, so the variance formulas are unchanged.
- ``gbm``: scikit-learn's HistGradientBoostingClassifier, for selection that is not linear
  in the logit. No information matrix: intervals then treat the score as known.

Covariates are standardised before fitting (constant columns dropped); the intercept is the
first column of the design.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import special  # deferred by `causal check` (causal.lazyimport)

from causal.errors import EstimationError

PropensityModel = Literal["logistic", "flexible", "gbm"]
#: clip fitted scores away from 0 and 1 (logit of 1e-6 is about -13.8)
EPS = 1e-6


def covariate_matrix(study, covariates: list[str] | None = None) -> pd.DataFrame:
    """The study's covariates one-hot encoded, without constant columns."""
    cols = study.covariates if covariates is None else covariates
    df = study.data
    if cols and all(c in df.columns and pd.api.types.is_float_dtype(df[c]) for c in cols):
        X = df[cols]  # already numeric: no copy here (large registry data)
    else:
        X = study.design_matrix(covariates)
    if X.shape[1] == 0:
        return X
    arr = X.to_numpy(dtype=float)
    varies = np.ptp(arr, axis=0) > 0
    if varies.all():
        return X
    return X.loc[:, varies]


@dataclass
class PropensityFit:
    p: np.ndarray                              # fitted scores (clipped to [EPS, 1-EPS])
    model: str
    Z: np.ndarray | None = None                # logit design: intercept + standardised X
    beta: np.ndarray | None = None
    info: np.ndarray | None = None             # mean information E[p(1-p) z z']
    notes: list[str] = field(default_factory=list)
    loc: np.ndarray | None = None              # Z[:, 1:] = (X - loc) / scale
    scale: np.ndarray | None = None
    #: flexible score: the terms of Z[:, 1:] (the covariates first) and how they were chosen
    terms: list[str] | None = None
    design: dict | None = None

    @property
    def logit(self) -> np.ndarray:
        return np.log(self.p) - np.log1p(-self.p)


class StandardRows:
    """Rows of the standardised design ``[1,] (X - loc) / scale`` computed when asked for, for
    callers that read a block or a few rows at a time (balance tables, the Abadie-Imbens
    2016 terms) once the fit is done: the same numbers as :func:`_standardise`'s matrix (the
    same two operations per element), without holding a second n x k matrix beside the
    design (0.9 GB at 10,000,000 rows and 10 columns)."""

    def __init__(self, X: np.ndarray, loc: np.ndarray, scale: np.ndarray,
                 intercept: bool = True) -> None:
        self.X, self.loc, self.scale, self.intercept = X, loc, scale, intercept
        self.shape = (X.shape[0], X.shape[1] + int(intercept))

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows) -> np.ndarray:
        x = self.X[rows]
        out = np.empty((x.shape[0], self.shape[1]))
        np.subtract(x, self.loc, out=out[:, int(self.intercept):])
        out[:, int(self.intercept):] /= self.scale
        if self.intercept:
            out[:, 0] = 1.0
        return out


#: above this many rows the logit fit works from a random subsample of SUBSAMPLE rows where
#: an approximation is enough (centring, the Newton Hessian, the warm start).
LARGE, SUBSAMPLE = 200_000, 100_000


def _standardise(X: np.ndarray, sub: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Intercept plus centred, scaled columns. Scale only conditions the fit (Newton is
    affine invariant), so on large data the centre and scale come from the rows ``sub``."""
    n = len(X)
    S = X if sub is None else X[sub]
    mu = S.mean(0)
    sd = S.std(0)
    sd = np.where(sd > 0, sd, 1.0)
    # same memory order as X (pandas hands over column-major arrays): one contiguous pass
    Z = np.empty((n, X.shape[1] + 1), order="F" if X.flags.f_contiguous else "C")
    Z[:, 0] = 1.0
    np.subtract(X, mu, out=Z[:, 1:])
    Z[:, 1:] /= sd
    return mu, sd, Z


def _information(Z: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Mean information (Z' diag(w) Z) / n as (Z sqrt(w))'(Z sqrt(w)) / n: numpy hands a
    product of a matrix with its own transpose to BLAS's symmetric rank-k update (syrk),
    about five times faster than forming Z' diag(w) first at 100,000 rows x 60 terms."""
    Zs = Z * np.sqrt(w)[:, None]
    return Zs.T @ Zs / len(Z)


def logit_mle(Z: np.ndarray, d: np.ndarray, beta0: np.ndarray | None = None,
              max_iter: int = 30, tol: float = 1e-10, Zsub: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray, bool]:
    """Newton-Raphson for the logit MLE on design ``Z`` (with intercept). Returns beta, the
    mean information matrix at the solution and whether it converged. A step that lowers the
    log-likelihood is halved (checked at the next iterate, so each iteration costs one pass
    over the data); a tiny ridge keeps the Hessian invertible under (quasi-)separation."""
    n, k = Z.shape
    beta = np.zeros(k) if beta0 is None else beta0.astype(float).copy()
    ridge = 1e-8 * np.eye(k)
    if beta0 is not None and Zsub is not None:
        # Large data: Newton steps with the Hessian of the subsample rows ``Zsub`` (one cheap
        # matrix) and the exact full-data gradient; converges fast from the warm start.
        # The information matrix reported is the subsample's at the solution: a mean over
        # 100,000 rows, accurate to a fraction of a percent, which is all the variance
        # formulas that use it need.
        S = Zsub
        pS = special.expit(S @ beta)
        Hs = _information(S, pS * (1 - pS)) + ridge
        for _ in range(max_iter):
            p = special.expit(Z @ beta)
            step = np.linalg.solve(Hs, Z.T @ (d - p) / n)
            beta = beta + step
            if np.max(np.abs(step)) < tol:
                pS = special.expit(S @ beta)
                return beta, _information(S, pS * (1 - pS)) + ridge, True
    prev_beta, prev_ll, step = None, -np.inf, None
    converged = False
    H = ridge
    for _ in range(4 * max_iter):
        eta = Z @ beta
        ll = float(np.sum(d * eta - np.logaddexp(0.0, eta)))
        if prev_beta is not None and ll < prev_ll - 1e-10 * abs(prev_ll) and \
                np.max(np.abs(step)) > 1e-12:
            step = step / 2  # back-track: halve the last step
            beta = prev_beta + step
            continue
        if step is not None and np.max(np.abs(step)) < tol:
            converged = True
            break
        p = special.expit(eta)
        w = p * (1.0 - p)
        H = _information(Z, w) + ridge
        g = Z.T @ (d - p) / n
        step = np.linalg.solve(H, g)
        prev_beta, prev_ll = beta, ll
        beta = beta + step
    # H was computed at prev_beta, within tol of beta: it is the information at the MLE
    return beta, H, converged


class Logit:
    """Logistic propensity model with fit/predict (used for cross-fitting too)."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def fit(self, X: np.ndarray, d: np.ndarray, beta0: np.ndarray | None = None) -> "Logit":
        """``beta0``: a warm start on the standardised design (Newton then needs fewer
        steps; the MLE is the same): on large data the subsample's MLE when the caller has
        it (:func:`score_terms.choose` fits the same subsample)."""
        n = len(d)
        sub = (np.random.default_rng(self.seed).choice(n, SUBSAMPLE, replace=False)
               if n > LARGE else None)
        self.mu, self.sd, Z = _standardise(X, sub)
        Zsub = None
        if sub is not None:  # warm start: the MLE on the subsample, then few full-data steps
            Zsub = Z[sub]
            if beta0 is None:
                beta0, _, _ = logit_mle(Zsub, d[sub])
        self.beta, self.info, self.converged = logit_mle(Z, d, beta0, Zsub=Zsub)
        self.Z = Z
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        Z = np.column_stack([np.ones(len(X)), (X - self.mu) / self.sd])
        return np.clip(special.expit(Z @ self.beta), EPS, 1 - EPS)


class GBM:
    """Gradient-boosted propensity model (scikit-learn HistGradientBoostingClassifier)."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def fit(self, X: np.ndarray, d: np.ndarray) -> "GBM":
        from sklearn.ensemble import HistGradientBoostingClassifier

        self.m = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1,
                                                early_stopping=len(d) > 10_000,
                                                random_state=self.seed)
        self.m.fit(X, d.astype(int))
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return np.clip(self.m.predict_proba(X)[:, 1], EPS, 1 - EPS)


class ExpandedLogit(Logit):
    """The logit on the terms of a fixed :class:`score_terms.Expansion` (cross-fitting of
    the flexible score: the design is chosen once, the coefficients per fold)."""

    def __init__(self, expansion, seed: int = 0) -> None:
        super().__init__(seed)
        self.expansion = expansion

    def fit(self, X: np.ndarray, d: np.ndarray) -> "ExpandedLogit":
        super().fit(self.expansion.transform(X), d)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return super().predict_proba(self.expansion.transform(X))


def make_model(kind: PropensityModel, seed: int = 0, expansion=None):
    if expansion is not None:
        return ExpandedLogit(expansion, seed)
    return Logit(seed) if kind in ("logistic", "flexible") else GBM(seed)


def fit_propensity(X: pd.DataFrame | np.ndarray, d: np.ndarray,
                   kind: PropensityModel = "logistic", seed: int = 0) -> PropensityFit:
    """Fit the propensity model on all data (matching, IPW)."""
    Xa = np.asarray(X, dtype=float)
    d = np.asarray(d, dtype=float)
    if d.min() == d.max():
        raise EstimationError("the treatment does not vary: everyone is "
                              + ("a participant" if d[0] == 1 else "a non-participant"))
    notes: list[str] = []
    if Xa.shape[1] == 0:
        p = np.full(len(d), d.mean())
        return PropensityFit(p, "constant (no covariates)", notes=["no covariates to adjust for"])
    if kind == "flexible":
        return _fit_flexible(X, Xa, d, seed)
    m = make_model(kind, seed).fit(Xa, d)
    if kind == "logistic":
        p = np.clip(special.expit(m.Z @ m.beta), EPS, 1 - EPS)
        if not m.converged:
            notes.append("the logistic propensity model did not fully converge (possible "
                         "separation: some covariate pattern predicts participation perfectly)")
        return PropensityFit(p, "logistic regression (MLE)", m.Z, m.beta, m.info, notes,
                             loc=m.mu, scale=m.sd)
    return PropensityFit(m.predict_proba(Xa), "gradient boosting (scikit-learn)", notes=notes)


def _fit_flexible(X, Xa: np.ndarray, d: np.ndarray, seed: int) -> PropensityFit:
    """The logit MLE on the design chosen by :func:`score_terms.choose`."""
    from causal.estimators.score_terms import choose

    names = [str(c) for c in X.columns] if isinstance(X, pd.DataFrame) else \
        [f"x{j + 1}" for j in range(Xa.shape[1])]
    exp, m, rec = choose(Xa, d, names, seed)
    p = np.clip(special.expit(m.Z @ m.beta), EPS, 1 - EPS)
    notes = [] if m.converged else [
        "the flexible logistic propensity model did not fully converge (possible separation: "
        "some covariate pattern predicts participation perfectly)"]
    label = ("logistic regression (MLE)" if exp.level == "linear" else
             f"logistic regression (MLE) with {exp.level.replace('+', ' and ')}")
    return PropensityFit(p, f"{label}, terms chosen by AIC", m.Z, m.beta,
                         m.info, notes, loc=m.mu, scale=m.sd, terms=exp.terms, design=rec)


def crossfit_predictions(X: np.ndarray, d: np.ndarray, y: np.ndarray, folds: int, seed: int,
                         ps_kind: PropensityModel, outcome_kind: str, binary: bool
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Out-of-fold propensity p(x) and outcome regressions m0(x), m1(x) (Chernozhukov et al.
    2018 cross-fitting): each unit's nuisances come from models fit without it."""
    from sklearn.model_selection import StratifiedKFold

    n = len(d)
    p = np.empty(n)
    m0 = np.empty(n)
    m1 = np.empty(n)
    expansion = None
    if ps_kind == "flexible":  # the design once, from all rows; its coefficients per fold
        from causal.estimators.score_terms import choose

        expansion, _, _ = choose(X, d, [f"x{j + 1}" for j in range(X.shape[1])], seed)
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in skf.split(X, d.astype(int)):
        ps = make_model(ps_kind, seed, expansion).fit(X[train], d[train])
        p[test] = ps.predict_proba(X[test])
        for arm, out in ((0, m0), (1, m1)):
            tr = train[d[train] == arm]
            out[test] = _outcome_model(outcome_kind, binary, seed).fit(
                X[tr], y[tr]).predict(X[test])
    return p, m0, m1


class _OutcomeModel:
    def __init__(self, kind: str, binary: bool, seed: int) -> None:
        self.kind, self.binary, self.seed = kind, binary, seed

    def fit(self, X: np.ndarray, y: np.ndarray) -> "_OutcomeModel":
        if self.kind == "gbm":
            from sklearn.ensemble import (
                HistGradientBoostingClassifier,
                HistGradientBoostingRegressor,
            )

            if self.binary and len(np.unique(y)) == 2:
                self.m = HistGradientBoostingClassifier(max_iter=200, random_state=self.seed)
            else:
                self.m = HistGradientBoostingRegressor(max_iter=200, random_state=self.seed)
            self.m.fit(X, y)
        elif self.binary and len(np.unique(y)) == 2:
            self.m = Logit(self.seed).fit(X, y)
        else:
            from sklearn.linear_model import LinearRegression

            self.m = LinearRegression().fit(X, y)
        self.const = float(y.mean()) if len(np.unique(y)) < 2 else None
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.const is not None:
            return np.full(len(X), self.const)
        if hasattr(self.m, "predict_proba"):
            return self.m.predict_proba(X) if isinstance(self.m, Logit) else \
                self.m.predict_proba(X)[:, 1]
        return self.m.predict(X)


def _outcome_model(kind: str, binary: bool, seed: int) -> _OutcomeModel:
    return _OutcomeModel(kind, binary, seed)
