"""GStreamer and torch in one process: initialising GStreamer first must not break torch."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

from tests.conftest import require

SCRIPT = """
from vistream.media.gstreamer import import_gst
import_gst()
import torch
torch.onnx.export(torch.nn.Conv2d(3, 4, 3), torch.zeros(1, 3, 8, 8), sys.argv[1], dynamo=False)
print("exported")
"""


def test_torch_export_works_after_gstreamer_starts(tmp_path):
    require(importlib.util.find_spec("torch") is not None, "torch")
    from vistream.media.gstreamer import import_gi

    try:
        import_gi()
    except Exception as exc:
        require(False, f"PyGObject / GStreamer ({exc})")
    result = subprocess.run([sys.executable, "-c", "import sys\n" + SCRIPT, str(tmp_path / "m.onnx")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "exported" in result.stdout
