"""Relations across models in the catalogue (SQLite and PostgreSQL): analogous features and
similar layers stored, read back from either end, rewritten only on request; refused for
viewers and for hostile rows, with nothing written; audited."""

import pytest
from conftest import DEMO_LAYERS

from atlas import Catalog
from atlas.errors import InvalidInput, NotFound, PermissionDenied

STIMULI = {"dataset": {"kind": "synthetic", "n": 100, "seed": 0, "size": 64}, "sweeps": []}
OTHER = {"dataset": {"kind": "synthetic", "n": 200, "seed": 0, "size": 64}, "sweeps": []}


@pytest.fixture
def two_models(demo_catalog: Catalog) -> Catalog:
    demo_catalog.add_model("other", "demo_cnn", layers=DEMO_LAYERS, input_spec={"size": [64, 64]})
    demo_catalog.add_direction("demo/conv2", "curve", [1.0] + [0.0] * 15)
    return demo_catalog


def test_analogous_features_are_stored_and_read_from_either_end(two_models: Catalog):
    rows = [(3, 5, 0.9), (4, 1, 0.2), ("curve", 7, 0.7)]
    assert two_models.add_relations("analogous", "pooled.assignment", STIMULI, "demo/conv2", "other/conv2", rows) == 3
    stored = two_models.relations("demo/conv2", "other/conv2", method="pooled.assignment")
    assert [(r.src, r.dst, r.score) for r in stored] == [
        ("demo/conv2/3", "other/conv2/5", 0.9), ("demo/conv2/dir:curve", "other/conv2/7", 0.7),
        ("demo/conv2/4", "other/conv2/1", 0.2)]
    assert {r.ends for r in stored} == {"features"} and stored[0].stimuli == STIMULI
    assert [(r.src, r.dst) for r in two_models.analogues("other/conv2/5")] == [("demo/conv2/3", "other/conv2/5")]
    assert [r.dst for r in two_models.analogues("demo/conv2/dir:curve")] == ["other/conv2/7"]
    assert two_models.relations("other/conv2", "demo/conv2") == []  # a direction: from src to dst
    assert two_models.relations("demo/conv2", "other/conv2", stimuli=OTHER) == []
    audit = two_models.audit_log("layer:demo/conv2->other/conv2")
    assert audit[0].action == "relations.add" and audit[0].after["rows"] == 3 and audit[0].user == "alice"


def test_a_pair_is_rewritten_only_when_asked(two_models: Catalog):
    args = ("analogous", "pooled.best", STIMULI, "demo/conv1", "other/conv1")
    assert two_models.add_relations(*args, [(0, 0, 0.5)]) == 1
    assert two_models.add_relations(*args, [(0, 1, 0.6)]) == 0
    assert [r.dst for r in two_models.relations("demo/conv1", "other/conv1")] == ["other/conv1/0"]
    assert two_models.add_relations(*args, [(0, 1, 0.6)], replace=True) == 1
    assert [r.dst for r in two_models.relations("demo/conv1", "other/conv1")] == ["other/conv1/1"]
    assert two_models.add_relations("analogous", "pooled.best", OTHER, "demo/conv1", "other/conv1", [(2, 2, 0.1)]) == 1
    assert len(two_models.relations("demo/conv1", "other/conv1")) == 2


def test_similar_layers_are_relations_of_the_layers(two_models: Catalog):
    for src, dst, score in (("conv1", "conv1", 0.9), ("conv1", "conv2", 0.1), ("conv2", "conv2", 0.8)):
        two_models.add_relations("similar", "cka.linear", STIMULI, f"demo/{src}", f"other/{dst}", [(None, None, score)],
                                 {"heatmap": "0" * 64})
    table = two_models.layer_similarity("demo", "other", STIMULI)
    assert [(r.ends, r.src, r.dst, r.score) for r in table] == [
        ("layers", "demo/conv1", "other/conv1", 0.9), ("layers", "demo/conv1", "other/conv2", 0.1),
        ("layers", "demo/conv2", "other/conv2", 0.8)]
    assert table[0].details == {"heatmap": "0" * 64}
    assert two_models.layer_similarity("other", "demo") == []
    with pytest.raises(NotFound):
        two_models.layer_similarity("demo", "nope")


@pytest.mark.parametrize("relation, method, rows, message", [
    ("analogous", "pooled.assignment", [(0, 0, float("nan"))], "finite"),
    ("analogous", "pooled.assignment", [(0, 0, True)], "finite"),
    ("analogous", "pooled.assignment", [(None, None, 0.5)], "joins features"),
    ("similar", "cka.linear", [(0, 0, 0.5)], "joins layers"),
    ("analogous", "cka.linear", [(0, 0, 0.5)], "measured by"),
    ("kinship", "pooled.best", [(0, 0, 0.5)], "unknown relation"),
    ("analogous", "pooled.best", [(99, 0, 0.5)], "out of range|outside|no unit|unit 99"),
    ("analogous", "pooled.best", [("nope", 0, 0.5)], "nope"),
])
def test_hostile_rows_are_refused_and_nothing_is_written(two_models: Catalog, relation, method, rows, message):
    with pytest.raises((InvalidInput, NotFound), match=message):
        two_models.add_relations(relation, method, STIMULI, "demo/conv1", "other/conv1", rows)
    assert two_models.relations("demo/conv1", "other/conv1") == []
    assert two_models.layer_similarity("demo", "other") == []


def test_viewers_may_not_store_relations_or_queue_comparisons(two_models: Catalog):
    viewer = two_models.as_user("vic")
    with pytest.raises(PermissionDenied):
        viewer.add_relations("analogous", "pooled.best", STIMULI, "demo/conv1", "other/conv1", [(0, 0, 0.5)])
    with pytest.raises(PermissionDenied):
        viewer.enqueue_comparison("demo/conv1", "other/conv1", STIMULI)
    assert two_models.relations("demo/conv1", "other/conv1") == [] and two_models.jobs() == []
    assert viewer.relations("demo/conv1", "other/conv1") == []  # reading is for everyone


def test_a_comparison_queues_image_chunks_then_one_matching_job(two_models: Catalog):
    stimuli = {**STIMULI, "sweeps": [{"sweep": "orientation", "steps": 8, "size": 64}]}
    ids = two_models.enqueue_comparison("demo/conv3", "other/conv3", stimuli, chunk_images=40)
    jobs = two_models.jobs_by_id(ids)
    parts = [job.params["part"] for job in jobs[:-1]]
    assert [(p.get("start"), p.get("stop")) for p in parts] == [(0, 40), (40, 80), (80, 100), (None, None)]
    assert parts[-1]["sweep"]["sweep"] == "orientation"
    assert jobs[-1].kind == "compare.match" and jobs[-1].status == "waiting"
    assert sorted(i for i, _ in two_models.job_dependencies(ids[-1])) == ids[:-1]
    assert two_models.enqueue_comparison("demo/conv3", "other/conv3", stimuli, chunk_images=40) == ids
    assert two_models.audit_log("layer:demo/conv3")[0].action == "jobs.enqueue"
    with pytest.raises(InvalidInput, match="itself"):
        two_models.enqueue_comparison("demo/conv3", "demo/conv3", stimuli)
    with pytest.raises(InvalidInput, match="dataset, sweeps or both"):
        two_models.enqueue_comparison("demo/conv3", "other/conv3", {"dataset": None, "sweeps": []})
    with pytest.raises(InvalidInput):
        two_models.enqueue_comparison("demo/conv3", "other/conv3", {**STIMULI, "dataset": {"kind": "synthetic",
                                                                                          "n": 10**7, "size": 64}})



def test_redundancy_lists_the_units_sharing_one_best_partner(two_models: Catalog):
    rows = [(3, 5, 0.9), (4, 5, 0.8), (6, 5, 0.4), (0, 2, 0.7), (1, 2, 0.6), (2, 9, 0.95)]
    two_models.add_relations("analogous", "pooled.best", STIMULI, "demo/conv2", "other/conv2", rows)
    assert two_models.redundancy("demo/conv2", "other/conv2", 0.5) == [
        ("other/conv2/2", ["demo/conv2/0", "demo/conv2/1"]), ("other/conv2/5", ["demo/conv2/3", "demo/conv2/4"])]
    assert two_models.redundancy("demo/conv2", "other/conv2", 0.3)[0] == (
        "other/conv2/5", ["demo/conv2/3", "demo/conv2/4", "demo/conv2/6"])
    assert two_models.redundancy("demo/conv2", "other/conv2", 0.5, OTHER) == []
