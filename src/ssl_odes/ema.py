"""Documented alias: ``ssl_odes.ema`` is :mod:`ssl_odes.dual_networks._ema` (000 Eqs 10-11).

The code lives in the package layout (one package per paper, private one-concept files); this
module name is kept so that older code and README snippets keep working. It is the same module
object, so private names and monkeypatching behave as before.
"""

import sys

from .dual_networks import _ema as _module

sys.modules[__name__] = _module
