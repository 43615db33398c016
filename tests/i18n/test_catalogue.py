"""The German catalogue is complete: nothing untranslated, nothing fuzzy, placeholders intact."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "kita" / "translations" / "de" / "LC_MESSAGES" / "messages.po"


def _msgid(message_id: str | tuple[str, ...]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


@pytest.fixture(scope="module")
def german() -> Catalog:
    with PO.open("rb") as f:
        return read_po(f, locale="de")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """What ``pybabel extract`` finds in the code and templates right now."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "-q",
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-k",
            "_l",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    with pot.open("rb") as f:
        return read_po(f)


def test_no_empty_or_fuzzy_german_translation(german: Catalog) -> None:
    empty = [_msgid(m.id) for m in german if m.id and not m.string]
    fuzzy = [_msgid(m.id) for m in german if m.id and m.fuzzy]
    assert not empty, f"{len(empty)} msgids without German text, e.g. {empty[:10]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy German entries, e.g. {fuzzy[:10]}"


def test_every_extracted_string_has_a_german_translation(
    german: Catalog, extracted: Catalog
) -> None:
    missing = []
    for message in extracted:
        if not message.id:
            continue
        translated = german.get(message.id, message.context)
        if (
            translated is None
            or not translated.string
            or (isinstance(translated.string, tuple) and not all(translated.string))
        ):
            where = ", ".join(f"{path}:{line}" for path, line in message.locations[:2])
            missing.append(f"{_msgid(message.id)!r} ({where})")
    assert not missing, f"{len(missing)} strings without German translation:\n" + "\n".join(
        missing[:40]
    )
    assert len(extracted) > 300  # the extraction really ran over code and templates


def test_placeholders_match(german: Catalog) -> None:
    problems = []
    for message in german:
        if not message.id:
            continue
        for error in message.check(german):
            problems.append(f"{_msgid(message.id)!r}: {error}")
    assert not problems, "\n".join(problems[:20])


def test_catalogue_compiles_cleanly(tmp_path: Path) -> None:
    # Into a temporary file: the catalogue in place is being read by other test workers.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "compile",
            "--statistics",
            "-l",
            "de",
            "-i",
            str(PO),
            "-o",
            str(tmp_path / "messages.mo"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr.lower(), result.stderr
    assert (tmp_path / "messages.mo").stat().st_size > 0


CALL = re.compile(r"(?<![\w.])(_|_l|gettext|lazy_gettext|ngettext)\(")


def test_extraction_reads_every_file_with_translatable_text(extracted: Catalog) -> None:
    """pybabel skips folders whose names start with "_" or "."; none may hide text."""
    read = {path for message in extracted for path, _ in message.locations}
    unread = []
    for folder, pattern in (("templates", "*.html"), ("templates", "*.txt"), ("kita", "*.py")):
        for path in sorted((ROOT / folder).rglob(pattern)):
            text = path.read_text(encoding="utf-8")
            if CALL.search(text):
                rel = path.relative_to(ROOT).as_posix()
                if rel not in read and "/translations/" not in rel:
                    unread.append(rel)
    assert not unread, f"files with translatable text that extraction does not read: {unread}"
