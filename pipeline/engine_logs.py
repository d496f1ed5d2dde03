"""Where the engines' logs go: always to a log folder, to the console only when asked (`-v`).

Spark's JVM, its Python workers, Great Expectations, kafka-python and py4j all write log lines of
their own. The console is for our stage lines, progress and the summary; the engines' lines are
kept in files: Python logging through a file handler on the root logger, the JVM's stdout and
stderr by handing it a log file as its file descriptors 1 and 2 when it starts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_console = {"verbose": False}


def configure(verbose: bool, folder: Path | None = None) -> None:
    """Once per command: engine log records to `folder`/python.log, and to stderr if verbose."""
    _console["verbose"] = verbose
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)  # warnings.warn from the engines' Python code, too
    if verbose:
        root.addHandler(_formatted(logging.StreamHandler(sys.stderr)))
    if folder is not None:
        root.addHandler(_file_handler(folder))
    if not root.handlers:
        root.addHandler(logging.NullHandler())  # else logging's last resort prints warnings


def verbose() -> bool:
    return _console["verbose"]


@contextlib.contextmanager
def into(folder: Path) -> Iterator[Path]:
    """Python log records of the block also go to `folder`/python.log (a run's log folder)."""
    handler = _file_handler(folder)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield folder
    finally:
        root.removeHandler(handler)
        handler.close()


@contextlib.contextmanager
def child_output(path: Path) -> Iterator[None]:
    """Processes started in the block (Spark's JVM, and the Python workers it forks) write their
    stdout and stderr to `path`, and to our stderr as well when verbose."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with path.open("ab") as log:
        log_fd = log.fileno()
        target = _tee(os.dup(log_fd), os.dup(saved[1])) if verbose() else os.dup(log_fd)
        try:
            os.dup2(target, 1)
            os.dup2(target, 2)
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in (*saved, target):
                os.close(fd)


def _tee(log_fd: int, console: int) -> int:
    """The write end of a pipe whose reader copies everything to both descriptors (it owns them)."""
    read, write = os.pipe()

    def copy() -> None:
        with os.fdopen(read, "rb", buffering=0) as source:
            for chunk in iter(lambda: source.read(65536), b""):
                os.write(log_fd, chunk)
                os.write(console, chunk)
        os.close(log_fd)
        os.close(console)

    threading.Thread(target=copy, name="engine-output", daemon=True).start()
    return write


def _file_handler(folder: Path) -> logging.Handler:
    folder.mkdir(parents=True, exist_ok=True)
    return _formatted(logging.FileHandler(folder / "python.log", encoding="utf-8"))


def _formatted(handler: logging.Handler) -> logging.Handler:
    handler.setFormatter(logging.Formatter(FORMAT))
    return handler
