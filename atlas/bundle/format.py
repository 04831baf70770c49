"""The bundle format: a zip of JSON-lines tables and content-addressed blobs with a
manifest listing the sha256 of every member.

Bundles are written deterministically (sorted members, fixed timestamps, records in a
canonical order, sorted keys), so exporting the same catalogue twice, or re-exporting an
imported bundle, gives byte-identical files that can be compared by hash.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from typing import IO, Iterable

from atlas.errors import InvalidInput

SCHEMA = "atlas.bundle"
VERSION = 1
TABLES = ("models", "layers", "directions", "labels", "evidence", "circuits", "families", "edges", "artifacts")
BLOB_MEMBER = re.compile(r"^blobs/[0-9a-f]{64}$")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
MAX_TOTAL_BYTES = 20 * 1024**3
MAX_RATIO = 200  # a member inflating more than this is treated as a zip bomb


class BundleError(InvalidInput):
    """A bundle that is tampered, truncated, unsafe or of an unknown version."""


def table_member(table: str) -> str:
    return f"{table}.jsonl"


def jsonl(records: Iterable[dict]) -> bytes:
    return "".join(json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n" for r in records).encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_zip(target: IO[bytes], members: dict[str, bytes]) -> None:
    """Members plus a manifest, in sorted order with fixed metadata."""
    manifest = {
        "schema": SCHEMA,
        "version": VERSION,
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


def read_zip(source: IO[bytes] | str) -> dict[str, bytes]:
    """All members, verified against the manifest; any doubt is a BundleError."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleError(f"not a readable bundle (truncated or not a zip): {exc}") from None
    with archive:
        infos = archive.infolist()
        unsafe = [i.filename for i in infos if not _safe_name(i.filename)]
        if unsafe:
            raise BundleError(f"bundle has members outside its format (unsafe paths?): {unsafe[:3]}")
        if len({i.filename for i in infos}) != len(infos):
            raise BundleError("bundle has duplicate member names")
        if sum(i.file_size for i in infos) > MAX_TOTAL_BYTES:
            raise BundleError("bundle expands to more than 20 GiB")
        bombs = [i.filename for i in infos if i.compress_size and i.file_size / i.compress_size > MAX_RATIO]
        if bombs:
            raise BundleError(f"bundle members inflate suspiciously (zip bomb?): {bombs[:3]}")
        try:
            members = {i.filename: archive.read(i) for i in infos}
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise BundleError(f"bundle is corrupted: {exc}") from None
    manifest = _manifest(members.pop("manifest.json", None))
    listed = manifest["members"]
    if set(listed) != set(members):
        missing, extra = sorted(set(listed) - set(members)), sorted(set(members) - set(listed))
        raise BundleError(f"bundle does not match its manifest (missing {missing[:3]}, unlisted {extra[:3]})")
    for name, data in members.items():
        if sha256(data) != listed[name]:
            raise BundleError(f"bundle member {name} fails its sha256 check (tampered or corrupted)")
        if name.startswith("blobs/") and sha256(data) != name.removeprefix("blobs/"):
            raise BundleError(f"blob {name} does not hash to its name")
    return members


def _manifest(raw: bytes | None) -> dict:
    if raw is None:
        raise BundleError("bundle has no manifest.json")
    try:
        manifest = json.loads(raw)
    except ValueError:
        raise BundleError("bundle manifest is not valid JSON") from None
    if manifest.get("schema") != SCHEMA:
        raise BundleError(f"not an {SCHEMA} file")
    if manifest.get("version") != VERSION:
        raise BundleError(f"unknown bundle schema version {manifest.get('version')!r} (this atlas reads {VERSION})")
    if not isinstance(manifest.get("members"), dict):
        raise BundleError("bundle manifest lists no members")
    return manifest


def records(members: dict[str, bytes], table: str) -> list[dict]:
    raw = members.get(table_member(table), b"")
    try:
        return [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
    except (ValueError, UnicodeDecodeError) as exc:
        raise BundleError(f"{table_member(table)} is not valid JSON lines: {exc}") from None
