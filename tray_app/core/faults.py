"""Named crash points, so tests can kill the process at an exact step.

``HH_RAISER_CRASH_AT=<name>`` makes :func:`crash_point` end the process at once with
``os._exit`` (like SIGKILL: no cleanup, no flush). Unset, it is a dictionary lookup.
"""

from __future__ import annotations

import os

CRASH_ENV = "HH_RAISER_CRASH_AT"
CRASH_EXIT_CODE = 86


def crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os._exit(CRASH_EXIT_CODE)
