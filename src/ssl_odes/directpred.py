"""Documented alias: ``ssl_odes.directpred`` is :mod:`ssl_odes.byol._directpred` (002 Eqs 18-19).

The code lives in the package layout (one package per paper, private one-concept files); this
module name is kept so that older code and README snippets keep working. It is the same module
object, so private names and monkeypatching behave as before.
"""

import sys

from .byol import _directpred as _module

sys.modules[__name__] = _module
