"""`models.maker` gives what the dataclass's own constructor gives, whatever it is handed;
and listings rebuilt from their stored JSON with it equal the listings stored.

The reference is each class called as usual (`Class(**values)`), never the maker."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench import synth
from service.domain.models import Contact, FirstVisit, Listing, Location, RankedHit, Session, Source, maker
from service.domain.schemas import listing_document, listing_from_trusted
from tests.conftest import GAZETTEER


def _by_constructors(doc: dict) -> Listing:
    """A stored listing's JSON rebuilt with the dataclasses' own constructors."""
    values = dict(doc)
    for name in ("goals", "substances", "formats", "audiences", "languages", "service_area", "accessibility"):
        values[name] = tuple(values[name])
    values["location"] = Location(**doc["location"]) if doc["location"] else None
    values["sessions"] = tuple(Session(**s) for s in doc["sessions"])
    values["contact"] = Contact(**doc["contact"])
    values["first_visit"] = FirstVisit(**doc["first_visit"])
    values["source"] = Source(**doc["source"])
    values["also_from"] = tuple(Source(**s) for s in doc["also_from"])
    return Listing(**values)


def _alike(made, reference) -> None:
    """Equal, and alike in every way the rest of the code could tell them apart."""
    assert type(made) is type(reference)
    assert made == reference
    assert hash(made) == hash(reference)
    assert repr(made) == repr(reference)
    # No attribute more or less, in the same order (orjson, for one, writes a dataclass
    # from its __dict__ in that order).
    assert list(vars(made)) == list(vars(reference))
    assert dataclasses.asdict(made) == dataclasses.asdict(reference)


def test_rebuilt_listings_equal_the_stored_and_the_constructors(demo_listings):
    listings = list(demo_listings) + synth.listings(2000, synth.load_towns(GAZETTEER))
    assert any(x.location is None for x in listings) and any(x.also_from == () for x in listings)
    for listing in listings:
        doc = json.loads(listing_document(listing))
        rebuilt = listing_from_trusted(doc)
        reference = _by_constructors(doc)
        _alike(rebuilt, reference)
        assert rebuilt == listing
        for part in ("location", "contact", "first_visit", "source"):
            if getattr(reference, part) is not None:
                _alike(getattr(rebuilt, part), getattr(reference, part))
        for made, ref in zip(rebuilt.sessions, reference.sessions, strict=True):
            _alike(made, ref)


_CONTACT_FIELDS = [f.name for f in dataclasses.fields(Contact)]
_text = st.sampled_from([None, "", "+61 2 9999 0000", "https://example.org/join"])


@given(st.dictionaries(st.sampled_from(_CONTACT_FIELDS + ["phone_number", "_document"]), _text))
def test_any_keys_give_what_the_constructor_gives(values):
    """Every field, some (defaults filled), or a key the class lacks (the same TypeError)."""
    try:
        reference = Contact(**values)
    except TypeError as exc:
        with pytest.raises(TypeError) as raised:
            maker(Contact)(values)
        assert str(raised.value) == str(exc)
        return
    _alike(maker(Contact)(values), reference)


def test_a_required_field_left_out_raises_as_the_constructor_does():
    values = {"weekday": "mon", "start": "19:00"}
    with pytest.raises(TypeError) as expected:
        Session(**values)
    with pytest.raises(TypeError) as raised:
        maker(Session)(values)
    assert str(raised.value) == str(expected.value)


def test_made_instances_stay_frozen_and_apart_from_the_values_given():
    values = {"name": "Feed", "url": None, "licence": "CC-BY-4.0"}
    made = maker(Source)(values)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.name = "Other"
    values["name"] = "Changed afterwards"
    assert made.name == "Feed"


def test_a_field_left_to_its_default_in_a_class_with_a_compare_false_field():
    hit = {"listing": None, "distance_km": 1.5, "next_sessions": (), "open_now": False, "why": ()}
    _alike(maker(RankedHit)(hit), RankedHit(**hit))
    full = {**hit, "for_everyone": False, "document": {"id": "x"}}
    made = maker(RankedHit)(full)
    _alike(made, RankedHit(**full))
    assert made.document == {"id": "x"}


def test_values_in_any_order_are_kept_in_field_order():
    values = {"monthly": None, "end": "20:30", "start": "19:00", "weekday": "mon"}
    _alike(maker(Session)(values), Session(**values))


def test_a_class_whose_init_does_more_is_refused():
    @dataclasses.dataclass(frozen=True)
    class Checked:
        value: int

        def __post_init__(self):
            if self.value < 0:
                raise ValueError("negative")

    @dataclasses.dataclass(frozen=True)
    class Derived:
        value: int
        twice: int = dataclasses.field(init=False, default=0)

    for cls in (Checked, Derived):
        with pytest.raises(TypeError):
            maker(cls)
