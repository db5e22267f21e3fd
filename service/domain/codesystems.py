"""The Linkage CodeSystems: our vocabularies (service.domain.vocab) published as FHIR code
systems, for the codes FHIR and AU Base have no standard code for.

Each vocabulary is one CodeSystem, named `linkage-<name>`, at
`<public base>/fhir/CodeSystem/linkage-<name>` (its canonical URL, which also serves it). The
codes are exactly the vocabulary's values, so a reader can match them against what the JSON
API and the HSDS export say. A new value in vocab.py is a new code here with nothing else to
change.

Plain data only: the FHIR renderer (service.render.fhir) writes the codings and the
CodeSystem resources from these tables.
"""

from __future__ import annotations

from service.domain import vocab

# Vocabulary name -> (title, what it describes, its codes). The codes' displays are the
# labels people see on the search page (vocab.label).
CODE_SYSTEMS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "kind": ("Linkage listing kind", "Whether a listing is a peer support group, a treatment "
             "service or a helpline.", vocab.KINDS),
    "approach": ("Linkage approach", "The approach a group or service takes to recovery.",
                 vocab.APPROACHES),
    "goal": ("Linkage goal", "The goals a listing welcomes: stopping completely, cutting down, "
             "using more safely.", vocab.GOALS),
    "substance": ("Linkage substance", "The substances or behaviours a listing focuses on "
                  "(\"any\" for all of them).", vocab.SUBSTANCES),
    "format": ("Linkage format", "How people take part: in person, online, by phone.",
               vocab.FORMATS),
    "audience": ("Linkage audience", "Whom a listing is for (\"everyone\" when it is open to "
                 "all).", vocab.AUDIENCES),
    "facilitation": ("Linkage facilitation", "Who runs the sessions.", vocab.FACILITATION),
    "accessibility": ("Linkage accessibility", "Access features of the venue or sessions.",
                      vocab.ACCESSIBILITY),
    "cost": ("Linkage cost", "What taking part costs.", vocab.COSTS),
    "referral": ("Linkage referral", "How people come to a listing: by themselves, or with a "
                 "GP's referral.", vocab.REFERRALS),
}


def code_system_id(name: str) -> str:
    """The resource id of a vocabulary's CodeSystem ("goal" -> "linkage-goal")."""
    return f"linkage-{name}"


def code_system_url(base: str, name: str) -> str:
    """The canonical URL of a vocabulary's CodeSystem under the public base."""
    return f"{base}/fhir/CodeSystem/{code_system_id(name)}"


def display(code: str) -> str:
    """The display of a code: the label the search page shows for it."""
    return vocab.label(code)
