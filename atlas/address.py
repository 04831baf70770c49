"""Feature addresses: ``model/layer/17`` for a unit, ``model/layer/dir:name`` for a direction.

Addresses are typed by researchers and pasted between tools, so parsing is strict and an
error says which part is wrong. Names are restricted to a safe alphabet: an address never
becomes a path component that escapes anything (``..``) or a query fragment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from atlas.bounds import MAX_INT32
from atlas.errors import InvalidInput

NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}$")
# User names may be e-mail shaped (``cora@lab-b.org``): an OIDC e-mail claim, or the
# provenance of a label imported from another lab (``cora@lab-b``).
USER_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+\-]{0,63}(@[A-Za-z0-9][A-Za-z0-9.\-]{0,34})?$")


def check_pattern(value: object, pattern: re.Pattern[str], error: str) -> str:
    """``value`` if it is a string that ``pattern`` matches whole and that holds no
    ``..``; otherwise ``InvalidInput(error)``. The one check behind every name the atlas
    turns into a path, a query or an author (a trailing newline passes ``$``, so whole
    matches only)."""
    if not isinstance(value, str) or not pattern.fullmatch(value) or ".." in value:
        raise InvalidInput(error)
    return value


def check_name(name: str, what: str) -> str:
    return check_pattern(name, NAME_RE, f"invalid {what} name {name!r}: use letters, digits, '_', '-' and '.' "
                                        "(not starting with '.' or '-', no '..')")


def check_user_name(name: str) -> str:
    """A user name: a plain name or an e-mail-shaped one, at most 100 characters."""
    return check_pattern(name, USER_NAME_RE, f"invalid user name {name!r}: use letters, digits, '_', '-', '.' "
                                             "and '+', optionally @ and a domain (e.g. cora or cora@lab-b.org)")


@dataclass(frozen=True)
class LayerAddress:
    model: str
    layer: str

    def __str__(self) -> str:
        return f"{self.model}/{self.layer}"

    def unit(self, channel: int) -> FeatureAddress:
        return FeatureAddress(self.model, self.layer, channel=channel)

    def direction(self, name: str) -> FeatureAddress:
        return FeatureAddress(self.model, self.layer, direction=name)

    def target(self, target: int | str) -> FeatureAddress:
        """A unit by its channel (an int) or a direction by its name (a str): what a
        compute job's list of units and directions names."""
        return self.direction(target) if isinstance(target, str) else self.unit(int(target))


@dataclass(frozen=True)
class FeatureAddress:
    """A parsed feature address. ``str()`` is the one place an address is written out:
    ``model/layer/17`` for a unit, ``model/layer/dir:name`` for a direction."""

    model: str
    layer: str
    channel: int | None = None
    direction: str | None = None

    @property
    def layer_address(self) -> LayerAddress:
        return LayerAddress(self.model, self.layer)

    def __str__(self) -> str:
        last = str(self.channel) if self.direction is None else f"dir:{self.direction}"
        return f"{self.model}/{self.layer}/{last}"


def feature_address(model: str, layer: str, kind: str, channel: int | None, name: str | None) -> FeatureAddress:
    """The address of a feature row: a unit by its channel, a direction by its name."""
    if kind == "direction":
        return FeatureAddress(model, layer, direction=name)
    return FeatureAddress(model, layer, channel=channel)


def parse_layer(text: str) -> LayerAddress:
    parts = _split(text, 2, "model/layer")
    return LayerAddress(check_name(parts[0], "model"), check_name(parts[1], "layer"))


def parse_feature(text: str) -> FeatureAddress:
    parts = _split(text, 3, "model/layer/unit or model/layer/dir:name")
    model, layer, last = check_name(parts[0], "model"), check_name(parts[1], "layer"), parts[2]
    if last.startswith("dir:"):
        return FeatureAddress(model, layer, direction=check_name(last[4:], "direction"))
    if not last.isdigit() or not last.isascii():
        raise InvalidInput(
            f"invalid unit {last!r} in address {text!r}: a unit is a non-negative integer "
            "channel index (or dir:NAME for a direction)"
        )
    digits = last.lstrip("0") or "0"
    if len(digits) > len(str(MAX_INT32)) or int(digits) > MAX_INT32:
        # Larger than any layer, and than the INTEGER column the channel is compared with.
        raise InvalidInput(f"invalid unit {last!r} in address {text!r}: a unit index is below 2**31")
    return FeatureAddress(model, layer, channel=int(digits))


def as_feature(address: str | FeatureAddress) -> FeatureAddress:
    """The typed address of ``address``: parsed once where it enters (the Catalog's
    methods), then passed inward as it is."""
    return address if isinstance(address, FeatureAddress) else parse_feature(address)


def as_layer(address: str | LayerAddress) -> LayerAddress:
    return address if isinstance(address, LayerAddress) else parse_layer(address)


def _split(text: str, count: int, shape: str) -> list[str]:
    parts = text.strip().split("/") if isinstance(text, str) else []
    if len(parts) != count or any(part == "" for part in parts):
        raise InvalidInput(f"invalid address {text!r}: expected {shape}")
    return parts
