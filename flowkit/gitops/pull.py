"""Reading a workspace in folder form, and ``pull``: writing it into a folder."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from flowkit.gitops.credentials import Credentials, credentials_of
from flowkit.gitops.credentials import named as named_credentials
from flowkit.gitops.folder import (
    Document,
    FolderError,
    Key,
    assistant_document,
    chatflow_document,
    file_name,
    folder_files,
    read_document,
    tool_document,
    write_document,
)
from flowkit.gitops.references import REFERENCES, Reference, named, written_name
from flowkit.model import Assistant, Chatflow, Tool

__all__ = ["PullResult", "Readable", "Remote", "duplicates", "pull", "workspace_documents"]


class Readable(Protocol):
    """What reading a workspace needs: the three listings every Workspace has."""

    @property
    def chatflows(self) -> list[Chatflow]: ...

    @property
    def tools(self) -> list[Tool]: ...

    @property
    def assistants(self) -> list[Assistant]: ...


@dataclass(frozen=True)
class Remote:
    """An entity as the workspace holds it, in folder form.

    :param document: its folder form, credentials by name.
    :param id: its id in that workspace.
    :param warnings: what could not be carried over (a dangling credential id, ...).
    """

    document: Document
    id: str
    warnings: tuple[str, ...] = ()


def workspace_documents(
    workspace: Readable, credentials: Credentials | None = None
) -> dict[Key, list[Remote]]:
    """Return every chatflow, tool and assistant of ``workspace`` in folder form, by key
    (several entities under one key when they share a kind and a name; see
    :func:`duplicates`). Credential ids become names (:mod:`~flowkit.gitops.credentials`),
    and so do the ids of the tools, assistants and flows a flow's nodes select
    (:mod:`~flowkit.gitops.references`).

    An assistant without ``details.name`` cannot be in a folder: it is left out, with a
    warning on the first entity listed (or none when there is no other entity).

    :param credentials: the workspace's credentials (default: :func:`credentials_of`).
    """
    book = credentials if credentials is not None else credentials_of(workspace)
    entities: list[tuple[str, Tool | Assistant | Chatflow]] = [
        *(("tool", t) for t in workspace.tools),
        *(("assistant", a) for a in workspace.assistants),
        *(("chatflow", f) for f in workspace.chatflows),
    ]
    documents: list[tuple[str, str, Document, list[str]]] = []
    left_out: list[str] = []
    for entity, item in entities:
        try:
            if isinstance(item, Tool):
                document = tool_document(item)
            elif isinstance(item, Assistant):
                document = assistant_document(item)
            else:
                document = chatflow_document(item)
        except FolderError as exc:
            left_out.extend(f"{p}; left out" for p in exc.problems)
            continue
        documents.append((entity, item.id, document, left_out))
        left_out = []
    names = _names(documents)
    found: dict[Key, list[Remote]] = {}
    for entity, entity_id, document, earlier in documents:
        warnings = [
            f"{document.label}: {w}" for w in named_credentials(document.data, entity, book)
        ]
        if entity == "chatflow":
            warnings += [f"{document.label}: {w}" for w in named(document.data, names)]
        found.setdefault(document.key, []).append(
            Remote(document, entity_id, tuple(earlier + warnings))
        )
    return found


def _names(
    documents: Iterable[tuple[str, str, Document, list[str]]],
) -> dict[Reference, dict[str, str]]:
    """Per reference, id -> the name a file writes for it (a flow's is ``folder/name``)."""
    names: dict[Reference, dict[str, str]] = {reference: {} for reference in REFERENCES}
    for _, entity_id, document, _ in documents:
        reference, name = written_name(document)
        names[reference][entity_id] = name
    return names


def duplicates(found: dict[Key, list[Remote]], keys: Iterable[Key] | None = None) -> list[str]:
    """Return one problem per key (of ``keys``, default all) that several entities share,
    naming their ids: names identify entities in a folder."""
    problems = []
    for key in found if keys is None else keys:
        twins = found.get(key, [])
        if len(twins) > 1:
            document = twins[0].document
            ids = ", ".join(remote.id for remote in twins)
            problems.append(
                f"{len(twins)} {document.kind.entity}s are called {document.name!r} ({ids}): "
                "rename all but one, names identify entities in a folder"
            )
    return problems


@dataclass
class PullResult:
    """What :func:`pull` did, each entry a path relative to the folder.

    :param written: files created or changed.
    :param unchanged: files that already held the entity.
    :param removed: files removed (only with ``prune``).
    :param kept: files of no entity of the workspace, left in place (without ``prune``).
    :param warnings: what could not be carried over.
    """

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def pull(
    workspace: Readable,
    folder: str | Path,
    *,
    prune: bool = False,
    credentials: Credentials | None = None,
) -> PullResult:
    """Write every entity of ``workspace`` into ``folder``, one file each.

    An entity already in a file of the folder (found by kind and name, whatever the file is
    called) is written back to that file; a new one goes to ``<kind>/<name>.json``. A file
    is rewritten only when its content differs. Credential ids become names.

    :param prune: remove the entity files of the folder that no entity of the workspace
        matches (else they are kept and listed in :attr:`PullResult.kept`).
    :param credentials: the workspace's credentials (default: :func:`credentials_of`).
    :raises FolderError: when several entities share a kind and name (naming their ids;
        nothing is written), or a file cannot be written.
    """
    root = Path(folder)
    found = workspace_documents(workspace, credentials)
    problems = duplicates(found)
    if problems:
        raise FolderError(problems)
    remote = {key: twins[0] for key, twins in found.items()}
    existing: dict[Key, Path] = {}
    strays: list[Path] = []
    for kind, path in folder_files(root):
        try:
            document = read_document(kind, path)
        except FolderError:
            strays.append(path)  # unreadable: it holds no entity pull could match
            continue
        if document.key in remote and document.key not in existing:
            existing[document.key] = path
        else:
            strays.append(path)
    result = PullResult()
    for key, item in remote.items():
        target = existing.get(key)
        changed = write_document(root, item.document, target)
        shown = _relative(target or _default_path(root, item.document), root)
        (result.written if changed else result.unchanged).append(shown)
        result.warnings.extend(item.warnings)
    for path in strays:
        if prune:
            try:
                path.unlink()
            except OSError as exc:
                raise FolderError(f"cannot remove {path}: {exc.strerror or exc}") from None
            result.removed.append(_relative(path, root))
        else:
            result.kept.append(_relative(path, root))
    return result


def _default_path(root: Path, document: Document) -> Path:
    return root / document.kind.folder / file_name(document.name)


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()
