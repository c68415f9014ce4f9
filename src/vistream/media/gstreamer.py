"""Import GStreamer (``Gst``, ``GstRtspServer``, ``GLib``) through PyGObject, also from a virtualenv.

Debian packages PyGObject as ``python3-gi`` in ``/usr/lib/python3/dist-packages/gi``, which a
virtualenv does not see. When ``import gi`` fails, :func:`import_gst` loads that one package
(and only it: the rest of dist-packages stays out of ``sys.path``) if it was built for this Python.
No ``.pth`` file or Makefile step is needed: installing the Debian packages is enough::

    apt-get install gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base \\
        gstreamer1.0-plugins-good gstreamer1.0-plugins-bad python3-gi

Example:
    >>> from vistream.media.gstreamer import import_gst
    >>> Gst, GstRtspServer, GLib = import_gst()  # doctest: +SKIP
    >>> Gst.version_string()  # doctest: +SKIP
    'GStreamer 1.22.0'
"""

from __future__ import annotations

import ctypes
import importlib
import importlib.util
import sys
import sysconfig
from pathlib import Path
from types import ModuleType
from typing import Any

from vistream.core.errors import ConfigError

SYSTEM_GI = Path("/usr/lib/python3/dist-packages/gi")
INSTALL_HINT = ("install PyGObject and GStreamer's RTSP server, e.g. on Debian / Ubuntu: apt-get install "
                "gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good "
                "gstreamer1.0-plugins-bad python3-gi")


def _load_system_gi(folder: Path = SYSTEM_GI) -> ModuleType | None:
    """Load Debian's ``gi`` package by path when its C extension matches this interpreter."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    if not (folder / "__init__.py").is_file() or not (folder / f"_gi{suffix}").is_file():
        return None
    spec = importlib.util.spec_from_file_location("gi", folder / "__init__.py",
                                                  submodule_search_locations=[str(folder)])
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gi"] = module
    try:
        spec.loader.exec_module(module)
    except Exception:
        sys.modules.pop("gi", None)
        return None
    return module


def import_gi() -> ModuleType:
    """``gi`` from the environment, else Debian's ``python3-gi``; ConfigError saying what to install."""
    _keep_gcc_unwinder_first()
    try:
        return importlib.import_module("gi")
    except ImportError:
        module = _load_system_gi()
        if module is None:
            raise ConfigError(f"PyGObject ('gi') is not importable; {INSTALL_HINT}") from None
        return module


def _keep_gcc_unwinder_first() -> None:
    """Make the GCC unwinder win over libunwind before GStreamer loads.

    Debian's libgstreamer links libunwind, whose ``_Unwind_*`` symbols then interpose GCC's for
    libraries loaded later: C++ exceptions thrown inside torch, onnxruntime or OpenCV abort the
    process ("terminate called after throwing an instance of 'pybind11::stop_iteration'", seen
    with ``torch.onnx.export`` after ``Gst.init``). Loading ``libgcc_s`` globally first keeps the
    unwinder every C++ library expects.
    """
    try:
        ctypes.CDLL("libgcc_s.so.1", mode=ctypes.RTLD_GLOBAL)
    except OSError:  # not a glibc system: nothing to protect
        pass


def import_gst() -> tuple[Any, Any, Any]:
    """(Gst, GstRtspServer, GLib), with ``Gst.init`` done."""
    gi = import_gi()
    try:
        gi.require_version("Gst", "1.0")
        gi.require_version("GstRtspServer", "1.0")
        gi.require_version("GstRtsp", "1.0")
        from gi.repository import GLib, Gst, GstRtspServer  # type: ignore[import-not-found]
    except (ValueError, ImportError) as exc:
        raise ConfigError(f"GStreamer's RTSP server is not available ({exc}); {INSTALL_HINT}") from None
    Gst.init(None)
    missing = [name for name in ("appsrc", "h264parse", "rtph264pay") if Gst.ElementFactory.find(name) is None]
    if missing:
        raise ConfigError(f"GStreamer elements {', '.join(missing)} are missing; {INSTALL_HINT}")
    return Gst, GstRtspServer, GLib
