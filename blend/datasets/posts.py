"""A seeded multi-task text problem: short posts whose words depend on their author.

Each author has three attributes, the targets:

=============  ==================================================================  ============
target         how it is drawn                                                     task
=============  ==================================================================  ============
``age``        uniform integer, 18 to 70 years                                     regression
``income``     ``low``, ``middle``, ``upper_middle``, ``high``: a softmax whose    4 classes
               scores grow with age (older authors earn more, with much overlap)
``gender``     ``female`` or ``male``, one half each                               binary
=============  ==================================================================  ============

A post has ``8 + Poisson(12)`` slots (its length says nothing about the author). Each slot is,
independently:

* with probability 0.25 an **age word**: 40 words (``homework``, ``mortgage``, ``pension``, ...),
  each with a preferred age spread evenly over 16 to 74 years; a word is drawn with probability
  proportional to ``exp(-(age - preferred)**2 / (2 * 10**2))``, so age shows as a drift in
  vocabulary, never as one telling word;
* with probability 0.15 an **income word**: 12 words per band (``coupon`` ... ``yacht``), drawn
  with probability proportional to ``exp(-1.2 * |band(word) - band|)``, so neighbouring bands
  share words;
* with probability 0.10 a **gender phrase** of two tokens (``my husband``, ``my wife``, ...): six
  phrases per gender, 80% from the author's own and 20% from the other's;
* otherwise a **filler word**, drawn from 80 common words by a Zipf law, the same for everyone.

The noise floor: the generator knows every word's source, so ``floor`` holds the scores of the
Bayes-optimal predictions on the generated rows (the posterior median age, the most probable
income band and gender, given each post's age, income and gender words under the exact
generative model). No model can do better on average; a model reading the text has to learn
which words carry which attribute from the rows alone.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

__all__ = ["INCOME_BANDS", "Posts", "make_posts"]

INCOME_BANDS = ("low", "middle", "upper_middle", "high")
_AGE_WORDS = (
    "homework exams roommate gaming dorm tiktok festival internship hostel semester "
    "startup gym flatmate commute dating wedding promotion toddler nappies daycare "
    "mortgage school_run minivan teenagers braces renovation marathon golf allotment "
    "empty_nest bifocals cruise retirement pension grandchildren knitting bowls "
    "arthritis bungalow hearing_aid"
).split()
_INCOME_WORDS = (
    ("coupon", "overtime", "bus_pass", "payday", "rent_arrears", "food_bank", "secondhand",
     "discount", "landlord", "minimum_wage", "laundrette", "night_shift"),
    ("budget", "car_loan", "packed_lunch", "savings", "camping", "outlet", "supermarket",
     "staycation", "bonus", "commuter", "takeaway", "bargain"),
    ("skiing", "organic", "sommelier", "pilates", "espresso_machine", "conservatory",
     "private_tutor", "audi", "gastropub", "interior_designer", "bistro", "farmers_market"),
    ("yacht", "portfolio", "chauffeur", "first_class", "vineyard", "polo", "penthouse",
     "hedge_fund", "caviar", "boarding_school", "villa", "butler"),
)  # fmt: skip
_GENDER_PHRASES = (
    ("my husband", "my boyfriend", "my sister", "as a mum", "my handbag", "hen party"),
    ("my wife", "my girlfriend", "my brother", "as a dad", "my beard", "stag do"),
)
_GENDERS = ("female", "male")
_FILLER = (
    "the a to and of in it is that for on with was this i just so but at be have my "
    "today really got all out up what like one about day time can when had will get now "
    "new great good more some still going think know back love people last need week "
    "best see make feel thanks why way right night lol finally home morning friends off "
    "again little long nice sure yes"
).split()
_TOPICS = np.array([0.25, 0.15, 0.10, 0.50])  # age, income, gender, filler
_AGES = np.arange(18, 71)
_AGE_WIDTH = 10.0
_INCOME_DECAY = 1.2
_GENDER_OWN = 0.8


class Posts(NamedTuple):
    """What :func:`make_posts` returns; unpacks as ``X, Y, floor``."""

    X: pd.DataFrame
    Y: pd.DataFrame
    floor: dict


def _age_table() -> np.ndarray:
    """``P(age word | age)``, shape ``(n_ages, n_age_words)``."""
    preferred = np.linspace(16, 74, len(_AGE_WORDS))
    logits = -((_AGES[:, None] - preferred[None, :]) ** 2) / (2 * _AGE_WIDTH**2)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def _income_table() -> np.ndarray:
    """``P(income word | band)``, shape ``(4, 48)``."""
    word_band = np.repeat(np.arange(4), [len(w) for w in _INCOME_WORDS])
    p = np.exp(-_INCOME_DECAY * np.abs(np.arange(4)[:, None] - word_band[None, :]))
    return p / p.sum(axis=1, keepdims=True)


def _band_given_age() -> np.ndarray:
    """``P(band | age)``, shape ``(n_ages, 4)``, a softmax over bands ``b = 0..3``.

    Scores ``3 b (age - 18) / 52 - 1.5 b`` (+0.5 for ``middle``): the higher bands gain with age.
    """
    bands = np.arange(4)
    x = (_AGES - 18) / 52
    logits = 3.0 * bands[None, :] * x[:, None] - 1.5 * bands[None, :] + 0.5 * (bands == 1)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


def _floor(age_ids: list, income_ids: list, gender_ids: list, Y: pd.DataFrame) -> dict:
    """Scores of the Bayes-optimal predictions from each post's informative words."""
    log_age, log_income = np.log(_age_table()), np.log(_income_table())
    prior = np.log(_band_given_age())  # uniform age prior: P(age, band) is P(band | age)
    ages, bands, genders = [], [], []
    for a_words, i_words, g_phrases in zip(age_ids, income_ids, gender_ids):
        joint = prior + log_age[:, a_words].sum(axis=1)[:, None]
        joint = joint + log_income[:, i_words].sum(axis=1)[None, :]
        joint = np.exp(joint - joint.max())
        joint /= joint.sum()
        cdf = np.cumsum(joint.sum(axis=1))
        ages.append(_AGES[np.searchsorted(cdf, 0.5)])
        bands.append(INCOME_BANDS[int(joint.sum(axis=0).argmax())])
        own = np.bincount(np.asarray(g_phrases, dtype=int), minlength=2)
        # P(phrase | gender) is 0.8 / 6 for the author's own phrases, 0.2 / 6 for the others'.
        genders.append(_GENDERS[int(own[1] > own[0])] if own[0] != own[1] else None)
    tie = np.array([g is None for g in genders])
    gender_hits = (np.array(genders, dtype=object) == Y["gender"].to_numpy())[~tie]
    return {
        "age_mae": float(np.mean(np.abs(np.array(ages) - Y["age"].to_numpy()))),
        "income_accuracy": float(np.mean(np.array(bands) == Y["income"].to_numpy())),
        "gender_accuracy": float((gender_hits.sum() + 0.5 * tie.sum()) / len(Y)),
    }


def make_posts(n: int = 4000, *, random_state=None) -> Posts:
    """Generate short posts and their authors' age, income band and gender.

    The word model, what drives each target and the noise floor are documented in
    :mod:`blend.datasets.posts`.

    Parameters
    ----------
    n : int, default=4000
        Number of posts (one author each).
    random_state : int, numpy Generator or None
        Seeds a local generator; the global random state is not touched.

    Returns
    -------
    X : pandas.DataFrame
        One column, ``text`` (lower-case words separated by spaces).
    Y : pandas.DataFrame
        ``age`` (float, years), ``income`` (one of :data:`INCOME_BANDS`, an ordered
        categorical) and ``gender`` (``"female"`` or ``"male"``).
    floor : dict
        ``age_mae``, ``income_accuracy`` and ``gender_accuracy`` of the Bayes-optimal
        predictions on these rows: the best any model can score on average.

    Examples
    --------
    >>> from blend.datasets import make_posts
    >>> X, Y, floor = make_posts(200, random_state=0)
    >>> X.columns.tolist(), Y.columns.tolist()
    (['text'], ['age', 'income', 'gender'])
    >>> sorted(floor)
    ['age_mae', 'gender_accuracy', 'income_accuracy']
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}.")
    rng = np.random.default_rng(random_state)
    age_index = rng.integers(0, len(_AGES), n)
    band_p = _band_given_age()[age_index]
    band = (rng.random(n)[:, None] > np.cumsum(band_p, axis=1)).sum(axis=1)
    band = np.minimum(band, 3)
    gender = rng.integers(0, 2, n)
    lengths = 8 + rng.poisson(12, n)
    age_p, income_p = _age_table(), _income_table()
    income_words = [w for band_words in _INCOME_WORDS for w in band_words]
    zipf = 1.0 / np.arange(1, len(_FILLER) + 1)
    zipf /= zipf.sum()
    texts, age_ids, income_ids, gender_ids = [], [], [], []
    for i in range(n):
        topics = rng.choice(4, size=lengths[i], p=_TOPICS)
        words, a_ids, i_ids, g_ids = [], [], [], []
        for topic in topics:
            if topic == 0:
                j = rng.choice(len(_AGE_WORDS), p=age_p[age_index[i]])
                a_ids.append(j)
                words.append(_AGE_WORDS[j])
            elif topic == 1:
                j = rng.choice(income_p.shape[1], p=income_p[band[i]])
                i_ids.append(j)
                words.append(income_words[j])
            elif topic == 2:
                side = gender[i] if rng.random() < _GENDER_OWN else 1 - gender[i]
                g_ids.append(side)
                words.append(_GENDER_PHRASES[side][rng.integers(len(_GENDER_PHRASES[side]))])
            else:
                words.append(_FILLER[rng.choice(len(_FILLER), p=zipf)])
        texts.append(" ".join(words).replace("_", " "))
        age_ids.append(a_ids)
        income_ids.append(i_ids)
        gender_ids.append(g_ids)
    X = pd.DataFrame({"text": texts})
    Y = pd.DataFrame(
        {
            "age": _AGES[age_index].astype(float),
            "income": pd.Categorical(
                np.array(INCOME_BANDS)[band], categories=INCOME_BANDS, ordered=True
            ),
            "gender": np.array(_GENDERS)[gender],
        }
    )
    return Posts(X, Y, _floor(age_ids, income_ids, gender_ids, Y))
