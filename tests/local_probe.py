"""Functions for the local engine's worker process to run in tests.

Imported there by name, so this module imports nothing from Home Assistant or the tests.
"""

from __future__ import annotations

import sys


def imported(module: str) -> bool:
    """Whether ``module`` is imported in this process."""
    return module in sys.modules
