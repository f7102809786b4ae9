"""The options of the inference layer (causal.inference) that estimators share: the
cluster column and wild-bootstrap draws of every cluster-robust variance, and the
standard-error flavour, seed and randomisation inference of the regression-type
estimators. Kept apart from the computations so an estimator's options are read without
them (``causal check``)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from causal.estimators import Options


class ClusterOptions(Options):
    """The clustering options every estimator with a cluster-robust variance shares."""

    cluster: str | None = Field(
        None, description="Column to cluster the standard errors by. Default: the spec's "
        "treatment.assigned_by (the level at which treatment was assigned), else none.")
    wild_draws: int = Field(
        999, ge=0, le=99_999, description="Draws of the wild cluster bootstrap that gives the "
        "headline interval when there are fewer than 30 clusters; 0 keeps the analytic "
        "interval.")


class InferenceOptions(ClusterOptions):
    """The standard-error options every regression-type estimator shares."""

    se: Literal["auto", "classical", "HC0", "HC1", "HC2", "HC3", "CR1", "CR2"] = Field(
        "auto", description="Standard-error flavour: classical, HC0-HC3 (heteroskedasticity-"
        "robust), CR1 (cluster-robust) or CR2 (Bell-McCaffrey, for few clusters). auto: CR1 "
        "when clustered, else the estimator's own default.")
    seed: int = Field(0, ge=0, description="Seed of the bootstrap weights (and any other "
                      "random step of the estimator).")
    inference: Literal["auto", "randomization"] = Field(
        "auto", description="auto: the standard error's interval with the few-cluster rules "
        "(wild cluster bootstrap under 30 clusters, no interval under 5 treated or untreated "
        "ones). randomization: Fisher randomisation inference over which clusters are treated "
        "(permutation p-value and the interval that inverts it; Young 2019, MacKinnon and "
        "Webb 2020), for treatment assigned by cluster as if at random; all assignments when "
        "there are at most max(wild_draws, 999), else that many at random.")
