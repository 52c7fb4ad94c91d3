"""Time budget (``time_limit``) and presets of the blenders: blend.ensemble.budget, .presets."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_regression
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold

from blend import BlendClassifier, BlendRegressor
from blend.ensemble.budget import MAX_EXPONENT, SKIPPED, TimeBudget, run_before_deadline
from blend.ensemble.presets import PRESETS, describe_presets, preset_members, preset_settings
from blend.ensemble.tasks import FitData, Task


@pytest.fixture(scope="module")
def data():
    X, y = make_regression(400, 5, noise=1.0, random_state=0)
    return pd.DataFrame(X, columns=[f"c{i}" for i in range(5)]), y


def _members():
    return [
        ("ridge", Ridge()),
        ("forest", RandomForestRegressor(n_estimators=30, random_state=0)),
    ]


def test_no_limit_is_todays_path(data):
    X, y = data
    blend = BlendRegressor(_members(), random_state=0).fit(X, y)
    assert not hasattr(blend, "budget_")


def test_generous_limit_changes_nothing(data):
    X, y = data
    plain = BlendRegressor(_members(), random_state=0).fit(X, y)
    timed = BlendRegressor(_members(), random_state=0, time_limit=600).fit(X, y)
    np.testing.assert_array_equal(plain.predict(X), timed.predict(X))
    assert timed.budget_["time_limit"] == 600.0
    assert timed.budget_["decisions"] == {}
    assert set(timed.leaderboard_["status"]) == {"kept"}


def test_tiny_limit_keeps_the_cheapest_member_and_says_so(data):
    X, y = data
    with pytest.warns(UserWarning, match="too small for any member"):
        blend = BlendRegressor(_members(), random_state=0, time_limit=1e-3).fit(X, y)
    assert blend.predict(X[:3]).shape == (3,)
    board = blend.leaderboard_.set_index("member")
    assert board.loc["forest", "status"] == SKIPPED
    assert "s budget" in board.loc["forest", "why"]
    assert [name for name, _ in blend.members_] == ["ridge"]
    assert "ridge" in blend.budget_["decisions"]


def test_classifier_under_a_small_limit(data):
    X, y = data
    from sklearn.linear_model import LogisticRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        clf = BlendClassifier(
            [("lr", LogisticRegression()), ("forest", RandomForestRegressor())],
            time_limit=1e-3,
            random_state=0,
        ).fit(X, y > 0)
    assert clf.predict_proba(X[:2]).shape == (2, 2)


@pytest.mark.parametrize("limit", [-1, 0, "60", [5]])
def test_bad_limits_raise(data, limit):
    X, y = data
    with pytest.raises(ValueError, match="time_limit"):
        BlendRegressor(_members(), time_limit=limit).fit(X, y)


def test_unknown_preset_raises(data):
    X, y = data
    with pytest.raises(ValueError, match="presets"):
        BlendRegressor(_members(), presets="turbo").fit(X, y)


def test_preset_sets_defaults_only_and_restores_them(data):
    X, y = data
    fast = BlendRegressor(_members(), presets="fast", random_state=0).fit(X, y)
    assert len(fast.splits_) == 3  # fast: cv=3
    assert fast.get_params()["cv"] == 5  # the parameter the user gave is restored
    assert fast.budget_["presets"] == "fast"
    assert fast.budget_["preset_settings"] == {"cv": 3}
    own = BlendRegressor(_members(), presets="fast", cv=4, random_state=0).fit(X, y)
    assert len(own.splits_) == 4


def test_preset_settings_from_the_table():
    best = BlendRegressor(presets="best")
    assert preset_settings(best, 100) == {"n_bags": 5}
    assert preset_settings(best, 10_000) == {
        "n_bags": 5,
        "expensive_refit": True,
        "expensive_folds": 2,
    }
    assert preset_settings(BlendRegressor(), 10_000) == {}
    table = describe_presets()
    assert all(f"`{name}`" in table for name in PRESETS)


def test_fast_preset_has_no_deep_members():
    from blend.datasets import make_clothing

    X, y, _ = make_clothing(600, random_state=0)
    fast = [name for name, _ in preset_members("fast", X, y, task="regression")]
    default = [name for name, _ in preset_members("default", X, y, task="regression")]
    assert "wide_deep" in default and "wide_deep" not in fast
    assert fast == [name for name in default if name != "wide_deep"]

    # several outputs: the multi-task network is a deep member too
    Y = pd.DataFrame({"price": y, "double": 2 * y})
    fast = [name for name, _ in preset_members("fast", X, Y, task="regression")]
    default = [name for name, _ in preset_members("default", X, Y, task="regression")]
    assert "keras_multitask" in default and "keras_multitask" not in fast
    assert fast and not {"wide_deep", "keras_graph"} & set(fast)


def test_task_past_the_deadline_is_skipped(data):
    X, y = data
    task = Task("ridge", Ridge(), 0, np.arange(300), np.arange(300, 400), keep_model=False)
    fit_data = FitData(X, y, False, 1)
    from blend.ensemble.tasks import fit_predict

    res = run_before_deadline((0.0, 1.0), fit_predict, task, fit_data, "warn")
    assert res.error.startswith(SKIPPED)
    assert run_before_deadline(None, fit_predict, task, fit_data, "warn").ok


def test_budget_summary_is_plain():
    budget = TimeBudget(10.0, 0.0)
    summary = budget.summary()
    assert summary["time_limit"] == 10.0 and summary["decisions"] == {}


def test_budget_survives_save_and_load(data, tmp_path):
    import blend

    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = BlendRegressor(_members(), time_limit=1e-3, presets="fast", random_state=0)
        model.fit(X, y)
    path = tmp_path / "m.blend"
    blend.save(model, path)
    loaded = blend.load(path)
    assert loaded.budget_ == model.budget_
    assert (loaded.time_limit, loaded.presets) == (1e-3, "fast")
    np.testing.assert_allclose(loaded.predict(X[:5]), model.predict(X[:5]))


def test_report_writes_the_budget(data, tmp_path):
    from blend.report import write_report

    X, y = data
    model = BlendRegressor(_members(), time_limit=600, random_state=0).fit(X, y)
    written = write_report(model, tmp_path)
    assert "budget" in written
    assert '"time_limit": 600.0' in written["budget"].read_text()


def test_schedule_runs_the_folds_the_estimate_counted(data):
    """A member timed for one fold (the full library's plan) does not run five when the
    members kept would plan five: its last fold only, as a holdout member."""
    from blend.ensemble.budget import Estimate
    from blend.ensemble.plan import plan_tasks

    X, y = data
    splits = list(KFold(5, shuffle=True, random_state=0).split(X))
    plan = plan_tasks(X, _members(), splits, cheap_folds="all", expensive_folds=None,
                      refit=True, expensive_refit=False, eager=False)  # fmt: skip
    budget = TimeBudget(10.0, 0.0)
    budget.estimates = {
        "ridge": Estimate(fold=1.0, final=1.0, n_folds=1, refit=False),
        "forest": Estimate(fold=1.0, final=1.0, n_folds=5, refit=True),
    }
    scheduled = budget.schedule(plan)
    ridge = [t for t in scheduled.tasks if t.member == "ridge"]
    # its refit was left out of the plan: it stays as an option, run when time is left
    assert [(t.fold, t.is_final_fit) for t in ridge] == [(4, False)]
    assert scheduled.expensive["ridge"] and "ridge" in budget.optional
    forest = sorted(t.fold for t in scheduled.tasks if t.member == "forest" and not t.is_final_fit)
    assert forest == [0, 1, 2, 3, 4] and scheduled.final_fit["forest"]


@pytest.mark.parametrize(
    ("cost", "exponent"),
    [
        (lambda rows: 0.003 * rows, MAX_EXPONENT),  # all of it grows with the rows: capped
        (lambda rows: 0.5 + 0.002 * rows, np.log(2.5) / np.log(4)),  # a fixed cost slows it
        (lambda rows: 3.0, 0.5),  # no growth seen: at least the square root of the rows
        (lambda rows: 6.0 - 0.003 * rows, 0.5),  # noise: the smaller fit took longer
        (lambda rows: 1e-6 * rows**2, MAX_EXPONENT),  # capped (boosters: a margin on top)
    ],
)
def test_probe_measures_how_the_cost_grows(data, monkeypatch, cost, exponent):
    X, y = data
    budget = TimeBudget(60.0, time.perf_counter())
    monkeypatch.setattr(budget, "_probe", lambda est, d, train, test, epochs: cost(len(train)))
    sub, sub_test = np.arange(1000), np.arange(1000, 1200)
    got = budget._growth(Ridge(), FitData(X, y, False, 1), sub, sub_test, scale=6.4)
    np.testing.assert_allclose(got, (cost(1000), exponent), atol=1e-9)
    # little to extrapolate: proportional to the rows, no second probe
    near = budget._growth(Ridge(), FitData(X, y, False, 1), sub, sub_test, scale=1.5)
    np.testing.assert_allclose(near, (cost(1000), 1.0), atol=1e-12)


@pytest.mark.parametrize(
    ("available", "levels"),
    [
        (200.0, {"a": "", "b": ""}),  # all of it fits: nothing changes
        (50.0, {"a": "then a refit", "b": "then a refit"}),  # both, on their last fold
        (15.0, {"a": "no refit", "b": None}),  # one member at its cheapest, the other skipped
    ],
)
def test_plan_keeps_members_before_folds_and_refits(available, levels):
    """More members at a cheaper level beat fewer members with every fold and a refit."""
    from blend.ensemble.budget import Estimate

    budget = TimeBudget(100.0, 0.0)
    order = [("a", Ridge()), ("b", Ridge(alpha=2.0))]
    ests = {n: Estimate(fold=10.0, final=12.0, n_folds=5, refit=True) for n, _ in order}
    kept = budget._allot(order, ests, available, force=True)
    for name, level in levels.items():
        if level is None:
            assert name not in kept and name in budget.skipped
            continue
        assert name in kept
        assert level in budget.decisions.get(name, "")
        assert (name in budget.holdout) == (level != "")
    assert sum(e.total for e in budget.estimates.values()) <= available


def test_a_slow_measurement_is_taken_again(data):
    """A subsample fit far slower than its rows explain is timed once more (the faster counts)."""
    X, y = data
    budget = TimeBudget(60.0, time.perf_counter())
    times = iter([1.0, 40.0, 4.0])  # quarter, subsample (a busy moment), subsample again
    calls = []

    def probe(est, d, train, test, epochs):
        calls.append(len(train))
        return next(times)

    budget._probe = probe
    got = budget._growth(Ridge(), FitData(X, y, False, 1), np.arange(1000), np.arange(200), 6.4)
    assert calls == [250, 1000, 1000]
    np.testing.assert_allclose(got, (4.0, MAX_EXPONENT))
    # a little faster than the rows explain is noise: kept, at the steepest growth
    times, calls[:] = iter([1.0, 4.6]), []
    got = budget._growth(Ridge(), FitData(X, y, False, 1), np.arange(1000), np.arange(200), 6.4)
    assert calls == [250, 1000]
    np.testing.assert_allclose(got, (4.6, MAX_EXPONENT))


def test_measuring_stops_at_the_quarter_when_the_subsample_would_end_late(data):
    """Past the measuring share, the quarter is extrapolated at the slowest growth (and a
    fallback member, measured ``whole``, still gets its subsample probe)."""
    X, y = data
    calls = []

    def probe(est, d, train, test, epochs):
        calls.append(len(train))
        return 3.0

    budget = TimeBudget(10.0, time.perf_counter())  # measuring share: 4 s
    budget._probe = probe
    fit = FitData(X, y, False, 1)
    got = budget._growth(Ridge(), fit, np.arange(1000), np.arange(200), 6.4)
    assert calls == [250]
    np.testing.assert_allclose(got, (6.0, 0.5))  # 3 s x 4 ** 0.5, the slowest growth
    calls.clear()
    got = budget._growth(Ridge(), fit, np.arange(1000), np.arange(200), 6.4, whole=True)
    assert calls == [250, 1000]


def test_a_member_is_not_measured_when_the_measured_ones_fill_the_budget(data, monkeypatch):
    """Measuring a member that could not join anyway would only take time from the others."""
    import time

    from blend.ensemble.budget import Estimate
    from blend.ensemble.plan import plan_tasks

    X, y = data
    splits = list(KFold(5, shuffle=True, random_state=0).split(X))

    def plan_of(kept):
        return plan_tasks(X, kept, splits, cheap_folds="all", expensive_folds=None,
                          refit=True, expensive_refit=False, eager=False)  # fmt: skip

    measured = []

    def estimator_of(seconds):
        def estimate(name, est, data, splits, *, n_folds, refit, expensive):
            measured.append(name)
            return Estimate(fold=seconds, final=seconds, n_folds=n_folds, refit=refit)

        return estimate

    for fold_seconds, expected in ((1.0, ["ridge", "forest"]), (50.0, ["ridge"])):
        budget = TimeBudget(60.0, time.perf_counter(), n_jobs=1)
        monkeypatch.setattr(budget, "estimate", estimator_of(fold_seconds))
        measured.clear()
        budget.select(_members(), FitData(X, y, False, 1), splits, plan_of)
        assert measured == expected
        if len(expected) == 1:
            assert budget.skipped["forest"].startswith(f"{SKIPPED}: no time left to measure")


def _plan_of(X, splits):
    from blend.ensemble.plan import plan_tasks

    def plan_of(kept):
        return plan_tasks(X, kept, splits, cheap_folds="all", expensive_folds=None,
                          refit=True, expensive_refit=False, eager=False)  # fmt: skip

    return plan_of


def _stub_estimates(budget, seconds: dict):
    """``budget.estimate`` answering ``seconds[name]`` per fold (and refit) without fitting."""
    from blend.ensemble.budget import Estimate

    measured = []

    def estimate(name, est, data, splits, *, n_folds, refit, expensive, whole=False):
        measured.append(name)
        return Estimate(fold=seconds[name], final=seconds[name], n_folds=n_folds, refit=refit)

    budget.estimate = estimate
    return measured


def test_quick_fallback_replaces_a_library_that_does_not_fit(data):
    """No library member's last fold fits: the quick members run instead, and say why."""
    import time

    X, y = data
    splits = list(KFold(5, shuffle=True, random_state=0).split(X))
    fallback = [("quick_linear", Ridge()), ("quick_trees", RandomForestRegressor())]
    budget = TimeBudget(10.0, time.perf_counter(), n_jobs=1)
    measured = _stub_estimates(budget, {"ridge": 30.0, "forest": 90.0, "quick_linear": 0.1,
                                        "quick_trees": 0.2})  # fmt: skip
    with pytest.warns(UserWarning, match="too small for the members of the library"):
        kept = budget.select(_members(), FitData(X, y, False, 1), splits, _plan_of(X, splits),
                             fallback)  # fmt: skip
    assert [name for name, _ in kept] == ["quick_linear", "quick_trees"]
    assert measured[-2:] == ["quick_linear", "quick_trees"]
    assert budget.essential == "quick_linear"
    assert budget.skipped["ridge"].startswith(f"{SKIPPED}: would need")
    assert budget.decisions["quick_linear"].startswith("fallback: no member of the library fits")
    assert "the cheapest, ridge" in budget.decisions["quick_linear"]


def test_quick_fallback_waits_while_a_library_member_fits(data):
    import time

    X, y = data
    splits = list(KFold(5, shuffle=True, random_state=0).split(X))
    fallback = [("quick_linear", Ridge())]
    budget = TimeBudget(10.0, time.perf_counter(), n_jobs=1)
    measured = _stub_estimates(budget, {"ridge": 0.1, "forest": 90.0, "quick_linear": 0.01})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning: the library's cheapest fits
        kept = budget.select(_members(), FitData(X, y, False, 1), splits, _plan_of(X, splits),
                             fallback)  # fmt: skip
    assert [name for name, _ in kept] == ["ridge"]
    assert "quick_linear" not in measured


def test_default_blend_falls_back_on_quick_members_under_a_tiny_limit(data, monkeypatch):
    """End to end: a library too slow for the limit gives a working blend of quick members."""
    import time

    import blend.members.defaults as defaults

    class SlowRidge(Ridge):
        def fit(self, X, y, sample_weight=None):
            time.sleep(0.4)
            return super().fit(X, y, sample_weight)

    X, y = data
    monkeypatch.setattr(defaults, "default_members", lambda *a, **k: [("slow", SlowRidge())])
    with pytest.warns(UserWarning, match="quick fallback members"):
        model = BlendRegressor(time_limit=0.5, random_state=0).fit(X, y)
    names = [name for name, _ in model.members_]
    assert names and set(names) <= {"quick_linear", "quick_trees"}
    board = model.leaderboard_.set_index("member")
    assert board.loc["slow", "status"] == SKIPPED
    assert board.loc[names[0], "why"].startswith("fallback: ")
    assert model.predict(X[:3]).shape == (3,)
    # the user's own members are kept as given: no fallback
    with pytest.warns(UserWarning, match="too small for any member"):
        own = BlendRegressor([("slow", SlowRidge())], time_limit=0.5, random_state=0).fit(X, y)
    assert [name for name, _ in own.members_] == ["slow"]


def test_fallback_members_read_cheap_columns_only():
    from blend.datasets import make_clothing
    from blend.members.defaults import fallback_members

    X, y, _ = make_clothing(200, random_state=0)
    found = dict(fallback_members(X, y, random_state=0))
    assert list(found) == ["quick_linear", "quick_trees"]
    assert found["quick_linear"].roles["photo_front"] == "ignore"
    assert found["quick_linear"].roles["description"] == "text"
    assert found["quick_trees"][0].roles["description"] == "ignore"
    assert [n for n, _ in fallback_members(X[["photo_front"]], y)] == ["mean"]
    two = np.column_stack([y, y])
    assert [n for n, _ in fallback_members(X, two)] == ["quick_linear"]  # one output per booster
    labels = (y > y.median()).to_numpy()
    assert [n for n, _ in fallback_members(X, labels, task="classification")] == [
        "quick_linear",
        "quick_trees",
    ]
