"""The deadweight check: self-reported pivotal share against net / gross (seed notes 000 EP12)."""
from __future__ import annotations

import pytest
import yaml

from causal.deadweight import pivotal_check
from causal.errors import SpecError
from causal.spec import load_spec

REPORTED = [{"label": "found work", "value": 54, "unit": "percent", "role": "outcome",
             "citation": "x"},
            {"label": "say the measure made the difference", "value": 30, "unit": "percent",
             "role": "attribution", "citation": "Table 2.17"}]


def _est(net, lo, hi, gross=50.0, name="ipw (ATT)", unit="pp"):
    return {"name": name, "estimator": name.split()[0], "net": net, "ci_low": lo,
            "ci_high": hi, "gross": gross, "unit": unit}


def test_pivotal_share_is_net_over_gross_after_displacement():
    out = pivotal_check(REPORTED, [_est(10.0, 6.0, 14.0)], [0.0, 0.5])
    assert out["self_reported"] == 0.3
    no_disp, half = out["comparisons"]
    assert no_disp["estimated_pivotal"] == pytest.approx(0.2)
    assert no_disp["interval"] == pytest.approx([0.12, 0.28])
    assert no_disp["verdict"] == "self-report above the estimate's interval"
    assert half["estimated_pivotal"] == pytest.approx(0.1)
    inside = pivotal_check(REPORTED, [_est(15.0, 10.0, 20.0)], [0.0])["comparisons"][0]
    assert inside["verdict"] == "self-report within the estimate's interval"
    below = pivotal_check(REPORTED, [_est(25.0, 20.0, 30.0)], [0.0])["comparisons"][0]
    assert below["verdict"] == "self-report below the estimate's interval"


def test_naive_and_unidentified_and_continuous_estimates_are_left_out():
    ests = [_est(10.0, 6.0, 14.0, name="naive"), _est(None, None, None),
            _est(3.0, 1.0, 5.0, unit="euro")]
    assert pivotal_check(REPORTED, ests)["comparisons"] == []
    assert pivotal_check(REPORTED[:1], [_est(10.0, 6.0, 14.0)]) is None


def test_displacement_must_be_shares(spec_copy):
    p = spec_copy("uwv_intensive_services.yaml")
    data = yaml.safe_load(p.read_text())
    data["deadweight_check"] = {"displacement": [0.0, 1.5]}
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(SpecError, match="deadweight_check.displacement"):
        load_spec(p)
    data["deadweight_check"] = {"displacement": [0.1]}
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    assert load_spec(p).deadweight_check.displacement == [0.1]
