"""Per-row explanations through the blend (blend.ensemble.explain)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression, Ridge
from xgboost import XGBClassifier, XGBRegressor

import blend
from blend import BlendClassifier, BlendRegressor, make_tree_pipeline
from blend.ensemble.explain import column_map, explain_member
from blend.members.linear import WideLinearClassifier, WideLinearRegressor

COLUMNS = ["signal", "mid", "noise", "shade"]


def _frame(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "signal": rng.normal(size=n),
            "mid": rng.normal(size=n),
            "noise": rng.normal(size=n),
            "shade": rng.choice(["red", "green", "blue"], n),
        }
    )
    y = 3 * X["signal"] + 0.8 * X["mid"] + 0.5 * (X["shade"] == "red")
    return X, y + rng.normal(scale=0.1, size=n)


def _xgb(classifier: bool = False):
    cls = XGBClassifier if classifier else XGBRegressor
    return make_tree_pipeline(cls(n_estimators=40, max_depth=3, n_jobs=1, random_state=0))


@pytest.fixture(scope="module")
def regression():
    X, y = _frame()
    members = [("xgb", _xgb()), ("linear", WideLinearRegressor(random_state=0))]
    model = BlendRegressor(members, cv=3, method="mean", random_state=0).fit(X, y)
    return model, X, y


def _contributions(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in ("gap", "prediction", "class") if c in frame])


def test_additive_for_tree_and_linear_members(regression):
    model, X, _ = regression
    parts = model.explain(X)
    assert list(parts.columns) == ["baseline", *COLUMNS, "gap", "prediction"]
    np.testing.assert_allclose(parts["prediction"], model.predict(X), rtol=0, atol=1e-12)
    total = _contributions(parts).sum(axis=1).to_numpy()
    # XGBoost predicts in float32: its own predict rounds the exact tree sum (1 ulp)
    np.testing.assert_allclose(total, model.predict(X), rtol=1e-6, atol=1e-6)
    assert (parts["gap"].abs() <= 1e-6 * np.maximum(1, parts["prediction"].abs())).all()
    linear = explain_member(
        dict(model.members_)["linear"], X, COLUMNS, classification=False, n_outputs=1
    )
    assert np.abs(linear.gap).max() < 1e-9
    assert parts.attrs["methods"] == {
        "xgb": "TreeSHAP (XGBoost)",
        "linear": "linear (coefficient x centred value)",
    }
    assert parts["baseline"].nunique() == 1  # one baseline for every row


def test_saabas_paths_are_additive_too(regression):
    model, X, _ = regression
    parts = model.explain(X.iloc[:50], trees="saabas")
    assert parts.attrs["methods"]["xgb"] == "Saabas paths (XGBoost)"
    np.testing.assert_allclose(
        _contributions(parts).sum(axis=1), model.predict(X.iloc[:50]), rtol=1e-6, atol=1e-6
    )
    with pytest.raises(ValueError, match="trees must be"):
        model.explain(X.iloc[:5], trees="exact")


def test_planted_effect_ranks_first_and_noise_last(regression):
    model, X, _ = regression
    importance = model.explain(X)[COLUMNS].abs().mean()
    assert importance.idxmax() == "signal"
    assert importance.idxmin() == "noise"


def test_explain_members_sums_to_the_prediction(regression):
    model, X, _ = regression
    shares = model.explain_members(X.iloc[:20])
    assert list(shares.columns) == ["xgb", "linear", "prediction"]
    np.testing.assert_allclose(
        shares[["xgb", "linear"]].sum(axis=1), model.predict(X.iloc[:20]), atol=1e-9
    )


def test_forest_paths_are_exact():
    X, y = _frame(200)
    forest = make_tree_pipeline(RandomForestRegressor(n_estimators=5, max_depth=4, random_state=0))
    forest.fit(X, y)
    att = explain_member(forest, X, COLUMNS, classification=False, n_outputs=1)
    assert att.method == "Saabas path attribution"
    assert np.abs(att.gap).max() < 1e-9


def test_binary_classifier_is_additive_on_the_probability():
    X, y = _frame()
    labels = np.where(y > y.median(), "high", "low")
    members = [
        ("xgb", _xgb(classifier=True)),
        ("linear", WideLinearClassifier(random_state=0)),
        ("forest", make_tree_pipeline(RandomForestClassifier(n_estimators=5, random_state=0))),
    ]
    model = BlendClassifier(members, cv=3, method="mean", random_state=0).fit(X, labels)
    parts = model.explain(X.iloc[:50])
    proba = model.predict_proba(X.iloc[:50])[:, 1]
    assert (parts["class"] == "low").all()  # the second class by default
    np.testing.assert_allclose(_contributions(parts).sum(axis=1), proba, atol=1e-6)
    other = model.explain(X.iloc[:50], target="high")
    np.testing.assert_allclose(other["prediction"], 1 - proba, atol=1e-12)
    with pytest.raises(ValueError, match="not a class"):
        model.explain(X.iloc[:5], target="medium")


def test_multiclass_explains_the_predicted_class():
    X, y = _frame()
    labels = pd.qcut(y, 3, labels=["low", "mid", "high"]).astype(str).to_numpy()
    members = [("xgb", _xgb(classifier=True)), ("logistic", LogisticRegression())]
    Xn = X[["signal", "mid", "noise"]]
    model = BlendClassifier(members, cv=3, method="mean", random_state=0).fit(Xn, labels)
    parts = model.explain(Xn.iloc[:40])
    np.testing.assert_array_equal(parts["class"], model.predict(Xn.iloc[:40]))
    assert parts["gap"].abs().max() < 1e-5  # softmax: quadrature leftover only


def test_occlusion_fallback_reports_its_gap():
    from sklearn.ensemble import HistGradientBoostingRegressor

    X, y = _frame(200)
    Xn = X[["signal", "mid", "noise"]]
    model = HistGradientBoostingRegressor(max_iter=20).fit(Xn, y)
    att = explain_member(model, Xn, list(Xn.columns), classification=False, n_outputs=1)
    assert att.method.startswith("occlusion") and not att.exact
    np.testing.assert_allclose(att.output[:, 0], model.predict(Xn))
    assert np.abs(att.values[:, 0, 0]).mean() > np.abs(att.values[:, 2, 0]).mean()


def test_deep_member_by_occlusion():
    from blend.members.deep import KerasGraphRegressor

    X, y = _frame(120)
    deep = KerasGraphRegressor(epochs=1, batch_size=64, random_state=0).fit(X, y)
    att = explain_member(deep, X.iloc[:10], COLUMNS, classification=False, n_outputs=1)
    assert att.values.shape == (10, 4, 1)
    np.testing.assert_allclose(att.output[:, 0], deep.predict(X.iloc[:10]), rtol=1e-6)
    np.testing.assert_allclose(
        att.baseline + att.values.sum(axis=1) + att.gap, att.output, atol=1e-9
    )


def test_column_map_sums_features_back_to_columns(regression):
    model, X, _ = regression
    pipeline = dict(model.members_)["xgb"]
    shares = column_map(pipeline[:-1], COLUMNS, len(pipeline[0].get_feature_names_out()))
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    assert column_map(None, ["a", "b"], 3) is None


def test_bad_input_errors(regression):
    model, X, y = regression
    with pytest.raises(ValueError, match="missing"):
        model.explain(X.drop(columns=["mid"]))
    with pytest.raises(NotFittedError):
        BlendRegressor([("ridge", Ridge())]).explain(X)
    stacked = BlendRegressor([("r1", Ridge()), ("r2", Ridge(alpha=5))], cv=3, method="stacking")
    stacked.fit(X[["signal", "mid"]], y)
    with pytest.raises(ValueError, match="weighted blend"):
        stacked.explain(X)
    with pytest.raises(ValueError, match="weighted blend"):
        stacked.explain_members(X)


def test_explanations_survive_save_and_load(regression, tmp_path):
    model, X, _ = regression
    path = tmp_path / "model.blend"
    blend.save(model, path)
    X.iloc[:30].to_pickle(tmp_path / "rows.pkl")
    script = textwrap.dedent(
        f"""
        import numpy as np, pandas as pd, blend
        model = blend.load({str(path)!r})
        rows = pd.read_pickle({str(tmp_path / "rows.pkl")!r})
        np.save({str(tmp_path / "out.npy")!r}, model.explain(rows).to_numpy(dtype=float))
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=300)
    fresh = np.load(tmp_path / "out.npy")
    np.testing.assert_array_equal(fresh, model.explain(X.iloc[:30]).to_numpy(dtype=float))


def test_report_has_importance_waterfall_and_offline_html(regression, tmp_path):
    from blend.report import write_report

    model, X, _ = regression
    written = write_report(model, tmp_path, X=X.iloc[:100])
    for kind in ("importance", "waterfall", "contributions", "html"):
        assert written[kind].is_file()
    page = written["html"].read_text()
    assert page.count("data:image/png;base64,") >= 4
    assert "http" not in page and "<table" in page
    for title in ("Leaderboard", "Weights", "Importance", "One prediction explained"):
        assert f"<h2>{title}</h2>" in page
    assert len(pd.read_csv(written["contributions"])) == 100


def test_cli_explain_writes_contributions(regression, tmp_path):
    from blend.cli import main

    model, X, _ = regression
    blend.save(model, tmp_path / "model.blend")
    X.iloc[:25].to_csv(tmp_path / "rows.csv", index=False)
    out = tmp_path / "contributions.csv"
    code = main(["explain", str(tmp_path / "model.blend"), str(tmp_path / "rows.csv"),
                 "-o", str(out), "-q"])  # fmt: skip
    assert code == 0
    written = pd.read_csv(out)
    assert list(written.columns) == ["baseline", *COLUMNS, "gap", "prediction"]
    np.testing.assert_allclose(written["prediction"], model.predict(X.iloc[:25]), rtol=1e-9)
    missing = tmp_path / "missing.csv"
    X.iloc[:5].drop(columns=["mid"]).to_csv(missing, index=False)
    assert main(["explain", str(tmp_path / "model.blend"), str(missing), "-o", str(out)]) == 2


# ------------------------------------------------------------- exact TreeSHAP by leaf tables


def _xgb_data(n: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)).astype(np.float32)
    X[rng.random((n, 6)) < 0.1] = np.nan  # missing values take the default branch
    y = X[:, 0] * np.nan_to_num(X[:, 1]) + np.sin(np.nan_to_num(X[:, 2])) + rng.normal(size=n)
    return X, np.nan_to_num(y)


@pytest.mark.parametrize("depth", [1, 4, 7])
def test_leaf_tables_match_xgboost_treeshap(depth):
    import xgboost

    from blend.ensemble.tree_shap import tree_tables

    X, y = _xgb_data()
    model = XGBRegressor(n_estimators=30, max_depth=depth, n_jobs=1, random_state=0).fit(X, y)
    booster = model.get_booster()
    tables = tree_tables(booster, (0, 0), X.shape[1])
    assert tables is not None and tree_tables(booster, (0, 0), X.shape[1]) is tables  # cached
    ours = tables.contributions(X)
    theirs = booster.predict(xgboost.DMatrix(X), pred_contribs=True)
    np.testing.assert_allclose(ours, theirs[:, :-1], rtol=0, atol=2e-6)
    margin = booster.predict(xgboost.DMatrix(X), output_margin=True)
    np.testing.assert_allclose(ours.sum(axis=1) + theirs[:, -1], margin, rtol=0, atol=2e-5)


def test_leaf_tables_read_sparse_rows_and_iteration_range_as_xgboost():
    import scipy.sparse as sp
    import xgboost

    from blend.ensemble.tree_shap import tree_tables

    X, y = _xgb_data(seed=1)
    X = np.where(np.isnan(X) | (np.abs(X) < 0.3), 0.0, X)
    Xs = sp.csr_matrix(X)  # absent entries are missing to XGBoost
    model = XGBClassifier(n_estimators=25, max_depth=3, n_jobs=1, random_state=0)
    model.fit(Xs, y > 0)
    booster = model.get_booster()
    tables = tree_tables(booster, (0, 10), X.shape[1])
    theirs = booster.predict(xgboost.DMatrix(Xs), pred_contribs=True, iteration_range=(0, 10))
    np.testing.assert_allclose(tables.contributions(Xs), theirs[:, :-1], rtol=0, atol=2e-6)


def test_leaf_tables_step_aside_for_multiclass_and_categorical():
    from blend.ensemble.tree_shap import tree_tables

    X, y = _xgb_data(200)
    multi = XGBClassifier(n_estimators=3, max_depth=2, n_jobs=1).fit(X, np.digitize(y, [-1, 1]))
    assert tree_tables(multi.get_booster(), (0, 0), X.shape[1]) is None
    frame = pd.DataFrame({"a": X[:, 0], "c": pd.Categorical(np.where(y > 0, "u", "v"))})
    cat = XGBRegressor(n_estimators=3, max_depth=2, enable_categorical=True, tree_method="hist")
    cat.fit(frame, y)
    assert tree_tables(cat.get_booster(), (0, 0), 2) is None


def test_leaf_tables_division_agrees_with_the_direct_products():
    from blend.ensemble.tree_shap import _leaf_tables_direct, _shapley_weights, leaf_tables

    rng = np.random.default_rng(0)
    for d in (1, 3, 6):
        z, value = rng.uniform(0.01, 1.0, (40, d)), rng.normal(size=40)
        bits = ((np.arange(2**d)[:, None] >> np.arange(d)) & 1).astype(bool)
        direct = _leaf_tables_direct(z, value, bits, _shapley_weights(d))
        np.testing.assert_allclose(leaf_tables(z, value), direct, rtol=0, atol=1e-12)
