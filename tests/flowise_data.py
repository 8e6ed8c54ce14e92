"""Flowise-shaped nodes and edges, laid out as the Flowise UI saves them, for tests."""

from __future__ import annotations

from typing import Any


def flowise_node(
    node_id: str,
    name: str,
    category: str,
    *,
    inputs: dict[str, Any] | None = None,
    node_type: str = "customNode",
    outputs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A node laid out as the Flowise UI saves it."""
    return {
        "width": 300,
        "height": 480,
        "id": node_id,
        "position": {"x": 100.5, "y": -20},
        "type": node_type,
        "data": {
            "id": node_id,
            "label": name.title(),
            "version": 2,
            "name": name,
            "type": name.title(),
            "baseClasses": [name.title(), "Runnable"],
            "category": category,
            "description": "",
            "inputParams": [],
            "inputAnchors": [],
            "inputs": dict(inputs or {}),
            "outputAnchors": [],
            "outputs": dict(outputs or {}),
            "selected": False,
        },
        "selected": False,
        "positionAbsolute": {"x": 100.5, "y": -20},
        "dragging": False,
    }


def flowise_edge(source: str, target: str, target_input: str) -> dict[str, Any]:
    source_handle = f"{source}-output-{source.rsplit('_', 1)[0]}-Output"
    target_handle = f"{target}-input-{target_input}-Input"
    return {
        "source": source,
        "sourceHandle": source_handle,
        "target": target,
        "targetHandle": target_handle,
        "type": "buttonedge",
        "id": f"{source}-{source_handle}-{target}-{target_handle}",
        "data": {"label": ""},
    }
