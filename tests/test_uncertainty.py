"""Prediction intervals, calibrated probabilities and prediction sets (issue 24, part 1)."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.naive_bayes import GaussianNB
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

import blend
from blend import BlendClassifier, BlendRegressor
from blend.ensemble import uncertainty as unc


def _hetero(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.uniform(-2, 2, size=(n, 3)), columns=["a", "b", "c"])
    y = X.a + np.sin(X.b) + rng.normal(size=n) * (0.2 + X.a.abs())
    return X, y.to_numpy()


def _reg_members():
    return [("ridge", Ridge()), ("tree", DecisionTreeRegressor(max_depth=4, random_state=0))]


@pytest.fixture(scope="module")
def reg_fit():
    X, y = _hetero(900)
    model = BlendRegressor(_reg_members(), method="mean", cv=4, random_state=0)
    return model.fit(X.iloc[:600], y[:600]), X.iloc[600:], y[600:]


@pytest.fixture(scope="module")
def clf_fit():
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(900, 4)), columns=list("abcd"))
    logit = 2 * X.a - X.b + rng.normal(size=900)
    y = np.where(logit > 1, "hi", np.where(logit < -1, "lo", "mid"))
    members = [
        ("lr", LogisticRegression()),
        ("tree", DecisionTreeClassifier(max_depth=6, random_state=0)),
    ]
    model = BlendClassifier(members, method="nnls", cv=4, random_state=0)
    return model.fit(X.iloc[:600], y[:600]), X.iloc[600:], y[600:]


# ---------------------------------------------------------------------------- pure functions


def test_conformal_quantile_is_the_finite_sample_order_statistic():
    scores = np.arange(1.0, 101.0)  # n = 100: ceil(101 * 0.9) = 91st smallest
    assert unc.conformal_quantile(scores, 0.9) == 91.0
    assert unc.conformal_quantile(np.arange(1.0, 20.0), 0.9) == 18.0  # ceil(20 * 0.9) = 18
    with pytest.warns(UserWarning, match="too few"):
        assert math.isinf(unc.conformal_quantile(np.arange(5.0), 0.9))
    two = unc.conformal_quantile(np.column_stack([scores, 2 * scores]), 0.5)
    np.testing.assert_array_equal(two, [51.0, 102.0])


@pytest.mark.parametrize("bad", [0, 1, 1.5, -0.1, "0.9", None, True])
def test_coverage_outside_open_unit_interval_is_refused(bad):
    with pytest.raises(ValueError, match="coverage must be"):
        unc.check_coverage(bad)


def test_temperature_one_is_identity_and_fit_softens_overconfidence():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    assert unc.temperature_scale(p, 1.0) is p
    np.testing.assert_allclose(unc.temperature_scale(p, 1.0 + 1e-12), p, atol=1e-9)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    sharp = np.where(rng.random(400) < 0.7, y, 1 - y)  # 70% right, claimed 99%
    proba = np.column_stack([np.where(sharp == 0, 0.99, 0.01), np.where(sharp == 1, 0.99, 0.01)])
    t, info = unc.choose_temperature(proba, y, "auto")
    assert t > 1 and info["cv_log_loss_calibrated"] < info["cv_log_loss_uncalibrated"]
    assert unc.log_loss(proba, y, t) < unc.log_loss(proba, y)
    assert unc.choose_temperature(proba, y, False)[0] == 1.0


def test_auto_temperature_stays_one_when_already_calibrated():
    rng = np.random.default_rng(0)
    p1 = rng.uniform(0.05, 0.95, 2000)
    y = (rng.random(2000) < p1).astype(int)
    t, _ = unc.choose_temperature(np.column_stack([1 - p1, p1]), y, "auto")
    assert t == 1.0 or abs(t - 1) < 0.1


def test_prediction_sets_lac_and_aps():
    proba = np.array([[0.6, 0.3, 0.1], [0.34, 0.33, 0.33]])
    np.testing.assert_array_equal(
        unc.prediction_sets(proba, 0.75, "lac"), [[True, True, False], [True, True, True]]
    )
    np.testing.assert_array_equal(
        unc.prediction_sets(proba, 0.9, "aps"), [[True, True, False], [True, False, False]]
    )
    y = np.array([1, 2])
    np.testing.assert_allclose(unc.set_scores(proba, y, "lac"), [0.7, 0.67])
    np.testing.assert_allclose(unc.set_scores(proba, y, "aps"), [0.9, 1.0])


def test_disagreement_is_the_weighted_spread():
    P = np.array([[[1.0], [3.0]], [[2.0], [2.0]]])
    np.testing.assert_allclose(unc.disagreement(P, np.array([1.0, 1.0])), [[1.0], [0.0]])


# ------------------------------------------------------------------------------- regression


def test_intervals_cover_held_out_rows(reg_fit):
    model, X_te, y_te = reg_fit
    assert set(model.calibration_scores_) == {"adaptive", "absolute", "normalized"}
    assert model.calibration_scores_["absolute"].shape == (len(model.oof_rows_), 1)
    pred = model.predict(X_te)
    for method in ("adaptive", "absolute", "normalized"):
        lower, upper = model.predict_interval(X_te, coverage=0.9, method=method)
        assert lower.shape == upper.shape == (len(X_te),)
        assert np.all(lower <= pred + 1e-9) and np.all(pred <= upper + 1e-9)
        assert 0.8 <= np.mean((y_te >= lower) & (y_te <= upper)) <= 0.97
        lo50, hi50 = model.predict_interval(X_te, coverage=0.5, method=method)
        assert np.all(hi50 - lo50 <= upper - lower + 1e-12)
    lo, hi = model.predict_interval(X_te, 0.9, method="absolute")
    np.testing.assert_allclose((lo + hi) / 2, pred)
    assert np.ptp(hi - lo) < 1e-9  # the same width everywhere


def test_normalized_interval_grows_with_disagreement(reg_fit):
    model, X_te, _ = reg_fit
    lower, upper = model.predict_interval(X_te, method="normalized")
    outs = np.stack(model._member_outputs(X_te, model.members_), axis=1)
    sigma = unc.disagreement(outs, model._member_weights)[:, 0]
    assert np.all(model.disagreement_floor_ > 0)
    assert np.all(upper - lower > 0)
    assert np.corrcoef(sigma, upper - lower)[0, 1] > 0.99


def test_adaptive_interval_follows_the_noise_and_is_narrower(reg_fit):
    model, X_te, y_te = reg_fit  # noise scale 0.2 + |a|
    lower, upper = model.predict_interval(X_te)  # the default method
    width = upper - lower
    lo_abs, hi_abs = model.predict_interval(X_te, method="absolute")
    assert model.residual_scale_.mix_[0] > 0
    assert pd.Series(width).corr(X_te.a.abs().reset_index(drop=True), "spearman") > 0.6
    assert np.mean(width) < 0.95 * np.mean(hi_abs - lo_abs)
    assert 0.8 <= np.mean((y_te >= lower) & (y_te <= upper)) <= 0.97


def test_adaptive_scale_is_cross_fitted_on_the_calibration_rows(reg_fit):
    from sklearn.model_selection import KFold

    model = reg_fit[0]
    X, y = _hetero(900)  # the fixture's data: fit on the first 600 rows
    X_cal, y_cal = X.iloc[:600].iloc[model.oof_rows_], y[:600][model.oof_rows_]
    scale = model.residual_scale_
    residual = model.calibration_residuals_
    sigma, center = model.calibration_disagreement_, y_cal[:, None] - residual
    Z = scale._inputs(X_cal, sigma, center)
    folds = KFold(scale.n_splits, shuffle=True, random_state=0).split(Z)
    for model_k, (_, test) in zip(scale.models_[0], folds):
        own = np.maximum(np.exp(model_k.predict(Z[test])), scale.floor_[0])
        np.testing.assert_allclose(scale.calibration_scale_[test, 0], scale._shrink(own, 0))
    scores = np.abs(residual[:, 0]) / scale.calibration_scale_[:, 0]
    np.testing.assert_allclose(model.calibration_scores_["adaptive"][:, 0], np.sort(scores))


def test_adaptive_is_absolute_with_few_calibration_rows():
    X, y = _hetero(40)
    model = BlendRegressor(_reg_members(), method="mean", cv=4, random_state=0).fit(X, y)
    assert model.residual_scale_.models_ == [[]]
    a = model.predict_interval(X.iloc[:5], method="adaptive")
    b = model.predict_interval(X.iloc[:5], method="absolute")
    np.testing.assert_allclose(a, b)


def test_choose_mix_keeps_an_informative_scale_only():
    rng = np.random.default_rng(0)
    scale = rng.uniform(0.1, 2.0, 3000)
    assert unc.choose_mix(rng.normal(size=3000) * scale, scale) >= 0.75
    assert unc.choose_mix(rng.normal(size=3000), scale) == 0.0
    assert unc.choose_mix(np.ones(3), np.ones(3)) == 0.0


def test_interval_errors(reg_fit):
    model, X_te, _ = reg_fit
    with pytest.raises(NotFittedError):
        BlendRegressor(_reg_members()).predict_interval(X_te)
    for bad in (0.0, 1.0, 95):
        with pytest.raises(ValueError, match="coverage must be"):
            model.predict_interval(X_te, coverage=bad)
    with pytest.raises(ValueError, match="method must be one of"):
        model.predict_interval(X_te, method="cqr")
    with pytest.raises(ValueError, match="missing"):
        model.predict_interval(X_te.drop(columns=["b"]))
    old = BlendRegressor(_reg_members(), method="mean", cv=3, random_state=0)
    old.fit(X_te, np.arange(len(X_te), dtype=float))
    del old.calibration_scores_["adaptive"]  # as a model saved before the adaptive method
    with pytest.raises(ValueError, match="earlier version of blend"):
        old.predict_interval(X_te)
    assert old.predict_interval(X_te, method="absolute")[0].shape == (len(X_te),)


def test_stacking_has_no_intervals_and_says_why():
    X, y = _hetero(200)
    model = BlendRegressor(_reg_members(), method="stacking", cv=3, random_state=0).fit(X, y)
    assert model.calibration_scores_ is None
    with pytest.raises(ValueError, match="method='caruana', 'nnls' or 'mean'"):
        model.predict_interval(X)


def test_multi_output_intervals_per_output():
    X, y = _hetero(300)
    Y = np.column_stack([y, -3 * y])
    model = BlendRegressor(_reg_members(), method="mean", cv=3, random_state=0).fit(X, Y)
    for method in ("normalized", "adaptive"):
        lower, upper = model.predict_interval(X.iloc[:7], method=method)
        assert lower.shape == (7, 2)
        widths = (upper - lower).mean(axis=0)
        assert widths[1] > 2 * widths[0]


# ---------------------------------------------------------------------------- classification


def test_prediction_sets_cover_and_follow_classes(clf_fit):
    model, X_te, y_te = clf_fit
    assert model.temperature_ > 0
    sets = model.predict_set(X_te, coverage=0.9)
    assert sets.shape == (len(X_te), 3) and sets.dtype == bool
    idx = np.searchsorted(model.classes_, y_te)
    assert 0.8 <= sets[np.arange(len(idx)), idx].mean() <= 0.99
    aps = model.predict_set(X_te, coverage=0.9, method="aps")
    assert aps[np.arange(len(idx)), idx].mean() >= 0.8
    small = model.predict_set(X_te, coverage=0.5)
    assert np.all(small <= sets)
    with pytest.raises(ValueError, match="coverage must be"):
        model.predict_set(X_te, coverage=1.0)
    with pytest.raises(ValueError, match="method must be one of"):
        model.predict_set(X_te, method="raps")


def test_calibrate_false_leaves_probabilities_unchanged(clf_fit):
    model, X_te, _ = clf_fit
    raw = BlendClassifier(model.members, method="nnls", cv=4, random_state=0, calibrate=False)
    raw.fit(*_clf_train(model))
    assert raw.temperature_ == 1.0
    uncal = raw.predict_proba(X_te)
    np.testing.assert_array_equal(uncal, raw._blend_outputs(X_te))
    proba = model.predict_proba(X_te)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(proba.argmax(axis=1), uncal.argmax(axis=1))
    if model.temperature_ == 1.0:
        np.testing.assert_array_equal(proba, uncal)


def _clf_train(model):
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(900, 4)), columns=list("abcd"))
    logit = 2 * X.a - X.b + rng.normal(size=900)
    y = np.where(logit > 1, "hi", np.where(logit < -1, "lo", "mid"))
    return X.iloc[:600], y[:600]


def test_overconfident_members_get_a_temperature_above_one():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(500, 3)), columns=list("abc"))
    y = (X.a + 1.5 * rng.normal(size=500) > 0).astype(int)
    members = [("tree", DecisionTreeClassifier(random_state=0)), ("nb", GaussianNB())]
    model = BlendClassifier(members, method="mean", cv=4, random_state=0).fit(X, y)
    assert model.temperature_ > 1
    u = model.uncertainty_
    assert u["cv_log_loss_calibrated"] < u["cv_log_loss_uncalibrated"]


def test_bad_calibrate_value_is_refused():
    X, y = _hetero(60)
    with pytest.raises(ValueError, match="calibrate"):
        BlendClassifier([("lr", LogisticRegression())], calibrate="yes").fit(X, y > 0)


# ----------------------------------------------------------------------------- persistence


def test_intervals_and_sets_survive_save_load_in_a_fresh_process(reg_fit, clf_fit, tmp_path):
    reg, X_reg, _ = reg_fit
    clf, X_clf, _ = clf_fit
    blend.save(reg, tmp_path / "reg.blend")
    blend.save(clf, tmp_path / "clf.blend")
    X_reg.to_csv(tmp_path / "xr.csv", index=False)
    X_clf.to_csv(tmp_path / "xc.csv", index=False)
    lo, hi = reg.predict_interval(X_reg, 0.8, method="normalized")
    lo_a, hi_a = reg.predict_interval(X_reg, 0.8)
    np.save(tmp_path / "expected_reg.npy", np.column_stack([lo, hi, lo_a, hi_a]))
    np.save(tmp_path / "expected_set.npy", clf.predict_set(X_clf, 0.9))
    np.save(tmp_path / "expected_proba.npy", clf.predict_proba(X_clf))
    script = textwrap.dedent(
        f"""
        import numpy as np, pandas as pd, blend
        d = {str(tmp_path)!r}
        reg = blend.load(d + "/reg.blend"); clf = blend.load(d + "/clf.blend")
        Xr = pd.read_csv(d + "/xr.csv")
        lo, hi = reg.predict_interval(Xr, 0.8, method="normalized")
        lo_a, hi_a = reg.predict_interval(Xr, 0.8)
        Xc = pd.read_csv(d + "/xc.csv")
        got = np.column_stack([lo, hi, lo_a, hi_a])
        np.testing.assert_array_equal(got, np.load(d + "/expected_reg.npy"))
        np.testing.assert_array_equal(clf.predict_set(Xc, 0.9), np.load(d + "/expected_set.npy"))
        np.testing.assert_array_equal(clf.predict_proba(Xc), np.load(d + "/expected_proba.npy"))
        assert clf.temperature_ == {clf.temperature_!r}
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")


# --------------------------------------------------------------------------- report and CLI


def test_report_writes_the_interval_width_plot(reg_fit, tmp_path):
    from blend.report import write_report

    model, _, _ = reg_fit
    written = write_report(model, tmp_path)
    assert written["interval_width"].name == "interval_width.png"
    assert written["interval_width"].stat().st_size > 1000


def test_cli_predict_interval_and_set(reg_fit, clf_fit, tmp_path):
    from blend.cli import main

    reg, X_reg, _ = reg_fit
    clf, X_clf, _ = clf_fit
    blend.save(reg, tmp_path / "reg.blend")
    blend.save(clf, tmp_path / "clf.blend")
    X_reg.to_csv(tmp_path / "xr.csv", index=False)
    X_clf.to_csv(tmp_path / "xc.csv", index=False)
    out = tmp_path / "p.csv"
    assert main(["predict", str(tmp_path / "reg.blend"), str(tmp_path / "xr.csv"),
                 "-o", str(out), "--interval", "0.9", "-q"]) == 0  # fmt: skip
    frame = pd.read_csv(out)
    lower, upper = reg.predict_interval(X_reg, 0.9)
    np.testing.assert_allclose(frame["lower"], lower)
    np.testing.assert_allclose(frame["upper"], upper)
    assert main(["predict", str(tmp_path / "clf.blend"), str(tmp_path / "xc.csv"),
                 "-o", str(out), "--set", "0.9", "-q"]) == 0  # fmt: skip
    sets = clf.predict_set(X_clf, 0.9)
    expected = ["|".join(str(c) for c, k in zip(clf.classes_, row) if k) for row in sets]
    assert pd.read_csv(out, keep_default_na=False)["set"].tolist() == expected
    bad = ["predict", str(tmp_path / "reg.blend"), str(tmp_path / "xr.csv"), "-o", str(out)]
    assert main([*bad, "--interval", "90"]) == 2
    assert main([*bad, "--set", "0.9"]) == 2


@pytest.mark.parametrize("n", [300, 2100])  # exact boosting below 2,000 rows, histogram above
def test_residual_scale_round_trips_through_save_and_load(n, tmp_path):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=list("abc"))
    residual = rng.normal(size=(n, 1)) * (0.1 + np.abs(X[["a"]].to_numpy()))
    zero = np.zeros((n, 1))
    scale = unc.ResidualScale().fit(X, residual, zero, zero)
    assert len(scale.models_[0]) == 5
    blend.save(scale, tmp_path / "scale.blend")
    loaded = blend.load(tmp_path / "scale.blend")
    np.testing.assert_array_equal(loaded.predict(X, zero, zero), scale.predict(X, zero, zero))
