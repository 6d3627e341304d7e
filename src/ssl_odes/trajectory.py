"""Documented alias: ``ssl_odes.trajectory`` is :mod:`ssl_odes._core.trajectory` (results).

The code lives in the package layout (one package per paper, private one-concept files); this
module name is kept so that older code and README snippets keep working. It is the same module
object, so private names and monkeypatching behave as before.
"""

import sys

from ._core import trajectory as _module

sys.modules[__name__] = _module
