"""The folder format of flows as code: which subfolder holds which kind, how an entity's
name becomes a file name, and how an entity becomes the stable JSON written to its file.

A folder holds one subfolder per kind (:data:`KINDS`), and one Flowise export per file,
named by the entity's name (``chatflows/Docs QA.json``). Files are written as JSON indented
by two spaces with a trailing newline, keys in Flowise's own order (never sorted), so a
pull after a small change on the server gives a small git diff. Ids that differ from one
server to the next are left out: a chatflow's file holds only its ``flowData``; a tool's
and an assistant's file hold no ``id``, ``workspaceId`` or dates. Credentials are written
by name (see :mod:`flowkit.gitops.credentials`).
"""

from __future__ import annotations

import json
import os
import tempfile
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from flowkit.errors import FlowkitError, FlowValidationError
from flowkit.flowise import read_json
from flowkit.model import Assistant, AssistantType, Chatflow, FlowType, Tool

__all__ = [
    "ASSISTANTS",
    "KINDS",
    "TOOLS",
    "Document",
    "FolderError",
    "Key",
    "Kind",
    "assistant_document",
    "chatflow_document",
    "dumps",
    "entity_name",
    "file_name",
    "flow_kind",
    "read_folder",
    "to_assistant",
    "to_chatflow",
    "to_tool",
    "tool_document",
    "write_document",
]

Key = tuple[str, str]
"""An entity's identity in a folder: (subfolder, name), e.g. ``("chatflows", "Docs QA")``."""


@dataclass(frozen=True)
class Kind:
    """One subfolder of a flows-as-code folder.

    :param folder: the subfolder's name (``"chatflows"``).
    :param entity: what its files hold: ``"chatflow"``, ``"tool"`` or ``"assistant"``.
    :param flow_type: for chatflows, the Flowise flow type the subfolder holds.
    """

    folder: str
    entity: str
    flow_type: FlowType | None = None


TOOLS = Kind("tools", "tool")
"""``tools/``: Flowise custom tools (the marketplace's tool export format)."""
ASSISTANTS = Kind("assistants", "assistant")
"""``assistants/``: Flowise assistants (details, credential by name, type)."""
_FLOW_KINDS = (
    Kind("chatflows", "chatflow", FlowType.CHATFLOW),
    Kind("agentflows", "chatflow", FlowType.AGENTFLOW),
    Kind("multiagents", "chatflow", FlowType.MULTIAGENT),
    Kind("assistantflows", "chatflow", FlowType.ASSISTANT),
)
KINDS: tuple[Kind, ...] = (TOOLS, ASSISTANTS, *_FLOW_KINDS)
"""Every subfolder, in the order ``apply`` creates and updates them (tools before the flows
that may use them)."""

_SERVER_KEYS = frozenset({"id", "workspaceId", "createdDate", "updatedDate"})
"""Keys of a tool or assistant record that belong to one server, never written to a file."""
_UNSAFE = frozenset('/\\:*?"<>|%')
_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"{p}{n}" for p in ("COM", "LPT") for n in range(1, 10)}
)
_MAX_FILE_NAME = 255


class FolderError(FlowkitError):
    """A folder cannot be read or written as flows as code.

    :attr:`problems` holds every problem found, each naming its file.
    """

    def __init__(self, problems: str | list[str]) -> None:
        self.problems: tuple[str, ...] = (
            (problems,) if isinstance(problems, str) else tuple(problems)
        )
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True)
class Document:
    """One entity in folder form: what its file holds (or would hold).

    :param kind: its subfolder.
    :param name: its name (its identity within the kind).
    :param data: the file's JSON, keys in Flowise's order.
    :param path: the file it was read from, if it was read from one.
    """

    kind: Kind
    name: str
    data: dict[str, Any]
    path: Path | None = None

    @property
    def key(self) -> Key:
        """The identity: ``(kind.folder, name)``."""
        return (self.kind.folder, self.name)

    @property
    def label(self) -> str:
        """How plans and messages name it: ``chatflows/Docs QA``."""
        return f"{self.kind.folder}/{self.name}"


# ---- names ----------------------------------------------------------------------------------


def file_name(name: str) -> str:
    """Return the file name (``.json`` included) an entity called ``name`` is written to.

    Characters no common file system takes (``/ \\ : * ? " < > |``), control characters,
    ``%`` itself, a leading ``.`` or space, a trailing ``.`` or space, and the first letter of
    a Windows device name (``CON``, ``NUL``, ...) are written as ``%XX`` (their UTF-8 bytes
    in hex); everything else is kept, so ``Docs QA`` is ``Docs QA.json``.
    :func:`entity_name` reverses it.

    :raises FolderError: when the name is empty or too long for a file name.
    """
    if not name:
        raise FolderError("an entity with an empty name cannot be written to a file")
    chars = [_escape(c) if c in _UNSAFE or not c.isprintable() else c for c in name]
    for index in (0, -1):
        if chars[index] in (".", " "):
            chars[index] = _escape(chars[index])
    if name.split(".")[0].upper() in _RESERVED:
        chars[0] = _escape(chars[0])
    result = "".join(chars) + ".json"
    if len(result.encode("utf-8")) > _MAX_FILE_NAME:
        raise FolderError(f"name {name[:40]!r}... is too long for a file name; shorten it")
    return result


def entity_name(file: Path) -> str:
    """Return the entity name a file name stands for (the reverse of :func:`file_name`)."""
    return unicodedata.normalize("NFC", unquote(file.name.removesuffix(".json")))


def _escape(char: str) -> str:
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))


# ---- entities <-> documents -----------------------------------------------------------------


def flow_kind(flow_type: FlowType | str) -> Kind:
    """Return the subfolder of chatflows of this Flowise flow type."""
    for kind in _FLOW_KINDS:
        if kind.flow_type == flow_type:
            return kind
    raise FolderError(f"no folder for flow type {flow_type!r}")  # pragma: no cover


def chatflow_document(flow: Chatflow) -> Document:
    """Return a chatflow in folder form: its ``flowData`` (nodes, edges, other keys)."""
    return Document(flow_kind(flow.type), flow.name, flow.to_flowise())


def tool_document(tool: Tool) -> Document:
    """Return a tool in folder form: its Flowise export without the server's keys."""
    data = {k: v for k, v in tool.to_flowise().items() if k not in _SERVER_KEYS}
    return Document(TOOLS, tool.name, data)


def assistant_document(assistant: Assistant) -> Document:
    """Return an assistant in folder form: ``details``, ``credential``, ``iconSrc``, ``type``.

    :raises FolderError: when its details hold no name (the name is its identity).
    """
    name = assistant.details.get("name")
    if not isinstance(name, str) or not name:
        raise FolderError(
            f"assistant {assistant.id!r} has no details.name: name it to keep it in a folder"
        )
    data: dict[str, Any] = {"details": assistant.details}
    if assistant.credential:
        data["credential"] = assistant.credential
    if assistant.icon_src:
        data["iconSrc"] = assistant.icon_src
    data["type"] = str(assistant.type)
    return Document(ASSISTANTS, name, json.loads(json.dumps(data)))


def to_chatflow(document: Document, *, id: str | None = None) -> Chatflow:
    """Return the chatflow a document describes (with ``id`` when given).

    :raises FlowValidationError: when the data is not a Flowise flow.
    """
    return Chatflow.from_flowise(
        document.data, name=document.name, id=id, type=document.kind.flow_type
    )


def to_tool(document: Document, *, id: str | None = None) -> Tool:
    """Return the tool a document describes (with ``id`` when given).

    :raises FlowValidationError: when the data is not a Flowise tool export.
    """
    data = {k: v for k, v in document.data.items() if k not in _SERVER_KEYS}
    if id is not None:
        data = {"id": id, **data}
    return Tool.from_flowise({**data, "name": document.name})


def to_assistant(document: Document, *, id: str | None = None) -> Assistant:
    """Return the assistant a document describes (with ``id`` when given).

    :raises FlowValidationError: when ``details`` is not an object or ``type`` is unknown.
    """
    data = document.data
    details = data.get("details")
    if not isinstance(details, dict):
        raise FlowValidationError(f"{document.label}: 'details' must be an object")
    kind = data.get("type", "CUSTOM")
    if kind not in {t.value for t in AssistantType}:
        raise FlowValidationError(f"{document.label}: unknown assistant type {kind!r}")
    fields: dict[str, Any] = {
        "details": details,
        "credential": data.get("credential") or None,
        "icon_src": data.get("iconSrc") or None,
        "type": AssistantType(kind),
    }
    if id is not None:
        fields["id"] = id
    return Assistant(**fields)


# ---- files ----------------------------------------------------------------------------------


def dumps(data: Any) -> str:
    """Return ``data`` as the stable JSON of a file: two-space indent, keys in their own
    order, non-ASCII kept, one trailing newline."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_document(root: Path, document: Document, path: Path | None = None) -> bool:
    """Write ``document`` under ``root`` (to ``path`` when given, else to its own file name),
    atomically, only when the content differs.

    :returns: whether the file changed.
    :raises FolderError: when the file cannot be written.
    """
    target = path or root / document.kind.folder / file_name(document.name)
    text = dumps(document.data)
    try:
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".flowkit-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        os.replace(temporary, target)
    except OSError as exc:
        raise FolderError(f"cannot write {target}: {exc.strerror or exc}") from None
    return True


def folder_files(root: Path) -> Iterator[tuple[Kind, Path]]:
    """Yield ``(kind, path)`` for every ``*.json`` file in the kind subfolders of ``root``,
    sorted by path; other files and folders are ignored."""
    for kind in KINDS:
        folder = root / kind.folder
        if folder.is_dir():
            for path in sorted(folder.glob("*.json")):
                if path.is_file():
                    yield kind, path


def read_document(kind: Kind, path: Path, root: Path | None = None) -> Document:
    """Read one file as a document of ``kind``.

    A tool's name is its ``name`` field and an assistant's its ``details.name`` (so a
    marketplace tool file keeps its own name whatever the file is called); a chatflow's is
    the file name (:func:`entity_name`).

    :raises FolderError: naming the file and the problem.
    """
    shown = path.relative_to(root) if root is not None else path
    try:
        data = read_json(path)
    except FlowValidationError as exc:
        raise FolderError(f"{shown}: {'; '.join(exc.problems)}") from None
    if not isinstance(data, dict):
        raise FolderError(f"{shown}: must hold a JSON object")
    name: Any = entity_name(path)
    if kind is TOOLS:
        name = data.get("name") or name
    elif kind is ASSISTANTS:
        details = data.get("details")
        name = details.get("name") if isinstance(details, dict) else None
    if not isinstance(name, str) or not name:
        raise FolderError(f"{shown}: has no name (an assistant's is details.name)")
    document = Document(kind, name, data, path)
    try:  # each kind's loader checks the file now, so a bad file is named before any change
        {"chatflow": to_chatflow, "tool": to_tool, "assistant": to_assistant}[kind.entity](document)
    except FlowValidationError as exc:
        raise FolderError(f"{shown}: {'; '.join(exc.problems)}") from None
    return document


def read_folder(root: Path) -> dict[Key, Document]:
    """Read every entity file of a folder.

    :returns: the documents by key, in :data:`KINDS` order, then by file name.
    :raises FolderError: listing every problem at once: the folder is missing, a file is
        not JSON or not a valid export, or two files hold one kind and name.
    """
    if not root.is_dir():
        raise FolderError(f"no folder {root}: create it, or run 'flowkit pull {root}' first")
    problems: list[str] = []
    documents: dict[Key, Document] = {}
    for kind, path in folder_files(root):
        try:
            document = read_document(kind, path, root)
        except FolderError as exc:
            problems.extend(exc.problems)
            continue
        twin = documents.get(document.key)
        if twin is not None and twin.path is not None:
            problems.append(
                f"{document.label} is in two files: {twin.path.relative_to(root)} and "
                f"{path.relative_to(root)}; keep one"
            )
            continue
        documents[document.key] = document
    if problems:
        raise FolderError(problems)
    return documents
