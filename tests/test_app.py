"""The curation app, driven by Streamlit's AppTest on a seeded catalogue (both dialects)."""

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from atlas import Catalog

APP = str(Path(__file__).resolve().parents[1] / "app" / "main.py")


@pytest.fixture
def app(demo_catalog: Catalog, db_url: str, blob_dir: str, monkeypatch):
    monkeypatch.setenv("ATLAS_DATABASE_URL", db_url)
    monkeypatch.setenv("ATLAS_BLOB_URL", blob_dir)
    monkeypatch.setenv("ATLAS_USER", "carl")
    st.cache_resource.clear()
    demo_catalog.set_label("demo/conv2/3", "curve detector", author="carl")
    yield AppTest.from_file(APP, default_timeout=30)
    st.cache_resource.clear()


def test_home_shows_figures_and_activity(app: AppTest):
    app.run()
    assert not app.exception
    assert [m.value for m in app.metric] == ["1", "3", "0"]
    assert any("label.set" in md.value for md in app.markdown)


def test_unit_page_proposes_a_label(app: AppTest, demo_catalog: Catalog):
    app.session_state["unit_address"] = "demo/conv2/3"
    app.switch_page("pages/unit.py").run()
    assert not app.exception
    assert app.subheader[0].value == "curve detector"
    app.text_input(key="label_text").set_value("left curve detector")
    app.button[0].click().run()
    assert not app.exception
    label = demo_catalog.feature("demo/conv2/3").label
    assert (label.text, label.author, label.version) == ("left curve detector", "carl", 2)


def test_unit_page_bad_address_is_an_error_not_a_crash(app: AppTest):
    app.session_state["unit_address"] = "demo/../x"
    app.switch_page("pages/unit.py").run()
    assert not app.exception
    assert "invalid layer name" in app.error[0].value
