"""The catalogue: the one door through which the app, the CLI and notebooks read and
write (see docs/architecture.md)."""

from atlas.catalog.facade import Catalog, default_user

__all__ = ["Catalog", "default_user"]
