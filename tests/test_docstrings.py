"""Every docstring example in the package runs (ARCHITECTURE: each public function has one)."""

import doctest
import importlib
import pkgutil

import pytest

import ssl_odes

# Alias modules (``ssl_odes.byol_modes`` is ``ssl_odes.byol._modes``) are tested once, under their real name.
MODULES = sorted(m.name for m in pkgutil.walk_packages(ssl_odes.__path__, "ssl_odes.")
                 if importlib.import_module(m.name).__name__ == m.name)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
