"""Console logging in ML-Agents' style: ``[INFO] message`` on stdout, or a detailed format with --debug."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

__all__ = ["DEBUG_LOG_FORMAT", "LOG_FORMAT", "configure_logging", "is_terminal"]

LOG_FORMAT = "[%(levelname)s] %(message)s"
DEBUG_LOG_FORMAT = "%(asctime)s %(levelname)s [%(filename)s:%(lineno)d] %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

_PACKAGE_LOGGER = "mlagents_fast"


class _RunHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler this module installs (found again on reconfiguration, so never duplicated).

    On a terminal each record first erases the current line, so a record never lands after
    the console writer's progress line; elsewhere records are written unchanged.
    """

    def emit(self, record: logging.LogRecord) -> None:
        if is_terminal(self.stream):
            self.stream.write("\r\x1b[K")
        super().emit(record)


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is an interactive terminal (False for pipes, files and closed streams)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def configure_logging(debug: bool = False, stream: TextIO | None = None) -> logging.Logger:
    """Send the package's log records to ``stream`` (stdout) at INFO, or DEBUG with ``debug``."""
    logger = logging.getLogger(_PACKAGE_LOGGER)
    for handler in [h for h in logger.handlers if isinstance(h, _RunHandler)]:
        logger.removeHandler(handler)
    handler = _RunHandler(stream if stream is not None else sys.stdout)
    if debug:
        handler.setFormatter(logging.Formatter(DEBUG_LOG_FORMAT, datefmt=DATE_FORMAT))
    else:
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if debug else logging.INFO)
    return logger
