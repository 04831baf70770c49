"""Every seeded InceptionV1 claim is a runnable experiment: on random weights (the
mechanics, not the outcome) each runs end to end as a job and stores a result."""

from __future__ import annotations

import json

import pytest
import torch

from atlas import Catalog
from atlas.compute.models.inceptionv1 import InceptionV1
from atlas.compute.registration import register_model
from atlas.compute.run import run_jobs
from atlas.exchange.seed import SEED_DIR, figure_reference

SMALL = {"n": 9, "size": 96}  # one image per class at 96 px: every layer the claims name still has a map
SMALL_SWEEP = {"steps": 4, "samples": 2, "size": 96}  # 8 images of a sweep, as small


def shrink(stimuli: dict) -> int:
    """Make a claim's stimuli small (in place); how many images they now are."""
    if "sweep" in stimuli:
        stimuli.update(SMALL_SWEEP)
        return SMALL_SWEEP["steps"] * SMALL_SWEEP["samples"]
    stimuli["dataset"].update(SMALL)
    return SMALL["n"]


@pytest.mark.parametrize("dialect", ["sqlite"])  # the catalogue part is tested on both elsewhere
def test_every_seeded_inceptionv1_claim_runs_on_random_weights_and_stores_a_result(catalog: Catalog, tmp_path):
    torch.manual_seed(0)
    weights = tmp_path / "random.pt"
    torch.save(InceptionV1().state_dict(), weights)
    register_model(catalog, "inceptionv1", "inceptionv1", weights)
    seed = json.loads((SEED_DIR / "inceptionv1.seed.json").read_text())
    count = {claim["prediction"] + figure_reference(seed, claim): shrink(claim["experiment"]["stimuli"])
             for circuit in seed["circuits"] for claim in circuit.get("claims", []) if claim.get("experiment")}
    runnable = len(count)
    with_experiments = {c["name"] for c in seed["circuits"] if any("experiment" in x for x in c.get("claims", []))}
    assert with_experiments >= {"curve-circuit-3a-3b", "high-low-frequency-3a", "dog-head-union", "car-circuit"}
    small = tmp_path / "inceptionv1.seed.json"
    small.write_text(json.dumps(seed))
    catalog.load_seed(str(small))
    claims = [(name, c) for name in catalog.circuits() for c in catalog.circuit(name).claims if c.experiment]
    assert len(claims) == runnable and all(c.status == "untested" for _, c in claims)
    ids = [i for name in dict(claims) for i in catalog.enqueue_experiments(name)]
    run_jobs(catalog, ids, ["experiment"], "cpu")
    for name, claim in claims:
        [run] = catalog.claim_results(claim.id)
        assert run.verdict in ("held", "refuted", "inconclusive")
        assert run.result["stimuli_count"] == count[claim.prediction]
        assert "^" not in {c["condition"] for c in run.result["comparisons"]}  # the preferred step, named
        assert run.result["reproduce"]["model"] == "inceptionv1" and run.blobs
        assert next(c for c in catalog.circuit(name).claims if c.id == claim.id).status == run.verdict
