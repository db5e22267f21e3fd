"""Places on the Earth's surface: distance, and the tables of countries and Australian states
that feed readers, geocoders and writers share."""

from __future__ import annotations

import math

from service.domain import vocab

# geopy's mean Earth radius, so our distances agree with geopy.distance.great_circle.
EARTH_RADIUS_KM = 6371.009


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


# --- Countries ------------------------------------------------------------------------------
# Country names as feeds and people write them (case-folded) -> ISO 3166 alpha-2. Only
# unambiguous names: "Georgia" and "CA" could be a US state at the end of an address, so a
# two-letter code counts only where a field is known to hold a country.
COUNTRY_NAMES = {
    "usa": "US", "us": "US", "u.s.a.": "US", "u.s.": "US",
    "united states": "US", "united states of america": "US",
    "canada": "CA",
    "uk": "GB", "united kingdom": "GB", "great britain": "GB", "england": "GB",
    "scotland": "GB", "wales": "GB", "northern ireland": "GB",
    "australia": "AU", "new zealand": "NZ", "ireland": "IE", "south africa": "ZA",
    "germany": "DE", "deutschland": "DE", "netherlands": "NL", "the netherlands": "NL",
    "mexico": "MX", "méxico": "MX", "france": "FR", "spain": "ES", "españa": "ES",
    "italy": "IT", "italia": "IT", "india": "IN", "switzerland": "CH", "belgium": "BE",
}

# ISO 3166 alpha-3 -> alpha-2 (old Pelias servers and some HSDS feeds give only alpha-3). Only
# the countries this directory is likely to meet are listed; others get no country rather
# than a wrong one.
ALPHA3_TO_ALPHA2 = {
    "AUS": "AU", "NZL": "NZ", "GBR": "GB", "IRL": "IE", "USA": "US", "CAN": "CA",
    "PNG": "PG", "FJI": "FJ", "IDN": "ID", "SGP": "SG", "ZAF": "ZA", "IND": "IN",
}

# The name an address ends with ("18 Olive Ave, Rehoboth Beach, DE 19971, USA"); each one
# reads back to its code through COUNTRY_NAMES.
COUNTRY_IN_ADDRESS = {
    "US": "USA", "CA": "Canada", "GB": "UK", "AU": "Australia", "NZ": "New Zealand",
    "IE": "Ireland", "ZA": "South Africa", "DE": "Germany", "NL": "Netherlands", "MX": "Mexico",
    "FR": "France", "ES": "Spain", "IT": "Italy", "IN": "India", "CH": "Switzerland",
    "BE": "Belgium",
}

# Countries whose addresses name a state or province ("Edmonton, Alberta, Canada").
COUNTRIES_WITH_STATES = frozenset({"US", "CA", "AU"})

# The two-letter codes of US states (with DC and Puerto Rico) and Canadian provinces and
# territories (USPS and Canada Post abbreviations): the code an address there ends with
# ("Rehoboth Beach, DE"), which may also be a country's ("DE" is Germany's).
US_STATE_CODES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH "
    "NJ NM NY NC ND OH OK OR PA PR RI SC SD TN TX UT VT VA WA WV WI WY".split())
CA_PROVINCE_CODES = frozenset("AB BC MB NB NL NS NT NU ON PE QC SK YT".split())


# --- Australian states and territories ------------------------------------------------------
_AU_STATE_NAMES = {
    "NSW": "New South Wales", "VIC": "Victoria", "QLD": "Queensland", "SA": "South Australia",
    "WA": "Western Australia", "TAS": "Tasmania", "NT": "Northern Territory",
    "ACT": "Australian Capital Territory",
}
# Code -> full name. The codes (and each one's zone) are those of vocab.STATES, the one table
# of states: a state added there without a name here fails on import.
AU_STATE_NAMES = {code: _AU_STATE_NAMES[code] for code in vocab.STATES}
# Codes and full names as people type them (case-folded) -> code: "nsw", "new south wales".
AU_STATE_WORDS = {**{code.casefold(): code for code in AU_STATE_NAMES},
                  **{name.casefold(): code for code, name in AU_STATE_NAMES.items()}}


def au_state_code(text: str) -> str | None:
    """The code of an Australian state written as a code or a full name, in any case and
    spacing ("New  south Wales" -> "NSW"); None for anything else."""
    return AU_STATE_WORDS.get(" ".join(text.casefold().split()))

