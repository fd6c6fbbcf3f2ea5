"""No child outlives the harness: a preexec hook that makes the kernel end it with its parent.

Local runs start a broker and a process per service in their own sessions (so Ctrl-C reaches
only the harness, which stops them in order). A harness that is killed outright (SIGKILL, an
OOM kill, a CI timeout) runs no cleanup, and its children would keep running: a Tansu broker
holding gigabytes of memory storage on a shared machine. On Linux, ``PR_SET_PDEATHSIG`` has
the kernel send SIGTERM (which every child handles cleanly) when the parent goes.

The signal follows the *thread* that started the child: start long-lived children from a
thread that lives as long as they should (the main thread, or an executor thread that is only
shut down at the end of the run).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> Callable[[], None]:
    """A ``preexec_fn`` for ``subprocess.Popen``: SIGTERM the child when this process dies."""
    parent = os.getpid()

    def hook() -> None:  # runs in the child between fork and exec: no allocation-heavy work
        if not sys.platform.startswith("linux"):
            return
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the hook ran: nothing to serve
            os._exit(1)

    return hook
