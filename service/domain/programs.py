"""Program stance: what a program offers when a feed does not say (DESIGN.md, one table).

Indexers fill missing fields from here; a record's own values always win. The
explainers are the plain-language paragraph shown to GPs and community sites.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from service.domain import vocab
from service.domain.text import normalise


@dataclass(frozen=True)
class Stance:
    """Defaults for one program's listings."""

    approach: str
    goals: tuple[str, ...]
    substances: tuple[str, ...] = ("any",)
    facilitation: str = "peer_led"
    audiences: tuple[str, ...] = ("everyone",)
    aliases: tuple[str, ...] = ()
    explainer: str = ""


ALL_GOALS = vocab.GOALS

STANCES: dict[str, Stance] = {
    "SMART Recovery": Stance(
        "self_management", ("abstinence", "moderation"), facilitation="facilitator_led",
        aliases=("smart",),
        explainer="Free groups that teach practical tools from cognitive behavioural therapy "
                  "and motivational interviewing. People set their own goal, whether that is "
                  "stopping or cutting down, and a trained facilitator keeps the group on track."),
    "Alcoholics Anonymous": Stance(
        "twelve_step", ("abstinence",), ("alcohol",), aliases=("aa",),
        explainer="A worldwide fellowship of people who support each other to stop drinking, "
                  "using the Twelve Steps. Meetings are free, run by members, and anyone who "
                  "wants to stop drinking can come."),
    "Narcotics Anonymous": Stance(
        "twelve_step", ("abstinence",), aliases=("na",),
        explainer="A fellowship like AA for people who want to stop using any drug, following "
                  "the Twelve Steps. Free, member-run, and open to newcomers."),
    "Crystal Meth Anonymous": Stance(
        "twelve_step", ("abstinence",), ("methamphetamine",), aliases=("cma",),
        explainer="A Twelve Step fellowship for people who want to stop using crystal meth "
                  "(ice). Members share lived experience of methamphetamine; free and peer-run."),
    "Cocaine Anonymous": Stance(
        "twelve_step", ("abstinence",), ("cocaine",), aliases=("ca",),
        explainer="A Twelve Step fellowship for people who want to stop using cocaine and "
                  "other mind-altering substances."),
    "Gamblers Anonymous": Stance(
        "twelve_step", ("abstinence",), ("gambling",), aliases=("ga",),
        explainer="A Twelve Step fellowship for people who want to stop gambling."),
    "LifeRing": Stance(
        "secular_peer", ("abstinence",), aliases=("lifering secular recovery",),
        explainer="Secular, non-religious peer support for people choosing to live free of "
                  "alcohol and other drugs, focused on the present week rather than the past."),
    "Moderation Management": Stance(
        "self_management", ("moderation", "abstinence"), ("alcohol",), aliases=("mm",),
        explainer="Peer support for people who want to cut down on drinking or take a break, "
                  "often starting with 30 days alcohol-free."),
    "HAMS": Stance(
        "harm_reduction", ALL_GOALS, aliases=("hams harm reduction network",),
        explainer="Harm reduction, abstinence and moderation support: people choose their own "
                  "goal, from safer use to quitting, without judgement."),
    "Recovery Dharma": Stance(
        "buddhist", ("abstinence",), aliases=("refuge recovery",),
        explainer="Peer groups using Buddhist-inspired meditation and inquiry to support "
                  "recovery from addiction."),
    "Al-Anon": Stance(
        # Family groups list every goal: the goal belongs to the person they worry about,
        # so a goal filter must not hide support for the family.
        "twelve_step", ALL_GOALS, ("alcohol",), audiences=("family_friends",),
        aliases=("al anon", "al-anon family groups"),
        explainer="Meetings for people affected by someone else's drinking, to look after "
                  "themselves whatever the drinker does."),
    "Nar-Anon": Stance(
        "twelve_step", ALL_GOALS, audiences=("family_friends",), aliases=("nar anon",),
        explainer="Meetings for relatives and friends of people who use drugs."),
    "SMART Recovery Family & Friends": Stance(
        "self_management", ALL_GOALS, facilitation="facilitator_led", audiences=("family_friends",),
        aliases=("smart family and friends", "smart family & friends"),
        explainer="Facilitated groups teaching family members and friends practical skills to "
                  "support someone they care about and look after themselves."),
}

_BY_ALIAS = {
    normalise(alias): name
    for name, stance in STANCES.items()
    for alias in (name, *stance.aliases)
}


@lru_cache(maxsize=4096)
def canonical_program(name: str | None) -> str | None:
    """The table's name for a program as a feed spells it ("AA", "smart"), or None.

    Cached: a feed spells its few programs the same way on every one of its records."""
    if not name:
        return None
    return _BY_ALIAS.get(normalise(name))


def stance_for(name: str | None) -> Stance | None:
    """The program's default stance, or None for programs the table does not know."""
    canonical = canonical_program(name)
    return STANCES[canonical] if canonical else None
