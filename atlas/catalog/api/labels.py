"""Labels: versioned, reviewed, with optimistic concurrency. Part of the Catalog API
(mixed into ``atlas.catalog.Catalog``)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from atlas.address import FeatureAddress, as_feature
from atlas.catalog import audit, labels
from atlas.catalog.records import LabelInfo
from atlas.errors import InvalidInput, VersionConflict


class LabelsMixin:
    """Mixed into :class:`atlas.catalog.Catalog`; uses its sessions and acting user."""

    def set_label(
        self,
        feature: str | FeatureAddress,
        text: str,
        status: str = "proposed",
        confidence: float | None = None,
        author: str | None = None,
        expected_version: int | None = None,
        reason: str | None = None,
    ) -> LabelInfo:
        """Append a label version. With ``expected_version`` (the version the user saw, 0
        for none) a stale edit raises VersionConflict naming the newer version; the
        rejected attempt is kept in the audit log."""
        address = as_feature(feature)
        try:
            with self._writing() as session:
                return labels.append(
                    session, address, text, status, confidence, self._author(session, author),
                    expected_version, reason,
                )
        except IntegrityError:
            # A concurrent writer took the same version number between our read and insert.
            conflict = self._conflict_after_race(address, expected_version)
        except VersionConflict as exc:
            conflict = exc
        self._audit_conflict(address, author, text, status, expected_version, conflict)
        raise conflict

    def _conflict_after_race(self, address: FeatureAddress, expected_version: int | None) -> VersionConflict:
        latest = self.feature(address).label
        version = latest.version if latest else 0
        return VersionConflict(
            f"conflict on {address}: you edited version {expected_version}, but version "
            f"{version} was saved first",
            version,
            latest,
        )

    def _audit_conflict(
        self, address: FeatureAddress, author: str | None, text: str, status: str,
        expected_version: int | None, conflict: VersionConflict,
    ) -> None:
        with self._writing() as session:
            audit.record(
                session, self._author(session, author), "label.conflict", "feature", str(address),
                {"version": conflict.current_version},
                {"text": text, "status": status, "expected_version": expected_version},
            )

    def review_label(
        self,
        feature: str | FeatureAddress,
        status: str,
        reason: str | None = None,
        author: str | None = None,
        expected_version: int | None = None,
    ) -> LabelInfo:
        """Accept, reject or dispute the current label text: a new version, same text."""
        feature = as_feature(feature)
        current = self.feature(feature).label
        if current is None:
            raise InvalidInput(f"{feature} has no label to review")
        base = current.version if expected_version is None else expected_version
        return self.set_label(feature, current.text, status, current.confidence, author, base, reason)

    def label_history(self, feature: str | FeatureAddress) -> list[LabelInfo]:
        address = as_feature(feature)
        with self._reading() as session:
            return labels.history(session, address)
