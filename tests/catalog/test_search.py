"""Full-text search: FTS5 on SQLite, tsvector + GIN on PostgreSQL, one behaviour."""

import re

import pytest
from sqlalchemy import text

from atlas import Catalog
from atlas.catalog.fulltext import MAX_QUERY_CHARS, terms
from atlas.catalog.search import MAX_HITS, SearchFilters
from atlas.errors import InvalidInput


@pytest.fixture
def searchable(demo_catalog: Catalog) -> Catalog:
    cat = demo_catalog
    cat.set_label("demo/conv2/3", "edge detector", author="carl")
    cat.set_label("demo/conv2/3", "left curve detector", author="carl", expected_version=1)
    cat.set_label("demo/conv2/4", "right curve detector", author="cora")
    cat.review_label("demo/conv2/4", "accepted", author="rita")
    cat.set_label("demo/conv3/1", "circle detector", author="cora")
    cat.set_label("demo/conv1/0", "vertical line", author="carl")
    cat.add_evidence("note", "Responds to curved fragments of **fur**", feature="demo/conv1/2", author="cora")
    cat.create_circuit("curve-circuit", "Curve detectors assembled from edges and lines")
    cat.add_claim("curve-circuit", "Ablating the edge units removes the curvature response")
    cat.create_family("high-low frequency", "Frequency boundaries used for foreground detection")
    cat.add_family_member("high-low frequency", "demo/conv3/1")
    return cat


def hits(cat: Catalog, query: str, **filters) -> list[tuple[str, str]]:
    return [(h.kind, h.target) for h in cat.search(query, **filters)]


def test_finds_labels_notes_circuits_claims_families(searchable: Catalog):
    # Stemmed prefixes: "curve" also finds "curved" and "curvature".
    assert set(hits(searchable, "curve")) == {
        ("label", "demo/conv2/3"), ("label", "demo/conv2/4"), ("circuit", "circuit:curve-circuit"),
        ("evidence", "demo/conv1/2"), ("claim", "circuit:curve-circuit"),
    }
    assert hits(searchable, "fur") == [("evidence", "demo/conv1/2")]
    assert hits(searchable, "ablating") == [("claim", "circuit:curve-circuit")]
    assert hits(searchable, "frequency") == [("family", "family:high-low frequency")]


def test_only_the_current_label_version_is_searched(searchable: Catalog):
    assert ("label", "demo/conv2/3") not in hits(searchable, "edge")
    assert hits(searchable, "left curve") == [("label", "demo/conv2/3")]


def test_prefix_matching_and_stemming(searchable: Catalog):
    assert ("label", "demo/conv3/1") in hits(searchable, "circ")
    assert ("evidence", "demo/conv1/2") in hits(searchable, "curv")  # "curved" in a note
    assert hits(searchable, "ircle") == []  # prefixes, not substrings


def test_ranking_prefers_title_matches(searchable: Catalog):
    results = searchable.search("curve detector")
    assert [h.kind for h in results[:2]] == ["label", "label"]


def test_snippets_highlight_the_match(searchable: Catalog):
    (hit,) = searchable.search("circle")
    assert "**circle**" in hit.snippet.lower()


def test_filters(searchable: Catalog):
    assert hits(searchable, "detector", status="accepted") == [("label", "demo/conv2/4")]
    # The author of the current version: rita's review made her the author of conv2/4's.
    assert hits(searchable, "detector", author="cora", model="demo") == [("label", "demo/conv3/1")]
    assert hits(searchable, "detector", author="rita") == [("label", "demo/conv2/4")]
    assert hits(searchable, "detector", family="high-low frequency") == [("label", "demo/conv3/1")]
    assert hits(searchable, "detector", layer="demo/conv3") == [("label", "demo/conv3/1")]
    assert hits(searchable, "detector", layer="conv3") == [("label", "demo/conv3/1")]
    assert hits(searchable, "detector", model="other") == []
    assert hits(searchable, "fur", has_evidence=True) == [("evidence", "demo/conv1/2")]
    assert hits(searchable, "vertical", has_evidence=False) == [("label", "demo/conv1/0")]
    with pytest.raises(InvalidInput, match="unknown search filter"):
        searchable.search("curve", colour="red")


@pytest.mark.parametrize("query", ['"curve', "curve OR *", "NEAR(curve", "curve & | !", "col:curve",
                                   "'; DROP TABLE labels; --"])
def test_query_syntax_cannot_break_search(searchable: Catalog, query: str):
    searchable.search(query)  # no error, whatever the engine's query language
    assert searchable.feature("demo/conv2/3").label.text == "left curve detector"


EMPTY = (r"^empty search query: type a word to look for \(punctuation, operators and common words such as "
         r"'the' or 'not' are ignored\)$")


def test_empty_query_is_refused(searchable: Catalog):
    with pytest.raises(InvalidInput, match=EMPTY):
        searchable.search("  %% ")


@pytest.mark.parametrize("query", ["", None, "The NOT a", "_ _"])
def test_a_query_of_nothing_but_punctuation_or_common_words_in_any_case_is_empty(query):
    with pytest.raises(InvalidInput, match=EMPTY):
        terms(query)


def test_a_query_may_be_as_long_as_its_bound_and_no_longer():
    query = ("curve " * MAX_QUERY_CHARS)[:MAX_QUERY_CHARS - 2] + "ab"
    assert len(query) == MAX_QUERY_CHARS and terms(query)[0] == "curve"
    with pytest.raises(InvalidInput, match=rf"^search query is longer than {MAX_QUERY_CHARS} characters$"):
        terms(query + "c")


@pytest.mark.parametrize("filters, message", [
    ({"model": 5}, "^model filter must be text, got int$"),
    ({"author": "cora\x1b"}, "^author filter contains the control character U\\+001B"),
])
def test_filter_values_are_checked_as_text(filters, message):
    with pytest.raises(InvalidInput, match=message):
        SearchFilters(**filters)


def test_index_stays_in_sync_and_rebuilds(searchable: Catalog):
    searchable.set_label("demo/conv3/1", "spiral detector", author="cora", expected_version=1)
    assert hits(searchable, "circle") == []
    assert hits(searchable, "spiral") == [("label", "demo/conv3/1")]
    searchable.update_circuit("curve-circuit", searchable.circuit("curve-circuit").version,
                              description="now about spirals too")
    assert ("circuit", "circuit:curve-circuit") in hits(searchable, "spirals")
    before = sorted(hits(searchable, "detector"))
    assert searchable.reindex() == 8
    assert sorted(hits(searchable, "detector")) == before


def test_a_match_in_the_title_ranks_above_one_in_the_body(demo_catalog: Catalog):
    """Titles (a label's text, a circuit's name) weigh more than bodies. Only the engine's
    text score orders these two: neither title starts with the query, both are circuits.
    The title is longer than the body, so by length alone the body match ranks first (with
    equal weights it does, on SQLite's bm25), and its name sorts first, so a tie would put
    it first too."""
    demo_catalog.create_circuit("alpha", "the gizmo wiring")
    demo_catalog.create_circuit("zeta-assembly-of-gizmo-units", "")
    demo_catalog.create_circuit("other", "nothing to see")
    assert hits(demo_catalog, "gizmo") == [("circuit", "circuit:zeta-assembly-of-gizmo-units"),
                                          ("circuit", "circuit:alpha")]


def test_search_reads_queries_as_the_index_was_built_whatever_the_servers_default(demo_catalog: Catalog,
                                                                                  dialect: str):
    """PostgreSQL builds the index with the 'english' configuration; the query and the
    highlight name it too, so a server whose default is another (here 'simple', which
    does not stem) still finds 'happy' for 'happiness' and marks it (both stem to 'happi', of
    which 'happy' is no prefix). SQLite has no such setting: the same search, the same hit."""
    if dialect == "postgresql":
        with demo_catalog.engine.begin() as conn:
            conn.execute(text(f'ALTER DATABASE "{conn.execute(text("SELECT current_database()")).scalar_one()}" '
                              "SET default_text_search_config = 'simple'"))
        demo_catalog.engine.dispose()  # new connections take the database's setting
    demo_catalog.set_label("demo/conv2/3", "happy detector", author="carl")
    (hit,) = demo_catalog.search("happiness")
    assert hit.target == "demo/conv2/3" and "**happy**" in hit.snippet


def test_the_snippet_of_a_body_match_marks_it_in_an_excerpt(demo_catalog: Catalog):
    """The snippet comes from the column that matched (here the body, not the title) and
    is an excerpt of a long body, not all of it."""
    words = [f"filler{i}" for i in range(60)]
    body = " ".join(words[:30] + ["the", "gizmo", "response"] + words[30:])
    demo_catalog.create_circuit("plain-assembly", body)
    (hit,) = demo_catalog.search("gizmo")
    assert "**gizmo**" in hit.snippet.lower()
    assert len(hit.snippet.split()) <= 24 < len(body.split())


def test_a_snippet_holds_only_words_of_its_document(demo_catalog: Catalog):
    """A short title and body fit one snippet whole (on PostgreSQL, which excerpts them as
    one text): nothing but their words, with the match marked."""
    demo_catalog.create_circuit("gizmo", "wiring of parts")
    (hit,) = demo_catalog.search("gizmo")
    assert "**gizmo**" in hit.snippet.lower()
    assert set(re.findall(r"[^\W_]+", hit.snippet.lower())) <= {"gizmo", "wiring", "of", "parts"}


def test_limit_caps_the_hits_and_is_itself_bounded(searchable: Catalog):
    assert len(searchable.search("curve")) > 1
    (best,) = searchable.search("curve", limit=1)
    assert best == searchable.search("curve")[0]
    with pytest.raises(InvalidInput, match=rf"^limit must be an integer from 1 to {MAX_HITS:,}, not {MAX_HITS + 1}$"):
        searchable.search("curve", limit=MAX_HITS + 1)
    assert searchable.search("curve", offset=1)[0] == searchable.search("curve")[1]
    with pytest.raises(InvalidInput, match=r"^offset must be an integer from 0 to [\d,]+, not -1$"):
        searchable.search("curve", offset=-1)


def test_a_hits_text_is_the_label_or_the_whole_document(demo_catalog: Catalog):
    """A label hit shows the label text (the reason is searched, not shown as the label);
    other hits show their title and body, or the body alone when there is no title."""
    demo_catalog.set_label("demo/conv2/3", "gizmo detector", "disputed", author="rita",
                           reason="it also fires on sprockets")
    demo_catalog.create_circuit("gizmo-assembly", "units and their wiring")
    demo_catalog.add_evidence("note", "a gizmo in every image", feature="demo/conv1/2", author="cora")
    found = {(h.kind, h.target): h.text for h in demo_catalog.search("gizmo")}
    assert found == {
        ("label", "demo/conv2/3"): "gizmo detector",
        ("circuit", "circuit:gizmo-assembly"): "gizmo assembly\nunits and their wiring",
        ("evidence", "demo/conv1/2"): "a gizmo in every image",
    }
    assert [h.target for h in demo_catalog.search("sprockets")] == ["demo/conv2/3"]


def test_ranking_puts_what_a_researcher_means_first(demo_catalog: Catalog):
    """The whole label first; accepted before proposed, families and circuits; notes and
    claims next; disputed and rejected last; within a standing, units with evidence or in
    a circuit first; ties by content (the address), never by insertion order."""
    cat = demo_catalog
    for unit in (7, 6, 5):  # written in reverse address order
        cat.set_label(f"demo/conv3/{unit}", "curve detector", author="carl")
        cat.review_label(f"demo/conv3/{unit}", "accepted", author="rita")
    cat.set_label("demo/conv3/9", "curve detector", author="carl")  # proposed, whole label
    cat.set_label("demo/conv3/1", "tiny curve detector", author="carl")
    cat.review_label("demo/conv3/1", "accepted", author="rita")
    cat.set_label("demo/conv3/2", "curve detector", author="carl")
    cat.review_label("demo/conv3/2", "rejected", author="rita")
    cat.set_label("demo/conv2/0", "curve detector fragment", author="carl")
    cat.review_label("demo/conv2/0", "disputed", author="rita")
    cat.create_family("curve detectors", "curve detector units", author="carl")
    cat.add_evidence("note", "a curve detector in disguise", feature="demo/conv2/1", author="carl")
    cat.add_evidence("note", "sharp", feature="demo/conv3/7", author="carl")  # known more about
    ranked = [(h.kind, h.target) for h in cat.search("curve detector")]
    assert ranked == [
        ("label", "demo/conv3/7"), ("label", "demo/conv3/5"), ("label", "demo/conv3/6"),  # accepted, whole
        ("label", "demo/conv3/9"),  # proposed, whole label
        ("label", "demo/conv3/2"),  # rejected, whole label
        ("label", "demo/conv3/1"),  # accepted, part of the label
        ("family", "family:curve detectors"),
        ("evidence", "demo/conv2/1"),
        ("label", "demo/conv2/0"),  # disputed
    ]


def test_search_pages_through_every_result_and_counts_them(demo_catalog: Catalog):
    cat = demo_catalog
    for unit in range(32):
        cat.set_label(f"demo/conv3/{unit}", f"texture {unit}", author="carl")
    assert cat.search_count("texture") == 32 and cat.search_count("texture", model="nope") == 0
    pages = [h.target for offset in (0, 10, 20, 30) for h in cat.search("texture", limit=10, offset=offset)]
    assert len(pages) == len(set(pages)) == 32
    assert pages == [h.target for h in cat.search("texture", limit=100)]
    with pytest.raises(InvalidInput, match="offset"):
        cat.search("texture", offset=-1)


def test_a_misspelt_query_gets_the_catalogues_own_words(demo_catalog: Catalog):
    cat = demo_catalog
    cat.set_label("demo/conv3/1", "high-low frequency detector", author="carl")
    cat.create_family("curve detectors", author="carl")
    assert cat.search_suggestion("frequncy detectr") == "frequency detector"
    assert cat.search_suggestion("curve detector") is None  # nothing to fix
    assert cat.search_suggestion("qqqq") is None  # nothing close
    with pytest.raises(InvalidInput, match="empty search query"):
        cat.search_suggestion("the")
    # The catalogue's own words are its words as search reads them: never a common word,
    # which a query drops (a title holds "these"; "thes" is close to it, and to nothing else).
    cat.set_label("demo/conv1/0", "these edges", author="carl")
    assert cat.search_suggestion("thes edges") is None
