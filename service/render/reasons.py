""""Why it fits" in words: each `Reason` (`service.domain.models`) written in the active
language, through the translation catalogue.

The one place reasons become words, for every format that prints them (the API's `why`,
the search page, the widget through the API, the handout). Outside an app, or in English,
the words are the catalogue's source strings: "Fits the goal: cutting down", "3.1 km away",
"Online and Phone — available in NSW", "Starts in 1 h 05 min".

Vocabulary values are written with their labels (`service.i18n.label`), lower-cased inside a
sentence except proper nouns. Substance, language and service-area codes are printed as the
codes themselves, as they always have been.
"""

from __future__ import annotations

import weakref

from flask_babel import get_translations, gettext as _

from service import i18n
from service.domain.models import Reason

# Audience labels that are proper nouns or acronyms keep their capitals inside a sentence.
_PROPER_AUDIENCES = ("lgbtiq", "aboriginal_torres_strait_islander")
# Lists inside a reason are joined with a comma and a space (not yet a translated rule).
_LIST = ", "


def audience_words(value: str) -> str:
    """An audience as it reads inside a sentence: "women", "LGBTIQ+ people"."""
    text = i18n.label(value)
    return text if value in _PROPER_AUDIENCES else text.lower()


def _goals(values: tuple) -> str:
    return _LIST.join(i18n.label(goal).lower() for goal in values)


def _audiences(values: tuple) -> str:
    return _LIST.join(audience_words(audience) for audience in values)


def _both(labels: list[str]) -> str:
    """"Online and Phone": each further item joined with the catalogue's "and"."""
    joined = labels[0]
    for more in labels[1:]:
        joined = _("%(first)s and %(second)s", first=joined, second=more)
    return joined


def _available_remotely(values: tuple) -> str:
    formats, areas = values
    area = _LIST.join(areas) or _("anywhere")
    return _("%(formats)s — available in %(area)s", formats=_both([i18n.label(f) for f in formats]), area=area)


def _starts_in(values: tuple) -> str:
    minutes = values[0]
    if minutes < 60:
        return _("Starts in %(minutes)s min", minutes=minutes)
    past_hour = f"{minutes % 60:02d}"
    return _("Starts in %(hours)s h %(minutes)s min", hours=minutes // 60, minutes=past_hour)


# Code -> words. The distance keeps Python's one-decimal format of the number as reported
# (the widget and the page format the API's distance_km the same way, so they agree).
_WORDS = {
    "only_for": lambda values: _("Only for %(audiences)s", audiences=_audiences(values)),
    "fits_goal": lambda values: _("Fits the goal: %(goals)s", goals=_goals(values)),
    "welcomes_undecided": lambda values: _("Welcomes people still deciding on a goal"),
    "focus_on": lambda values: _("Focus on %(substances)s", substances=_LIST.join(values)),
    "any_substance": lambda values: _("Open to any substance"),
    "distance_km": lambda values: _("%(km)s km away", km=format(values[0], ".1f")),
    "available_remotely": _available_remotely,
    "for_audience": lambda values: _("For %(audiences)s", audiences=_audiences(values)),
    "in_language": lambda values: _("In %(languages)s", languages=_LIST.join(values)),
    "open_24_7": lambda values: _("Open 24/7"),
    "on_now": lambda values: _("On now"),
    "starts_in": _starts_in,
    "free": lambda values: _("Free"),
}


def reason_text(reason: Reason) -> str:
    """The reason in words, in the active language ("Fits the goal: cutting down")."""
    try:
        words = _WORDS[reason.code]
    except KeyError:
        raise ValueError(f"no words for the reason code {reason.code!r}") from None
    return words(reason.values)


# Words already written, per catalogue (the translations object flask-babel keeps for a
# language for the app's life): a search writes the same few reasons for every page.
# Bounded, because distances and minutes make many distinct reasons.
_WRITTEN: "weakref.WeakKeyDictionary[object, dict]" = weakref.WeakKeyDictionary()
_WRITTEN_MAX = 20_000


def reason_writer():
    """`reason_text` for the active language, remembering what it wrote: for rendering many
    reasons at once (a search page) without asking flask-babel for the catalogue each time."""
    translations = get_translations()
    try:
        written = _WRITTEN[translations]
    except TypeError:  # not weakly referable: no remembering
        return reason_text
    except KeyError:
        written = _WRITTEN[translations] = {}

    def write(reason: Reason) -> str:
        # Keyed by the reason's fields as a plain tuple: equal exactly when the reasons are
        # (a Reason is its code and values), and hashed and compared in C, where the
        # dataclass's own __hash__ and __eq__ run as Python for every reason of a page.
        key = (reason.code, reason.values)
        text = written.get(key)
        if text is None:
            if len(written) >= _WRITTEN_MAX:
                written.clear()
            text = written[key] = reason_text(reason)
        return text

    return write
