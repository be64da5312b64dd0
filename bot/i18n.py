"""Translations: gettext catalogs (bot/locales/<lang>/LC_MESSAGES/briefbot.po) compiled at start."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

from aiogram.utils.i18n import I18n
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("en", "be", "ru")
DEFAULT_LANGUAGE = "en"
DOMAIN = "briefbot"
LOCALES_DIR = Path(__file__).parent / "locales"

Translate = Callable[[str], str]


def compile_catalogs(locales: Path = LOCALES_DIR) -> list[Path]:
    """Compile each .po into its .mo when the .mo is missing or older; return the .mo paths."""
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
def get_i18n() -> I18n:
    """The process-wide aiogram I18n, with catalogs compiled first."""
    compile_catalogs()
    return I18n(path=LOCALES_DIR, default_locale=DEFAULT_LANGUAGE, domain=DOMAIN)


def normalize_language(code: str | None) -> str:
    """Map a Telegram language_code (e.g. 'ru-RU', 'be') to one we speak, else English."""
    base = (code or "").split("-")[0].lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def translator(language: str) -> Translate:
    """A gettext function for one language, usable outside a Telegram update (jobs, CLI)."""
    i18n = get_i18n()
    locale = normalize_language(language)

    def translate(message: str) -> str:
        return i18n.gettext(message, locale=locale)

    return translate
