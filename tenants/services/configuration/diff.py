"""Differences between two configuration documents (or two rollout-template documents).

``diff_documents(old, new)`` compares the trees with their lists keyed, so that moving an entry or
inserting one does not turn into a change of every following entry:

- ``betriebsstaetten`` by ``reference`` (else ``id``), ``outlets`` by ``number`` (else ``id``),
  ``signing_units`` by ``reference`` (else ``id``), ``clients`` by ``client_id``; a list whose
  entries cannot all be keyed uniquely is compared by position; ``variables`` (a mapping) by name;
- an entry whose key changed but whose ``id`` stayed (a reference given to it) is the same object;
- an object that was added or removed is one entry (``old``/``new`` = the whole object), a changed
  value one entry per field; the ``operator`` key (id and name of the operator) is ignored.

Entries: ``{"op": "added"|"removed"|"changed", "path": "outlets[1].signing_units[tse-1].description",
"object": "signing_unit", "field": "description" | None, "old": …, "new": …}``, in the order of ``new``
(entries only in ``old`` after those of the same level).
"""

from django.utils.translation import gettext, ngettext

__all__ = ["diff_documents", "summarize"]

_IGNORED = frozenset({"operator"})
# list name -> (object kind of its entries, key fields in order of preference)
_KEYED_LISTS = {
    "betriebsstaetten": ("betriebsstaette", ("reference", "id")),
    "outlets": ("outlet", ("number", "id")),
    "signing_units": ("signing_unit", ("reference", "id")),
    "clients": ("client", ("client_id",)),
}
# mapping key -> object kind of the value (a nested object of its own)
_OBJECT_KEYS = {
    "cash_register": "cash_register",
    "entitlement": "entitlement",
    "connection": "connection",
    "pos_system_version": "cash_register",
}
_MISSING = object()


def _entry_key(item, fields):
    if not isinstance(item, dict):
        return None
    for name in fields:
        value = item.get(name)
        if value not in (None, ""):
            return str(value)
    return None


def _keyed(items: list, fields) -> dict | None:
    """``{key: item}`` in list order, or None when some entry has no key or a duplicate one."""
    keyed = {}
    for item in items:
        key = _entry_key(item, fields)
        if key is None or key in keyed:
            return None
        keyed[key] = item
    return keyed


class _Differ:
    def __init__(self):
        self.changes: list[dict] = []

    def emit(self, op, path, kind, field, old, new):
        self.changes.append({"op": op, "path": path, "object": kind, "field": field,
                             "old": None if old is _MISSING else old, "new": None if new is _MISSING else new})

    def value(self, path: str, kind: str, field: str, old, new):
        """Compare the values at ``path`` (under the mapping key ``field``)."""
        if old == new:
            return
        if isinstance(old, dict) and isinstance(new, dict):
            self.mapping(path, _OBJECT_KEYS.get(field, kind), old, new)
        elif isinstance(old, list) and isinstance(new, list):
            self.sequence(path, field, kind, old, new)
        elif isinstance(new, list) and old in (_MISSING, None):
            self.sequence(path, field, kind, [], new)
        elif isinstance(old, list) and new in (_MISSING, None):
            self.sequence(path, field, kind, old, [])
        elif isinstance(new, dict) and old in (_MISSING, None):
            self.emit("added", path, _OBJECT_KEYS.get(field, kind), None, None, new)
        elif isinstance(old, dict) and new in (_MISSING, None):
            self.emit("removed", path, _OBJECT_KEYS.get(field, kind), None, old, None)
        else:
            self.emit("changed", path, kind, field, old, new)

    def mapping(self, path: str, kind: str, old: dict, new: dict, *, ignored=frozenset()):
        for name, new_value in new.items():
            if name not in ignored:
                self.value(self.join(path, name), kind, name, old.get(name, _MISSING), new_value)
        for name, old_value in old.items():
            if name not in ignored and name not in new:
                self.value(self.join(path, name), kind, name, old_value, _MISSING)

    def variables(self, path: str, old: dict, new: dict):
        for name, definition in new.items():
            item_path = self.join(path, name)
            if name not in old:
                self.emit("added", item_path, "variable", None, None, definition)
            elif isinstance(definition, dict) and isinstance(old[name], dict):
                self.mapping(item_path, "variable", old[name], definition)
            elif old[name] != definition:
                self.emit("changed", item_path, "variable", name, old[name], definition)
        for name, definition in old.items():
            if name not in new:
                self.emit("removed", self.join(path, name), "variable", None, definition, None)

    def sequence(self, path: str, name: str, parent_kind: str, old: list, new: list):
        kind, fields = _KEYED_LISTS.get(name, (parent_kind, ()))
        old_keyed = _keyed(old, fields) if fields else None
        new_keyed = _keyed(new, fields) if fields else None
        if old_keyed is None or new_keyed is None:
            old_keyed = {str(i): item for i, item in enumerate(old)}
            new_keyed = {str(i): item for i, item in enumerate(new)}
        # an entry whose key changed (a reference set on it) is still the same object when its id is
        old_by_id = {item["id"]: key for key, item in old_keyed.items()
                     if isinstance(item, dict) and item.get("id") and key not in new_keyed}
        paired = set()
        for key, item in new_keyed.items():
            old_key = key
            if key not in old_keyed and isinstance(item, dict) and item.get("id") in old_by_id:
                old_key = old_by_id[item["id"]]
                paired.add(old_key)
            self.item(f"{path}[{key}]", kind, name, old_keyed.get(old_key, _MISSING), item)
        for key, item in old_keyed.items():
            if key not in new_keyed and key not in paired:
                self.item(f"{path}[{key}]", kind, name, item, _MISSING)

    def item(self, path: str, kind: str, name: str, old, new):
        if old == new:
            return
        if old is _MISSING:
            self.emit("added", path, kind, None, None, new)
        elif new is _MISSING:
            self.emit("removed", path, kind, None, old, None)
        elif isinstance(old, dict) and isinstance(new, dict):
            self.mapping(path, kind, old, new)
        else:
            self.emit("changed", path, kind, name, old, new)

    @staticmethod
    def join(path: str, name: str) -> str:
        return f"{path}.{name}" if path else name


def diff_documents(old: dict | None, new: dict) -> list[dict]:
    """The changes from ``old`` (None: nothing before) to ``new``; see the module docstring."""
    differ = _Differ()
    if old is None:
        old = {key: value for key, value in new.items() if not isinstance(value, dict | list)}
    new_variables, old_variables = new.get("variables"), old.get("variables")
    ignored = set(_IGNORED)
    if isinstance(new_variables, dict) or isinstance(old_variables, dict):
        ignored.add("variables")
    for name, new_value in new.items():
        if name in ignored:
            if name == "variables":
                differ.variables("variables", old_variables if isinstance(old_variables, dict) else {},
                                 new_value if isinstance(new_value, dict) else {})
            continue
        differ.value(name, "document", name, old.get(name, _MISSING), new_value)
    for name, old_value in old.items():
        if name in new:
            continue
        if name == "variables" and "variables" in ignored:
            differ.variables("variables", old_value if isinstance(old_value, dict) else {}, {})
        elif name not in ignored:
            differ.value(name, "document", name, old_value, _MISSING)
    return differ.changes


def summarize(changes: list[dict]) -> str:
    """A short human summary of ``changes``, e.g. "2 added, 1 changed"."""
    counts = {"added": 0, "changed": 0, "removed": 0}
    for change in changes:
        counts[change["op"]] = counts.get(change["op"], 0) + 1
    parts = []
    if counts["added"]:
        parts.append(ngettext("%(count)d added", "%(count)d added", counts["added"]) % {"count": counts["added"]})
    if counts["changed"]:
        parts.append(ngettext("%(count)d changed", "%(count)d changed", counts["changed"])
                     % {"count": counts["changed"]})
    if counts["removed"]:
        parts.append(ngettext("%(count)d removed", "%(count)d removed", counts["removed"])
                     % {"count": counts["removed"]})
    return ", ".join(parts) if parts else gettext("no changes")
