"""Rendering templates: substitution, typed values, defaults, errors by path, count expansion, system variables."""

import uuid

import pytest

from tenants.services.configuration.errors import ConfigurationError
from tenants.services.configuration.schema import CONFIGURATION_FORMAT, TEMPLATE_FORMAT
from tenants.services.rollout.variables import render_template, system_variables
from tests.configuration_fixtures import make_operators, template_document

VERSION = uuid.UUID("6f1c2a8e-3b7d-4c55-9a0e-2d4b8f1e7c90")
SYSTEM = {"operator_id": "00000000-0000-0000-0000-000000000001", "operator_name": "Café Kranz GmbH",
          "operator_reference": "OP-7", "operator_street": "Ringstraße 4", "operator_postal_code": "20095",
          "operator_city": "Hamburg"}


def render(document=None, **values):
    return render_template(document or template_document(VERSION), values, SYSTEM)


def failure(document=None, **values) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as info:
        render(document, **values)
    return info.value


def clients_of(rendered):
    return rendered["outlets"][0]["signing_units"][0]["clients"]


def test_strings_are_substituted_and_the_result_is_a_configuration():
    rendered = render(store="B12")
    assert rendered["format"] == CONFIGURATION_FORMAT
    assert "variables" not in rendered
    outlet = rendered["outlets"][0]
    assert outlet["name"] == "Filiale B12"
    assert outlet["city"] == "Berlin"  # the default
    assert outlet["signing_units"][0]["description"] == "TSE B12"
    assert rendered["betriebsstaetten"][0]["name"] == "Café Kranz GmbH"  # system variable


def test_a_string_that_is_one_variable_takes_its_typed_value():
    document = template_document(VERSION)
    document["variables"]["shop"] = {"type": "integer", "default": 4}
    document["variables"]["init"] = {"type": "boolean", "default": True}
    document["outlets"][0]["number"] = "{{ shop }}"
    document["outlets"][0]["signing_units"][0]["initialize"] = "{{init}}"
    rendered = render(document, store="B1", init="nein")
    assert rendered["outlets"][0]["number"] == 4
    assert rendered["outlets"][0]["signing_units"][0]["initialize"] is False
    assert len(clients_of(rendered)) == 2  # "count": "{{ registers }}" → the integer default 2


def test_variables_inside_longer_strings_are_text():
    document = template_document(VERSION)
    document["outlets"][0]["name"] = "Filiale {{ store }} ({{ registers }} Kassen)"
    assert render(document, store="X", registers=3)["outlets"][0]["name"] == "Filiale X (3 Kassen)"


@pytest.mark.parametrize(("kind", "raw", "value"), [
    ("integer", "3", 3), ("integer", " 12 ", 12), ("boolean", "true", True), ("boolean", "false", False),
    ("boolean", "ja", True), ("boolean", "Nein", False), ("boolean", "1", True), ("boolean", "0", False),
])
def test_values_from_csv_are_coerced(kind, raw, value):
    document = template_document(VERSION)
    document["variables"]["x"] = {"type": kind}
    document["outlets"][0]["signing_units"][0]["max_clients" if kind == "integer" else "initialize"] = "{{ x }}"
    unit = render(document, store="A", x=raw)["outlets"][0]["signing_units"][0]
    assert unit["max_clients" if kind == "integer" else "initialize"] == value


def test_all_missing_variables_are_listed():
    document = template_document(VERSION)
    document["variables"]["region"] = {"type": "string"}
    document["outlets"][0]["name"] = "{{ store }} {{ region }}"
    error = failure(document)
    assert error.code == "E_VARIABLE_MISSING"
    assert error.status == 400
    assert sorted(e["path"] for e in error.errors) == ["/variables/region", "/variables/store"]
    assert {e["code"] for e in error.errors} == {"E_VARIABLE_MISSING"}


def test_values_for_undeclared_names_are_refused():
    error = failure(store="A", colour="blau")
    assert error.code == "E_VARIABLE_UNKNOWN"
    assert error.errors[0]["path"] == "/variables/colour"


def test_empty_values_mean_not_given():
    rendered = render(store="A", registers="", city="")
    assert len(clients_of(rendered)) == 2 and rendered["outlets"][0]["city"] == "Berlin"
    document = template_document(VERSION)
    del document["variables"]["registers"]["default"]
    error = failure(document, store="A", registers="")
    assert (error.code, error.errors[0]["path"]) == ("E_VARIABLE_MISSING", "/variables/registers")


def test_system_variables_cannot_be_overridden():
    error = failure(store="A", operator_name="Anders")
    assert error.code == "E_VARIABLE_UNKNOWN"
    assert [e["path"] for e in error.errors] == ["/variables/operator_name"]


@pytest.mark.parametrize(("values", "path"), [
    ({"store": "A", "registers": "drei"}, "/variables/registers"),
    ({"store": "A", "registers": True}, "/variables/registers"),
    ({"store": 12}, "/variables/store"),
])
def test_wrong_types_are_refused(values, path):
    error = failure(**values)
    assert error.code == "E_VARIABLE_TYPE"
    assert [e["path"] for e in error.errors] == [path]


def test_a_boolean_accepts_only_yes_and_no_words():
    document = template_document(VERSION)
    document["variables"]["init"] = {"type": "boolean"}
    document["outlets"][0]["signing_units"][0]["initialize"] = "{{ init }}"
    assert failure(document, store="A", init="vielleicht").code == "E_VARIABLE_TYPE"


@pytest.mark.parametrize("store", ["b1", "AB-1", "ABCDEFGHI", ""])
def test_the_pattern_must_match_the_whole_value(store):
    error = failure(store=store)
    assert error.code in ("E_VARIABLE_TYPE", "E_VARIABLE_MISSING")
    assert error.errors[0]["path"] == "/variables/store"


def test_count_expands_clients_with_zero_padding():
    rendered = render(store="B1", registers="3")
    ids = [client["client_id"] for client in clients_of(rendered)]
    assert ids == ["KB1-01", "KB1-02", "KB1-03"]
    assert all("count" not in client for client in clients_of(rendered))
    assert all(client["cash_register"]["pos_system_version"] == str(VERSION) for client in clients_of(rendered))


@pytest.mark.parametrize(("pattern", "ids"), [
    ("K-{n}", ["K-1", "K-2"]), ("K-{n:03}", ["K-001", "K-002"]), ("K-{n:2}", ["K-01", "K-02"]),
])
def test_serial_patterns(pattern, ids):
    document = template_document(VERSION)
    clients_of_document = document["outlets"][0]["signing_units"][0]["clients"]
    clients_of_document[0]["client_id"] = pattern
    assert [c["client_id"] for c in clients_of(render(document, store="A"))] == ids


def test_expanded_clients_are_validated_at_their_rendered_paths():
    document = template_document(VERSION)
    clients = document["outlets"][0]["signing_units"][0]["clients"]
    clients.insert(0, {"client_id": "FIX-1"})
    clients[1]["cash_register"]["base_currency"] = "{{ currency }}"
    document["variables"]["currency"] = {"type": "string", "default": "euro"}
    error = failure(document, store="A")
    assert error.code == "E_VALIDATION"
    assert [e["path"] for e in error.errors] == [
        "/outlets/0/signing_units/0/clients/1/cash_register/base_currency",
        "/outlets/0/signing_units/0/clients/2/cash_register/base_currency",
    ]


def test_invalid_rendered_values_are_reported_with_paths():
    document = template_document(VERSION)
    document["variables"]["plz"] = {"type": "string"}
    document["outlets"][0]["postal_code"] = "{{ plz }}"
    error = failure(document, store="A", plz="1011")
    assert error.code == "E_VALIDATION"
    assert [(e["path"], e["code"]) for e in error.errors] == [("/outlets/0/postal_code", "E_FORMAT")]


def test_count_without_serial_number_cannot_be_rendered():
    document = template_document(VERSION)
    document["outlets"][0]["signing_units"][0]["clients"][0]["client_id"] = "KASSE"
    error = failure(document, store="A")
    assert error.code == "E_COUNT_PATTERN"
    assert error.errors[0]["path"] == "/outlets/0/signing_units/0/clients/0/client_id"


def test_undeclared_variables_are_refused_when_rendering():
    document = template_document(VERSION)
    document["outlets"][0]["name"] = "{{ shop_name }}"
    error = failure(document, store="A")
    assert error.code == "E_VARIABLE_UNDECLARED"
    assert error.errors[0]["path"] == "/outlets/0/name"


def test_a_template_without_variables_renders():
    document = {"format": TEMPLATE_FORMAT, "outlets": [{"number": 1, "name": "{{ operator_city }}"}]}
    assert render(document) == {"format": CONFIGURATION_FORMAT, "outlets": [{"number": 1, "name": "Hamburg"}]}


def test_system_variables_with_the_dealers_reference(actors):
    dealer = actors.partner.organization
    operator = make_operators(1, dealer, prefix="KD")[0]
    values = system_variables(operator, dealer=dealer)
    assert values == {"operator_id": str(operator.public_id), "operator_name": operator.name,
                      "operator_reference": "KD-1", "operator_street": operator.street,
                      "operator_postal_code": "10115", "operator_city": "Berlin"}
    assert system_variables(operator)["operator_reference"] == ""
    assert system_variables(operator, dealer=actors.stranger.organization)["operator_reference"] == ""
    owner = actors.owner.organization
    assert system_variables(owner, dealer=dealer)["operator_reference"] == ""  # a grant without a link
    assert system_variables(owner)["operator_name"] == "Owner Betriebs GmbH"
