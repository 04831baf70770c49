"""Errors a researcher sees. Each carries a one-line message that names the problem,
so the CLI and the app can show it as is instead of a traceback."""


class AtlasError(Exception):
    """Base of every error the catalogue raises on purpose."""


class NotFound(AtlasError):
    """A model, layer, unit, circuit, user or blob that does not exist."""


class InvalidInput(AtlasError):
    """Malformed input: an address, a status, a file, a parameter."""


class VersionConflict(AtlasError):
    """A write based on a stale version: someone else saved first.

    Carries the newer version so a caller can show it and let the user re-apply.
    """

    def __init__(self, message: str, current_version: int, current: object = None):
        super().__init__(message)
        self.current_version = current_version
        self.current = current


class PermissionDenied(AtlasError):
    """A user whose role does not allow the write."""


class DatabaseError(AtlasError):
    """The database is unreachable or not migrated."""


class DatabaseUnreachable(DatabaseError):
    """No connection to the database right now (server down, network, credentials)."""
