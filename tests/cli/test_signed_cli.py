"""`atlas show --sort` and `atlas graph` print a connection's signed net mass beside its
strength: the shipped demo's inhibitory conv4/58 -> conv5/21 reads negative."""

import re

import pytest
from signed_demo import SRC, store_shipped_edges

from atlas import Catalog
from atlas.cli import main


@pytest.fixture
def atlas_cli(catalog: Catalog, db_url: str, blob_dir: str, capsys):
    unit = store_shipped_edges(catalog, "demo")

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(["--db", db_url, "--blobs", blob_dir, "--user", "alice", *args])
        out, err = capsys.readouterr()
        return code, out, err

    return unit, invoke


def nets(out: str) -> list[float]:
    return [float(n) for n in re.findall(r"net ([+-][0-9.e+-]+)", out)]


def test_show_prints_the_sign_and_sorts_by_it(catalog: Catalog, atlas_cli, capsys):
    unit, cli = atlas_cli
    code, out, _ = cli("show", unit, "-k", "3")
    assert code == 0 and "top inputs (direct weights, by strength):" in out
    example = next(line for line in out.splitlines() if f"demo/conv4/{SRC} " in line)
    assert re.search(r"net -1\.4\d*\s+strength 0\.48", example), example
    code, out, _ = cli("show", unit, "-k", "4", "--sort", "inhibitory")
    inputs = out.split("top outputs")[0]
    assert code == 0 and "by inhibitory" in inputs
    assert nets(inputs) == sorted(nets(inputs)) and all(n < 0 for n in nets(inputs)) and len(nets(inputs)) == 4
    assert nets(inputs)[0] == pytest.approx(catalog.top_inputs(unit, k=1, sort="inhibitory")[0].net, rel=1e-3)
    code, out, _ = cli("show", unit, "-k", "100", "--sort", "net")
    inputs = nets(out.split("top outputs")[0])
    assert inputs == sorted(inputs, reverse=True) and inputs[0] > 0 > inputs[-1]
    with pytest.raises(SystemExit) as refused:
        cli("show", unit, "--sort", "loudest")
    assert refused.value.code == 2 and "invalid choice: 'loudest'" in capsys.readouterr().err


def test_graph_lists_edges_with_their_sign(atlas_cli):
    unit, cli = atlas_cli
    code, out, _ = cli("graph", "subgraph", f"demo/conv4/{SRC}", unit)
    assert code == 0 and "1 features" not in out
    [line] = [line for line in out.splitlines() if "->" in line]
    assert re.search(r"direct\s+net -1\.4\d*\s+strength 0\.48", line), line
