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

# Words typed into `q` that name a substance, read as the `substance` filter rather than
# matched as text: the vocabulary's own names and the street names above, less words that
# say how, not what ("smoking ice" names methamphetamine, not nicotine).
TYPED_SUBSTANCES = {
    **{name: name for name in SUBSTANCES if name != "any"},
    **{word: target for word, target in SUBSTANCE_SYNONYMS.items() if word not in ("smoking",)},
    "opioid": "opioids",
    "opiate": "opioids",
    "oxy": "opioids",
    "fentanyl": "opioids",
    "methadone": "opioids",
    "amphetamine": "methamphetamine",
    "drink": "alcohol",
    "drinks": "alcohol",
    "drinker": "alcohol",
    "booze": "alcohol",
    "cocaine": "cocaine",
    "coke": "cocaine",
    "cannabis": "cannabis",
    "pot": "cannabis",
    "gambler": "gambling",
    "betting": "gambling",
    "benzo": "benzodiazepines",
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

# Words typed into `q` that say whom a search is for, read as the `audience` filter. A
# relative or friend named ("my son uses ice") means the person searching is family.
TYPED_AUDIENCES = {
    **dict.fromkeys((
        "family", "families", "friend", "friends", "son", "sons", "daughter", "daughters", "child",
        "children", "kid", "kids", "partner", "husband", "wife", "boyfriend", "girlfriend", "spouse",
        "mum", "mom", "mother", "dad", "father", "parent", "parents", "brother", "sister", "sibling",
        "grandson", "granddaughter", "carer", "carers", "loved one", "family and friends",
        "family friends", "family member",
    ), "family_friends"),
    **dict.fromkeys(("women", "woman", "female", "females", "ladies"), "women"),
    **dict.fromkeys(("men", "man", "male", "males", "blokes"), "men"),
    **dict.fromkeys(("lgbtiq", "lgbti", "lgbt", "lgbtq", "lgbtqi", "gay", "lesbian", "queer", "trans",
                     "transgender", "bisexual"), "lgbtiq"),
    **dict.fromkeys(("young", "young people", "young person", "youth", "teen", "teens", "teenager",
                     "teenagers", "adolescent", "adolescents"), "young_people"),
    **dict.fromkeys(("aboriginal", "indigenous", "torres strait", "torres strait islander",
                     "first nations", "koori", "murri"), "aboriginal_torres_strait_islander"),
    **dict.fromkeys(("veteran", "veterans", "ex service", "ex serving"), "veterans"),
    **dict.fromkeys(("cald", "multicultural"), "cald"),
}

# Small words left out of `q` once other words were read as filters ("my son uses ice"
# is family_friends + methamphetamine, with nothing left to match as text).
STOPWORDS = frozenset((
    "a", "an", "s", "the", "my", "our", "his", "her", "their", "your", "me", "i", "im", "we", "he", "she",
    "they", "who", "is", "are", "was", "has", "have", "uses", "use", "using", "used", "on", "for",
    "with", "and", "or", "of", "to", "in", "about", "help", "support", "someone", "person",
    "problem", "problems", "issue", "issues", "addiction", "addicted", "wants", "want", "needs",
    "need", "looking", "group", "groups", "meeting", "meetings", "too", "much", "lot",
))

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

# Parts of the day by a session's local start, [from, until) as "HH:MM". Starts between
# midnight and 05:00 belong to none of them.
PARTS_OF_DAY = {
    "morning": ("05:00", "12:00"),
    "afternoon": ("12:00", "17:00"),
    "evening": ("17:00", "24:00"),
}
TIMES_OF_DAY = tuple(PARTS_OF_DAY)

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
