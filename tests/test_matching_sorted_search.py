"""The sorted-query paths of the 1-D nearest-neighbour search (used from 50,000 queries on)
give the same answers as the plain paths, with strata, exclusions and ties."""
import numpy as np
import pytest

from causal.estimators import matching_search as ms
from causal.estimators import matching_ties as mt


def _data(seed: int, n_pool: int = 700, n_q: int = 500):
    r = np.random.default_rng(seed)
    # rounded keys: many exact ties, as on a score of categorical covariates
    pk, qk = np.round(r.normal(size=n_pool), 1), np.round(r.normal(size=n_q), 1)
    return pk, r.integers(0, 3, n_pool), qk, r.integers(0, 3, n_q)


@pytest.mark.parametrize("seed", [0, 1])
def test_sorted_queries_same_answers(monkeypatch, seed):
    pk, ps, qk, qs = _data(seed)
    pool = ms.SortedPool(pk, ps)
    plain = pool.query(qk, qs, 3)
    tie_plain = mt.tie_matches(pool, qk, qs, plain[1])
    sums_plain = pool.own_neighbour_sums(np.arange(len(pk))[::2], 4, pk[:, None])
    monkeypatch.setattr(ms, "_SORT_QUERIES", 1)
    monkeypatch.setattr(mt, "_SORT_QUERIES", 1)
    monkeypatch.setattr(ms, "_NEIGHBOUR_CHUNK", 37)  # the search in several chunks
    qpool = ms.SortedPool(qk, qs)
    for order in (None, qpool.order):
        idx, dist = pool.query(qk, qs, 3, order=order)
        np.testing.assert_array_equal(idx, plain[0])
        np.testing.assert_array_equal(dist, plain[1])
        tie = mt.tie_matches(pool, qk, qs, dist, order)
        np.testing.assert_array_equal(tie.lo, tie_plain.lo)
        np.testing.assert_array_equal(tie.hi, tie_plain.hi)
    sums, cnt = ms.SortedPool(pk, ps).own_neighbour_sums(np.arange(len(pk))[::2], 4,
                                                         pk[:, None])
    np.testing.assert_array_equal(sums, sums_plain[0])
    np.testing.assert_array_equal(cnt, sums_plain[1])
    # exclusion of each query's own pool unit
    ex = np.arange(len(pk))
    np.testing.assert_array_equal(pool.query(pk, ps, 2, exclude=ex)[0],
                                  pool._query(pk, ps, 2, ex, None)[0])


def test_search_sorted_any_order():
    r = np.random.default_rng(3)
    a = np.sort(r.normal(size=1000))
    v = r.normal(size=60_000)
    want = np.searchsorted(a, v, side="right")
    np.testing.assert_array_equal(ms.search_sorted(a, v, "right"), want)
    # a wrong order is slower, never wrong
    np.testing.assert_array_equal(ms.search_sorted(a, v, "right", np.arange(len(v))), want)


def test_plain_design_as_formulaic(monkeypatch):
    """The direct encoding of plain numeric and categorical terms equals formulaic's, on
    the full data and on a subset encoded with its ModelSpec."""
    import pandas as pd

    from causal import design

    r = np.random.default_rng(5)
    n = 3000
    df = pd.DataFrame({
        "age": r.integers(45, 67, n), "motivation": r.normal(size=n),
        "education": pd.Categorical(r.choice(["vmbo", "mbo", "wo", "hbo"], n),
                                    categories=["vmbo", "mbo", "hbo", "wo", "phd"],
                                    ordered=True),
        "sex": pd.Categorical(r.choice(["man", "vrouw"], n))})
    terms = ["age", "sex", "education", "motivation"]
    want, spec = design.build_design(df, terms)
    monkeypatch.setattr(design, "PLAIN_MIN_ROWS", 10)
    got, spec2 = design.build_design(df, terms)
    pd.testing.assert_frame_equal(got, want)
    sub = df.iloc[::7]
    pd.testing.assert_frame_equal(design.build_design(sub, terms, model_spec=spec2)[0],
                                  design.build_design(sub, terms, model_spec=spec)[0])
    # a formula term, or a missing value, goes the formulaic way / is the same error
    assert design._plain_design(df, ["C(age)"], "x") is None
    bad = df.assign(motivation=df["motivation"].where(df.index != 2000))
    with pytest.raises(design.DataError, match="missing"):
        design.build_design(bad, terms)


def test_overlap_reuses_the_matching_logit():
    """The design warnings' overlap reads the linear logit the matching fitted (Study.scores)
    and gets what its own fit gives."""
    from causal.pipeline import prepare, run_estimator
    from causal.sensitivity.design import overlap

    st = prepare("data_specs/ontwikkeladvies_matching.yaml", n=3000)
    fresh = overlap(st)
    run_estimator(st, "propensity_matching", {"estimands": ["ATT"], "propensity": "logistic"},
                  refute=False)
    key = ("logistic", tuple(map(str, st.design_matrix().columns)))
    assert key in st.scores
    again = overlap(st)
    assert again["share_outside"] == pytest.approx(fresh["share_outside"], abs=1e-12)
    assert again["score_range_treated"] == pytest.approx(fresh["score_range_treated"], rel=1e-9)
    st.scores[key] = np.full(len(st.data), 0.5)  # it is read, not refitted
    assert overlap(st)["share_outside"] == 0.0


def test_read_parquet_as_pandas(tmp_path):
    """netto's Parquet reader gives what pd.read_parquet gives (dtypes, index, missing)."""
    import pandas as pd

    from causal.readers import read_parquet

    n = 500
    r = np.random.default_rng(2)
    df = pd.DataFrame({"id": np.arange(n), "x": r.normal(size=n),
                       "sex": r.choice(["man", "vrouw", None], n),
                       "edu": pd.Categorical(r.choice(["a", "b"], n), ordered=True),
                       "d": pd.to_datetime("2019-01-01") + pd.to_timedelta(r.integers(0, 300, n),
                                                                         unit="D"),
                       "flag": r.integers(0, 2, n)})
    df.loc[3, "x"] = np.nan
    for frame in (df, df.set_index("id")):
        p = tmp_path / "t.parquet"
        frame.to_parquet(p)
        pd.testing.assert_frame_equal(read_parquet(p), pd.read_parquet(p))


def test_large_data_path_same_estimates(monkeypatch):
    """The large-data path of the matching (second thread, the standardised design read by
    rows, the AI 2016 parts shared by ATT and ATE) gives the small-data path's numbers."""
    from causal.estimators import matching
    from causal.estimators.propensity import StandardRows, _standardise
    from causal.pipeline import prepare, run_estimator

    st = prepare("data_specs/ontwikkeladvies_matching.yaml", n=3000)
    opts = {"estimands": ["ATT", "ATE"], "propensity": "logistic"}
    small = run_estimator(st, "propensity_matching", opts, refute=False)
    monkeypatch.setattr(matching, "_THREAD_MIN_ROWS", 100)
    large = run_estimator(st, "propensity_matching", opts, refute=False)
    for a, b in zip(small, large, strict=True):
        assert (a.estimand, a.net, a.se) == (b.estimand, b.net, b.se)
        assert a.diagnostics["ai2016_adjustment"] == b.diagnostics["ai2016_adjustment"]
        assert a.diagnostics["balance"] == b.diagnostics["balance"]
    X = np.random.default_rng(1).normal(size=(50, 3)) * [1, 10, 100]
    mu, sd, Z = _standardise(X)
    rows = StandardRows(X, mu, sd)
    np.testing.assert_array_equal(rows[np.array([4, 1, 4])], Z[[4, 1, 4]])
    np.testing.assert_array_equal(StandardRows(X, mu, sd, intercept=False)[10:20], Z[10:20, 1:])
    assert rows.shape == Z.shape and len(rows) == 50


def test_small_cells_count_as_crosstab():
    """The design warnings' small cells (integer levels coded by offset, others factorized)
    are the cells under k of pd.crosstab, per variable."""
    from types import SimpleNamespace

    import pandas as pd

    from causal.sensitivity.design import _small_cells

    r = np.random.default_rng(4)
    n = 2000
    df = pd.DataFrame({"d": r.integers(0, 2, n), "flag": (r.random(n) < 0.004).astype(int),
                       "grp": pd.Categorical(r.choice(["a", "b", "c"], n, p=[.5, .497, .003])),
                       "code": r.choice([3, 7, 900], n, p=[.5, .495, .005])})
    st = SimpleNamespace(data=df, treatment="d", covariates=["flag", "grp", "code"],
                         region=None)
    want = []
    for c in ("flag", "grp", "code"):
        if c == "code":  # three numeric values: continuous, not cells
            continue
        tab = pd.crosstab(df[c], df["d"]).to_numpy()
        want += [c] * int(((tab > 0) & (tab < 10)).sum())
    assert _small_cells(st, 10) == want and want


def test_excel_keeps_a_named_empty_column(tmp_path):
    """A named column whose cells are all empty is read as a column without values (the
    spec that declares it then says so by name), not dropped as if the file lacked it;
    empty unnamed columns beyond the table still go."""
    import pandas as pd

    from causal.readers import read_file

    p = tmp_path / "x.xlsx"
    pd.DataFrame({"num": [np.nan, np.nan], "cnt": [1, 2]}).to_excel(p, index=False)
    df = read_file(p).df
    assert list(df.columns) == ["num", "cnt"] and df["num"].isna().all()


@pytest.mark.parametrize("pool_strata", ["one", "two"])
def test_queries_from_other_strata_than_the_pool_s(pool_strata):
    """A pool of one stratum queried from two (and the reverse) finds the same nearest
    partners as a brute-force search within each stratum: the queries' sort keys are on the
    pool's scale whatever strata they hold (a one-stratum pool once compared raw keys with
    offset ones and matched a query 0.2 away when the nearest was 1e-5 away)."""
    rng = np.random.default_rng(3)
    pk = rng.uniform(0.3, 0.7, 1000)
    ps = np.zeros(1000, dtype=np.int64) if pool_strata == "one" else rng.integers(0, 2, 1000)
    qk = np.array([0.5, 0.5, 0.31, 0.69])
    qs = np.array([0, 1, 0, 0]) if pool_strata == "one" else np.zeros(4, dtype=np.int64)
    idx, dist = ms.SortedPool(pk, ps).query(qk, qs, 1)
    for i in range(len(qk)):
        same = np.flatnonzero(ps == qs[i])
        if same.size == 0:
            assert idx[i, 0] == -1 and np.isinf(dist[i, 0])
            continue
        best = np.abs(pk[same] - qk[i]).min()
        assert dist[i, 0] == pytest.approx(best, abs=1e-15)
        assert ps[idx[i, 0]] == qs[i]


def test_id_like_small_integer_columns_spanning_their_type():
    """An int8 id-like column whose values span more than the type holds (-100..100) is
    counted, not a bare ValueError from a wrapped offset."""
    from types import SimpleNamespace

    import pandas as pd

    from causal.columns import n_distinct
    from causal.sensitivity.design import _small_cells

    s = pd.Series(np.tile(np.array([-100, 0, 100], dtype=np.int8), 40_000))
    assert n_distinct(s) == 3
    flag = pd.Series(np.tile(np.array([-100, 100], dtype=np.int8), 60_000))  # 2 levels
    d = np.zeros(len(flag), dtype=np.int8)
    d[:4] = 1  # 4 participants, 2 at each level: two cells under 5
    st = SimpleNamespace(data=pd.DataFrame({"d": d, "flag": flag}), treatment="d",
                         covariates=["flag"], region=None)
    assert _small_cells(st, 5) == ["flag", "flag"]
