"""Where rate-limit counts live: by default a SQLite file every app of one server shares; a
storage that cannot be used stops the start naming LINKAGE_RATELIMIT_STORAGE."""

from __future__ import annotations

import pytest

from service import create_app
from service.settings import SettingsError


def test_two_apps_on_one_state_folder_share_their_counts(sqlite_backend, gazetteer, tmp_path):
    """What gunicorn's workers are: apps built from the same settings. The limit is theirs together."""
    settings = {"referrals_path": str(tmp_path / "referrals.sqlite"), "api_rate_limit": "3/minute"}
    workers = [create_app(settings, backend=sqlite_backend, geocoder=gazetteer).test_client() for _ in range(2)]
    statuses = [workers[n % 2].get("/v1/places?q=syd").status_code for n in range(6)]
    assert statuses == [200, 200, 200, 429, 429, 429]


def test_a_storage_that_cannot_be_used_stops_the_start_naming_the_setting(sqlite_backend, gazetteer, tmp_path):
    for uri in ("bogus://somewhere", "linkage-sqlite://relative/path.sqlite"):
        with pytest.raises(SettingsError, match="LINKAGE_RATELIMIT_STORAGE"):
            create_app({"ratelimit_storage": uri, "referrals_path": str(tmp_path / "referrals.sqlite")},
                       backend=sqlite_backend, geocoder=gazetteer)
