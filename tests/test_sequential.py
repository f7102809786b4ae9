"""Group-sequential boundaries (causal.sequential; seed notes 001 EP10)."""
from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from causal.cli import app
from causal.sequential import boundaries, spent


def test_obrien_fleming_spending_matches_published_boundaries():
    """Lan-DeMets O'Brien-Fleming-type spending, 5 equally spaced looks, two-sided 0.05:
    4.877, 3.357, 2.680, 2.290, 2.031 (Jennison and Turnbull 2000, ch. 7; rpact getDesignGroupSequential)."""
    d = boundaries([0.2, 0.4, 0.6, 0.8, 1.0], alpha=0.05, sided=2)
    assert d.z == pytest.approx([4.877, 3.357, 2.680, 2.290, 2.031], abs=2e-3)


def test_pocock_spending_matches_published_boundaries():
    """Lan-DeMets Pocock-type spending, 2 looks, two-sided 0.05: 2.157, 2.201."""
    d = boundaries([0.5, 1.0], alpha=0.05, sided=2, spending="pocock")
    assert d.z == pytest.approx([2.157, 2.201], abs=2e-3)


def test_boundaries_keep_the_type_one_error_and_give_the_power():
    """Simulated z paths: under the null the first crossing happens with probability alpha;
    at the drift the inflation factor implies, with probability 'power'."""
    rng = np.random.default_rng(1)
    t = np.array([1 / 3, 2 / 3, 1.0])
    d = boundaries(list(t), alpha=0.05, sided=1, spending="obrien_fleming", power=0.8)
    steps = rng.normal(size=(400_000, 3)) * np.sqrt(np.diff(np.concatenate([[0], t])))
    s = np.cumsum(steps, axis=1)
    z0 = s / np.sqrt(t)
    assert (z0 >= d.z).any(axis=1).mean() == pytest.approx(0.05, abs=0.002)
    drift = np.sqrt(d.inflation) * (1.6449 + 0.8416)
    z1 = (s + drift * t) / np.sqrt(t)
    assert (z1 >= d.z).any(axis=1).mean() == pytest.approx(0.8, abs=0.005)
    assert d.inflation > 1


def test_spending_reaches_alpha_at_the_end():
    for kind in ("obrien_fleming", "pocock"):
        a = spent(np.array([0.25, 0.5, 1.0]), 0.025, kind)
        assert np.all(np.diff(a) > 0) and a[-1] == pytest.approx(0.025)


def test_bad_looks_are_user_errors():
    with pytest.raises(ValueError):
        boundaries([0.6, 0.5, 1.0])
    r = CliRunner().invoke(app, ["power", "--looks", "half,1"])
    assert r.exit_code == 2 and "--looks" in r.output
    r = CliRunner().invoke(app, ["power", "--looks", "0.5,0.9"])
    assert r.exit_code == 2


def test_power_prints_the_interim_plan():
    r = CliRunner().invoke(app, ["power", "--looks", "0.5,1", "--spending", "pocock"])
    assert r.exit_code == 0, r.output
    assert "pocock alpha spending" in r.output and "inflation factor" in r.output
