"""What makes one network with several heads train as well as one network per head.

:class:`~blend.members.deep.estimators.KerasMultiTaskEstimator` uses three pieces from here:

* **Loss weights** (:func:`baseline_loss`): each head's loss is divided by its loss at
  initialisation. Every head starts at its training prior (a regression head at the target
  mean, a classification head's bias at the log class frequencies, see :func:`prior_logits`),
  so that loss is the loss of predicting the prior: the target variance for a regression head,
  the entropy of the class frequencies for a classification head. Each weighted head then
  starts at 1 and reads as "the fraction of the prior's loss left", whatever its units or
  number of classes; a 4-class head does not dominate a binary one because its cross-entropy
  is larger. This is deterministic and free (uncertainty weighting, Kendall et al. 2018, learns
  the weights too, but adds parameters whose noise the early stopping then reads).
* **Early stopping per head** (:func:`head_early_stopping`, :func:`assemble_checkpoints`):
  each head has its own patience counter on its validation loss; a head that has not improved
  for ``patience`` epochs is done and leaves the training loss (its sample weights drop to 0),
  so the heads still learning are not pulled towards what it overfits; training stops when
  every head is done. A head that learns slowly (a regression head often needs several times
  the epochs of a classification head, whose cross-entropy starts to overfit first) is thus
  not cut off by one that has converged. Each head then predicts with the
  weights of its own best epoch: the kept model is the one of the epoch with the lowest sum of
  normalized validation losses, and a head whose best epoch differs reads its own copy of the
  body at that epoch. This is what one early-stopped network per head would give, from one
  training run; predicting costs one body per distinct best epoch.
* **Scores per head** (:func:`score_heads`): R² for regression heads, accuracy for the others.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "assemble_checkpoints",
    "baseline_loss",
    "head_early_stopping",
    "prior_logits",
    "score_heads",
]


def baseline_loss(task: str, target: np.ndarray, scale: float = 1.0) -> float:
    """The loss of predicting the training prior: a head's loss at initialisation.

    ``"regression"``: the mean squared error of the mean, ``scale**2`` (the target's variance);
    ``"binary"`` and ``"multiclass"``: the entropy of the class frequencies (in nats), at least
    ``1e-3`` so that a near-constant head does not get an enormous weight.

    Examples
    --------
    >>> bool(np.isclose(baseline_loss("binary", np.array([0, 1, 0, 1])), np.log(2)))
    True
    """
    if task == "regression":
        return float(scale) ** 2 if scale > 0 else 1.0
    codes = np.asarray(target).reshape(-1).astype(np.int64)
    p = np.bincount(codes) / len(codes)
    p = p[p > 0]
    return max(float(-(p * np.log(p)).sum()), 1e-3)


def prior_logits(task: str, target: np.ndarray) -> np.ndarray:
    """Output biases that make a classification head start at the class frequencies.

    ``"binary"``: the log odds (one value); ``"multiclass"``: the log frequencies (a softmax
    ignores a common shift). Frequencies are clipped to ``[1e-4, 1 - 1e-4]``.
    """
    codes = np.asarray(target).reshape(-1).astype(np.int64)
    k = 2 if task == "binary" else int(codes.max()) + 1
    p = np.clip(np.bincount(codes, minlength=k) / len(codes), 1e-4, 1 - 1e-4)
    if task == "binary":
        return np.array([np.log(p[1] / p[0])], dtype=np.float32)
    return np.log(p).astype(np.float32)


def head_early_stopping(
    heads: dict, weights: dict, patience: int, min_delta: float = 1e-4, gates: dict | None = None
):
    """A Keras callback: stop when no head's normalized validation loss has improved.

    Parameters
    ----------
    heads : dict
        ``{output name: target column}``.
    weights : dict
        ``{output name: 1 / baseline loss}``: each head's validation loss times its weight is
        its normalized loss (1 at the prior).
    patience : int
        Epochs without a head improving by ``min_delta`` before that head is done; training
        stops when every head is done.
    gates : dict, optional
        Filled with ``{output name: 1.0}`` at the start and set to ``0.0`` for a head when it
        is done: given to the training data as per-output sample-weight factors, it takes a
        finished head out of the training loss, so the heads still learning are not pulled
        towards what it overfits (it predicts from its own best epoch anyway).

    The callback restores the weights of the epoch with the lowest sum of normalized
    validation losses at the end of training, and keeps ``best_epochs`` (``{column: epoch}``,
    counted from 1, each head's own best), ``best_epoch`` (the epoch restored) and
    ``head_weights`` (``{output name: weights}`` at each head's best epoch, for
    :func:`assemble_checkpoints`).
    """
    import keras

    class HeadEarlyStopping(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.best = dict.fromkeys(heads, np.inf)
            self.best_epochs = dict.fromkeys(heads.values(), 0)
            self.wait = dict.fromkeys(heads, 0)
            self.gates = gates if gates is not None else {}
            self.gates.update(dict.fromkeys(heads, 1.0))
            self.best_sum, self.best_epoch, self.best_weights = np.inf, 0, None
            self.head_weights = {}

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            losses = {h: logs.get(f"val_{h}_loss") for h in heads}
            if any(v is None or not np.isfinite(v) for v in losses.values()):
                return  # nothing validated (or NaN, which TerminateOnNaN handles)
            snapshot = None  # one copy of the weights, taken when a head needs it
            for head, value in losses.items():
                if not self.gates[head]:
                    continue  # done: out of the loss, predicting from its best epoch
                value = float(value) * weights[head]
                if value < self.best[head] - min_delta:
                    self.best[head], self.best_epochs[heads[head]] = value, epoch + 1
                    snapshot = snapshot or self.model.get_weights()
                    self.head_weights[head] = (epoch + 1, snapshot)
                    self.wait[head] = 0
                else:
                    self.wait[head] += 1
                    if self.wait[head] >= patience:
                        self.gates[head] = 0.0
            total = sum(float(v) * weights[h] for h, v in losses.items())
            if total < self.best_sum:
                self.best_sum, self.best_epoch = total, epoch + 1
                self.best_weights = snapshot or self.model.get_weights()
            if not any(self.gates.values()):
                self.model.stop_training = True

        def on_train_end(self, logs=None):
            if self.best_weights is not None:
                self.model.set_weights(self.best_weights)
                self.best_weights = None  # the callback may outlive the fit: free the copy

    return HeadEarlyStopping()


def assemble_checkpoints(model, head_weights: dict, best_epoch: int):
    """One model whose every head predicts with the weights of its own best epoch.

    Parameters
    ----------
    model : keras.Model
        The trained model (weights of ``best_epoch``), with one output per head.
    head_weights : dict
        ``{output name: (epoch, weights)}`` from :func:`head_early_stopping`.
    best_epoch : int
        The epoch whose weights ``model`` holds.

    Returns
    -------
    keras.Model
        ``model`` itself when every head's best epoch is ``best_epoch``; otherwise a model
        over the same inputs that runs ``model`` and one copy per other epoch (named
        ``checkpoint_<epoch>``), each head reading its own.
    """
    import keras

    epochs = {head: epoch for head, (epoch, _) in head_weights.items() if epoch != best_epoch}
    if not epochs or not isinstance(model.output, dict):
        return model  # one epoch for all, or a graph of one's own without named outputs
    inputs = {t.name: keras.Input(batch_shape=t.shape, dtype=t.dtype, name=t.name)
              for t in model.inputs}  # fmt: skip
    bodies = {best_epoch: model(inputs)}
    for head, epoch in sorted(epochs.items(), key=lambda item: item[1]):
        if epoch not in bodies:
            copy = keras.models.clone_model(model)
            copy.name = f"checkpoint_{epoch}"
            copy.set_weights(head_weights[head][1])
            bodies[epoch] = copy(inputs)
    outputs = {head: bodies[epochs.get(head, best_epoch)][head] for head in bodies[best_epoch]}
    return keras.Model(inputs, outputs, name=model.name)


def score_heads(tasks: dict, Y: pd.DataFrame, predicted: pd.DataFrame) -> dict[str, float]:
    """``{column: score}``: R² for regression heads, accuracy for classification heads."""
    from sklearn.metrics import accuracy_score, r2_score

    missing = [c for c in tasks if c not in Y.columns]
    if missing:
        raise ValueError(
            f"y lacks the column(s) of head(s) {missing}; it needs one column per head "
            f"({list(tasks)})."
        )
    scores = {}
    for column, task in tasks.items():
        metric = r2_score if task == "regression" else accuracy_score
        scores[column] = float(metric(Y[column].to_numpy(), predicted[column].to_numpy()))
    return scores
