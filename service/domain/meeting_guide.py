"""The Meeting Guide format's vocabulary (code4recovery/spec), shared by the feed reader
(indexers.sources.meeting_guide) and the feed we publish (service.render.meeting_guide)."""

from __future__ import annotations

from urllib.parse import urlsplit

from service.domain import vocab

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

# Every type code the spec defines (code4recovery/spec data/types.json, commit 404117a,
# 2026-03-06). ONL is not one: the spec removed it, and TSML UI derives "online" from
# conference_url and conference_phone. The export writes only these; `linkage
# check-meeting-guide` reports any other code a feed carries.
SPEC_TYPE_CODES = frozenset({
    "11", "12x12", "A", "ABSI", "AF", "AL", "AL-AN", "AM", "AR", "ASL", "B", "BA", "BE", "BG",
    "BI", "BRK", "C", "CAN", "CF", "D", "DA", "DB", "DD", "DE", "DR", "EL", "EN", "FA", "FF",
    "FI", "FR", "G", "GR", "H", "HE", "HI", "HR", "HU", "IS", "ITA", "JA", "KA", "KOR", "L",
    "LGBTQ", "LIT", "LS", "LT", "M", "MED", "ML", "MT", "N", "NB", "NDG", "NE", "NL", "NO", "O",
    "OUT", "P", "POA", "POC", "POL", "POR", "PUN", "RUS", "S", "SEN", "SK", "SL", "SM", "SP",
    "ST", "SV", "T", "TC", "TH", "TL", "TR", "TUR", "UK", "W", "X", "XB", "XT", "Y",
})

# Conference services TSML UI recognises in a conference_url, by the end of the link's host
# (TSML UI 1.8, its default `conference_providers` setting). A link to any other host is
# dropped by TSML UI, so the meeting is not shown as online: the export then also offers the
# link as the meeting's `website`, and the export check warns about it.
CONFERENCE_PROVIDERS = {
    "bluejeans.com": "Bluejeans", "discord.gg": "Discord", "freeconference.com": "Free Conference",
    "freeconferencecall.com": "FreeConferenceCall", "goto.com": "GoTo", "gotomeet.me": "GoTo",
    "gotomeeting.com": "GoTo", "horizon.meta.com": "Virtual Reality",
    "maps.secondlife.com": "Virtual Reality", "meet.google.com": "Google Meet",
    "meet.jit.si": "Jitsi", "meetings.dialpad.com": "Dialpad", "signal.group": "Signal",
    "skype.com": "Skype", "slurl.com": "Virtual Reality", "teams.live.com": "Teams",
    "teams.microsoft.com": "Teams", "vrchat.com": "Virtual Reality", "webex.com": "WebEx",
    "zoho.com": "Zoho", "zoom.us": "Zoom",
}

# The fewest dial-string characters (digits, "+", ",", "#") TSML UI accepts as a
# conference_phone; a shorter one is dropped with a console warning.
MIN_DIAL_LENGTH = 10


def conference_provider(url: str) -> str | None:
    """The name TSML UI shows for a conference link ("Zoom"), or None when it does not know
    the link's host. A host matches a provider's domain or any subdomain of it."""
    host = (urlsplit(url).hostname or "").lower()
    for domain, name in CONFERENCE_PROVIDERS.items():
        if host == domain or host.endswith("." + domain):
            return name
    return None


# Where an online meeting without an address of its own comes from, as the spec's FAQ asks
# ("use approximate locations ... that imply the time zone"): the Australian state of its
# service area, else of its time zone. Zones shared by two states name the larger one.
ZONE_STATES = {zone: code for code, zone in reversed(vocab.STATES.items())} | {
    "Australia/Broken_Hill": "NSW", "Australia/Lord_Howe": "NSW",
    "Australia/Lindeman": "QLD", "Australia/Eucla": "WA", "Australia/Currie": "TAS",
}
# A point for such an approximate location: the state's capital, to two decimals (about a
# kilometre). TSML UI ignores the point of an approximate location; a reader that needs a
# point (Linkage's own, re-importing the feed) gets one without a geocoder.
STATE_POINTS = {
    "NSW": (-33.87, 151.21), "VIC": (-37.81, 144.96), "QLD": (-27.47, 153.03),
    "SA": (-34.93, 138.6), "WA": (-31.95, 115.86), "TAS": (-42.88, 147.33),
    "NT": (-12.46, 130.84), "ACT": (-35.28, 149.13),
}
