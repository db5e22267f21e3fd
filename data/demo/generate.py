"""Generate the fictional demo listings for Linkage (data/demo/listings.json).

Every meeting, service, helpline, address, phone number and email here is invented.
Only the program names (SMART Recovery, Alcoholics Anonymous, ...) and the towns are
real, so that search, maps and filters behave as they would with real data.

Run from anywhere:  python data/demo/generate.py

The output is deterministic byte-for-byte: one seeded RNG, no set iteration, no
clock reads, and every list in a record is put in vocabulary order.
"""

import datetime
import json
import math
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# Import the controlled vocabularies from the service so values can never drift.
sys.path.insert(0, ROOT)
from service.domain import programs, vocab  # noqa: E402

OUTPUT = os.path.join(HERE, "listings.json")
SEED = 20261126

SOURCE = {
    "name": "Demo data — fictional",
    "url": "https://example.org/linkage-demo",
    "licence": "CC0-1.0",
}

# Dates are spread over this window so that some records look stale to the UI.
DATE_FIRST = datetime.date(2025, 6, 1)
DATE_LAST = datetime.date(2026, 11, 20)

XSS_NAME = "<img src=x onerror=alert(1)> Demo group"

# ---------------------------------------------------------------------------
# Places. Real towns, real postcodes, approximate town-centre coordinates.
# weight: how many listings a town tends to attract (capitals dominate, as in reality).
# tz: only where the town differs from its state's default zone.
# ---------------------------------------------------------------------------
TOWNS = [
    # name, state, postcode, lat, lon, weight, capital?, tz override
    ("Sydney", "NSW", "2000", -33.8688, 151.2093, 14, True, None),
    ("Parramatta", "NSW", "2150", -33.8150, 151.0011, 6, False, None),
    ("Darlinghurst", "NSW", "2010", -33.8790, 151.2190, 4, False, None),
    ("Newtown", "NSW", "2042", -33.8980, 151.1790, 3, False, None),
    ("Bankstown", "NSW", "2200", -33.9175, 151.0350, 3, False, None),
    ("Cabramatta", "NSW", "2166", -33.8947, 150.9356, 2, False, None),
    ("Chatswood", "NSW", "2067", -33.7969, 151.1803, 2, False, None),
    ("Hurstville", "NSW", "2220", -33.9670, 151.1020, 2, False, None),
    ("Leichhardt", "NSW", "2040", -33.8836, 151.1569, 2, False, None),
    ("Penrith", "NSW", "2750", -33.7511, 150.6942, 3, False, None),
    ("Liverpool", "NSW", "2170", -33.9200, 150.9230, 3, False, None),
    ("Gosford", "NSW", "2250", -33.4244, 151.3419, 2, False, None),
    ("Newcastle", "NSW", "2300", -32.9283, 151.7817, 5, False, None),
    ("Wollongong", "NSW", "2500", -34.4278, 150.8931, 4, False, None),
    ("Dubbo", "NSW", "2830", -32.2569, 148.6011, 2, False, None),
    ("Broken Hill", "NSW", "2880", -31.9539, 141.4539, 2, False, "Australia/Broken_Hill"),
    ("Lismore", "NSW", "2480", -28.8133, 153.2750, 2, False, None),
    ("Wagga Wagga", "NSW", "2650", -35.1082, 147.3598, 2, False, None),
    ("Tamworth", "NSW", "2340", -31.0927, 150.9320, 1, False, None),
    ("Orange", "NSW", "2800", -33.2830, 149.1000, 1, False, None),
    ("Bathurst", "NSW", "2795", -33.4193, 149.5775, 1, False, None),
    ("Coffs Harbour", "NSW", "2450", -30.2963, 153.1135, 1, False, None),
    ("Port Macquarie", "NSW", "2444", -31.4333, 152.9000, 1, False, None),
    ("Albury", "NSW", "2640", -36.0737, 146.9135, 1, False, None),
    # Lord Howe Island keeps its own half-hour DST zone; weight 0 = placed explicitly.
    ("Lord Howe Island", "NSW", "2898", -31.5553, 159.0821, 0, False, "Australia/Lord_Howe"),
    ("Canberra", "ACT", "2601", -35.2809, 149.1300, 6, True, None),
    ("Belconnen", "ACT", "2617", -35.2383, 149.0658, 2, False, None),
    ("Greenway", "ACT", "2900", -35.4150, 149.0660, 1, False, None),
    ("Phillip", "ACT", "2606", -35.3450, 149.0870, 1, False, None),
    ("Melbourne", "VIC", "3000", -37.8136, 144.9631, 13, True, None),
    ("Richmond", "VIC", "3121", -37.8230, 144.9980, 4, False, None),
    ("Footscray", "VIC", "3011", -37.8000, 144.9000, 4, False, None),
    ("St Kilda", "VIC", "3182", -37.8676, 144.9801, 3, False, None),
    ("Box Hill", "VIC", "3128", -37.8189, 145.1250, 2, False, None),
    ("Dandenong", "VIC", "3175", -37.9870, 145.2140, 3, False, None),
    ("Springvale", "VIC", "3171", -37.9490, 145.1530, 1, False, None),
    ("Oakleigh", "VIC", "3166", -37.9000, 145.0880, 1, False, None),
    ("Frankston", "VIC", "3199", -38.1440, 145.1260, 2, False, None),
    ("Geelong", "VIC", "3220", -38.1499, 144.3617, 4, False, None),
    ("Ballarat", "VIC", "3350", -37.5622, 143.8503, 3, False, None),
    ("Bendigo", "VIC", "3550", -36.7570, 144.2794, 3, False, None),
    ("Shepparton", "VIC", "3630", -36.3800, 145.3990, 1, False, None),
    ("Mildura", "VIC", "3500", -34.1855, 142.1625, 1, False, None),
    ("Warrnambool", "VIC", "3280", -38.3830, 142.4830, 1, False, None),
    ("Traralgon", "VIC", "3844", -38.1950, 146.5400, 1, False, None),
    ("Wodonga", "VIC", "3690", -36.1220, 146.8880, 1, False, None),
    ("Brisbane", "QLD", "4000", -27.4698, 153.0251, 10, True, None),
    ("Fortitude Valley", "QLD", "4006", -27.4570, 153.0340, 3, False, None),
    ("Southport", "QLD", "4215", -27.9670, 153.4000, 4, False, None),
    ("Ipswich", "QLD", "4305", -27.6167, 152.7600, 2, False, None),
    ("Logan Central", "QLD", "4114", -27.6390, 153.1090, 2, False, None),
    ("Maroochydore", "QLD", "4558", -26.6600, 153.1000, 2, False, None),
    ("Toowoomba", "QLD", "4350", -27.5598, 151.9507, 2, False, None),
    ("Townsville", "QLD", "4810", -19.2590, 146.8169, 3, False, None),
    ("Cairns", "QLD", "4870", -16.9186, 145.7781, 3, False, None),
    ("Rockhampton", "QLD", "4700", -23.3780, 150.5100, 1, False, None),
    ("Mackay", "QLD", "4740", -21.1410, 149.1860, 1, False, None),
    ("Bundaberg", "QLD", "4670", -24.8660, 152.3490, 1, False, None),
    ("Mount Isa", "QLD", "4825", -20.7250, 139.4970, 1, False, None),
    ("Adelaide", "SA", "5000", -34.9285, 138.6007, 8, True, None),
    ("Norwood", "SA", "5067", -34.9210, 138.6300, 2, False, None),
    ("Port Adelaide", "SA", "5015", -34.8460, 138.5030, 2, False, None),
    ("Elizabeth", "SA", "5112", -34.7190, 138.6700, 2, False, None),
    ("Mount Gambier", "SA", "5290", -37.8290, 140.7800, 1, False, None),
    ("Whyalla", "SA", "5600", -33.0330, 137.5840, 1, False, None),
    ("Port Augusta", "SA", "5700", -32.4920, 137.7650, 1, False, None),
    ("Murray Bridge", "SA", "5253", -35.1200, 139.2730, 1, False, None),
    ("Perth", "WA", "6000", -31.9505, 115.8605, 9, True, None),
    ("Fremantle", "WA", "6160", -32.0569, 115.7439, 3, False, None),
    ("Joondalup", "WA", "6027", -31.7450, 115.7660, 2, False, None),
    ("Midland", "WA", "6056", -31.8880, 116.0100, 1, False, None),
    ("Armadale", "WA", "6112", -32.1530, 116.0150, 1, False, None),
    ("Bunbury", "WA", "6230", -33.3271, 115.6414, 2, False, None),
    ("Kalgoorlie", "WA", "6430", -30.7490, 121.4660, 1, False, None),
    ("Geraldton", "WA", "6530", -28.7770, 114.6150, 1, False, None),
    ("Albany", "WA", "6330", -35.0228, 117.8814, 1, False, None),
    ("Broome", "WA", "6725", -17.9614, 122.2359, 1, False, None),
    ("Port Hedland", "WA", "6721", -20.3100, 118.6000, 1, False, None),
    ("Hobart", "TAS", "7000", -42.8821, 147.3272, 5, True, None),
    ("Glenorchy", "TAS", "7010", -42.8330, 147.2800, 1, False, None),
    ("Launceston", "TAS", "7250", -41.4332, 147.1441, 3, False, None),
    ("Devonport", "TAS", "7310", -41.1800, 146.3500, 1, False, None),
    ("Burnie", "TAS", "7320", -41.0560, 145.9040, 1, False, None),
    ("Darwin", "NT", "0800", -12.4634, 130.8456, 4, True, None),
    ("Palmerston", "NT", "0830", -12.4860, 130.9830, 1, False, None),
    ("Alice Springs", "NT", "0870", -23.6980, 133.8807, 2, False, None),
    ("Katherine", "NT", "0850", -14.4650, 132.2630, 1, False, None),
    ("Tennant Creek", "NT", "0860", -19.6480, 134.1900, 1, False, None),
    ("Nhulunbuy", "NT", "0880", -12.1820, 136.7820, 1, False, None),
]
TOWN = {t[0]: t for t in TOWNS}
CAPITALS = [t[0] for t in TOWNS if t[6]]

# Capital-city metro areas: used to tell "regional" apart in the coverage check.
METRO = {
    "Sydney", "Parramatta", "Darlinghurst", "Newtown", "Bankstown", "Cabramatta",
    "Chatswood", "Hurstville", "Leichhardt", "Penrith", "Liverpool",
    "Canberra", "Belconnen", "Greenway", "Phillip",
    "Melbourne", "Richmond", "Footscray", "St Kilda", "Box Hill", "Dandenong",
    "Springvale", "Oakleigh", "Frankston",
    "Brisbane", "Fortitude Valley", "Ipswich", "Logan Central",
    "Adelaide", "Norwood", "Port Adelaide", "Elizabeth",
    "Perth", "Fremantle", "Joondalup", "Midland", "Armadale",
    "Hobart", "Glenorchy", "Darwin", "Palmerston",
}

# Telephone area-code digit per state, for ACMA fiction-range numbers.
AREA = {"NSW": "2", "ACT": "2", "VIC": "3", "TAS": "3", "QLD": "7",
        "SA": "8", "WA": "8", "NT": "8"}

STATE_NAMES = {
    "NSW": "New South Wales", "VIC": "Victoria", "QLD": "Queensland",
    "SA": "South Australia", "WA": "Western Australia", "TAS": "Tasmania",
    "NT": "the Northern Territory", "ACT": "the ACT",
}

# Where national online meetings are "hosted" from: roughly by population.
HOST_STATES = [("NSW", 40), ("VIC", 30), ("QLD", 12), ("WA", 9), ("SA", 6),
               ("TAS", 2), ("NT", 1)]

# Obviously generic street names, so nobody mistakes an address for a real venue.
STREETS = [
    "Example Street", "Sample Road", "Placeholder Avenue", "Demo Lane",
    "Specimen Parade", "Illustration Way", "Template Drive", "Mockup Crescent",
    "Prototype Road", "Pattern Place", "Fictional Terrace", "Model Street",
    "Notional Avenue", "Instance Lane", "Exemplar Close", "Sketch Street",
]
VENUES = [
    "community hall", "neighbourhood centre", "library meeting room", "church hall",
    "community health centre", "sports club function room", "scout hall",
    "community centre", "uniting church hall", "men's shed meeting room",
]

WEEKDAY_NAMES = dict(zip(vocab.WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday",
                                          "Friday", "Saturday", "Sunday")))

# Realistic meeting slots: morning, lunchtime and a spread of evening starts.
MORNING = [("10:00", "11:30"), ("10:00", "11:00")]
SAT_MORNING = [("09:30", "11:00"), ("10:00", "11:30"), ("09:00", "10:30")]
LUNCH = [("12:30", "13:30"), ("12:30", "13:30"), ("12:00", "13:00")]
EVENING = [("18:00", "19:30"), ("18:30", "20:00"), ("19:00", "20:30"),
           ("19:30", "21:00"), ("18:00", "19:00")]
ONLINE_EXTRA = [("07:00", "08:00"), ("20:00", "21:00"), ("20:30", "21:30")]

# ---------------------------------------------------------------------------
# Program stance defaults (the brief's table), plus plain-language text.
# ---------------------------------------------------------------------------
# Stance (approach, goals, substances, facilitation, audience) comes from the service's
# program table, so the demo data shows exactly what indexers assume for each program.
PROGRAMS = {
    "SMART Recovery": dict(
        slug="smart", weight=22, while_using=True,
        blurb="A SMART Recovery meeting using practical self-management tools drawn "
              "from CBT and motivational interviewing.",
        expect="A trained facilitator runs a check-in, then the group works through "
               "one or two current challenges using SMART tools."),
    "Alcoholics Anonymous": dict(
        slug="aa", weight=26, while_using=True,
        blurb="An Alcoholics Anonymous meeting where members share their experience "
              "of recovery from alcohol using the Twelve Steps.",
        expect="A chairperson opens with readings, then members take turns to share; "
               "newcomers are welcomed and can simply listen."),
    "Narcotics Anonymous": dict(
        slug="na", weight=14, while_using=True,
        blurb="A Narcotics Anonymous meeting for people who want to stop using drugs, "
              "following the Twelve Steps.",
        expect="The meeting opens with readings and a topic, members share in turn, "
               "and newcomers are offered a welcome key tag."),
    "Crystal Meth Anonymous": dict(
        slug="cma", weight=4, while_using=True,
        blurb="A Crystal Meth Anonymous meeting for people who want to stop using "
              "crystal meth (ice), following the Twelve Steps.",
        expect="Members read the CMA preamble, share about recovery from meth, and "
               "make newcomers welcome without pressure to talk."),
    "LifeRing": dict(
        slug="lifering", weight=3, while_using=True,
        blurb="A LifeRing Secular Recovery meeting: non-religious peer support for "
              "people choosing to live free of alcohol and other drugs.",
        expect="A volunteer convenor invites each person to share how their week "
               "went, focusing on the present rather than the past."),
    "Moderation Management": dict(
        slug="mm", weight=2, while_using=True,
        blurb="A Moderation Management group for people who want to cut down on "
              "drinking, or take a break, with support and practical limits.",
        expect="People share their drinking goals and how the week went, and many "
               "start with a 30-day break from alcohol."),
    "HAMS": dict(
        slug="hams", weight=2,
        while_using=True,
        blurb="A HAMS (Harm reduction, Abstinence and Moderation Support) group: "
              "choose your own goal, whether that is safer use, cutting down or quitting.",
        expect="An informal chat where people set or review their own goal and swap "
               "practical tips, with no judgement about where they are at."),
    "Recovery Dharma": dict(
        slug="recovery-dharma", weight=4,
        while_using=True,
        blurb="A Recovery Dharma meeting using Buddhist-inspired meditation and "
              "inquiry to support recovery from addiction.",
        expect="The meeting starts with a short guided meditation, then a reading "
               "and an open sharing circle."),
    "Al-Anon": dict(
        slug="al-anon", weight=6, while_using=True,
        blurb="An Al-Anon Family Groups meeting for people affected by someone "
              "else's drinking.",
        expect="Members share how they look after themselves while someone close "
               "to them drinks; you do not need to talk at your first meeting."),
    "Nar-Anon": dict(
        slug="nar-anon", weight=3, while_using=True,
        blurb="A Nar-Anon Family Groups meeting for relatives and friends of people "
              "who use drugs.",
        expect="Members share their own experience of living with someone's drug "
               "use and how they have found some calm."),
    "SMART Recovery Family & Friends": dict(
        slug="smart-ff", weight=3, while_using=True,
        blurb="A SMART Recovery Family & Friends group teaching practical skills to "
              "support someone you care about and look after yourself.",
        expect="A facilitator introduces a skill such as positive communication, "
               "then people talk through their own situation."),
    "Cocaine Anonymous": dict(
        slug="ca", weight=2, while_using=True,
        blurb="A Cocaine Anonymous meeting for people who want to stop using cocaine "
              "and other mind-altering substances.",
        expect="Members share their experience, strength and hope; newcomers are "
               "welcome to just listen."),
    "Gamblers Anonymous": dict(
        slug="ga", weight=3, while_using=True,
        blurb="A Gamblers Anonymous meeting for people who want to stop gambling, "
              "including the pokies and online betting.",
        expect="Members talk about their gambling and recovery; a newcomer can ask "
               "questions or simply listen."),
}
for _name, _spec in PROGRAMS.items():
    _stance = programs.STANCES[_name]
    _spec.update(approach=_stance.approach, goals=list(_stance.goals),
                 substances=list(_stance.substances), facilitation=_stance.facilitation,
                 audience=_stance.audiences[0])

AUDIENCE_TEXT = {
    "women": "This meeting is for women.",
    "men": "This meeting is for men.",
    "lgbtiq": "This meeting is for LGBTIQ+ people and is run by LGBTIQ+ members.",
    "young_people": "This meeting is for young people aged about 16 to 30.",
    "aboriginal_torres_strait_islander":
        "This group is for Aboriginal and Torres Strait Islander people, run in a "
        "yarning-circle style.",
    "veterans": "This group is for current and former Australian Defence Force members.",
    "family_friends": "",  # the family programs' blurbs already say who they are for
}

LANG_TEXT = {
    "vi": "Vietnamese", "zh": "Mandarin", "ar": "Arabic", "el": "Greek",
    "it": "Italian", "es": "Spanish", "hi": "Hindi",
}


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------
def ordered(values, vocabulary):
    """Return distinct values in vocabulary order, so output never depends on call order."""
    wanted = list(values)
    return [v for v in vocabulary if v in wanted]


def slugify(text):
    """Lower-case ASCII slug for example.org paths and email local parts."""
    out = []
    for ch in text.lower():
        if ch.isascii() and ch.isalnum():
            out.append(ch)
        elif out and out[-1] != "-":
            out.append("-")
    return "".join(out).strip("-")


def weighted(rng, pairs):
    """Pick the first item of one (item, weight) pair, proportionally to weight."""
    items = [p[0] for p in pairs]
    weights = [p[1] for p in pairs]
    return rng.choices(items, weights=weights, k=1)[0]


def zone_for(state, town=None):
    """IANA zone for a place: the town's own override, else its state's default."""
    if town is not None and TOWN[town][7]:
        return TOWN[town][7]
    return vocab.STATES[state]


class Phones:
    """Hands out unique numbers from ACMA's fiction ranges (0X 5550 xxxx, 0X 7010 xxxx)."""

    def __init__(self, rng):
        """Keep the shared RNG and remember numbers already issued."""
        self.rng = rng
        self.used = set()  # membership only; never iterated, so order cannot leak

    def new(self, state):
        """A fresh fictional number with the state's area-code digit."""
        while True:
            block = self.rng.choice(("5550", "7010"))
            number = "0%s %s %04d" % (AREA[state], block, self.rng.randrange(10000))
            if number not in self.used:
                self.used.add(number)
                return number


def random_date(rng):
    """A date in the demo window, biased towards recent so only some look stale."""
    span = (DATE_LAST - DATE_FIRST).days
    return DATE_FIRST + datetime.timedelta(days=int(span * (rng.random() ** 0.6)))


def dates(rng):
    """(updated_at, verified_at): verified on some day, maybe edited a little after."""
    verified = random_date(rng)
    updated = min(DATE_LAST, verified + datetime.timedelta(days=rng.choice((0, 0, 0, 3, 12, 30))))
    return updated.isoformat(), verified.isoformat()


def location(rng, town, approximate=False, address=None):
    """A location near the town centre, jittered under 3 km so pins don't stack."""
    name, state, postcode, lat, lon, _w, _cap, _tz = TOWN[town]
    # Lord Howe Island is ~10 km long: keep its pin on land with a much smaller jitter.
    max_km = 0.4 if town == "Lord Howe Island" else 2.5
    r = max_km * math.sqrt(rng.random())
    theta = rng.random() * 2 * math.pi
    dlat = r * math.cos(theta) / 111.0
    dlon = r * math.sin(theta) / (111.0 * math.cos(math.radians(lat)))
    if address is None:
        address = "%d %s" % (rng.randint(1, 220), rng.choice(STREETS))
    return {
        "address": address,
        "locality": name,
        "state": state,
        "postcode": postcode,
        "country": "AU",
        "lat": round(lat + dlat, 4),
        "lon": round(lon + dlon, 4),
        "approximate": approximate,
    }


def pick_town(rng, state=None, regional=None):
    """A weighted town, optionally limited to a state or to regional/metro areas."""
    pool = [t for t in TOWNS if t[5] > 0
            and (state is None or t[1] == state)
            and (regional is None or (t[0] not in METRO) == regional)]
    return weighted(rng, [(t[0], t[5]) for t in pool])


def part_of_day(start):
    """Plain label for a start time, used in meeting names."""
    hour = int(start[:2])
    if hour < 5:
        return "early hours"
    if hour < 12:
        return "morning"
    if hour < 14:
        return "lunchtime"
    if hour < 17:
        return "afternoon"
    return "evening"


def when_label(sessions):
    """'Tuesday evening', 'first Saturday morning' or 'Monday & Thursday evening'."""
    first = sessions[0]
    days = " & ".join(WEEKDAY_NAMES[s["weekday"]] for s in sessions)
    prefix = first["monthly"] + " " if "monthly" in first else ""
    return "%s%s %s" % (prefix, days, part_of_day(first["start"]))


def group_sessions(rng, online=False):
    """One weekly meeting (sometimes two, sometimes monthly) at a realistic time."""
    day = rng.choice(vocab.WEEKDAYS)
    if day in ("sat", "sun"):
        slot = rng.choice(SAT_MORNING + EVENING[:2] + LUNCH[:1])
    else:
        roll = rng.random()
        slot = rng.choice(MORNING if roll < 0.15 else LUNCH if roll < 0.35 else EVENING)
    if online and rng.random() < 0.15:
        slot = rng.choice(ONLINE_EXTRA)
    roll = rng.random()
    if roll < 0.06:
        # A few monthly meetings, the way small-town or special-interest groups run.
        return [{"weekday": day, "start": slot[0], "end": slot[1],
                 "monthly": rng.choice(vocab.MONTHLY_RULES)}]
    if roll < 0.16:
        # Twice-weekly meetings keep the same time on two non-adjacent-ish days.
        other = rng.choice([d for d in vocab.WEEKDAYS if d != day])
        days = sorted((day, other), key=vocab.WEEKDAYS.index)
        return [{"weekday": d, "start": slot[0], "end": slot[1]} for d in days]
    return [{"weekday": day, "start": slot[0], "end": slot[1]}]


def accessibility(rng, town, in_person):
    """Plausible access features for a venue; remote-only listings mostly have none."""
    if not in_person:
        return ["auslan_interpreter"] if rng.random() < 0.04 else []
    feats = []
    for feat, p in (("wheelchair_access", 0.6), ("accessible_toilet", 0.45),
                    ("hearing_loop", 0.12), ("auslan_interpreter", 0.03),
                    ("parking", 0.5)):
        if rng.random() < p:
            feats.append(feat)
    # Metro venues are usually near transport; regional ones more often have parking.
    if town in METRO and rng.random() < 0.8:
        feats.append("public_transport")
    elif town not in METRO and "parking" not in feats and rng.random() < 0.5:
        feats.append("parking")
    return ordered(feats, vocab.ACCESSIBILITY)


def empty_contact():
    """Every contact key present, null unless filled in."""
    return {"phone": None, "email": None, "website": None, "conference_url": None,
            "conference_phone": None, "registration_url": None}


# ---------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------
class Builder:
    """Accumulates listings and hands out stable, per-kind sequential ids."""

    def __init__(self, seed):
        """Seeded RNG, phone allocator, id counters and a name registry."""
        self.rng = random.Random(seed)
        self.phones = Phones(self.rng)
        self.counters = {"group": 0, "service": 0, "helpline": 0}
        self.names = set()  # membership only, to keep listing names unique
        self.listings = []

    def next_id(self, kind):
        """'demo:g0001'-style id; the letter is the kind's initial."""
        self.counters[kind] += 1
        return "demo:%s%04d" % (kind[0], self.counters[kind])

    def unique_name(self, name):
        """Suffix a name only if an identical one already exists."""
        base, n = name, 2
        while name in self.names:
            name = "%s %d" % (base, n)
            n += 1
        self.names.add(name)
        return name

    def status(self):
        """Mostly active; about 1.5% temporarily closed (a handful overall)."""
        return "temporarily_closed" if self.rng.random() < 0.015 else "active"

    # -- groups -------------------------------------------------------------
    def group(self, program, town=None, state=None, mode="in_person", audience=None,
              substances=None, languages=None, national=None, sessions=None,
              name=None, closed=None, cost="free"):
        """One mutual-help meeting with its program's stance defaults.

        mode: in_person | online | hybrid. Online meetings are national (["AU"]) or
        state-wide; hybrid ones have a venue and reach their state online.
        """
        rng = self.rng
        spec = PROGRAMS[program]
        gid = self.next_id("group")
        in_person = mode in ("in_person", "hybrid")
        online = mode in ("online", "hybrid")
        if in_person:
            town = town or pick_town(rng, state)
            state = TOWN[town][1]
        else:
            if state is None:
                state = weighted(rng, HOST_STATES)
            if national is None:
                national = rng.random() < 0.7
        audience = audience or spec["audience"]
        languages = languages or ["en"]
        substances = substances or spec["substances"]
        if sessions is None:
            sessions = group_sessions(rng, online=online)
        where = town if in_person else "Online"
        if mode == "online" and not national:
            where = "Online (%s)" % state
        # Qualifiers go after the place, as real meeting lists name them.
        tags = []
        tag = {"women": "Women's meeting", "men": "Men's meeting",
               "lgbtiq": "LGBTIQ+ meeting", "young_people": "Young people's meeting",
               "veterans": "Veterans' group",
               "aboriginal_torres_strait_islander": "Yarning circle"}.get(audience)
        if tag:
            tags.append(tag)
        if substances == ["methamphetamine"] and program == "SMART Recovery":
            tags.append("Ice/meth group")
        if languages != ["en"] and "en" not in languages:
            tags.append("in %s" % LANG_TEXT[languages[0]])
        label = "%s %s%s" % (program, where, " — " + ", ".join(tags) if tags else "")
        if name is None:
            name = "%s (%s)" % (label, when_label(sessions))
            # Same program, place and slot twice: tell them apart by start time.
            if name in self.names:
                name = "%s (%s, %s)" % (label, when_label(sessions), sessions[0]["start"])
        name = self.unique_name(name)

        if closed is None:
            # Closed meetings (only for people with the problem) are a 12-step custom.
            closed = spec["approach"] == "twelve_step" and rng.random() < 0.15
        venue = rng.choice(VENUES)
        loc = location(rng, town) if in_person else None
        sentences = [spec["blurb"]]
        extra = AUDIENCE_TEXT.get(audience, "")
        if languages != ["en"]:
            langs = [LANG_TEXT[l] for l in languages if l != "en"]
            extra = (extra + " " if extra else "") + (
                "Held in %s%s." % (" and ".join(langs),
                                   " and English" if "en" in languages else ""))
        if extra:
            sentences.append(extra)
        if mode == "in_person":
            sentences.append("Meets in the %s at %s, %s." % (venue, loc["address"], town))
        elif mode == "hybrid":
            sentences.append("Join in the %s at %s, %s, or online by video."
                             % (venue, loc["address"], town))
        elif national:
            sentences.append("Meets online by video, open to people anywhere in Australia.")
        else:
            sentences.append("Meets online by video for people in %s." % STATE_NAMES[state])
        # Keep descriptions to at most three sentences, however the parts combine.
        description = " ".join(sentences[:3])

        contact = empty_contact()
        slug = spec["slug"]
        area = slugify(town) if in_person else "online"
        if rng.random() < 0.45:
            contact["phone"] = self.phones.new(state)
        if rng.random() < 0.75:
            contact["email"] = "%s.%s@example.org" % (slug, area)
        contact["website"] = "https://example.org/%s/%s" % (slug, area)
        registration = False
        if online:
            contact["conference_url"] = "https://example.org/meet/%s-%s" % (slug, gid[6:])
            if rng.random() < 0.3:
                contact["conference_phone"] = self.phones.new(state)
            # Some facilitated online groups ask people to register first.
            registration = spec["facilitation"] == "facilitator_led" and rng.random() < 0.35
        if registration:
            contact["registration_url"] = "https://example.org/register/%s-%s" % (slug, gid[6:])

        updated, verified = dates(rng)
        listing = {
            "id": gid,
            "kind": "group",
            "name": name,
            "description": description,
            "program": program,
            "approach": spec["approach"],
            "goals": ordered(spec["goals"], vocab.GOALS),
            "substances": ordered(substances, vocab.SUBSTANCES),
            "formats": ordered(["in_person"] * in_person + ["online"] * online, vocab.FORMATS),
            "audiences": ordered([audience] + (["cald"] if languages != ["en"] else []),
                                 vocab.AUDIENCES),
            "facilitation": spec["facilitation"],
            "languages": languages,
            "location": loc,
            "service_area": ([] if mode == "in_person" else
                             ["AU"] if mode == "online" and national else [state]),
            "timezone": zone_for(state, town if in_person else None),
            "sessions": sessions,
            "open_24_7": False,
            "contact": contact,
            "registration_required": registration,
            "open_meeting": not closed,
            "cost": cost,
            "referral": "self",
            "accessibility": accessibility(rng, town, in_person),
            "first_visit": {
                # Closed abstinence meetings ask people to come sober; others welcome anyone.
                "can_attend_while_using": spec["while_using"] and not closed,
                "camera_optional": (rng.random() < 0.85) if online else None,
                "no_need_to_speak": True,
                "what_to_expect": spec["expect"],
            },
            "source": dict(SOURCE),
            "updated_at": updated,
            "verified_at": verified,
            "status": self.status(),
        }
        self.listings.append(listing)
        return listing

    # -- services -----------------------------------------------------------
    def service(self, stype, town=None, state=None, mode="in_person", audience="everyone",
                languages=None, org=None):
        """One treatment service of a given type (see SERVICE_TYPES)."""
        rng = self.rng
        spec = SERVICE_TYPES[stype]
        sid = self.next_id("service")
        in_person = mode in ("in_person", "hybrid")
        if in_person:
            town = town or pick_town(rng, state)
            state = TOWN[town][1]
        languages = languages or ["en"]
        org = org or "%s %s" % (rng.choice(ORG_WORDS), rng.choice(ORG_KINDS))
        where = town if in_person else STATE_NAMES[state].replace("the ", "")
        name = self.unique_name("%s — %s, %s" % (org, spec["label"], where))

        formats = ["in_person"] if mode == "in_person" else (
            ["in_person", "online", "phone"] if mode == "hybrid" else ["online", "phone"])
        # Residential addresses are often withheld until intake, so pins are approximate.
        approximate = stype == "residential"
        address = None
        if in_person and rng.random() < 0.3:
            address = "%s, %d %s" % (rng.choice(("Level 1", "Suite 2", "Unit 4", "Ground floor")),
                                     rng.randint(1, 220), rng.choice(STREETS))
        loc = location(rng, town, approximate=approximate, address=address) if in_person else None

        sentences = [spec["blurb"]]
        if audience != "everyone" and AUDIENCE_TEXT.get(audience):
            sentences.append(AUDIENCE_TEXT[audience].replace("This meeting", "This service")
                             .replace("This group", "This service"))
        if languages != ["en"]:
            sentences.append("Counselling is available in %s." %
                             " and ".join(LANG_TEXT[l] for l in languages if l != "en"))
        elif mode == "online":
            sentences.append("Sessions are by video or phone for people anywhere in %s."
                             % STATE_NAMES[state])
        description = " ".join(sentences[:3])

        referral = "gp_referral" if rng.random() < spec["gp"] else "self"
        cost = weighted(rng, spec["cost"])
        contact = empty_contact()
        contact["phone"] = self.phones.new(state)
        contact["email"] = "intake.%s@example.org" % slugify(org)
        contact["website"] = "https://example.org/services/%s-%s" % (slugify(org), sid[6:])
        if spec["registration"] and rng.random() < 0.5:
            contact["registration_url"] = "https://example.org/intake/%s" % sid[6:]
        if mode != "in_person":
            contact["conference_url"] = "https://example.org/telehealth/%s" % sid[6:]

        updated, verified = dates(rng)
        listing = {
            "id": sid,
            "kind": "service",
            "name": name,
            "description": description,
            "program": None,
            "approach": spec["approach"],
            "goals": ordered(spec["goals"], vocab.GOALS),
            "substances": ordered(spec["substances"], vocab.SUBSTANCES),
            "formats": ordered(formats, vocab.FORMATS),
            "audiences": ordered([audience] + (["cald"] if languages != ["en"] else []),
                                 vocab.AUDIENCES),
            "facilitation": "clinician_led",
            "languages": languages,
            "location": loc,
            "service_area": [] if mode == "in_person" else [state],
            "timezone": zone_for(state, town if in_person else None),
            "sessions": spec["hours"](rng),
            "open_24_7": False,
            "contact": contact,
            "registration_required": spec["registration"],
            "open_meeting": True,
            "cost": cost,
            "referral": referral,
            "accessibility": accessibility(rng, town, in_person),
            "first_visit": {
                "can_attend_while_using": spec["while_using"],
                "camera_optional": (rng.random() < 0.5) if mode != "in_person" else None,
                # A first appointment is a conversation: you will be asked questions.
                "no_need_to_speak": False,
                "what_to_expect": spec["expect"],
            },
            "source": dict(SOURCE),
            "updated_at": updated,
            "verified_at": verified,
            "status": self.status(),
        }
        self.listings.append(listing)
        return listing

    # -- helplines ----------------------------------------------------------
    def helpline(self, name, area, blurb, expect, formats=("phone",), always=False,
                 approach="clinical", goals=None, substances=("any",),
                 audience="everyone", facilitation="clinician_led", languages=("en",),
                 hours=None):
        """One phone/online helpline; area is "AU" or a state code."""
        rng = self.rng
        hid = self.next_id("helpline")
        state = "NSW" if area == "AU" else area  # national lines use a 02 number
        contact = empty_contact()
        contact["phone"] = self.phones.new(state)
        contact["website"] = "https://example.org/helplines/%s" % slugify(name)
        if rng.random() < 0.6:
            contact["email"] = "%s@example.org" % slugify(name)
        updated, verified = dates(rng)
        if always:
            sessions = []
        elif hours is not None:
            sessions = hours
        else:
            sessions = weekday_hours("09:00", "21:00") + [
                {"weekday": "sat", "start": "10:00", "end": "16:00"}]
        listing = {
            "id": hid,
            "kind": "helpline",
            "name": self.unique_name(name),
            "description": blurb,
            "program": None,
            "approach": approach,
            "goals": ordered(goals or vocab.GOALS, vocab.GOALS),
            "substances": ordered(substances, vocab.SUBSTANCES),
            "formats": ordered(formats, vocab.FORMATS),
            "audiences": ordered([audience] + (["cald"] if list(languages) != ["en"] else []),
                                 vocab.AUDIENCES),
            "facilitation": facilitation,
            "languages": list(languages),
            "location": None,
            "service_area": [area],
            "timezone": vocab.STATES[state],
            "sessions": sessions,
            "open_24_7": always,
            "contact": contact,
            "registration_required": False,
            "open_meeting": True,
            "cost": "free",
            "referral": "self",
            "accessibility": [],
            "first_visit": {
                "can_attend_while_using": True,
                "camera_optional": None,  # chat/phone only: there is no camera
                "no_need_to_speak": "online" in formats,  # web chat means typing is enough
                "what_to_expect": expect,
            },
            "source": dict(SOURCE),
            "updated_at": updated,
            "verified_at": verified,
            "status": "active",
        }
        self.listings.append(listing)
        return listing


def weekday_hours(start, end, days=("mon", "tue", "wed", "thu", "fri")):
    """Opening hours as one session per day."""
    return [{"weekday": d, "start": start, "end": end} for d in days]


def office_hours(rng):
    """Typical community-health hours, sometimes with a late night or Saturday."""
    start = rng.choice(("08:30", "09:00", "09:00"))
    end = rng.choice(("17:00", "17:00", "16:30"))
    sessions = weekday_hours(start, end)
    if rng.random() < 0.3:
        sessions[3] = {"weekday": "thu", "start": start, "end": "19:30"}
    if rng.random() < 0.15:
        sessions.append({"weekday": "sat", "start": "09:00", "end": "12:00"})
    return sessions


def dosing_hours(rng):
    """Pharmacotherapy clinics dose early, every day, with shorter weekend hours."""
    return (weekday_hours("07:30", rng.choice(("11:00", "12:00"))) +
            [{"weekday": d, "start": "08:30", "end": "10:30"} for d in ("sat", "sun")])


def intake_hours(rng):
    """Residential and withdrawal units list the hours their intake line is staffed."""
    return weekday_hours("09:00", rng.choice(("16:00", "17:00")))


ORG_WORDS = ["Bluegum", "Saltbush", "Riverbend", "Ironbark", "Harbourside", "Wattle Grove",
             "Hillcrest", "Coastline", "Tablelands", "Red Dirt", "Stringybark", "Westgate",
             "Northside", "Southern Cross Example", "Paperbark", "Bayview"]
ORG_KINDS = ["Community Health", "Health Service", "Recovery Centre", "Wellbeing Clinic",
             "Family Services", "Health Co-op"]

SERVICE_TYPES = {
    "counselling": dict(
        label="AOD counselling", approach="clinical", goals=list(vocab.GOALS),
        substances=["any"], gp=0.15, registration=True, while_using=True,
        cost=[("free", 6), ("low_cost", 2), ("fee", 1)], hours=office_hours,
        blurb="Free or low-cost one-to-one counselling for alcohol and other drug "
              "concerns, whatever your goal.",
        expect="The first appointment is a chat with a counsellor about what is going "
               "on and what you would like to change."),
    "withdrawal": dict(
        label="withdrawal management", approach="clinical", goals=["abstinence"],
        substances=["any"], gp=0.6, registration=True, while_using=True,
        cost=[("free", 5), ("fee", 1)], hours=intake_hours,
        blurb="A medically supported withdrawal (detox) unit with nursing staff "
              "around the clock.",
        expect="Intake staff ask about your use and health over the phone, then book "
               "an admission date."),
    "home_withdrawal": dict(
        label="home-based withdrawal", approach="clinical", goals=["abstinence"],
        substances=["alcohol", "cannabis", "benzodiazepines"], gp=0.7, registration=True,
        while_using=True, cost=[("free", 1)], hours=office_hours,
        blurb="Nurse-supported withdrawal at home, working with your GP for people "
              "with a safe place to stay.",
        expect="A nurse visits or calls daily for about a week and checks your "
               "medication and symptoms."),
    "residential": dict(
        label="residential rehabilitation", approach="clinical", goals=["abstinence"],
        substances=["any"], gp=0.5, registration=True, while_using=False,
        cost=[("free", 3), ("low_cost", 2), ("fee", 3)], hours=intake_hours,
        blurb="A live-in rehabilitation program of several weeks to months, with "
              "group work, counselling and life-skills sessions.",
        expect="After a phone assessment you join a waitlist; most programs ask you "
               "to complete withdrawal before admission."),
    "pharmacotherapy": dict(
        label="pharmacotherapy (opioid treatment)", approach="harm_reduction",
        goals=["harm_reduction", "abstinence"], substances=["opioids"], gp=0.7,
        registration=True, while_using=True, cost=[("free", 3), ("low_cost", 3), ("fee", 1)],
        hours=dosing_hours,
        blurb="A clinic prescribing and dosing methadone and buprenorphine for people "
              "who use opioids.",
        expect="A prescriber assesses you, then you are stabilised on a dose and "
               "collect it at the clinic or a pharmacy."),
    "nsp": dict(
        label="needle and syringe program", approach="harm_reduction",
        goals=["harm_reduction"], substances=["any"], gp=0.0, registration=False,
        while_using=True, cost=[("free", 1)], hours=office_hours,
        blurb="Free sterile injecting equipment, naloxone and safer-use information, "
              "no names needed.",
        expect="Walk in, take what you need, and talk to staff about health checks "
               "only if you want to."),
    "stimulant": dict(
        label="stimulant treatment clinic", approach="clinical",
        goals=["abstinence", "moderation", "harm_reduction"], substances=["methamphetamine"],
        gp=0.4, registration=True, while_using=True, cost=[("free", 2), ("low_cost", 1)],
        hours=office_hours,
        blurb="A specialist outpatient clinic for people who use methamphetamine (ice), "
              "offering medical review and counselling.",
        expect="A nurse or doctor talks with you about your use, sleep, mood and "
               "physical health, and you agree next steps together."),
    "cannabis": dict(
        label="cannabis clinic", approach="clinical", goals=["abstinence", "moderation"],
        substances=["cannabis"], gp=0.3, registration=True, while_using=True,
        cost=[("free", 1)], hours=office_hours,
        blurb="Short-term counselling for people wanting to cut down or stop using "
              "cannabis.",
        expect="Four to six sessions looking at when and why you use and how to "
               "manage cravings and sleep."),
    "gambling": dict(
        label="gambling counselling", approach="clinical",
        goals=["abstinence", "moderation"], substances=["gambling"], gp=0.0,
        registration=True, while_using=True, cost=[("free", 1)], hours=office_hours,
        blurb="Free counselling and financial counselling for people affected by "
              "gambling, including family members.",
        expect="A counsellor helps you look at your gambling and money and set up "
               "practical blocks if you want them."),
    "family": dict(
        label="family counselling", approach="clinical", goals=list(vocab.GOALS),
        substances=["any"], gp=0.0, registration=True, while_using=True,
        cost=[("free", 2), ("low_cost", 1)], hours=office_hours,
        blurb="Counselling for parents, partners and other family members worried "
              "about someone's alcohol or drug use.",
        expect="A counsellor listens to what is happening at home and talks through "
               "options for support and self-care."),
    "benzo": dict(
        label="benzodiazepine reduction clinic", approach="clinical",
        goals=["abstinence", "moderation"], substances=["benzodiazepines"], gp=0.8,
        registration=True, while_using=True, cost=[("low_cost", 1), ("fee", 1)],
        hours=office_hours,
        blurb="Supervised, gradual reduction of benzodiazepines with a GP and "
              "pharmacist team.",
        expect="A doctor reviews your current medication and sets a slow tapering "
               "plan you can adjust."),
}


# ---------------------------------------------------------------------------
# The plan: deliberate coverage first, then realistic random fill.
# ---------------------------------------------------------------------------
def add_special_groups(b):
    """Hand-placed groups that guarantee edge cases and every audience and language."""
    rng = b.rng
    # Escaping probe: an ordinary Sydney group with an HTML-looking name.
    b.group("SMART Recovery", town="Sydney", name=XSS_NAME,
            sessions=[{"weekday": "wed", "start": "18:00", "end": "19:30"}])
    # Lord Howe Island has a 30-minute DST shift; a tiny monthly meeting is realistic.
    b.group("Alcoholics Anonymous", town="Lord Howe Island",
            sessions=[{"weekday": "thu", "start": "18:30", "end": "19:30"}])
    # DST changeover hours: 02:00-03:00 Sunday is skipped in October, repeated in April.
    b.group("Narcotics Anonymous", mode="online", state="NSW", national=True,
            sessions=[{"weekday": "sun", "start": "02:30", "end": "03:30"}])
    b.group("Alcoholics Anonymous", mode="online", state="VIC", national=True,
            sessions=[{"weekday": "sun", "start": "02:00", "end": "03:00"}])
    # Broken Hill sits in NSW but keeps South Australian (Broken_Hill) time.
    for program in ("Alcoholics Anonymous", "SMART Recovery", "Narcotics Anonymous"):
        b.group(program, town="Broken Hill")
    # A monthly Saturday family group in a regional town.
    b.group("Al-Anon", town="Dubbo",
            sessions=[{"weekday": "sat", "start": "10:00", "end": "11:30", "monthly": "first"}])
    b.group("SMART Recovery Family & Friends", mode="online", state="QLD", national=False,
            sessions=[{"weekday": "tue", "start": "19:00", "end": "20:30", "monthly": "last"}])

    # Audiences, each at least twice, in places such groups actually tend to run.
    for town, program in (("Melbourne", "SMART Recovery"), ("Brisbane", "Alcoholics Anonymous"),
                          ("Perth", "Narcotics Anonymous"), ("Hobart", "SMART Recovery")):
        b.group(program, town=town, audience="women")
    b.group("SMART Recovery", mode="online", audience="women", national=True)
    for town, program in (("Adelaide", "Alcoholics Anonymous"), ("Geelong", "SMART Recovery"),
                          ("Townsville", "SMART Recovery")):
        b.group(program, town=town, audience="men")
    for town, program in (("Darlinghurst", "Alcoholics Anonymous"),
                          ("Darlinghurst", "Crystal Meth Anonymous"),
                          ("St Kilda", "Narcotics Anonymous"),
                          ("Fortitude Valley", "Crystal Meth Anonymous"),
                          ("Newtown", "Recovery Dharma")):
        b.group(program, town=town, audience="lgbtiq",
                substances=["methamphetamine"] if "Meth" in program else None)
    b.group("SMART Recovery", mode="online", audience="lgbtiq", national=True)
    for town, program in (("Parramatta", "SMART Recovery"), ("Melbourne", "Narcotics Anonymous"),
                          ("Southport", "SMART Recovery")):
        b.group(program, town=town, audience="young_people")
    b.group("Narcotics Anonymous", mode="online", audience="young_people", national=True)
    for town in ("Alice Springs", "Dubbo", "Cairns", "Darwin", "Port Augusta", "Broome"):
        b.group("SMART Recovery", town=town, audience="aboriginal_torres_strait_islander")
    for town, program in (("Townsville", "SMART Recovery"), ("Canberra", "Alcoholics Anonymous")):
        b.group(program, town=town, audience="veterans")
    b.group("SMART Recovery", mode="online", audience="veterans", national=True)

    # Culturally and linguistically diverse groups (audience cald is added automatically).
    for town, program, langs in (
            ("Footscray", "SMART Recovery", ["en", "vi"]),
            ("Cabramatta", "SMART Recovery", ["vi"]),
            ("Springvale", "Narcotics Anonymous", ["vi"]),
            ("Box Hill", "Alcoholics Anonymous", ["zh"]),
            ("Hurstville", "SMART Recovery", ["zh"]),
            ("Bankstown", "SMART Recovery", ["ar"]),
            ("Bankstown", "Narcotics Anonymous", ["en", "ar"]),
            ("Oakleigh", "Alcoholics Anonymous", ["el"]),
            ("Leichhardt", "Alcoholics Anonymous", ["it"]),
            ("Norwood", "Al-Anon", ["it"]),
            ("Dandenong", "SMART Recovery Family & Friends", ["en", "hi"])):
        b.group(program, town=town, languages=langs)
    b.group("Alcoholics Anonymous", mode="online", languages=["es"], national=True)

    # A handful of low-cost groups (venue hire passed on), so every cost appears on groups.
    b.group("HAMS", town="Melbourne", cost="low_cost")
    b.group("Moderation Management", mode="online", national=True, cost="low_cost")
    # Every state gets at least one state-wide online meeting.
    for state in ("NSW", "VIC", "QLD", "SA", "WA", "TAS", "NT", "ACT"):
        b.group(rng.choice(("SMART Recovery", "Alcoholics Anonymous", "Narcotics Anonymous")),
                mode="online", state=state, national=False)


def add_meth_groups(b):
    """At least 15 methamphetamine-focused groups: CMA and SMART 'ice' groups."""
    rng = b.rng
    for town in ("Sydney", "Melbourne", "Brisbane", "Perth", "Adelaide", "Newcastle",
                 "Geelong", "Southport", "Canberra", "Darwin"):
        b.group("Crystal Meth Anonymous", town=town)
    for _ in range(3):
        b.group("Crystal Meth Anonymous", mode="online")
    for town in ("Dandenong", "Penrith", "Logan Central", "Elizabeth", "Bunbury",
                 "Launceston", "Mildura", "Toowoomba", "Kalgoorlie"):
        b.group("SMART Recovery", town=town, substances=["methamphetamine"])
    for _ in range(3):
        b.group("SMART Recovery", mode=rng.choice(("online", "hybrid")),
                substances=["methamphetamine"], town=None)


def add_family_groups(b):
    """At least 15 family-and-friends groups across states."""
    for town in ("Sydney", "Melbourne", "Brisbane", "Adelaide", "Perth", "Hobart", "Darwin",
                 "Canberra", "Ballarat", "Wollongong", "Cairns", "Launceston"):
        b.group("Al-Anon", town=town)
    for town in ("Parramatta", "Frankston", "Ipswich", "Fremantle", "Mount Gambier"):
        b.group("Nar-Anon", town=town)
    b.group("Nar-Anon", mode="online", national=True)
    for town in ("Newcastle", "Bendigo", "Toowoomba", "Whyalla", "Devonport"):
        b.group("SMART Recovery Family & Friends", town=town)
    for _ in range(3):
        b.group("SMART Recovery Family & Friends", mode="online", national=True)


def add_random_groups(b, target):
    """Fill up to `target` groups with a realistic program, format and place mix."""
    rng = b.rng
    programs = [(p, s["weight"]) for p, s in PROGRAMS.items()]
    while b.counters["group"] < target:
        program = weighted(rng, programs)
        mode = weighted(rng, [("in_person", 70), ("online", 20), ("hybrid", 10)])
        audience = None
        if PROGRAMS[program]["audience"] == "everyone" and rng.random() < 0.08:
            audience = rng.choice(("women", "men", "lgbtiq", "young_people"))
        # A third of in-person meetings go to regional towns, as in the real directories.
        town = None
        if mode != "online":
            town = pick_town(rng, regional=rng.random() < 0.33)
        b.group(program, town=town, mode=mode, audience=audience)


def add_services(b):
    """Treatment services: every type in several states, weighted to capitals."""
    rng = b.rng
    # Core types in every state, so a referral anywhere finds the basics.
    for state in ("NSW", "VIC", "QLD", "SA", "WA", "TAS", "NT", "ACT"):
        capital = next(t[0] for t in TOWNS if t[1] == state and t[6])
        b.service("counselling", town=capital)
        b.service("withdrawal", town=capital)
        b.service("pharmacotherapy", town=capital)
        b.service("nsp", town=capital)
        b.service("residential", state=state)
        b.service("counselling", town=pick_town(rng, state, regional=True)
                  if state != "ACT" else "Belconnen")
        # State-wide telehealth counselling (online + phone).
        b.service("counselling", state=state, mode="online")
    for town in ("Dubbo", "Lismore", "Bendigo", "Townsville", "Mount Gambier", "Kalgoorlie",
                 "Alice Springs", "Launceston"):
        b.service(rng.choice(("residential", "withdrawal", "pharmacotherapy")), town=town)
    for town in ("Melbourne", "Sydney", "Brisbane", "Perth", "Geelong"):
        b.service("stimulant", town=town)
    for town in ("Parramatta", "Richmond", "Adelaide", "Hobart"):
        b.service("cannabis", town=town)
    for town in ("Sydney", "Melbourne", "Brisbane", "Adelaide", "Perth", "Darwin"):
        b.service("gambling", town=town)
    for town in ("Sydney", "Wagga Wagga", "Ballarat", "Rockhampton"):
        b.service("family", town=town, audience="family_friends")
    for town in ("Melbourne", "Newcastle", "Fremantle"):
        b.service("home_withdrawal", town=town)
    for town in ("Melbourne", "Sydney"):
        b.service("benzo", town=town)
    b.service("home_withdrawal", mode="hybrid", town="Bunbury")
    # Audience- and language-specific services.
    for town in ("Alice Springs", "Katherine", "Sydney", "Cairns",
                 "Broome", "Nhulunbuy"):
        b.service(rng.choice(("counselling", "residential")), town=town,
                  audience="aboriginal_torres_strait_islander")
    for town in ("Brisbane", "Penrith", "Frankston", "Hobart"):
        b.service("counselling", town=town, audience="young_people")
    b.service("counselling", town="Darlinghurst", audience="lgbtiq")
    b.service("counselling", town="Footscray", languages=["en", "vi"])
    b.service("counselling", town="Bankstown", languages=["en", "ar"])
    b.service("counselling", town="Box Hill", languages=["en", "zh"])
    b.service("residential", town="Geelong", audience="women")
    b.service("residential", town="Gosford", audience="men")
    b.service("counselling", town="Townsville", audience="veterans")
    # A few more general services in regional towns, where real waitlists are longest.
    for _ in range(10):
        b.service(rng.choice(("counselling", "counselling", "pharmacotherapy", "nsp")),
                  town=pick_town(rng, regional=True))


def add_helplines(b):
    """National and state helplines, including 24/7 ones (names are invented)."""
    b.helpline("Lighthouse Alcohol and Drug Line", "AU",
               "A free, confidential national line for anyone worried about their own or "
               "someone else's alcohol or drug use. Counsellors can also help you find "
               "local services.",
               "A counsellor answers, asks what is going on, and can stay on the line "
               "or link you with local help.",
               formats=("phone", "online"), always=True)
    b.helpline("Steady Ground Family Drug Line", "AU",
               "A national support line for families and friends of people who use alcohol "
               "or other drugs, answered by trained volunteers with lived experience.",
               "A volunteer who has been through something similar listens and talks "
               "through options with you.",
               always=True, audience="family_friends", facilitation="peer_led",
               approach="secular_peer")
    b.helpline("Night Harbour Overdose and Safer Use Line", "AU",
               "Round-the-clock advice on overdose, drug interactions and safer use, "
               "including where to get naloxone.",
               "A nurse gives practical, non-judgemental safety advice; they will tell "
               "you to call 000 in an emergency.",
               always=True, approach="harm_reduction", goals=["harm_reduction"])
    b.helpline("Betting Pause Gambling Helpline", "AU",
               "A free national line and web chat for people affected by gambling, "
               "including family members.",
               "A counsellor talks through what is happening and can set up ongoing "
               "phone counselling.",
               formats=("phone", "online"), always=True, substances=("gambling",),
               goals=["abstinence", "moderation"])
    for state, name in (("VIC", "Southern Stars Drug and Alcohol Line (Victoria)"),
                        ("QLD", "Sunstate Alcohol and Drug Line (Queensland)"),
                        ("WA", "Westward Alcohol and Drug Support Line (WA)")):
        b.helpline(name, state,
                   "A 24/7 state line offering counselling, information and referral for "
                   "alcohol and other drug concerns in %s." % STATE_NAMES[state],
                   "A counsellor answers, listens, and can book you into a local service.",
                   formats=("phone", "online"), always=True)
    for state in ("NSW", "SA", "TAS", "NT", "ACT"):
        b.helpline("Open Door Alcohol and Drug Information Line (%s)" % state, state,
                   "Information, brief counselling and referral for people in %s concerned "
                   "about alcohol or other drugs." % STATE_NAMES[state],
                   "A counsellor answers questions and can suggest services near you.",
                   formats=("phone",))
    b.helpline("Ice Talk Methamphetamine Advice Line", "AU",
               "Advice for people who use ice and the people around them, including "
               "what to do when someone is agitated or not sleeping.",
               "A nurse or counsellor listens and gives practical next steps.",
               formats=("phone", "online"), substances=("methamphetamine",))
    b.helpline("Quit Breathing Space Line", "AU",
               "Phone coaching for people who want to stop smoking or vaping.",
               "A coach agrees a quit date with you and calls back at times you choose.",
               substances=("nicotine",), goals=["abstinence", "moderation"])
    b.helpline("Yarn Safe Line", "AU",
               "A line for Aboriginal and Torres Strait Islander people to yarn about "
               "alcohol and other drugs with Aboriginal counsellors.",
               "You can yarn at your own pace; the counsellor will not judge or rush you.",
               audience="aboriginal_torres_strait_islander")
    b.helpline("Rainbow Pathways Drug and Alcohol Line", "AU",
               "Peer and counsellor support for LGBTIQ+ people about alcohol and other "
               "drug use, including chemsex.",
               "A worker from the community answers and talks through what you need.",
               formats=("phone", "online"), audience="lgbtiq", approach="harm_reduction")
    b.helpline("Next Gen Youth Drug Line", "AU",
               "Phone and chat support for young people aged 12 to 25 about alcohol and "
               "other drugs.",
               "A youth worker chats with you; you do not need to give your name.",
               formats=("phone", "online"), audience="young_people")
    b.helpline("Service Mates Veterans Alcohol Line", "AU",
               "A line for veterans and their families about drinking, drug use and "
               "gambling.",
               "A counsellor with defence experience answers and can arrange follow-up.",
               audience="veterans")
    b.helpline("Many Voices Multilingual Drug and Alcohol Line", "AU",
               "Alcohol and drug information in several community languages.",
               "Choose your language from the menu and a bilingual counsellor answers.",
               languages=("en", "vi", "zh", "ar"), audience="cald")
    b.helpline("Carers Circle Line (Victoria)", "VIC",
               "Support for parents and carers in Victoria worried about a young "
               "person's alcohol or drug use.",
               "A family worker listens and can link you to a local family group.",
               audience="family_friends", facilitation="peer_led", approach="secular_peer")
    # No real program's name on an invented line: a generic meeting-finder instead.
    b.helpline("Common Ground Meeting Finder Line", "AU",
               "Help choosing a mutual-help meeting that suits you, whichever program "
               "or goal.",
               "A volunteer asks what you are after and suggests a few meetings to try.",
               approach="secular_peer", facilitation="peer_led",
               hours=weekday_hours("09:00", "17:00"))
    b.helpline("Crossroads Drinking Check-in Line (SA)", "SA",
               "A callback service for South Australians who want to cut down on "
               "drinking.",
               "Book a call and a counsellor rings you at the agreed time.",
               substances=("alcohol",), goals=["moderation", "abstinence"],
               hours=weekday_hours("10:00", "19:00"))
    b.helpline("Top End Drug and Alcohol Line", "NT",
               "Information and referral for people across the Northern Territory, "
               "including remote communities.",
               "A counsellor answers and can arrange a call in language if needed.",
               hours=weekday_hours("08:00", "16:30"))


# ---------------------------------------------------------------------------
# Checks: fail loudly if the coverage promised in README is not met.
# ---------------------------------------------------------------------------
def check(listings):
    """Assert shape, data-ethics rules and coverage; return a printable summary."""
    import re

    keys = ["id", "kind", "name", "description", "program", "approach", "goals",
            "substances", "formats", "audiences", "facilitation", "languages", "location",
            "service_area", "timezone", "sessions", "open_24_7", "contact",
            "registration_required", "open_meeting", "cost", "referral", "accessibility",
            "first_visit", "source", "updated_at", "verified_at", "status"]
    phone_re = re.compile(r"^0[2378] (5550|7010) \d{4}$")
    ids = [l["id"] for l in listings]
    assert len(ids) == len(set(ids)), "duplicate ids"
    assert len(listings) >= 420, "only %d listings" % len(listings)
    zones = set(vocab.STATES.values()) | {"Australia/Broken_Hill", "Australia/Lord_Howe"}
    for l in listings:
        assert list(l) == keys, l["id"]
        assert l["kind"] in vocab.KINDS
        assert l["approach"] in vocab.APPROACHES
        assert l["goals"] and set(l["goals"]) <= set(vocab.GOALS), l["id"]
        assert l["substances"] and set(l["substances"]) <= set(vocab.SUBSTANCES)
        assert l["formats"] and set(l["formats"]) <= set(vocab.FORMATS)
        assert l["audiences"] and set(l["audiences"]) <= set(vocab.AUDIENCES)
        assert l["facilitation"] in vocab.FACILITATION
        assert l["cost"] in vocab.COSTS and l["referral"] in vocab.REFERRALS
        assert l["status"] in vocab.STATUSES
        assert set(l["accessibility"]) <= set(vocab.ACCESSIBILITY)
        assert l["timezone"] in zones
        assert (l["program"] is None) == (l["kind"] != "group")
        assert (l["location"] is None) == ("in_person" not in l["formats"]), l["id"]
        if l["formats"] == ["in_person"]:
            assert l["service_area"] == [], l["id"]
        else:
            assert l["service_area"], l["id"]
        assert (l["first_visit"]["camera_optional"] is None) == ("online" not in l["formats"]
                                                              or l["kind"] == "helpline")
        assert l["open_24_7"] == (l["sessions"] == []), l["id"]
        for s in l["sessions"]:
            assert s["weekday"] in vocab.WEEKDAYS and s["start"] < s["end"]
            assert set(s) <= {"weekday", "start", "end", "monthly"}
            assert s.get("monthly", "first") in vocab.MONTHLY_RULES
        c = l["contact"]
        for field in ("phone", "conference_phone"):
            assert c[field] is None or phone_re.match(c[field]), c[field]
        assert c["email"] is None or c["email"].endswith("@example.org")
        for field in ("website", "conference_url", "registration_url"):
            assert c[field] is None or c[field].startswith("https://example.org/")
        assert "2025-06-01" <= l["verified_at"] <= l["updated_at"] <= "2026-11-30"
        n_sent = l["description"].count(". ") + 1
        assert 1 <= n_sent <= 3, (l["id"], l["description"])
        if l["location"]:
            loc = l["location"]
            town = TOWN[loc["locality"]]
            d_km = math.hypot((loc["lat"] - town[3]) * 111,
                              (loc["lon"] - town[4]) * 111 * math.cos(math.radians(town[3])))
            assert d_km < 3, (l["id"], d_km)
            assert loc["postcode"] == town[2] and loc["state"] == town[1]

    def present(field, values):
        """Every vocabulary value occurs somewhere in `field`."""
        seen = set()
        for l in listings:
            v = l[field]
            seen.update(v if isinstance(v, list) else [v])
        missing = [v for v in values if v not in seen]
        assert not missing, "%s missing %s" % (field, missing)

    present("kind", vocab.KINDS)
    present("formats", vocab.FORMATS)
    present("goals", vocab.GOALS)
    present("approach", vocab.APPROACHES)
    present("audiences", vocab.AUDIENCES)
    present("facilitation", vocab.FACILITATION)
    present("cost", vocab.COSTS)
    present("substances", vocab.SUBSTANCES)

    located = [l for l in listings if l["location"]]
    states = {l["location"]["state"] for l in located}
    assert states == set(vocab.STATES), states
    for state in vocab.STATES:
        here = [l for l in located if l["location"]["state"] == state]
        assert any(l["location"]["locality"] in CAPITALS for l in here), state
        assert any(l["sessions"] and l["timezone"] == vocab.STATES[state] for l in here), state
    assert any(l["location"]["locality"] not in METRO for l in located)
    regional_states = {l["location"]["state"] for l in located
                       if l["location"]["locality"] not in METRO}
    assert regional_states >= set(vocab.STATES) - {"ACT"}, regional_states
    assert {s["weekday"] for l in listings for s in l["sessions"]} == set(vocab.WEEKDAYS)
    assert any(s["weekday"] == "sat" and s["start"] < "12:00"
               for l in listings for s in l["sessions"])
    assert any(l["timezone"] == "Australia/Broken_Hill" for l in listings)
    assert any(l["timezone"] == "Australia/Lord_Howe" for l in listings)

    national = [l for l in listings if l["service_area"] == ["AU"]]
    assert len(national) >= 20, len(national)
    assert any(l["service_area"] not in ([], ["AU"]) for l in listings)
    meth = [l for l in listings if l["kind"] == "group" and l["substances"] == ["methamphetamine"]]
    assert len(meth) >= 15, len(meth)
    family = [l for l in listings if l["kind"] == "group" and "family_friends" in l["audiences"]]
    assert len(family) >= 15, len(family)
    always = [l for l in listings if l["open_24_7"]]
    assert len(always) >= 4 and all(l["kind"] == "helpline" for l in always)
    assert all(l["formats"] in (["phone"], ["online", "phone"]) for l in always)
    labels = " ".join(l["name"] for l in listings if l["kind"] == "service")
    for needed in ("AOD counselling", "withdrawal", "residential rehabilitation",
                   "pharmacotherapy"):
        assert needed in labels, needed
    assert sum(l["name"] == XSS_NAME for l in listings) == 1
    assert sum(l["status"] == "temporarily_closed" for l in listings) >= 2

    for l in listings:
        if l["program"] in ("Alcoholics Anonymous", "Narcotics Anonymous", "Crystal Meth Anonymous"):
            assert l["approach"] == "twelve_step" and l["goals"] == ["abstinence"]
            assert l["facilitation"] == "peer_led"
        if l["program"] == "Crystal Meth Anonymous":
            assert l["substances"] == ["methamphetamine"]
        if l["program"] in ("Al-Anon", "Nar-Anon", "SMART Recovery Family & Friends"):
            assert "family_friends" in l["audiences"]

    def count(fn):
        """Tally listings by a key function (keys may be lists)."""
        out = {}
        for l in listings:
            k = fn(l)
            for item in (k if isinstance(k, list) else [k]):
                out[item] = out.get(item, 0) + 1
        return dict(sorted(out.items()))

    return {
        "total": len(listings),
        "by kind": count(lambda l: l["kind"]),
        "by state (located)": count(lambda l: l["location"]["state"] if l["location"] else "(remote)"),
        "by format": count(lambda l: l["formats"]),
        "format combos": count(lambda l: "+".join(l["formats"])),
        "national (AU)": len(national),
        "state-wide remote": sum(1 for l in listings if l["service_area"] not in ([], ["AU"])),
        "meth groups": len(meth),
        "family groups": len(family),
        "24/7": len(always),
        "temporarily closed": sum(l["status"] == "temporarily_closed" for l in listings),
        "regional located": sum(l["location"]["locality"] not in METRO for l in located),
        "by program": count(lambda l: l["program"] or "(none)"),
    }


def build() -> str:
    """The checked listings as the exact text of listings.json."""
    b = Builder(SEED)
    add_special_groups(b)
    add_meth_groups(b)
    add_family_groups(b)
    add_random_groups(b, target=320)
    add_services(b)
    add_helplines(b)
    listings = sorted(b.listings, key=lambda l: l["id"])
    check(listings)
    return json.dumps(listings, indent=1, ensure_ascii=False) + "\n"


def main():
    """Build, check and write the listings, then print a coverage summary."""
    text = build()
    summary = check(json.loads(text))
    with open(OUTPUT, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    for key, value in summary.items():
        print("%-20s %s" % (key, value))
    print("%-20s %d bytes" % ("file size", len(text.encode("utf-8"))))


if __name__ == "__main__":
    main()
