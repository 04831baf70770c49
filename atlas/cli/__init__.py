"""The ``atlas`` command line: a thin layer over ``atlas.catalog``.

Errors the catalogue raises on purpose print as one line on stderr with exit code 1;
usage errors exit with 2 (argparse). A value refused below the catalogue (by the database
driver, the file system or alembic) is one line and exit 1 too. Nothing here talks SQL.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from alembic.util import CommandError
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError

from atlas.bounds import MAX_INT32, MAX_ROWS
from atlas.catalog import MAX_HITS, SEARCH_SYNTAX, Catalog, default_database_url, default_user, redact
from atlas.catalog.records import LabelInfo, ShownConnections
from atlas.cli.common import add_command as _add
from atlas.cli.common import bounded_int
from atlas.cli.common import open_catalog as _catalog
from atlas.cli.compare import register as register_compare
from atlas.cli.compute import register as register_compute
from atlas.cli.directions import register as register_directions
from atlas.cli.exchange import register as register_exchange
from atlas.cli.experiments import register as register_experiments
from atlas.cli.families import register as register_families
from atlas.cli.jobs import register as register_jobs
from atlas.cli.launch import run_app
from atlas.cli.models import register as register_models
from atlas.errors import AtlasError, InvalidInput
from atlas.text import printable
from atlas.vocabulary import EDGE_KIND_NAMES, EDGE_KINDS, EDGE_SORTS, LABEL_STATUSES, ROLES


def _label_line(label: LabelInfo | None) -> str:
    if label is None:
        return "(unlabelled)"
    confidence = "" if label.confidence is None else f", confidence {label.confidence:.2f}"
    review = " (self-review)" if label.self_review else ""
    # repr escapes control characters in the text; printable does the same elsewhere.
    return (f"{label.text!r} [{label.status}{confidence}] v{label.version} by {printable(label.author)}"
            f"{review}")


# -- commands ------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> None:
    catalog = Catalog.init(args.db, args.blobs, args.user if args.admin is None else args.admin)
    print(f"catalogue ready at {catalog.location}")
    print(f"users: {', '.join(f'{u.name} ({u.role})' for u in catalog.users())}")


def cmd_db_upgrade(args: argparse.Namespace) -> None:
    Catalog.upgrade_schema(args.db, args.revision)
    print(f"database at {args.revision}")


def cmd_db_downgrade(args: argparse.Namespace) -> None:
    """Admins only, and only with --yes: a downgrade drops tables with their data (to
    ``base``: every table). The user is resolved in the catalogue before anything changes."""
    undone = Catalog.downgrade_schema(args.db, args.revision, args.user or default_user(), dry_run=not args.yes)
    if not args.yes:
        dropped = "every table and all their data" if args.revision == "base" else "what they added, with its data"
        raise InvalidInput(f"downgrading {redact(args.db or default_database_url())} to {args.revision} would undo "
                           f"{', '.join(undone) or 'nothing'}, dropping {dropped}: nothing changed "
                           f"(add --yes to downgrade)")
    print(f"database at {args.revision}")


def cmd_db_current(args: argparse.Namespace) -> None:
    current, head = Catalog.schema_revision(args.db)
    state = "up to date" if current == head else "run `atlas db upgrade`"
    print(f"current: {current or '(not migrated)'}  head: {head}  ({state})")


def cmd_user_add(args: argparse.Namespace) -> None:
    user = _catalog(args).add_user(args.name, args.role)
    print(f"added {user.name} ({user.role})")


def cmd_user_list(args: argparse.Namespace) -> None:
    for user in _catalog(args).users():
        print(f"{user.name}\t{user.role}")


def cmd_show(args: argparse.Namespace) -> None:
    catalog = _catalog(args)
    feature = catalog.feature(args.address)
    print(feature.address)
    print(f"  kind:     {feature.kind}")
    print(f"  label:    {_label_line(feature.label)}")
    families = catalog.families_of(feature.address)
    print(f"  families: {printable(', '.join(families)) if families else '-'}")
    for title, direction, other in (("top inputs", "in", "src"), ("top outputs", "out", "dst")):
        if args.kind is None:  # direct weights, or expanded where a unit has none (saying so)
            shown = catalog.shown_connections(feature.address, args.k, direction, args.sort)
        else:
            top = catalog.top_inputs if direction == "in" else catalog.top_outputs
            shown = ShownConnections(args.kind, top(feature.address, args.k, args.kind, args.sort))
        print(f"  {title} ({EDGE_KIND_NAMES[shown.kind]}, by {args.sort}):")
        if shown.note:
            print(f"    ({printable(shown.note)})")
        if not shown.edges:
            print("    -")
        for edge in shown.edges:
            pooled = f"  pooled: {shown.pooled[edge.id]}" if edge.id in shown.pooled else ""
            print(f"    {getattr(edge, other):<28} net {edge.net:+.4g}  strength {edge.strength:.4g}{pooled}")
    for found in catalog.dataset_examples(feature.address):
        site = "pre-activation" if found.params.get("site") == "pre" else "activation"
        print(f"  dataset examples ({printable(str(found.params.get('dataset', '?')))}, {site}):")
        for end, items in (("top", found.top), ("bottom", found.bottom)):
            listed = ", ".join("?" if item.value is None else f"image {item.index} {item.value:+.3g}"
                               for item in items)
            print(f"    {end + ':':<8}{listed or '-'}")
    evidence = catalog.evidence(feature=feature.address)
    print(f"  evidence: {len(evidence)}")
    for item in evidence:
        print(f"    [{item.kind}] {printable(item.body[:100])} ({printable(item.author)})")


def cmd_label(args: argparse.Namespace) -> None:
    catalog = _catalog(args)
    expected = args.expected_version
    if expected is None:
        expected = catalog.feature(args.address).label_version
    label = catalog.set_label(
        args.address, args.text, args.status, args.confidence, expected_version=expected,
        reason=args.reason,
    )
    print(f"{label.address}: {_label_line(label)}")


def cmd_history(args: argparse.Namespace) -> None:
    history = _catalog(args).label_history(args.address)
    if not history:
        print(f"{args.address}: no labels yet")
    for label in history:
        reason = f"  reason: {printable(label.reason)}" if label.reason else ""
        print(f"v{label.version}  {label.created_at:%Y-%m-%d %H:%M}  {_label_line(label)}{reason}")


def cmd_search(args: argparse.Namespace) -> None:
    filters = {
        name: getattr(args, name)
        for name in ("model", "layer", "status", "family", "author", "has_evidence")
        if getattr(args, name) is not None
    }
    hits = _catalog(args).search(args.query, args.limit, **filters)
    if not hits:
        print("no matches")
    for hit in hits:
        snippet = " ".join((hit.snippet or hit.text).split())
        print(f"{hit.kind:<9} {printable(hit.target):<28} {printable(snippet[:110])}")


def cmd_db_reindex(args: argparse.Namespace) -> None:
    print(f"reindexed {_catalog(args).reindex()} search documents")


def cmd_audit(args: argparse.Namespace) -> None:
    for entry in _catalog(args).audit_log(args.entity, args.limit):
        print(f"{entry.created_at:%Y-%m-%d %H:%M:%S}  {printable(entry.actor):<12} {printable(entry.action):<20} "
              f"{printable(entry.entity_type)}:{printable(entry.entity_id)}")


def cmd_demo(args: argparse.Namespace) -> int | None:
    from atlas.compute.demo_atlas import (  # torch: imported only by commands that compute
        DemoSettings,
        build_demo,
    )

    catalog = Catalog.init(args.db, args.blobs, args.user)
    build_demo(catalog, DemoSettings(device=args.device))
    catalog.close()
    if args.no_app:
        return None
    return run_app(args.db, args.blobs, args.port)


def cmd_demo_train(args: argparse.Namespace) -> None:
    from atlas.compute.demo_training import (
        main_train,  # torch: imported only by commands that compute
    )

    report = main_train(args.seed, args.arch, args.out)
    print(f"{report['config']['name']} (seed {args.seed}): accuracy {report['accuracy']:.3f}, "
          f"conv1 coherence median {report['conv1_coherence']['median']:.2f}")


def cmd_app(args: argparse.Namespace) -> int:
    return run_app(args.db, args.blobs, args.port)


# -- parser --------------------------------------------------------------------------

PORT = bounded_int(1, 65535)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="atlas",
        description="An annotated circuit atlas: label units, gather evidence, catalogue circuits.",
    )
    parser.add_argument("--db", help="database URL (default: $ATLAS_DATABASE_URL or "
                        "sqlite:///atlas-data/atlas.db)")
    parser.add_argument("--blobs", help="blob store URL or directory (default: $ATLAS_BLOB_URL "
                        "or atlas-data/blobs)")
    parser.add_argument("--user", default=None, help=f"who is acting (default: $ATLAS_USER or "
                        f"the login name, now {default_user()!r})")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    init = _add(sub, "init", cmd_init, "create the catalogue database and its first (admin) user")
    init.add_argument("--admin", help="name of the first user (default: --user)")

    db = sub.add_parser("db", help="database schema", description="database schema migrations")
    db_sub = db.add_subparsers(dest="db_command", metavar="COMMAND", required=True)
    up = _add(db_sub, "upgrade", cmd_db_upgrade, "migrate the schema up (default: to head)")
    up.add_argument("revision", nargs="?", default="head")
    down = _add(db_sub, "downgrade", cmd_db_downgrade, "migrate the schema down (e.g. base)")
    down.add_argument("revision")
    down.add_argument("--yes", action="store_true", help="really downgrade (admins only): drops tables and data")
    _add(db_sub, "current", cmd_db_current, "show the schema revision of the database")
    _add(db_sub, "reindex", cmd_db_reindex, "rebuild the full-text search index")

    user = sub.add_parser("user", help="users and roles", description="users and their roles")
    user_sub = user.add_subparsers(dest="user_command", metavar="COMMAND", required=True)
    add = _add(user_sub, "add", cmd_user_add, "add a user (admins only, except the first)")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default="curator")
    _add(user_sub, "list", cmd_user_list, "list users")

    register_models(sub)

    show = _add(sub, "show", cmd_show, "show a feature: label, families, connections, evidence")
    show.add_argument("address", help="model/layer/unit, e.g. demo/conv3/17")
    show.add_argument("-k", type=bounded_int(1, MAX_ROWS), default=5, help="connections to list each way")
    show.add_argument("--kind", choices=EDGE_KINDS, help="edge kind (default: direct weights, expanded "
                      "where a unit has no direct weights)")
    show.add_argument("--sort", choices=EDGE_SORTS, default="strength",
                      help="order of the connections: strength (norm), net (signed: most excitatory first, "
                           "most inhibitory last), excitatory or inhibitory (that sign only, strongest first)")

    label = _add(sub, "label", cmd_label, "propose (or, as a reviewer, decide) a label")
    label.add_argument("address")
    label.add_argument("text")
    label.add_argument("--status", choices=LABEL_STATUSES, default="proposed")
    label.add_argument("--confidence", type=float)
    label.add_argument("--reason")
    label.add_argument("--expected-version", type=bounded_int(0, MAX_INT32),
                       help="the version you edited; a newer one is a conflict (default: current)")

    history = _add(sub, "history", cmd_history, "all label versions of a feature")
    history.add_argument("address")

    search = _add(sub, "search", cmd_search, "search labels, notes, circuits and families")
    search.epilog = f"query syntax: {SEARCH_SYNTAX}"
    search.add_argument("query", help="words to look for (see below)")
    search.add_argument("--limit", type=bounded_int(1, MAX_HITS), default=20)
    search.add_argument("--model")
    search.add_argument("--layer", help="layer name or model/layer")
    search.add_argument("--status", choices=LABEL_STATUSES, help="status of the current label")
    search.add_argument("--family")
    search.add_argument("--author")
    search.add_argument("--has-evidence", action=argparse.BooleanOptionalAction, default=None)

    audit = _add(sub, "audit", cmd_audit, "recent changes to curated data")
    audit.add_argument("--entity", help="a feature address or circuit:NAME")
    audit.add_argument("--limit", type=bounded_int(1, MAX_ROWS), default=30)

    register_exchange(sub)

    demo = _add(sub, "demo", cmd_demo, "build the demo atlas (register, seed and compute the demo "
                "models on this machine) and open the app")
    demo.add_argument("--no-app", action="store_true", help="stop after building the atlas")
    demo.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    demo.add_argument("--port", type=PORT, default=8501)
    demo_sub = demo.add_subparsers(dest="demo_command", metavar="COMMAND")
    train = _add(demo_sub, "train", cmd_demo_train, "train a demo model on the synthetic shapes")
    train.add_argument("--seed", type=bounded_int(0, MAX_INT32), default=0)
    train.add_argument("--arch", choices=("demo", "demo-b"), help="which demo architecture "
                       "(default: demo for seed 0, demo-b otherwise)")
    train.add_argument("--out", help="directory for the weights (default: seed_data/demo)")

    app = _add(sub, "app", cmd_app, "start the Streamlit curation app on this catalogue")
    app.add_argument("--port", type=PORT, default=8501)

    register_compute(sub)
    register_compare(sub)
    register_directions(sub)
    register_families(sub)
    register_jobs(sub)
    register_experiments(sub)
    return parser


# Raised below the catalogue by a value it did not check (a driver refusing a number or a
# NUL byte, a file that cannot be written, an unknown migration): still the user's input,
# so still one line. Nothing was written: the transaction that saw it rolled back.
REFUSED_BELOW = (StatementError, OverflowError, OSError, CommandError)


def _one_line(exc: Exception) -> str:
    """What went wrong, in one line, for the exceptions in ``REFUSED_BELOW``."""
    if isinstance(exc, StatementError):
        cause = (str(exc.orig).strip() or type(exc.orig).__name__).splitlines()[0]
        what = "change" if isinstance(exc, IntegrityError) else "value"
        return f"the database refused the {what}: {cause}"
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"cannot use {exc.filename!r}: {exc.strerror or exc}"
    if isinstance(exc, CommandError):
        return f"migration: {exc}"
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


def _quiet_closed_pipe() -> int:
    """stdout's reader went away (``atlas search … | head -1``): stop quietly, as cat does,
    with stdout pointed at /dev/null so that Python's flush at exit does not fail again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a file descriptor (captured in tests)
        pass
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        code = args.handler(args) or 0
        sys.stdout.flush()  # a closed pipe shows up here rather than at interpreter exit
        return code
    except AtlasError as exc:
        print(f"atlas: error: {printable(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("atlas: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _quiet_closed_pipe()
    except REFUSED_BELOW as exc:
        if isinstance(exc, DBAPIError) and not isinstance(exc, (DataError, IntegrityError)):
            raise  # a lost connection or a bug in our SQL: not the user's input
        print(f"atlas: error: {_one_line(exc)}", file=sys.stderr)
        return 1
