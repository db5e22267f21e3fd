"""The second line of privacy: identifying details found in text that might be kept, removed.

The first line is the design: nothing a clinician types about a client is sent to storage
(referrals hold only choices from fixed lists, see `referrals.py`), searches are logged
without their words and with places coarsened (`observability.loggable_query`). This
scrubber runs on the little free text that can still reach a log line (error messages and
tracebacks, which may quote a request) so that a slip elsewhere does not keep a name, a date
of birth, an address, a Centrelink or Medicare number, an email or a phone number.

It errs on the side of removing: a service's own phone number or a program's name in a log
line is lost too, which costs nothing there.
"""

from __future__ import annotations

import re

REMOVED = "[removed]"

_MONTHS = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
           r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_NUMBER_WORDS = r"(?:zero|oh|nought|one|two|three|four|five|six|seven|eight|nine|double|triple)"
_STREET_TYPES = (r"(?:st|street|rd|road|ave?|avenue|cres|crescent|dr|drive|pl|place|ct|court|pde|parade|"
                 r"hwy|highway|la|lane|ln|tce|terrace|way|blvd|boulevard|cl|close|cct|circuit|gr|grove|"
                 r"sq|square|esp|esplanade|parkway|pkwy)")

# A capitalised word as names are written: Jane, Mary-Anne, O'Brien, McDonald.
_NAME_WORD = r"[A-Z](?:'[A-Z])?[a-z][\w'\-]*"

# Order matters: emails before names (a name may be part of one), dates before phone numbers
# (a date's digits would otherwise read as a phone number and leave "DOB" dangling).
_PATTERNS = (
    # jane.citizen@example.com
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    # jane at gmail dot com, jane (at) gmail (dot) com, jane [at] gmail [dot] com.au
    re.compile(r"[\w.+-]+\s*[\[(]?\s*\bat\b\s*[\])]?\s*[\w-]+(?:\s*[\[(]?\s*\bdot\b\s*[\])]?\s*[\w-]+)+",
               re.IGNORECASE),
    # DOB 3/4/1990, d.o.b. 03-04-90, born 3 April 1990: the label goes with the date.
    re.compile(r"\b(?:d\.?\s?o\.?\s?b\.?|date of birth|born)\s*[:\-]?\s*"
               r"(?:\d{1,2}\s*[/.\-]\s*\d{1,2}\s*[/.\-]\s*\d{2,4}|\d{1,2}(?:st|nd|rd|th)?\s+" + _MONTHS +
               r"\.?,?\s+\d{2,4}|" + _MONTHS + r"\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{2,4}|\d{4})",
               re.IGNORECASE),
    # Dates on their own: 3/4/1990, 03.04.90, 3 April 1990, April 3, 1990.
    re.compile(r"\b\d{1,2}\s*[/.]\s*\d{1,2}\s*[/.]\s*\d{2,4}\b"),
    re.compile(r"\b\d{1,2}(?:st|nd|rd|th)?\s+" + _MONTHS + r"\.?,?\s+\d{4}\b", re.IGNORECASE),
    re.compile(r"\b" + _MONTHS + r"\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}\b", re.IGNORECASE),
    # Centrelink customer reference numbers: nine digits and a letter (123 456 789A).
    re.compile(r"\b\d{3}[\s\-]?\d{3}[\s\-]?\d{3}\s?[A-Za-z]\b"),
    # Phone, Medicare and other long numbers: eight or more digits with any separators
    # (spaces, dots, dashes, slashes, underscores, brackets), with or without +61.
    re.compile(r"(?<![\w])\+?\(?\d(?:[\s().\-/_]*\d){7,}(?![\w])"),
    # Numbers read out in words: "oh four one two three four five six seven eight".
    re.compile(r"\b" + _NUMBER_WORDS + r"(?:[\s,\-]+" + _NUMBER_WORDS + r"){5,}\b", re.IGNORECASE),
    # Street addresses: 12 Smith St, 3/45 Example Road, Unit 4 12-14 George Street.
    re.compile(r"\b(?:(?:unit|apt|flat)\s*\d+[a-z]?,?\s*)?\d+[a-z]?(?:\s*[/\-]\s*\d+[a-z]?)?\s+"
               r"(?:[A-Za-z'\-]+\s+){1,3}" + _STREET_TYPES + r"\b\.?", re.IGNORECASE),
    # Names: a title and a word (Mr Smith, Ms J Citizen), or two or more capitalised words in a
    # row (Jane Citizen, Mary-Anne O'Brien).
    re.compile(r"\b(?:mr|mrs|ms|miss|mx|dr)\.?\s+(?:[A-Z][\w'\-]*\.?\s+)*[A-Z][\w'\-]+"),
    re.compile(r"\b" + _NAME_WORD + r"(?:\s+(?:[A-Z]\.\s*)?" + _NAME_WORD + r")+"),
)


# Text no pattern above can match: lower-case letters and underscores only (every pattern
# needs a digit, an "@", a capital, or a space or other separator between words). Log
# messages such as "request" are this, and skip the dozen passes.
_PLAIN = re.compile(r"[a-z_]+")


def scrub_identifying(text: str | None) -> str:
    """The text with names, dates of birth, addresses, Centrelink, Medicare and phone numbers
    and email addresses (also written out as "at" and "dot") replaced by "[removed]"."""
    if not text:
        return ""
    if _PLAIN.fullmatch(text):
        return text
    for pattern in _PATTERNS:
        text = pattern.sub(REMOVED, text)
    return text
