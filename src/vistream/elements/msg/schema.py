"""The published ``vistream-event/1`` JSON Schema and a validator for it.

Example:
    >>> from vistream.elements.msg.schema import load_schema
    >>> load_schema()["title"]
    'vistream-event/1'
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

SCHEMA_FILE = "vistream-event-v1.json"


def load_schema() -> dict[str, Any]:
    """The JSON Schema shipped in the package (``vistream/elements/msg/schemas/``)."""
    text = resources.files("vistream.elements.msg").joinpath("schemas", SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def validate(message: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` when ``message`` does not follow ``vistream-event/1``.

    Needs ``jsonschema`` (the ``dev`` extra).
    """
    import jsonschema

    jsonschema.Draft202012Validator(load_schema()).validate(message)
