"""The base of every stress scenario (:class:`Stress`) and the helpers the scenarios and
the twins share; the scenarios and what they do are documented in the package
(:mod:`causal.twins.stress`)."""
from __future__ import annotations

import hashlib
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

Expect = Literal["unbiased", "widen", "warn", "refuse"]


class Stress(BaseModel):
    """Base of a scenario: its parameters are the pydantic fields (unknown ones are errors)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    #: generators the scenario applies to
    GENERATORS: ClassVar[tuple[str, ...]] = ()
    #: what an honest estimator does under it (module doc)
    EXPECT: ClassVar[Expect] = "unbiased"
    #: per estimand prefix, when it differs from EXPECT (e.g. ITT holds, LATE cannot)
    EXPECT_BY_ESTIMAND: ClassVar[dict[str, Expect]] = {}
    #: one plain sentence: what changes in the twin
    WHAT: ClassVar[str] = ""
    #: one plain sentence: what an honest estimator should do, and why
    HONEST: ClassVar[str] = ""

    def rng(self, seed: int) -> np.random.Generator:
        """The scenario's own random stream (independent of the twin's main stream)."""
        tag = int.from_bytes(hashlib.sha256(self.name.encode()).digest()[:4], "little")
        return np.random.default_rng([int(seed), tag])

    def expect(self, estimand: str) -> Expect:
        for prefix, e in self.EXPECT_BY_ESTIMAND.items():
            if estimand.startswith(prefix):
                return e
        return self.EXPECT

    def remedy(self, estimator: str, generator: str) -> dict[str, Any] | None:
        """Estimator options that should make the estimator honest under this stress (None:
        the spec's own options are the honest ones, or nothing can help). Options the
        estimator does not have are left out by the caller (causal.validate)."""
        return None

    def adjust(self, p):
        """The generator's parameters under this stress (default: unchanged)."""
        return p

    def label(self) -> str:
        """Name and non-default parameters, e.g. ``hidden_confounding(reliability=0.5)``."""
        extra = {k: v for k, v in self.model_dump().items()
                 if k != "name" and v != type(self).model_fields[k].default}
        return self.name + ("(" + ", ".join(f"{k}={v}" for k, v in extra.items()) + ")"
                            if extra else "")


def expected_clip(x: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """E[clip(x + s, 0, 1)] for s ~ N(0, sd^2) (a censored normal's mean): the chance a
    person would have on average over the shocks, since probabilities are clipped to [0, 1].
    Exact: x (Phi(b) - Phi(a)) + sd (phi(a) - phi(b)) + 1 - Phi(b), a = -x/sd, b = (1-x)/sd."""
    from scipy.stats import norm

    x = np.asarray(x, float)
    sd = np.broadcast_to(np.asarray(sd, float), x.shape)
    out = np.clip(x, 0.0, 1.0).copy()
    m = sd > 0
    if m.any():
        xm, sm = x[m], sd[m]
        a, b = -xm / sm, (1.0 - xm) / sm
        out[m] = (xm * (norm.cdf(b) - norm.cdf(a)) + sm * (norm.pdf(a) - norm.pdf(b))
                  + norm.sf(b))
    return out


def _z(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else x * 0.0


class PersonStress(Stress):
    """A scenario of the person-level twins (generator ``individual``); identified by
    default (``unbiased``)."""

    GENERATORS: ClassVar[tuple[str, ...]] = ("individual",)
