"""Built-in data: the real ``diamonds`` prices, a synthetic second-hand clothing market and
synthetic posts by authors of known age, income and gender (:func:`make_posts`, documented in
:mod:`blend.datasets.posts`).

``make_clothing`` is a multi-input pricing problem with a known answer. The log price of each
listing is a documented sum of effects, some of which only one modality can see:

=====================  ===========================================================  ============
term                   effect on log price                                          seen in
=====================  ===========================================================  ============
base                   ``3.2``                                                      --
brand                  tier baseline: luxury +1.1, premium +0.55, mid 0, budget -0.45  metadata
category               coat +0.45, jacket +0.3, dress +0.2, shoes +0.25, jeans +0.05,  metadata
                       sweater 0, skirt -0.05, t-shirt -0.4
gender                 women 0, men -0.05, unisex -0.1                               metadata
age_group              adult 0, teen -0.2, kids -0.45                                metadata
style                  formal +0.15, vintage +0.2, streetwear +0.05, casual 0,        metadata
                       sport -0.1
size                   XS -0.05, XXL -0.05, others 0                                 metadata
condition x brand      condition effect (new_with_tags +0.3, like_new +0.12, good 0,  metadata
                       fair -0.25, poor -0.55) times the brand tier's retention       (interaction)
                       (luxury 1.8, premium 1.3, mid 1.0, budget 0.6)
seller_rating          ``0.1 * (rating - 4)``; a missing rating -0.1                 metadata
days_listed            ``-0.25 * days / 365``                                        metadata
material               cashmere +0.45, leather +0.4, silk +0.35, wool +0.2,           text only
                       linen +0.1, denim 0.05, cotton 0, polyester -0.2
defect                 none 0, "small hole" -0.3, "missing button" -0.15,             text only
                       "faded colour" -0.2, "broken zip" -0.25
extra                  "limited edition" +0.3, "handmade" +0.15, none 0              text only
pattern                solid 0, striped +0.1, checked +0.2, dotted -0.1              photos only
wear                   ``-0.2 * wear`` for wear levels 0, 1, 2 (washed-out colour,    photos only
                       speckles)
stain                  -0.35 when a stain shows on the front or the back photo       photos only
noise                  Gaussian, standard deviation ``noise`` (default 0.2)          --
=====================  ===========================================================  ============

The noise standard deviation is the best RMSE on log price any model can reach (the floor).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from blend.datasets.posts import Posts, make_posts

__all__ = ["ClothingMarket", "Posts", "load_diamonds", "make_clothing", "make_posts"]

DIAMOND_ORDER = {
    "cut": ["Fair", "Good", "Very Good", "Premium", "Ideal"],
    "color": ["J", "I", "H", "G", "F", "E", "D"],
    "clarity": ["I1", "SI2", "SI1", "VS2", "VS1", "VVS2", "VVS1", "IF"],
}


def _data_file(name: str):
    """A data file shipped inside the package (``blend/datasets/data/``), wheel or checkout."""
    path = resources.files("blend.datasets") / "data" / name
    if not path.is_file():
        raise FileNotFoundError(
            f"The data file {name!r} is missing from the installed package ({path}); "
            "reinstall blend."
        )
    return path


def load_diamonds(*, log_price: bool = False) -> tuple[pd.DataFrame, pd.Series]:
    """Load ggplot2's ``diamonds`` data (53,940 diamonds, prices in US dollars).

    Parameters
    ----------
    log_price : bool, default=False
        Return ``log(price)`` (named ``log_price``) instead of the price.

    Returns
    -------
    X : pandas.DataFrame
        ``carat, cut, color, clarity, depth, table, x, y, z``; ``cut``, ``color`` and
        ``clarity`` are ordered categoricals (worst to best).
    y : pandas.Series
        The price, or its logarithm.

    Examples
    --------
    >>> from blend.datasets import load_diamonds
    >>> X, y = load_diamonds(log_price=True)
    >>> X.shape
    (53940, 9)
    """
    frame = pd.read_csv(_data_file("diamonds.csv.gz"))
    for column, order in DIAMOND_ORDER.items():
        frame[column] = pd.Categorical(frame[column], categories=order, ordered=True)
    y = frame.pop("price").astype("float64")
    if log_price:
        y = np.log(y).rename("log_price")
    return frame, y


# --------------------------------------------------------------------------- clothing market
BRAND_TIER = {
    "Maison Verre": "luxury",
    "Aurelia": "luxury",
    "Castellane": "luxury",
    "Nordvik": "premium",
    "Calder & Co": "premium",
    "Holloway": "premium",
    "Urban Thread": "mid",
    "Kestrel": "mid",
    "Lumen": "mid",
    "BasicWear": "budget",
    "ValueMart": "budget",
    "Fastfit": "budget",
}
TIER_EFFECT = {"luxury": 1.1, "premium": 0.55, "mid": 0.0, "budget": -0.45}
TIER_RETENTION = {"luxury": 1.8, "premium": 1.3, "mid": 1.0, "budget": 0.6}
CATEGORY = {
    "coat": 0.45,
    "jacket": 0.3,
    "dress": 0.2,
    "shoes": 0.25,
    "jeans": 0.05,
    "sweater": 0.0,
    "skirt": -0.05,
    "t-shirt": -0.4,
}
GENDER = {"women": 0.0, "men": -0.05, "unisex": -0.1}
AGE_GROUP = {"adult": 0.0, "teen": -0.2, "kids": -0.45}
STYLE = {"formal": 0.15, "vintage": 0.2, "streetwear": 0.05, "casual": 0.0, "sport": -0.1}
SIZE = {"XS": -0.05, "S": 0.0, "M": 0.0, "L": 0.0, "XL": 0.0, "XXL": -0.05}
CONDITION = {"new_with_tags": 0.3, "like_new": 0.12, "good": 0.0, "fair": -0.25, "poor": -0.55}
MATERIAL = {
    "cashmere": 0.45,
    "leather": 0.4,
    "silk": 0.35,
    "wool": 0.2,
    "linen": 0.1,
    "denim": 0.05,
    "cotton": 0.0,
    "polyester": -0.2,
}
DEFECT = {
    "none": 0.0,
    "small hole": -0.3,
    "missing button": -0.15,
    "faded colour": -0.2,
    "broken zip": -0.25,
}
EXTRA = {"none": 0.0, "limited edition": 0.3, "handmade": 0.15}
PATTERN = {"solid": 0.0, "striped": 0.1, "checked": 0.2, "dotted": -0.1}
WEAR_EFFECT = -0.2  # per wear level (0, 1, 2)
STAIN_EFFECT = -0.35
BASE = 3.2
IMAGE_SIZE = 32

_DEFECT_PHRASES = {
    "none": ["No flaws.", "In great shape, no defects.", "Flawless.", ""],
    "small hole": ["Has a small hole near the hem.", "Small hole on the sleeve, see photos."],
    "missing button": ["One missing button.", "Missing button, easy to replace."],
    "faded colour": ["Colour is a bit faded.", "Faded colour from washing."],
    "broken zip": ["The zip is broken.", "Broken zip, needs repair."],
}
_EXTRA_PHRASES = {
    "none": [""],
    "limited edition": ["Limited edition piece!", "Part of a limited edition run."],
    "handmade": ["Handmade by a small atelier.", "Lovely handmade item."],
}
_FILLER = [
    "Smoke-free home.",
    "Fast shipping.",
    "Ask me anything.",
    "Bundle discounts available.",
    "Worn a few times.",
    "Great for everyday wear.",
    "Fits true to size.",
    "",
    "",
]
_COLOURS = np.array(
    [
        [200, 40, 40],
        [40, 80, 180],
        [40, 140, 70],
        [30, 30, 35],
        [225, 220, 205],
        [190, 150, 60],
        [120, 60, 140],
        [230, 120, 160],
        [110, 110, 115],
    ],
    dtype=np.float32,
)


class ClothingMarket(NamedTuple):
    """What :func:`make_clothing` returns; unpacks as ``X, y, noise_std``."""

    X: pd.DataFrame
    y: pd.Series
    noise_std: float


def _pick(rng: np.random.Generator, options: dict, n: int, p=None) -> np.ndarray:
    keys = np.array(list(options), dtype=object)
    return keys[rng.choice(len(keys), size=n, p=p)]


def _silhouettes(size: int) -> dict[str, np.ndarray]:
    """One boolean garment mask per category (front view)."""
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    cx = np.abs(xx - 0.5)
    body = (yy > 0.15) & (yy < 0.9)
    return {
        "coat": body & (cx < 0.32) | ((yy > 0.15) & (yy < 0.75) & (cx < 0.45)),
        "jacket": (yy > 0.15) & (yy < 0.7) & (cx < 0.42),
        "dress": (yy > 0.1) & (yy < 0.92) & (cx < 0.12 + 0.3 * yy),
        "shoes": (yy > 0.55) & (yy < 0.85) & (cx > 0.05) & (cx < 0.42),
        "jeans": (yy > 0.1) & (yy < 0.92) & (cx < 0.35) & ~((yy > 0.4) & (cx < 0.05)),
        "sweater": (yy > 0.2) & (yy < 0.8) & (cx < 0.4),
        "skirt": (yy > 0.3) & (yy < 0.8) & (cx < 0.1 + 0.35 * (yy - 0.3) / 0.5),
        "t-shirt": ((yy > 0.2) & (yy < 0.8) & (cx < 0.25))
        | ((yy > 0.2) & (yy < 0.38) & (cx < 0.42)),
    }


def _pattern_masks(size: int) -> dict[str, np.ndarray]:
    yy, xx = np.mgrid[0:size, 0:size]
    return {
        "solid": np.zeros((size, size), dtype=bool),
        "striped": (yy // 3) % 2 == 0,
        "checked": ((yy // 4) + (xx // 4)) % 2 == 0,
        "dotted": (yy % 6 < 2) & (xx % 6 < 2),
    }


def _photos(
    rng: np.random.Generator,
    category: np.ndarray,
    pattern: np.ndarray,
    wear: np.ndarray,
    stain_front: np.ndarray,
    stain_back: np.ndarray,
    size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Render front and back photos, vectorized over listings."""
    n = len(category)
    silhouettes = _silhouettes(size)
    patterns = _pattern_masks(size)
    garment = np.stack([silhouettes[c] for c in category])  # (n, s, s)
    colour = _COLOURS[rng.integers(len(_COLOURS), size=n)]  # (n, 3)
    wash = (0.25 * wear)[:, None]
    colour = colour * (1 - wash) + 160.0 * wash  # wear washes the colour out toward grey
    motif = np.stack([patterns[p] for p in pattern])[..., None]
    yy, xx = np.mgrid[0:size, 0:size]
    stain_y = rng.uniform(0.35, 0.65, size=(n, 2)) * size
    stain_x = rng.uniform(0.35, 0.65, size=(n, 2)) * size
    radius = rng.uniform(2.5, 4.0, size=(n, 2))

    views = []
    for view, stained in enumerate((stain_front, stain_back)):
        mask = garment if view == 0 else garment[:, :, ::-1]
        image = np.empty((n, size, size, 3), dtype=np.float32)
        image[:] = 238.0
        fill = np.broadcast_to(colour[:, None, None, :], image.shape)
        fill = np.where(motif, fill * 0.55, fill)
        image = np.where(mask[..., None], fill, image)
        # Wear: speckles inside the garment, stronger with the wear level.
        speckle = rng.standard_normal(size=(n, size, size, 1), dtype=np.float32)
        speckle *= (18.0 * wear).astype(np.float32)[:, None, None, None]
        image = image + np.where(mask[..., None], speckle, np.float32(0.0))
        # Stains: a dark brown blob on the stained view.
        dist = (yy[None] - stain_y[:, view, None, None]) ** 2 + (
            xx[None] - stain_x[:, view, None, None]
        ) ** 2
        blob = (dist < radius[:, view, None, None] ** 2) & mask & stained[:, None, None]
        image = np.where(blob[..., None], np.float32([90.0, 60.0, 30.0]), image)
        # Camera: brightness, sensor noise and a small shift.
        image = image * rng.normal(1.0, 0.04, size=(n, 1, 1, 1)).astype(np.float32)
        image += 3.0 * rng.standard_normal(size=image.shape, dtype=np.float32)
        shift = rng.integers(-2, 3, size=2)
        image = np.roll(image, tuple(shift), axis=(1, 2))
        views.append(np.clip(image, 0, 255).astype(np.uint8))
    return views[0], views[1]


def _descriptions(rng, brand, category, gender, style, material, defect, extra) -> list[str]:
    n = len(brand)
    openers = rng.integers(3, size=n)
    defect_pick = rng.random(n)
    extra_pick = rng.random(n)
    filler = rng.integers(len(_FILLER), size=(n, 2))
    material_form = rng.integers(3, size=n)
    texts = []
    for i in range(n):
        mat = material[i]
        mat_text = (f"Made of {mat}.", f"100% {mat}.", f"Soft {mat} fabric.")[material_form[i]]
        name = (
            f"{style[i].capitalize()} {category[i]} from {brand[i]}.",
            f"{brand[i]} {category[i]}, {style[i]} look, for {gender[i]}.",
            f"Selling my {category[i]} by {brand[i]}.",
        )[openers[i]]
        d_opts = _DEFECT_PHRASES[defect[i]]
        e_opts = _EXTRA_PHRASES[extra[i]]
        parts = [
            name,
            mat_text,
            d_opts[int(defect_pick[i] * len(d_opts))],
            e_opts[int(extra_pick[i] * len(e_opts))],
            _FILLER[filler[i, 0]],
            _FILLER[filler[i, 1]],
        ]
        texts.append(" ".join(p for p in parts if p))
    return texts


def _write_pngs(images: np.ndarray, folder: Path, stem: str) -> list[str]:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, image in enumerate(images):
        path = folder / f"{stem}_{i:06d}.png"
        Image.fromarray(image).save(path)
        paths.append(str(path))
    return paths


def make_clothing(
    n_samples: int = 10_000,
    random_state: int | np.random.Generator | None = None,
    *,
    noise: float = 0.2,
    image_size: int = IMAGE_SIZE,
    image_dir: str | os.PathLike | None = None,
    return_latent: bool = False,
) -> ClothingMarket | tuple[pd.DataFrame, pd.Series, float, pd.DataFrame]:
    """Generate a synthetic second-hand clothing marketplace.

    Each listing has metadata, a free-text description and two product photos. The target is
    the log price, a documented sum of effects (see the module docstring) plus Gaussian noise:
    materials, defects and extras appear only in the text; the pattern, wear and stains only in
    the photos; and condition acts through the brand tier (an interaction).

    Parameters
    ----------
    n_samples : int, default=10000
        Number of listings.
    random_state : int, numpy Generator or None
        Seed; the same seed gives identical data.
    noise : float, default=0.2
        Standard deviation of the Gaussian noise on the log price: the floor on RMSE.
    image_size : int, default=32
        Height and width of the square RGB photos.
    image_dir : path, optional
        Write the photos as PNG files under this folder and return their paths in the
        ``photo_front``/``photo_back`` columns instead of arrays.
    return_latent : bool, default=False
        Also return a frame of the hidden drivers (material, defect, extra, pattern, wear,
        stain) and ``true_log_price``, the noise-free price function.

    Returns
    -------
    ClothingMarket
        A named tuple ``(X, y, noise_std)``: ``X`` the listings (columns ``brand, category,
        gender, age_group, style, condition, size, seller_rating, days_listed, description,
        photo_front, photo_back``), ``y`` the log price, ``noise_std`` the floor. With
        ``return_latent=True`` a 4-tuple ``(X, y, noise_std, latent)``.

    Examples
    --------
    >>> from blend.datasets import make_clothing
    >>> X, y, floor = make_clothing(200, random_state=0)
    >>> X["photo_front"].iloc[0].shape, floor
    ((32, 32, 3), 0.2)
    """
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
    if not noise >= 0:
        raise ValueError(f"noise must be a non-negative number, got {noise!r}.")
    if image_size < 16:
        raise ValueError(f"image_size must be at least 16 pixels, got {image_size}.")
    rng = np.random.default_rng(random_state)
    n = int(n_samples)

    brand = _pick(rng, BRAND_TIER, n)
    tier = np.array([BRAND_TIER[b] for b in brand], dtype=object)
    category = _pick(rng, CATEGORY, n)
    gender = _pick(rng, GENDER, n, p=[0.5, 0.35, 0.15])
    age_group = _pick(rng, AGE_GROUP, n, p=[0.7, 0.15, 0.15])
    style = _pick(rng, STYLE, n)
    condition = _pick(rng, CONDITION, n, p=[0.15, 0.3, 0.3, 0.15, 0.1])
    size = _pick(rng, SIZE, n, p=[0.08, 0.2, 0.3, 0.22, 0.13, 0.07])
    rating = np.round(np.clip(rng.normal(4.2, 0.6, size=n), 1.0, 5.0), 1)
    rating[rng.random(n) < 0.1] = np.nan
    days = rng.integers(0, 366, size=n)
    material = _pick(rng, MATERIAL, n)
    defect = _pick(rng, DEFECT, n, p=[0.6, 0.1, 0.1, 0.1, 0.1])
    extra = _pick(rng, EXTRA, n, p=[0.8, 0.1, 0.1])
    pattern = _pick(rng, PATTERN, n)
    wear = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    stained = rng.random(n) < 0.25
    stain_side = rng.random(n) < 0.5
    stain_front, stain_back = stained & stain_side, stained & ~stain_side

    def look(table, keys):
        return np.array([table[k] for k in keys])

    rating_effect = np.where(np.isnan(rating), -0.1, 0.1 * (np.nan_to_num(rating, nan=4.0) - 4))
    true_log_price = (
        BASE
        + look(TIER_EFFECT, tier)
        + look(CATEGORY, category)
        + look(GENDER, gender)
        + look(AGE_GROUP, age_group)
        + look(STYLE, style)
        + look(SIZE, size)
        + look(CONDITION, condition) * look(TIER_RETENTION, tier)
        + rating_effect
        - 0.25 * days / 365
        + look(MATERIAL, material)
        + look(DEFECT, defect)
        + look(EXTRA, extra)
        + look(PATTERN, pattern)
        + WEAR_EFFECT * wear
        + STAIN_EFFECT * stained
    )
    y = true_log_price + rng.normal(0.0, noise, size=n)

    description = _descriptions(rng, brand, category, gender, style, material, defect, extra)
    front, back = _photos(rng, category, pattern, wear, stain_front, stain_back, image_size)
    if image_dir is not None:
        folder = Path(image_dir)
        front_cells: list = _write_pngs(front, folder, "front")
        back_cells: list = _write_pngs(back, folder, "back")
    else:
        front_cells, back_cells = list(front), list(back)

    def categorical(values, options):
        return pd.Categorical(values, categories=list(options))

    X = pd.DataFrame(
        {
            "brand": categorical(brand, BRAND_TIER),
            "category": categorical(category, CATEGORY),
            "gender": categorical(gender, GENDER),
            "age_group": categorical(age_group, AGE_GROUP),
            "style": categorical(style, STYLE),
            "condition": pd.Categorical(condition, categories=list(CONDITION)[::-1], ordered=True),
            "size": pd.Categorical(size, categories=list(SIZE), ordered=True),
            "seller_rating": rating,
            "days_listed": days,
            "description": pd.Series(description, dtype=object),
            "photo_front": pd.Series(front_cells, dtype=object),
            "photo_back": pd.Series(back_cells, dtype=object),
        }
    )
    y = pd.Series(y, name="log_price")
    if return_latent:
        latent = pd.DataFrame(
            {
                "material": material,
                "defect": defect,
                "extra": extra,
                "pattern": pattern,
                "wear": wear,
                "stain_front": stain_front,
                "stain_back": stain_back,
                "true_log_price": true_log_price,
            }
        )
        return X, y, float(noise), latent
    return ClothingMarket(X, y, float(noise))
