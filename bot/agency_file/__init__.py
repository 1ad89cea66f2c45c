"""Load an agency file (TOML, format: docs/agency-file.md) into validated domain objects.

Loading is all or nothing: the first problem raises AgencyFileError, which names the
table, the entry and the key, and nothing is returned half-loaded.

values.py converts single values, located.py reads tables and locates errors, tables.py
reads each table into domain objects. Underscore names are private to this package.
"""

from pathlib import Path

from bot.agency_file.located import AgencyFileError
from bot.agency_file.tables import parse_agency_toml
from bot.domain.agency import AgencyFile

__all__ = ["AgencyFileError", "load_agency_file", "parse_agency_toml"]


def load_agency_file(path: str | Path) -> AgencyFile:
    """Read and validate the agency file at `path`."""
    path = Path(path)
    try:
        # utf-8-sig: editors on Windows like to start files with a byte-order mark.
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise AgencyFileError(str(path), f"cannot be read: {exc}") from None
    return parse_agency_toml(text, source=str(path))
