"""Child processes that die with their parent, even when it is killed with SIGKILL.

A killed sweep must not leave workers behind, still writing to the workspace. The kernel
does it on Linux (PR_SET_PDEATHSIG: SIGKILL whatever the child is doing, even in a long C
call holding the GIL); elsewhere a thread polls the parent's pid. Import nothing heavy here:
a worker calls this first, before torch, so the unguarded start-up window stays short.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
POLL_EVERY_S = 0.5


def die_with_parent(parent: int) -> bool:
    """Exit when process `parent` dies (now, if it already has); True if the kernel enforces it.

    Call it in the child, with the pid the parent had when it started the child: the check
    after prctl closes the race of a parent that died before the request was made.
    """
    enforced = _kernel_kills_on_parent_death()
    if os.getppid() != parent:
        os._exit(1)
    if not enforced:
        threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    return enforced


def _kernel_kills_on_parent_death() -> bool:
    """Ask Linux to SIGKILL this process when the thread that started it exits."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
        return False


def _exit_with_parent(parent: int) -> None:
    """The fallback: poll, and exit once this process has been re-parented."""
    while os.getppid() == parent:
        time.sleep(POLL_EVERY_S)
    os._exit(1)
