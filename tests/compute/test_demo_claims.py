"""`make demo`'s last step runs every seeded demo claim for real and prints its verdict
with its numbers; the claim's status is the stored run's verdict."""

from __future__ import annotations

import pytest

from atlas import Catalog
from atlas.compute.demo_atlas import register_demo_models, run_demo_claims


@pytest.mark.parametrize("dialect", ["sqlite"])  # the catalogue part is tested on both elsewhere
def test_every_seeded_demo_claim_runs_and_shows_its_verdict(catalog: Catalog, capsys):
    register_demo_models(catalog)
    catalog.load_seed("demo")
    claims = [(name, claim) for name in catalog.circuits() for claim in catalog.circuit(name).claims
              if claim.experiment is not None]
    assert claims and all(claim.status == "untested" for _, claim in claims)
    run_demo_claims(catalog, "cpu")
    printed = capsys.readouterr().out
    for name, claim in claims:
        [run] = catalog.claim_results(claim.id)
        status = next(c for c in catalog.circuit(name).claims if c.id == claim.id).status
        assert status == run.verdict and run.verdict in ("held", "refuted", "inconclusive")
        stimuli = claim.experiment["stimuli"]
        assert run.result["controls"] and run.result["stimuli_count"] == (450 if "dataset" in stimuli
                                                                          else stimuli["steps"] * stimuli["samples"])
        assert f"{name}, claim {claim.id}: {run.result['summary']}" in printed
    # The bar, met by measuring (docs/experiments.md, "A second search, pre-registered")
    assert "held" in {catalog.claim_results(claim.id)[0].verdict for _, claim in claims}
    run_demo_claims(catalog, "cpu")  # run once: a claim with a verdict is not run again
    assert all(len(catalog.claim_results(claim.id)) == 1 for _, claim in claims)
