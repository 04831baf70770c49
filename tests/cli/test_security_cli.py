"""Hostile command lines: out-of-range numbers, NUL bytes, unwritable files, unknown
revisions and search operators give one line (or the same hits on both databases), never a
traceback, and change nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from atlas import Catalog
from atlas.address import check_name, check_user_name, parse_feature
from atlas.errors import InvalidInput
from atlas.jobs.queue import JobQueue
from tests.cli.test_cli import cli  # noqa: F401  (the fixture: `atlas …` in-process)
from tests.conftest import _fresh_url
from tests.snapshots import state

HUGE = str(10**20)  # past BIGINT; PostgreSQL refuses it, SQLite's driver overflows
UNITS_26 = "9" * 26


@pytest.fixture
def hostile(cli, demo_catalog: Catalog):
    """`atlas …` on the demo catalogue with a circuit; (code, stdout, stderr)."""
    demo_catalog.create_circuit("c1", "a circuit to export")
    demo_catalog.add_circuit_node("c1", "demo/conv3/1")
    return cli


def _one_line_error(code: int, out: str, err: str) -> None:
    assert code == 1, (out, err)
    assert "Traceback" not in err and out == ""
    assert err.startswith("atlas: error: ") and err.count("\n") == 1, err


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("show", "demo/conv3/9999999999"), id="unit-beyond-int32"),
        pytest.param(("show", f"demo/conv3/{UNITS_26}"), id="unit-26-digits"),
        pytest.param(("history", "demo/conv3/99999999999"), id="history-unit-beyond-int32"),
        pytest.param(("label", f"demo/conv3/{UNITS_26}", "x"), id="label-unit-26-digits"),
        pytest.param(("audit", "--entity", "demo/conv3/9999999999"), id="audit-unit-beyond-int32"),
        pytest.param(("show", "demo/conv\x003/1"), id="nul-in-address"),
        pytest.param(("search", "curve", "--author", "a\x00b"), id="nul-in-author-filter"),
        pytest.param(("search", "curve", "--layer", "demo/conv\x003"), id="nul-in-layer-filter"),
        pytest.param(("search", "curve", "--family", "f\x00"), id="nul-in-family-filter"),
        pytest.param(("audit", "--entity", "circuit:a\x00b"), id="nul-in-audit-entity"),
        pytest.param(("export", "circuit", "c1", "--out", "{missing}/c1.json"), id="export-into-missing-folder"),
        pytest.param(("graph", "neighbourhood", "demo/conv3/1", "--format", "dot", "--out", "{missing}/n.dot"),
                     id="graph-into-missing-folder"),
        pytest.param(("export", "bundle", "{missing}/b.zip"), id="bundle-into-missing-folder"),
        pytest.param(("db", "upgrade", "nosuchrev"), id="unknown-revision"),
        pytest.param(("model", "add", "m2", "--arch", "builtins:int"), id="factory-not-a-model"),
    ],
)
def test_bad_values_are_one_line_and_change_nothing(hostile, demo_catalog: Catalog, tmp_path: Path, args):
    missing = tmp_path / "no-such-folder"
    before = state(demo_catalog)
    _one_line_error(*hostile(*(a.format(missing=missing) for a in args)))
    assert state(demo_catalog) == before and not missing.exists()


@pytest.mark.parametrize("args", [("label", "demo/conv3/1", "x\x00y"),
                                  ("label", "demo/conv3/1", "xy", "--reason", "a\x00b")], ids=["text", "reason"])
def test_nul_in_a_label_is_one_line(hostile, demo_catalog: Catalog, args):
    """Refused by the control-character check on both databases (SQLite would store it;
    PostgreSQL cannot)."""
    before = state(demo_catalog)
    _one_line_error(*hostile(*args))
    assert state(demo_catalog) == before


@pytest.mark.parametrize(
    "args",
    [
        ("show", "demo/conv3/1", "-k", "-5"),
        ("show", "demo/conv3/1", "-k", HUGE),
        ("search", "curve", "--limit", "1e20"),
        ("search", "curve", "--limit", "-5"),
        ("search", "curve", "--limit", HUGE),
        ("audit", "--limit", "-5"),
        ("audit", "--limit", HUGE),
        ("label", "demo/conv3/1", "x", "--expected-version", HUGE),
        ("graph", "neighbourhood", "demo/conv3/1", "-k", HUGE),
        ("graph", "neighbourhood", "demo/conv3/1", "--hops", "-1"),
        ("graph", "paths", "demo/conv3/1", "demo/conv3/2", "--max-len", HUGE),
        ("jobs", "show", "99999999999999999999"),
        ("jobs", "show", "0"),
        ("jobs", "cancel", "1", HUGE),
        ("jobs", "retry", HUGE),
        ("jobs", "list", "--limit", "-5"),
        ("jobs", "list", "--limit", HUGE),
        ("worker", "--lease", "1e300", "--exit-when-idle"),
        ("worker", "--poll", "nan", "--exit-when-idle"),
        ("app", "--port", "70000"),
    ],
    ids=lambda args: " ".join(args)[:60],
)
def test_out_of_range_options_are_usage_errors(hostile, demo_catalog: Catalog, capsys, args):
    """Refused by the option's type, before anything runs: argparse's usage error (exit 2),
    whose last line names the option and the range."""
    before = state(demo_catalog)
    with pytest.raises(SystemExit) as exited:
        hostile(*args)
    err = capsys.readouterr().err
    assert exited.value.code == 2 and "Traceback" not in err
    last = err.splitlines()[-1]
    assert "error: argument" in last and "expected" in last
    assert state(demo_catalog) == before


def test_catalogue_methods_bound_their_numbers(demo_catalog: Catalog):
    """The same bounds hold for the Python API (the app, scripts), on both databases."""
    cat, before = demo_catalog, state(demo_catalog)
    calls = {
        "search": lambda n: cat.search("curve", limit=n),
        "audit": lambda n: cat.audit_log(limit=n),
        "top_inputs": lambda n: cat.top_inputs("demo/conv3/1", k=n),
        "top_outputs": lambda n: cat.top_outputs("demo/conv3/1", k=n),
        "neighbourhood": lambda n: cat.neighbourhood("demo/conv3/1", k_per_node=n),
        "hops": lambda n: cat.neighbourhood("demo/conv3/1", hops=n),
        "paths": lambda n: cat.paths("demo/conv3/1", "demo/conv3/2", max_len=n),
        "layer_page": lambda n: cat.layer_page("demo/conv3", offset=n),
        "page_size": lambda n: cat.layer_page("demo/conv3", limit=n),
        "review_queue": lambda n: cat.review_queue(limit=n),
        "jobs": lambda n: cat.jobs(limit=n),
        "job": lambda n: JobQueue(cat.engine).get(n),
        "cancel_job": lambda n: cat.cancel_job(n),
        "retry_job": lambda n: cat.retry_job(n),
        "evidence_on_edge": lambda n: cat.add_evidence("note", "n", edge_id=n),
        "evidence_of_edge": lambda n: cat.evidence(edge_id=n),
        "claim": lambda n: cat.set_claim_status(n, "supported"),
    }
    for call in calls.values():
        for bad in (10**20, -5, 1e20, 2.0, True, "3"):
            with pytest.raises(InvalidInput, match="must be an integer"):
                call(bad)
    assert state(cat) == before


@pytest.mark.parametrize("address", ["demo/conv3/9999999999", f"demo/conv3/{UNITS_26}", "demo/conv3/2147483648",
                                     f"demo/conv3/{'9' * 5000}"])
def test_feature_lookups_refuse_units_beyond_int32(demo_catalog: Catalog, address: str):
    for call in (demo_catalog.feature, demo_catalog.label_history, demo_catalog.artifacts):
        with pytest.raises(InvalidInput, match="a unit index is below 2\\*\\*31"):
            call(address)


def test_unit_indices_parse_up_to_int32():
    assert parse_feature("m/l/2147483647").channel == 2**31 - 1
    assert parse_feature("m/l/007").channel == 7
    assert parse_feature(f"m/l/{'0' * 5000}1").channel == 1  # leading zeros, not a huge number


@pytest.mark.parametrize("name", ["conv3\n", "conv\x003", "conv3\r", "conv3\t"])
def test_names_refuse_control_characters(name: str):
    """``$`` also matches before a final newline: names are matched whole."""
    with pytest.raises(InvalidInput):
        check_name(name, "layer")
    with pytest.raises(InvalidInput):
        check_user_name(name)


def test_a_real_process_prints_one_line(demo_catalog: Catalog, db_url: str, blob_dir: str):
    """`python -m atlas.cli`, not just main(): the same one line from the real entry point."""
    before = state(demo_catalog)
    done = subprocess.run(
        [sys.executable, "-m", "atlas.cli", "--db", db_url, "--blobs", blob_dir, "--user", "alice",
         "label", f"demo/conv3/{UNITS_26}", "curve"],
        capture_output=True, text=True, timeout=120,
    )
    _one_line_error(done.returncode, done.stdout, done.stderr)
    assert state(demo_catalog) == before


def test_output_into_a_closed_pipe_ends_quietly(demo_catalog: Catalog, db_url: str, blob_dir: str):
    """`atlas user list | head -0`: the reader is gone before anything is written."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "atlas.cli", "--db", db_url, "--blobs", blob_dir, "--user", "alice",
             "user", "list"],
            stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120,
        )
    finally:
        os.close(write_end)
    assert done.returncode == 1 and done.stderr == ""


# -- search operators: the same hits on SQLite FTS5 and PostgreSQL tsquery ----------------


def _fill(cat: Catalog) -> Catalog:
    """Texts with words that start like operators and stop words ("orientation",
    "nothing", "android", "theory"), which a prefix query for "or", "not", "and", "the"
    would find on SQLite but not on PostgreSQL."""
    cat.add_model("demo", "demo_cnn", layers=[{"name": "conv3", "kind": "conv", "channels": 8,
                                               "spatial_shape": [8, 8]}], input_spec={"size": [64, 64]})
    cat.set_label("demo/conv3/0", "left curve detector", author="carl")
    cat.set_label("demo/conv3/1", "unbalanced curves, orientation selective", author="carl")
    cat.set_label("demo/conv3/2", "circle detector", author="cora")
    cat.set_label("demo/conv3/3", "nothing curved here", author="cora")
    cat.add_evidence("note", "The theory: android eyes and curved fur", feature="demo/conv3/4", author="cora")
    cat.create_circuit("curve-circuit", "Curve detectors assembled from edges")
    cat.create_family("high-low frequency", "Frequency boundaries")
    return cat


@pytest.fixture
def both(_postgres, _sqlite_template, tmp_path: Path) -> Iterator[dict[str, Catalog]]:
    """The same small catalogue on SQLite and on PostgreSQL, side by side."""
    urls = {d: _fresh_url(d, True, _postgres, _sqlite_template, tmp_path) for d in ("sqlite", "postgresql")}
    cats = {}
    for dialect, url in urls.items():
        cat = Catalog.open(next(url), str(tmp_path / f"blobs-{dialect}"), user="alice")
        cat.add_user("alice", "admin")
        for name in ("carl", "cora"):
            cat.add_user(name, "curator")
        cats[dialect] = _fill(cat)
    yield cats
    for dialect, cat in cats.items():
        cat.close()
        next(urls[dialect], None)  # drops the PostgreSQL database


def _outcome(cat: Catalog, query: str) -> tuple:
    try:
        return ("hits", sorted((h.kind, h.target) for h in cat.search(query)))
    except InvalidInput as exc:
        return ("error", str(exc))


OPERATOR_QUERIES = [
    "curve OR", "OR curve", "curve OR circle", "NOT curve", "curve NOT", "-curve", "curve -circle",
    '"unbalanced', '"left curve"', "curve AND", "AND curve", "curve AND detector", "*", "(", ")",
    "curve*", "(curve", "NEAR(curve", "curve & | !", "curve:*", "the curve", "a", "not", "or", "and",
    "high-low", "curve_detector", "title:curve", "^curve", "curv", "curves", "Curved", "fur",
]


def test_query_operators_give_the_same_hits_on_both_databases(both: dict[str, Catalog]):
    different = {
        query: (_outcome(both["sqlite"], query), _outcome(both["postgresql"], query))
        for query in OPERATOR_QUERIES
        if _outcome(both["sqlite"], query) != _outcome(both["postgresql"], query)
    }
    assert different == {}
    # Operators are words that are ignored, not silently different searches:
    assert _outcome(both["sqlite"], "curve OR") == _outcome(both["sqlite"], "NOT curve") \
        == _outcome(both["sqlite"], "curve")
    assert _outcome(both["sqlite"], "*")[0] == "error"


def test_search_help_explains_the_query_syntax(capsys):
    from atlas.cli import main

    with pytest.raises(SystemExit):
        main(["search", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "There are no operators" in out and "'NOT curve'" in out and "common English words" in out
