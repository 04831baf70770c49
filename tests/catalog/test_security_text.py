"""Control characters and bidirectional overrides in free text (issue 13, item 10).

Every free-text field refuses C0/C1 controls and the bidirectional overrides and isolates
with one line naming the field, leaving everything as it was; newlines (and tabs) pass
only in multi-line fields; reasons and notes have length limits. Text stored before these
checks is escaped whenever the CLI prints it.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from atlas import Catalog
from atlas.catalog import audit, fulltext
from atlas.catalog.resolve import get_feature
from atlas.db.blobs import encode_png
from atlas.db.models import Label, User
from atlas.errors import InvalidInput
from atlas.text import MAX_LINE_CHARS, MAX_NOTE_CHARS, check_text, printable
from tests.snapshots import state

ESC = "\x1b[2J\x1b[31m"  # clear the screen, turn red
RLO = "\u202e"  # right-to-left override
LRI = "\u2066"  # left-to-right isolate
C1 = "\x9b"  # CSI in C1 form


@pytest.fixture
def curated(demo_catalog: Catalog) -> Catalog:
    cat = demo_catalog
    cat.set_label("demo/conv2/3", "curve detector", author="carl")
    cat.create_circuit("curves", "curves from edges", author="carl")
    cat.add_circuit_edge("curves", "demo/conv1/1", "demo/conv2/3", note="excites")
    cat.add_claim("curves", "Zeroing conv1/1 lowers conv2/3")
    cat.create_family("curve detector", "curves in any model")
    return cat


def _claim_id(cat: Catalog) -> int:
    return cat.circuit("curves").claims[0].id


# (what is written, the field named in the refusal)
REFUSED = {
    "label ESC": (lambda c: c.set_label("demo/conv2/3", f"curve{ESC}detector", author="carl"), "label text"),
    "label RLO": (lambda c: c.set_label("demo/conv2/3", f"curve {RLO}rotceted", author="carl"), "label text"),
    "label C1": (lambda c: c.set_label("demo/conv2/3", f"curve{C1}2J", author="carl"), "label text"),
    "label newline": (lambda c: c.set_label("demo/conv2/3", "curve\ndetector", author="carl"), "label text"),
    "reason ESC": (lambda c: c.review_label("demo/conv2/3", "accepted", reason=f"ok{ESC}", author="rita"),
                   "reason"),
    "reason newline": (lambda c: c.review_label("demo/conv2/3", "accepted", reason="ok\nfine", author="rita"),
                       "reason"),
    "reason too long": (lambda c: c.review_label("demo/conv2/3", "accepted", reason="x" * (MAX_LINE_CHARS + 1),
                                                 author="rita"), "reason"),
    "note ESC": (lambda c: c.add_evidence("note", f"see{ESC}", feature="demo/conv2/3", author="carl"),
                 "evidence body"),
    "note bidi isolate": (lambda c: c.add_evidence("note", f"a {LRI}b", feature="demo/conv2/3", author="carl"),
                          "evidence body"),
    "link newline": (lambda c: c.add_evidence("link", "https://example.org/\nx", feature="demo/conv2/3",
                                              author="carl"), "evidence body"),
    "image caption": (lambda c: c.add_image_evidence(encode_png(np.zeros((8, 8, 3), np.uint8)), f"crop{RLO}",
                                                     feature="demo/conv2/3", author="carl"), "evidence body"),
    "circuit description": (lambda c: c.create_circuit("bells", "ring\x07ring", author="carl"),
                            "circuit description"),
    "circuit update": (lambda c: c.update_circuit("curves", c.circuit("curves").version, f"x{ESC}", author="carl"),
                       "circuit description"),
    "circuit edge note": (lambda c: c.add_circuit_edge("curves", "demo/conv1/2", "demo/conv2/3",
                                                       note=f"n{ESC}", author="carl"), "circuit edge note"),
    "node role": (lambda c: c.add_circuit_node("curves", "demo/conv3/0", role="a\nb", author="carl"), "node role"),
    "claim prediction": (lambda c: c.add_claim("curves", f"it {RLO}holds", author="carl"), "claim prediction"),
    "claim result": (lambda c: c.set_claim_status(_claim_id(c), "supported", f"yes{ESC}", author="rita"),
                     "claim result"),
    "family name": (lambda c: c.create_family(f"bad{ESC}name", author="carl"), "family name"),
    "family description": (lambda c: c.create_family("textures", f"d{C1}", author="carl"), "family description"),
    "family member note": (lambda c: c.add_family_member("curve detector", "demo/conv3/0", note=f"n{ESC}",
                                                         author="carl"), "family member note"),
    "family member note too long": (lambda c: c.add_family_member("curve detector", "demo/conv3/0",
                                                                  note="x" * (MAX_NOTE_CHARS + 1), author="carl"),
                                    "family member note"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_free_text_refuses_control_characters(curated: Catalog, case: str):
    write, field = REFUSED[case]
    before = state(curated)
    with pytest.raises(InvalidInput) as refused:
        write(curated)
    message = str(refused.value)
    assert message.startswith(field) and "\n" not in message
    assert state(curated) == before


def test_multi_line_fields_take_newlines_and_tabs(curated: Catalog):
    curated.add_evidence("note", "first line\n\tsecond line", feature="demo/conv2/3", author="carl")
    curated.create_circuit("bells", "one\ntwo", author="carl")
    curated.add_family_member("curve detector", "demo/conv3/0", note="a\nb", author="carl")
    assert curated.evidence(feature="demo/conv2/3")[0].body == "first line\n\tsecond line"
    assert curated.circuit("bells").description == "one\ntwo"


def test_marks_pass_but_overrides_do_not():
    # U+200F (right-to-left mark) is needed by mixed Hebrew text; U+202E rewrites display order.
    assert check_text("\u05e7\u05d5 \u200f(curve)", "label text") == "\u05e7\u05d5 \u200f(curve)"
    with pytest.raises(InvalidInput, match="U\\+202E at position 1"):
        check_text(f"a{RLO}b", "label text")


def test_printable_escapes_what_could_drive_a_terminal():
    assert printable(f"red{ESC}{RLO}x\ny") == "red\\x1b[2J\\x1b[31m\\u202ex\\ny"
    assert printable("plain — text") == "plain — text"


def test_cli_escapes_text_stored_before_the_checks(demo_catalog: Catalog, db_url: str, blob_dir: str):
    """Rows written before the checks existed (inserted here with a raw session) cannot
    drive the terminal of whoever runs show, history, search or audit."""
    evil = "ev\x1b]0;pwned\x07il"
    with demo_catalog._writing() as session:
        user = User(name=evil, role="curator")
        session.add(user)
        session.flush()
        feature = get_feature(session, "demo/conv2/3")[0]
        label = Label(feature_id=feature.id, version=1, text=f"curve{ESC}detector", status="proposed",
                      reason=f"because{RLO}", author_id=user.id)
        session.add(label)
        session.flush()
        fulltext.sync_label(session, label, "demo/conv2/3", evil)
        audit.record(session, evil, "label.set", "feature", f"demo/conv2/3{ESC}", None, None)
    for command in (["show", "demo/conv2/3"], ["history", "demo/conv2/3"], ["search", "curve"], ["audit"]):
        done = subprocess.run(
            [sys.executable, "-m", "atlas.cli", "--db", db_url, "--blobs", blob_dir, "--user", "alice", *command],
            capture_output=True, text=True, timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "\x1b" not in done.stdout and RLO not in done.stdout and "\x07" not in done.stdout, command
        assert "\\x1b" in done.stdout, (command, done.stdout)
