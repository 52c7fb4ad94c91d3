"""BlendRegressor / BlendClassifier: folds, weights, pruning, faults, caching, conventions."""

import os
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin, clone
from sklearn.compose import make_column_transformer
from sklearn.datasets import make_classification, make_friedman1
from sklearn.ensemble import (
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, GroupKFold, TimeSeriesSplit
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from blend import BlendClassifier, BlendRegressor
from blend.ensemble import diversity as D
from blend.ensemble.blender import FoldAverage, is_expensive


@pytest.fixture(scope="module")
def friedman():
    X, y = make_friedman1(300, noise=1.0, random_state=0)
    return X, y


def _members(seed=0):
    return [
        ("ridge", Ridge()),
        ("knn", KNeighborsRegressor(10)),
        ("forest", RandomForestRegressor(30, random_state=seed)),
    ]


# ------------------------------------------------------------------------ test doubles


class Counting(RegressorMixin, BaseEstimator):
    """Ridge-like regressor that counts its fits (in-process, so use n_jobs=1)."""

    fits: dict = {}  # noqa: RUF012 - a deliberate class-level counter

    def __init__(self, tag="a", alpha=1.0):
        self.tag = tag
        self.alpha = alpha

    def fit(self, X, y):
        Counting.fits[self.tag] = Counting.fits.get(self.tag, 0) + 1
        self.model_ = Ridge(alpha=self.alpha).fit(X, y)
        return self

    def predict(self, X):
        return self.model_.predict(X)


class Broken(RegressorMixin, BaseEstimator):
    def fit(self, X, y):
        raise RuntimeError("this member always breaks")


class NaNPredictor(RegressorMixin, BaseEstimator):
    def fit(self, X, y):
        self.n_ = len(X)
        return self

    def predict(self, X):
        out = np.zeros(len(X))
        out[::3] = np.nan
        return out


class Expensive(Counting):
    """Stands in for a deep member."""

    _blend_expensive = True


class DiesInWorker(RegressorMixin, BaseEstimator):
    def fit(self, X, y):
        os._exit(1)  # a worker process dying mid-fit


# ------------------------------------------------------------------------ weights & reports


def test_regression_fit_weights_leaderboard_and_decomposition(friedman):
    X, y = friedman
    blend = BlendRegressor(_members(), random_state=0).fit(X, y)
    w = np.array(list(blend.weights_.values()))
    assert np.all(w >= 0) and w.sum() == pytest.approx(1.0)
    board = blend.leaderboard_
    assert list(board.columns) == [
        "member",
        "oof_rmse",
        "weight",
        "fit_seconds",
        "predict_seconds",
        "n_fits",
        "cached_fits",
        "expensive",
        "status",
        "why",
    ]
    assert set(board["status"]) <= {"kept"}
    # the blend's OOF loss is no worse than the best member's, and the reported decomposition
    # is the Krogh-Vedelsby identity on the weighting rows
    assert np.sqrt(blend.ensemble_oof_loss_) <= board["oof_rmse"].min() + 1e-12
    amb = blend.diversity_["ambiguity"]
    assert amb["ensemble_error"] == pytest.approx(blend.ensemble_oof_loss_)
    assert amb["ensemble_error"] == pytest.approx(amb["member_error"] - amb["ambiguity"])
    P = blend.oof_predictions_[blend.oof_rows_][:, :, 0]
    d = D.ambiguity_decomposition(P, y[blend.oof_rows_], _w(blend))
    np.testing.assert_allclose(d.ensemble_error, d.member_error - d.ambiguity, atol=1e-10)
    assert blend.predict(X[:5]).shape == (5,)
    assert isinstance(blend.diversity_["error_correlation"], pd.DataFrame)
    log = blend.task_log_
    assert len(log[log["stage"] == "out-of-fold"]) == 3 * 5
    assert (log["fit_cpu_seconds"] >= 0).all() and not log["cached"].any()


def _w(blend):
    return np.array([blend.weights_[n] for n in blend.member_names_])


@pytest.mark.parametrize("method", ["caruana", "nnls", "mean", "stacking"])
def test_every_method_predicts_finite_and_beats_worst_member(friedman, method):
    X, y = friedman
    X_train, y_train, X_test, y_test = X[:240], y[:240], X[240:], y[240:]
    blend = BlendRegressor(_members(), method=method, random_state=0).fit(X_train, y_train)
    rmse = np.sqrt(np.mean((blend.predict(X_test) - y_test) ** 2))
    worst = max(
        np.sqrt(np.mean((clone(e).fit(X_train, y_train).predict(X_test) - y_test) ** 2))
        for _, e in _members()
    )
    assert np.isfinite(rmse) and rmse < worst


def test_refit_false_uses_fold_average(friedman):
    X, y = friedman
    blend = BlendRegressor(_members(), method="mean", refit=False, cv=3, random_state=0).fit(X, y)
    est = dict(blend.members_)["ridge"]
    assert isinstance(est, FoldAverage) and len(est.estimators) == 3
    assert blend.leaderboard_.set_index("member").loc["ridge", "n_fits"] == 3


def test_zero_weight_members_are_not_refit_or_kept(friedman):
    X, y = friedman
    members = [("good", LinearRegression()), ("awful", DecisionTreeRegressor(max_depth=1))]
    Counting.fits.clear()
    blend = BlendRegressor(members, random_state=0, n_jobs=1).fit(X, y)
    if blend.weights_["awful"] == 0:
        assert [n for n, _ in blend.members_] == ["good"]
        assert blend.leaderboard_.set_index("member").loc["awful", "n_fits"] == 5


def test_parallel_fits_start_the_refits_with_the_folds(friedman):
    """n_jobs > 1: refits run in the out-of-fold stage; the final models are the same."""
    X, y = friedman
    members = [("good", LinearRegression()), ("awful", DecisionTreeRegressor(max_depth=1)),
               ("ridge", Ridge(alpha=1.0))]  # fmt: skip
    serial = BlendRegressor(members, random_state=0, n_jobs=1).fit(X, y)
    parallel = BlendRegressor(members, random_state=0, n_jobs=2).fit(X, y)
    assert parallel.weights_ == serial.weights_
    np.testing.assert_allclose(parallel.predict(X[:20]), serial.predict(X[:20]), rtol=1e-12)
    log = parallel.task_log_
    refits = log[log["stage"] == "refit"]
    assert len(refits) == 3 and len(log[log["stage"] == "out-of-fold"]) == 3 * 5
    board = parallel.leaderboard_.set_index("member")
    assert (board["n_fits"] == 6).all()  # every member refit, weighted or not
    kept = {name for name, _ in parallel.members_}
    assert kept == {name for name, w in parallel.weights_.items() if w > 0}
    lazy = serial.leaderboard_.set_index("member")
    for name, weight in serial.weights_.items():
        assert lazy.loc[name, "n_fits"] == (6 if weight > 0 else 5)


# ------------------------------------------------------------------------ pruning


def test_prune_identical_member(friedman):
    X, y = friedman
    members = [*_members(), ("forest_again", RandomForestRegressor(30, random_state=0))]
    blend = BlendRegressor(members, prune=True, random_state=0).fit(X, y)
    board = blend.leaderboard_.set_index("member")
    assert sorted(board.index[board["status"] == "pruned"]) in (["forest"], ["forest_again"])
    assert "correlate" in board.loc[board["status"] == "pruned", "why"].iloc[0]
    assert blend.weights_[board.index[board["status"] == "pruned"][0]] == 0.0


def test_prune_same_model_other_seed():
    X, y = make_friedman1(400, noise=1.0, random_state=0)
    members = [
        ("ridge", Ridge()),
        ("rf0", RandomForestRegressor(30, random_state=0)),
        ("rf1", RandomForestRegressor(30, random_state=1)),
    ]
    blend = BlendRegressor(members, prune=True, random_state=0).fit(X, y)
    status = blend.leaderboard_.set_index("member")["status"]
    assert (status[["rf0", "rf1"]] == "pruned").sum() == 1
    assert status["ridge"] == "kept"
    without = BlendRegressor(members, prune=False, random_state=0).fit(X, y)
    assert set(without.leaderboard_["status"]) == {"kept"}


# ------------------------------------------------------------------------ faults


def test_failing_member_is_dropped_and_reported(friedman):
    X, y = friedman
    members = [*_members(), ("broken", Broken())]
    with pytest.warns(UserWarning, match="broken"):
        blend = BlendRegressor(members, random_state=0).fit(X, y)
    row = blend.leaderboard_.set_index("member").loc["broken"]
    assert row["status"] == "failed" and "always breaks" in row["why"]
    assert "broken" not in dict(blend.members_)
    assert np.isfinite(blend.predict(X)).all()
    with pytest.raises(RuntimeError, match="always breaks"):
        BlendRegressor(members, on_error="raise").fit(X, y)


def test_nan_predicting_member_is_dropped(friedman):
    X, y = friedman
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        blend = BlendRegressor(
            [("ridge", Ridge()), ("nan", NaNPredictor())], on_error="ignore"
        ).fit(X, y)
    row = blend.leaderboard_.set_index("member").loc["nan"]
    assert row["status"] == "failed" and "NaN" in row["why"]
    with pytest.raises(ValueError, match="NaN"):
        BlendRegressor([("ridge", Ridge()), ("nan", NaNPredictor())], on_error="raise").fit(X, y)


def test_no_members_left_is_a_clear_error(friedman):
    X, y = friedman
    with pytest.raises(ValueError, match=r"Every member failed.*always breaks"):
        BlendRegressor([("a", Broken()), ("b", NaNPredictor())], on_error="ignore").fit(X, y)


def test_bad_members_argument_is_explained(friedman):
    X, y = friedman
    with pytest.raises(ValueError, match="unique"):
        BlendRegressor([("a", Ridge()), ("a", Ridge())]).fit(X, y)
    with pytest.raises(TypeError, match=r"\(name, estimator\)"):
        BlendRegressor([Ridge()]).fit(X, y)
    with pytest.raises(ValueError, match="method"):
        BlendRegressor([("a", Ridge())], method="vote").fit(X, y)
    with pytest.raises(ValueError, match="NaN"):
        BlendRegressor([("a", Ridge())]).fit(X, np.where(y > 20, np.nan, y))


@pytest.mark.slow
def test_dead_worker_is_reported_and_fit_goes_on(friedman):
    X, y = friedman
    members = [("ridge", Ridge()), ("dies", DiesInWorker())]
    with pytest.warns(UserWarning, match="dies"):
        blend = BlendRegressor(members, cv=2, n_jobs=2).fit(X, y)
    row = blend.leaderboard_.set_index("member").loc["dies"]
    assert row["status"] == "failed" and "worker died" in row["why"]
    assert blend.weights_["ridge"] == 1.0


# ------------------------------------------------------------------------ splitters


def test_time_series_split_learns_on_rows_with_oof(friedman):
    X, y = friedman
    blend = BlendRegressor(_members(), cv=TimeSeriesSplit(4), random_state=0).fit(X, y)
    first_test = TimeSeriesSplit(4).split(X)
    first_train = next(first_test)[0]
    assert len(blend.oof_rows_) == len(y) - len(first_train)
    assert blend.oof_rows_.min() == len(first_train)
    assert np.isnan(blend.oof_predictions_[: len(first_train)]).all()
    assert np.isfinite(blend.predict(X)).all()


def test_group_kfold_keeps_groups_apart(friedman):
    X, y = friedman
    groups = np.arange(len(y)) // 10
    blend = BlendRegressor(_members(), cv=GroupKFold(3)).fit(X, y, groups=groups)
    for train, test in blend.splits_:
        assert not set(groups[train]) & set(groups[test])
    assert len(blend.oof_rows_) == len(y)


def test_expensive_members_fit_once_and_share_weighting_rows(friedman):
    X, y = friedman
    Counting.fits.clear()
    assert is_expensive(Expensive()) and not is_expensive(Ridge())
    members = [("cheap", Counting(tag="cheap")), ("deep", Expensive(tag="deep"))]
    blend = BlendRegressor(members, method="mean", cv=4, n_jobs=1).fit(X, y)
    assert Counting.fits == {"cheap": 4 + 1, "deep": 1}
    # weights learned on the holdout fold only: the rows every member predicted out of fold
    assert np.array_equal(np.sort(blend.oof_rows_), np.sort(blend.splits_[-1][1]))
    board = blend.leaderboard_.set_index("member")
    assert bool(board.loc["deep", "expensive"]) and board.loc["deep", "n_fits"] == 1
    # the expensive member's fold is queued first (longest task first), not behind the rest
    assert blend.task_log_.iloc[0]["member"] == "deep"
    Counting.fits.clear()
    BlendRegressor(members, method="mean", cv=4, expensive_folds=2, n_jobs=1).fit(X, y)
    assert Counting.fits == {"cheap": 5, "deep": 2}


class NumericCounting(Counting):
    """Counting that reads only the numeric columns of a DataFrame (text is left aside)."""

    def fit(self, X, y):
        return super().fit(X.select_dtypes("number"), y)

    def predict(self, X):
        return super().predict(X.select_dtypes("number"))


class NumericExpensive(NumericCounting):
    _blend_expensive = True


def _text_table(n):
    rng = np.random.default_rng(0)
    words = np.array(["red", "soft", "cotton", "small", "vintage", "worn", "new", "blue"])
    X = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "desc": [" ".join(rng.choice(words, 5)) for _ in range(n)],
        }
    )
    return X, 2 * X["a"] - X["b"] + rng.normal(scale=0.5, size=n)


def test_shared_cheap_folds_fit_only_the_holdout_and_the_refit(friedman):
    X, y = friedman
    members = [("cheap", Counting(tag="cheap")), ("deep", Expensive(tag="deep"))]
    Counting.fits.clear()
    blend = BlendRegressor(members, method="mean", cv=4, cheap_folds="shared", n_jobs=1)
    blend.fit(X, y)
    assert Counting.fits == {"cheap": 1 + 1, "deep": 1}
    assert blend.cheap_folds_ == "shared"
    holdout = blend.splits_[-1][1]
    assert np.array_equal(np.sort(blend.oof_rows_), np.sort(holdout))
    # no cheap out-of-fold prediction outside the holdout fold
    assert np.isnan(np.delete(blend.oof_predictions_[:, 0, 0], holdout)).all()
    # refit=False keeps the holdout fold model: one fit
    Counting.fits.clear()
    BlendRegressor(members, method="mean", cv=4, cheap_folds="shared", refit=False, n_jobs=1).fit(
        X, y
    )
    assert Counting.fits == {"cheap": 1, "deep": 1}
    # without an expensive member there is no holdout to share: every fold runs
    Counting.fits.clear()
    blend = BlendRegressor([("cheap", Counting(tag="cheap")), ("ridge", Ridge())], cv=4,
                           cheap_folds="shared", n_jobs=1).fit(X, y)  # fmt: skip
    assert Counting.fits == {"cheap": 4 + 1} and blend.cheap_folds_ == "all"


@pytest.mark.parametrize(("rows", "expected"), [(4000, "shared"), (2000, "all")])
def test_auto_cheap_folds_share_the_holdout_on_text_tables(rows, expected):
    X, y = _text_table(rows)
    members = [("cheap", NumericCounting(tag="cheap")), ("deep", NumericExpensive(tag="deep"))]
    Counting.fits.clear()
    blend = BlendRegressor(members, method="mean", cv=4, n_jobs=1).fit(X, y)
    # 4,000 rows: a 1,000-row holdout to weight on; 2,000 rows: too few, every fold runs
    assert blend.cheap_folds_ == expected
    assert Counting.fits["cheap"] == (2 if expected == "shared" else 5)
    # tabular columns only: the cheap members keep every fold
    Counting.fits.clear()
    blend = BlendRegressor(members, method="mean", cv=4, n_jobs=1).fit(X[["a", "b"]], y)
    assert blend.cheap_folds_ == "all" and Counting.fits["cheap"] == 5


def test_expensive_refit_fits_once_more_on_all_rows(friedman):
    X, y = friedman
    members = [("cheap", Counting(tag="cheap")), ("deep", Expensive(tag="deep", alpha=3.0))]
    Counting.fits.clear()
    blend = BlendRegressor(members, method="mean", cv=4, expensive_refit=True, n_jobs=1)
    blend.fit(X, y)
    assert Counting.fits == {"cheap": 4 + 1, "deep": 1 + 1}
    # the final deep model is the one fit on every row, not the holdout fold's
    final = dict(blend.members_)["deep"]
    np.testing.assert_allclose(final.predict(X), Ridge(alpha=3.0).fit(X, y).predict(X))
    # the weights still come from the holdout predictions
    assert np.array_equal(np.sort(blend.oof_rows_), np.sort(blend.splits_[-1][1]))
    assert blend.leaderboard_.set_index("member").loc["deep", "n_fits"] == 2
    refits = blend.task_log_[blend.task_log_["stage"] == "refit"]
    assert sorted(refits["member"]) == ["cheap", "deep"]


class WarnsLikeLoky(Counting):
    """Emits loky's worker-restart warning (in-process with n_jobs=1, like its manager thread)."""

    def fit(self, X, y):
        warnings.warn(
            "A worker stopped while some jobs were given to the executor. This can be caused "
            "by a too short worker timeout or by a memory leak.",
            UserWarning,
            stacklevel=2,
        )
        return super().fit(X, y)


def test_loky_worker_restart_warning_is_not_shown(friedman):
    X, y = friedman
    members = [("a", WarnsLikeLoky(tag="a")), ("ridge", Ridge())]
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        BlendRegressor(members, cv=3, n_jobs=1).fit(X, y)
        warnings.warn("another warning still shows", UserWarning, stacklevel=1)
    messages = [str(w.message) for w in seen]
    assert not [m for m in messages if m.startswith("A worker stopped")]
    assert "another warning still shows" in messages


def test_bad_cheap_folds_is_explained(friedman):
    X, y = friedman
    with pytest.raises(ValueError, match="cheap_folds"):
        BlendRegressor(_members(), cheap_folds="some").fit(X, y)


@pytest.mark.parametrize("method", ["nnls", "caruana"])
def test_cheap_members_are_weighted_on_every_row_they_predict(friedman, method):
    from blend.ensemble import weights as w

    X, y = friedman
    members = [
        ("ridge", Ridge()),
        ("knn", KNeighborsRegressor(10)),
        ("forest", RandomForestRegressor(30, random_state=0)),
        ("deep", Expensive(tag="deep", alpha=10.0)),
    ]
    blend = BlendRegressor(members, method=method, cv=4, prune=False, n_jobs=1).fit(X, y)
    assert len(blend.oof_rows_) < len(y)  # the deep member predicted one fold only
    cheap = blend.oof_predictions_[:, :3, :]

    def weigh(P, target):
        if method == "nnls":
            return w.nnls_weights(P, target)
        return w.caruana_weights(
            P, target, ensemble_size=blend.ensemble_size, n_init=blend.n_init, random_state=0
        )

    expected = weigh(cheap, y)
    got = np.array([blend.weights_[name] for name in ("ridge", "knn", "forest")])
    assert got.sum() > 0
    # the cheap members' relative weights come from all rows, not the holdout fold alone
    np.testing.assert_allclose(got / got.sum(), expected, atol=1e-9)
    total = sum(blend.weights_.values())
    assert total == pytest.approx(1.0) and min(blend.weights_.values()) >= 0
    # the cheap blend and the expensive member are mixed on the holdout rows
    rows = blend.oof_rows_
    mixed = np.column_stack([cheap[rows, :, 0] @ expected, blend.oof_predictions_[rows, 3, 0]])
    share = weigh(mixed, y[rows])
    assert blend.weights_["deep"] == pytest.approx(share[1], abs=1e-9)


class ExpensiveLogistic(LogisticRegression):
    """Stands in for a deep classifier."""

    _blend_expensive = True


def test_staged_weights_for_classifiers_blend_probabilities():
    from blend.ensemble import weights as w

    X, y = make_classification(400, 8, n_informative=5, n_classes=3, random_state=0)
    members = [
        ("nb", GaussianNB()),
        ("forest", RandomForestClassifier(30, random_state=0)),
        ("deep", ExpensiveLogistic(max_iter=500)),
    ]
    blend = BlendClassifier(members, method="nnls", cv=4, prune=False, n_jobs=1).fit(X, y)
    weights = np.array([blend.weights_[n] for n in ("nb", "forest", "deep")])
    assert np.all(weights >= 0) and weights.sum() == pytest.approx(1.0)
    cheap = blend.oof_predictions_[:, :2, :]
    expected = w.log_loss_weights(cheap, y)  # the cheap pair on all rows
    assert weights[:2].sum() > 0 and weights[2] > 0
    np.testing.assert_allclose(weights[:2] / weights[:2].sum(), expected, atol=1e-6)
    proba = blend.predict_proba(X[:5])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_shared_cheap_folds_for_classifiers_with_string_labels():
    X, y = make_classification(400, 8, n_informative=5, n_classes=3, random_state=0)
    labels = np.array(["budget", "mid", "premium"])[y]
    members = [
        ("nb", GaussianNB()),
        ("forest", RandomForestClassifier(30, random_state=0)),
        ("deep", ExpensiveLogistic(max_iter=500)),
    ]
    blend = BlendClassifier(members, cv=4, cheap_folds="shared", n_jobs=1).fit(X, labels)
    assert blend.cheap_folds_ == "shared"
    holdout = blend.splits_[-1][1]
    assert np.array_equal(np.sort(blend.oof_rows_), np.sort(holdout))
    assert (blend.leaderboard_.set_index("member")["n_fits"] <= 2).all()
    proba = blend.predict_proba(X[:5])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(blend.predict(X)) <= set(labels)
    assert np.mean(blend.predict(X[holdout]) == labels[holdout]) > 0.6


class CountingScaler(TransformerMixin, BaseEstimator):
    """Standardizes and counts its transforms (in-process)."""

    calls: dict = {}  # noqa: RUF012 - a deliberate class-level counter

    def __init__(self, shift=0.0):
        self.shift = shift

    def fit(self, X, y=None):
        self.mean_, self.scale_ = X.mean(axis=0), X.std(axis=0) + 1e-12
        return self

    def transform(self, X):
        CountingScaler.calls[self.shift] = CountingScaler.calls.get(self.shift, 0) + 1
        return (X - self.mean_) / self.scale_ + self.shift


@pytest.mark.parametrize("rows", [1, 300])
def test_members_with_identical_preprocessing_share_one_transform(friedman, rows):
    X, y = friedman
    members = [
        ("ridge", make_pipeline(CountingScaler(), Ridge())),
        ("knn", make_pipeline(CountingScaler(), KNeighborsRegressor(10))),
        ("tree", make_pipeline(CountingScaler(shift=1.0), DecisionTreeRegressor(random_state=0))),
    ]
    blend = BlendRegressor(members, method="mean", cv=3, n_jobs=2).fit(X, y)
    expected = sum(w * est.predict(X[:rows]) for w, (_, est) in
                   zip(blend._member_weights, blend.members_))  # fmt: skip
    CountingScaler.calls.clear()
    got = blend.predict(X[:rows])
    # the two members whose scalers were fit alike transform once; the other on its own
    assert CountingScaler.calls == {0.0: 1, 1.0: 1}
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


# ------------------------------------------------------------------------ tasks


def test_classification_with_string_labels():
    X, y = make_classification(300, 8, n_informative=5, n_classes=3, random_state=0)
    labels = np.array(["cat", "dog", "emu"], dtype=object)[y]
    members = [
        ("lr", LogisticRegression(max_iter=500)),
        ("nb", GaussianNB()),
        ("forest", RandomForestClassifier(30, random_state=0)),
        ("tree", DecisionTreeClassifier(max_depth=3, random_state=0)),
    ]
    clf = BlendClassifier(members, random_state=0).fit(X, labels)
    assert list(clf.classes_) == ["cat", "dog", "emu"]
    proba = clf.predict_proba(X[:20])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(clf.predict(X)) <= {"cat", "dog", "emu"}
    assert clf.score(X, labels) > 0.7
    div = clf.diversity_
    ce = div["cross_entropy"]
    assert ce["ensemble_loss"] == pytest.approx(ce["member_loss"] - ce["diversity"])
    for key in ("q_statistic", "disagreement", "double_fault"):
        assert div[key].shape == (4, 4)
    w = np.array(list(clf.weights_.values()))
    assert np.all(w >= 0) and w.sum() == pytest.approx(1.0)
    stacked = BlendClassifier(members[:2], method="stacking").fit(X, labels)
    np.testing.assert_allclose(stacked.predict_proba(X[:5]).sum(axis=1), 1.0)


def test_classification_nnls_pandas_labels_and_binary():
    X, y = make_classification(200, 5, random_state=1)
    y = pd.Series(np.where(y == 1, "yes", "no"))
    clf = BlendClassifier(
        [("lr", LogisticRegression()), ("nb", GaussianNB())], method="nnls", cv=3
    ).fit(pd.DataFrame(X, columns=list("abcde")), y)
    assert clf.predict(pd.DataFrame(X[:3], columns=list("abcde"))).dtype == object
    with pytest.raises(ValueError, match="single class"):
        BlendClassifier([("lr", LogisticRegression())]).fit(X, np.zeros(len(X)))


def test_multi_output_regression(friedman):
    X, y = friedman
    Y = np.column_stack([y, -2 * y + X[:, 0]])
    members = [("ridge", Ridge()), ("forest", RandomForestRegressor(20, random_state=0))]
    blend = BlendRegressor(members, random_state=0).fit(X, Y)
    assert blend.predict(X[:4]).shape == (4, 2)
    assert blend.oof_predictions_.shape == (len(y), 2, 2)
    # a member that cannot do multi-output fails clearly and the others carry on
    with pytest.warns(UserWarning, match="hgb"):
        partial = BlendRegressor([*members, ("hgb", HistGradientBoostingRegressor())]).fit(X, Y)
    assert partial.leaderboard_.set_index("member").loc["hgb", "status"] == "failed"


def test_dataframe_with_categoricals_and_stacking_passthrough():
    rng = np.random.RandomState(0)
    n = 240
    X = pd.DataFrame(
        {
            "size": pd.Categorical(rng.choice(["S", "M", "L"], n)),
            "weight": rng.normal(size=n),
        }
    )
    y = X["size"].cat.codes.to_numpy() * 1.5 + X["weight"] + rng.normal(scale=0.1, size=n)
    before = X.copy()

    def linear(alpha):
        encode = make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), ["size"]), remainder="passthrough"
        )
        return make_pipeline(encode, Ridge(alpha=alpha))

    members = [
        ("linear", linear(1.0)),
        (
            "knn",
            make_pipeline(
                make_column_transformer((OneHotEncoder(), ["size"]), remainder="passthrough"),
                KNeighborsRegressor(5),
            ),
        ),
    ]
    blend = BlendRegressor(
        members, method="stacking", passthrough=True, final_estimator=linear(0.1), cv=3
    ).fit(X, y)
    pd.testing.assert_frame_equal(X, before)
    assert np.isfinite(blend.predict(X.iloc[:1])).all()
    assert np.sqrt(np.mean((blend.predict(X) - y) ** 2)) < 0.5
    with pytest.raises(ValueError, match="missing"):
        blend.predict(X[["weight"]])
    # reordered and extra columns are fine
    assert blend.predict(X.assign(extra=1)[["extra", "weight", "size"]]).shape == (n,)


# ------------------------------------------------------------------------ sklearn conventions


def test_clone_and_grid_search_over_blender_params(friedman):
    X, y = friedman
    blend = BlendRegressor(_members(), cv=3)
    assert clone(blend).get_params()["cv"] == 3
    params = blend.get_params()
    assert "ridge__alpha" in params and "forest__n_estimators" in params
    blend = BlendRegressor(_members()[:2], cv=3)
    search = GridSearchCV(
        blend,
        {"method": ["mean", "nnls"], "ridge__alpha": [0.1, 10.0]},
        cv=2,
    ).fit(X, y)
    assert search.best_params_["method"] in {"mean", "nnls"}
    assert hasattr(search.best_estimator_, "weights_")
    # set_params reaches the members without touching the user's estimators
    members = _members()
    b = BlendRegressor(members).set_params(ridge__alpha=5.0)
    assert dict(b.members)["ridge"].alpha == 5.0


def _check(est):
    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(est)


def test_sklearn_estimator_checks_regressor():
    _check(
        BlendRegressor([("ridge", Ridge()), ("tree", DecisionTreeRegressor(random_state=0))], cv=3)
    )


@pytest.mark.slow
def test_sklearn_estimator_checks_classifier():
    members = [("lr", LogisticRegression()), ("tree", DecisionTreeClassifier(random_state=0))]
    _check(BlendClassifier(members, cv=3))


# ------------------------------------------------------------------------ caching & parallel


def test_caching_fits_only_new_member_and_resumes(friedman, tmp_path):
    X, y = friedman
    Counting.fits.clear()
    two = [("a", Counting(tag="a")), ("b", Counting(tag="b", alpha=3.0))]
    first = BlendRegressor(two, method="mean", cv=3, memory=tmp_path, n_jobs=1).fit(X, y)
    assert Counting.fits == {"a": 4, "b": 4}
    three = [*two, ("c", Counting(tag="c"))]
    Counting.fits.clear()
    second = BlendRegressor(three, method="mean", cv=3, memory=str(tmp_path), n_jobs=1).fit(X, y)
    assert Counting.fits == {"c": 4}
    board = second.leaderboard_.set_index("member")
    assert board.loc["a", "cached_fits"] == 4 and board.loc["a", "n_fits"] == 0
    np.testing.assert_allclose(
        first.oof_predictions_[:, :2], second.oof_predictions_[:, :2], rtol=0, atol=0
    )
    # an interrupted fit (cut short on one of f's folds) resumes without refitting the rest
    Counting.fits.clear()
    _FailOnce.failed.clear()
    memory = joblib.Memory(tmp_path / "resume", verbose=0)
    stopper = [("e", Counting(tag="e")), ("f", _FailOnce(tag="f", marker=float(X[-1, 0])))]
    with pytest.raises(RuntimeError, match="interruption"):
        BlendRegressor(stopper, method="mean", cv=3, memory=memory, n_jobs=1, on_error="raise").fit(
            X, y
        )
    done = dict(Counting.fits)
    assert done["e"] == 3 and done.get("f", 0) < 3
    Counting.fits.clear()
    BlendRegressor(stopper, method="mean", cv=3, memory=memory, n_jobs=1, on_error="raise").fit(
        X, y
    )
    assert Counting.fits == {"e": 1, "f": 3 - done.get("f", 0) + 1}  # the rest + the refits


class _FailOnce(Counting):
    """Fails once on the fold that holds out the row whose first feature is ``marker``."""

    failed: set = set()  # noqa: RUF012

    def __init__(self, tag="f", alpha=1.0, marker=0.0):
        super().__init__(tag=tag, alpha=alpha)
        self.marker = marker

    def fit(self, X, y):
        if self.marker not in X[:, 0] and self.marker not in _FailOnce.failed:
            _FailOnce.failed.add(self.marker)
            raise RuntimeError("simulated interruption")
        return super().fit(X, y)


def test_parallel_matches_sequential_and_progress(friedman, capsys):
    X, y = friedman
    seq = BlendRegressor(_members(), random_state=0, n_jobs=1, verbose=1).fit(X, y)
    assert "[blend out-of-fold]" in capsys.readouterr().err
    par = BlendRegressor(_members(), random_state=0, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(seq.predict(X), par.predict(X))


@pytest.mark.slow
def test_dask_cluster_matches_local_fit(friedman):
    distributed = pytest.importorskip("dask.distributed")
    X, y = friedman
    local = BlendRegressor(_members(), random_state=0).fit(X, y)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        with joblib.parallel_backend("dask"):
            remote = BlendRegressor(_members(), random_state=0).fit(X, y)
    np.testing.assert_array_equal(local.predict(X), remote.predict(X))
