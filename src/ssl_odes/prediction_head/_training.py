r"""004's training run (Sec 3.2) as a discrete map: online SGD on Eq 3.3 with the identity-initialised head.

One step on fresh positive pairs ``S_t`` (``N`` of them):

.. math::

    W^{(t+1)} = W^{(t)} - \eta \nabla_W L_{S_t}(W^{(t)}, E^{(t)}),\qquad
    E^{(t+1)}_{ij} = E^{(t)}_{ij} - \eta_E \nabla_{E_{ij}} L_{S_t}(W^{(t)}, E^{(t)})\ (i \ne j),

from ``W_ij ~ N(0, 1/d)`` and ``E = I_m``; with ``train_head=False`` the head stays exactly ``I_m``
(Thm 4.3's setting; the step is the same compiled function with rate 0, ``E - 0 * grad = E``). The gradient is drawn with :func:`~ssl_odes.prediction_head._projected.sgd_gradient`
(the exact law of a step on explicit samples, at ``O(N P m + d m)`` per step). The step's key is
``fold_in(key(seed), step)``: a run is a pure function of its seed, whatever the batch around it.

Time is counted in steps (``time_step = 1``; ``eta`` may differ across the batch).
Saved at every ``save_every`` steps, on a fixed held-out set of ``n_eval`` explicit samples
(:func:`~ssl_odes.prediction_head.sample`) and one fixed split of it (Eq 3.2):

* ``alignment`` ``[m, 2]``: ``<w_j, v_l> / ||w_j||``;
* ``E`` ``[m, m]`` (and the outputs ``E_21``, ``E_12``, ``offdiag_norm`` ``= ||E - I||_F``,
  ``asymmetry`` ``= ||E - E^T||_F``);
* ``corr``: ``max_{j<k} |Corr(f_j(X), f_k(X))|`` over the held-out ``X`` (``|Corr(f_1, f_2)|`` for
  ``m = 2``; 0 for ``m = 1``), Sec 4's correlation;
* ``loss`` ``[m]``: each neuron's term of Eq 3.3 on the held-out pairs (compare with
  :func:`~ssl_odes.prediction_head.optimal_loss`);
* ``head_terms`` ``[m, m]``: the RMS of ``E_jr f_r(X^(1))`` over the held-out *v1* samples
  (Lemma 5.2's ``|E_21 f_1(X^(1))|`` against ``|f_2(X^(1))|`` is ``head_terms[1, 0] / head_terms[1, 1]``);
* ``weight_norm`` ``[m]``: ``||w_j||``.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._core import (NONNEGATIVE, POSITIVE, REQUIRED, Flag, Integer, Interval, Parameter, System, Trajectory, Values,
                     register, simulate)
from ._data import draw, positive_pair
from ._network import DEFAULT_BN_EPS, encoder, init_weights, loss_terms
from ._projected import sgd_gradient

__all__ = ["PREDICTION_HEAD", "simulate_prediction_head"]

#: ``fold_in`` constants: the training steps and the held-out set draw from separate streams of a seed.
_TRAIN_STREAM, _EVAL_STREAM = 1, 2


def _seed_keys(seed: np.ndarray) -> np.ndarray:
    """``[*batch]`` integer seeds to raw ``uint32`` key data ``[*batch, 2]``."""
    flat = np.asarray(seed).reshape(-1).astype(np.int64)
    keys = np.stack([np.asarray(jax.random.key_data(jax.random.key(int(s)))) for s in flat]) if flat.size else \
        np.zeros((0, 2), np.uint32)
    return keys.reshape(np.shape(seed) + (2,))


def _initial_state(v: Values) -> dict[str, np.ndarray]:
    """``W_ij ~ N(0, 1/d)`` from each run's seed (drawn in float32, the same in every dtype), ``E = I``."""
    d, m = v["d"], v["m"]
    seeds = np.asarray(v["seed"]).reshape(-1)
    W = np.stack([np.asarray(init_weights(jax.random.key(int(s)), d, m)[0]) for s in seeds]).astype(np.float64)
    W = W.reshape(v.batch_shape + (d, m))
    return {"W": W, "E": v.batch(np.eye(m))}


def _args(v: Values) -> dict[str, Any]:
    # A frozen head is a zero rate (E - 0 * grad = E exactly): both variants share one compiled step.
    head_rate = v["eta_E"] if v["train_head"] else np.zeros(v.batch_shape)
    return {
        "eta": v["eta"], "eta_E": head_rate, "alpha_1": v["alpha_1"], "alpha_2": v["alpha_2"],
        "sigma": v["sigma"], "key": _seed_keys(v["seed"]),
    }


def _check(v: Values) -> None:
    for p in PREDICTION_HEAD.parameters:  # None means "unset" to the core; nothing here may be unset
        if (p.batched and p.name not in v.given) or (not p.batched and v.settings.get(p.name) is None):
            raise TypeError(f"{p.name} must be given ({p.describe()}); got {p.name}=None")
    if v["P0"] > v["P"]:
        raise ValueError(f"P0 must be at most P (feature patches among P patches); got P0={v['P0']}, P={v['P']}")
    if v["d"] < v["m"] + 2:
        raise ValueError(f"d must be at least m + 2 (v1, v2 and a noise direction per neuron); got d={v['d']}, m={v['m']}")
    a1, a2 = np.asarray(v["alpha_1"]), np.asarray(v["alpha_2"])
    if np.any(a2 > a1):
        raise ValueError(f"alpha_2 must be at most alpha_1 (v1 is the strong feature); got alpha_2={v.given['alpha_2']}, "
                         f"alpha_1={v.given['alpha_1']}")
    seed = np.asarray(v.given["seed"])
    if np.any(seed != np.round(seed)):
        raise ValueError(f"seed must hold integers; got seed={v.given['seed']}")
    return None


@functools.lru_cache(maxsize=None)
def _step(N: int, P: int, P0: int, bn_eps: float):
    def step(t, y, args):
        key = jax.random.fold_in(jax.random.fold_in(jax.random.wrap_key_data(args["key"]), _TRAIN_STREAM),
                                 jnp.round(t).astype(jnp.int32))
        W, E = y["W"], y["E"]
        gW, gE, _ = sgd_gradient(key, W, E, N, P, P0, args["alpha_1"], args["alpha_2"], args["sigma"], bn_eps)
        W_next = W - args["eta"] * gW
        E_next = E - args["eta_E"] * gE
        return {"W": W_next, "E": E_next}

    return step


def _field(settings):
    return _step(settings["N"], settings["P"], settings["P0"], settings["bn_eps"])


def _pair_corr(f: jax.Array) -> jax.Array:
    """``max_{j<k} |Corr(f_j, f_k)|`` over the sample axis 0 (0 for one neuron)."""
    m = f.shape[1]
    if m < 2:
        return jnp.zeros((), f.dtype)
    centred = f - jnp.mean(f, axis=0)
    cov = centred.T @ centred
    scale = jnp.sqrt(jnp.diag(cov))
    corr = cov / jnp.maximum(scale[:, None] * scale[None, :], jnp.finfo(f.dtype).tiny)
    return jnp.max(jnp.abs(jnp.where(jnp.triu(jnp.ones((m, m), bool), 1), corr, 0.0)))


@functools.lru_cache(maxsize=None)
def _save(d: int, P: int, P0: int, n_eval: int, bn_eps: float):
    def save(t, y, args):
        W, E = y["W"], y["E"]
        dtype = W.dtype
        key = jax.random.fold_in(jax.random.wrap_key_data(args["key"]), _EVAL_STREAM)
        k_data, k_split = jax.random.split(key)
        X, feature = draw(k_data, n_eval, d, P, P0, args["alpha_1"], args["alpha_2"], args["sigma"], dtype)
        X1, X2 = positive_pair(k_split, X)
        norm = jnp.linalg.norm(W, axis=0)
        f1 = encoder(W, X1)
        strong = (feature == 1)[:, None, None]
        terms = E[None] * f1[:, None, :]  # E_jr f_r(X^(1)), [n, m, m]
        head_terms = jnp.sqrt(jnp.sum(jnp.where(strong, terms**2, 0.0), axis=0) / jnp.maximum(jnp.sum(strong), 1))
        return {
            "alignment": (W[:2] / norm).T,
            "E": E,
            "corr": _pair_corr(encoder(W, X)),
            "loss": loss_terms(W, E, X1, X2, bn_eps),
            "head_terms": head_terms,
            "weight_norm": norm,
        }

    return save


def _save_fn(settings):
    return _save(settings["d"], settings["P"], settings["P0"], settings["n_eval"], settings["bn_eps"])


def _outputs(saved, values: Values) -> dict[str, Any]:
    E = saved["E"]
    m = E.shape[-1]
    eye = jnp.eye(m, dtype=E.dtype)
    out = dict(saved)
    out["offdiag_norm"] = jnp.sqrt(jnp.sum((E - eye) ** 2, axis=(-2, -1)))
    out["asymmetry"] = jnp.sqrt(jnp.sum((E - jnp.swapaxes(E, -1, -2)) ** 2, axis=(-2, -1)))
    if m >= 2:
        out["E_21"] = E[..., 1, 0]
        out["E_12"] = E[..., 0, 1]
    return out


#: The declaration of 004's training run (Sec 3.2): online SGD on Eq 3.3, head trained or frozen at I.
PREDICTION_HEAD = register(System(
    name="prediction_head",
    paper="004 Sec 3 (Def 3.1, Eqs 3.1-3.3), Thms 4.1/4.3",
    summary="online SGD of the cubic patch network with an identity-initialised head (off-diagonal trained) and BN",
    parameters=(
        Parameter("eta", POSITIVE, REQUIRED, "learning rate of W"),
        Parameter("eta_E", NONNEGATIVE, REQUIRED, "learning rate of the off-diagonal of the head E (eta_E << eta)"),
        Parameter("alpha_1", POSITIVE, REQUIRED, "magnitude of the strong feature v1"),
        Parameter("alpha_2", POSITIVE, REQUIRED, "magnitude of the weak feature v2 (alpha_2 <= alpha_1)"),
        Parameter("sigma", NONNEGATIVE, 1.0, "noise scale: E<xi, u>^6 = sigma^6 (Assumption 3.2a)"),
        Parameter("seed", Interval(0.0, 2.0**31 - 1), 0, "integer seed of W(0), the batches and the held-out set"),
        Parameter("d", Integer(3), REQUIRED, "dimension of a patch"),
        Parameter("P", Integer(2), REQUIRED, "number of patches"),
        Parameter("P0", Integer(1), REQUIRED, "number of feature patches per sample (P0 <= P)"),
        Parameter("m", Integer(1), 2, "number of neurons"),
        Parameter("N", Integer(2), 256, "batch size (fresh positive pairs per step)"),
        Parameter("train_head", Flag(), True, "train the off-diagonal of E (False: E frozen at I)"),
        Parameter("n_eval", Integer(2), 2048, "held-out samples for the saved diagnostics"),
        Parameter("bn_eps", Interval(0.0, np.inf, scalar=True), DEFAULT_BN_EPS, "epsilon added to BN's batch variance"),
    ),
    initial_state=_initial_state,
    args=_args,
    field=_field,
    save=_save_fn,
    outputs=_outputs,
    check=_check,
    discrete=True,
    time_step=lambda v: 1.0,
    example={"eta": [0.05, 0.1], "eta_E": 0.01, "alpha_1": 2.0, "alpha_2": 1.0, "seed": 0, "d": 6, "P": 4,
             "P0": 2, "N": 16, "n_eval": 32},
))


def simulate_prediction_head(
    d: int,
    P: int,
    P0: int,
    alpha_1: Any,
    alpha_2: Any,
    *,
    eta: Any,
    eta_E: Any,
    sigma: Any = 1.0,
    m: int = 2,
    N: int = 256,
    train_head: bool = True,
    seed: Any = 0,
    n_eval: int = 2048,
    bn_eps: float = DEFAULT_BN_EPS,
    **run: Any,
) -> Trajectory:
    r"""Train 004's cubic patch network with an identity-initialised head by online SGD (Sec 3.2).

    Encoder ``f_j(X) = sum_p <w_j, X_p>^3``; online ``F = BN(E f(X^(1)))``, target
    ``G = StopGrad BN(f(X^(2)))``, loss Eq 3.3; ``W ~ N(0, 1/d)``, ``E = I`` with only its
    off-diagonal trained at rate ``eta_E`` (frozen at ``I`` with ``train_head=False``); ``N``
    fresh pairs of Def 3.1 data per step (``v1 = e_1``, ``v2 = e_2``; an odd ``P`` puts
    ``floor(P/2)`` patches in view 1). Thm 4.1 / Cor 4.2: with the head the neurons end on
    different features and ``|Corr(f_1, f_2)|`` is small; Thm 4.3 / Cor 4.4: with ``E = I`` every
    neuron learns ``v1`` and ``|Corr|`` is near 1 (dimensional collapse).

    A thin wrapper of ``ssl_odes.simulate(PREDICTION_HEAD, ...)``; ``eta``, ``eta_E``,
    ``alpha_1``, ``alpha_2``, ``sigma`` and ``seed`` broadcast into the batch (e.g.
    ``seed=np.arange(5)`` for five runs). Time is counted in steps.

    Args:
        d, P, P0: dimension, patches, feature patches (``d >= m + 2``, ``P >= 2``, ``1 <= P0 <= P``).
        alpha_1, alpha_2: feature magnitudes, ``alpha_1 >= alpha_2 > 0``.
        eta: learning rate of ``W``, ``> 0``. eta_E: of the head's off-diagonal, ``>= 0``.
        sigma: noise scale, ``E <xi, u>^6 = sigma^6``.
        m: number of neurons ``>= 1``. N: batch size per step.
        train_head: train ``E`` (True) or keep ``E = I`` (False).
        seed: integer seed(s) of ``W(0)``, the batches and the held-out set.
        n_eval: held-out samples for the diagnostics. bn_eps: BN's epsilon (Eq 3.1 has none).
        **run: ``steps`` (required), ``save_every``, ``dtype`` (float32 for training runs), ``bound``.

    Returns:
        A :class:`~ssl_odes.Trajectory` (``t`` in steps) with ``alignment`` ``[*batch, time, m, 2]``,
        ``E``, ``E_21``, ``E_12``, ``offdiag_norm``, ``asymmetry``, ``corr``, ``loss`` ``[..., m]``,
        ``head_terms`` ``[..., m, m]``, ``weight_norm``; ``status``.

    Example:
        >>> res = simulate_prediction_head(6, 4, 2, 2.0, 1.0, eta=0.05, eta_E=0.01, N=16, n_eval=32,
        ...                                seed=[0, 1], train_head=False, steps=20, save_every=10)
        >>> res.alignment.shape, res.corr.shape, res.status_counts(), float(abs(res.offdiag_norm).max())
        ((2, 3, 2, 2), (2, 3), {'ok': 2}, 0.0)
    """
    return simulate(PREDICTION_HEAD, d=d, P=P, P0=P0, alpha_1=alpha_1, alpha_2=alpha_2, eta=eta, eta_E=eta_E,
                    sigma=sigma, m=m, N=N, train_head=train_head, seed=seed, n_eval=n_eval, bn_eps=bn_eps, **run)


simulate_prediction_head.system = PREDICTION_HEAD
