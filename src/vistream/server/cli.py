"""Run a pipeline as a service: REST API, Prometheus metrics, health, live dashboard.

Example:
    vistream serve pipeline.yaml --port 8080 --allow-local-files --media-root ~/videos
    curl -X POST localhost:8080/api/streams -H 'content-type: application/json' \\
         -d '{"name": "cam1", "uri": "rtsp://127.0.0.1:8554/cam1"}'
"""

from __future__ import annotations

import argparse
import os
import sys

from vistream.server.uris import DEFAULT_SCHEMES


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="pipeline.yaml (or a DeepStream app config) with one streammux")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8080, help="TCP port (default 8080)")
    parser.add_argument("--token", default=os.environ.get("VISTREAM_TOKEN") or None,
                        help="bearer token for the API and dashboard (default: $VISTREAM_TOKEN; none: open)")
    parser.add_argument("--mux", default=None, help="name of the streammux streams are added to (default: the only one)")
    parser.add_argument("--tap", default=None,
                        help="pad where frames are counted and previews taken, e.g. osd.src (default: the pad feeding the sink)")
    parser.add_argument("--stall-timeout", type=float, default=5.0,
                        help="seconds without a frame after which a stream makes /health unhealthy")
    parser.add_argument("--allow-scheme", action="append", default=None, metavar="SCHEME",
                        help=f"URI scheme streams may use (repeatable; default {', '.join(DEFAULT_SCHEMES)}; "
                             "'file' for local files, 'lavfi' for FFmpeg test sources)")
    parser.add_argument("--allow-local-files", action="store_true",
                        help="let the API add local files (adds the 'file' scheme) inside the --media-root folders")
    parser.add_argument("--media-root", action="append", default=[], metavar="DIR",
                        help="folder local files must be inside (repeatable; required with --allow-local-files)")
    parser.add_argument("--preview-fps", type=float, default=5.0, help="JPEG previews per second per stream")
    parser.add_argument("--source-factory", default="urisrc", help="element created for added streams")


def main(args: argparse.Namespace) -> int:
    from vistream.commands.run import load_any
    from vistream.server.http import ServiceServer
    from vistream.server.service import StreamService
    from vistream.server.uris import UriPolicy

    if args.allow_local_files and not args.media_root:
        from vistream.core.errors import ConfigError

        raise ConfigError("--allow-local-files needs at least one --media-root DIR: the folders the API may read from")
    schemes = tuple(args.allow_scheme or DEFAULT_SCHEMES)
    if args.allow_local_files and "file" not in schemes:
        schemes += ("file",)
    roots = tuple(os.path.expanduser(r) for r in args.media_root)
    policy = UriPolicy(schemes=schemes, allow_local_files=args.allow_local_files, media_roots=roots)
    service = StreamService(load_any(args.file), mux=args.mux, policy=policy, stall_timeout=args.stall_timeout,
                            source_factory=args.source_factory, tap=args.tap, preview_fps=args.preview_fps)
    server = ServiceServer(service, host=args.host, port=args.port, token=args.token, log_level="warning")
    server.start()
    print(f"vistream serve: {server.url}/ (API docs {server.url}/docs, metrics {server.url}/metrics)"
          + ("; bearer token required" if args.token else ""), file=sys.stderr, flush=True)
    try:
        server.wait()
    except KeyboardInterrupt:
        print("stopping (Ctrl-C)", file=sys.stderr)
    finally:
        server.stop()
    return 0
