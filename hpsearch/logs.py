"""What a run reports, through the `logging` module: logger "hpsearch".

The library only logs; the application decides where it goes. Two conveniences follow
Optuna's lead so that a search started from Python is not silent:

- console(): a handler on the "hpsearch" logger that writes INFO lines to stderr without
  breaking tqdm's progress bars. Run.run adds it for a search not created quiet=True, unless
  the application configured logging itself (a handler on "hpsearch" or on the root logger).
- to_file(path): a context manager that also writes the run's lines, timestamped, to a log
  file in its results directory (DIR/hpsearch.log) while the run lasts.

`hpsearch run` / `resume` use both; --quiet leaves only warnings on the console.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator

from tqdm.auto import tqdm

logger = logging.getLogger("hpsearch")


class _TqdmHandler(logging.Handler):
    """Writes to stderr (the one of the moment, as the test runner or a notebook set it),
    above an active progress bar instead of through it."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:
            self.handleError(record)


def console(level: int = logging.INFO) -> logging.Handler:
    """The console handler on the hpsearch logger (added once; its level set to `level`)."""
    for handler in logger.handlers:
        if isinstance(handler, _TqdmHandler):
            handler.setLevel(level)
            break
    else:
        handler = _TqdmHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler.setLevel(level)
        logger.addHandler(handler)
    logger.setLevel(min(level, logger.level or logging.INFO))
    logger.propagate = False  # one line per message, not a second one through the root logger
    return handler


def configured() -> bool:
    """Whether the application (or console()) has decided where hpsearch's lines go."""
    return bool(logger.handlers) or bool(logging.getLogger().handlers)


@contextlib.contextmanager
def to_file(path: str | os.PathLike) -> Iterator[None]:
    """Also write the hpsearch logger's INFO lines to `path` (appended) within the block."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    handler.setLevel(logging.INFO)
    previous = logger.level
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()
        logger.setLevel(previous)


def duration(seconds: float) -> str:
    """1:02:03 / 2:03 for a number of seconds."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
