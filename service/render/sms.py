"""How long a text message is, counted as phones count it (3GPP TS 23.038 and 23.040).

A message that uses only the GSM 7-bit default alphabet is sent as GSM-7: 160 septets in one
segment, 153 a segment once it needs several (the other seven carry the concatenation
header). The extension table's characters (`^ { } \\ [ ~ ] | €` and form feed) are sent as an
escape plus the character, two septets each. Any other character (a Vietnamese tone mark,
Arabic, Chinese, an emoji) makes the whole message UCS-2: 70 UTF-16 code units in one
segment, 67 a segment when split; a character outside the Basic Multilingual Plane (most
emoji) is a surrogate pair, two units.

A phone never splits an escape sequence or a surrogate pair across two segments, so the
parts are packed greedily: a two-unit character that does not fit in a part starts the next.
"""

from __future__ import annotations

from dataclasses import dataclass

# The GSM 7-bit default alphabet (TS 23.038 section 6.2.1), without the escape code itself.
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The default alphabet extension table (section 6.2.1.1): each costs an escape septet too.
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7 = "GSM-7"
UCS2 = "UCS-2"
# (one segment, each segment of a longer message), in the encoding's units.
LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}


@dataclass(frozen=True)
class SmsLength:
    """A message's encoding, its length in that encoding's units (septets or UTF-16 code
    units) and how many segments a phone sends it in."""

    encoding: str
    characters: int
    segments: int


def encoding_of(text: str) -> str:
    """"GSM-7" when every character is in the GSM default alphabet or its extension, else "UCS-2"."""
    return GSM7 if all(ch in GSM_BASIC or ch in GSM_EXTENSION for ch in text) else UCS2


def units(text: str, encoding: str) -> list[int]:
    """Each character's size in `encoding`: septets (2 for the extension table) or UTF-16
    code units (2 beyond the Basic Multilingual Plane)."""
    if encoding == GSM7:
        return [2 if ch in GSM_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _parts(sizes: list[int], per_part: int) -> int:
    # Greedy packing: a character that does not fit whole in this part starts the next one.
    parts, used = 1, 0
    for size in sizes:
        if used + size > per_part:
            parts, used = parts + 1, 0
        used += size
    return parts


def measure(text: str) -> SmsLength:
    """The encoding, length and segment count of `text` as a phone would send it (an empty
    message is one segment)."""
    encoding = encoding_of(text)
    sizes = units(text, encoding)
    total = sum(sizes)
    single, per_part = LIMITS[encoding]
    segments = 1 if total <= single else _parts(sizes, per_part)
    return SmsLength(encoding, total, segments)


def sms_length(text: str) -> dict:
    """The API's `sms_length` object for a message: its encoding, its length in that
    encoding's units and its segment count."""
    length = measure(text)
    return {"encoding": length.encoding, "characters": length.characters, "segments": length.segments}
