"""``flowkit components``: the catalog by category, one component's inputs, its JSON, and
one-line errors for a name or category the catalog has not."""

from __future__ import annotations

import json

import pytest

from flowkit.cli import main
from flowkit.model.nodedefs import PARAM_TYPES, node_catalog

CATALOG = node_catalog()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["components", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_list_holds_every_component_under_its_category(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(
        capsys,
    )

    assert code == 0
    assert out.splitlines()[0] == "Flowise 3.1.4 components"
    listed = [line.split()[0] for line in out.splitlines() if line.startswith("  ")]
    assert sorted(listed) == sorted(CATALOG.names())
    categories = {CATALOG.definition(n)["category"] for n in CATALOG.names()}
    assert {line[:-1] for line in out.splitlines()[1:] if not line.startswith(" ")} == categories


def test_a_category_lists_only_its_components(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--category", "Vector Stores")

    assert code == 0
    listed = {line.split()[0] for line in out.splitlines() if line.startswith("  ")}
    assert "memoryVectorStore" in listed
    assert all(CATALOG.definition(n)["category"] == "Vector Stores" for n in listed)


@pytest.mark.parametrize("name", ["chatOpenAI", "memoryVectorStore", "textFile", "ChatflowTool"])
def test_a_component_shows_every_input_parameters_first(
    capsys: pytest.CaptureFixture[str], name: str
) -> None:
    definition = CATALOG.definition(name)

    code, out, _ = run(capsys, name)

    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"{name} ({definition['label']}, version {definition['version']})")
    shown = [line.split(":")[0].strip() for line in lines if line.startswith("  ")]
    inputs = definition["inputs"]
    params = [i["name"] for i in inputs if i["type"] in PARAM_TYPES]
    anchors = [i["name"] for i in inputs if i["type"] not in PARAM_TYPES]
    assert shown == params + anchors
    assert ("credential:" in out) is ("credential" in definition)


def test_json_is_the_definition(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--json", "plainText")

    assert code == 0
    assert json.loads(out) == CATALOG.definition("plainText")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("chatOpenAi",), "no component 'chatOpenAi'; did you mean 'chatOpenAI'"),
        (("--category", "Vector Store"), "no category 'Vector Store'; categories: "),
    ],
)
def test_an_unknown_name_is_one_line_with_exit_status_2(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], says: str
) -> None:
    code, out, err = run(capsys, *args)

    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert says in err
