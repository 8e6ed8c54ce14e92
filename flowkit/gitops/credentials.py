"""Credentials by name: a folder names a credential, a server knows it by id.

Flowise keeps a node's credential as an id (``data.credential``, or
``FLOWISE_CREDENTIAL_ID`` inside an agent flow node's model config) and stores whatever id
it is sent, unchecked: an id copied from another server silently points at nothing. So a
pulled file never holds an id: every credential is written as the string
``"credential:<name>"`` (:data:`PREFIX` then the credential's name as the server lists it),
and ``apply`` puts back the id the *target* knows by that name. No secret is ever read:
Flowise's credential listing gives names and ids only.

A local workspace (in memory or a SQLite file) has no credential store: its
:class:`Credentials` is :meth:`Credentials.by_name`, which keeps a node's credential as the
name itself, so a folder moves between a file and a server unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = [
    "CREDENTIAL_KEYS",
    "PREFIX",
    "Credentials",
    "credentials_from",
    "credentials_of",
    "named",
    "resolved",
]

PREFIX = "credential:"
"""How a file names a credential: ``"credential:mock-openai"``."""

CREDENTIAL_KEYS = frozenset({"credential", "FLOWISE_CREDENTIAL_ID"})
"""The keys, at any depth of a node's ``data`` or an assistant, that hold a credential."""


class Credentials:
    """The credentials of one workspace: names and ids (never secrets).

    :param pairs: ``(id, name)`` for each credential; ``None`` for a workspace that keeps
        credentials by name (see :meth:`by_name`).
    """

    def __init__(self, pairs: Iterable[tuple[str, str]] | None) -> None:
        self._by_name = pairs is None
        self._names: dict[str, str] = {}
        self._ids: dict[str, list[str]] = {}
        for credential_id, name in pairs or ():
            self._names[credential_id] = name
            self._ids.setdefault(name, []).append(credential_id)

    @classmethod
    def by_name(cls) -> Credentials:
        """Credentials of a workspace that stores a credential's name where Flowise stores
        its id (a local workspace): every name resolves to itself."""
        return cls(None)

    def __repr__(self) -> str:
        if self._by_name:
            return "<Credentials by name>"
        return f"<Credentials {sorted(self._ids)}>"

    def name_of(self, credential_id: str) -> str | None:
        """Return the name of the credential with this id, or ``None`` when there is none."""
        return credential_id if self._by_name else self._names.get(credential_id)

    def id_of(self, name: str) -> str | None:
        """Return the id of the credential called ``name``, or ``None`` when there is none.

        :raises ValueError: when two credentials have that name (the message names both ids).
        """
        if self._by_name:
            return name
        ids = self._ids.get(name, [])
        if len(ids) > 1:
            raise ValueError(f"{len(ids)} credentials are called {name!r} ({', '.join(ids)})")
        return ids[0] if ids else None


def credentials_of(workspace: object) -> Credentials:
    """Return the credentials of a workspace: the server's (names and ids) when it is on a
    Flowise server, else :meth:`Credentials.by_name`.

    A workspace is on a server when its ``backend`` has a ``client`` with a
    ``list_credentials()`` method returning records with ``id`` and ``name``.
    """
    client = getattr(getattr(workspace, "backend", None), "client", None)
    listing: Callable[[], Iterable[Any]] | None = getattr(client, "list_credentials", None)
    if listing is None:
        return Credentials.by_name()
    return credentials_from(listing())


def credentials_from(records: Iterable[Any]) -> Credentials:
    """Return the credentials a server listed: records (objects or dicts) with ``id`` and
    ``name``."""
    pairs = []
    for record in records:
        get = record.get if isinstance(record, dict) else lambda key, r=record: getattr(r, key)
        pairs.append((str(get("id")), str(get("name"))))
    return Credentials(pairs)


def _walk(value: Any, visit: Callable[[dict[str, Any], str, str], None]) -> None:
    """Call ``visit(container, key, value)`` for every non-empty string under a credential
    key, at any depth (no recursion)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            for key, inner in item.items():
                if key in CREDENTIAL_KEYS and isinstance(inner, str) and inner:
                    visit(item, key, inner)
                elif isinstance(inner, dict | list):
                    pending.append(inner)
        elif isinstance(item, list):
            pending.extend(inner for inner in item if isinstance(inner, dict | list))


def _places(data: dict[str, Any], entity: str) -> list[tuple[str, Any]]:
    """``(where, part)`` pairs to walk: each node's ``data`` of a flow, or the whole of a
    tool or assistant."""
    if entity == "assistant":
        return [("details", data.get("details"))]
    if entity != "chatflow":
        return [("", data)]
    nodes = data.get("nodes")
    return [
        (f"node {node.get('id')!r}", node.get("data"))
        for node in (nodes if isinstance(nodes, list) else [])
        if isinstance(node, dict)
    ]


def named(data: dict[str, Any], entity: str, credentials: Credentials) -> list[str]:
    """Replace, in place, every credential id in an entity's folder data by
    ``"credential:<name>"``.

    An id the workspace does not know (Flowise keeps dangling ids) is removed (set to
    ``""``, or dropped from an assistant), since it means nothing anywhere else.

    :param entity: ``"chatflow"``, ``"tool"`` or ``"assistant"``.
    :returns: one warning per id removed, naming the node.
    """
    warnings: list[str] = []
    if entity == "assistant" and isinstance(data.get("credential"), str) and data["credential"]:
        # Flowise makes a CUSTOM assistant carry some credential id (NOT NULL): one the
        # server does not know is dropped silently there.
        name = credentials.name_of(data["credential"])
        if name is not None:
            data["credential"] = PREFIX + name
        else:
            if data.get("type") != "CUSTOM":
                warnings.append(f"credential id {data['credential']!r} is unknown there, left out")
            del data["credential"]
    for where, part in _places(data, entity):

        def visit(container: dict[str, Any], key: str, value: str, where: str = where) -> None:
            name = credentials.name_of(value)
            if name is None:
                container[key] = ""
                place = f"{where}: " if where else ""
                warnings.append(f"{place}credential id {value!r} is unknown there, left out")
            else:
                container[key] = PREFIX + name

        _walk(part, visit)
    return warnings


def resolved(data: dict[str, Any], entity: str, credentials: Credentials) -> list[str]:
    """Replace, in place, every ``"credential:<name>"`` in an entity's folder data by the id
    the target knows by that name.

    :returns: one problem per credential the target has not, or a raw id found where a name
        belongs, each naming the node and the credential (empty when all resolved).
    """
    problems: list[str] = []
    places = [("", data)] if entity == "assistant" else _places(data, entity)
    for where, part in places:

        def visit(container: dict[str, Any], key: str, value: str, where: str = where) -> None:
            place = f"{where} " if where else ""
            if not value.startswith(PREFIX):
                problems.append(
                    f"{place}holds a raw credential {value!r} in {key!r}: write it as "
                    f"'{PREFIX}<name>' (ids differ from one server to the next)"
                )
                return
            name = value.removeprefix(PREFIX)
            try:
                credential_id = credentials.id_of(name)
            except ValueError as exc:
                problems.append(f"{place}needs credential {name!r}, but {exc}: rename one")
                return
            if credential_id is None:
                problems.append(
                    f"{place}needs credential {name!r}, which the target has not: "
                    "create it there under that name"
                )
            else:
                container[key] = credential_id

        _walk(part, visit)
    return problems
