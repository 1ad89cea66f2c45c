"""Drive pybabel from pyproject.toml: `python scripts/catalogues.py extract|update|compile|check`.

check fails when a French entry is missing, empty or fuzzy: every message must exist in both
languages. It also checks the SMS catalogues (sms.po, the SMS wording of some messages, kept
by hand): each entry must still be a message of the template, translated, not fuzzy, with
the same placeholders as its msgid.
"""

from __future__ import annotations

import string
import subprocess
import sys
import tomllib
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
SMS_DOMAIN = "sms"  # the SMS wording of messages whose chat wording GSM-7 cannot carry


def _config() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return dict(tomllib.load(handle)["tool"]["babel"])


def _pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True, cwd=ROOT)


def extract(output: Path | None = None) -> None:
    """Write the template from every tr()/ntr()/N_() call (to `output`, else the pot_file)."""
    cfg = _config()
    keywords = [arg for k in cfg["keywords"] for arg in ("-k", str(k))]  # type: ignore[attr-defined]
    _pybabel(
        "extract",
        "--no-default-keywords",
        *keywords,
        "-F",
        str(ROOT / "scripts" / "babel.cfg"),
        "--no-location",
        "--sort-output",
        "--project=carebot",
        "-o",
        str(output or cfg["pot_file"]),
        *map(str, cfg["input_dirs"]),
    )  # type: ignore[call-overload]


def update() -> None:
    """Extract, then merge the template into each language's catalogue (creating it if new)."""
    extract()
    cfg = _config()
    for lang in cfg["locales"]:  # type: ignore[attr-defined]
        po = ROOT / str(cfg["output_dir"]) / lang / "LC_MESSAGES" / f"{cfg['domain']}.po"
        verb = "update" if po.exists() else "init"
        _pybabel(
            verb,
            "-i",
            str(cfg["pot_file"]),
            "-d",
            str(cfg["output_dir"]),
            "-l",
            lang,
            "-D",
            str(cfg["domain"]),
            # Obsolete entries are never read, and one left untranslated looks like a gap.
            *(["--no-fuzzy-matching", "--ignore-obsolete"] if verb == "update" else []),
        )


def compile_all() -> None:
    """Compile every catalogue to .mo (build output, not tracked)."""
    cfg = _config()
    _pybabel("compile", "-d", str(cfg["output_dir"]), "-D", str(cfg["domain"]), "--statistics")
    for po in sorted((ROOT / str(cfg["output_dir"])).glob(f"*/LC_MESSAGES/{SMS_DOMAIN}.po")):
        _pybabel("compile", "-i", str(po), "-o", str(po.with_suffix(".mo")), "--statistics")


def problems(lang: str = "fr") -> list[str]:
    """French entries that are untranslated or fuzzy, and template entries missing from it."""
    cfg = _config()
    po_path = ROOT / str(cfg["output_dir"]) / lang / "LC_MESSAGES" / f"{cfg['domain']}.po"
    with (ROOT / str(cfg["pot_file"])).open("rb") as handle:
        template = read_po(handle)
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    return gaps(template, catalog)


def gaps(template: Catalog, catalog: Catalog) -> list[str]:
    """The messages of `template` that `catalog` lacks, leaves untranslated or marks fuzzy (a
    missing plural form counts as untranslated)."""
    found = []
    for message in template:
        if not message.id:
            continue
        entry = catalog.get(message.id)
        if entry is None:
            found.append(f"missing: {message.id!r}")
        elif entry.fuzzy:
            found.append(f"fuzzy: {message.id!r}")
        elif not (all(entry.string) if isinstance(entry.string, tuple) else entry.string):
            found.append(f"untranslated: {message.id!r}")
    return found


def _fields(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def sms_problems() -> list[str]:
    """SMS entries whose msgid left the template, untranslated, fuzzy, or with other fields."""
    cfg = _config()
    with (ROOT / str(cfg["pot_file"])).open("rb") as handle:
        template = read_po(handle)
    found = []
    for po in sorted((ROOT / str(cfg["output_dir"])).glob(f"*/LC_MESSAGES/{SMS_DOMAIN}.po")):
        with po.open("rb") as handle:
            catalog = read_po(handle)
        for entry in catalog:
            if not entry.id:
                continue
            where = f"{po.relative_to(ROOT)}: {entry.id!r}"
            ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
            strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
            if template.get(entry.id) is None:
                found.append(f"not a message of the template: {where}")
            elif entry.fuzzy or not all(strings):
                found.append(f"untranslated or fuzzy: {where}")
            elif any(_fields(s) != _fields(ids[-1]) for s in strings):
                found.append(f"placeholders differ from the msgid: {where}")
    return found


def main(argv: list[str]) -> int:
    """Run one of extract, update, compile, check."""
    command = argv[0] if argv else "check"
    if command == "extract":
        extract()
    elif command == "update":
        update()
    elif command == "compile":
        compile_all()
    elif command == "check":
        found = problems() + sms_problems()
        for line in found:
            print(line)
        return 1 if found else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
