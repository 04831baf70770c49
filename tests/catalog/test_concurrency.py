"""Two curators editing one label: the second is told about the newer version, and no
update is lost. Each Catalog here has its own engine, so these are separate sessions."""

import threading

import pytest

from atlas import Catalog, VersionConflict


@pytest.fixture
def second(demo_catalog: Catalog, db_url: str, blob_dir: str):
    other = Catalog.open(db_url, blob_dir, user="cora")
    yield other
    other.close()


def test_stale_edit_is_a_conflict_naming_the_newer_version(demo_catalog: Catalog, second: Catalog):
    demo_catalog.set_label("demo/conv2/3", "edge detector", author="carl")
    seen_by_carl = demo_catalog.feature("demo/conv2/3").label_version
    seen_by_cora = second.feature("demo/conv2/3").label_version
    assert seen_by_carl == seen_by_cora == 1

    demo_catalog.set_label("demo/conv2/3", "curve detector", author="carl", expected_version=seen_by_carl)
    with pytest.raises(VersionConflict) as raised:
        second.set_label("demo/conv2/3", "line detector", expected_version=seen_by_cora)
    conflict = raised.value
    assert conflict.current_version == 2
    assert "version 2 by carl is newer: 'curve detector'" in str(conflict)
    assert conflict.current.text == "curve detector"

    assert [l.text for l in second.label_history("demo/conv2/3")] == ["edge detector", "curve detector"]
    actions = [(e.actor, e.action, e.after.get("text")) for e in demo_catalog.audit_log("demo/conv2/3")]
    assert actions == [
        ("cora", "label.conflict", "line detector"),
        ("alice for carl", "label.set", "curve detector"),
        ("alice for carl", "label.set", "edge detector"),
    ]
    # Cora re-applies on top of the newer version: nothing is lost.
    second.set_label("demo/conv2/3", "line detector", expected_version=conflict.current_version)
    assert demo_catalog.feature("demo/conv2/3").label.version == 3


def test_simultaneous_writers_never_lose_an_update(demo_catalog: Catalog, second: Catalog):
    rounds = 8
    results: list[list[str]] = []
    barrier = threading.Barrier(2)

    def write(catalog: Catalog, author: str, version: int, outcome: list[str]) -> None:
        barrier.wait()
        try:
            catalog.set_label("demo/conv1/0", f"{author} v{version}", author=author, expected_version=version)
            outcome.append("saved")
        except VersionConflict:
            outcome.append("conflict")

    for version in range(rounds):
        outcome: list[str] = []
        threads = [
            threading.Thread(target=write, args=(demo_catalog, "carl", version, outcome)),
            threading.Thread(target=write, args=(second, "cora", version, outcome)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        results.append(sorted(outcome))

    assert results == [["conflict", "saved"]] * rounds
    history = demo_catalog.label_history("demo/conv1/0")
    assert [h.version for h in history] == list(range(1, rounds + 1))
    conflicts = [e for e in demo_catalog.audit_log("demo/conv1/0", limit=100) if e.action == "label.conflict"]
    assert len(conflicts) == rounds


def test_a_conflict_names_what_is_there_and_is_audited_as_attempted(demo_catalog: Catalog, second: Catalog):
    unit = "demo/conv2/3"
    with pytest.raises(VersionConflict) as raised:
        second.set_label(unit, "line detector", expected_version=2)
    assert str(raised.value) == f"conflict on {unit}: you edited version 2, but the unit has no label"
    assert (raised.value.current_version, raised.value.current) == (0, None)

    demo_catalog.set_label(unit, "edge detector", confidence=0.5, author="carl")
    with pytest.raises(VersionConflict) as raised:
        demo_catalog.set_label(unit, "curve detector", "disputed", author="cora", expected_version=0)
    assert raised.value.current_version == 1
    assert raised.value.current == demo_catalog.feature(unit).label  # address, author, confidence, ...
    conflicts = [(e.actor, e.before, e.after) for e in demo_catalog.audit_log(unit) if e.action == "label.conflict"]
    assert conflicts == [
        ("alice for cora", {"version": 1}, {"text": "curve detector", "status": "disputed", "expected_version": 0}),
        ("cora", {"version": 0}, {"text": "line detector", "status": "proposed", "expected_version": 2}),
    ]
