"""List the registered elements, or show one element's pads and properties."""

from __future__ import annotations

import argparse
import json

from vistream.core.element import PadDirection
from vistream.core.registry import default_registry


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("element", nargs="?", help="element factory name (e.g. streammux)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def describe_element(factory_name: str) -> dict:
    cls = default_registry.get(factory_name)
    return {
        "name": factory_name,
        "description": cls.description,
        "doc": (cls.__doc__ or "").strip(),
        "pads": [
            {"name": t.name, "direction": t.direction.value, "presence": t.presence.value, "memory": list(t.memory)}
            for t in cls.pad_templates
        ],
        "properties": [spec.describe() for spec in cls.property_specs().values()],
    }


def main(args: argparse.Namespace) -> int:
    if not args.element:
        names = default_registry.names()
        if args.json:
            print(json.dumps({n: default_registry.get(n).description for n in names}, indent=2))
            return 0
        width = max(len(n) for n in names)
        for name in names:
            print(f"{name:<{width}}  {default_registry.get(name).description}")
        return 0
    info = describe_element(args.element)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    print(f"{info['name']}: {info['description']}\n")
    print("Pads:")
    for pad in info["pads"]:
        arrow = "<-" if pad["direction"] == PadDirection.SINK.value else "->"
        print(f"  {arrow} {pad['name']:<10} {pad['presence']:<8} memory: {', '.join(pad['memory'])}")
    print("\nProperties:")
    for prop in info["properties"]:
        extra = ""
        if "choices" in prop:
            extra = f"  one of: {', '.join(map(str, prop['choices']))}"
        elif "range" in prop:
            lo, hi = prop["range"]
            extra = f"  range: {'-inf' if lo is None else lo} .. {'inf' if hi is None else hi}"
        print(f"  {prop['name']:<26} {prop['type']:<10} default: {prop['default']!r}{extra}")
        print(f"  {'':<26} {prop['doc']}")
    return 0
