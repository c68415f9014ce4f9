"""Run a GStreamer-style launch string, e.g. vistream launch "urisrc uri=a.mp4 ! fakesink"."""

from __future__ import annotations

import argparse

from vistream.commands.running import run_pipeline
from vistream.core.launch import parse_launch


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("description", nargs="+", help="launch string (quote it, or pass it as separate words)")
    parser.add_argument("--timeout", type=float, default=None, help="stop after this many seconds")
    parser.add_argument("--stats-interval", type=float, default=2.0, help="seconds between live stats lines (0: none)")
    parser.add_argument("--print-graph", action="store_true", help="print the elements and links, then exit")


def main(args: argparse.Namespace) -> int:
    pipeline = parse_launch(" ".join(args.description))
    if args.print_graph:
        import json

        print(json.dumps(pipeline.describe(), indent=2, default=str))
        return 0
    return run_pipeline(pipeline, timeout=args.timeout, stats_interval=args.stats_interval)
