import numpy as np
import pandas as pd
import pytest

from blend import datasets
from blend.datasets import DIAMOND_ORDER, load_diamonds, make_clothing


def test_load_diamonds_shapes_and_dtypes():
    X, y = load_diamonds()
    assert X.shape == (53_940, 9)
    assert list(X.columns) == ["carat", "cut", "color", "clarity", "depth", "table", "x", "y", "z"]
    for column, order in DIAMOND_ORDER.items():
        assert isinstance(X[column].dtype, pd.CategoricalDtype)
        assert X[column].cat.ordered
        assert list(X[column].cat.categories) == order
        assert X[column].notna().all()
    assert y.name == "price" and y.min() == 326 and y.max() == 18_823


def test_load_diamonds_log_price():
    _, y = load_diamonds()
    _, log_y = load_diamonds(log_price=True)
    assert log_y.name == "log_price"
    np.testing.assert_allclose(np.exp(log_y), y)


def test_make_clothing_is_deterministic():
    X1, y1, f1 = make_clothing(300, random_state=7)
    X2, y2, f2 = make_clothing(300, random_state=7)
    pd.testing.assert_series_equal(y1, y2)
    assert f1 == f2 == 0.2
    for column in X1.columns:
        if column.startswith("photo"):
            assert all(np.array_equal(a, b) for a, b in zip(X1[column], X2[column]))
        else:
            pd.testing.assert_series_equal(X1[column], X2[column])
    _, y3, _ = make_clothing(300, random_state=8)
    assert not np.allclose(y1, y3)


def test_make_clothing_columns_and_dtypes():
    X, y, floor = make_clothing(200, random_state=0)
    assert X.shape == (200, 12) and len(y) == 200
    for column in ["brand", "category", "gender", "age_group", "style", "condition", "size"]:
        assert isinstance(X[column].dtype, pd.CategoricalDtype), column
    assert X["condition"].cat.ordered
    assert X["seller_rating"].isna().any() and X["seller_rating"].dtype == np.float64
    assert all(isinstance(t, str) and t for t in X["description"])
    for column in ["photo_front", "photo_back"]:
        assert all(p.shape == (32, 32, 3) and p.dtype == np.uint8 for p in X[column])
    assert np.isfinite(y).all() and y.name == "log_price"


def test_noise_floor_matches_documented_function():
    X, y, floor, latent = make_clothing(20_000, random_state=3, return_latent=True)
    residual = y - latent["true_log_price"]
    assert abs(residual.std() / floor - 1) < 0.05
    assert abs(residual.mean()) < 0.01
    # the signal dwarfs the noise, so the floor is a meaningful target
    assert latent["true_log_price"].std() > 3 * floor


def test_price_function_is_the_documented_sum():
    X, y, floor, latent = make_clothing(2_000, random_state=1, noise=0.0, return_latent=True)
    np.testing.assert_allclose(y, latent["true_log_price"])
    tier = X["brand"].map(datasets.BRAND_TIER).astype(str)
    rating = X["seller_rating"]
    expected = (
        datasets.BASE
        + tier.map(datasets.TIER_EFFECT)
        + X["category"].astype(str).map(datasets.CATEGORY)
        + X["gender"].astype(str).map(datasets.GENDER)
        + X["age_group"].astype(str).map(datasets.AGE_GROUP)
        + X["style"].astype(str).map(datasets.STYLE)
        + X["size"].astype(str).map(datasets.SIZE)
        + X["condition"].astype(str).map(datasets.CONDITION) * tier.map(datasets.TIER_RETENTION)
        + np.where(rating.isna(), -0.1, 0.1 * (rating.fillna(4) - 4))
        - 0.25 * X["days_listed"] / 365
        + latent["material"].map(datasets.MATERIAL)
        + latent["defect"].map(datasets.DEFECT)
        + latent["extra"].map(datasets.EXTRA)
        + latent["pattern"].map(datasets.PATTERN)
        + datasets.WEAR_EFFECT * latent["wear"]
        + datasets.STAIN_EFFECT * (latent["stain_front"] | latent["stain_back"])
    )
    np.testing.assert_allclose(y, expected, atol=1e-9)


def test_text_only_and_photo_only_signals_are_where_documented():
    X, _, _, latent = make_clothing(1_000, random_state=2, return_latent=True)
    # every material word appears in its description
    assert all(m in d for m, d in zip(latent["material"], X["description"]))

    # a stained front photo has dark brown pixels; an unstained, unworn one rarely does
    def brown(img):
        r, g, b = img[..., 0].astype(int), img[..., 1].astype(int), img[..., 2].astype(int)
        return ((abs(r - 90) < 25) & (abs(g - 60) < 25) & (abs(b - 30) < 25)).sum()

    stained = [brown(p) for p, s in zip(X["photo_front"], latent["stain_front"]) if s]
    clean = [brown(p) for p, s in zip(X["photo_front"], latent["stain_front"]) if not s]
    assert np.median(stained) > 10 * max(np.median(clean), 1)


def test_make_clothing_png_paths(tmp_path):
    X, _, _ = make_clothing(5, random_state=0, image_dir=tmp_path)
    arrays, _, _ = make_clothing(5, random_state=0)
    from PIL import Image

    for path, array in zip(X["photo_back"], arrays["photo_back"]):
        assert path.endswith(".png")
        np.testing.assert_array_equal(np.asarray(Image.open(path)), array)


@pytest.mark.parametrize("bad", [0, -3, 2.5])
def test_make_clothing_rejects_bad_sizes(bad):
    with pytest.raises(ValueError, match="n_samples"):
        make_clothing(bad)
