"""Documented alias: ``ssl_odes.byol_modes`` is :mod:`ssl_odes.byol._modes` (002 Eqs 11-17).

The code lives in the package layout (one package per paper, private one-concept files); this
module name is kept so that older code and README snippets keep working. It is the same module
object, so private names and monkeypatching behave as before.
"""

import sys

from .byol import _modes as _module

sys.modules[__name__] = _module
