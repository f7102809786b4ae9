"""The power helper reproduces the Almere design calculation (seed notes 001 §4.1): control
11.67%, experiment 21.25%, one-sided alpha 0.05, power 0.8: about 180 per arm."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from causal import power
from causal.cli import app


def test_almere_sample_size():
    n = power.n_per_arm(0.1167, 0.2125, alpha=0.05, power=0.8, sided=1)
    assert 175 <= n <= 190


def test_power_at_180_is_about_080():
    assert power.power_at(0.1167, 0.2125, 180, alpha=0.05, sided=1) == pytest.approx(0.79, abs=0.02)


def test_non_compliance_dilutes_power():
    """Seed notes 001 §4.2: with ~46% coached the ITT shrinks to ~4.4 pp; power ~0.32."""
    p1 = power.with_compliance(0.1167, 0.2125 - 0.1167, 0.46)
    assert p1 - 0.1167 == pytest.approx(0.044, abs=0.001)
    assert power.power_at(0.1167, p1, 180, alpha=0.05, sided=1) == pytest.approx(0.32, abs=0.03)


def test_mde_inverts_power():
    m = power.mde(0.1167, 180, alpha=0.05, power=0.8, sided=1)
    assert power.power_at(0.1167, 0.1167 + m, 180, alpha=0.05, sided=1) == pytest.approx(0.8, abs=1e-3)
    assert 0.09 < m < 0.10


def test_two_sided_needs_more():
    assert power.n_per_arm(0.1167, 0.2125, sided=2) > power.n_per_arm(0.1167, 0.2125, sided=1)


def test_cli_power():
    r = CliRunner().invoke(app, ["power", "--p0", "0.1167", "--p1", "0.2125", "--one-sided"])
    assert r.exit_code == 0, r.output
    assert "per arm" in r.output
    n = int(r.output.split(" per arm")[0].split()[-1])
    assert 175 <= n <= 190
