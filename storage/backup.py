"""`carebot backup`: a consistent copy of the SQLite file while the bot keeps writing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

# Pages copied per step: between steps the source is unlocked, so a running bot's
# transactions go on during a long backup (https://www.sqlite.org/backup.html).
PAGES_PER_STEP = 1024


def backup(source: str | Path, dest: Path) -> int:
    """Copy `source` to the new file `dest` with SQLite's online backup; returns its pages.

    The copy is one consistent snapshot even when another connection commits meanwhile
    (SQLite restarts the copy if the source changes under it). Raises FileExistsError
    rather than overwrite, and leaves no partial file behind when it fails.
    """
    if dest.exists():
        raise FileExistsError(str(dest))
    partial = dest.with_name(dest.name + ".partial")
    try:
        # Not mode=ro: a read-only connection cannot open a WAL database whose -shm file is
        # missing (the bot stopped cleanly); the backup only reads the source anyway.
        src = sqlite3.connect(source, timeout=30)
        try:
            out = sqlite3.connect(partial)
            try:
                src.backup(out, pages=PAGES_PER_STEP)
                (pages,) = out.execute("PRAGMA page_count").fetchone()
                # A self-contained file: the copy needs no -wal beside it to be restored.
                out.execute("PRAGMA journal_mode=DELETE")
                (check,) = out.execute("PRAGMA quick_check").fetchone()
                if check != "ok":
                    raise sqlite3.DatabaseError(f"the copy fails its check: {check}")
            finally:
                out.close()
        finally:
            src.close()
        partial.replace(dest)
    finally:
        partial.unlink(missing_ok=True)
    return int(pages)
