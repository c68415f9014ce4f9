"""Typed, documented element properties.

A :class:`Property` is a descriptor declared on an element class. It knows its user-facing name
(``batch-size`` for the attribute ``batch_size``), its type, default, range or choices and doc,
and it coerces strings from launch strings and YAML into the right type.

Example:
    >>> from vistream.core.properties import Property, coerce
    >>> class Demo:
    ...     batch_size = Property(int, 1, "Frames per batch", minimum=1)
    >>> d = Demo()
    >>> d.batch_size = "4"
    >>> d.batch_size
    4
    >>> coerce("0;2;3", "int-list", "operate-on-class-ids")
    [0, 2, 3]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from vistream.core.errors import PropertyError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

PropertyType = type | str | Callable[[Any], Any]
LIST_KINDS = {"int-list": int, "float-list": float, "str-list": str}


def type_name(kind: PropertyType) -> str:
    """Human-readable name of a property type."""
    if isinstance(kind, str):
        return kind
    return getattr(kind, "__name__", str(kind))


def coerce(value: Any, kind: PropertyType, name: str) -> Any:
    """Convert ``value`` to ``kind`` or raise :class:`PropertyError` naming the property."""
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, (int,)) and value in (0, 1):
                return bool(value)
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError
        if kind is int:
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(str(value).strip(), 0) if isinstance(value, str) else int(value)
        if kind is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if kind is str:
            if isinstance(value, (dict, list, tuple)):
                raise ValueError
            return str(value)
        if isinstance(kind, str) and kind in LIST_KINDS:
            item_kind = LIST_KINDS[kind]
            if isinstance(value, str):
                parts = [p for p in value.replace(",", ";").split(";") if p.strip()]
            elif isinstance(value, (list, tuple)):
                parts = list(value)
            else:
                parts = [value]
            return [coerce(p.strip() if isinstance(p, str) else p, item_kind, name) for p in parts]
        if kind is dict:
            if not isinstance(value, dict):
                raise ValueError
            return dict(value)
        if kind is object:
            return value
        if callable(kind):
            return kind(value)
    except PropertyError:
        raise
    except (TypeError, ValueError) as exc:
        detail = f": {exc}" if str(exc) else ""
        raise PropertyError(
            f"property '{name}' expects {type_name(kind)}, got {value!r} ({type(value).__name__}){detail}"
        ) from None
    raise PropertyError(f"property '{name}' has an unsupported type {kind!r}")


class Property:
    """A typed element property (descriptor).

    Args:
        kind: ``int``, ``float``, ``bool``, ``str``, ``dict``, ``object``, ``"int-list"``,
            ``"float-list"``, ``"str-list"`` or a converter callable.
        default: value used when the property is not set.
        doc: one-line description shown by ``vistream inspect``.
        minimum / maximum: inclusive range for numbers.
        choices: allowed values.
        nullable: whether ``None`` is accepted.
        mutable: whether it may change while the pipeline runs.
    """

    def __init__(
        self,
        kind: PropertyType,
        default: Any,
        doc: str,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        choices: Sequence[Any] | None = None,
        nullable: bool = False,
        mutable: bool = True,
    ) -> None:
        self.kind = kind
        self.default = default
        self.doc = doc
        self.minimum = minimum
        self.maximum = maximum
        self.choices = tuple(choices) if choices is not None else None
        self.nullable = nullable or default is None
        self.mutable = mutable
        self.attr = ""
        self.name = ""

    def __set_name__(self, owner: type, attr: str) -> None:
        self.attr = attr
        self.name = attr.replace("_", "-")

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        values = instance.__dict__
        if self.attr in values:  # hot path: elements read their properties per batch
            return values[self.attr]
        if isinstance(self.default, (list, dict, set)):
            # Mutable defaults are copied once per instance so instances never share them.
            values[self.attr] = _copy_default(self.default)
            return values[self.attr]
        return self.default

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self.attr] = self.validate(value, getattr(instance, "name", ""))

    def validate(self, value: Any, owner_name: str = "") -> Any:
        """Coerce and range-check a value; errors name the element and property."""
        label = f"{owner_name}.{self.name}" if owner_name else self.name
        if value is None:
            if self.nullable:
                return None
            raise PropertyError(f"property '{label}' may not be None (expected {type_name(self.kind)})")
        value = coerce(value, self.kind, label)
        if self.choices is not None and value not in self.choices:
            valid = ", ".join(repr(c) for c in self.choices)
            raise PropertyError(f"property '{label}' got {value!r}; valid values: {valid}")
        if self.minimum is not None and value < self.minimum:
            raise PropertyError(f"property '{label}' got {value!r}; minimum is {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise PropertyError(f"property '{label}' got {value!r}; maximum is {self.maximum}")
        return value

    def describe(self) -> dict[str, Any]:
        """Name, type, default, range / choices and doc (for ``inspect``)."""
        out: dict[str, Any] = {
            "name": self.name,
            "type": type_name(self.kind),
            "default": self.default,
            "doc": self.doc,
        }
        if self.minimum is not None or self.maximum is not None:
            out["range"] = [self.minimum, self.maximum]
        if self.choices is not None:
            out["choices"] = list(self.choices)
        return out


def _copy_default(default: Any) -> Any:
    if isinstance(default, (list, dict, set)):
        return type(default)(default)
    return default
