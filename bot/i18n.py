"""Translations: gettext catalogs (bot/locales/<lang>/LC_MESSAGES/briefbot.po) compiled at start."""

from __future__ import annotations

import gettext
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiogram.utils.i18n import I18n

LANGUAGES = ("en", "be", "ru")
DEFAULT_LANGUAGE = "en"
DOMAIN = "briefbot"
LOCALES_DIR = Path(__file__).parent / "locales"

Translate = Callable[[str], str]


def compile_catalogs(locales: Path = LOCALES_DIR) -> list[Path]:
    """Compile each .po into its .mo when the .mo is missing or older; return the .mo paths."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    compiled = []
    for po_path in sorted(locales.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo_path = po_path.with_suffix(".mo")
        if not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file, locale=po_path.parent.parent.name)
            # A temporary name, then rename: another process may be reading the old file.
            tmp = mo_path.with_suffix(".mo.tmp")
            with tmp.open("wb") as mo_file:
                write_mo(mo_file, catalog)
            tmp.replace(mo_path)
        compiled.append(mo_path)
    return compiled


@cache
def _compiled() -> None:
    compile_catalogs()


@cache
def get_i18n() -> I18n:
    """The process-wide aiogram I18n (for handlers), with catalogs compiled first."""
    from aiogram.utils.i18n import I18n

    _compiled()
    return I18n(path=LOCALES_DIR, default_locale=DEFAULT_LANGUAGE, domain=DOMAIN)


@cache
def _catalog(language: str) -> gettext.NullTranslations:
    _compiled()
    # Plain gettext outside Telegram (digests, console, CLI): no aiogram import needed.
    return gettext.translation(DOMAIN, LOCALES_DIR, languages=[language], fallback=True)


def normalize_language(code: str | None) -> str:
    """Map a Telegram language_code (e.g. 'ru-RU', 'be') to one we speak, else English."""
    base = (code or "").split("-")[0].lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def translator(language: str) -> Translate:
    """A gettext function for one language, usable outside a Telegram update (jobs, CLI)."""
    return _catalog(normalize_language(language)).gettext
