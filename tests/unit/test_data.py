"""The shipped data: demo listings meet the brief and stay fictional; the stance table."""

import importlib.util
import json
import re
from collections import Counter

import pytest

from service.domain import programs

from service.domain import vocab
from tests.conftest import DEMO, ROOT

FICTION_PHONE = re.compile(r"^0[2378] (5550|7010) \d{4}$")


@pytest.fixture(scope="module")
def records():
    return json.loads(DEMO.read_text(encoding="utf-8"))


def test_generator_reproduces_the_committed_file():
    spec = importlib.util.spec_from_file_location("generate", ROOT / "data" / "demo" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.build() == DEMO.read_text(encoding="utf-8")


def test_demo_data_is_labelled_fictional_and_uses_fiction_ranges(records):
    for record in records:
        assert record["source"]["name"] == "Demo data — fictional"
        for key in ("phone", "conference_phone"):
            value = record["contact"][key]
            assert value is None or FICTION_PHONE.match(value), (record["id"], value)
        for key in ("website", "conference_url", "registration_url"):
            value = record["contact"][key]
            assert value is None or value.startswith("https://example.org/"), (record["id"], value)
        assert record["contact"]["email"] is None or record["contact"]["email"].endswith("@example.org")


def test_demo_data_covers_the_brief(demo_listings):
    assert len(demo_listings) >= 400
    states = Counter(x.location.state for x in demo_listings if x.location)
    assert set(states) == set(vocab.STATES)
    for values, field in ((vocab.KINDS, "kind"), (vocab.APPROACHES, "approach")):
        assert {getattr(x, field) for x in demo_listings} == set(values)
    for values, field in ((vocab.FORMATS, "formats"), (vocab.GOALS, "goals"), (vocab.AUDIENCES, "audiences")):
        assert {v for x in demo_listings for v in getattr(x, field)} == set(values), field
    assert {s.weekday for x in demo_listings for s in x.sessions} == set(vocab.WEEKDAYS)
    zones = {x.timezone for x in demo_listings if x.sessions}
    assert set(vocab.STATES.values()) <= zones
    national = [x for x in demo_listings if "AU" in x.service_area and set(x.formats) & {"online", "phone"}]
    assert len(national) >= 20
    assert len([x for x in demo_listings if x.kind == "group" and "methamphetamine" in x.substances]) >= 10
    assert len([x for x in demo_listings if "family_friends" in x.audiences]) >= 10
    assert len([x for x in demo_listings if x.open_24_7 and x.kind == "helpline"]) >= 3
    regional = {x.location.locality for x in demo_listings if x.location} - {
        "Sydney", "Melbourne", "Brisbane", "Adelaide", "Perth", "Hobart", "Darwin", "Canberra"}
    assert len(regional) >= 30


def test_demo_programs_follow_the_stance_table(demo_listings):
    for listing in demo_listings:
        stance = programs.stance_for(listing.program)
        if stance is None:
            continue
        assert listing.approach == stance.approach, listing.id
        assert set(listing.goals) == set(stance.goals), listing.id


@pytest.mark.parametrize("name, canonical", [
    ("AA", "Alcoholics Anonymous"), ("smart", "SMART Recovery"), ("CMA", "Crystal Meth Anonymous"),
    ("Refuge Recovery", "Recovery Dharma"), ("al-anon", "Al-Anon"), ("Unknown Fellowship", None),
])
def test_program_aliases(name, canonical):
    assert programs.canonical_program(name) == canonical


def test_stance_table_matches_design():
    smart = programs.STANCES["SMART Recovery"]
    assert smart.approach == "self_management" and set(smart.goals) == {"abstinence", "moderation"}
    assert smart.facilitation == "facilitator_led"
    assert programs.STANCES["Crystal Meth Anonymous"].substances == ("methamphetamine",)
    assert set(programs.STANCES["HAMS"].goals) == set(vocab.GOALS)
    assert programs.STANCES["Recovery Dharma"].approach == "buddhist"
    for name in ("Al-Anon", "Nar-Anon", "SMART Recovery Family & Friends"):
        assert programs.STANCES[name].audiences == ("family_friends",)
    for stance in programs.STANCES.values():
        assert stance.approach in vocab.APPROACHES and set(stance.goals) <= set(vocab.GOALS)
        assert stance.explainer
