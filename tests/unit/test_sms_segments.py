"""SMS length as phones count it: GSM-7 septets in 160 / 153-a-part segments, UCS-2 code units
in 70 / 67-a-part segments (3GPP TS 23.038, 23.040).

Every expected value below was worked out by hand from those rules, not by the code:
a GSM extension character (€, ^, {, }, \\, [, ~, ], |, form feed) is an escape plus itself (2
septets); any character outside the GSM alphabet makes the message UCS-2; an emoji beyond the
Basic Multilingual Plane is a surrogate pair (2 units); a part never ends inside an escape
sequence or a surrogate pair.
"""

from __future__ import annotations

import pytest

from service.render.sms import measure, sms_length

VIET = "ệ"  # U+1EC7, one code point (NFC): e with circumflex and dot below, not in GSM-7
EMOJI = "\U0001F600"  # grinning face: a surrogate pair in UTF-16

# (text, encoding, units counted, segments)
TABLE = [
    ("", "GSM-7", 0, 1),
    ("a" * 160, "GSM-7", 160, 1),
    ("a" * 161, "GSM-7", 161, 2),            # 153 + 8
    ("a" * 306, "GSM-7", 306, 2),            # 153 + 153
    ("a" * 307, "GSM-7", 307, 3),            # 153 + 153 + 1
    ("a" * 158 + "€", "GSM-7", 160, 1),      # 158 + 2 septets = 160
    ("a" * 159 + "€", "GSM-7", 161, 2),      # 161 septets > 160
    ("{}" * 80, "GSM-7", 320, 3),            # 76 pairs (152) | 76 (152) | 8 chars (16)
    # 152 + € (2) would be 154 > 153: the € opens part 2, which then holds € + 151 a = 153,
    # and the last a is part 3, although 306 septets alone would fit two parts.
    ("a" * 152 + "€" + "a" * 152, "GSM-7", 306, 3),
    ("Ça coûte £5 @ Zürich", "UCS-2", 20, 1),  # û is not in the GSM alphabet (ü is)
    ("Ça coute £5 @ Zürich", "GSM-7", 20, 1),
    ("ΔΦΓΛΩΠΨΣΘΞ", "GSM-7", 10, 1),           # Greek capitals in the GSM alphabet
    ("αβγ", "UCS-2", 3, 1),                    # Greek lower case is not
    (VIET * 70, "UCS-2", 70, 1),
    (VIET * 71, "UCS-2", 71, 2),               # 67 + 4
    (VIET * 134, "UCS-2", 134, 2),             # 67 + 67
    (VIET * 135, "UCS-2", 135, 3),             # 67 + 67 + 1
    (EMOJI * 35, "UCS-2", 70, 1),              # 35 pairs = 70 units
    (EMOJI * 36, "UCS-2", 72, 2),              # 33 pairs (66) | 3 pairs (6)
    ("a" * 66 + EMOJI + "a", "UCS-2", 69, 1),  # 69 units fit one segment
    ("a" * 66 + EMOJI + "a" * 2, "UCS-2", 70, 1),
    ("a" * 66 + EMOJI + "a" * 3, "UCS-2", 71, 2),  # 66 | pair + 3 (the pair is not split)
    ("مرحبا", "UCS-2", 5, 1),
    ("你好" * 35, "UCS-2", 70, 1),
    ("你好" * 35 + "!", "UCS-2", 71, 2),
]


@pytest.mark.parametrize(("text", "encoding", "characters", "segments"), TABLE,
                         ids=[f"{i}-{t[:12]!r}" for i, (t, *_rest) in enumerate(TABLE)])
def test_sms_length_as_phones_count_it(text, encoding, characters, segments):
    length = measure(text)
    assert (length.encoding, length.characters, length.segments) == (encoding, characters, segments)


def test_the_api_object_carries_the_count():
    assert sms_length("Options: €5") == {"encoding": "GSM-7", "characters": 12, "segments": 1}
