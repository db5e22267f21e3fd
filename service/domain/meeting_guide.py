"""The Meeting Guide format's vocabulary (code4recovery/spec), shared by the feed reader
(indexers.sources.meeting_guide) and the feed we publish (service.render.meeting_guide)."""

from __future__ import annotations

# Meeting Guide counts days from Sunday = 0; listings name them.
DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")

# What a listing's first visit says for the BE (beginner / newcomer) type code; a listing that
# says exactly this is written back as BE.
NEWCOMER_TEXT = "A newcomer meeting: suited to people coming for the first time."

# The one table between Meeting Guide type codes and listing fields. Reading maps every code
# listed here; writing uses the first code listed for a value, so preferred codes come first
# (LGBTQ before G/L/T, S before ES). Codes not listed (B Big Book, D Discussion, SP Speaker,
# ...) describe the meeting's content, which listings do not record, and are ignored.
# Not mapped on purpose: N/NDG (Native American / Indigenous) would mean different peoples in
# different countries, and the audience vocabulary only has Aboriginal and Torres Strait
# Islander people; POC has no matching audience; AL-AN means an Al-Anon meeting runs at the
# same time, not that this meeting is for families.
TYPE_CODES: dict[str, tuple[str, object]] = {
    "O": ("open_meeting", True),
    "C": ("open_meeting", False),
    "W": ("audiences", "women"),
    "M": ("audiences", "men"),
    "LGBTQ": ("audiences", "lgbtiq"),
    "G": ("audiences", "lgbtiq"),
    "L": ("audiences", "lgbtiq"),
    "T": ("audiences", "lgbtiq"),
    "BI": ("audiences", "lgbtiq"),
    "NB": ("audiences", "lgbtiq"),
    "Y": ("audiences", "young_people"),
    "X": ("accessibility", "wheelchair_access"),
    "XB": ("accessibility", "accessible_toilet"),
    "BE": ("first_visit", NEWCOMER_TEXT),
    "EN": ("languages", "en"),
    "S": ("languages", "es"),
    # ES is not a spec code, but feeds that use it mean Spanish (the spec warns against
    # custom codes that look like ISO 639 language codes for exactly this reason).
    "ES": ("languages", "es"),
    "FR": ("languages", "fr"),
    "DE": ("languages", "de"),
    "ITA": ("languages", "it"),
    "POR": ("languages", "pt"),
    "POL": ("languages", "pl"),
    "RUS": ("languages", "ru"),
    "UK": ("languages", "uk"),
    "JA": ("languages", "ja"),
    "KOR": ("languages", "ko"),
    "HE": ("languages", "he"),
    "HI": ("languages", "hi"),
    "HR": ("languages", "hr"),
    "HU": ("languages", "hu"),
    "EL": ("languages", "el"),
    "DA": ("languages", "da"),
    "NO": ("languages", "no"),
    "SV": ("languages", "sv"),
    "SK": ("languages", "sk"),
    "LT": ("languages", "lt"),
    "FA": ("languages", "fa"),
    "AM": ("languages", "am"),
    "ML": ("languages", "ml"),
    "PUN": ("languages", "pa"),
    "TH": ("languages", "th"),
    "TL": ("languages", "tl"),
    "ASL": ("languages", "ase"),  # ISO 639-3 code of American Sign Language
    # Attendance: ONL is the 12 Step Meeting List plugin's "online" (not in the spec); TC is
    # the spec's "Location Temporarily Closed". The reader works both into the listing's
    # formats and status itself; the writer writes them from those.
    "ONL": ("formats", "online"),
    "TC": ("status", "temporarily_closed"),
}
