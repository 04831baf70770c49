"""The bundle format: a zip of JSON-lines tables and content-addressed blobs with a
manifest listing the sha256 of every member and the name of the catalogue it came from
(its ``origin``, which qualifies the names of its authors).

Bundles are written deterministically (sorted members, fixed timestamps, records in a
canonical order, sorted keys), so exporting the same catalogue twice, or re-exporting an
imported bundle under the same origin, gives byte-identical files that can be compared
by hash.

Reading one trusts nothing in it: every member is streamed to a staging file while it is
hashed, under caps on each member's size, on the total, on the number of members and on
the compression ratio, all counted on the bytes actually read. Memory stays bounded
whatever the bundle holds; nothing reaches the catalogue or its blob store until the
whole bundle has been checked.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from atlas.address import check_pattern
from atlas.errors import InvalidInput

SCHEMA = "atlas.bundle"
VERSION = 1
TABLES = ("models", "layers", "directions", "labels", "evidence", "circuits", "families", "edges", "artifacts",
          "relations")  # a bundle written before relations travelled has no relations member
BLOB_MEMBER = re.compile(r"^blobs/[0-9a-f]{64}$")
# An origin qualifies user names (cora -> cora@lab-b), so it has the shape of their domain.
ORIGIN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]{0,34}$")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
MAX_RATIO = 200  # a member inflating more than this is treated as a zip bomb...
RATIO_FLOOR = 1024**2  # ...once it has produced this much (small members may compress well)
CHUNK = 1024**2
DEFAULT_MAX_MEMBER_BYTES = 256 * 1024**2
DEFAULT_MAX_TOTAL_BYTES = 2 * 1024**3
DEFAULT_MAX_MEMBERS = 200_000
# The central directory costs at most this per member beyond the members' own bytes.
DIRECTORY_BYTES_PER_MEMBER = 1024
# A manifest line per member (name and sha256) is about 150 bytes; the manifest is parsed
# in memory, so it may not be larger than that.
MANIFEST_BYTES_PER_MEMBER = 256


class BundleError(InvalidInput):
    """A bundle that is tampered, truncated, unsafe, too large or of an unknown version."""


@dataclass(frozen=True)
class Limits:
    """Caps on what reading a bundle may cost, from the environment (read when a bundle
    is opened, so an admin can raise them for one large import)."""

    member_bytes: int = DEFAULT_MAX_MEMBER_BYTES
    total_bytes: int = DEFAULT_MAX_TOTAL_BYTES
    members: int = DEFAULT_MAX_MEMBERS

    @classmethod
    def from_env(cls) -> Limits:
        return cls(
            _env_int("ATLAS_BUNDLE_MAX_MEMBER_BYTES", DEFAULT_MAX_MEMBER_BYTES),
            _env_int("ATLAS_BUNDLE_MAX_TOTAL_BYTES", DEFAULT_MAX_TOTAL_BYTES),
            _env_int("ATLAS_BUNDLE_MAX_MEMBERS", DEFAULT_MAX_MEMBERS),
        )


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{name}={raw!r} is not a whole number") from None
    if value <= 0:
        raise InvalidInput(f"{name} must be positive, got {value}")
    return value


def check_origin(name: object) -> str:
    return check_pattern(name, ORIGIN_RE, f"invalid origin {name!r}: 1 to 35 letters, digits, '.' and '-' "
                                          "(e.g. lab-b), as it becomes the domain of the names of the bundle's authors")


def table_member(table: str) -> str:
    return f"{table}.jsonl"


def jsonl(records: Iterable[dict]) -> bytes:
    return "".join(json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n" for r in records).encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_zip(target: IO[bytes], members: dict[str, bytes], *, origin: str) -> None:
    """Members plus a manifest, in sorted order with fixed metadata."""
    manifest = {
        "schema": SCHEMA,
        "version": VERSION,
        "origin": check_origin(origin),
        "members": {name: sha256(data) for name, data in sorted(members.items())},
    }
    everything = {**members, "manifest.json": json.dumps(manifest, indent=1, sort_keys=True).encode()}
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name in sorted(everything):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, everything[name], compresslevel=6)


def _safe_name(name: str) -> bool:
    allowed = name == "manifest.json" or name in {table_member(t) for t in TABLES} or BLOB_MEMBER.match(name)
    return bool(allowed) and not name.startswith("/") and ".." not in name and "\\" not in name


# Everything zipfile and zlib raise on a damaged or unsupported archive.
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError, RuntimeError)


class StagedBundle:
    """A bundle being read: checked member by member into files under ``folder``.

    Opening it checks the archive's directory (names, count, declared sizes and ratios),
    then stages and verifies the manifest and the tables. ``stage_blobs`` then stages the
    blobs the rows refer to, and refuses blob members that nothing refers to. Use it as a
    context manager: the archive stays open until then."""

    def __init__(self, source: IO[bytes] | str, folder: Path, limits: Limits | None = None):
        self.folder, self.limits = folder, limits or Limits.from_env()
        self.read_bytes = 0
        self.blobs: dict[str, Path] = {}
        self._records: dict[str, list[tuple[int, dict]]] = {}
        size = _size(source)
        if size > self.limits.total_bytes + self.limits.members * DIRECTORY_BYTES_PER_MEMBER:
            raise BundleError(f"bundle file is {size:,} bytes, more than its contents may expand to "
                              f"({self.limits.total_bytes:,} bytes, ATLAS_BUNDLE_MAX_TOTAL_BYTES)")
        try:
            self.archive = zipfile.ZipFile(source)
        except _ZIP_ERRORS as exc:
            raise BundleError(f"not a readable bundle (truncated or not a zip): {exc}") from None
        try:
            self.infos = self._check_directory(size)
            self.manifest = self._manifest()
            self.origin = self._origin()
            self.tables = {t: self._stage(table_member(t)) for t in TABLES if table_member(t) in self.infos}
        except BaseException:
            self.archive.close()
            raise

    def __enter__(self) -> StagedBundle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.archive.close()

    def _check_directory(self, size: int) -> dict[str, zipfile.ZipInfo]:
        """What the archive's directory says, refused before a byte is inflated."""
        infos, limits = self.archive.infolist(), self.limits
        if len(infos) > limits.members:
            raise BundleError(f"bundle has {len(infos):,} members; the limit is {limits.members:,} "
                              "(ATLAS_BUNDLE_MAX_MEMBERS)")
        unsafe = [i.filename for i in infos if not _safe_name(i.filename)]
        if unsafe:
            raise BundleError(f"bundle has members outside its format (unsafe paths?): {unsafe[:3]}")
        if len({i.filename for i in infos}) != len(infos):
            raise BundleError("bundle has duplicate member names")
        big = [i.filename for i in infos if i.file_size > limits.member_bytes]
        if big:
            raise BundleError(f"bundle member {big[0]} expands to more than {limits.member_bytes:,} bytes "
                              "(ATLAS_BUNDLE_MAX_MEMBER_BYTES)")
        if sum(i.file_size for i in infos) > limits.total_bytes:
            raise BundleError(f"bundle expands to more than {limits.total_bytes:,} bytes "
                              "(ATLAS_BUNDLE_MAX_TOTAL_BYTES)")
        bombs = [i.filename for i in infos if i.file_size > RATIO_FLOOR and i.file_size > MAX_RATIO * i.compress_size]
        if bombs:
            raise BundleError(f"bundle members inflate suspiciously (zip bomb?): {bombs[:3]}")
        if sum(i.compress_size for i in infos) > size:
            raise BundleError("bundle members claim more compressed bytes than the file holds "
                              "(overlapping members: a zip bomb?)")
        return {i.filename: i for i in infos}

    def _manifest(self) -> dict:
        if "manifest.json" not in self.infos:
            raise BundleError("bundle has no manifest.json")
        if self.infos["manifest.json"].file_size > MANIFEST_BYTES_PER_MEMBER * len(self.infos):
            raise BundleError("bundle manifest is larger than a list of its members can be")
        try:
            manifest = json.loads(self._stage("manifest.json", verify=False).read_bytes())
        except ValueError:
            raise BundleError("bundle manifest is not valid JSON") from None
        if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
            raise BundleError(f"not an {SCHEMA} file")
        if manifest.get("version") != VERSION:
            raise BundleError(f"unknown bundle schema version {manifest.get('version')!r} (this atlas reads {VERSION})")
        listed = manifest.get("members")
        if not isinstance(listed, dict):
            raise BundleError("bundle manifest lists no members")
        present = set(self.infos) - {"manifest.json"}
        if set(listed) != present:
            missing, extra = sorted(set(listed) - present), sorted(present - set(listed))
            raise BundleError(f"bundle does not match its manifest (missing {missing[:3]}, unlisted {extra[:3]})")
        return manifest

    def _origin(self) -> str:
        if "origin" not in self.manifest:
            raise BundleError("bundle manifest names no origin (the catalogue its authors belong to): "
                              "export it again with this version of atlas")
        try:
            return check_origin(self.manifest["origin"])
        except InvalidInput as exc:
            raise BundleError(f"bundle manifest: {exc}") from None

    def _stage(self, name: str, verify: bool = True) -> Path:
        """Stream one member to a staging file, hashing and counting as it goes."""
        info = self.infos[name]
        target = self.folder / name.replace("/", "-")
        digest, size = hashlib.sha256(), 0
        try:
            with self.archive.open(info) as member, open(target, "wb") as out:
                while chunk := member.read(CHUNK):
                    size += len(chunk)
                    self.read_bytes += len(chunk)
                    self._within_limits(name, info, size)
                    digest.update(chunk)
                    out.write(chunk)
        except _ZIP_ERRORS as exc:
            raise BundleError(f"bundle is corrupted: {name}: {exc}") from None
        actual = digest.hexdigest()
        if verify and actual != self.manifest["members"][name]:
            raise BundleError(f"bundle member {name} fails its sha256 check (tampered or corrupted)")
        if verify and name.startswith("blobs/") and actual != name.removeprefix("blobs/"):
            raise BundleError(f"blob {name} does not hash to its name")
        return target

    def _within_limits(self, name: str, info: zipfile.ZipInfo, size: int) -> None:
        """The caps again, on the bytes actually inflated: a directory can lie."""
        if size > self.limits.member_bytes:
            raise BundleError(f"bundle member {name} expands to more than {self.limits.member_bytes:,} bytes "
                              "(ATLAS_BUNDLE_MAX_MEMBER_BYTES)")
        if self.read_bytes > self.limits.total_bytes:
            raise BundleError(f"bundle expands to more than {self.limits.total_bytes:,} bytes "
                              "(ATLAS_BUNDLE_MAX_TOTAL_BYTES)")
        if size > RATIO_FLOOR and size > MAX_RATIO * info.compress_size:
            raise BundleError(f"bundle members inflate suspiciously (zip bomb?): ['{name}']")

    def records(self, table: str) -> list[tuple[int, dict]]:
        """A table's rows with their line numbers (1-based), parsed from the staging file."""
        if table not in self._records:
            self._records[table] = list(self._parse(table))
        return self._records[table]

    def _parse(self, table: str) -> Iterable[tuple[int, dict]]:
        path, member = self.tables.get(table), table_member(table)
        if path is None:
            return
        with open(path, "rb") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line.decode("utf-8"))
                except ValueError as exc:  # UnicodeDecodeError is a ValueError
                    raise BundleError(f"bundle refused: {member} row {number}: not valid JSON: {exc}") from None
                if not isinstance(row, dict):
                    raise BundleError(f"bundle refused: {member} row {number}: not a JSON object")
                yield number, row

    def stage_blobs(self, referenced: set[str]) -> None:
        """Stage (and verify) the blob members the rows refer to; a blob member nothing
        refers to is refused, not stored: it would only bloat the store."""
        members = {name.removeprefix("blobs/") for name in self.infos if name.startswith("blobs/")}
        unreferenced = sorted(members - referenced)
        if unreferenced:
            raise BundleError(f"bundle refused: {len(unreferenced):,} blob members are referred to by no row "
                              f"(e.g. blobs/{unreferenced[0]})")
        for sha in sorted(members):
            self.blobs[sha] = self._stage(f"blobs/{sha}")


def _size(source: IO[bytes] | str) -> int:
    try:
        if isinstance(source, (str, os.PathLike)):
            return os.path.getsize(source)
        position = source.seek(0, os.SEEK_END)
        source.seek(0)
        return position
    except OSError as exc:
        raise BundleError(f"cannot read the bundle: {exc}") from None
