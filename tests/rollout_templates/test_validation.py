"""validate_template: schema errors at their paths and the semantic checks."""

import uuid

import pytest

from tenants.services.rollout.templates import validate_template
from tests.configuration_fixtures import template_document

VERSION = uuid.UUID("6f1c2a8e-3b7d-4c55-9a0e-2d4b8f1e7c90")


@pytest.fixture
def doc():
    return template_document(VERSION)


def unit(document):
    return document["outlets"][0]["signing_units"][0]


def findings(document):
    return [(error["path"], error["code"]) for error in validate_template(document)]


def test_the_shared_template_is_valid(doc):
    assert validate_template(doc) == []


def test_a_template_whose_defaults_yield_an_invalid_configuration_is_accepted(doc):
    doc["variables"]["plz"] = {"type": "string", "default": "123"}
    doc["outlets"][0]["postal_code"] = "{{ plz }}"
    assert validate_template(doc) == []


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: d["outlets"][0].pop("number"), ("/outlets/0/number", "E_REQUIRED")),
    (lambda d: d["outlets"][0].update(id=str(uuid.uuid4())), ("/outlets/0/id", "E_UNKNOWN_FIELD")),
    (lambda d: d.update(format="kassenportal.configuration/1"), ("/format", "E_CHOICE")),
    (lambda d: unit(d).update(clients="K1"), ("/outlets/0/signing_units/0/clients", "E_TYPE")),
    (lambda d: unit(d).pop("reference"), ("/outlets/0/signing_units/0/reference", "E_REQUIRED")),
    (lambda d: d["outlets"][0].update(number="eins"), ("/outlets/0/number", "E_TYPE")),
    (lambda d: d["variables"].update(x={"type": "float"}), ("/variables/x/type", "E_CHOICE")),
    (lambda d: d["variables"].update(Gross={"type": "string"}), ("/variables", "E_FORMAT")),
    # a literal breaks the rule of its field at once; only strings holding a variable wait for rendering
    (lambda d: unit(d).update(backend="usb"), ("/outlets/0/signing_units/0/backend", "E_CHOICE")),
    (lambda d: d["outlets"][0].update(postal_code="1011"), ("/outlets/0/postal_code", "E_FORMAT")),
    (lambda d: unit(d).update(clients=[{"client_id": "K_1"}]),
     ("/outlets/0/signing_units/0/clients/0/client_id", "E_FORMAT")),
])
def test_schema_errors_point_at_paths(doc, change, expected):
    change(doc)
    assert expected in findings(doc)


def test_enums_of_strings_are_checked_when_rendering(doc):
    unit(doc)["backend"] = "{{ backend }}"
    doc["variables"]["backend"] = {"type": "string", "default": "usb"}
    assert validate_template(doc) == []


def test_undeclared_variables_are_reported_at_the_string(doc):
    unit(doc)["description"] = "TSE {{ filiale }}"
    doc["betriebsstaetten"][0]["remarks"] = "{{ operator_reference }}"  # built in: fine
    assert findings(doc) == [("/outlets/0/signing_units/0/description", "E_VARIABLE_UNDECLARED")]


def test_built_in_names_cannot_be_declared(doc):
    doc["variables"]["operator_name"] = {"type": "string"}
    assert findings(doc) == [("/variables/operator_name", "E_VARIABLE_RESERVED")]


@pytest.mark.parametrize(("kind", "default"), [("integer", "zwei"), ("integer", True), ("boolean", "vielleicht"),
                                               ("string", 5)])
def test_defaults_of_the_wrong_type(doc, kind, default):
    doc["variables"]["x"] = {"type": kind, "default": default}
    assert findings(doc) == [("/variables/x/default", "E_VARIABLE_TYPE")]


def test_duplicate_outlet_numbers_references_and_client_ids(doc):
    second = {**doc["outlets"][0], "signing_units": []}
    doc["outlets"].append(second)
    doc["betriebsstaetten"].append(dict(doc["betriebsstaetten"][0]))
    doc["signing_units"] = [{"reference": "tse-1", "backend": "software"}]
    unit(doc)["clients"].append({"client_id": "K{{ store }}-{n:02}", "count": 1})
    assert sorted(findings(doc)) == sorted([
        ("/betriebsstaetten/1/reference", "E_DUPLICATE"),
        ("/outlets/1/number", "E_DUPLICATE"),
        ("/signing_units/0/reference", "E_DUPLICATE"),
        ("/outlets/0/signing_units/0/clients/1/client_id", "E_DUPLICATE"),
    ])


def test_count_needs_a_serial_number_and_the_other_way_round(doc):
    unit(doc)["clients"][0]["client_id"] = "KASSE"
    unit(doc)["clients"].append({"client_id": "EXTRA-{n}"})
    assert findings(doc) == [("/outlets/0/signing_units/0/clients/0/client_id", "E_COUNT_PATTERN"),
                             ("/outlets/0/signing_units/0/clients/1/count", "E_COUNT_REQUIRED")]


def test_an_outlet_naming_an_unknown_betriebsstaette(doc):
    doc["outlets"][0]["betriebsstaette"] = "filiale-nord"
    assert findings(doc) == [("/outlets/0/betriebsstaette", "E_UNKNOWN_REFERENCE")]


def test_a_non_object_is_a_schema_error():
    assert findings([1, 2]) == [("", "E_TYPE")]
