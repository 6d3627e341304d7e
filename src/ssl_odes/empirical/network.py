"""The online network of a run: encoder -> projector -> predictor, built from a :class:`TrainConfig`.

:class:`SSLNetwork` holds the three parts under the parameter names ``encoder``, ``projector`` and
``predictor`` (the target network of BYOL is an EMA of the first two). Its methods are the views
the methods and probes need: :meth:`SSLNetwork.represent` (``h``, read by the probes),
:meth:`SSLNetwork.project` (``f``, the predictor input whose correlation ``F = E[f f^T]`` the
theory follows) and :meth:`SSLNetwork.predict` (the predictor applied to ``f``).
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from .config import TrainConfig
from .predictors import IdentityHeadPredictor, LinearPredictor
from .resnet import MLP, LinearEncoder, resnet18, small_resnet

__all__ = ["SSLNetwork", "build_network", "compute_dtype"]


def compute_dtype(config: TrainConfig) -> Any:
    """The dtype of activations: ``float32``, ``bfloat16`` or ``float64`` (parameters stay float32/64)."""
    return {"float32": jnp.float32, "bfloat16": jnp.bfloat16, "float64": jnp.float64}[config.dtype]


class SSLNetwork(nn.Module):
    """Encoder, optional projector MLP, optional predictor, as the config says."""

    config: TrainConfig

    def setup(self):
        cfg = self.config
        dtype = compute_dtype(cfg)
        params = jnp.float64 if cfg.dtype == "float64" else jnp.float32
        if cfg.encoder == "linear":
            self.encoder = LinearEncoder(cfg.feature_dim, dtype=dtype, param_dtype=params)
        elif cfg.encoder == "resnet18":
            self.encoder = resnet18(cfg.width, dtype, params)
        else:
            self.encoder = small_resnet(cfg.width, dtype, params)
        self.projector = (
            MLP(cfg.projector_hidden, cfg.projection_dim, cfg.projector_norm, dtype, params)
            if cfg.projector_hidden > 0
            else None
        )
        if cfg.predictor == "mlp":
            self.predictor = MLP(cfg.predictor_hidden, cfg.head_dim, cfg.predictor_norm, dtype, params)
        elif cfg.predictor == "linear":
            self.predictor = LinearPredictor(cfg.predictor_bias, cfg.predictor_symmetric, dtype, params)
        elif cfg.predictor == "directpred":
            self.predictor = LinearPredictor(False, False, dtype, params)
        elif cfg.predictor == "identity_head":
            self.predictor = IdentityHeadPredictor(dtype, params)
        else:
            self.predictor = None

    def represent(self, x, train: bool = True):
        """Encoder output ``h`` (what k-NN and the linear probe read)."""
        return self.encoder(x, train=train)

    def project(self, x, train: bool = True):
        """Projection ``f`` (predictor input); the encoder output when there is no projector."""
        h = self.represent(x, train)
        return h if self.projector is None else self.projector(h)

    def predict(self, f):
        """Predictor output for a projection ``f`` (``f`` itself without a predictor)."""
        return f if self.predictor is None else self.predictor(f)

    def __call__(self, x, train: bool = True):
        f = self.project(x, train)
        return f, self.predict(f)


def build_network(config: TrainConfig) -> SSLNetwork:
    """The :class:`SSLNetwork` of a config.

    >>> import jax, jax.numpy as jnp
    >>> net = build_network(TrainConfig(width=4, projector_hidden=8, projection_dim=6, predictor_hidden=8))
    >>> x = jnp.zeros((3, 8, 8, 1))
    >>> shapes = jax.eval_shape(lambda: net.init(jax.random.PRNGKey(0), x))  # shapes only, no compute
    >>> (f, p), _ = jax.eval_shape(lambda v: net.apply(v, x, mutable=["batch_stats"]), shapes)
    >>> sorted(shapes["params"]), f.shape, p.shape
    (['encoder', 'predictor', 'projector'], (3, 6), (3, 6))
    """
    return SSLNetwork(config)
