"""What an HSDS service, its organisation and its places say, as listing fields: status, cost,
referral, contact (e-mail, website, phone), place, languages and accessibility."""

from __future__ import annotations

import re

from marshmallow import ValidationError
from marshmallow import validate as mm_validate

from indexers.records import Problem, ReadOptions
from indexers.sources.hsds.rows import (
    as_number, as_text, cut_text, dedupe, objects, one_line, plain_text, row_prefix, row_problems,
)
from service.domain import vocab
from service.domain.geo import ALPHA3_TO_ALPHA2, COUNTRY_NAMES
from service.domain.schemas import (  # the schema's own limits: never drift from them
    MAX_ADDRESS, MAX_LOCALITY, MAX_PHONE, MAX_POSTCODE, MAX_STATE,
)


# --- Status, cost, referral -----------------------------------------------------------------


def read_status(value, problems: list[Problem]) -> str:
    """HSDS status -> listing status. Defunct services are gone: "inactive" is the nearest."""
    text = (as_text(value) or "").casefold().replace("_", " ").strip()
    if text in ("", "active"):
        return "active"
    if text in ("inactive", "defunct", "closed", "permanently closed"):
        return "inactive"
    if text.startswith("temporar"):
        return "temporarily_closed"
    problems.append(Problem("service.status", "unknown status; listed as active", value))
    return "active"


_FREE = re.compile(r"^\W*(free|none|no (fees?|costs?|charges?)|\$?0(\.00)?)\b|\bfree of charge\b|\bno (fees?|costs?|charges?)\b|\bat no cost\b")
_LOW_COST = re.compile(r"sliding[- ]scale|low[- ]cost|reduced (fee|cost|rate)|based on (income|ability)|"
                       r"according to income|donations?|bulk[- ]bill|subsidi[sz]ed|income[- ]based")
_FEE = re.compile(r"[$£€¥]\s*\d|\d\s*(usd|gbp|eur|aud|dollars?)\b|\bfees?\b|\bcharges?\b|\bcosts?\b|\bpay\b|"
                  r"\bpayment\b|insurance|medicaid|medicare|private health")


def read_cost(service: dict) -> str | None:
    """free / low_cost / fee from cost_options and fee text; None when the feed is silent."""
    amounts = []
    for option in objects(service.get("cost_options")):
        amount = as_number(option.get("amount"))
        if amount is not None:
            amounts.append(amount)
    text = " ".join(filter(None, (plain_text(service.get(k)) for k in ("fees_description", "fees")))).casefold()
    if text:
        free = _FREE.search(text)
        if _LOW_COST.search(text):
            return "low_cost"
        if free and not re.search(r"[$£€]\s*[1-9]", text):
            return "free"
        if _FEE.search(text) or any(a > 0 for a in amounts):
            return "fee"
        if free:
            return "free"
    if amounts:
        return "fee" if any(a > 0 for a in amounts) else "free"
    return None


# Phrases that mean a referral is required, not merely accepted.
_REFERRAL_REQUIRED = re.compile(
    r"referral (is |are )?(required|needed|necessary|mandatory)|requires? (a )?referral|"
    r"(by|upon|with) referral only|referrals? only|only (by|through|with|upon) (a )?referral|"
    r"must (be referred|have (a )?referral|receive (a )?referral|obtain (a )?referral|get (a )?referral)|"
    r"referral from .{0,40}\b(is )?(required|necessary|needed)")
_SELF_REFERRAL = re.compile(r"self[- ]referr|walk[- ]?ins?\b|no referral")


def read_referral(service: dict) -> str:
    """"gp_referral" when the text says a referral is required (the vocabulary's only kind of
    required referral), else "self"."""
    text = " ".join(filter(None, (plain_text(service.get(k)) for k in
                                  ("application_process", "eligibility_description", "description")))).casefold()
    if _REFERRAL_REQUIRED.search(text) and not _SELF_REFERRAL.search(text):
        return "gp_referral"
    return "self"


# --- Contact --------------------------------------------------------------------------------

_EMAIL = mm_validate.Email()
_URL = mm_validate.URL(schemes={"http", "https"}, require_tld=True)
_BARE_DOMAIN = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:\d+)?([/?#]\S*)?$")


def read_email(value, problems: list[Problem], field: str = "service.email") -> str | None:
    """An e-mail address ("mailto:" dropped); None, with a problem on `field` (the feed's
    table and column, "organization.email"), for one that is not."""
    text = as_text(value)
    if not text:
        return None
    text = text.removeprefix("mailto:")
    try:
        _EMAIL(text)
    except ValidationError:
        problems.append(Problem(field, "not an e-mail address; left out", text))
        return None
    return text


def read_website(value, problems: list[Problem], field: str) -> str | None:
    """An http(s) address (a bare "www.example.org" gains "http://"); None, with a problem on
    `field` (the feed's table and column, "service.url"), for one that is not."""
    text = as_text(value)
    if not text:
        return None
    if "://" not in text and _BARE_DOMAIN.match(text):
        # "www.example.org" is common in 211 data; without a scheme it is no link at all.
        text = "http://" + text
    try:
        _URL(text)
    except ValidationError:
        problems.append(Problem(field, "not an http(s) address; left out", text))
        return None
    return text


_PHONE_SKIP = {"fax", "pager"}


def read_phone(rows: list[dict], problems: list[Problem]) -> str | None:
    """The first number people can call (not a fax), with its extension."""
    for row in rows:
        kind = (as_text(row.get("type")) or as_text(row.get("number_type")) or "").casefold()
        if kind in _PHONE_SKIP:
            continue
        number = one_line(row.get("number"), 200)
        if not number:
            continue
        number = number.strip("\"' ")
        extension = as_text(row.get("extension"))
        if extension and re.fullmatch(r"\d+(\.0)?", extension):
            number = f"{number} ext. {extension.removesuffix('.0')}"
        if len(number) > MAX_PHONE or not re.search(r"\d{3}", number):
            problems.append(Problem("phone.number", f"{row_prefix(row)}not a phone number; left out", number))
            continue
        problems.extend(row_problems(row))
        return number
    return None


# --- Place ----------------------------------------------------------------------------------


def read_place(location: dict, options: ReadOptions) -> tuple[dict | None, list[Problem]]:
    """The listing's location from an HSDS location and its addresses (None: nowhere to go)."""
    problems: list[Problem] = list(row_problems(location))
    where = row_prefix(location)
    lat_raw, lon_raw = location.get("latitude"), location.get("longitude")
    lat, lon = as_number(lat_raw), as_number(lon_raw)
    if (lat_raw not in (None, "") or lon_raw not in (None, "")) and (lat is None or lon is None):
        problems.append(Problem(_bad_coordinate(lat, lon), f"{where}latitude/longitude are not numbers; "
                                "to be geocoded", f"{lat_raw}, {lon_raw}"))
        lat = lon = None
    elif lat is not None and (not -90 <= lat <= 90 or not -180 <= lon <= 180):
        field = "location.latitude" if not -90 <= lat <= 90 else "location.longitude"
        problems.append(Problem(field, f"{where}latitude/longitude out of range; to be geocoded",
                                f"{lat_raw}, {lon_raw}"))
        lat = lon = None
    elif lat == 0 and lon == 0:
        # 0,0 is in the Gulf of Guinea: a database default, not a service.
        problems.append(Problem("location.latitude", f"{where}coordinates 0,0 are a placeholder; to be geocoded",
                                "0, 0"))
        lat = lon = None

    addresses = objects(location.get("addresses"))
    for address in addresses:
        problems.extend(row_problems(address))
    physical = [a for a in addresses if (as_text(a.get("address_type")) or "physical").casefold() == "physical"]
    postal = [a for a in addresses if (as_text(a.get("address_type")) or "").casefold() == "postal"]
    address = next((a for a in physical if _has_address(a)), None)
    if address is None and postal and next((a for a in postal if _has_address(a)), None):
        address = next(a for a in postal if _has_address(a))
        problems.append(Problem("address.address_type",
                                f"{row_prefix(address)}only a postal address is given; used as the place"))
    place: dict = {}
    if address is not None:
        street = ", ".join(filter(None, (one_line(address.get(k), MAX_ADDRESS) for k in
                                         ("address_1", "address_2", "address_3", "address_4"))))
        if street:
            place["address"] = cut_text(street, MAX_ADDRESS)
        locality = one_line(address.get("city"), MAX_LOCALITY)
        if locality:
            place["locality"] = locality
        state = one_line(address.get("state_province"), MAX_STATE)
        if state:
            place["state"] = state
        postcode = one_line(address.get("postal_code"), 60)
        if postcode and len(postcode) > MAX_POSTCODE:
            problems.append(Problem("address.postal_code", f"{row_prefix(address)}postcode too long; left out",
                                    postcode))
        elif postcode:
            place["postcode"] = postcode
        place["country"] = _country(address.get("country"), options, problems, address)
    else:
        place["country"] = options.country
    if lat is None and not place.get("address") and not place.get("locality") and not place.get("postcode"):
        return None, problems
    place["lat"] = lat
    place["lon"] = lon
    # Without a street, geocoding can only find the town: say so.
    place["approximate"] = lat is None and not place.get("address")
    return place, problems


def _bad_coordinate(lat, lon) -> str:
    """The coordinate column to name when latitude/longitude cannot be read: the one that is not
    a number (latitude when both are not)."""
    return "location.longitude" if lat is not None and lon is None else "location.latitude"


def _has_address(address: dict) -> bool:
    return any(as_text(address.get(k)) for k in ("address_1", "city", "postal_code"))


def _country(value, options: ReadOptions, problems: list[Problem], row: dict) -> str:
    text = (as_text(value) or "").strip()
    if not text:
        return options.country
    if re.fullmatch(r"[A-Za-z]{2}", text):
        return text.upper()
    name = text.casefold().strip(". ")
    code = COUNTRY_NAMES.get(name) or ALPHA3_TO_ALPHA2.get(name.upper())
    if code:
        return code
    problems.append(Problem("address.country", f"{row_prefix(row)}not an ISO country code; {options.country} assumed",
                            text))
    return options.country


# --- Languages and accessibility ------------------------------------------------------------

# Names as feeds write them -> ISO 639-1 (639-3 where there is no two-letter code: ase, yue...).
# "Creole" alone means Haitian Creole in US 211 data, by far the most common creole there.
_LANGUAGE_NAMES = {
    "english": "en", "spanish": "es", "espanol": "es", "español": "es", "haitian creole": "ht",
    "haitian-creole": "ht", "creole": "ht", "kreyol": "ht", "kreyòl": "ht", "french": "fr",
    "portuguese": "pt", "hebrew": "he", "russian": "ru", "arabic": "ar", "italian": "it", "greek": "el",
    "yiddish": "yi", "german": "de", "chinese": "zh", "mandarin": "zh", "cantonese": "yue",
    "taiwanese": "nan", "vietnamese": "vi", "korean": "ko", "japanese": "ja", "tagalog": "tl",
    "filipino": "fil", "polish": "pl", "urdu": "ur", "hindi": "hi", "bengali": "bn", "punjabi": "pa",
    "gujarati": "gu", "tamil": "ta", "telugu": "te", "nepali": "ne", "farsi": "fa", "persian": "fa",
    "dari": "prs", "pashto": "ps", "somali": "so", "swahili": "sw", "amharic": "am", "turkish": "tr",
    "dutch": "nl", "czech": "cs", "slovak": "sk", "ukrainian": "uk", "romanian": "ro", "hungarian": "hu",
    "serbian": "sr", "croatian": "hr", "bosnian": "bs", "albanian": "sq", "armenian": "hy",
    "thai": "th", "khmer": "km", "lao": "lo", "hmong": "hmn", "burmese": "my", "indonesian": "id",
    "malay": "ms", "samoan": "sm", "tongan": "to", "maori": "mi", "fijian": "fj",
    "american sign language": "ase", "asl": "ase", "auslan": "asf", "british sign language": "bfi",
}
_LANGUAGE_WORDS = re.compile(
    r"\b(" + "|".join(re.escape(n) for n in sorted(_LANGUAGE_NAMES, key=len, reverse=True)) + r")\b")
# ISO 639-2/3 codes of the common languages -> their 639-1 code, so "eng" and "en" match.
_THREE_TO_TWO = {
    "eng": "en", "spa": "es", "fra": "fr", "fre": "fr", "por": "pt", "deu": "de", "ger": "de",
    "zho": "zh", "chi": "zh", "cmn": "zh", "ara": "ar", "rus": "ru", "hat": "ht", "vie": "vi",
    "kor": "ko", "tgl": "tl", "ita": "it", "pol": "pl", "urd": "ur", "hin": "hi", "ben": "bn",
    "pan": "pa", "heb": "he", "ell": "el", "gre": "el", "yid": "yi", "jpn": "ja", "slk": "sk",
    "slo": "sk", "ukr": "uk", "fas": "fa", "per": "fa", "som": "so", "tur": "tr", "nld": "nl",
    "dut": "nl", "tha": "th",
}


def read_languages(holder: dict) -> list[str]:
    """ISO codes from an object's `languages` (3.0 objects or rows with `code`/`name`, 1.x
    rows with free-text `language`, or a comma-separated text column as in Ohana)."""
    value = holder.get("languages")
    codes: list[str] = []
    if isinstance(value, str):
        codes.extend(_language_codes(value))
    for row in objects(value):
        code = (as_text(row.get("code")) or "").casefold()
        if re.fullmatch(r"[a-z]{2}", code):
            codes.append(code)
        elif re.fullmatch(r"[a-z]{3}", code):
            codes.append(_THREE_TO_TWO.get(code, code))
        else:
            codes.extend(_language_codes(row.get("name")) or _language_codes(row.get("language")))
    return dedupe(codes)


def _language_codes(value) -> list[str]:
    text = plain_text(value)
    if not text:
        return []
    return dedupe(_LANGUAGE_NAMES[m.group(1)] for m in _LANGUAGE_WORDS.finditer(text.casefold()))


_ACCESSIBILITY_PATTERNS = (
    ("wheelchair_access", re.compile(r"wheel\s*chair|handicap(ped)?[- ]access|\bramps?\b|step[- ]free|"
                                     r"accessible entrance|disabled access|\bada\b")),
    ("accessible_toilet", re.compile(r"rest\s*rooms?|toilets?|bathrooms?|washrooms?|lavator")),
    ("hearing_loop", re.compile(r"(hearing|induction|audio)[- ]loops?|t-?coil")),
    ("parking", re.compile(r"parking")),
    ("auslan_interpreter", re.compile(r"auslan")),
)
_NEGATION = re.compile(r"\b(no|not|non|without|inaccessible|unavailable)\b")
_TRANSIT = re.compile(r"\b(bus(es)?|train|metro\w*|subway|tram|light rail|station|transit|ferry)\b")


def read_accessibility(location: dict) -> list[str]:
    """Vocabulary values where the text is plain about it. Only accessibility fields are read
    (a "restroom" there is an accessible one); parts that say "no"/"not" are skipped."""
    texts: list[str] = []
    value = location.get("accessibility")
    if isinstance(value, str):
        texts.append(value)  # Ohana: "disabled_parking, ramp, restroom"
    for row in objects(value):
        texts.extend(filter(None, (plain_text(row.get(k)) for k in ("description", "details", "accessibility"))))
    found: list[str] = []
    for text in texts:
        for part in re.split(r"[.;,\n]", text.casefold().replace("_", " ")):
            if not part.strip() or _NEGATION.search(part):
                continue
            found.extend(value for value, pattern in _ACCESSIBILITY_PATTERNS if pattern.search(part))
    transport = plain_text(location.get("transportation"))
    if transport and _TRANSIT.search(transport.casefold()) and not _NEGATION.search(transport.casefold()):
        found.append("public_transport")
    return [value for value in vocab.ACCESSIBILITY if value in found]
