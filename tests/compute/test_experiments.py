"""Claims run as experiments on a model whose circuit is known by construction
(``tiny_models.OrientedSum``: sum/0 is the sum of an edge unit for each orientation)."""

from __future__ import annotations

import copy
import hashlib

import numpy as np
import pytest
import torch
from tiny_models import oriented_sum

from atlas import Catalog
from atlas.cli import main
from atlas.compute.experiments import run_experiment
from atlas.compute.experiments.verdict import compare, verdict
from atlas.compute.registration import register_model
from atlas.compute.run import ComputeFailed, run_jobs

EDGE_A = {
    "intervention": {"kind": "edit_edges", "edges": [["hand/edges/0", "hand/sum/0"]]},
    "stimuli": {"sweep": "orientation", "steps": 4, "samples": 6, "size": 48},
    "measure": {"unit": "hand/sum/0", "reduce": "max"},
    "prediction": [{"condition": "0", "op": "<=", "value": -0.5}, {"condition": "90", "op": "abs<=", "value": 0.1}],
}
OPPOSITE = {**EDGE_A, "prediction": [{"condition": "90", "op": "<=", "value": -0.5},
                                     {"condition": "0", "op": "abs<=", "value": 0.1}]}


def weights_digest(model: torch.nn.Module) -> str:
    """Independent of the executor's own hash: every parameter's bytes, in order."""
    digest = hashlib.sha256()
    for tensor in model.state_dict().values():
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def run(spec: dict, model: torch.nn.Module | None = None):
    return run_experiment(model or oriented_sum().eval(), copy.deepcopy(spec), input_size=48, model_name="hand")


def test_zeroing_edge_a_removes_orientation_a_only_and_holds_against_its_control():
    model = oriented_sum().eval()
    before = weights_digest(model)
    outcome = run(EDGE_A, model)
    assert weights_digest(model) == before  # the hooks edit a copy of the signal, never a weight
    assert outcome.verdict == "held", outcome.result["summary"]
    drop, keep = outcome.result["comparisons"]
    assert drop["measured"] < -0.9 and drop["ci"][1] < -0.5 and abs(drop["control"]) < 0.05
    assert abs(keep["measured"]) < 0.01
    control_edges = outcome.result["controls"][0]["edges"]
    assert control_edges != [[0, 0]] and all(d == 0 for _, d in control_edges)  # another input of sum/0
    reproduce = outcome.result["reproduce"]
    assert reproduce["state_sha256"] and reproduce["stimuli"] == EDGE_A["stimuli"] and reproduce["code_version"]
    assert outcome.plot.startswith(b"\x89PNG")


def test_the_opposite_claim_is_refuted():
    outcome = run(OPPOSITE)
    assert outcome.verdict == "refuted"
    assert outcome.result["comparisons"][0]["outcome"] == "fails"


def test_an_effect_the_control_reproduces_is_not_specific():
    rng = np.random.default_rng(0)
    conditions = np.array(["a"] * 20 + ["b"] * 20)
    before = rng.uniform(1, 2, 40)
    after = before * np.where(conditions == "a", 0.3, 1.0)  # "a" drops 70%, "b" not at all
    spec = {"condition": "a", "op": "<=", "value": -0.5}
    specific = compare(spec, conditions, before, after, before[None, :], rng)
    assert verdict([specific], True)[0] == "held"
    as_much = compare(spec, conditions, before, after, (before * 0.4)[None, :], rng)  # the control drops 60%
    assert verdict([as_much], True) == ("refuted", "the control does as much: the effect is not specific to "
                                                   "the claimed units or edges")
    assert verdict([as_much], False)[0] == "held"  # without a control, nothing says it is not specific
    noisy = after + rng.normal(0, 0.2, 40)
    measured = compare(spec, conditions, before, noisy, None, rng).measured
    straddles = compare({**spec, "value": measured}, conditions, before, noisy, None, rng)  # at its own estimate
    assert verdict([straddles], False)[0] == "inconclusive"


def test_steering_and_mean_ablation_change_what_they_should():
    steer = {**EDGE_A, "intervention": {"kind": "steer", "direction": {"layer": "hand/edges", "vector": [0, 0, 1, 0]},
                                        "scale": 1.0},
             "prediction": [{"condition": "*", "op": ">=", "value": 0.2}], "control": False}
    outcome = run(steer)  # +1 on a channel that feeds sum/0 with weight 1
    assert outcome.verdict == "held" and outcome.result["controls"] == []
    mean = {**EDGE_A, "intervention": {"kind": "ablate_units", "units": ["hand/edges/0"], "mode": "mean"}}
    assert run(mean).result["comparisons"][0]["measured"] > -0.9  # the mean map keeps some response


@pytest.fixture
def hand(catalog: Catalog, allow_test_factories, tmp_path) -> Catalog:
    weights = tmp_path / "hand.pt"
    torch.save(oriented_sum().state_dict(), weights)
    register_model(catalog, "hand", "tiny_models:oriented_sum", weights)
    catalog.create_circuit("orientation-sum", "sum/0 adds an edge unit per orientation")
    return catalog


def test_the_experiment_job_stores_its_result_and_the_claim_follows_it(hand: Catalog):
    claim = hand.add_claim("orientation-sum", "Zeroing edge A removes orientation A only", EDGE_A).claims[0].id
    hand.add_claim("orientation-sum", "Zeroing edge A removes orientation B only", OPPOSITE)
    assert hand.circuit("orientation-sum").claims[0].status == "untested"
    ids = hand.enqueue_experiments("orientation-sum")
    run_jobs(hand, ids, ["experiment"], "cpu")
    held, refuted = hand.circuit("orientation-sum").claims
    assert (held.status, refuted.status) == ("held", "refuted") and held.result.startswith("held:")
    [result] = hand.claim_results(claim)
    assert result.verdict == "held" and result.author == "alice" and result.job_id == ids[0]
    assert hand.blobs.exists(result.blobs[0])
    assert result.result["reproduce"]["model"] == "hand" and result.result["stimuli_count"] == 24
    run_jobs(hand, hand.enqueue_experiments("orientation-sum", claim), ["experiment"], "cpu")
    assert [r.verdict for r in hand.claim_results(claim)] == ["held", "held"]  # the history is kept


def test_a_crashed_experiment_leaves_no_evidence(hand: Catalog):
    backwards = {**EDGE_A, "intervention": {"kind": "edit_edges", "edges": [["hand/sum/0", "hand/edges/0"]]}}
    claim = hand.add_claim("orientation-sum", "An edge that runs backwards", backwards).claims[0].id
    with pytest.raises(ComputeFailed, match="does not run before"):
        run_jobs(hand, hand.enqueue_experiments("orientation-sum", claim), ["experiment"], "cpu")
    assert hand.claim_results(claim) == [] and hand.circuit("orientation-sum").claims[0].status == "untested"


def test_running_needs_a_curator_and_a_claim_with_an_experiment(hand: Catalog):
    hand.add_claim("orientation-sum", "A sentence no program checks")
    with pytest.raises(Exception, match="no claim with an experiment"):
        hand.enqueue_experiments("orientation-sum")
    with pytest.raises(Exception, match="viewer"):
        hand.enqueue_experiments("orientation-sum", author="vic")


def test_the_cli_runs_a_claim_and_refuses_a_bad_one_in_one_line(hand: Catalog, db_url, blob_dir, capsys):
    claim = hand.add_claim("orientation-sum", "Zeroing edge A removes orientation A only", EDGE_A).claims[0].id
    base = ["--db", db_url, "--blobs", blob_dir, "--user", "carl", "experiment", "run", "orientation-sum"]
    assert main([*base, str(claim), "--device", "cpu"]) == 0
    assert f"claim {claim}: held:" in capsys.readouterr().out
    assert main([*base, "99999"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "atlas: error: unknown claim 99999"


def test_the_preferred_condition_is_the_one_with_the_highest_response_before():
    rng = np.random.default_rng(0)
    conditions = np.array(["0", "90", "180"] * 10)
    before = np.where(conditions == "90", 3.0, 1.0) + rng.uniform(0, 0.1, 30)
    after = before * np.where(conditions == "90", 0.2, 1.0)  # only the preferred stimulus loses its response
    peak = compare({"condition": "^", "op": "<=", "value": -0.5}, conditions, before, after, None, rng)
    assert (peak.condition, peak.outcome) == ("90", "holds") and peak.measured == pytest.approx(-0.8)
    others = compare({"condition": "!^", "op": "abs<=", "value": 0.1}, conditions, before, after, None, rng)
    assert (others.condition, others.outcome, others.measured) == ("!90", "holds", 0.0)
    swapped = compare({"condition": "^", "op": ">=", "value": 0.5}, conditions, after, before, None, rng)
    assert swapped.condition != "90"  # chosen on the responses before (the unchanged model), not after
