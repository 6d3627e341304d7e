r"""Evaluation of frozen representations: weighted k-NN and a linear probe.

* :func:`knn_accuracy`: cosine similarity to every training feature; the ``k`` nearest vote with
  weights ``exp(sim / T)`` (the weighted k-NN of instance discrimination / DINO).
* :func:`linear_probe_accuracy`: multinomial logistic regression on standardised features,
  full-batch Adam with a small L2 penalty, test accuracy.
* :func:`representations`: the encoder's output for a set of images, in evaluation mode
  (BatchNorm running statistics), in fixed-size chunks (one compilation).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

__all__ = ["knn_accuracy", "linear_probe_accuracy", "representations"]


@functools.partial(jax.jit, static_argnames=("k", "num_classes"))
def _knn_predict(train_f, train_y, test_f, k, temperature, num_classes):
    def normalise(x):
        return x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), 1e-12)

    sims = normalise(test_f) @ normalise(train_f).T
    top_sims, top_idx = jax.lax.top_k(sims, k)
    votes = jax.nn.one_hot(train_y[top_idx], num_classes) * jnp.exp(top_sims / temperature)[..., None]
    return jnp.argmax(votes.sum(axis=1), axis=-1)


def knn_accuracy(train_features, train_labels, test_features, test_labels, k: int = 20, temperature: float = 0.1) -> float:
    """Test accuracy of the weighted k-NN classifier on cosine similarity.

    >>> import numpy as np
    >>> train = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    >>> knn_accuracy(train, np.array([0, 0, 1, 1]), np.array([[1.0, 0.2], [0.2, 1.0]]), np.array([0, 1]), k=2)
    1.0
    """
    train_labels = np.asarray(train_labels)
    num_classes = int(max(train_labels.max(), np.max(test_labels))) + 1
    k = min(int(k), len(train_labels))
    predicted = _knn_predict(
        jnp.asarray(train_features, jnp.float32), jnp.asarray(train_labels), jnp.asarray(test_features, jnp.float32),
        k, temperature, num_classes,
    )
    return float(np.mean(np.asarray(predicted) == np.asarray(test_labels)))


@functools.partial(jax.jit, static_argnames=("num_classes", "steps"))
def _fit_softmax(x, y, num_classes, steps, l2):
    params = (jnp.zeros((x.shape[1], num_classes), x.dtype), jnp.zeros((num_classes,), x.dtype))
    optimizer = optax.adam(0.05)

    def loss(p):
        logits = x @ p[0] + p[1]
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean() + l2 * jnp.sum(p[0] ** 2)

    def body(carry, _):
        p, state = carry
        grads = jax.grad(loss)(p)
        updates, state = optimizer.update(grads, state, p)
        return (optax.apply_updates(p, updates), state), None

    (params, _), _ = jax.lax.scan(body, (params, optimizer.init(params)), None, length=steps)
    return params


def linear_probe_accuracy(
    train_features, train_labels, test_features, test_labels, steps: int = 500, l2: float = 1e-4
) -> float:
    """Test accuracy of a softmax-regression probe trained on standardised frozen features.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(200, 3)); y = (x[:, 0] > 0).astype(int)
    >>> linear_probe_accuracy(x[:150], y[:150], x[150:], y[150:]) > 0.9
    True
    """
    train_features = np.asarray(train_features, np.float32)
    mean, std = train_features.mean(0), train_features.std(0) + 1e-6
    num_classes = int(max(np.max(train_labels), np.max(test_labels))) + 1
    w, b = _fit_softmax(
        jnp.asarray((train_features - mean) / std), jnp.asarray(train_labels), num_classes, int(steps), l2
    )
    logits = jnp.asarray((np.asarray(test_features, np.float32) - mean) / std) @ w + b
    return float(np.mean(np.asarray(jnp.argmax(logits, -1)) == np.asarray(test_labels)))


def representations(apply_represent, variables, images, mean, std, chunk: int = 512) -> np.ndarray:
    """``apply_represent(variables, x)`` over ``images`` (uint8 or [0, 1]) in chunks of ``chunk`` rows.

    Images are scaled to [0, 1] and normalised by ``mean``/``std`` like the training views; the
    last chunk is padded so that every call has the same shape.
    """
    images = np.asarray(images)
    scaled = images.astype(np.float32) / 255.0 if images.dtype == np.uint8 else images.astype(np.float32)
    chunk = min(chunk, len(scaled))
    outputs = []
    for start in range(0, len(scaled), chunk):
        block = scaled[start : start + chunk]
        pad = chunk - len(block)
        if pad:
            block = np.concatenate([block, np.zeros((pad,) + block.shape[1:], block.dtype)])
        x = (jnp.asarray(block) - jnp.asarray(mean)) / jnp.asarray(std)
        outputs.append(np.asarray(apply_represent(variables, x), np.float32)[: chunk - pad])
    return np.concatenate(outputs)
