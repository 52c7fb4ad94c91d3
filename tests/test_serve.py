"""blend.serve.Predictor: records in, the model's own predictions out, clear key errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import Ridge

from blend import BlendClassifier, BlendRegressor, make_tree_pipeline
from blend.datasets import make_clothing
from blend.serve import Predictor

COLUMNS = ["brand", "category", "condition", "seller_rating", "days_listed", "description"]


@pytest.fixture(scope="module")
def clothing():
    X, y, _ = make_clothing(300, random_state=0)
    return X[COLUMNS], y


@pytest.fixture(scope="module")
def blend_model(clothing):
    X, y = clothing
    members = [
        ("forest", make_tree_pipeline(RandomForestRegressor(20, random_state=0))),
        ("ridge", make_tree_pipeline(Ridge())),
    ]
    return BlendRegressor(members, cv=3, method="nnls", random_state=0).fit(X, y)


def test_records_predict_what_the_batch_predicts(blend_model, clothing):
    X, _ = clothing
    serve = Predictor(blend_model, example=X.iloc[:1])
    records = X.iloc[:20].to_dict("records")
    batch = blend_model.predict(X.iloc[:20])
    one = np.array([serve.predict_one(r) for r in records])
    alone = np.concatenate([blend_model.predict(X.iloc[[i]]) for i in range(20)])
    np.testing.assert_array_equal(one, alone)
    # BLAS sums a dense (float32) linear member's rows in an order that depends on the batch
    np.testing.assert_allclose(one, batch, rtol=1e-6)
    np.testing.assert_array_equal(serve.predict_records(records), batch)
    assert isinstance(serve.predict_one(records[0]), float)


def test_missing_values_and_extra_keys(blend_model, clothing):
    X, _ = clothing
    record = X.iloc[0].to_dict()
    serve = Predictor(blend_model)
    assert np.isfinite(serve.predict_one({**record, "seller_rating": None, "brand": None}))
    with pytest.raises(ValueError, match=r"missing \['days_listed'\].*pass None"):
        serve.predict_one({k: v for k, v in record.items() if k != "days_listed"})
    with pytest.raises(
        ValueError, match=r"unknown 'selller_rating' \(did you mean 'seller_rating'"
    ):
        serve.predict_one({**record, "selller_rating": 4.0})
    lenient = Predictor(blend_model, extra="ignore")
    assert lenient.predict_one({**record, "id": 7}) == serve.predict_one(record)
    with pytest.raises(TypeError, match="mapping of column"):
        serve.predict_records([list(record.values())])
    with pytest.raises(ValueError, match="extra must be"):
        Predictor(blend_model, extra="drop")


def test_classifier_probabilities_and_array_models(clothing):
    X, y = clothing
    labels = pd.Series(np.where(y > y.median(), "high", "low"), index=y.index)
    members = [("forest", make_tree_pipeline(RandomForestClassifier(10, random_state=0)))]
    clf = BlendClassifier(members, cv=3, random_state=0).fit(X, labels)
    serve = Predictor(clf)
    record = X.iloc[3].to_dict()
    np.testing.assert_array_equal(
        serve.predict_proba_one(record), clf.predict_proba(X.iloc[[3]])[0]
    )
    assert serve.predict_one(record) in {"high", "low"}

    arrays = Ridge().fit(np.zeros((4, 2)), np.arange(4))
    with pytest.raises(TypeError, match="fitted without column names"):
        Predictor(arrays)
