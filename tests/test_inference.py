"""The inference layer against statsmodels, linearmodels, pyfixest and wildboottest on the
same data, and the few-cluster rules on a twin with group shocks."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causal import inference as inf

TOL = 1e-8


@pytest.fixture(scope="module")
def grouped():
    """600 persons in 12 groups; treatment assigned by group; group shocks; heteroskedastic."""
    rng = np.random.default_rng(1)
    n, G = 600, 12
    cl = rng.integers(0, G, n)
    x = rng.normal(size=n)
    d = (np.arange(G) % 2 == 0)[cl].astype(float)
    y = 1 + 0.5 * d + x + rng.normal(size=G)[cl] + rng.normal(size=n) * (1 + abs(x))
    X = np.column_stack([np.ones(n), d, x])
    return y, X, cl, inf.ols(y, X)


def _se(fit, kind, cl=None):
    return float(np.sqrt(inf.vcov(fit, kind, cl)[1, 1]))


@pytest.mark.parametrize("kind", ["classical", "HC0", "HC1", "HC2", "HC3", "CR1"])
def test_every_flavour_matches_statsmodels(grouped, kind):
    import statsmodels.api as sm

    y, X, cl, fit = grouped
    m = sm.OLS(y, X)
    ref = m.fit() if kind == "classical" else m.fit(cov_type="cluster",
                                                    cov_kwds={"groups": cl}) \
        if kind == "CR1" else m.fit(cov_type=kind)
    assert abs(_se(fit, kind, cl) - ref.bse[1]) < TOL
    assert abs(fit.beta[1] - ref.params[1]) < TOL


@pytest.mark.parametrize("cov,kw,kind", [
    ("unadjusted", {"debiased": True}, "classical"), ("robust", {}, "HC0"),
    ("robust", {"debiased": True}, "HC1"), ("clustered", {"debiased": True}, "CR1")])
def test_flavours_match_linearmodels(grouped, cov, kw, kind):
    from linearmodels.iv import IV2SLS

    y, X, cl, fit = grouped
    if cov == "clustered":
        kw = {**kw, "clusters": pd.Series(cl)}
    r = IV2SLS(pd.Series(y), pd.DataFrame(X, columns=["c", "d", "x"]), None, None).fit(
        cov_type=cov, **kw)
    assert abs(_se(fit, kind, cl) - r.std_errors["d"]) < TOL


@pytest.mark.parametrize("vcov,kind", [("iid", "classical"), ("hetero", "HC1"),
                                       ({"CRV1": "g"}, "CR1")])
def test_flavours_match_pyfixest(grouped, vcov, kind):
    import pyfixest as pf

    y, X, cl, fit = grouped
    df = pd.DataFrame({"y": y, "d": X[:, 1], "x": X[:, 2], "g": cl})
    r = pf.feols("y ~ d + x", data=df, vcov=vcov)
    assert abs(_se(fit, kind, cl) - float(r.se()["d"])) < TOL


def test_cr2_with_one_person_per_cluster_is_statsmodels_hc2(grouped):
    import statsmodels.api as sm

    y, X, _, fit = grouped
    singletons = np.arange(len(y))
    assert abs(_se(fit, "CR2", singletons) - sm.OLS(y, X).fit(cov_type="HC2").bse[1]) < TOL


def test_cr2_and_bell_mccaffrey_dof_match_their_dense_definitions(grouped):
    """The k x k route against the textbook n_g x n_g matrices (Bell and McCaffrey 2002;
    Imbens and Kolesar 2016), on small data where the dense form is cheap."""
    from scipy.linalg import sqrtm

    y, X, cl, fit = grouped
    n, G = len(y), cl.max() + 1
    H = X @ fit.bread @ X.T
    adj = np.zeros(n)
    cols = []
    for g in range(G):
        i = np.flatnonzero(cl == g)
        Ag = np.linalg.inv(np.real(sqrtm(np.eye(len(i)) - H[np.ix_(i, i)])))
        adj[i] = Ag @ fit.resid[i]
        cols.append((np.eye(n) - H)[:, i] @ Ag @ X[i] @ fit.bread[:, 1])
    S = np.array([X[cl == g].T @ adj[cl == g] for g in range(G)])
    V = fit.bread @ S.T @ S @ fit.bread
    assert abs(np.sqrt(V[1, 1]) - _se(fit, "CR2", cl)) < TOL
    lam = np.linalg.eigvalsh(np.column_stack(cols).T @ np.column_stack(cols))
    dof = lam.sum() ** 2 / (lam ** 2).sum()
    assert abs(inf.bell_mccaffrey_dof(fit, cl, 1) - dof) < 1e-6
    assert dof < G - 1  # half the groups treated: fewer effective dof than clusters


@pytest.mark.parametrize("weights,b0", [("webb", 0.0), ("webb", 0.7), ("rademacher", 0.3),
                                        ("mammen", -0.2)])
def test_wild_bootstrap_equals_wildboottest_with_the_same_weights(grouped, weights, b0):
    from wildboottest.wildboottest import WildboottestCL

    y, X, cl, _ = grouped
    wb = WildboottestCL(X=X, Y=y - b0 * X[:, 1], cluster=cl, R=np.array([0, 1.0, 0]), B=999,
                        seed=3)
    wb.get_scores(bootstrap_type="11", impose_null=True)
    wb.get_weights(weights)
    wb.get_numer()
    wb.get_denom()
    wb.get_tboot()
    wb.get_vcov()
    wb.get_tstat()
    wb.get_pvalue()
    mine = inf.WildClusterBootstrap(y, X, cl, 1, 999, 3, weights)
    # all-ones (Rademacher) weights reproduce the sample t exactly: that tie may fall
    # either way in the last bit, so one draw of 999 is the tolerance
    assert mine.p_value(b0) == pytest.approx(float(wb.pvalue), abs=1.01 / 999)
    assert np.allclose(np.sort(mine.t_boot(b0)), np.sort(wb.t_boot), atol=1e-8)


def test_the_bootstrap_interval_is_where_the_test_stops_rejecting(grouped):
    y, X, cl, _ = grouped
    boot = inf.WildClusterBootstrap(y, X, cl, 1, 999, 0)
    lo, hi = boot.interval(0.05)
    assert lo < boot.fit.beta[1] < hi
    eps = 0.02 * boot.se_cr1
    assert boot.p_value(lo + eps) > 0.05 >= boot.p_value(lo - eps)
    assert boot.p_value(hi - eps) > 0.05 >= boot.p_value(hi + eps)


def test_few_treated_groups_give_no_interval_and_say_why():
    rng = np.random.default_rng(0)
    n, G = 400, 8
    cl = rng.integers(0, G, n)
    d = (cl < 2).astype(float)  # two treated groups
    y = d + rng.normal(size=G)[cl] + rng.normal(size=n)
    res = inf.coefficient(y, np.column_stack([np.ones(n), d]), 1, clusters=cl,
                          cluster_name="sector", treated=d)
    assert res.ci is None and res.se is None and res.n_clusters == G
    assert "too few groups of" in res.warnings[0]
    assert res.diagnostics["treated_clusters"] == 2


def _group_shock_data(rng, G=20, per=60, shock_sd=1.0, effect=1.0):
    cl = np.repeat(np.arange(G), per)
    d = (rng.permutation(G) < G // 2)[cl].astype(float)
    y = effect * d + rng.normal(0, shock_sd, G)[cl] + rng.normal(size=G * per)
    return y, np.column_stack([np.ones(G * per), d]), cl, d


def test_group_shocks_person_level_intervals_undercover_cluster_ones_cover():
    """A twin with group shocks (treatment assigned by group): the person-level interval
    misses the truth far more often than 5%, the clustered ones (wild bootstrap with 20
    groups, CR2 with Bell-McCaffrey dof) do not. R = 60: a binomial 95% band around 0.95
    reaches down to about 0.88."""
    rng = np.random.default_rng(42)
    hits = {"HC1": 0, "wild": 0, "CR2": 0}
    R = 60
    for _ in range(R):
        y, X, cl, d = _group_shock_data(rng)
        for key, kw in (("HC1", dict(se="HC1")),
                        ("wild", dict(clusters=cl, cluster_name="g", treated=d,
                                      wild_draws=399)),
                        ("CR2", dict(se="CR2", clusters=cl, cluster_name="g", treated=d,
                                     wild_draws=0))):
            r = inf.coefficient(y, X, 1, **kw)
            hits[key] += r.ci[0] <= 1.0 <= r.ci[1]
    assert hits["HC1"] / R < 0.7
    assert hits["wild"] / R >= 0.86
    assert hits["CR2"] / R >= 0.86


def test_influence_se_with_clusters_is_the_cr1_of_a_mean():
    """For a mean, the clustered influence-function SE is the CR0 sandwich times
    sqrt(G/(G-1)): statsmodels' cluster SE of an intercept-only OLS without its (n-1)/(n-k)
    factor, which is 1 for k = 1."""
    import statsmodels.api as sm

    rng = np.random.default_rng(3)
    cl = rng.integers(0, 15, 300)
    y = rng.normal(size=15)[cl] + rng.normal(size=300)
    ref = sm.OLS(y, np.ones(300)).fit(cov_type="cluster", cov_kwds={"groups": cl}).bse[0]
    assert abs(inf.influence_se(y - y.mean(), cl) - ref) < TOL


def test_collinear_columns_after_the_treatment_are_dropped_not_the_treatment():
    """Five participants and more interactions than that: the interactions go (they come
    last), the treatment stays, and the estimate equals OLS without them."""
    import statsmodels.api as sm

    rng = np.random.default_rng(5)
    n = 200
    d = np.zeros(n)
    d[:5] = 1
    Xc = rng.normal(size=(n, 8))
    y = d + Xc[:, 0] + rng.normal(size=n)
    X = np.column_stack([np.ones(n), d, Xc, Xc * d[:, None]])
    res = inf.coefficient(y, X, 1, se="HC1")
    assert res.diagnostics["collinear_columns_dropped"] == 4
    ref = sm.OLS(y, np.column_stack([np.ones(n), d, Xc, (Xc * d[:, None])[:, :4]])).fit(
        cov_type="HC1")
    assert abs(res.coef - ref.params[1]) < TOL
    with pytest.raises(Exception, match="linear combination"):
        inf.coefficient(y, np.column_stack([np.ones(n), np.ones(n)]), 1)
