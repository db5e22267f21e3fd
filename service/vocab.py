"""Controlled vocabularies: the one place that says which values a listing may carry.

Everything else (schemas, query parameters, demo data, indexers, facets) reads these
tuples, so adding a value here is the whole change.
"""

KINDS = ("group", "service", "helpline")

APPROACHES = (
    "self_management",
    "twelve_step",
    "secular_peer",
    "buddhist",
    "clinical",
    "harm_reduction",
)

GOALS = ("abstinence", "moderation", "harm_reduction")

# "undecided" is a goal a person may state, not one a listing offers: it filters nothing
# and asks the ranking to explain which options welcome people still deciding.
QUERY_GOALS = GOALS + ("undecided",)

SUBSTANCES = (
    "any",
    "alcohol",
    "methamphetamine",
    "opioids",
    "cannabis",
    "cocaine",
    "benzodiazepines",
    "gambling",
    "nicotine",
)

# Street names people type, mapped to the substance a listing records.
SUBSTANCE_SYNONYMS = {
    "ice": "methamphetamine",
    "meth": "methamphetamine",
    "crystal": "methamphetamine",
    "crystal meth": "methamphetamine",
    "speed": "methamphetamine",
    "shard": "methamphetamine",
    "amphetamines": "methamphetamine",
    "heroin": "opioids",
    "opiates": "opioids",
    "weed": "cannabis",
    "marijuana": "cannabis",
    "drinking": "alcohol",
    "grog": "alcohol",
    "pokies": "gambling",
    "benzos": "benzodiazepines",
    "smoking": "nicotine",
    "vaping": "nicotine",
}

FORMATS = ("in_person", "online", "phone")

# Formats that reach people wherever the service area covers, whatever the distance.
REMOTE_FORMATS = ("online", "phone")

AUDIENCES = (
    "everyone",
    "women",
    "men",
    "lgbtiq",
    "young_people",
    "aboriginal_torres_strait_islander",
    "family_friends",
    "veterans",
    "cald",
)

FACILITATION = ("facilitator_led", "peer_led", "clinician_led")

COSTS = ("free", "low_cost", "fee")

REFERRALS = ("self", "gp_referral")

STATUSES = ("active", "inactive", "temporarily_closed")

ACCESSIBILITY = (
    "wheelchair_access",
    "accessible_toilet",
    "hearing_loop",
    "auslan_interpreter",
    "parking",
    "public_transport",
)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Monthly rules: which occurrence of the weekday in the month ("first Saturday").
MONTHLY_RULES = ("first", "second", "third", "fourth", "last")

# Australian states and territories, with the zone most of each observes. A listing
# always carries its own zone; this table only serves defaults and service areas.
STATES = {
    "NSW": "Australia/Sydney",
    "VIC": "Australia/Melbourne",
    "QLD": "Australia/Brisbane",
    "SA": "Australia/Adelaide",
    "WA": "Australia/Perth",
    "TAS": "Australia/Hobart",
    "NT": "Australia/Darwin",
    "ACT": "Australia/Sydney",
}

SORTS = ("best", "distance", "soonest")

# Plain words for the handout and the search page.
LABELS = {
    "in_person": "In person",
    "online": "Online",
    "phone": "By phone",
    "abstinence": "Stopping completely",
    "moderation": "Cutting down",
    "harm_reduction": "Using more safely",
    "undecided": "Not sure yet",
    "group": "Support group",
    "service": "Treatment service",
    "helpline": "Helpline",
    "self_management": "Self-management (CBT-based tools)",
    "twelve_step": "12-step fellowship",
    "secular_peer": "Secular peer support",
    "buddhist": "Buddhist-inspired recovery",
    "clinical": "Clinical treatment",
    "everyone": "Everyone",
    "women": "Women",
    "men": "Men",
    "lgbtiq": "LGBTIQ+ people",
    "young_people": "Young people",
    "aboriginal_torres_strait_islander": "Aboriginal and Torres Strait Islander people",
    "family_friends": "Family and friends",
    "veterans": "Veterans",
    "cald": "Culturally and linguistically diverse communities",
}


def label(value: str) -> str:
    """Plain-language label for a vocabulary value, falling back to the value itself."""
    return LABELS.get(value, value.replace("_", " ").capitalize())
