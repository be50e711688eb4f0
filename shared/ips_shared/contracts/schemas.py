"""JSON Schema for every event in the catalogue, generated from the models.

`python -m ips_shared.contracts.schemas DIR` writes one file per event; the committed
files are checked against the models by a test, so a contract cannot drift unseen.
"""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path
from typing import Any

from .envelope import CloudEvent
from .events import CATALOGUE


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Replace local `$ref`s by their definitions (the catalogue has no recursive types)."""
    definitions = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            reference = node.get("$ref")
            if isinstance(reference, str) and reference.startswith("#/$defs/"):
                merged = {**definitions[reference.removeprefix("#/$defs/")], **node}
                merged.pop("$ref")
                return resolve(merged)
            return {key: resolve(value) for key, value in node.items() if key != "$defs"}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return resolve(schema)


def event_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema of the whole envelope with that event as `data`."""
    documents = {}
    for model in CATALOGUE:
        schema = inline_refs(CloudEvent[model].model_json_schema())  # type: ignore[valid-type]
        schema["title"] = model.event_type
        schema["description"] = inspect.cleandoc(model.__doc__ or model.event_type)
        schema["x-subject"] = model.subject
        schema["x-schema-version"] = model.schema_version
        documents[f"{model.event_type}.v{model.schema_version}.json"] = schema
    return documents


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, schema in event_schemas().items():
        (directory / name).write_text(render(schema))


if __name__ == "__main__":
    write(Path(sys.argv[1]))
