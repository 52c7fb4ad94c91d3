"""A member's predictions as the blender reads them: an ``(n, d)`` matrix per member.

- :func:`member_output`: outputs of a regressor, or probabilities over every class of a
  classifier (aligned when a fold model missed a class; one-hot votes without
  ``predict_proba``);
- :class:`FoldAverage`: the average of a member's fold models, its final model when it is not
  refit on all rows;
- :func:`shared_inputs`: members whose pipelines fitted identical preprocessing share one
  transform of the rows to predict.
"""

from __future__ import annotations

import pickle
import weakref

import joblib
import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from blend.ensemble import fast_predict as small_batch

__all__ = ["FoldAverage", "member_output", "shared_inputs"]

# fitted pipeline -> digest of its preprocessing steps (None: unpicklable), per process
_STEPS_DIGEST: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def member_output(estimator: object, X: object, classification: bool, n_classes: int) -> np.ndarray:
    """A member's predictions as ``(n, d)``: outputs, or probabilities over all classes."""
    if not classification:
        pred = np.asarray(small_batch.predict(estimator, X), dtype=float)
        return pred.reshape(len(pred), -1)
    if isinstance(estimator, FoldAverage):
        return estimator.predict_proba(X)
    classes = np.asarray(estimator.classes_).astype(int)
    if hasattr(estimator, "predict_proba"):
        proba = np.asarray(small_batch.predict_proba(estimator, X), dtype=float)
        if proba.shape[1] == n_classes and np.array_equal(classes, np.arange(n_classes)):
            return proba
        out = np.zeros((len(proba), n_classes))
        out[:, classes] = proba
        return out
    labels = np.asarray(estimator.predict(X)).astype(int)
    out = np.zeros((len(labels), n_classes))
    out[np.arange(len(labels)), labels] = 1.0
    return out


class FoldAverage(BaseEstimator):
    """The average of already fitted fold models, used as a member's final model.

    Built by the blender when ``refit=False`` and for expensive members; it is not fitted by
    itself. ``predict_proba`` aligns each fold model's ``classes_`` (encoded class indices)
    with ``n_classes`` columns.

    Parameters
    ----------
    estimators : list of fitted estimators
        The fold models.
    n_classes : int or None
        Number of classes for classifiers; None for regressors.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> X = np.arange(6.0).reshape(-1, 1)
    >>> a = LinearRegression().fit(X, X[:, 0])
    >>> b = LinearRegression().fit(X, 2 * X[:, 0])
    >>> FoldAverage([a, b]).predict(X[:2]).round(6).tolist()
    [0.0, 1.5]
    """

    def __init__(self, estimators: list, n_classes: int | None = None):
        self.estimators = estimators
        self.n_classes = n_classes

    @property
    def classes_(self) -> np.ndarray:
        return np.arange(self.n_classes)

    def predict(self, X) -> np.ndarray:
        if self.n_classes is not None:
            return self.predict_proba(X).argmax(axis=1)
        predictions = [np.asarray(small_batch.predict(e, X), dtype=float) for e in self.estimators]
        return np.mean(predictions, axis=0)

    def predict_proba(self, X) -> np.ndarray:
        return np.mean([member_output(e, X, True, self.n_classes) for e in self.estimators], axis=0)


def _steps_digest(estimator) -> str | None:
    """A digest of a fitted pipeline's preprocessing steps: equal digests, equal transforms."""
    if not isinstance(estimator, Pipeline) or len(estimator.steps) < 2:
        return None
    if estimator not in _STEPS_DIGEST:
        try:
            _STEPS_DIGEST[estimator] = joblib.hash([step for _, step in estimator.steps[:-1]])
        except (pickle.PicklingError, TypeError, AttributeError):  # unpicklable: not shared
            _STEPS_DIGEST[estimator] = None
    return _STEPS_DIGEST[estimator]


def shared_inputs(estimators: list, X: object, n_jobs: int | None) -> list[tuple[object, object]]:
    """``(model, input)`` per member, transforming ``X`` once per distinct preprocessing.

    Default members put identical featurizers (same parameters, fitted on the same rows) in
    front of several models; the featurizer is the costly part of a one-row prediction (and
    of a batch with text or images), so pipelines whose steps have equal fitted state share
    one transform and only their final models run apart.
    """
    digests = [_steps_digest(est) for est in estimators]
    shared = {g for g in digests if g is not None and digests.count(g) > 1}
    if not shared:
        return [(est, X) for est in estimators]
    first = {g: estimators[digests.index(g)] for g in shared}
    groups = list(first)
    if n_jobs is not None and len(groups) > 1:
        done = Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(first[g][:-1].transform)(X) for g in groups
        )
    else:
        done = [first[g][:-1].transform(X) for g in groups]
    transformed = dict(zip(groups, done))
    return [
        (est[-1], transformed[g]) if g in shared else (est, X)
        for est, g in zip(estimators, digests)
    ]
