"""Documented alias: ``ssl_odes.bounds`` is :mod:`ssl_odes.simsiam._bounds` (003 Thm 1-3).

The code lives in the package layout (one package per paper, private one-concept files); this
module name is kept so that older code and README snippets keep working. It is the same module
object, so private names and monkeypatching behave as before.
"""

import sys

from .simsiam import _bounds as _module

sys.modules[__name__] = _module
