"""What the workspace-file tests share: small flows and an open store in a temporary file."""

from __future__ import annotations

from pathlib import Path

from flowkit.model import Chatflow


def small_flow(name: str = "RAG", *, temperature: float = 0.2) -> Chatflow:
    """A three-node flow: chat model and prompt feeding an LLM chain."""
    flow = Chatflow(name=name)
    model = flow.add_node("chatOpenAI", category="Chat Models", inputs={"temperature": temperature})
    prompt = flow.add_node("promptTemplate", category="Prompts", inputs={"template": "{q}"})
    chain = flow.add_node("llmChain", category="Chains")
    flow.connect(model, chain, "model")
    flow.connect(prompt, chain, "prompt")
    return flow


def chain_flow(size: int, name: str = "chain") -> Chatflow:
    """A flow of ``size`` nodes in a line, each with a few inputs."""
    flow = Chatflow(name=name)
    previous = None
    for n in range(size):
        node = flow.add_node(
            "llmChain", inputs={"prompt": f"step {n}", "temperature": n / 10, "tags": ["a", n]}
        )
        if previous is not None:
            flow.connect(previous, node, "input")
        previous = node
    return flow


def file_bytes(path: Path) -> bytes:
    """The file's bytes (to prove a refused file was left as it was)."""
    return path.read_bytes()
