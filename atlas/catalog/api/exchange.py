"""Exchange: bundles (a catalogue, or some models of it, as one zip) and seed catalogues.
Part of the Catalog API (mixed into ``atlas.catalog.Catalog``).

The code that reads and writes them lives in ``atlas.exchange``, above the catalogue; the
catalogue reaches it by name through ``EXCHANGERS`` (an ``atlas.registry.Registry`` whose
built-in modules register the ``bundle`` and ``seed`` exchangers when first looked up),
never by a static import, so the catalogue's package imports nothing above it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from atlas.catalog.resolve import require_role
from atlas.registry import Registry

if TYPE_CHECKING:
    from atlas.exchange.bundle.read import ImportReport
    from atlas.exchange.seed import SeedReport


class BundleExchanger(NamedTuple):
    """What the catalogue needs of a bundle format (``atlas.exchange.bundle`` registers one)."""

    write: Callable[..., dict[str, int]]  # (session, blobs, target, models, origin) -> counts
    stage: Callable[[Any, Path], AbstractContextManager[Any]]  # (source, folder) -> staged bundle
    merge: Callable[..., Any]  # (session, blobs, staged, user) -> ImportReport


EXCHANGERS: Registry[Any] = Registry("exchanger", ("atlas.exchange.bundle", "atlas.exchange.seed"))


class ExchangeMixin:
    """Mixed into :class:`atlas.catalog.Catalog`; uses its sessions, blob store and acting user."""

    def export_bundle(
        self, target: str | IO[bytes], models: Sequence[str] | None = None, origin: str | None = None
    ) -> dict[str, int]:
        """Write the catalogue (or some models of it) as a bundle zip; returns counts.
        ``origin`` names this catalogue in it (default: the ``catalogue_name`` setting)."""
        bundle: BundleExchanger = EXCHANGERS.get("bundle")
        with self._reading() as session:
            return bundle.write(session, self.blobs, target, list(models) if models else None, origin)

    def import_bundle(self, source: str | IO[bytes], author: str | None = None) -> ImportReport:
        """Merge a bundle in one transaction; a bad bundle is rejected with nothing written.
        Its blobs are staged while it is checked and moved into the store only once the
        transaction has committed."""
        bundle: BundleExchanger = EXCHANGERS.get("bundle")
        with self._reading() as session:
            require_role(session, self._author(session, author), "admin", "import bundles")
        with self.blobs.staging() as folder, bundle.stage(source, folder) as staged:
            with self._writing() as session:
                user = require_role(session, self._author(session, author), "admin", "import bundles")
                report = bundle.merge(session, self.blobs, staged, user)
            for sha, path in staged.blobs.items():
                self.blobs.put_file(path, sha)
        return report

    def load_seed(self, name_or_path: str, author: str | None = None) -> SeedReport:
        """Load a seed catalogue (``inceptionv1``, ``demo`` or a path) in one transaction."""
        load = EXCHANGERS.get("seed")
        with self._writing() as session:
            return load(session, self.blobs, name_or_path, self._author(session, author))
