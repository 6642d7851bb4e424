"""``diff.diff_documents`` and ``summarize``: keyed lists, one entry per added/removed object, templates."""

import copy

from django.utils import translation

from tenants.services.configuration.diff import diff_documents, summarize
from tenants.services.configuration.schema import CONFIGURATION_FORMAT
from tests.configuration_fixtures import template_document

VERSION = "7f7a3d4e-7a43-4c6a-9a52-0a9f2a3c9e01"


def _unit(reference, *clients, description="TSE"):
    return {"id": f"00000000-0000-4000-8000-{len(reference):012d}", "reference": reference, "backend": "software",
            "description": description, "mode": "test", "curve": "P-256", "max_clients": 199, "connection": None,
            "initialize": True, "entitlement": None, "state": "initialized", "serial_number": "ab",
            "clients": [{"client_id": client, "state": "registered",
                         "cash_register": {"id": "c", "pos_system_version": VERSION, "pos_system": "K",
                                           "outlet": 1, "base_currency": "EUR", "no_vat_assignment": False,
                                           "decommissioned_at": None}} for client in clients]}


def _document(**overrides):
    document = {
        "format": CONFIGURATION_FORMAT,
        "operator": {"id": "op", "name": "Operator"},
        "betriebsstaetten": [{"id": "b1", "reference": "main", "name": "Hauptsitz", "city": "Berlin"},
                             {"id": "b2", "reference": None, "name": "Lager", "city": "Potsdam"}],
        "outlets": [{"id": "o1", "number": 1, "name": "Mitte", "betriebsstaette": "main",
                     "signing_units": [_unit("tse-1", "KASSE-01", "KASSE-02")]},
                    {"id": "o2", "number": 2, "name": "Nord", "betriebsstaette": "main", "signing_units": []}],
        "signing_units": [],
    }
    document.update(overrides)
    return document


def test_equal_documents_have_no_changes():
    assert diff_documents(_document(), _document()) == []


def test_operator_key_is_ignored():
    assert diff_documents(_document(), _document(operator={"id": "other", "name": "Other"})) == []


def test_first_version_lists_each_object_once():
    new = _document()
    changes = diff_documents(None, new)
    assert [(c["op"], c["path"], c["object"], c["field"]) for c in changes] == [
        ("added", "betriebsstaetten[main]", "betriebsstaette", None),
        ("added", "betriebsstaetten[b2]", "betriebsstaette", None),
        ("added", "outlets[1]", "outlet", None),
        ("added", "outlets[2]", "outlet", None),
    ]
    assert changes[2]["new"] == new["outlets"][0] and changes[2]["old"] is None


def test_changed_scalars_per_field_with_keyed_paths():
    old, new = _document(), _document()
    new["outlets"][0]["signing_units"][0]["clients"][1]["cash_register"]["base_currency"] = "CHF"
    new["outlets"][0]["signing_units"][0]["description"] = "Theke"
    new["betriebsstaetten"][1]["city"] = "Cottbus"
    changes = diff_documents(old, new)
    assert changes == [
        {"op": "changed", "path": "betriebsstaetten[b2].city", "object": "betriebsstaette", "field": "city",
         "old": "Potsdam", "new": "Cottbus"},
        {"op": "changed", "path": "outlets[1].signing_units[tse-1].description", "object": "signing_unit",
         "field": "description", "old": "TSE", "new": "Theke"},
        {"op": "changed", "path": "outlets[1].signing_units[tse-1].clients[KASSE-02].cash_register.base_currency",
         "object": "cash_register", "field": "base_currency", "old": "EUR", "new": "CHF"},
    ]


def test_inserting_an_entry_is_one_addition_not_a_shift():
    old, new = _document(), _document()
    client = copy.deepcopy(new["outlets"][0]["signing_units"][0]["clients"][0])
    client["client_id"] = "KASSE-00"
    new["outlets"][0]["signing_units"][0]["clients"].insert(0, client)
    new["outlets"].insert(0, {"id": "o0", "number": 7, "name": "Süd", "signing_units": []})
    changes = diff_documents(old, new)
    assert [(c["op"], c["path"], c["object"]) for c in changes] == [
        ("added", "outlets[7]", "outlet"),
        ("added", "outlets[1].signing_units[tse-1].clients[KASSE-00]", "client"),
    ]
    assert changes[1]["new"] == client


def test_removed_objects_come_after_the_others_of_their_level():
    old, new = _document(), _document()
    del new["outlets"][0]["signing_units"][0]["clients"][0]
    del new["betriebsstaetten"][0]
    new["outlets"][1]["name"] = "Nordost"
    changes = diff_documents(old, new)
    assert [(c["op"], c["path"]) for c in changes] == [
        ("removed", "betriebsstaetten[main]"),
        ("removed", "outlets[1].signing_units[tse-1].clients[KASSE-01]"),
        ("changed", "outlets[2].name"),
    ]
    assert changes[0]["old"]["name"] == "Hauptsitz" and changes[0]["new"] is None


def test_nested_objects_added_and_removed_as_a_whole():
    old, new = _document(), _document()
    new["outlets"][0]["signing_units"][0]["entitlement"] = {"product": "TSE-SUB"}
    new["outlets"][0]["signing_units"][0]["clients"][0]["cash_register"] = None
    changes = diff_documents(old, new)
    assert [(c["op"], c["path"], c["object"], c["field"]) for c in changes] == [
        ("added", "outlets[1].signing_units[tse-1].entitlement", "entitlement", None),
        ("removed", "outlets[1].signing_units[tse-1].clients[KASSE-01].cash_register", "cash_register", None),
    ]
    assert changes[0]["new"] == {"product": "TSE-SUB"}


def test_units_without_reference_keyed_by_id_and_top_level_units():
    unit = _unit("x")
    unit["reference"] = None
    unit["id"] = "11111111-1111-4111-8111-111111111111"
    old, new = _document(), _document(signing_units=[unit])
    changes = diff_documents(old, new)
    assert [(c["op"], c["path"], c["object"]) for c in changes] == [
        ("added", "signing_units[11111111-1111-4111-8111-111111111111]", "signing_unit")]


def test_lists_without_unique_keys_are_compared_by_position():
    old = _document(betriebsstaetten=[{"name": "A"}, {"name": "B"}])
    new = _document(betriebsstaetten=[{"name": "A"}, {"name": "C"}, {"name": "D"}])
    changes = diff_documents(old, new)
    assert [(c["op"], c["path"], c["field"]) for c in changes] == [
        ("changed", "betriebsstaetten[1].name", "name"),
        ("added", "betriebsstaetten[2]", None),
    ]


def test_template_documents_with_variables():
    old = template_document(VERSION)
    new = template_document(VERSION, registers="{{ count }}", entitlement=True)
    new["variables"]["registers"]["default"] = 3
    new["variables"]["count"] = {"type": "integer", "default": 1}
    del new["variables"]["city"]
    new["outlets"][0]["name"] = "Laden {{ store }}"
    changes = diff_documents(old, new)
    assert [(c["op"], c["path"], c["object"], c["field"]) for c in changes] == [
        ("changed", "variables.registers.default", "variable", "default"),
        ("added", "variables.count", "variable", None),
        ("removed", "variables.city", "variable", None),
        ("changed", "outlets[1].name", "outlet", "name"),
        ("changed", "outlets[1].signing_units[tse-1].clients[K{{ store }}-{n:02}].count", "client", "count"),
        ("added", "outlets[1].signing_units[tse-1].entitlement", "entitlement", None),
    ]
    assert changes[0]["old"] == 2 and changes[0]["new"] == 3
    assert changes[4]["old"] == "{{ registers }}" and changes[4]["new"] == "{{ count }}"
    first = diff_documents(None, old)
    assert [(c["op"], c["path"]) for c in first] == [
        ("added", "variables.store"), ("added", "variables.registers"), ("added", "variables.city"),
        ("added", "betriebsstaetten[main]"), ("added", "outlets[1]")]


def test_diff_is_deterministic():
    old, new = _document(), _document(outlets=[])
    assert diff_documents(old, new) == diff_documents(copy.deepcopy(old), copy.deepcopy(new))


def test_summarize(in_english):
    changes = diff_documents(_document(), _document(outlets=[
        {"id": "o9", "number": 9, "name": "Neu", "signing_units": []},
        {"id": "o1", "number": 1, "name": "Mitte 2", "betriebsstaette": "main",
         "signing_units": [_unit("tse-1", "KASSE-01", "KASSE-02")]}]))
    assert summarize(changes) == "1 added, 1 changed, 1 removed"
    assert summarize([]) == "no changes"


def test_summarize_is_translatable():
    with translation.override("de"):
        assert isinstance(summarize([]), str)


def test_an_entry_given_a_reference_is_the_same_object():
    old = _document()
    new = _document()
    new["betriebsstaetten"][1]["reference"] = "lager"
    new["outlets"][1]["betriebsstaette"] = "lager"
    assert [(c["op"], c["path"], c["old"], c["new"]) for c in diff_documents(old, new)] == [
        ("changed", "betriebsstaetten[lager].reference", None, "lager"),
        ("changed", "outlets[2].betriebsstaette", "main", "lager"),
    ]
