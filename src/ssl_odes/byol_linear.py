"""Documented alias: ``ssl_odes.byol_linear`` is :mod:`ssl_odes.byol._linear` (002 Lemma 1, Theorems 1-3).

The code lives in the package layout (one package per paper, private one-concept files); this
module name is kept so that older code and README snippets keep working. It is the same module
object, so private names and monkeypatching behave as before.
"""

import sys

from .byol import _linear as _module

sys.modules[__name__] = _module
