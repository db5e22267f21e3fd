"""Settings: each field of its real type, converted once from the environment's text, and a
value that does not convert refused with the variable's name."""

from dataclasses import replace

import pytest

from service.settings import Settings, SettingsError


def test_numbers_from_the_environment_are_numbers():
    settings = Settings.from_env({
        "LINKAGE_MAX_FAILED_RATIO": "0.05", "LINKAGE_INDEX_REPLICAS": "1", "LINKAGE_MAX_INDEX_AGE_HOURS": "36",
        "LINKAGE_STALE_AFTER_DAYS": "90", "LINKAGE_PROXY_HOPS": " 2 "})
    assert settings.max_failed_ratio == 0.05 and type(settings.max_failed_ratio) is float
    assert settings.index_replicas == 1 and type(settings.index_replicas) is int
    assert settings.max_index_age_hours == 36.0 and type(settings.max_index_age_hours) is float
    assert settings.stale_after_days == 90 and type(settings.stale_after_days) is int
    assert settings.proxy_hops == 2 and type(settings.proxy_hops) is int


def test_defaults_are_typed_and_empty_variables_count_as_unset():
    settings = Settings.from_env({"LINKAGE_PROXY_HOPS": "", "LINKAGE_SEARCH_URL": ""})
    assert (settings.max_failed_ratio, settings.index_replicas, settings.max_index_age_hours,
            settings.stale_after_days, settings.proxy_hops) == (0.01, 0, 48.0, 180, 0)
    assert settings.search_url is None and settings.public_url is None and settings.backend == "sqlite"


def test_text_settings_stay_text_and_optional_ones_may_be_unset():
    settings = Settings.from_env({"LINKAGE_BACKEND": "opensearch", "LINKAGE_SEARCH_URL": "http://127.0.0.1:9201",
                                  "LINKAGE_INDEX": "linkage-listings", "LINKAGE_ADMIN_TOKEN": "s3cret"})
    assert (settings.backend, settings.search_url, settings.index, settings.admin_token) == (
        "opensearch", "http://127.0.0.1:9201", "linkage-listings", "s3cret")
    assert settings.search_ca_certs is None and settings.sources_dir is None


def test_a_mapping_takes_typed_values_or_text_converted_the_same_way():
    typed = Settings.from_mapping({"proxy_hops": 1, "max_failed_ratio": 0.2, "max_index_age_hours": 1})
    text = Settings.from_mapping({"proxy_hops": "1", "max_failed_ratio": "0.2", "max_index_age_hours": "1"})
    assert typed == text
    assert (text.proxy_hops, text.max_failed_ratio, text.max_index_age_hours) == (1, 0.2, 1.0)
    assert type(typed.max_index_age_hours) is float


def test_a_command_lines_text_is_converted_when_it_replaces_a_setting():
    # `linkage import --max-failed 0.1` replaces the setting with the argument's text.
    assert replace(Settings(), max_failed_ratio="0.1").max_failed_ratio == 0.1


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("LINKAGE_PROXY_HOPS", "x", "LINKAGE_PROXY_HOPS must be a whole number, got 'x'"),
    ("LINKAGE_PROXY_HOPS", "-1", "LINKAGE_PROXY_HOPS must be a whole number, got '-1'"),
    ("LINKAGE_INDEX_REPLICAS", "1.5", "LINKAGE_INDEX_REPLICAS must be a whole number, got '1.5'"),
    ("LINKAGE_STALE_AFTER_DAYS", "six months", "LINKAGE_STALE_AFTER_DAYS must be a whole number, got 'six months'"),
    ("LINKAGE_MAX_FAILED_RATIO", "1%", "LINKAGE_MAX_FAILED_RATIO must be a number, 0 or more, got '1%'"),
    ("LINKAGE_MAX_FAILED_RATIO", "-0.1", "LINKAGE_MAX_FAILED_RATIO must be a number, 0 or more, got '-0.1'"),
    ("LINKAGE_MAX_INDEX_AGE_HOURS", "nan", "LINKAGE_MAX_INDEX_AGE_HOURS must be a number, 0 or more, got 'nan'"),
    ("LINKAGE_MAX_INDEX_AGE_HOURS", "2 days", "LINKAGE_MAX_INDEX_AGE_HOURS must be a number, 0 or more, got '2 days'"),
])
def test_a_bad_value_in_the_environment_is_refused_by_name(variable, value, message):
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({variable: value})
    assert str(refused.value) == message


@pytest.mark.parametrize(("values", "message"), [
    ({"proxy_hops": True}, "LINKAGE_PROXY_HOPS must be a whole number, got True"),
    ({"index_replicas": 1.0}, "LINKAGE_INDEX_REPLICAS must be a whole number, got 1.0"),
    ({"max_failed_ratio": None}, "LINKAGE_MAX_FAILED_RATIO must be set"),
    ({"backend": 3}, "LINKAGE_BACKEND must be text, got 3"),
])
def test_a_bad_value_in_a_mapping_is_refused_by_name(values, message):
    with pytest.raises(SettingsError) as refused:
        Settings.from_mapping(values)
    assert str(refused.value) == message


def test_unknown_names_in_a_mapping_are_refused():
    with pytest.raises(ValueError) as refused:
        Settings.from_mapping({"proxy_hop": 1, "backnd": "sqlite"})
    assert str(refused.value) == "unknown settings: backnd, proxy_hop"


def test_a_bad_value_stops_the_app_before_it_serves():
    from service import create_app

    with pytest.raises(SettingsError) as refused:
        create_app({"proxy_hops": "one"}, backend=object(), geocoder=object())
    assert str(refused.value) == "LINKAGE_PROXY_HOPS must be a whole number, got 'one'"
