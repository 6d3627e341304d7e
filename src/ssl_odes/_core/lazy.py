"""Importing a paper package's training experiment (flax) only when it is used."""

from __future__ import annotations

import importlib
from typing import Any


def lazy_experiment(package: str, module: str, names: tuple[str, ...], name: str) -> Any:
    """``package.module.name`` imported on first use: training experiments need flax
    (``pip install 'ssl_odes[empirical]'``), and ``import ssl_odes`` must work without it."""
    if name not in names:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    try:
        loaded = importlib.import_module(f"{package}.{module}")
    except ModuleNotFoundError as err:
        raise ImportError(f"{package}.{name} trains a network with flax and optax: "
                          f"pip install 'ssl_odes[empirical]' ({err})") from err
    return getattr(loaded, name)
