"""`linkage check-feed`: the Meeting Guide feed we publish, checked as its clients read it.

It exports the index as /v1/feeds/meeting-guide.json does (or reads a saved Meeting Guide
file) and reports what the spec (code4recovery/spec) or TSML UI would not accept, and what
the export left out: sessions that are not weekly, meetings TSML UI would drop (no slug, a
repeated slug, no address, no time zone, a bad day or time), meetings it would list as
inactive, conference links to services it does not recognise, conference phones it ignores,
type codes the spec does not define, names with markup. Exit 1 when TSML UI would drop a
meeting or the feed cannot be read, else 0 (warnings alone do not fail).
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from service import make_backend
from service.backends.contract import BackendUnavailable
from service.domain.meeting_guide import MIN_DIAL_LENGTH, SPEC_TYPE_CODES, conference_provider
from service.render.meeting_guide import MAX_SLUG, export_listings

from indexers.commands import add_backend_options, settings_for

# How many meetings each finding names unless --all is given.
EXAMPLES = 5

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_MARKUP = re.compile(r"<[a-zA-Z/!][^>]*>")
_SLUG_CHARACTERS = re.compile(r"^[A-Za-z0-9._~-]+$")
_NOT_DIALLED = re.compile(r"[^\d,+#]")  # what TSML UI strips from a conference_phone


@dataclass(frozen=True)
class Finding:
    """One problem of one meeting (or of a left-out session)."""

    severity: str  # "error": TSML UI drops the meeting; "warning": it is listed, not as meant
    problem: str
    slug: str
    name: str


def check_meetings(meetings: list, page_timezone: str | None = None) -> list[Finding]:
    """What TSML UI (1.8) and the spec would not accept in a feed's meetings.

    `page_timezone` is the `data-timezone` of the page that embeds TSML UI: without one, a
    meeting without its own `timezone` is dropped.
    """
    findings: list[Finding] = []
    seen: set[str] = set()
    for position, meeting in enumerate(meetings, start=1):
        if not isinstance(meeting, dict):
            findings.append(Finding("error", "not a meeting object", f"#{position}", ""))
            continue
        slug = str(meeting.get("slug") or "")
        name = meeting.get("name") if isinstance(meeting.get("name"), str) else ""

        def add(severity: str, problem: str) -> None:
            findings.append(Finding(severity, problem, slug or f"#{position}", name))

        if not slug:
            add("error", "no slug: TSML UI drops the meeting")
        elif slug in seen:
            add("error", "repeated slug: TSML UI drops all but the first")
        seen.add(slug)
        if len(slug) > MAX_SLUG or (slug and not _SLUG_CHARACTERS.match(slug)):
            add("warning", f"slug longer than {MAX_SLUG} characters or not URL-safe (the spec)")
        if not name:
            add("warning", "no name (the spec requires one)")
        elif _MARKUP.search(name):
            add("warning", "name holds markup: clients show the tags as text")
        elif len(name) > 255:
            add("warning", "name longer than 255 characters (the spec)")
        _check_time(meeting, page_timezone, add)
        address = meeting.get("formatted_address") or any(
            meeting.get(k) for k in ("address", "city", "state", "postal_code", "country"))
        if not address:
            add("error", "no address information: TSML UI drops the meeting")
        online = _check_online(meeting, add)
        approximate = _approximate(meeting)
        codes = meeting.get("types") if isinstance(meeting.get("types"), list) else []
        in_person = bool(address) and not approximate and "TC" not in codes
        if address and not online and not in_person:
            add("warning", "inactive in TSML UI: neither a link or phone it can use nor a street address")
        if meeting.get("attendance_option") == "online" and approximate and _country_only(meeting):
            add("warning", "online meeting placed in a whole country: the spec's FAQ asks for a "
                           "place that implies the time zone (a state or city)")
        unknown = sorted({str(c) for c in codes} - SPEC_TYPE_CODES)
        if unknown:
            add("warning", f"type codes the spec does not define: {', '.join(unknown)}")
        notes = meeting.get("notes")
        if isinstance(notes, str) and _MARKUP.search(notes):
            add("warning", "notes hold markup (the spec: plain text)")
    return findings


def _check_time(meeting: dict, page_timezone: str | None, add) -> None:
    """Day, time and time zone as TSML UI reads them (none at all: by appointment)."""
    day, start = meeting.get("day"), meeting.get("time")
    if day is None and not start:
        return
    days = day if isinstance(day, list) else [day]
    if not days or any(not (isinstance(d, int) and 0 <= d <= 6) for d in days):
        add("error", f"day {day!r} is not 0-6 (Sunday = 0)")
    if not isinstance(start, str) or not _HHMM.match(start):
        add("error", f"time {start!r} is not HH:MM")
    end = meeting.get("end_time")
    if end is not None and (not isinstance(end, str) or not _HHMM.match(end)):
        add("warning", f"end_time {end!r} is not HH:MM")
    if not meeting.get("timezone") and not page_timezone:
        add("error", "no timezone, and the page gives none (--page-timezone): TSML UI drops the meeting")


def _check_online(meeting: dict, add) -> bool:
    """Whether TSML UI shows the meeting as online; warns about links and phones it drops."""
    online = False
    url = meeting.get("conference_url")
    if url:
        if conference_provider(str(url)):
            online = True
        else:
            joinable = meeting.get("website") == url
            add("warning", "conference link to a service TSML UI does not recognise: it drops the link"
                + ("; the meeting's website button still leads to it" if joinable
                   else " and the meeting cannot be joined from TSML UI"))
    phone = meeting.get("conference_phone")
    if phone:
        if len(_NOT_DIALLED.sub("", str(phone))) >= MIN_DIAL_LENGTH:
            online = True
        else:
            add("warning", f"conference_phone under {MIN_DIAL_LENGTH} digits: TSML UI drops it")
    return online


def _approximate(meeting: dict) -> bool:
    """TSML UI's reading of `approximate` (when absent: an address of fewer than 4 parts)."""
    flag = meeting.get("approximate")
    if isinstance(flag, str):
        return flag.lower() == "yes"
    if isinstance(flag, bool):
        return flag
    return len(str(meeting.get("formatted_address") or "").split(",")) < 4


def _country_only(meeting: dict) -> bool:
    """An address that names only a country."""
    address = str(meeting.get("formatted_address") or "")
    return "," not in address and not any(meeting.get(k) for k in ("city", "state", "address"))


def report(findings: list[Finding], out, *, show_all: bool) -> None:
    """Findings grouped by problem, most common first, each with the meetings it concerns."""
    grouped: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for finding in findings:
        grouped[(finding.severity, finding.problem)].append(finding)
    order = sorted(grouped, key=lambda key: (key[0] != "error", -len(grouped[key]), key[1]))
    for severity, problem in order:
        found = grouped[(severity, problem)]
        print(f"{severity}: {len(found)} meeting{'s' if len(found) != 1 else ''}: {problem}", file=out)
        for finding in found if show_all else found[:EXAMPLES]:
            print(f"  {finding.slug}  {finding.name!r}", file=out)
        if not show_all and len(found) > EXAMPLES:
            print(f"  ... and {len(found) - EXAMPLES} more (--all lists them)", file=out)


def run(args) -> int:
    """Export (or read) the feed, check it, print the findings; exit 1 on errors."""
    left_out = []
    if args.file:
        try:
            meetings = json.loads(Path(args.file).read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            print(f"linkage check-feed: cannot read {args.file}: {exc}", file=sys.stderr)
            return 1
        if isinstance(meetings, dict) and isinstance(meetings.get("meetings"), list):
            meetings = meetings["meetings"]  # some feeds wrap the array
        if not isinstance(meetings, list):
            print(f"linkage check-feed: {args.file}: not a Meeting Guide feed (a JSON array of meetings)",
                  file=sys.stderr)
            return 1
        source = args.file
    else:
        from service.backends.engine.backend import EngineError

        settings = settings_for(args)
        try:
            export = export_listings(make_backend(settings).listings(), at=datetime.now(timezone.utc))
        except (BackendUnavailable, EngineError, ValueError) as exc:  # ValueError: an unknown backend
            print(f"linkage check-feed: cannot read the listings: {exc}", file=sys.stderr)
            return 1
        meetings, left_out = export.meetings, export.left_out
        source = "the index's Meeting Guide export"
    findings = check_meetings(meetings, args.page_timezone)
    out = sys.stdout
    if left_out:
        listings = len({o.listing_id for o in left_out})
        print(f"left out: {len(left_out)} sessions of {listings} listings, {left_out[0].reason}", file=out)
        for item in left_out if args.all else left_out[:EXAMPLES]:
            rule = f"{item.monthly} {item.weekday}" if item.monthly else item.weekday
            print(f"  {item.listing_id}  {item.name!r}  {rule} {item.start}", file=out)
        if not args.all and len(left_out) > EXAMPLES:
            print(f"  ... and {len(left_out) - EXAMPLES} more (--all lists them)", file=out)
    report(findings, out, show_all=args.all)
    errors = sum(1 for f in findings if f.severity == "error")
    warned = len({f.slug for f in findings if f.severity == "warning"})
    print(f"checked {len(meetings)} meetings from {source}: {errors} errors, "
          f"{warned} meeting{'s' if warned != 1 else ''} with warnings, {len(left_out)} sessions left out",
          file=out)
    return 1 if errors else 0


def add_parser(sub) -> None:
    """The `linkage check-feed` command line."""
    check = sub.add_parser(
        "check-feed", help="check the Meeting Guide feed we publish against the spec and TSML UI; "
                           "say what it leaves out")
    check.add_argument("--file", help="check this saved Meeting Guide JSON file instead of exporting the index")
    check.add_argument("--page-timezone", metavar="ZONE",
                       help="the data-timezone of the page embedding TSML UI (meetings without a "
                            "timezone of their own use it)")
    check.add_argument("--all", action="store_true", help=f"list every meeting concerned, not the first {EXAMPLES}")
    add_backend_options(check)
    check.add_argument("--sqlite-path", help="the index to read (default LINKAGE_SQLITE_PATH)")
    check.set_defaults(func=run)
