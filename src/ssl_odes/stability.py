"""Documented alias: ``ssl_odes.stability`` is :mod:`ssl_odes._core.stability` (Jacobians).

The code lives in the package layout (one package per paper, private one-concept files); this
module name is kept so that older code and README snippets keep working. It is the same module
object, so private names and monkeypatching behave as before.
"""

import sys

from ._core import stability as _module

sys.modules[__name__] = _module
