"""The model of the Bayesian multilevel estimator (:mod:`causal.estimators.multilevel` has the
model and why it is built this way): the pymc model with its cell likelihood as a PyTensor Op
(the reference: ``compiled`` compiles its log density and gradient once per structure), which
group parameters are sampled centred, and nutpie's sampler on the hand-written C callback of
:mod:`causal.estimators.multilevel_cfuncs` (the same log density)."""
from __future__ import annotations

import functools
import math
import os
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from causal.estimators.multilevel_design import Design, MultilevelOptions, Priors


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


#: a group's parameter is sampled centred when its raw standard error is below this fraction
#: of the estimated between-group sd, an effect also only below CENTRED_SE
#: (model_structure says why)
CENTRED_RATIO = 0.5
CENTRED_SE = 0.1


def between_sd(est: np.ndarray, se: np.ndarray, Z: np.ndarray | None = None) -> float:
    """Moment estimate of the between-group standard deviation of ``est`` (standard errors
    ``se``): DerSimonian and Laird (1986), with group-level predictors ``Z`` the
    meta-regression form (Thompson and Sharp 1999): tau^2 = (Q - (k - p)) / tr(P), Q the
    weighted residual sum of squares, P = V^-1 - V^-1 Z1 (Z1' V^-1 Z1)^-1 Z1' V^-1. Zero when
    the groups differ no more than their standard errors say (or too few groups)."""
    ok = np.isfinite(est) & np.isfinite(se) & (se > 0)
    Z1 = np.ones((int(ok.sum()), 1))
    if Z is not None and Z.shape[1]:
        Z1 = np.hstack([Z1, Z[ok]])
    k, p = Z1.shape
    if k <= p:
        return 0.0
    w = 1.0 / se[ok] ** 2
    A = np.linalg.pinv(Z1.T @ (w[:, None] * Z1))
    P = np.diag(w) - (w[:, None] * Z1) @ A @ (Z1.T * w)
    e = est[ok]
    tau2 = (float(e @ P @ e) - (k - p)) / float(np.trace(P))
    return math.sqrt(max(tau2, 0.0))


def _group_estimates(design: Design) -> tuple[np.ndarray, ...]:
    """Per group, from the cells without a model: the raw untreated level (logit of the rate;
    mean of the standardised outcome) with its standard error, the standard error the
    group's intercept has from both arms, and the raw treated-minus-untreated contrast on
    that scale with its standard error (inf where a group lacks an arm)."""
    G = len(design.groups)
    t = design.d == 1
    n1 = np.bincount(design.g[t], weights=design.n[t], minlength=G)
    n0 = np.bincount(design.g[~t], weights=design.n[~t], minlength=G)
    if design.family == "binomial":
        s1 = np.bincount(design.g[t], weights=design.y[t], minlength=G)
        s0 = np.bincount(design.g[~t], weights=design.y[~t], minlength=G)

        def logit_se(s, m):  # with half a success and failure added (finite at 0 and m)
            p = (s + 0.5) / (m + 1.0)
            with np.errstate(divide="ignore"):
                return np.log(p / (1 - p)), np.where(m > 0, 1 / np.sqrt((m + 1) * p * (1 - p)),
                                                     np.inf)
        lvl, lvl_se = logit_se(s1 + s0, n1 + n0)
        l1, se1 = logit_se(s1, n1)
        l0, se0 = logit_se(s0, n0)
    else:
        s1 = np.bincount(design.g[t], weights=design.y[t] * design.n[t], minlength=G)
        s0 = np.bincount(design.g[~t], weights=design.y[~t] * design.n[~t], minlength=G)
        with np.errstate(divide="ignore", invalid="ignore"):
            lvl = (s1 + s0) / (n1 + n0)
            lvl_se = 1 / np.sqrt(n1 + n0)
            l1, se1, l0, se0 = s1 / n1, 1 / np.sqrt(n1), s0 / n0, 1 / np.sqrt(n0)
    both = (n1 > 0) & (n0 > 0)
    eff = np.where(both, l1 - l0, np.nan)
    eff_se = np.where(both, np.sqrt(se1 ** 2 + se0 ** 2), np.inf)
    lvl = np.where(n0 > 0, l0, np.nan)
    return lvl, np.where(n0 > 0, se0, np.inf), lvl_se, eff, eff_se


def model_structure(design: Design, options: MultilevelOptions
                    ) -> tuple[Structure, np.ndarray, np.ndarray]:
    """Model structure, and per group whether its intercept and effect are sampled centred
    (1) or non-centred (0).

    ``auto``: centred where the group's own data pin the parameter down more tightly than
    the groups vary, i.e. its raw standard error is below the between-group standard
    deviation (a moment estimate, ``between_sd``, from the raw untreated levels and the raw
    contrasts; for the effects around the region-level predictors). An intercept's
    standard error counts both arms, as the model's intercept is informed by both. For the normal hierarchical model this is where the centred form mixes
    faster: its convergence rate is se^2 / (se^2 + sd^2), the non-centred one's the
    complement (Papaspiliopoulos, Roberts and Skold 2007); with informative groups the
    non-centred form gives strong posterior correlations, with weak ones the centred form
    the funnel (Betancourt and Girolami 2015). The margin ``CENTRED_RATIO`` (se below half
    the sd, a centred rate below 0.2): the sd is estimated from a few dozen groups and its
    posterior reaches below the estimate, where a centred group funnels (divergences, a
    biased posterior), while a non-centred informative group only mixes more slowly; with
    the bare se < sd, 3 of 35 regions' effects were centred at 100,000 persons and 12 of
    2,000 transitions diverged. The raw treated-minus-untreated contrasts also carry the
    selection the model's covariates remove, and with few groups the moment estimate is
    noisy, so a group's effect is centred only where its se is below ``CENTRED_SE`` (0.1 on
    the logit scale) too: on Experimenten Meer Werk (6 projects, selection on covariates)
    the raw contrasts spread by 0.48, which alone centred 2 effects with se 0.19 and gave 3
    divergences. (The same bound on the intercepts made things worse there: 5 of 6 centred,
    8 divergences; on the bundled specs the intercepts' relative rule gave none.) The absolute
    threshold alone (until 2026-11) centred the effects of 100,000 persons in 35 regions (se
    about 0.08) although they vary by about 0.05: 70 leapfrog steps per draw instead of 12."""
    G = len(design.groups)
    if options.parameterization != "auto":
        c = 1.0 if options.parameterization == "centred" else 0.0
        wi = we = np.full(G, c)
    else:
        lvl, lvl_se, mu_se, eff, eff_se = _group_estimates(design)
        wi = (mu_se < CENTRED_RATIO * between_sd(lvl, lvl_se)).astype(float)
        we = (eff_se < np.minimum(CENTRED_SE, CENTRED_RATIO * between_sd(eff, eff_se, design.W))
              ).astype(float)
    s = Structure(design.family, G, design.X.shape[1], design.W.shape[1],
                  tuple(getattr(options.priors, k) for k in Priors.model_fields))
    return s, wi, we


def _start(design: Design, wi: np.ndarray, x0: np.ndarray, slices: dict[str, slice]) -> None:
    """Start the intercepts at the overall logit (binomial outcome), in place."""
    if design.family == "binomial":
        p = float(np.clip(design.y.sum() / design.n.sum(), 0.01, 0.99))
        x0[slices["intercept"]] = math.log(p / (1 - p))
        x0[slices["intercept_z"]] = wi * math.log(p / (1 - p))


def sampler_model(design: Design, options: MultilevelOptions):
    """nutpie's model for this design: the C callbacks of multilevel_cfuncs (the log density
    and gradient of build_model's pymc model, hand-written in numba) over the packed data.
    Returns (nutpie compiled model, structure, wi, we, data buffer)."""
    from nutpie.compile_pymc import CompiledPyMCModel

    from causal.estimators import multilevel_kernels as mk
    from causal.estimators.multilevel_cfuncs import expand_cfunc, logp_cfunc

    s, wi, we = model_structure(design, options)
    G, P, Q = s.n_groups, s.n_coef, s.n_pred
    normal = design.family != "binomial"
    buf = mk.pack(design.family, design.g, design.d, design.X, design.n, design.y, design.ss,
                  design.W, wi, we, s.priors)
    lay, exp_ = mk.layout(P, Q, normal, G), mk.expanded(P, Q, normal, G)
    slices, start = {}, 0
    for nm, k in lay:
        slices[nm] = slice(start, start + k)
        start += k
    x0 = np.zeros(start)
    _start(design, wi, x0, slices)

    def init(seed):
        rng = np.random.default_rng(seed)
        return x0 + rng.uniform(-0.5, 0.5, start)

    group = {"intercept_z", "effect_z", "group_intercept", "group_effect"}
    shapes = [((k,) if nm in group or nm in ("dose", "beta") else ()) for nm, k in exp_]
    names = [nm for nm, _ in exp_]
    dims = {"group_intercept": ("group",), "group_effect": ("group",), "beta": ("coef",),
            "dose": ("predictor",)}
    dims = {k: v for k, v in dims.items() if k in names}
    coords = {"group": design.groups, "coef": design.columns, "predictor": design.predictors}
    coords = {k: v for k, v in coords.items() if k in {d for ds in dims.values() for d in ds}}
    import pandas as pd
    coords = {k: pd.Index(v) for k, v in coords.items()}
    exp_slices, o = [], 0
    for _, k in exp_:
        exp_slices.append(slice(o, o + k))
        o += k
    model = CompiledPyMCModel(
        _n_dim=start, dims=dims, _coords=coords,
        _shapes=dict(zip(names, shapes, strict=True)),
        compiled_logp_func=logp_cfunc, compiled_expand_func=expand_cfunc,
        initial_point_func=init, shared_data={}, user_data=buf, n_expanded=o,
        shape_info=(names, exp_slices, shapes), logp_func=None, expand_func=None)
    return model, s, wi, we, buf


def sample(design: Design, options: MultilevelOptions):
    """Sample the posterior with nutpie; returns (InferenceData, (wi, we))."""
    import nutpie

    model, _s, wi, we, _buf = sampler_model(design, options)
    idata = nutpie.sample(model, draws=options.draws, tune=options.tune, chains=options.chains,
                          cores=min(options.chains, os.cpu_count() or 1), seed=options.seed,
                          save_warmup=False, progress_bar=False,
                          target_accept=options.target_accept,
                          low_rank_modified_mass_matrix=options.mass_matrix == "low_rank")
    return idata, (wi, we)
