"""Every docstring example in the package runs (ARCHITECTURE: each public function has one)."""

import doctest
import importlib
import pkgutil

import pytest

import ssl_odes

MODULES = sorted(m.name for m in pkgutil.walk_packages(ssl_odes.__path__, "ssl_odes."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
