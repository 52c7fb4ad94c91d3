"""Serving: a fitted blend that answers one record at a time (a web handler's model).

A service receives rows as mappings (parsed JSON), not DataFrames. :class:`Predictor` checks a
record's keys against the columns the model was fitted on, builds the one-row frame and calls
the model's own ``predict``: the blend's small-batch path (packed trees, the deep members'
compiled function), so a record predicts exactly what the same row predicts as a one-row
DataFrame.
Creating it with an ``example`` record warms that path up (the deep members compile their
inference function, the boosters check their packed trees) before the first request.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

__all__ = ["Predictor"]


class Predictor:
    """A fitted estimator that predicts from records (mappings of column -> value).

    Parameters
    ----------
    model : fitted estimator
        A blend or any member fitted on a DataFrame (it has ``feature_names_in_``), for
        example one returned by :func:`blend.load`.
    example : mapping or one-row DataFrame, optional
        A typical record: predicted once at creation, so the first request pays no
        compilation or first-use checks.
    extra : {"error", "ignore"}, default="error"
        What to do with keys that are not model columns: ``"error"`` (a typo would otherwise
        become a missing value) or ``"ignore"`` (payloads that carry ids or metadata).

    Attributes
    ----------
    columns : list of str
        The columns a record must have (the model's ``feature_names_in_``).

    Examples
    --------
    >>> import blend
    >>> from blend.serve import Predictor
    >>> from blend.datasets import make_clothing
    >>> from sklearn.ensemble import RandomForestRegressor
    >>> X, y, _ = make_clothing(300, random_state=0)
    >>> X = X[["brand", "condition", "seller_rating"]]
    >>> model = blend.make_tree_pipeline(RandomForestRegressor(20, random_state=0)).fit(X, y)
    >>> serve = Predictor(model, example=X.iloc[0].to_dict())
    >>> record = {"brand": "zara", "condition": "good", "seller_rating": 4.5}
    >>> bool(serve.predict_one(record) == model.predict(pd.DataFrame([record]))[0])
    True
    """

    def __init__(
        self,
        model: object,
        *,
        example: Mapping | pd.DataFrame | None = None,
        extra: str = "error",
    ) -> None:
        if extra not in ("error", "ignore"):
            raise ValueError(f"extra must be 'error' or 'ignore'; got {extra!r}.")
        check_is_fitted(model)
        names = getattr(model, "feature_names_in_", None)
        if names is None:
            raise TypeError(
                f"{type(model).__name__} was fitted without column names (an array); "
                "Predictor reads records by column name: fit the model on a DataFrame."
            )
        self.model = model
        self.extra = extra
        self.columns = [str(c) for c in names]
        if example is not None:
            if isinstance(example, pd.DataFrame):
                example = example.iloc[0].to_dict()
            self.predict_one(example)

    def frame(self, records: Sequence[Mapping]) -> pd.DataFrame:
        """The records as the DataFrame the model reads (columns in fitted order)."""
        known = set(self.columns)
        for i, record in enumerate(records):
            if not isinstance(record, Mapping):
                raise TypeError(
                    f"record {i} is a {type(record).__name__}; pass a mapping of column -> "
                    "value (a dict, e.g. parsed JSON)."
                )
            missing = [c for c in self.columns if c not in record]
            unknown = [k for k in record if k not in known] if self.extra == "error" else []
            if missing or unknown:
                raise ValueError(_key_error(i, missing, unknown, self.columns))
        return pd.DataFrame.from_records(list(records), columns=self.columns)

    def predict_one(self, record: Mapping):
        """The model's prediction for one record (a scalar, or a row for several outputs)."""
        out = self.model.predict(self.frame([record]))
        out = out.iloc[0] if hasattr(out, "iloc") else np.asarray(out)[0]
        return out.item() if isinstance(out, np.generic) else out

    def predict_records(self, records: Sequence[Mapping]) -> np.ndarray:
        """The model's predictions for several records, in their order."""
        return self.model.predict(self.frame(records))

    def predict_proba_one(self, record: Mapping) -> np.ndarray:
        """Class probabilities for one record (classifiers), in ``model.classes_`` order."""
        if not hasattr(self.model, "predict_proba"):
            raise TypeError(f"{type(self.model).__name__} has no predict_proba (a regressor?).")
        return np.asarray(self.model.predict_proba(self.frame([record])))[0]


def _key_error(i: int, missing: list, unknown: list, columns: list[str]) -> str:
    parts = [f"record {i} does not match the model's columns:"]
    if missing:
        parts.append(f"missing {missing} (pass None for a missing value)")
    for key in unknown:
        close = difflib.get_close_matches(str(key), columns, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        parts.append(f"unknown {key!r}{hint}")
    return " ".join(parts[:1]) + " " + "; ".join(parts[1:]) + "."
