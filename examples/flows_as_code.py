"""Flows as code: a folder of Flowise exports moves between two workspaces.

Builds a chatflow and a tool in a workspace file ("dev.db"), pulls them into a folder,
applies the folder to a second workspace file ("prod.db"), edits one input in the folder,
and shows the plan (what would change) before applying it. The same steps work against a
Flowise server: ``flowkit pull flows --url http://127.0.0.1:3000 --api-key ...``.

Run: ``python examples/flows_as_code.py`` (everything happens in a temporary folder).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from flowkit import Chatflow, Tool, Workspace
from flowkit.gitops import apply, plan, pull


def docs_flow() -> Chatflow:
    """A prompt and a chat model feeding an LLM chain; the model names its credential."""
    flow = Chatflow(name="Docs QA")
    prompt = flow.add_node(
        "promptTemplate", category="Prompts", inputs={"template": "Answer briefly: {question}"}
    )
    model = flow.add_node(
        "chatOpenAI",
        category="Chat Models",
        inputs={"modelName": "gpt-4o-mini", "temperature": 0.9},
        credential="openai-key",
    )
    chain = flow.add_node("llmChain", category="Chains")
    flow.connect(prompt, chain, "prompt")
    flow.connect(model, chain, "model")
    return flow


def main() -> None:
    """Pull from dev, apply to prod, edit, plan, apply."""
    root = Path(tempfile.mkdtemp(prefix="flows-as-code-"))
    folder = root / "flows"
    with Workspace.open(root / "dev.db") as dev, Workspace.open(root / "prod.db") as prod:
        dev.create_chatflow(docs_flow())
        dev.create_tool(Tool(name="calculator", description="adds", func="return $a + $b;"))

        pulled = pull(dev, folder)
        print("Pulled from dev.db:", ", ".join(sorted(pulled.written)))
        exported = json.loads((folder / "chatflows" / "Docs QA.json").read_text("utf-8"))
        print("The model's credential, by name:", exported["nodes"][1]["data"]["credential"])

        first = plan(prod, folder)
        print("Plan for prod.db:", *(change.line for change in first.changes), sep="\n  ")
        apply(prod, first)
        print("After apply:", plan(prod, folder).summary)

        exported["nodes"][1]["data"]["inputs"]["temperature"] = 0.2
        (folder / "chatflows" / "Docs QA.json").write_text(
            json.dumps(exported, indent=2) + "\n", encoding="utf-8"
        )
        edited = plan(prod, folder)
        print("After editing one input:", *(c.line for c in edited.changes), sep="\n  ")
        apply(prod, edited)
        temperature = prod.chatflows[0].node("chatOpenAI_0").inputs["temperature"]
        print(f"Applied: prod's temperature is {temperature};", plan(prod, folder).summary)


if __name__ == "__main__":
    main()
