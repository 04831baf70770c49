"""Identity in the Python API and the CLI (issue 13, items 4 and 12): nobody but an admin
acts for another user, an admin's act for someone names both in the audit log, a
reviewer judging their own text is a self-review, and `--user ""` is an error."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from atlas import Catalog
from atlas.cli import main
from atlas.db.engine import make_engine
from atlas.errors import InvalidInput, PermissionDenied
from tests.cli.test_cli import cli  # noqa: F401 (the fixture: `atlas …` in-process)
from tests.snapshots import state

UNIT = "demo/conv2/3"


@pytest.fixture
def as_user(demo_catalog: Catalog, db_url: str, blob_dir: str) -> Iterator[Callable[[str], Catalog]]:
    """Opens the demo catalogue as a given user (each with its own engine)."""
    opened: list[Catalog] = []

    def open_as(name: str) -> Catalog:
        opened.append(Catalog.open(db_url, blob_dir, user=name))
        return opened[-1]

    yield open_as
    for cat in opened:
        cat.close()




# -- acting for someone else ----------------------------------------------------------

# Writes by the curator carl naming someone else: each must be refused.
IMPERSONATIONS: dict[str, Callable[[Catalog], object]] = {
    "set_label": lambda c: c.set_label(UNIT, "curve", "accepted", author="rita"),
    "review_label": lambda c: c.review_label(UNIT, "accepted", author="rita"),
    "add_user": lambda c: c.add_user("eve", "admin", by="alice"),
    "set_role": lambda c: c.set_role("carl", "admin", by="alice"),
    "add_model": lambda c: c.add_model("other", "demo_cnn", author="alice"),
    "add_evidence": lambda c: c.add_evidence("note", "mine", feature=UNIT, author="cora"),
    "create_circuit": lambda c: c.create_circuit("loops", author="cora"),
    "add_circuit_node": lambda c: c.add_circuit_node("curves", UNIT, author="cora"),
    "set_claim_status": lambda c: c.set_claim_status(1, "supported", author="rita"),
    "create_family": lambda c: c.create_family("loops", author="cora"),
    "enqueue_layer_compute": lambda c: c.enqueue_layer_compute("vis", "demo/conv1", author="cora"),
    "cancel_job": lambda c: c.cancel_job(1, author="cora"),
    "load_seed": lambda c: c.load_seed("demo", author="rita"),
    "import_bundle": lambda c: c.import_bundle(io.BytesIO(b"PK"), author="alice"),
}


@pytest.mark.parametrize("write", IMPERSONATIONS.values(), ids=IMPERSONATIONS.keys())
def test_only_an_admin_acts_for_another_user(demo_catalog: Catalog, as_user, write):
    demo_catalog.set_label(UNIT, "curve", author="cora")
    demo_catalog.create_circuit("curves", author="cora")
    demo_catalog.add_claim("curves", "ablating it removes curves", author="cora")
    carl = as_user("carl")
    before = state(demo_catalog)
    with pytest.raises(PermissionDenied, match=r"^user 'carl' is a curator and cannot act for user '\w+'"):
        write(carl)
    assert state(demo_catalog) == before  # nothing written, not even an audit entry


def test_an_admin_acting_for_a_user_is_recorded_as_both(demo_catalog: Catalog, cli):
    label = demo_catalog.set_label(UNIT, "curve", author="cora")
    circuit = demo_catalog.create_circuit("curves", author="cora")
    assert (label.author, circuit.author) == ("cora", "cora")  # the write is cora's
    entries = demo_catalog.audit_log(limit=2)
    assert [(e.user, e.on_behalf_of, e.action) for e in entries] == [
        ("alice", "cora", "circuit.create"), ("alice", "cora", "label.set")]
    own = demo_catalog.set_label(UNIT, "curve detector")  # alice as herself
    assert own.author == "alice" and demo_catalog.audit_log(limit=1)[0].on_behalf_of is None
    code, out, _ = cli("audit", "--entity", UNIT)
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2
    assert " alice " in lines[0] and " for " not in lines[0]
    assert " alice for cora label.set " in lines[1]


def test_an_admin_importing_for_another_admin_names_both_on_every_entry(
    demo_catalog: Catalog, other_db_url: str, tmp_path
):
    demo_catalog.set_label(UNIT, "curve", author="carl")
    bundle = io.BytesIO()
    demo_catalog.export_bundle(bundle)
    with Catalog.open(other_db_url, str(tmp_path / "other-blobs"), user="olga") as other:
        other.add_user("olga", "admin")
        other.add_user("oscar", "admin")
        other.import_bundle(io.BytesIO(bundle.getvalue()), author="oscar")
        entries = other.audit_log(limit=1000)[:-2]  # all but adding olga and oscar
        assert {e.action for e in entries} >= {"user.add", "label.import", "bundle.import"}
        assert {(e.user, e.on_behalf_of) for e in entries} == {("olga", "oscar")}


def test_the_users_own_name_is_no_override(as_user):
    carl = as_user("carl")
    assert carl.set_label(UNIT, "curve", author="carl").author == "carl"
    assert carl.audit_log(limit=1)[0].actor == "carl"


# -- self-review ------------------------------------------------------------------------


def test_a_reviewer_judging_their_own_text_is_a_self_review(demo_catalog: Catalog):
    cat = demo_catalog
    cat.set_label(UNIT, "curve", author="rita")
    cat.set_label(UNIT, "curve", confidence=0.9, author="carl")  # same text: still rita's
    accepted = cat.review_label(UNIT, "accepted", author="rita")
    assert accepted.self_review
    assert cat.audit_log(UNIT, limit=1)[0].after["self_review"] is True
    cat.set_label(UNIT, "curve detector", author="carl")  # carl's text now
    assert not cat.review_label(UNIT, "rejected", author="rita").self_review
    assert cat.review_label(UNIT, "disputed", author="carl").self_review  # disputing one's own text
    assert cat.set_label("demo/conv2/4", "edge", "accepted", author="rita").self_review  # written and accepted at once
    assert not cat.set_label("demo/conv2/5", "edge", author="rita").self_review  # a proposal judges nothing
    history = [(h.author, h.status, h.self_review) for h in cat.label_history(UNIT)]
    assert history == [("rita", "proposed", False), ("carl", "proposed", False), ("rita", "accepted", True),
                       ("carl", "proposed", False), ("rita", "rejected", False), ("carl", "disputed", True)]
    assert cat.feature(UNIT).label.self_review
    assert [label.self_review for label in cat.review_queue(("disputed",)).items] == [True]
    assert [card.label.self_review for card in cat.layer_page("demo/conv2").cards[3:6]] == [True, True, False]


def test_the_cli_shows_a_self_review(cli):
    cli("label", UNIT, "curve", user="rita")
    code, out, _ = cli("label", UNIT, "curve", "--status", "accepted", user="rita")
    assert code == 0 and out.rstrip().endswith("v2 by rita (self-review)")
    code, out, _ = cli("history", UNIT)
    assert code == 0 and "(self-review)" not in out.splitlines()[0] and "by rita (self-review)" in out.splitlines()[1]
    code, out, _ = cli("show", UNIT)
    assert code == 0 and "v2 by rita (self-review)" in out


# -- an empty user name -----------------------------------------------------------------


def test_an_empty_user_is_an_error_not_the_login_name(demo_catalog: Catalog, db_url: str, blob_dir: str,
                                                      cli, monkeypatch):
    monkeypatch.setenv("ATLAS_USER", "alice")  # what an empty --user used to fall back to
    before = state(demo_catalog)
    for user in ("", "  "):
        code, out, err = cli("label", UNIT, "curve", user=user)
        assert (code, out) == (1, "") and err.count("\n") == 1
        assert err.startswith("atlas: error: the acting user name is empty")
        with pytest.raises(InvalidInput, match="the acting user name is empty"):
            Catalog.open(db_url, blob_dir, user=user)
    assert state(demo_catalog) == before


@pytest.mark.parametrize("names", [("--user", "", "init"), ("--user", "ada", "init", "--admin", "")])
def test_init_with_an_empty_user_creates_nothing(empty_db_url: str, tmp_path, capsys, names):
    code = main(["--db", empty_db_url, "--blobs", str(tmp_path / "blobs"), *names])
    assert code == 1 and "the acting user name is empty" in capsys.readouterr().err
    if empty_db_url.startswith("sqlite"):
        assert not Path(make_url(empty_db_url).database).exists()
    else:
        engine = make_engine(empty_db_url)
        assert inspect(engine).get_table_names() == []
        engine.dispose()
