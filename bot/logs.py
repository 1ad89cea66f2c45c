"""Logging for the `carebot` command: one line per event, UTC timestamp, level, logger.

Lines go to stderr (journald or Docker collect and rotate them), or to CAREBOT_LOG_FILE,
rotated by size, for a plain server. A phone number that reaches a log line unmasked is
masked here as the SMS channel masks its own ("+336******01").
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import time

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_HANDLER = "carebot"
# A phone number in E.164 form: "+" then 7 to 15 digits, not inside a longer number.
_PHONE = re.compile(r"(?<![\w+])\+(\d{3})(\d{2,10})(\d{2})(?!\d)")


class MaskingFormatter(logging.Formatter):
    """The house format in UTC, with E.164 numbers masked and tracebacks kept on one event."""

    converter = staticmethod(time.gmtime)  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__(FORMAT, DATE_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line (plus its traceback, if any), phone numbers masked."""
        return _PHONE.sub(_mask, super().format(record))


def _mask(match: re.Match[str]) -> str:
    return f"+{match[1]}{'*' * len(match[2])}{match[3]}"


def configure(level: int, log_file: str | None = None, max_bytes: int = 10_000_000) -> None:
    """Send every logger's records at `level` and above to stderr or a rotating file."""
    handler: logging.Handler
    if log_file:
        # Five old files of max_bytes each: bounded disk use without an external logrotate.
        handler = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=max_bytes, backupCount=5, encoding="utf-8"
        )
    else:
        handler = logging.StreamHandler()
    handler.setFormatter(MaskingFormatter())
    handler.set_name(_HANDLER)
    root = logging.getLogger()
    # Only ours is replaced: a host's handlers (pytest's, an embedding app's) stay.
    for old in [h for h in root.handlers if h.get_name() == _HANDLER]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)
