"""The typed environment helpers of portal/env.py."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.env import env_bool, env_choice, env_int, env_list, env_secret, env_str

NAME = "KP_TEST_SETTING"


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    for name in (NAME, f"{NAME}_FILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), ("false", False), ("TRUE", True), ("False", False), (" true ", True)]
)
def test_it_reads_true_and_false(monkeypatch, raw, expected):
    monkeypatch.setenv(NAME, raw)
    assert env_bool(NAME, not expected) is expected


@pytest.mark.parametrize("raw", ["1", "0", "yes", "no", "on", "off", "y", "truee", "t"])
def test_it_refuses_anything_else_as_a_boolean(monkeypatch, raw):
    monkeypatch.setenv(NAME, raw)
    with pytest.raises(ImproperlyConfigured, match=rf"{NAME} must be 'true' or 'false'"):
        env_bool(NAME, False)


@pytest.mark.parametrize("default", [True, False])
def test_it_uses_the_default_for_a_missing_or_empty_boolean(monkeypatch, default):
    assert env_bool(NAME, default) is default
    monkeypatch.setenv(NAME, "")
    assert env_bool(NAME, default) is default


def test_it_reads_a_secret_from_the_file_named_by_name_file(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cr3t-from-file\n", encoding="utf-8")
    monkeypatch.setenv(f"{NAME}_FILE", str(secret))
    monkeypatch.setenv(NAME, "from-variable")
    assert env_secret(NAME, "default") == "s3cr3t-from-file"  # the file wins, trailing newline stripped


def test_it_reads_a_secret_from_the_variable_without_a_file(monkeypatch):
    assert env_secret(NAME, "default") == "default"
    monkeypatch.setenv(NAME, "from-variable")
    assert env_secret(NAME, "default") == "from-variable"


def test_it_refuses_an_unreadable_secret_file(monkeypatch, tmp_path):
    monkeypatch.setenv(f"{NAME}_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match=rf"{NAME}_FILE points at"):
        env_secret(NAME)


def test_it_reads_integers_and_refuses_non_integers(monkeypatch):
    assert env_int(NAME, 7) == 7
    monkeypatch.setenv(NAME, "42")
    assert env_int(NAME, 7) == 42
    monkeypatch.setenv(NAME, "4x2")
    with pytest.raises(ImproperlyConfigured, match=f"{NAME} must be an integer"):
        env_int(NAME, 7)


def test_it_splits_lists_on_commas(monkeypatch):
    assert env_list(NAME, ["a"]) == ["a"]
    monkeypatch.setenv(NAME, " a.example , b.example,, ")
    assert env_list(NAME) == ["a.example", "b.example"]
    monkeypatch.setenv(NAME, "  ")
    assert env_list(NAME) == []


def test_it_accepts_only_listed_choices(monkeypatch):
    assert env_choice(NAME, ("sandbox", "live"), "sandbox") == "sandbox"
    monkeypatch.setenv(NAME, "live")
    assert env_choice(NAME, ("sandbox", "live"), "sandbox") == "live"
    monkeypatch.setenv(NAME, "Live")
    with pytest.raises(ImproperlyConfigured, match=f"{NAME} must be one of sandbox, live"):
        env_choice(NAME, ("sandbox", "live"), "sandbox")


def test_it_reads_plain_strings(monkeypatch):
    assert env_str(NAME, "x") == "x"
    monkeypatch.setenv(NAME, "y")
    assert env_str(NAME, "x") == "y"
