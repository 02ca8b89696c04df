"""One writer per results directory: an exclusive lock held for the whole run.

Two processes writing one directory would delete each other's temporary files and
interleave their journals. A run therefore holds an flock on DIR/.hpsearch.lock from before
it reads anything until it ends; the lock file names its holder, so a second run is refused
in one line that says who has the directory. The kernel drops the lock when the holder's
process ends however it ends (SIGKILL included), so a stale lock file never blocks a resume.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from pathlib import Path

from .results import LOCK


class DirectoryInUse(RuntimeError):
    """Another live process holds the results directory."""


class DirectoryLock:
    """with DirectoryLock(out_dir): ... holds the directory's lock (DirectoryInUse if taken)."""

    def __init__(self, out_dir: str | os.PathLike) -> None:
        self.path = Path(out_dir) / LOCK
        self._fd: int | None = None

    def acquire(self) -> DirectoryLock:
        # O_NOFOLLOW: a lock file planted as a link to somewhere else is not opened.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "a process"
            os.close(fd)
            raise DirectoryInUse(f"{self.path.parent}: in use by another hpsearch run ({holder}); "
                                 f"wait for it to end or stop it first") from None
        except BaseException:
            os.close(fd)
            raise
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}, since {started}\n".encode(), 0)
        self._fd = fd
        return self

    def __enter__(self) -> DirectoryLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        # The file stays: removing it would let a third process lock a new file while a
        # second one waits on the old.
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
