"""The circuit page shows a claim's experiment result (verdict, numbers, plot, history)
and its Run button queues another run; driven by Streamlit's AppTest on a catalogue where
the claim was run for real on a hand-built model."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest
from tiny_models import oriented_sum

from atlas import Catalog
from atlas.compute.registration import register_model
from atlas.compute.run import run_jobs

APP = str(Path(__file__).resolve().parents[2] / "app" / "main.py")
CLAIM = {
    "intervention": {"kind": "edit_edges", "edges": [["hand/edges/0", "hand/sum/0"]]},
    "stimuli": {"sweep": "orientation", "steps": 4, "samples": 4, "size": 32},
    "measure": {"unit": "hand/sum/0", "reduce": "max"},
    "prediction": [{"condition": "0", "op": "<=", "value": -0.5}, {"condition": "90", "op": "abs<=", "value": 0.1}],
}
pytestmark = pytest.mark.parametrize("dialect", ["sqlite"])


@pytest.fixture
def app(catalog: Catalog, allow_test_factories, db_url: str, blob_dir: str, tmp_path, monkeypatch):
    weights = tmp_path / "hand.pt"
    torch.save(oriented_sum().state_dict(), weights)
    register_model(catalog, "hand", "tiny_models:oriented_sum", weights)
    catalog.create_circuit("orientation-sum", "sum/0 adds an edge unit per orientation", author="carl")
    catalog.add_claim("orientation-sum", "Zeroing edge A removes orientation A only", CLAIM, author="carl")
    run_jobs(catalog, catalog.enqueue_experiments("orientation-sum"), ["experiment"], "cpu")
    monkeypatch.setenv("ATLAS_DATABASE_URL", db_url)
    monkeypatch.setenv("ATLAS_BLOB_URL", blob_dir)
    monkeypatch.delenv("ATLAS_AUTH", raising=False)
    st.cache_resource.clear()
    yield AppTest.from_file(APP, default_timeout=30)
    st.cache_resource.clear()


def test_circuit_page_shows_the_verdict_with_its_numbers_and_runs_again(app: AppTest, catalog: Catalog):
    app.query_params["name"] = "orientation-sum"
    app.query_params["as"] = "carl"
    app.switch_page("views/circuit.py").run()
    assert not app.exception, app.exception
    captions = "\n".join(str(c.value) for c in app.caption).replace("\\", "")  # markdown escapes
    assert "held · result: held: every comparison holds" in captions
    assert "change on 0 -1.000" in captions and "(control" in captions  # the numbers, with the control's
    [plot] = [img.caption for image in app.get("image") for img in image.proto.imgs]
    assert plot == "held: response before, after and under the control"
    assert [e.label for e in app.expander if e.label.startswith("Runs")] == ["Runs (1)"]
    [button] = [b for b in app.button if b.label == "Run experiment"]
    button.click().run()
    assert not app.exception, app.exception
    claim = catalog.circuit("orientation-sum").claims[0].id
    queued = [j for j in catalog.jobs() if j.kind == "experiment" and j.status == "queued"]
    assert len(queued) == 1 and queued[0].params["claim_id"] == claim and queued[0].params["author"] == "carl"
