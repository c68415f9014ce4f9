"""The ``vistream`` command.

Sub-commands are modules with ``configure(parser)`` and ``main(args) -> int``; they are listed
in :data:`COMMANDS` and imported only when used, so ``vistream --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

#: sub-command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("vistream.commands.run", "run a pipeline file (YAML, or a DeepStream app config)"),
    "launch": ("vistream.commands.launch", "run a GStreamer-style launch string"),
    "inspect": ("vistream.commands.inspect", "list elements, or show one element's pads and properties"),
    "demo": ("vistream.commands.demo", "run the bundled demo (sample streams -> detect -> track -> overlay)"),
    "models": ("vistream.models.cli", "list, fetch and convert models of the model zoo"),
    "media": ("vistream.commands.media", "fetch the sample videos and make benchmark clips"),
    "eval": ("vistream.commands.eval", "evaluate results (e.g. tracking metrics: MOTA, IDF1, HOTA)"),
    "serve": ("vistream.server.cli", "run a pipeline as a service with a REST API, metrics and a dashboard"),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vistream",
        description="Video-analytics pipelines: decode, batch, infer, track, analyse, draw, encode, publish.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        if only is not None and name != only:
            sub.add_parser(name, help=help_text, add_help=False)
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # the sub-command is not part of this install
        command = sub.add_parser(name, help=help_text, description=(module.__doc__ or help_text).strip().splitlines()[0])
        module.configure(command)
        command.set_defaults(_main=module.main)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    chosen = next((a for a in argv if a in COMMANDS), None)
    parser = build_parser(only=chosen)
    args = parser.parse_args(argv)
    level = logging.ERROR if args.quiet else [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose + 1, 2)]
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    if not getattr(args, "_main", None):
        parser.print_help()
        return 0 if args.command is None else 2
    from vistream.core.errors import VistreamError

    try:
        return int(args._main(args) or 0)
    except VistreamError as exc:
        print(f"vistream {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
