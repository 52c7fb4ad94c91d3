"""The multi-task network: the posts generator, head loss weights, per-head early stopping and
checkpoints, scores per head, errors naming the head, safe files, and multi-task blends."""

import numpy as np
import pandas as pd
import pytest

keras = pytest.importorskip("keras")

import blend  # noqa: E402
from blend.datasets import make_posts  # noqa: E402
from blend.datasets.posts import INCOME_BANDS  # noqa: E402
from blend.members.deep.estimators import KerasMultiTaskEstimator  # noqa: E402
from blend.members.deep.multitask import (  # noqa: E402
    assemble_checkpoints,
    baseline_loss,
    head_early_stopping,
    prior_logits,
)

TINY = {"model__units": 8, "model__meta_units": 8, "model__bag_units": 8, "batch_size": 64}


@pytest.fixture(scope="module")
def fitted(posts):
    X, Y = posts
    return KerasMultiTaskEstimator(epochs=6, patience=2, random_state=0, **TINY).fit(X, Y)


# ---------------------------------------------------------------------- the generator
def test_make_posts_is_seeded_and_documented():
    X, Y, floor = make_posts(300, random_state=1)
    again = make_posts(300, random_state=1)
    pd.testing.assert_frame_equal(X, again.X)
    pd.testing.assert_frame_equal(Y, again.Y)
    assert not X.equals(make_posts(300, random_state=2).X)
    assert list(Y.columns) == ["age", "income", "gender"]
    assert Y["age"].between(18, 70).all() and Y["age"].dtype == float
    assert list(Y["income"].cat.categories) == list(INCOME_BANDS)
    assert set(Y["gender"]) == {"female", "male"}
    # The floor is the Bayes-optimal score: better than guessing, short of perfect.
    assert 0 < floor["age_mae"] < 13  # guessing the median age is off by 13 years on average
    assert 0.4 < floor["income_accuracy"] < 1 and 0.5 < floor["gender_accuracy"] < 1
    with pytest.raises(ValueError, match="positive integer"):
        make_posts(0)


def test_word_choice_follows_the_author():
    X, Y, _ = make_posts(2000, random_state=0)
    text = X["text"]
    old, young = Y["age"] > 55, Y["age"] < 30
    assert text[old].str.contains("pension").mean() > 3 * text[young].str.contains("pension").mean()
    high, low = Y["income"] == "high", Y["income"] == "low"
    assert text[high].str.contains("yacht").mean() > 3 * text[low].str.contains("yacht").mean()
    women, men = Y["gender"] == "female", Y["gender"] == "male"
    husband = text.str.contains("my husband")
    assert husband[women].mean() > 2 * husband[men].mean()


# ---------------------------------------------------------------------- loss weights
def test_baseline_loss_is_the_loss_of_the_prior():
    assert baseline_loss("regression", np.zeros(3), scale=2.0) == 4.0
    assert baseline_loss("binary", np.array([0, 1])) == pytest.approx(np.log(2))
    assert baseline_loss("multiclass", np.array([0, 1, 2, 3])) == pytest.approx(np.log(4))
    assert baseline_loss("binary", np.zeros(10)) == 1e-3  # a constant head: capped weight
    np.testing.assert_allclose(prior_logits("binary", np.array([0, 1, 1, 1])), [np.log(3)])
    logits = prior_logits("multiclass", np.array([0, 0, 1, 2]))
    np.testing.assert_allclose(np.exp(logits), [0.5, 0.25, 0.25], rtol=1e-6)


def _text_dense(model):
    """The bag-of-n-grams dense layer, also inside a model of per-head checkpoints (when the
    heads' best epochs differ, the fitted model wraps the trained one)."""
    names = [layer.name for layer in model.layers]
    if "bag_text_encoder" not in names:
        model = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    return model.get_layer("bag_text_encoder").get_layer("bag_text_encoder_dense")


def test_the_text_layer_widens_with_the_heads(posts):
    X, Y = posts
    est = KerasMultiTaskEstimator(epochs=1, random_state=0, model__units=8).fit(X, Y)
    assert _text_dense(est.model_).units == 3 * 64


def test_heads_start_at_their_prior_with_weights_one_over_it(posts):
    X, Y = posts
    est = KerasMultiTaskEstimator(epochs=1, learning_rate=1e-9, random_state=0, **TINY)
    est.fit(X, Y)
    base = est.head_baseline_loss_
    assert base["age"] == pytest.approx(Y["age"].var(ddof=0), rel=1e-4)
    freq = Y["income"].value_counts(normalize=True)
    assert base["income"] == pytest.approx(-(freq * np.log(freq)).sum(), rel=1e-5)
    weights = est._loss_weights()
    assert weights == {head: 1 / base[head] for head in ("age", "income", "gender")}
    # Untrained, a classification head predicts about the class frequencies.
    proba = est.predict_proba(X)["income"].mean(axis=0)
    order = list(est.classes_["income"])
    np.testing.assert_allclose(proba, freq[order].to_numpy(), atol=0.05)
    doubled = KerasMultiTaskEstimator(loss_weights={"age": 2.0}, epochs=1, **TINY).fit(X, Y)
    assert doubled._loss_weights()["age"] == pytest.approx(2 / doubled.head_baseline_loss_["age"])


# ---------------------------------------------------------------------- early stopping
def _two_head_model(seed=0):
    x = keras.Input((3,), name="x")
    init = keras.initializers.GlorotUniform(seed=seed)
    outputs = {
        "a": keras.layers.Dense(1, name="a", kernel_initializer=init)(x),
        "b": keras.layers.Dense(1, name="b", kernel_initializer=init)(x),
    }
    return keras.Model({"x": x}, outputs, name="two")


def test_each_head_keeps_its_own_patience_and_best_epoch():
    model = _two_head_model()
    gates = {}
    stopper = head_early_stopping({"a": "A", "b": "B"}, {"a": 1.0, "b": 1.0}, 2, gates=gates)
    stopper.set_model(model)
    model.stop_training = False
    stopper.on_train_begin()
    # a improves until epoch 2, b until epoch 4; the sum is lowest at epoch 4.
    a_losses, b_losses = [1.0, 0.5, 0.6, 0.7, 0.8, 0.9], [1.0, 0.9, 0.8, 0.3, 0.4, 0.5]
    weights_at = {}
    for epoch, (a, b) in enumerate(zip(a_losses, b_losses)):
        model.get_layer("a").kernel.assign(np.full((3, 1), epoch, dtype="float32"))
        weights_at[epoch + 1] = model.get_weights()
        stopper.on_epoch_end(epoch, {"val_a_loss": a, "val_b_loss": b})
        if epoch + 1 == 4:  # a has not improved for two epochs: out of the loss
            assert gates == {"a": 0.0, "b": 1.0}
        if model.stop_training:
            break
    assert epoch == 5  # b improved at epoch 4: two more epochs of patience
    assert gates == {"a": 0.0, "b": 0.0}
    assert stopper.best_epochs == {"A": 2, "B": 4} and stopper.best_epoch == 4
    stopper.on_train_end()
    np.testing.assert_array_equal(model.get_layer("a").kernel.numpy(), 3.0)  # epoch 4 restored
    assert stopper.head_weights["a"][0] == 2


def test_training_data_scales_each_head_by_its_gate(posts):
    from blend.members.deep.inputs import FrameDataset, InputEncoder

    X, Y = posts
    enc = InputEncoder(text="bag").fit(X)
    y = {"age": Y["age"].to_numpy("float32"), "gender": (Y["gender"] == "male").to_numpy("float32")}
    data = FrameDataset(enc, X, y, np.full(len(X), 2.0, "float32"), batch_size=16)
    assert len(data[0]) == 3 and not isinstance(data[0][2], dict)
    data.output_scale = {"age": 0.0}
    _, _, weights = data[0]
    np.testing.assert_array_equal(weights["age"], 0.0)
    np.testing.assert_array_equal(weights["gender"], 2.0)


def test_assembled_model_reads_each_head_from_its_epoch():
    model = _two_head_model(0)
    other = _two_head_model(1)
    x = {"x": np.ones((2, 3), dtype="float32")}
    same = assemble_checkpoints(model, {"a": (4, None), "b": (4, None)}, best_epoch=4)
    assert same is model
    mixed = assemble_checkpoints(model, {"a": (2, other.get_weights()), "b": (4, None)}, 4)
    numpy = keras.ops.convert_to_numpy  # any backend's tensors (torch's carry gradients)
    out = mixed(x)
    np.testing.assert_allclose(numpy(out["a"]), numpy(other(x)["a"]), rtol=1e-6)
    np.testing.assert_allclose(numpy(out["b"]), numpy(model(x)["b"]), rtol=1e-6)
    assert "checkpoint_2" in [layer.name for layer in mixed.layers]


# ---------------------------------------------------------------------- fitted model
def test_fit_records_heads_and_scores_per_head(fitted, posts):
    X, Y = posts
    est = fitted
    assert est.tasks_ == {"age": "regression", "income": "multiclass", "gender": "binary"}
    assert _text_dense(est.model_).units == 8
    assert set(est.head_best_epoch_) == {"age", "income", "gender"}
    assert 1 <= est.best_epoch_ <= len(est.history_["loss"])
    assert all(1 <= e <= len(est.history_["loss"]) for e in est.head_best_epoch_.values())
    scores = est.score_per_head(X, Y)
    assert set(scores) == {"age", "income", "gender"}
    assert 0 <= scores["income"] <= 1 and 0 <= scores["gender"] <= 1
    assert est.score(X, Y) == pytest.approx(np.mean(list(scores.values())))
    with pytest.raises(ValueError, match="income"):
        est.score_per_head(X, Y[["age", "gender"]])
    assert est.text_mode_ == {"text": "bag"}


def test_one_row_predict(fitted, posts):
    X = posts[0]
    row = fitted.predict(X.iloc[[0]])
    assert row.shape == (1, 3) and row["income"].iloc[0] in INCOME_BANDS


def test_saved_checkpointed_model_loads_with_identical_predictions(fitted, posts, tmp_path):
    X = posts[0]
    est = fitted
    # Force a head onto another epoch's weights, as per-head early stopping does.
    scaled = [w * 0.5 for w in est.model_.get_weights()]
    est.model_ = assemble_checkpoints(est.model_, {"gender": (99, scaled)}, est.best_epoch_)
    est._forward = None
    before = est.predict(X)
    blend.save(est, tmp_path / "mt.blend")
    loaded = blend.load(tmp_path / "mt.blend")
    pd.testing.assert_frame_equal(loaded.predict(X), before)
    assert loaded.head_best_epoch_ == est.head_best_epoch_


# ---------------------------------------------------------------------- bad input
def test_bad_targets_get_errors_naming_the_head(posts):
    X, Y = posts
    X, Y = X.iloc[:40], Y.iloc[:40]
    est = KerasMultiTaskEstimator(epochs=1, **TINY)
    with pytest.raises(ValueError, match=r"head 'height'.*not a column of y"):
        est.set_params(tasks={"height": "regression"}).fit(X, Y)
    with pytest.raises(ValueError, match=r"Head 'gender'.*'ranking' is unknown"):
        est.set_params(tasks={"gender": "ranking"}).fit(X, Y)
    holes = Y.assign(age=Y["age"].where(Y.index > 3))
    with pytest.raises(ValueError, match=r"Head 'age'.*4 missing"):
        est.set_params(tasks=None).fit(X, holes)
    with pytest.raises(ValueError, match="Head 'income' is declared 'binary'"):
        est.set_params(tasks={"income": "binary"}).fit(X, Y)
    with pytest.raises(ValueError, match="Head 'gender' is a regression head"):
        est.set_params(tasks={"gender": "regression"}).fit(X, Y)
    with pytest.raises(ValueError, match="loss_weights names head"):
        est.set_params(tasks=None, loss_weights={"height": 2.0}).fit(X, Y)


# ---------------------------------------------------------------------- in the blend
@pytest.mark.slow
def test_multitask_member_in_a_multi_output_blend(posts):
    X, Y = posts
    y2 = np.column_stack([Y["age"], Y["age"] / 10 + (Y["gender"] == "male")])
    member = KerasMultiTaskEstimator(epochs=2, random_state=0, **TINY)
    model = blend.BlendRegressor(
        [("linear", blend.WideLinearRegressor()), ("multitask", member)], cv=2, random_state=0
    ).fit(X, y2)
    assert model.predict(X.iloc[:3]).shape == (3, 2)
    assert "multitask" in set(model.leaderboard_["member"])


def test_default_members_add_the_multitask_network_for_several_outputs():
    X, Y, _ = make_posts(600, random_state=0)
    y2 = np.column_stack([Y["age"], Y["age"] ** 0.5])
    names = [name for name, _ in blend.default_members(X, y2, random_state=0)]
    assert "keras_multitask" in names and "keras_graph" not in names
    single = [name for name, _ in blend.default_members(X, Y["age"], random_state=0)]
    assert "keras_multitask" not in single and "keras_graph" in single


def test_blenders_refuse_mixed_task_targets_clearly(posts):
    X, Y = posts
    with pytest.raises(ValueError, match=r"mixes regression and classification.*income"):
        blend.BlendRegressor([("linear", blend.WideLinearRegressor())]).fit(X, Y)
    with pytest.raises(ValueError, match="KerasMultiTaskEstimator"):
        blend.BlendClassifier([("linear", blend.WideLinearClassifier())]).fit(
            X, Y[["income", "gender"]]
        )
