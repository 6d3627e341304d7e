"""Documented alias: ``ssl_odes.simsiam_eigen`` is :mod:`ssl_odes.simsiam._eigen` (003 Thm 4).

The code lives in the package layout (one package per paper, private one-concept files); this
module name is kept so that older code and README snippets keep working. It is the same module
object, so private names and monkeypatching behave as before.
"""

import sys

from .simsiam import _eigen as _module

sys.modules[__name__] = _module
