"""The `atlas` command line: real commands against real databases."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import inspect

from atlas import Catalog
from atlas.catalog.api.examples import EXAMPLE_RECORD
from atlas.cli import build_parser, main
from atlas.db.engine import make_engine


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "atlas.cli", *args], capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def cli(demo_catalog: Catalog, db_url: str, blob_dir: str, capsys):
    """Runs `atlas --db … ARGS` in-process and returns (exit code, stdout, stderr)."""

    def invoke(*args: str, user: str = "alice") -> tuple[int, str, str]:
        code = main(["--db", db_url, "--blobs", blob_dir, "--user", user, *args])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def test_init_then_upgrade_and_current(tmp_path: Path):
    url = f"sqlite:///{tmp_path}/cat.db"
    done = run("--db", url, "--blobs", str(tmp_path / "blobs"), "init", "--admin", "ada")
    assert done.returncode == 0, done.stderr
    assert "ada (admin)" in done.stdout
    current = run("--db", url, "db", "current")
    assert current.returncode == 0 and "up to date" in current.stdout


def test_label_show_history_search(cli):
    code, out, _ = cli("label", "demo/conv2/3", "curve detector", "--confidence", "0.7", user="carl")
    assert code == 0 and "'curve detector' [proposed, confidence 0.70] v1 by carl" in out
    assert cli("label", "demo/conv2/3", "curve detector", "--status", "accepted", user="rita")[0] == 0
    code, out, _ = cli("show", "demo/conv2/3")
    assert code == 0 and "[accepted" in out and "v2 by rita" in out
    code, out, _ = cli("history", "demo/conv2/3")
    assert code == 0 and out.splitlines()[0].startswith("v1") and "v2" in out.splitlines()[1]
    code, out, _ = cli("search", "curve")
    assert code == 0 and "demo/conv2/3" in out


def test_show_prints_dataset_examples_with_their_values(cli, demo_catalog):
    records = np.zeros((2, 2), dtype=EXAMPLE_RECORD)
    records["index"], records["value"] = [[7, 3], [9, 1]], [[2.5, 1.25], [-0.75, -0.5]]
    crops = [demo_catalog.blobs.put_png(np.full((4, 4, 3), v, np.uint8)) for v in (0, 255)]
    demo_catalog.add_artifact("demo/conv2/3", "examples", {"dataset": "synthetic:20", "site": "pre"},
                              {"top": crops, "bottom": crops, "records": demo_catalog.blobs.put_array(records)})
    code, out, _ = cli("show", "demo/conv2/3")
    assert code == 0 and "dataset examples (synthetic:20, pre-activation):" in out
    assert "top:    image 7 +2.5, image 3 +1.25" in out
    assert "bottom: image 9 -0.75, image 1 -0.5" in out


def test_stale_label_from_cli_is_a_conflict(cli):
    cli("label", "demo/conv2/3", "one")
    cli("label", "demo/conv2/3", "two")
    code, _, err = cli("label", "demo/conv2/3", "three", "--expected-version", "1")
    assert code == 1 and "version 2 by alice is newer" in err


@pytest.mark.parametrize(
    "address, message",
    [
        ("demo/conv3/-1", "invalid unit '-1'"),
        ("demo/../x", "invalid layer name '..'"),
        ("demo/nolayer/3", "unknown layer 'nolayer'"),
    ],
)
def test_bad_addresses_fail_in_one_line_and_write_nothing(cli, demo_catalog, address, message):
    before = len(demo_catalog.audit_log(limit=1000))
    for command in (("show", address), ("label", address, "x"), ("history", address)):
        code, out, err = cli(*command)
        assert code == 1 and out == ""
        assert err.count("\n") == 1 and message in err and err.startswith("atlas: error:")
    assert len(demo_catalog.audit_log(limit=1000)) == before


def test_unreachable_database_is_one_line(tmp_path: Path):
    done = run("--db", "postgresql://postgres@127.0.0.1:1/atlas", "show", "demo/conv1/1")
    assert done.returncode == 1
    assert done.stderr.startswith("atlas: error: cannot connect to database") and done.stderr.count("\n") == 1
    missing = tmp_path / "nothing-here.db"
    done = run("--db", f"sqlite:///{missing}", "label", "demo/conv1/1", "x")
    assert done.returncode == 1 and "run `atlas init`" in done.stderr
    assert not missing.exists()


def test_unmigrated_database_says_run_upgrade(empty_db_url, capsys):
    if empty_db_url.startswith("sqlite"):
        Path(empty_db_url.removeprefix("sqlite:///")).touch()
    assert main(["--db", empty_db_url, "search", "curve"]) == 1
    assert "is not migrated: run `atlas db upgrade`" in capsys.readouterr().err
    engine = make_engine(empty_db_url)
    assert inspect(engine).get_table_names() == []
    engine.dispose()


def _subparser_paths(parser, prefix=()):
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            for name, sub in action.choices.items():
                yield (*prefix, name)
                yield from _subparser_paths(sub, (*prefix, name))


def test_help_at_every_level(capsys):
    paths = list(_subparser_paths(build_parser()))
    for required in [("init",), ("db", "upgrade"), ("db", "current"), ("show",), ("label",), ("history",), ("search",)]:
        assert required in paths
    for path in [(), *paths]:
        with pytest.raises(SystemExit) as exited:
            main([*path, "--help"])
        assert exited.value.code == 0
        assert capsys.readouterr().out.startswith(f"usage: atlas {' '.join(path)}".rstrip()), path
