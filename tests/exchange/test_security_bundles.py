"""Hostile bundles (issue 13, items 5, 6 and 12; issue 20, item 1).

Each test builds its bundle here: a bomb whose members each respect the compression-ratio
limit (memory measured in a subprocess), blob members nothing refers to, rows that break
the API's rules, blobs swapped under a manifest that matches them, duplicate members.
A refused bundle leaves the catalogue and its blob store byte-for-byte as they were.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from conftest import CatalogTemplates

from atlas import Catalog
from atlas.db.models import Setting
from atlas.errors import InvalidInput
from atlas.exchange.bundle.format import (
    CHUNK,
    MAX_RATIO,
    RATIO_FLOOR,
    BundleError,
    Limits,
    StagedBundle,
    write_zip,
)
from tests.exchange.test_bundle import export, fill_rich, other, rich  # noqa: F401 (fixtures)
from tests.snapshots import blob_state, state

Members = dict[str, bytes]


def members_of(bundle: bytes) -> tuple[Members, str]:
    """A bundle's members (without its manifest) and its origin."""
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        members = {i.filename: archive.read(i) for i in archive.infolist()}
    return members, json.loads(members.pop("manifest.json"))["origin"]


def rebuilt(bundle: bytes, change: Callable[[Members], None]) -> bytes:
    """The bundle with ``change`` applied and a manifest that matches the new content: a
    hostile bundle that is internally consistent, so only the importer's checks stand."""
    members, origin = members_of(bundle)
    change(members)
    out = io.BytesIO()
    write_zip(out, members, origin=origin)
    return out.getvalue()


def rows(members: Members, table: str) -> list[dict]:
    return [json.loads(line) for line in members[f"{table}.jsonl"].decode().splitlines()]


def set_rows(members: Members, table: str, records: list[dict]) -> None:
    members[f"{table}.jsonl"] = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records).encode()


def edit_last(table: str, edit: Callable[[dict], None]) -> Callable[[Members], None]:
    """A change that edits the last row of a table (so the row number is not just 1)."""
    def change(members: Members) -> None:
        records = rows(members, table)
        edit(records[-1])
        set_rows(members, table, records)
    return change


def _set(**fields: object) -> Callable[[dict], None]:
    return lambda row: row.update(fields)


def _claim(**fields: object) -> Callable[[dict], None]:
    return lambda row: row["claims"][0].update(fields)


def _link(**fields: object) -> Callable[[dict], None]:
    """The row made a published family link (valid as it stands), then ``fields`` set; its
    details (naming the CKA heatmap, a blob member) are kept, so the bundle still uses it."""
    link = {"relation": "inputs_of", "method": "published", "ends": "families", "src": "circles",
            "dst": "curve detector", "score": None, "source": "https://example.org/x", "stimuli": {}}
    return lambda row: row.update({**link, **fields})


MISSING = "0" * 64
BAD_ROWS = {
    "confidence out of range": ("labels", _set(confidence=7), "confidence must be between 0 and 1, got 7"),
    "unknown label status": ("labels", _set(status="canonical"), "unknown label status 'canonical'"),
    "label too long": ("labels", _set(text="x" * 2001), "label text is 2001 characters"),
    "label with ESC": ("labels", _set(text="curve\x1b[2J"), "label text contains the control character U\\+001B"),
    "reason with an override": ("labels", _set(reason="ok\u202e"), "reason contains the control character U\\+202E"),
    "author not a user name": ("labels", _set(author="../root"), "invalid user name"),
    "unknown evidence kind": ("evidence", _set(kind="script"), "unknown evidence kind 'script'"),
    "javascript link": ("evidence", _set(kind="link", body="javascript:alert(1)", blobs=[]),
                        "a link must be an http or https URL"),
    "image missing from the bundle": ("evidence", _set(kind="image", body="crop", blobs=[MISSING]),
                                      f"evidence refers to blob {MISSING}"),
    "unknown circuit status": ("circuits", _set(status="proven"), "unknown circuit status 'proven'"),
    "circuit description with BEL": ("circuits", _set(description="ring\x07"), "circuit description contains"),
    "unknown claim status": ("circuits", _claim(status="maybe"), "unknown claim status 'maybe'"),
    "family name too long": ("families", _set(name="f" * 201), "family name is 201 characters"),
    "family over two layers": ("families", _set(members=[["demo/conv2/3", None], ["demo/conv3/7", None]]),
                               "family '[^']+' is in layer demo/conv2; demo/conv3/7 is in another layer"),
    "circuit edge sign unknown": ("circuits", _set(edges=[["demo/conv1/1", "demo/conv2/3", None, "sideways"]]),
                                  "unknown circuit edge sign 'sideways'"),
    "unknown edge kind": ("edges", _set(kind="telepathy"), "unknown edge kind 'telepathy'"),
    "artifact blob missing": ("artifacts", _set(blobs={"image": MISSING}), f"refers to blob '{MISSING}'"),
    "artifact outcome not numbers": ("artifacts", _set(outcome={"value": "1; DROP TABLE"}),
                                     "an artifact's outcome must be at most 8 named finite numbers"),
    "artifact outcome infinite": ("artifacts", _set(outcome={"value": float("inf")}), "an artifact's outcome must"),
    "artifact outcome huge": ("artifacts", _set(outcome={f"k{i}": 1 for i in range(9)}),
                              "an artifact's outcome must"),
    # Models and layers: new models are created from these rows, so they pass add_model's checks.
    "model name that is a path": ("models", _set(name="demo/../evil"), "invalid model name 'demo/../evil'"),
    "model name with ESC": ("models", _set(name="demo\x1b[2J"), "invalid model name"),
    "model without weights field": ("models", lambda row: row.pop("weights_sha256"),
                                    "missing field 'weights_sha256'$"),
    "model architecture not text": ("models", _set(architecture=["os", "abort"]),
                                    "model 'demo' has an invalid architecture$"),
    "layer order not a number": ("layers", _set(order="2"), "order has the wrong type: '2'$"),
    "layer of no model": ("layers", lambda row: row.pop("model"), "missing field 'model'$"),
    "layer without channels": ("layers", lambda row: row.pop("channels"), "missing field 'channels'$"),
    "layer with no channels": ("layers", _set(channels=0), r"layer '\w+' needs a positive channel count, got 0$"),
    "layer name that is a path": ("layers", _set(name="conv3/../x"), "invalid layer name 'conv3/../x'"),
    # Relations (the last row is the CKA of demo/conv2 and demo/conv3): the checks of the API.
    "relation no one knows": ("relations", _set(relation="kinship"), "unknown relation 'kinship'"),
    "method no one knows": ("relations", _set(method="eyeballed"),
                            "a similar relation of layers is measured by cka.linear, not 'eyeballed'$"),
    "score not finite": ("relations", _set(score=float("nan")), "a relation's score must be a finite number, not nan"),
    "score as text": ("relations", _set(score="0.9"), "a relation's score must be a finite number, not '0.9'"),
    "score out of range": ("relations", _set(score=7.0), r"a relation's score is a correlation or a CKA, within"),
    "score left out": ("relations", _set(score=None), "a relation's score must be a finite number, not None"),
    "ends of the wrong kind": ("relations", _set(ends="features"), "a similar relation joins layers, not features$"),
    "ends no one knows": ("relations", _set(ends="models"), "a similar relation joins layers, not models$"),
    "a feature for a layer": ("relations", _set(src="demo/conv2/3"),
                              "invalid address 'demo/conv2/3': expected model/layer"),
    "an end not here": ("relations", _set(dst="elsewhere/conv3"), "unknown model 'elsewhere'"),
    "a measured relation with a source": ("relations", _set(source="https://example.org"),
                                          "only a published relation names a source"),
    "stimuli not an object": ("relations", _set(stimuli="all of them"), "a relation's stimuli must be an object"),
    "details too large": ("relations", lambda row: row["details"].update(note="x" * 1_000_001),
                          "a relation's details is 1,000,0.. characters of JSON; the limit is 1,000,000$"),
    "heatmap missing from the bundle": ("relations", lambda row: row["details"].update(
        heatmap=[row["details"]["heatmap"], MISSING]),
                                        f"refers to blob '{MISSING}'"),
    "published with a score": ("relations", _link(score=0.0),
                               r"a published relation carries no score \(it was not measured here\), not 0.0$"),
    "published with no source": ("relations", _link(source=None), "a published relation's source is a URL"),
    "published from a script": ("relations", _link(source="javascript:alert(1)"),
                                "a link must be an http or https URL"),
    "published with stimuli": ("relations", _link(stimuli={"sweeps": []}),
                               r"a published relation was measured on nothing: its stimuli are \{\}$"),
    "published between layers": ("relations", _link(ends="layers"), "an inputs_of relation joins families|joins"),
    "measured family link said published": ("relations", _link(relation="similar"),
                                            "a similar relation joins layers, not families$"),
    "family not here": ("relations", _link(dst="nobody"), "unknown family 'nobody'$"),
    "family linked to itself": ("relations", _link(dst="circles"), "family 'circles' related to itself"),
}


@pytest.fixture
def rich_bundle(catalog_templates: CatalogTemplates, dialect: str, tmp_path: Path) -> bytes:
    """The bundle of the ``rich`` catalogue, exported once per session and dialect: the
    rows tests (half of this file) only edit a copy of its members. Exporting and copying
    the catalogue was a third of each one's time, and of each mutant's run of them in
    ``make mutate`` (the export runs none of the read side that the mutants change)."""
    def make() -> bytes:
        with contextmanager(catalog_templates.copy)("rich", fill_rich, dialect, tmp_path) as cat:
            return export(cat)

    return catalog_templates.made(f"rich-{dialect}.zip", make)


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_rows_pass_the_api_checks_or_the_bundle_is_refused(rich_bundle: bytes, other: Catalog, case: str):
    table, edit, reason = BAD_ROWS[case]
    row = len(rows(members_of(rich_bundle)[0], table))
    before = state(other)
    with pytest.raises(BundleError, match=rf"^bundle refused: {table}\.jsonl row {row}: {reason}") as refused:
        other.import_bundle(io.BytesIO(rebuilt(rich_bundle, edit_last(table, edit))))
    assert "\n" not in str(refused.value)
    assert state(other) == before


def test_rows_the_database_rejects_refuse_the_bundle(rich: Catalog, other: Catalog):
    """Two copies of one edge: each passes every check of a row, and together they break
    the unique (src, dst, kind) index. The database's refusal refuses the bundle, in one
    line, with nothing written."""
    def twice(members: Members) -> None:
        set_rows(members, "edges", [*rows(members, "edges"), rows(members, "edges")[0]])

    before = state(other)
    rejected = r"^bundle refused: the database rejected a row: .*(?i:unique).*edges"  # SQLite's or PostgreSQL's words
    with pytest.raises(BundleError, match=rejected) as refused:
        other.import_bundle(io.BytesIO(rebuilt(export(rich), twice)))
    assert "\n" not in str(refused.value)
    assert state(other) == before


def test_a_relation_twice_refuses_the_bundle(rich: Catalog, other: Catalog):
    """Two copies of one relation: each row is valid; together they would store one
    measurement twice (no index forbids it), so the importer refuses them."""
    def twice(members: Members) -> None:
        set_rows(members, "relations", [*rows(members, "relations"), rows(members, "relations")[2]])

    before = state(other)
    with pytest.raises(BundleError, match=r"^bundle refused: relations\.jsonl row 6: duplicate relation "
                                          r"demo/conv2/3 -> demo/conv3/0 \(analogous, pooled.best"):
        other.import_bundle(io.BytesIO(rebuilt(export(rich), twice)))
    assert state(other) == before


def test_a_bundle_failing_part_way_writes_nothing(rich: Catalog, other: Catalog):
    """Evidence is merged last: by then models, labels, edges, artifacts and their blobs
    were on their way in. All of it is rolled back, and no blob or staging file stays."""
    bad = rebuilt(export(rich), edit_last("evidence", _set(kind="link", body="file:///etc/passwd", blobs=[])))
    before = state(other)
    with pytest.raises(BundleError, match=r"^bundle refused: evidence\.jsonl row 3: a link must be"):
        other.import_bundle(io.BytesIO(bad))
    assert state(other) == before


def test_authors_keep_their_provenance(rich: Catalog, other: Catalog):
    """cora of lab-b is cora@lab-b here, a viewer, not our own curator cora; a name that
    already has a domain keeps it; the bundle's origin is the catalogue_name setting."""
    rich.add_user("dora@lab-c.org", "curator")
    rich.set_label("demo/conv3/0", "ring", author="dora@lab-c.org", expected_version=1)
    with rich._writing() as session:
        session.add(Setting(key="catalogue_name", value="lab-b"))
    other.add_user("cora", "curator")
    bundle = export(rich)
    assert json.loads(zipfile.ZipFile(io.BytesIO(bundle)).read("manifest.json"))["origin"] == "lab-b"
    other.import_bundle(io.BytesIO(bundle))
    assert [h.author for h in other.label_history("demo/conv2/3")] == ["carl@lab-b", "cora@lab-b", "rita@lab-b"]
    assert other.label_history("demo/conv3/0")[-1].author == "dora@lab-c.org"
    roles = {u.name: u.role for u in other.users()}
    assert roles["cora"] == "curator" and roles["cora@lab-b"] == "viewer" and roles["dora@lab-c.org"] == "viewer"
    assert not [path for path in blob_state(other.blobs.root) if path.startswith("tmp")]
    # Back home, lab-b's names are its own users again: nothing new.
    report = rich.import_bundle(io.BytesIO(export(other, origin="lab-x")))
    assert sum(report.added.values()) == 0


def test_blob_whose_content_does_not_match_its_name(rich: Catalog, other: Catalog):
    """The manifest lists the swapped content's true hash, so only the name check stands."""
    def swap(members: Members) -> None:
        name = next(n for n in sorted(members) if n.startswith("blobs/"))
        members[name] = b"not the blob this name promises"

    before = state(other)
    with pytest.raises(BundleError, match="does not hash to its name"):
        other.import_bundle(io.BytesIO(rebuilt(export(rich), swap)))
    assert state(other) == before


def test_duplicate_member_names(rich_bundle: bytes, other: Catalog):
    members, _origin = members_of(rich_bundle)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive, pytest.warns(UserWarning, match="Duplicate name"):
        archive.writestr("manifest.json", zipfile.ZipFile(io.BytesIO(rich_bundle)).read("manifest.json"))
        for name, data in members.items():
            archive.writestr(name, data)
        archive.writestr("labels.jsonl", b'{"address": "demo/conv2/3"}\n')
    before = state(other)
    with pytest.raises(BundleError, match="^bundle has duplicate member names$"):
        other.import_bundle(io.BytesIO(out.getvalue()))
    assert state(other) == before


def test_compression_ratio_limit(rich_bundle: bytes, other: Catalog):
    """8 MB of blank lines deflate about 1000 to 1: over the limit of 200, refused before
    a byte is inflated."""
    def bomb(members: Members) -> None:
        members["labels.jsonl"] += b"\n" * (8 * 1024**2)

    before = state(other)
    with pytest.raises(BundleError, match=r"inflate suspiciously \(zip bomb\?\): \['labels.jsonl'\]"):
        other.import_bundle(io.BytesIO(rebuilt(rich_bundle, bomb)))
    assert state(other) == before


def _refused_before_inflating(bundle: bytes, folder: Path, message: str, limits: Limits | None = None) -> None:
    """Opening ``bundle`` is refused with ``message`` by its directory alone: not one
    member (not even the manifest) was inflated into the staging folder."""
    folder.mkdir()
    with pytest.raises(BundleError, match=message):
        StagedBundle(io.BytesIO(bundle), folder, limits)
    assert list(folder.iterdir()) == []


def _first_three_in_the_archive(bundle: bytes, names: list[str]) -> str:
    """How a refusal lists offending members: the first three, in the archive's order."""
    listed = [i.filename for i in zipfile.ZipFile(io.BytesIO(bundle)).infolist() if i.filename in names]
    return re.escape(str(listed[:3]))


def test_the_directory_refuses_a_bomb_or_an_oversized_member_before_inflating_any(rich_bundle: bytes,
                                                                                   tmp_path: Path):
    """The caps on the directory come first; the same caps on the bytes read (below) would
    refuse these bundles too, but only after inflating members up to the offending one."""
    tables = sorted(name for name in members_of(rich_bundle)[0] if name.endswith(".jsonl"))[:4]

    def bombs(members: Members) -> None:
        for name in tables:
            members[name] += b"\n" * (2 * RATIO_FLOOR)

    bundle = rebuilt(rich_bundle, bombs)
    _refused_before_inflating(bundle, tmp_path / "bombs", r"^bundle members inflate suspiciously \(zip bomb\?\): "
                              + _first_three_in_the_archive(bundle, tables) + "$")
    sizes = [i.file_size for i in zipfile.ZipFile(io.BytesIO(rich_bundle)).infolist()]
    largest, total = max(sizes), sum(sizes)
    _refused_before_inflating(rich_bundle, tmp_path / "member",
                              rf"^bundle member \S+ expands to more than {largest - 1:,} bytes ",
                              Limits(member_bytes=largest - 1))
    _refused_before_inflating(rich_bundle, tmp_path / "total", rf"^bundle expands to more than {total - 1:,} bytes ",
                              Limits(total_bytes=total - 1))
    outside = ["a.txt", "b.txt", "c.txt", "d.txt"]
    bundle = rebuilt(rich_bundle, lambda members: members.update(dict.fromkeys(outside, b"?")))
    _refused_before_inflating(bundle, tmp_path / "outside", r"^bundle has members outside its format "
                              r"\(unsafe paths\?\): " + _first_three_in_the_archive(bundle, outside) + "$")


def test_a_member_may_compress_as_well_as_it_likes_up_to_the_ratio_floor(rich_bundle: bytes, tmp_path: Path):
    """Exactly ``RATIO_FLOOR`` bytes of blank lines (about 1000 to 1) pass both checks."""
    def at_the_floor(members: Members) -> None:
        members["labels.jsonl"] += b"\n" * (RATIO_FLOOR - len(members["labels.jsonl"]))

    with StagedBundle(io.BytesIO(rebuilt(rich_bundle, at_the_floor)), tmp_path) as staged:
        assert staged.tables["labels"].stat().st_size == RATIO_FLOOR


def test_the_caps_hold_again_on_the_bytes_read_whatever_the_directory_said(rich_bundle: bytes, tmp_path: Path):
    """Streaming a member checks the member and total caps on the bytes actually inflated,
    chunk by chunk: what bounds memory if a reader ever yields more than a member's
    directory entry said. (CPython's zipfile does not: it stops at the declared size and
    fails the CRC, so no real archive gets past the directory check and then over a cap.)
    Here the caps are lowered after the directory passed, so only the second check stands,
    on a member of three chunks (the last a half: every chunk counts, not the last)."""
    noise = np.random.default_rng(0).bytes(CHUNK * 5 // 2)
    name = f"blobs/{hashlib.sha256(noise).hexdigest()}"
    bundle = rebuilt(rich_bundle, lambda members: members.update({name: noise}))
    with StagedBundle(io.BytesIO(bundle), tmp_path) as staged:
        size, before = len(noise), staged.read_bytes
        assert before == sum(i.file_size for n, i in staged.infos.items() if not n.startswith("blobs/"))
        for limits, message in [
            (Limits(member_bytes=size - 1),
             rf"^bundle member {name} expands to more than {size - 1:,} bytes \(ATLAS_BUNDLE_MAX_MEMBER_BYTES\)$"),
            (Limits(total_bytes=before + size - 1),
             rf"^bundle expands to more than {before + size - 1:,} bytes \(ATLAS_BUNDLE_MAX_TOTAL_BYTES\)$"),
        ]:
            staged.limits, staged.read_bytes = limits, before
            with pytest.raises(BundleError, match=message):
                staged._stage(name)
        staged.limits, staged.read_bytes = Limits(member_bytes=size, total_bytes=before + size), before
        assert staged._stage(name).read_bytes() == noise
        assert staged.read_bytes == before + size


@pytest.mark.parametrize("compressed, inflated, refused", [
    (1, RATIO_FLOOR, False),  # small members may compress as well as they like...
    (1, RATIO_FLOOR + 1, True),  # ...past the floor they may not
    (RATIO_FLOOR, MAX_RATIO * RATIO_FLOOR, False),  # exactly the ratio is allowed
    (RATIO_FLOOR, MAX_RATIO * RATIO_FLOOR + 1, True),
])
def test_the_ratio_is_checked_again_on_the_bytes_read(rich_bundle: bytes, tmp_path: Path, compressed: int,
                                                      inflated: int, refused: bool):
    """The ratio check on streamed bytes, with its floor and its bound, against a member's
    compressed size (a directory entry of this size; the check reads nothing else)."""
    info = zipfile.ZipInfo("labels.jsonl")
    info.compress_size = compressed
    limits = Limits(member_bytes=2 * MAX_RATIO * RATIO_FLOOR, total_bytes=2 * MAX_RATIO * RATIO_FLOOR)
    with StagedBundle(io.BytesIO(rich_bundle), tmp_path, limits) as staged:
        if refused:
            with pytest.raises(BundleError, match=r"^bundle members inflate suspiciously \(zip bomb\?\): "
                                                  r"\['labels.jsonl'\]$"):
                staged._within_limits("labels.jsonl", info, inflated)
        else:
            staged._within_limits("labels.jsonl", info, inflated)


def _extra_blobs(count: int) -> Callable[[Members], None]:
    def add(members: Members) -> None:
        for i in range(count):
            data = f"orphan {i}".encode()
            members[f"blobs/{hashlib.sha256(data).hexdigest()}"] = data
    return add


def test_unreferenced_blob_members_are_refused_not_stored(rich: Catalog, other: Catalog):
    before = state(other)
    with pytest.raises(BundleError, match=r"^bundle refused: 3 blob members are referred to by no row"):
        other.import_bundle(io.BytesIO(rebuilt(export(rich), _extra_blobs(3))))
    orphan = hashlib.sha256(b"orphan 0").hexdigest()
    with pytest.raises(BundleError, match=rf"^bundle refused: 1 blob members .* \(e\.g\. blobs/{orphan}\)$"):
        other.import_bundle(io.BytesIO(rebuilt(export(rich), _extra_blobs(1))))
    assert state(other) == before


def test_a_bundle_at_exactly_its_caps_is_read_and_one_more_is_refused(
    rich: Catalog, other: Catalog, monkeypatch: pytest.MonkeyPatch,
):
    """Member size, total size (every member is read) and member count: each cap is a
    maximum, checked on the directory and again on the bytes read."""
    bundle = export(rich)
    infos = zipfile.ZipFile(io.BytesIO(bundle)).infolist()
    largest, total = max(i.file_size for i in infos), sum(i.file_size for i in infos)
    before = state(other)
    for variable, cap, message in [
        ("ATLAS_BUNDLE_MAX_MEMBER_BYTES", largest, rf"^bundle member \S+ expands to more than {largest - 1:,} bytes "),
        ("ATLAS_BUNDLE_MAX_TOTAL_BYTES", total, rf"^bundle expands to more than {total - 1:,} bytes "),
        ("ATLAS_BUNDLE_MAX_MEMBERS", len(infos), rf"^bundle has {len(infos)} members; the limit is {len(infos) - 1} "),
    ]:
        monkeypatch.setenv(variable, str(cap - 1))
        with pytest.raises(BundleError, match=message + rf"\({variable}\)$"):
            other.import_bundle(io.BytesIO(bundle))
        assert state(other) == before
        monkeypatch.setenv(variable, str(cap))
    assert other.import_bundle(io.BytesIO(bundle)).added["labels"] > 0


@pytest.mark.parametrize("name", ["notes.txt", "labels.jsonl.bak", "blobs/readme"])
def test_a_member_outside_the_format_is_refused_even_when_the_manifest_lists_it(
    rich: Catalog, other: Catalog, name: str,
):
    def add(members: Members) -> None:
        members[name] = b"harmless?"

    before = state(other)
    with pytest.raises(BundleError, match=rf"outside its format \(unsafe paths\?\): \['{re.escape(name)}'\]"):
        other.import_bundle(io.BytesIO(rebuilt(export(rich), add)))
    assert state(other) == before


def test_a_member_of_several_chunks_arrives_whole(rich: Catalog, other: Catalog):
    """3 MB of noise: streamed in 1 MB chunks and past the floor of the ratio check."""
    noise = np.random.default_rng(0).integers(0, 256, (1024, 1024, 3), dtype=np.uint8)
    sha = rich.blobs.put_png(noise)
    rich.add_evidence("image", "noise", feature="demo/conv2/3", blobs=[sha])
    other.import_bundle(io.BytesIO(export(rich)))
    assert other.blobs.get_bytes(sha) == rich.blobs.get_bytes(sha)


def test_a_member_whose_compressed_bytes_are_damaged_is_named(rich: Catalog, other: Catalog):
    bundle = bytearray(export(rich))
    info = zipfile.ZipFile(io.BytesIO(bytes(bundle))).getinfo("labels.jsonl")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    bundle[start + info.compress_size // 2] ^= 0xFF
    before = state(other)
    with pytest.raises(BundleError, match=r"^bundle is corrupted: labels\.jsonl: "):
        other.import_bundle(io.BytesIO(bytes(bundle)))
    assert state(other) == before


def overlapping(bundle: bytes, twins: int) -> bytes:
    """``bundle`` with ``twins`` more directory entries, under names of the format, that
    point at the compressed bytes of its largest member: the overlapping members of a
    non-recursive zip bomb, each of which looks harmless on its own."""
    with zipfile.ZipFile(io.BytesIO(bundle)) as source:
        contents = [(info, source.read(info)) for info in source.infolist()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for info, data in contents:
            archive.writestr(info, data)
        largest = max(archive.infolist(), key=lambda info: info.compress_size)
        for n in range(twins):
            twin = copy.copy(largest)
            twin.filename = twin.orig_filename = f"blobs/{n:064x}"
            archive.filelist.append(twin)
    return out.getvalue()


def test_members_that_overlap_in_the_file_are_refused_before_a_byte_is_inflated(rich: Catalog, other: Catalog):
    """64 KiB of noise (it does not compress) pointed at by three more entries: 256 KiB of
    compressed bytes claimed by a file of about 70 KiB."""
    def noise(members: Members) -> None:
        data = np.random.default_rng(0).bytes(64 * 1024)
        members[f"blobs/{hashlib.sha256(data).hexdigest()}"] = data

    bundle = overlapping(rebuilt(export(rich), noise), twins=3)
    infos = zipfile.ZipFile(io.BytesIO(bundle)).infolist()
    assert sum(info.compress_size for info in infos) > len(bundle) > max(info.compress_size for info in infos)
    before = state(other)
    with pytest.raises(BundleError, match=r"^bundle members claim more compressed bytes than the file holds "
                                          r"\(overlapping members: a zip bomb\?\)$"):
        other.import_bundle(io.BytesIO(bundle))
    assert state(other) == before


def test_too_many_members_are_refused(rich: Catalog, other: Catalog, monkeypatch: pytest.MonkeyPatch):
    """100,000 tiny members in production; here 300 against a limit lowered to 200."""
    monkeypatch.setenv("ATLAS_BUNDLE_MAX_MEMBERS", "200")
    before = state(other)
    with pytest.raises(BundleError, match=r"members; the limit is 200 \(ATLAS_BUNDLE_MAX_MEMBERS\)"):
        other.import_bundle(io.BytesIO(rebuilt(export(rich), _extra_blobs(300))))
    assert state(other) == before


BOMB_MEMBERS, BOMB_BYTES = 3, 48 * 1024**2


def _compressible(seed: int) -> bytes:
    """Zeros with a random byte every 256: deflates about 75 to 1, under the limit of 200."""
    data = np.zeros(BOMB_BYTES, np.uint8)
    data[::256] = np.random.default_rng(seed).integers(0, 256, len(data[::256]), dtype=np.uint8)
    return data.tobytes()


def _bomb(members: Members) -> None:
    """Three 48 MB blobs, each referenced by an artifact so nothing marks them as orphans,
    and an evidence row that fails last, after every blob has been read."""
    records = rows(members, "artifacts")
    for i in range(BOMB_MEMBERS):
        data = _compressible(i)
        sha = hashlib.sha256(data).hexdigest()
        members[f"blobs/{sha}"] = data
        records.append({"address": "demo/conv3/0", "kind": "bomb", "params": {"i": i}, "blobs": {"data": sha}})
    set_rows(members, "artifacts", records)
    edit_last("evidence", _set(kind="link", body="javascript:alert(1)", blobs=[]))(members)


# The peak resident memory of the import alone: the peak is reset just before it
# (/proc/self/clear_refs, "5") and read after it (VmHWM), so the imports' own peak (torch
# and friends) cannot hide what the import costs.
IMPORT_AND_MEASURE = textwrap.dedent("""
    import re, sys
    from atlas import Catalog
    from atlas.errors import AtlasError

    def kib(field):
        return int(re.search(field + r":\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))

    catalog = Catalog.open(sys.argv[1], sys.argv[2], user="olga")
    with open("/proc/self/clear_refs", "w") as reset:
        reset.write("5")
    before = kib("VmHWM")
    try:
        catalog.import_bundle(sys.argv[3])
        print("imported")
    except AtlasError as exc:
        print(f"refused: {exc}")
    print(before, kib("VmHWM"))
""")


@pytest.mark.parametrize("total_cap", [None, 100 * 1024**2], ids=["refused-after-streaming", "over-total-cap"])
def test_a_ratio_respecting_bomb_is_refused_in_bounded_memory(
    rich: Catalog, other: Catalog, other_db_url: str, tmp_path: Path, total_cap: int | None,
):
    """144 MB of members from a 2 MB file. Read in full (today's defaults allow it) and
    refused by its last row, or refused by a lowered total cap: either way the importing
    process grows by far less than one member, and nothing is written."""
    bundle = tmp_path / "bomb.zip"
    bundle.write_bytes(rebuilt(export(rich), _bomb))
    assert bundle.stat().st_size < 4 * 1024**2
    env = {**os.environ, "ATLAS_BUNDLE_MAX_TOTAL_BYTES": str(total_cap or 2 * 1024**3)}
    before = state(other)
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_AND_MEASURE, other_db_url, other.blobs.url, str(bundle)],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert done.returncode == 0, done.stderr
    outcome, rss = done.stdout.strip().splitlines()
    expected = "ATLAS_BUNDLE_MAX_TOTAL_BYTES" if total_cap else r"evidence\.jsonl row \d+: a link must be"
    assert outcome.startswith("refused: ") and re.search(expected, outcome), outcome
    start_kb, peak_kb = map(int, rss.split())
    assert (peak_kb - start_kb) * 1024 < BOMB_BYTES / 4, (start_kb, peak_kb)
    assert state(other) == before


def _cli(db_url: str, blob_dir: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "atlas.cli", "--db", db_url, "--blobs", blob_dir,
                           "--user", "alice", *args], capture_output=True, text=True, timeout=120)


def test_export_of_an_unknown_model_fails_and_writes_nothing(demo_catalog: Catalog, db_url: str, blob_dir: str,
                                                              tmp_path: Path):
    out = tmp_path / "out.zip"
    done = _cli(db_url, blob_dir, "export", "bundle", str(out), "--model", "nosuch")
    assert done.returncode == 1
    assert done.stderr.strip() == "atlas: error: unknown model 'nosuch' (known: demo)"
    assert list(tmp_path.glob("out.zip*")) == [] and list(tmp_path.glob(".out.zip*")) == []
    done = _cli(db_url, blob_dir, "export", "bundle", str(out), "--model", "demo", "--origin", "lab-a")
    assert done.returncode == 0, done.stderr
    assert json.loads(zipfile.ZipFile(out).read("manifest.json"))["origin"] == "lab-a"


def test_bundles_carry_no_absolute_paths(catalog: Catalog, tmp_path: Path):
    """A model registered from a weights file and examples computed over an image folder:
    neither path on this machine goes into the bundle, in any member."""
    weights = tmp_path / "secret-project" / "weights.pt"
    weights.parent.mkdir()
    weights.write_bytes(b"weights")
    from tests.conftest import DEMO_LAYERS

    catalog.add_model("demo", "demo_cnn", source=str(weights.resolve()), layers=DEMO_LAYERS)
    image = catalog.blobs.put_png(np.full((8, 8, 3), 90, dtype=np.uint8))
    folder = tmp_path / "secret-project" / "imagenet-val"
    catalog.add_artifact("demo/conv2/3", "examples", {"dataset": {"kind": "folder", "path": str(folder), "size": 64},
                                                      "k": 4}, {"top": [image]})
    members, _origin = members_of(export(catalog))
    for name, data in members.items():
        assert str(tmp_path).encode() not in data and b"secret-project" not in data, name
    assert rows(members, "artifacts")[0]["params"]["dataset"]["path"] == "imagenet-val"
    assert "source" not in rows(members, "models")[0]


@pytest.mark.parametrize("origin", ["lab-b\n", "", "-lab", "lab..b", "lab b", "x" * 36])
def test_an_origin_must_be_a_whole_domain_label(origin):
    """The origin becomes the domain of imported authors' names: a trailing newline (which
    a ``$`` regex would let through) or any other stray character is refused."""
    from atlas.exchange.bundle.format import check_origin

    with pytest.raises(InvalidInput, match="invalid origin"):
        check_origin(origin)
