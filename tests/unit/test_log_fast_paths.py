"""The log scrubbers' shortcuts change nothing: text they skip is text every pattern leaves alone."""

import re

from hypothesis import given, settings, strategies as st

from service import privacy
from service.observability import round_coordinates

# Words that some pattern looks for when they come with digits, spaces or capitals.
TRIGGERS = ["request", "at", "dot", "born", "dob", "mr", "st", "street", "one", "two", "oh", "jan", "may", "gmail",
            "com", "_"]


def every_pattern(text: str) -> str:
    """The scrub as every pattern writes it (the reference for the shortcut)."""
    for pattern in privacy._PATTERNS:
        text = pattern.sub(privacy.REMOVED, text)
    return text


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(TRIGGERS), st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1)),
                min_size=1, max_size=6).map("".join))
def test_plain_lower_case_words_are_left_as_every_pattern_leaves_them(text):
    assert privacy.scrub_identifying(text) == every_pattern(text) == text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_is_scrubbed_as_every_pattern_scrubs_it(text):
    assert privacy.scrub_identifying(text) == (every_pattern(text) if text else "")


def test_identifying_text_is_still_scrubbed():
    assert privacy.scrub_identifying("call Jane Citizen on 0412 345 678") == "call [removed] on [removed]"


# Hand-worked: numbers with a decimal point to two places; nothing else changes.
ROUNDED = [("/v1/search", "/v1/search"), ("2000", "2000"), ("-33.868820", "-33.87"), ("151.2093,-33.8688", "151.21,-33.87"),
           ("in_person,online", "in_person,online"), ("2026-05-13T18:30:00+10:00", "2026-05-13T18:30:00+10:00"),
           ("1.005", "1.00"), ("12345.678", "12345.68")]


def test_coordinates_are_rounded_and_other_text_left():
    for text, expected in ROUNDED:
        assert round_coordinates(text) == expected, text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789.-,abc:+T ", max_size=30))
def test_round_coordinates_skips_only_text_without_a_decimal_point(text):
    pattern = re.compile(r"-?\d{1,3}\.\d+")
    assert round_coordinates(text) == pattern.sub(lambda m: f"{float(m.group()):.2f}", text)
