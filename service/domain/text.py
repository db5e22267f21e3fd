"""Text normalisation: names typed by people against names in data; the control-character
rule; contact links."""

import re
import unicodedata
from urllib.parse import urldefrag, urlsplit

# The control-character rule: C0 controls other than tab, newline and carriage return, and DEL.
# Listing text never carries them: the schema rejects them, feed readers remove them.
_CONTROLS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
CONTROL_CHARACTERS = re.compile(rf"[{_CONTROLS}]")
# The bidirectional embeddings, overrides and isolates: they make text display in a different
# order from how it reads (U+202E turns "exe.txt" around), so no listing text keeps them. The
# marks (U+200E, U+200F, U+061C) stay: right-to-left text needs them and they reorder nothing.
_BIDI_CONTROLS = r"\u202a-\u202e\u2066-\u2069"
BIDI_CONTROLS = re.compile(rf"[{_BIDI_CONTROLS}]")
# The same rule widened for free text from feeds: C1 controls too, and the bidi controls.
HIDDEN_CHARACTERS = re.compile(rf"[{_CONTROLS}\x80-\x9f{_BIDI_CONTROLS}]")

# The contact fields that hold links a client would follow (and the link checker checks).
LINK_FIELDS = ("website", "conference_url", "registration_url")


def normalise(text: str) -> str:
    """Lower-case, accent-free, punctuation-free text for matching place and program names."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = re.sub(r"[^\w\s]", " ", plain.casefold())
    return re.sub(r"\s+", " ", plain).strip()


def link_url(value: str | None) -> str | None:
    """A contact link as the link checker knows it: trimmed and without its fragment (which
    never reaches the server, so page#a and page#b are one link); None unless http(s)."""
    try:
        url = urldefrag((value or "").strip()).url
        parts = urlsplit(url)
    except ValueError:
        return None  # e.g. an unclosed IPv6 bracket: no browser could open it either
    return url if parts.scheme.lower() in ("http", "https") and parts.hostname else None


def links_in_use(contact: dict, dead_links) -> list[dict]:
    """The dead links this contact still shows, each with the fields that hold it (a handout's
    snapshot may hold other links than the listing today; a link may carry a #fragment)."""
    used = []
    for link in dead_links:
        holding = [name for name in LINK_FIELDS if link_url(contact.get(name)) == link["url"]]
        if holding:
            used.append({**link, "fields": holding})
    return used
