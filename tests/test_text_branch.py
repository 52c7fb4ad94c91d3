"""Text read as a bag of n-grams or as a sequence: the encoder, the branch, the estimators'
``text`` parameter, the automatic choice, streaming and safe files. Small data throughout."""

import numpy as np
import pandas as pd
import pytest

keras = pytest.importorskip("keras")

import blend  # noqa: E402
from blend.members.deep.branches import bag_encoder, build_body  # noqa: E402
from blend.members.deep.estimators import (  # noqa: E402
    KerasGraphClassifier,
    KerasGraphRegressor,
    KerasMultiTaskEstimator,
)
from blend.members.deep.inputs import (  # noqa: E402
    FrameDataset,
    InputEncoder,
    choose_text_mode,
    ngrams,
)
from blend.members.wide_deep.estimators import WideDeepRegressor  # noqa: E402

TINY = {"model__units": 8, "model__meta_units": 8, "model__bag_units": 8, "batch_size": 64}


# ---------------------------------------------------------------------- the rule
def test_choose_text_mode_follows_the_samples_per_word_ratio():
    assert choose_text_mode(4000, 20.0) == "bag"  # ratio 200
    assert choose_text_mode(1499, 1.0) == "bag"
    assert choose_text_mode(1500, 1.0) == "sequence"
    assert choose_text_mode(200_000, 20.0) == "sequence"  # ratio 10,000
    assert choose_text_mode(100, 0.0) == "sequence"  # empty texts: nothing to bag


def test_ngrams_are_unigrams_then_bigrams():
    assert ngrams(["red", "wool", "coat"]) == ["red", "wool", "coat", "red wool", "wool coat"]
    assert ngrams([]) == []


# ---------------------------------------------------------------------- the encoder
def _texts(n, seed=0):
    rng = np.random.default_rng(seed)
    words = np.array(["red", "blue", "wool", "silk", "coat", "small", "hole", "new"])
    return pd.DataFrame({"t": [" ".join(rng.choice(words, 4)) for _ in range(n)]})


def test_bag_encoder_tfidf_rows_with_bigrams():
    X = _texts(60)
    enc = InputEncoder(text="bag").fit(X)
    (spec,) = enc.specs_
    assert (spec.role, spec.name, spec.dtype) == ("bag", "bag_t", "float32")
    assert enc.text_modes_ == {"t": "bag"}
    terms = enc.bag_vocabularies_["t"]
    assert spec.shape == (len(terms),) and any(" " in g for g in terms)  # bigrams kept
    bag = enc.transform(X)["bag_t"]
    assert bag.shape == (60, len(terms)) and bag.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(bag, axis=1), 1.0, rtol=1e-5)
    # A row's non-zero terms are exactly its n-grams in the vocabulary.
    row = set(ngrams(X["t"].iloc[0].split())) & set(terms)
    assert {terms[j] for j in np.flatnonzero(bag[0])} == row
    # Rarer terms weigh more (IDF).
    idf = dict(zip(terms, enc.bag_idf_["t"]))
    assert idf[terms[-1]] >= idf[terms[0]]
    # Unseen words give an empty row; missing text too.
    out = enc.transform(pd.DataFrame({"t": ["zebra giraffe", None]}))["bag_t"]
    assert not out.any()


def test_bag_vocabulary_is_capped_by_rows_and_max_tokens(posts):
    X, _ = posts
    enc = InputEncoder(text="bag").fit(X)
    assert len(enc.bag_vocabularies_["text"]) == 100  # 400 rows: the floor of 100 terms
    small = InputEncoder(text="bag", max_tokens=30).fit(X)
    assert len(small.bag_vocabularies_["text"]) == 30


def test_sparse_transform_matches_dense_and_batches_are_dense(posts):
    X, Y = posts
    enc = InputEncoder(text="bag").fit(X)
    sparse = enc.transform(X, sparse=True)["bag_text"]
    assert hasattr(sparse, "toarray")
    np.testing.assert_array_equal(sparse.toarray(), enc.transform(X)["bag_text"])
    data = FrameDataset(enc, X, Y["age"].to_numpy(), batch_size=64)
    assert hasattr(data.arrays["bag_text"], "toarray")  # the training set stays sparse
    x, y = data[0]
    assert isinstance(x["bag_text"], np.ndarray) and x["bag_text"].shape == (64, 100)


def test_auto_picks_per_column_and_records_it():
    rng = np.random.default_rng(0)
    short = pd.DataFrame({"t": rng.choice(["red", "blue", "green"], 1600)})
    roles = {"t": "text"}  # three distinct values would read as a category
    auto = InputEncoder(roles, text="auto")
    assert auto.fit(short).text_modes_ == {"t": "sequence"}  # ratio 1600
    assert auto.fit(short.iloc[:1000]).text_modes_ == {"t": "bag"}
    both = short.iloc[:1000].assign(u=_texts(1000)["t"], n=np.arange(1000.0))
    enc = InputEncoder(roles, text="auto").fit(both)
    assert enc.text_modes_ == {"t": "bag", "u": "bag"}
    assert [s.role for s in enc.specs_] == ["numeric", "bag", "bag"]
    assert InputEncoder(text="auto").fit(both[["n"]]).text_modes_ == {}


def test_shared_text_columns_share_one_bag():
    X = _texts(50).assign(u=_texts(50, seed=1)["t"])
    enc = InputEncoder(text="bag", shared=[["t", "u"]]).fit(X)
    assert list(enc.bag_vocabularies_) == ["shared0"]
    specs = enc.specs_
    assert {s.group for s in specs} == {"shared0"} and specs[0].shape == specs[1].shape
    inputs, features = build_body(specs, units=4, bag_units=4)
    model = keras.Model(inputs, features)
    assert len([layer for layer in model.layers if layer.name == "shared0_encoder"]) == 1


def test_bad_text_option():
    with pytest.raises(ValueError, match="text must be one of"):
        InputEncoder(text="words").fit(_texts(5))
    X, Y = _texts(20), np.arange(20.0)
    with pytest.raises(ValueError, match="text"):
        KerasGraphRegressor(text="words", epochs=1).fit(X, Y)


# ---------------------------------------------------------------------- the branch
def test_bag_encoder_branch_is_dense_with_seeded_dropout():
    spec = InputEncoder(text="bag").fit(_texts(30)).specs_[0]
    encoder = bag_encoder(spec, units=6, dropout=0.5, seed=0)
    assert [type(layer).__name__ for layer in encoder.layers] == ["InputLayer", "Dense", "Dropout"]
    x = np.ones((2, *spec.shape), dtype="float32")
    assert encoder(x).shape == (2, 6)
    again = bag_encoder(spec, units=6, dropout=0.5, seed=0)
    numpy = keras.ops.convert_to_numpy  # any backend's tensors (torch's carry gradients)
    np.testing.assert_array_equal(
        numpy(encoder(x, training=False)), numpy(again(x, training=False))
    )


# ---------------------------------------------------------------------- the estimators
@pytest.mark.parametrize("mode, input_name", [("bag", "bag_text"), ("sequence", "txt_text")])
def test_estimators_read_text_as_asked(posts, mode, input_name):
    X, Y = posts
    est = KerasGraphRegressor(text=mode, epochs=1, random_state=0, **TINY).fit(X, Y["age"])
    assert est.text_mode_ == {"text": mode}
    assert [t.name for t in est.model_.inputs] == [input_name]
    assert est.predict(X.iloc[:3]).shape == (3,)


def test_auto_is_the_default_and_a_no_op_without_text(posts):
    X, Y = posts
    assert KerasGraphClassifier().text == "auto"
    clf = KerasGraphClassifier(epochs=1, random_state=0, **TINY).fit(X, Y["gender"])
    assert clf.text_mode_ == {"text": "bag"}  # 400 posts of ~24 words: ratio ~17
    rng = np.random.default_rng(0)
    numeric = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    auto = KerasGraphRegressor(epochs=1, random_state=0, **TINY).fit(numeric, numeric["a"])
    seq = KerasGraphRegressor(text="sequence", epochs=1, random_state=0, **TINY)
    seq.fit(numeric, numeric["a"])
    assert auto.text_mode_ == {}
    np.testing.assert_array_equal(auto.predict(numeric), seq.predict(numeric))


def test_bag_network_learns_age_from_words(posts):
    X, Y = posts
    train, test = slice(0, 300), slice(300, 400)
    est = KerasGraphRegressor(text="bag", epochs=40, patience=8, random_state=0)
    est.fit(X.iloc[train], Y["age"].iloc[train])
    assert est.score(X.iloc[test], Y["age"].iloc[test]) > 0.3  # the mean scores 0


def test_wide_deep_and_multitask_take_text(posts):
    X, Y = posts
    X = X.assign(platform=np.where(Y["age"] > 40, "forum", "app"))
    wd = WideDeepRegressor(text="bag", epochs=1, random_state=0, crosses=None, **TINY)
    wd.fit(X, Y["age"])
    assert wd.text_mode_ == {"text": "bag"} and "bag_text" in wd.encoder_.transform(X.iloc[:2])
    assert wd.predict(X.iloc[:2]).shape == (2,)
    mt = KerasMultiTaskEstimator(text="sequence", epochs=1, random_state=0, **TINY).fit(X, Y)
    assert mt.text_mode_ == {"text": "sequence"}


def test_bag_model_saves_and_loads_with_identical_predictions(posts, tmp_path):
    X, Y = posts
    est = KerasGraphRegressor(text="auto", epochs=2, random_state=0, **TINY).fit(X, Y["age"])
    blend.save(est, tmp_path / "bag.blend")
    loaded = blend.load(tmp_path / "bag.blend")
    assert loaded.text_mode_ == {"text": "bag"}
    assert loaded.encoder_.bag_vocabularies_ == est.encoder_.bag_vocabularies_
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
