"""Who the app acts as in the picker mode (issue 19, item 1): nobody until picked, a pick
kept in the URL across reruns, page switches and reloads, an admin only once confirmed,
a hostile ``?as=`` refused; and the admins' users page."""

from __future__ import annotations

import pytest
from app_seed import RICH
from streamlit.testing.v1 import AppTest
from test_app import app, cat, open_page, sqlite_only, texts  # noqa: F401 (fixtures)

from atlas import Catalog


def picker(at: AppTest):
    return next(s for s in at.sidebar.selectbox if s.label == "You are")


def acting(at: AppTest) -> str:
    """The sidebar's "who you are" line, e.g. ``carl · curator``."""
    return next(c.value for c in at.sidebar.caption if " · " in c.value).replace("*", "").replace("\\", "")


def title(at: AppTest) -> str:
    return at.title[0].value


def confirm_admin(at: AppTest) -> AppTest:
    next(b for b in at.sidebar.button if b.label.startswith("Act as admin")).click().run()
    assert not at.exception, at.exception
    return at


def assert_no_users_page(at: AppTest) -> None:
    """The navigation of this run offers no users page (AppTest refuses to open one)."""
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("views/users.py")


@sqlite_only
def test_nobody_picked_is_an_anonymous_viewer_who_cannot_write(app: AppTest):
    open_page(app, "unit", user=None, address=RICH)
    assert acting(app) == "(anonymous) · viewer" and picker(app).value == "— pick who you are —"
    assert "Pick who you are to label, review or edit." in texts(app.sidebar, "caption")
    assert "(anonymous) is a viewer: curators propose labels." in texts(app, "caption")
    assert not app.text_area and "as" not in app.query_params


@sqlite_only
def test_a_pick_is_kept_across_reruns_page_switches_and_reloads(app: AppTest, db_url: str):
    open_page(app, "home", user=None)
    picker(app).set_value("carl").run()
    assert acting(app) == "carl · curator" and app.query_params["as"] == "carl"
    app.run()
    assert acting(app) == "carl · curator"
    # A page switch from the sidebar clears the URL's parameters; the session keeps the pick
    # and puts it back in the URL.
    app.query_params.clear()
    app.switch_page("views/review.py").run()
    assert title(app) == "Review queue" and acting(app) == "carl · curator"
    assert app.query_params["as"] == "carl"
    # The unit links carry it, for a new tab.
    assert all("as=carl" in link.proto.query_string for link in app.get("page_link"))
    # A reload or a shared link is a new session with only the URL.
    reloaded = AppTest.from_file(app._script_path, default_timeout=30)
    open_page(reloaded, "review", user="rita")
    assert acting(reloaded) == "rita · reviewer" and picker(reloaded).value == "rita"


@sqlite_only
def test_an_admin_is_acted_as_only_once_confirmed(app: AppTest):
    open_page(app, "home", user="alice")  # a shared link naming an admin makes nobody an admin
    assert acting(app) == "(anonymous) · viewer"
    assert "alice is an admin: confirm before acting as them." in [w.value for w in app.sidebar.warning]
    assert_no_users_page(app)
    confirm_admin(app)
    assert acting(app) == "alice · admin" and not app.sidebar.warning
    app.switch_page("views/users.py").run()
    assert title(app) == "Users" and "alice" in str(app.dataframe[0].value["name"].tolist())


@pytest.mark.parametrize("hostile", ["mallory", "carl\x00\n<script>", "x" * 500])
@sqlite_only
def test_a_hostile_as_is_refused_in_one_line_and_acts_as_nobody(app: AppTest, hostile: str):
    open_page(app, "unit", user=hostile, address=RICH)
    [warning] = app.sidebar.warning
    assert "is not a user of this catalogue" in warning.value and "\n" not in warning.value
    assert len(warning.value) < 200
    assert acting(app) == "(anonymous) · viewer" and "as" not in app.query_params
    assert not app.text_area


@sqlite_only
def test_a_non_admin_has_no_user_management(app: AppTest):
    for name in ("vic", "carl", "rita"):
        open_page(app, "home", user=name)
        assert acting(app).startswith(name)
        assert_no_users_page(app)


def test_an_admin_adds_a_user_and_changes_a_role_audited(app: AppTest, cat: Catalog):
    open_page(app, "home", user="alice")
    confirm_admin(app)
    app.switch_page("views/users.py").run()
    app.text_input(key="user-add-name").input("eve")
    app.selectbox(key="user-add-role").set_value("curator")
    app.button(key="FormSubmitter:user-add-Add").click().run()
    assert not app.exception and "added eve (curator)" in [s.value for s in app.success]
    app.selectbox(key="user-role-name").set_value("eve")
    app.selectbox(key="user-role-role").set_value("reviewer")
    app.button(key="FormSubmitter:user-role-Change").click().run()
    assert not app.exception and "eve is now a reviewer" in [s.value for s in app.success]
    assert cat.get_user("eve").role == "reviewer"
    entries = cat.audit_log("user:eve")
    assert [(e.user, e.action, e.after) for e in entries] == [
        ("alice", "user.set_role", {"role": "reviewer"}),
        ("alice", "user.add", {"name": "eve", "role": "curator"})]
    # A refused change is one line, and nothing changes.
    app.selectbox(key="user-role-name").set_value("alice")
    app.selectbox(key="user-role-role").set_value("viewer")
    app.button(key="FormSubmitter:user-role-Change").click().run()
    assert [e.value for e in app.error] == ["user 'alice' is the last admin: make another user an admin first"]
    assert cat.get_user("alice").role == "admin"
