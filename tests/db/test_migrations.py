"""The schema is built by migrations only, and they round-trip on both dialects."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from atlas import Catalog
from atlas.db import migrate
from atlas.db.engine import make_engine
from atlas.db.models import Base
from atlas.errors import InvalidInput
from tests.conftest import DEMO_LAYERS

TABLES = {
    "models", "layers", "features", "artifacts", "edges", "labels", "evidence", "circuits",
    "circuit_nodes", "circuit_edges", "circuit_claims", "families", "family_members", "users",
    "audit_log", "jobs", "job_dependencies", "datasets", "search_docs", "settings", "claim_results",
    "direct_paths", "relations",
}


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        # FTS5's own tables (search_fts and its shadows) are part of the SQLite schema.
        return {t for t in inspect(engine).get_table_names() if not t.startswith("search_fts")} - {
            "alembic_version"
        }
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(empty_db_url):
    migrate.upgrade(empty_db_url)
    assert _tables(empty_db_url) == TABLES
    migrate.downgrade(empty_db_url, "base")
    assert _tables(empty_db_url) == set()
    migrate.upgrade(empty_db_url)
    assert _tables(empty_db_url) == TABLES
    engine = make_engine(empty_db_url)
    assert migrate.current_revision(engine) == migrate.head_revision()
    engine.dispose()


def test_models_match_migrated_schema(db_url):
    engine = make_engine(db_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "include_name": migrate.include_name,
            },
        )
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_hot_query_indexes_exist(db_url):
    engine = make_engine(db_url)
    inspector = inspect(engine)
    edge_indexes = {ix["name"]: ix["column_names"] for ix in inspector.get_indexes("edges")}
    assert edge_indexes["ix_edges_top_inputs"] == ["dst_feature_id", "kind", "rank_in"]
    assert edge_indexes["ix_edges_top_outputs"] == ["src_feature_id", "kind", "rank_out"]
    label_uniques = [u["column_names"] for u in inspector.get_unique_constraints("labels")]
    assert ["feature_id", "version"] in label_uniques
    feature_uniques = [u["column_names"] for u in inspector.get_unique_constraints("features")]
    assert ["layer_id", "channel"] in feature_uniques
    engine.dispose()


@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET user_name = 'nobody'",
    "DELETE FROM audit_log",
])
def test_audit_log_is_append_only_in_the_database(catalog, statement):
    """Anyone who can connect (a viewer with a database URL) still cannot rewrite history."""
    before = catalog.audit_log(limit=100)
    assert before
    with pytest.raises(DBAPIError, match="append-only"):
        with catalog.engine.begin() as conn:
            conn.execute(text(statement))
    assert catalog.audit_log(limit=100) == before
    catalog.add_user("newcomer", "viewer")  # appending still works
    assert len(catalog.audit_log(limit=100)) == len(before) + 1


def test_audit_log_cannot_be_truncated_on_postgresql(catalog):
    if catalog.engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE is a PostgreSQL statement")
    with pytest.raises(DBAPIError, match="append-only"):
        with catalog.engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_log"))


def test_0008_splits_a_family_that_spans_layers_one_per_layer(db_url, blob_dir):
    """A catalogue from before 0008 may hold a family over two layers: upgrading splits it
    into 'NAME (layer)' families (the shallowest keeps the row), audited and searchable."""
    cat = Catalog.open(db_url, blob_dir, user="alice")
    cat.add_user("alice", "admin")
    cat.add_model("demo", "demo_cnn", layers=DEMO_LAYERS, input_spec={"size": [64, 64]})
    cat.create_family("curves", "curve detectors")
    cat.add_family_member("curves", "demo/conv2/3", note="kept")
    cat.create_family("lines", "one layer already")
    cat.add_family_member("lines", "demo/conv1/0")
    cat.close()
    migrate.downgrade(db_url, "0006")
    engine = make_engine(db_url)
    with engine.begin() as conn:  # what the catalogue allowed before 0008
        conn.execute(text(
            "INSERT INTO family_members (family_id, feature_id) SELECT f.id, u.id FROM families f, features u "
            "JOIN layers l ON l.id = u.layer_id WHERE f.name = 'curves' AND l.name = 'conv3' AND u.channel IN (7, 9)"
        ))
    engine.dispose()
    migrate.upgrade(db_url)
    cat = Catalog.open(db_url, blob_dir, user="alice")
    try:
        assert cat.family_names() == ["curves (conv2)", "curves (conv3)", "lines"]
        assert cat.family("curves (conv2)").members == [("demo/conv2/3", "kept")]
        later = cat.family("curves (conv3)")
        assert (later.layer, later.description) == ("demo/conv3", "curve detectors")
        assert sorted(a for a, _ in later.members) == ["demo/conv3/7", "demo/conv3/9"]
        assert cat.family("lines").members == [("demo/conv1/0", None)]
        assert {h.target for h in cat.search("curve detectors")} >= {"family:curves (conv2)", "family:curves (conv3)"}
        [split] = [e for e in cat.audit_log(entity="family:curves") if e.action == "family.split"]
        assert split.user == "migration 0008"
        assert [p["name"] for p in split.after["families"]] == ["curves (conv2)", "curves (conv3)"]
        with pytest.raises(InvalidInput, match="is in layer demo/conv3"):
            cat.add_family_member("curves (conv3)", "demo/conv2/5")
    finally:
        cat.close()


def test_0010_keeps_measured_relations_and_only_published_ones_go_without_a_score(db_url, blob_dir):
    """Relations stored before 0010 are measured: they keep their score and get no source.
    After it the database itself refuses a measured relation without a score and a
    published one with a score or without its source."""
    cat = Catalog.open(db_url, blob_dir, user="alice")
    cat.add_user("alice", "admin")
    cat.add_model("demo", "demo_cnn", layers=DEMO_LAYERS, input_spec={"size": [64, 64]})
    stimuli = {"dataset": {"kind": "synthetic", "n": 10, "seed": 0, "size": 64}, "sweeps": []}
    cat.add_relations("similar", "cka.linear", stimuli, "demo/conv1", "demo/conv2", [(None, None, 0.25)])
    cat.close()
    migrate.downgrade(db_url, "0009")
    migrate.upgrade(db_url)
    cat = Catalog.open(db_url, blob_dir, user="alice")
    try:
        [kept] = cat.layer_similarity("demo", "demo")
        assert (kept.score, kept.source, kept.published) == (0.25, None, False)
        row = ("INSERT INTO relations (relation, method, src_layer_id, dst_layer_id, score, source, stimuli, "
               "stimuli_key, created_at) SELECT 'similar', '{method}', id, id, {score}, {source}, '{{}}', 'k', "
               "CURRENT_TIMESTAMP FROM layers WHERE name = 'conv1'")
        for method, score, source in (("cka.linear", "NULL", "NULL"), ("published", "0.5", "'https://x.org'"),
                                      ("published", "NULL", "NULL"), ("cka.linear", "0.5", "'https://x.org'")):
            with pytest.raises(DBAPIError, match="(?i)check"):
                with cat.engine.begin() as conn:
                    conn.execute(text(row.format(method=method, score=score, source=source)))
        assert cat.layer_similarity("demo", "demo") == [kept]
    finally:
        cat.close()


def test_0011_gives_documents_from_before_it_the_keys_the_catalogue_writes(db_url, blob_dir):
    """Search documents written before 0011 get their ranking keys from the upgrade, the
    same keys the catalogue writes with a document (a rebuild is the reference), and the
    search reads them: the whole title first, then units with evidence or in a circuit."""
    cat = Catalog.open(db_url, blob_dir, user="alice")
    cat.add_user("alice", "admin")
    cat.add_model("demo", "demo_cnn", layers=DEMO_LAYERS, input_spec={"size": [64, 64]})
    cat.set_label("demo/conv1/0", "Curve detector, left", author="alice")
    cat.set_label("demo/conv1/1", "curve-detector", author="alice")
    cat.set_label("demo/conv1/2", "curve detector, right", author="alice")
    cat.review_label("demo/conv1/2", "accepted", author="alice")
    cat.add_evidence("note", "the curve detector's neighbour", feature="demo/conv1/3", author="alice")
    cat.create_circuit("curves", "")
    cat.add_circuit_node("curves", "demo/conv1/0")
    cat.close()
    migrate.downgrade(db_url, "0010")
    migrate.upgrade(db_url)
    cat = Catalog.open(db_url, blob_dir, user="alice")
    try:
        columns = "kind, ref_id, standing, known, title_key, title_words, body_words"
        with cat.engine.connect() as conn:
            upgraded = conn.execute(text(f"SELECT {columns} FROM search_docs ORDER BY kind, ref_id")).all()
        assert [h.target for h in cat.search("curve detector") if h.kind == "label"] == [
            "demo/conv1/1", "demo/conv1/2", "demo/conv1/0"]
        cat.reindex()
        with cat.engine.connect() as conn:
            assert conn.execute(text(f"SELECT {columns} FROM search_docs ORDER BY kind, ref_id")).all() == upgraded
        assert {row.known for row in upgraded if row.kind == "label"} == {0, 1}
    finally:
        cat.close()
