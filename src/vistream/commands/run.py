"""Run a pipeline file: a vistream YAML pipeline, or a DeepStream deepstream-app config (.txt)."""

from __future__ import annotations

import argparse
from pathlib import Path

from vistream.commands.running import run_pipeline
from vistream.core.errors import SpecError
from vistream.core.pipeline import Pipeline
from vistream.core.spec import load_pipeline


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="pipeline.yaml, or a deepstream-app config file")
    parser.add_argument("--timeout", type=float, default=None, help="stop after this many seconds")
    parser.add_argument("--stats-interval", type=float, default=2.0, help="seconds between live stats lines (0: none)")
    parser.add_argument("--print-graph", action="store_true", help="print the elements and links, then exit")
    parser.add_argument("--gpus", type=str, default=None,
                        help="comma-separated GPU ids to shard sources over (needs the cuda extra)")


def load_any(path: str) -> Pipeline:
    """YAML pipeline, or a DeepStream app config when the file looks like an INI."""
    file = Path(path)
    if not file.is_file():
        raise SpecError(f"pipeline file not found: '{path}'")
    if file.suffix.lower() in (".txt", ".ini", ".cfg"):
        try:
            from vistream.compat.deepstream.app import load_app_config
        except ModuleNotFoundError:
            raise SpecError(f"'{path}' looks like a DeepStream config, but DeepStream config support is not installed") from None
        return load_app_config(path)
    return load_pipeline(path)


def main(args: argparse.Namespace) -> int:
    pipeline = load_any(args.file)
    if args.gpus:
        from vistream.accel.sharding import shard_sources

        shard_sources(pipeline, [int(g) for g in args.gpus.split(",")])
    if args.print_graph:
        import json

        print(json.dumps(pipeline.describe(), indent=2, default=str))
        return 0
    return run_pipeline(pipeline, timeout=args.timeout, stats_interval=args.stats_interval)
