"""The Linkage taxonomy: Linkage's own vocabularies (service.domain.vocab) published as one
HSDS taxonomy, so other directories can read a listing's kind, approach, goals, substances,
audiences, formats and facilitation as HSDS `attribute` rows with a `taxonomy_term`.

No published taxonomy fits these: Open Eligibility and the 211 (AIRS) taxonomy name services
("substance use disorder counselling"), not the stance of a group ("moderation is welcome",
"twelve-step"), so each value is a term of this taxonomy. One parent term per vocabulary
(code "goal"), one child per value (code "goal:moderation").

Ids are UUIDs (HSDS asks for them) made with uuid5 from the code, so they never change between
releases or servers: an importer can keep them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from service.domain import vocab

# Every HSDS id Linkage publishes is uuid5(LINKAGE_NAMESPACE, "<what>:<key>"). Fixed for good:
# changing it would change every id a directory has stored.
LINKAGE_NAMESPACE = uuid.UUID("7d1f6c2e-3b8a-5c4d-9e0f-1a2b3c4d5e6f")

TAXONOMY_ID = str(uuid.uuid5(LINKAGE_NAMESPACE, "taxonomy:linkage"))
TAXONOMY = {
    "id": TAXONOMY_ID,
    "name": "Linkage",
    "description": "Linkage's vocabularies for alcohol and other drug support: the kind of listing, its "
                   "approach, the goals it supports, the substances it focuses on, whom it is for, how "
                   "people attend and who leads it.",
    "version": "1",
}

# Vocabulary code -> (its values, what a term of it says about a listing).
VOCABULARIES: dict[str, tuple[tuple[str, ...], str]] = {
    "kind": (vocab.KINDS, "What the listing is: a group meeting, a treatment service or a helpline."),
    "approach": (vocab.APPROACHES, "The listing's approach to recovery."),
    "goal": (vocab.GOALS, "A goal the listing supports (abstinence, moderation, harm reduction)."),
    "substance": (vocab.SUBSTANCES, "A substance or behaviour the listing focuses on; 'any' for all of them."),
    "audience": (vocab.AUDIENCES, "Whom the listing is for; 'everyone' when it is open to all."),
    "format": (vocab.FORMATS, "How people attend: in person, online or by phone."),
    "facilitation": (vocab.FACILITATION, "Who leads the group or service."),
}

# Names where the code does not read well with its first letter in capitals.
_NAMES = {
    "lgbtiq": "LGBTIQ+", "cald": "Culturally and linguistically diverse",
    "aboriginal_torres_strait_islander": "Aboriginal and Torres Strait Islander people",
    "family_friends": "Family and friends", "twelve_step": "Twelve-step", "in_person": "In person",
}


@dataclass(frozen=True)
class Term:
    """One term of the Linkage taxonomy."""

    id: str
    code: str
    name: str
    description: str
    parent_id: str | None


def term_id(code: str) -> str:
    """The term's UUID, from its code ("goal:moderation")."""
    return str(uuid.uuid5(LINKAGE_NAMESPACE, f"taxonomy_term:{code}"))


def _build_terms() -> dict[str, Term]:
    terms: dict[str, Term] = {}
    for vocabulary, (values, meaning) in VOCABULARIES.items():
        parent = Term(term_id(vocabulary), vocabulary, vocabulary.capitalize(), meaning, None)
        terms[parent.code] = parent
        for value in values:
            code = f"{vocabulary}:{value}"
            name = _NAMES.get(value) or value.replace("_", " ").capitalize()
            terms[code] = Term(term_id(code), code, name, f"{vocabulary.capitalize()}: {name}.", parent.id)
    return terms


# Code -> term, and id -> term: every term of the taxonomy.
TERMS: dict[str, Term] = _build_terms()
TERMS_BY_ID: dict[str, Term] = {term.id: term for term in TERMS.values()}


def term_for(vocabulary: str, value: str) -> Term:
    """The term for one value of one vocabulary ("goal", "moderation"); KeyError when unknown."""
    return TERMS[f"{vocabulary}:{value}"]


def find_term(text: str) -> Term | None:
    """A term by its id or its code ("goal:moderation"); None when it is not one of ours."""
    text = text.strip()
    return TERMS_BY_ID.get(text.lower()) or TERMS.get(text.casefold())
