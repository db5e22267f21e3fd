"""Translation of the printed handout and the "why it fits" reasons (`service.render.reasons`),
and of any page that wants it: Flask-Babel, gettext catalogues.

Catalogues live in `service/translations/<lang>/LC_MESSAGES/messages.po` (compiled `.mo`
beside each). English is the source language and ships as a catalogue of its own, so a
new language is `pybabel init -l xx` and a translator's work, with no code change.

The vocabulary labels (`vocab.LABELS`) and the program explainers (`programs.STANCES`)
are written in those modules, not as `_()` calls; `extract_vocabulary` lets
`pybabel extract` find them, and `label()` / `explainer()` look them up at render time,
so those modules stay free of Flask.
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po
from flask import Flask, current_app, g, has_app_context
from flask_babel import Babel, get_babel, gettext

from service.domain import vocab

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
DEFAULT_LANGUAGE = "en"
# The ten languages most spoken at home after English (2021 Census), as catalogue names.
CLIENT_LANGUAGES = ("zh_Hans", "ar", "vi", "zh_Hant", "pa", "el", "it", "fil", "hi", "es")
RIGHT_TO_LEFT = frozenset({"ar"})
BASE_ALIASES = {"tl": "fil"}


def direction(language: str) -> str:
    """The text direction of a catalogue language: "rtl" or "ltr" (for `dir` attributes)."""
    return "rtl" if language.split("_", 1)[0] in RIGHT_TO_LEFT else "ltr"


def available_languages() -> tuple[str, ...]:
    """Languages with a compiled catalogue (English always, being the source language), in
    the app's translation directories (ours when there is no app)."""
    directories = (str(TRANSLATIONS),)
    if has_app_context() and "babel" in current_app.extensions:
        directories = tuple(get_babel().translation_directories)
    return _languages_in(directories)


@lru_cache(maxsize=8)
def _languages_in(directories: tuple[str, ...]) -> tuple[str, ...]:
    # Read once per process: catalogues arrive with a deploy, not while serving.
    found = {p.parent.parent.name for d in directories for p in Path(d).glob("*/LC_MESSAGES/messages.mo")}
    return tuple(sorted(found | {DEFAULT_LANGUAGE}))


def catalogue_name(tag: str | None) -> str | None:
    """The catalogue name ("en" or one of `CLIENT_LANGUAGES`) a language tag stands for, or
    None: "zh-TW" -> "zh_Hant", "zh" -> "zh_Hans", "tl" -> "fil", "vi-VN" -> "vi", "en-AU" -> "en".
    Whether that catalogue is compiled here is `negotiate`'s question, not this one's."""
    if not tag or not isinstance(tag, str):
        return None
    wanted = tag.strip().replace("-", "_")
    known = (DEFAULT_LANGUAGE, *CLIENT_LANGUAGES)
    if wanted in known:
        return wanted
    parts = wanted.split("_")
    base = parts[0].lower()
    # Chinese is chosen by script, which a browser tag gives directly (zh-Hant) or by region
    # (zh-TW); Tagalog's tag `tl` is read as Filipino, the catalogue's CLDR name.
    if base == "zh":
        return "zh_Hant" if any(p.lower() in ("hant", "tw", "hk", "mo") for p in parts[1:]) else "zh_Hans"
    base = BASE_ALIASES.get(base, base)
    return base if base in known else None


def negotiate(language: str | None) -> str:
    """The catalogue to use for a handout's `language` ("en", "en-AU", "vi"...): the exact
    one, else its base language, else English. Never raises, so an odd stored language
    still prints a handout (in English) rather than an error."""
    if not language:
        return DEFAULT_LANGUAGE
    wanted = language.strip().replace("-", "_")
    available = available_languages()
    if wanted in available:
        return wanted
    name = catalogue_name(language)
    if name is None:
        # Not one of ours, but a catalogue may still be installed for its base language.
        name = BASE_ALIASES.get(wanted.split("_")[0].lower(), wanted.split("_")[0].lower())
    return name if name in available else DEFAULT_LANGUAGE


REVIEW_HEADER = "X-Linkage-Review"
NOT_REVIEWED = "not reviewed"
_REVIEW_LINE = re.compile(rf"^#\s*{REVIEW_HEADER}:\s*(.*?)\s*$", re.I | re.M)


def review_state(language: str) -> str:
    """A catalogue's review state, the `X-Linkage-Review:` line of its header comment: "not
    reviewed", or "reviewed by NAME, YYYY-MM-DD" once a qualified translator has signed it
    off. English, the source language, counts as reviewed; a catalogue without the line
    counts as not reviewed.

    A line of the header *comment*, not a header field: `pybabel update` keeps the comment
    and drops header fields it does not know, and a compiled `.mo` keeps neither, so it is
    read from the `.po` beside the `.mo`, once per process (catalogues arrive with a deploy)."""
    if language == DEFAULT_LANGUAGE:
        return "reviewed (source language)"
    directories = (str(TRANSLATIONS),)
    if has_app_context() and "babel" in current_app.extensions:
        directories = tuple(get_babel().translation_directories)
    return _review_in(directories, language)


@lru_cache(maxsize=64)
def _review_in(directories: tuple[str, ...], language: str) -> str:
    for directory in directories:
        path = Path(directory) / language / "LC_MESSAGES" / "messages.po"
        if path.is_file():
            with path.open("rb") as po:
                found = _REVIEW_LINE.search(read_po(po).header_comment or "")
            return found.group(1) if found and found.group(1) else NOT_REVIEWED
    return NOT_REVIEWED


def reviewed(language: str) -> bool:
    """True when the catalogue of `language` has been signed off by a reviewer (or is English)."""
    state = review_state(language)
    return state != NOT_REVIEWED and state.lower().startswith("reviewed")


def select_locale() -> str:
    """Flask-Babel's locale selector: the language a view set on `g` (the handout's), else English.

    Views that render a handout need not set it: `render.handout` forces the handout's own
    language around each render. It is here for pages that want the same choice.
    """
    return negotiate(g.get("linkage_language"))


def init_i18n(app: Flask) -> Babel:
    """Set up Flask-Babel on the app: catalogues from `service/translations`, English by
    default, the locale from the handout's language, and `_`/`gettext`/`ngettext` in
    every template (Jinja's i18n extension, `{% trans %}` blocks included)."""
    # Absolute, so the catalogues are found whatever the app's root path or working directory.
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    babel = Babel(app, locale_selector=select_locale)
    app.jinja_env.globals.update(label=label, explainer=explainer)
    return babel


def label(value: str) -> str:
    """The plain-words label of a vocabulary value, translated (`vocab.label` in English)."""
    return gettext(vocab.label(value))


def explainer(text: str | None) -> str | None:
    """A program explainer (from `programs.STANCES`), translated when the catalogue has it."""
    return gettext(text) if text else text


def extract_vocabulary(fileobj, keywords, comment_tags, options):
    """A Babel extractor for `vocab.py`, `programs.py` and `referrals.py` (named in babel.cfg):
    the values of the `LABELS` and `SEVEN_DAY_GOALS` dicts and every `explainer="..."` keyword
    become messages.

    Reads the source with `ast` rather than importing it, so extraction runs no code.
    """
    tree = ast.parse(fileobj.read().decode(options.get("encoding", "utf-8")))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id in ("LABELS", "SEVEN_DAY_GOALS") for t in node.targets
        ) and isinstance(node.value, ast.Dict):
            for value in node.value.values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    yield value.lineno, "gettext", value.value, ["Plain-words label of a vocabulary value."]
        elif isinstance(node, ast.keyword) and node.arg == "explainer":
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str) and node.value.value:
                yield node.value.lineno, "gettext", node.value.value, ["Program explainer shown on handouts."]
