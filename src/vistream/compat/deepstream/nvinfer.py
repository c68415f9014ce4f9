"""Read DeepStream nvinfer config files (INI: ``[property]``, ``[class-attrs-all]``, ``[class-attrs-N]``).

The result is the mapping :func:`vistream.elements.infer.config.config_from_mapping` validates
(``[property]`` keys at the top level, class sections by name), so INI and YAML share one set
of rules and error messages.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "config_infer_primary.txt"
    >>> _ = path.write_text("[property]\\nnet-scale-factor=0.0039\\nbatch-size=2\\n"
    ...                     "[class-attrs-all]\\npre-cluster-threshold=0.3\\n")
    >>> read_nvinfer_ini(path)
    {'net-scale-factor': '0.0039', 'batch-size': '2', 'class-attrs-all': {'pre-cluster-threshold': '0.3'}}
"""

from __future__ import annotations

import configparser
from pathlib import Path
from typing import Any

from vistream.core.errors import ConfigError


def read_nvinfer_ini(path: str | Path) -> dict[str, Any]:
    """Parse an nvinfer INI file into ``{property keys..., "class-attrs-all": {...}, "class-attrs-N": {...}}``."""
    path = Path(path)
    parser = configparser.ConfigParser(interpolation=None, strict=True, inline_comment_prefixes=("#",))
    parser.optionxform = str  # keep key case (e.g. ``minBoxes``)
    try:
        parser.read_string(path.read_text(), source=str(path))
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a valid nvinfer config: {exc}") from exc
    if not parser.has_section("property"):
        raise ConfigError(f"{path}: no [property] section (sections: {', '.join(parser.sections()) or 'none'})")
    out: dict[str, Any] = {key.strip(): value.strip() for key, value in parser.items("property")}
    for section in parser.sections():
        if section == "property":
            continue
        if section == "class-attrs-all" or section.startswith("class-attrs-"):
            out[section] = {key.strip(): value.strip() for key, value in parser.items(section)}
        else:
            raise ConfigError(f"{path}: unknown section [{section}]; valid: [property], [class-attrs-all], "
                              "[class-attrs-<class id>]")
    return out
