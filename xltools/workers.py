"""Processes this tool starts end with the process that started them.

A worker waiting for work from a main process that was killed outright
(``kill -9``, the out-of-memory killer) would otherwise wait for ever. On Linux
the kernel ends it the moment its parent goes (``PR_SET_PDEATHSIG``); elsewhere a
watch thread notices within a second that its parent has gone, and ends it.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

if sys.platform == "linux":
    import ctypes  # here, once: not in every reader forked from this process


def end_with_parent(parent: int | None = None) -> None:
    """In a child process: end this process when ``parent`` (default: its parent now) ends."""
    parent = parent or os.getppid()
    if sys.platform == "linux":
        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0) == 0:
            if os.getppid() != parent:  # the parent went before the call above
                os._exit(1)
            return
    threading.Thread(target=_watch, args=(parent,), daemon=True, name="end-with-parent").start()


def start_reader(parent: int) -> None:
    """In a reader process: end with ``parent``; an abort in the reader is expected and
    handled by the parent, so no Python traceback dump is added to the Rust reader's own
    line (pytest's faulthandler would print one for every reader that aborts)."""
    import faulthandler

    end_with_parent(parent)
    if faulthandler.is_enabled():
        faulthandler.disable()


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)
