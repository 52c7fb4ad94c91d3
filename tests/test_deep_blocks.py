"""Keras building blocks, branches and the input encoder (no training here: fast)."""

import pickle

import numpy as np
import pandas as pd
import pytest

keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402

from blend.members.deep.blocks import (  # noqa: E402
    apply_shared,
    dense_block,
    inception_module,
    residual_block,
    separable_conv_block,
)
from blend.members.deep.branches import (  # noqa: E402
    GRAPHS,
    build_body,
    build_model,
    image_encoder,
    text_encoder,
)
from blend.members.deep.inputs import OOV, PAD, InputEncoder, InputSpec, tokenize  # noqa: E402


def _model(inputs, outputs):
    return keras.Model(inputs, outputs)


# ---------------------------------------------------------------------- blocks
def test_dense_block_shape_and_params():
    x = keras.Input((8,))
    model = _model(x, dense_block(x, 16, dropout=0.1, name="d"))
    assert model.output.shape == (None, 16)
    assert model.count_params() == 8 * 16 + 16


def test_residual_block_identity_shortcut_on_vectors():
    x = keras.Input((12,))
    model = _model(x, residual_block(x, 12, name="r"))
    names = [layer.name for layer in model.layers]
    assert "r_proj" not in names
    assert model.output.shape == (None, 12)
    assert model.count_params() == 2 * (12 * 12 + 12)


def test_residual_block_projects_when_width_changes():
    x = keras.Input((12,))
    model = _model(x, residual_block(x, 20, name="r"))
    proj = model.get_layer("r_proj")
    assert proj.count_params() == 12 * 20  # linear projection, no bias
    assert model.output.shape == (None, 20)


@pytest.mark.parametrize("kind", ["separable", "conv"])
def test_residual_conv_block_projects_on_stride_and_width(kind):
    x = keras.Input((16, 16, 8))
    model = _model(x, residual_block(x, 32, strides=2, kind=kind, name="r"))
    assert model.output.shape == (None, 8, 8, 32)
    proj = model.get_layer("r_proj")
    assert proj.kernel.shape == (1, 1, 8, 32)
    assert proj.strides == (2, 2)
    same = _model(x, residual_block(x, 8, kind=kind, name="s"))
    assert "s_proj" not in [layer.name for layer in same.layers]
    assert same.output.shape == (None, 16, 16, 8)


def test_residual_block_output_is_input_plus_branch():
    x = keras.Input((4,))
    model = _model(x, residual_block(x, 4, activation="linear", name="r"))
    for layer in (model.get_layer("r_dense1"), model.get_layer("r_dense2")):
        layer.kernel.assign(np.zeros(layer.kernel.shape, dtype="float32"))
    data = np.arange(8, dtype="float32").reshape(2, 4)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(data)), data
    )  # zero branch: the identity


def test_residual_block_on_sequences():
    x = keras.Input((10, 6))
    model = _model(x, residual_block(x, 6))
    assert model.output.shape == (None, 10, 6)


def test_separable_conv_block_parameter_count():
    x = keras.Input((32, 32, 3))
    model = _model(x, separable_conv_block(x, 16, 3, strides=2))
    assert model.output.shape == (None, 16, 16, 16)
    depthwise, pointwise, batch_norm = 3 * 3 * 3, 3 * 16, 4 * 16
    assert model.count_params() == depthwise + pointwise + batch_norm
    # A full convolution would cost 3*3*3*16 = 432 weights.
    assert depthwise + pointwise < 3 * 3 * 3 * 16


@pytest.mark.parametrize("strides", [1, 2])
def test_inception_module_concatenates_aligned_branches(strides):
    x = keras.Input((16, 16, 4))
    model = _model(x, inception_module(x, (2, 3, 4, 5), strides=strides, name="inc"))
    side = 16 // strides
    assert model.output.shape == (None, side, side, 2 + 3 + 4 + 5)
    out = model(np.random.default_rng(0).random((2, 16, 16, 4), dtype="float32"))
    assert out.shape == (2, side, side, 14)


def test_inception_module_needs_feature_maps():
    with pytest.raises(ValueError, match="H, W, C"):
        inception_module(keras.Input((8,)), 4)


def test_shared_encoder_reuses_weights():
    encoder = keras.Sequential([keras.Input((6,)), layers.Dense(5), layers.Dense(3)])
    a, b, c = keras.Input((6,)), keras.Input((6,)), keras.Input((6,))
    shared = _model([a, b, c], apply_shared(encoder, [a, b, c], merge="concat"))
    assert shared.output.shape == (None, 9)
    # Three inputs, one set of weights.
    assert shared.count_params() == encoder.count_params() == 6 * 5 + 5 + 5 * 3 + 3


def test_symmetric_merge_is_order_invariant():
    encoder = keras.Sequential([keras.Input((4,)), layers.Dense(3, activation="tanh")])
    a, b = keras.Input((4,)), keras.Input((4,))
    model = _model([a, b], apply_shared(encoder, [a, b], merge="symmetric"))
    rng = np.random.default_rng(0)
    u, v = rng.random((3, 4), dtype="float32"), rng.random((3, 4), dtype="float32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model([u, v])),
        keras.ops.convert_to_numpy(model([v, u])),
        rtol=1e-6,
    )
    with pytest.raises(ValueError, match="merge"):
        apply_shared(encoder, [a, b], merge="sum")


# ---------------------------------------------------------------------- encoders and body
def _image_spec(name="img_a", group=None):
    return InputSpec(name, "image", ("a",), (32, 32, 3), "uint8", group=group, scale=1 / 255)


def _text_spec(name="txt_t", group=None):
    return InputSpec(name, "text", ("t",), (12,), "int32", vocab_size=50, group=group)


@pytest.mark.parametrize("kind", ["separable", "resnet", "inception", "pool"])
def test_image_encoder_kinds(kind):
    encoder = image_encoder(_image_spec(), kind=kind, widths=(4, 8))
    out = encoder(np.zeros((2, 32, 32, 3), dtype="uint8"))
    assert out.shape[0] == 2 and len(out.shape) == 2


@pytest.mark.parametrize("kind", ["conv", "separable", "lstm", "pool"])
def test_text_encoder_kinds(kind):
    encoder = text_encoder(_text_spec(), kind=kind, embedding_dim=4, filters=6)
    out = encoder(np.array([[2, 3, 4] + [0] * 9, [1] * 12], dtype="int32"))
    assert out.shape == (2, 6)


def test_unknown_kinds_raise():
    with pytest.raises(ValueError, match="image kind"):
        image_encoder(_image_spec(), kind="vit")
    with pytest.raises(ValueError, match="text kind"):
        text_encoder(_text_spec(), kind="transformer")
    with pytest.raises(ValueError, match="Unknown graph"):
        build_body([_image_spec()], "vgg")


def test_build_body_shares_one_encoder_between_grouped_images():
    small = {"image_widths": (4, 8), "units": 8, "meta_units": 4}
    grouped = [_image_spec("img_a", "g"), _image_spec("img_b", "g")]
    alone = [_image_spec("img_a"), _image_spec("img_b")]
    shared_model = build_model(grouped, **small)
    separate_model = build_model(alone, **small)
    encoder = shared_model.get_layer("g_encoder")
    # Shared: exactly one encoder's weights fewer than two separate encoders (the merged
    # feature width is the same: mean+max of two vs. two concatenated).
    assert separate_model.count_params() - shared_model.count_params() == encoder.count_params()
    assert len(encoder._inbound_nodes) == 2


@pytest.mark.parametrize("graph", GRAPHS)
def test_named_graphs_build_and_run(graph, clothing_small):
    X = clothing_small.X.iloc[:8]
    encoder = InputEncoder().fit(X)
    model = build_model(
        encoder.specs_, graph, units=8, meta_units=4, image_widths=(4, 8), text_filters=4
    )
    assert model.output.shape == (None, 1)
    assert model(encoder.transform(X)).shape == (8, 1)


def test_build_body_returns_inputs_and_features():
    specs = [InputSpec("num", "numeric", ("a", "b"), (2,), "float32")]
    inputs, features = build_body(specs, units=5, depth=2)
    assert list(inputs) == ["num"] and inputs["num"].shape == (None, 2)
    assert features.shape == (None, 5)


# ---------------------------------------------------------------------- input encoder
def test_categorical_ids_reserve_missing_and_unseen():
    X = pd.DataFrame({"c": ["a", "b", "a", None]})
    encoder = InputEncoder().fit(X)
    ids = encoder.transform(pd.DataFrame({"c": ["a", "b", "zzz", None]}))["cat_c"].ravel()
    assert ids[0] == 2 and ids[1] == 3  # "a" is the most frequent level
    assert ids[2] == OOV and ids[3] == PAD
    assert encoder.specs_[0].vocab_size == 4


def test_categorical_dtype_and_object_give_same_ids():
    values = ["x", "y", "x", "z"]
    fitted = InputEncoder().fit(pd.DataFrame({"c": pd.Categorical(values)}))
    as_cat = fitted.transform(pd.DataFrame({"c": pd.Categorical([*values, "new"])}))
    as_obj = fitted.transform(pd.DataFrame({"c": pd.Series([*values, "new"], dtype=object)}))
    np.testing.assert_array_equal(as_cat["cat_c"], as_obj["cat_c"])


def test_numeric_standardized_with_missing_indicator():
    X = pd.DataFrame({"a": [1.0, 3.0, np.nan], "b": [1, 2, 3]})
    encoder = InputEncoder().fit(X)
    assert encoder.indicator_columns_ == ["a"]
    out = encoder.transform(pd.DataFrame({"a": [np.inf, 2.0], "b": [2, 2]}))["num"]
    # inf reads as missing: imputed with the mean (0 after scaling), indicator set.
    np.testing.assert_allclose(out, [[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]], atol=1e-6)


def test_numeric_outliers_are_clipped_to_fit_quantiles():
    """One wrong entry neither stretches the scale in fit nor drives a prediction off."""
    rng = np.random.default_rng(0)
    values = rng.normal(5.0, 1.0, size=5000)
    values[0] = 60.0  # a typo: 60 instead of 6.0
    encoder = InputEncoder().fit(pd.DataFrame({"a": values}))
    lo, hi = encoder.clip_ranges_[0]
    assert hi < 10 and lo > 0  # the 0.1% / 99.9% quantiles, not the typo
    assert encoder.scales_[0] == pytest.approx(1.0, rel=0.05)
    out = encoder.transform(pd.DataFrame({"a": [hi, 1e9, -1e9, 5.0]}))["num"][:, 0]
    assert out[1] == out[0]  # far above the range: the same input as the top of the range
    assert out[2] == encoder.transform(pd.DataFrame({"a": [lo]}))["num"][0, 0]
    assert abs(out[3]) < 0.1


def test_text_tokens_pad_truncate_and_oov():
    X = pd.DataFrame({"t": ["Red wool coat", "blue coat, like new", "", None, 42]})
    encoder = InputEncoder(roles={"t": "text"}, sequence_length=3).fit(X)
    out = encoder.transform(pd.DataFrame({"t": ["coat coat purple velvet", "", None]}))["txt_t"]
    coat = encoder.token_vocabularies_["t"].index("coat") + 2
    np.testing.assert_array_equal(out[0], [coat, coat, OOV])
    np.testing.assert_array_equal(out[1:], 0)
    assert tokenize("It's RED-ish!") == ["it's", "red", "ish"]


def test_text_cells_holding_arrays_raise():
    X = pd.DataFrame({"t": ["a b c", "d e f"]})
    encoder = InputEncoder(roles={"t": "text"}).fit(X)
    bad = pd.DataFrame({"t": [np.zeros(3), "x"]})
    with pytest.raises(ValueError, match="'t'"):
        encoder.transform(bad)


def test_missing_columns_and_wrong_image_shape_raise(clothing_small):
    X = clothing_small.X.iloc[:10]
    encoder = InputEncoder().fit(X)
    with pytest.raises(ValueError, match="brand"):
        encoder.transform(X.drop(columns="brand"))
    bad = X.copy()
    bad["photo_front"] = [np.zeros((16, 16, 3), dtype=np.uint8)] * len(bad)
    with pytest.raises(ValueError, match="photo_front"):
        encoder.transform(bad)


def test_encoder_does_not_mutate_and_pickles(clothing_small):
    X = clothing_small.X.iloc[:20]
    before = X.copy()
    encoder = InputEncoder().fit(X)
    out = encoder.transform(X)
    pd.testing.assert_frame_equal(X, before)
    again = pickle.loads(pickle.dumps(encoder)).transform(X)
    for key in out:
        np.testing.assert_array_equal(out[key], again[key])
    assert {s.group for s in encoder.specs_ if s.role == "image"} == {"shared0"}


def test_shared_groups_declared_or_off(clothing_small):
    X = clothing_small.X.iloc[:10].assign(title=clothing_small.X["description"].iloc[:10])
    off = InputEncoder(shared=False).fit(X)
    assert all(s.group is None for s in off.specs_)
    text = InputEncoder(shared=[["description", "title"]]).fit(X)
    groups = {s.name: s.group for s in text.specs_ if s.role == "text"}
    assert set(groups.values()) == {"shared0"}
    assert list(text.token_vocabularies_) == ["shared0"]  # one vocabulary for the group
    with pytest.raises(ValueError, match="same role"):
        InputEncoder(shared=[["brand", "description"]]).fit(X)
    with pytest.raises(ValueError, match="lacks"):
        InputEncoder(shared=[["nope", "description"]]).fit(X)


def test_image_paths_stream_through_pydataset(clothing_paths):
    from blend.members.deep import inputs

    X, y = clothing_paths.X, clothing_paths.y
    encoder = InputEncoder().fit(X)
    assert {s.name for s in encoder.streamed} == {"img_photo_front", "img_photo_back"}
    dataset = inputs.FrameDataset(encoder, X, y.to_numpy(), batch_size=16, shuffle=True)
    assert len(dataset) == 4
    x, target = dataset[0]
    assert x["img_photo_front"].shape == (16, 32, 32, 3)
    assert x["img_photo_front"].dtype == np.uint8
    assert target.shape == (16,)
    full = encoder.transform(X.iloc[:5])
    assert full["img_photo_back"].shape == (5, 32, 32, 3)
