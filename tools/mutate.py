"""Mutation testing of the core modules, each against its own test files (``make mutate``).

mutmut reads its configuration from ``pyproject.toml`` in the directory it runs in and
writes its mutated copy to ``mutants/`` there, so each group of modules runs in its own
scratch copy of the working tree under ``build/mutate/<group>`` with its own
``[tool.mutmut]`` section: a mutant of one module is then judged by that module's tests
only, not by whichever other test happens to reach it. Only the functions named in
``GROUPS`` are scored (mutmut mutates whole files; the rest is left unrun).

The runs are on SQLite only (``-k "not postgresql"``, no ``ATLAS_TEST_POSTGRES_URL``, no
``CI``): PostgreSQL doubles the time and the mutated code is the same Python. A group with
PostgreSQL-only branches among its scored functions (``postgresql=True``) runs its tests
on both, on the server ``ATLAS_TEST_POSTGRES_URL`` names; its table row then adds the CPU
seconds of that server while it ran (of all its clients: the server may be shared).

Usage: ``python tools/mutate.py [--lanes N] [group ...]`` (all groups by default, two at a
time: ``LANES``). Prints killed, survived, timed-out and untested mutants per group, what
the killed and the surviving mutants' runs cost, and lists the survivors; the full
record stays in ``build/mutate/<group>/mutants`` for ``mutmut show <name>`` there. At the
end it prints a Markdown table of the scores with each group's wall time, the CPU time
of mutmut and everything it ran, and the load average while it ran (the machine may be
shared: CPU seconds over the number of cores estimate the time on a quiet machine).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / "build" / "mutate"
MUTMUT = Path(sys.executable).parent / "mutmut"


@dataclass(frozen=True)
class Group:
    """Source files, the functions of them that are scored (``None``: all), their tests."""

    files: tuple[str, ...]
    tests: tuple[str, ...]
    functions: dict[str, tuple[str, ...] | None]
    # Tests left out of the run (a pytest -k expression), with the reason where it is set.
    leave_out: str = ""
    # Run the tests on PostgreSQL too (``ATLAS_TEST_POSTGRES_URL``), not only on SQLite.
    postgresql: bool = False
    # Mutants run at once (mutmut's default: one per core), more where the tests mostly wait.
    max_children: int | None = None
    # Keep the filled SQLite catalogues of tests/conftest.py's ``CatalogTemplates`` (and what
    # is exported from them) from one mutant's session to the next, instead of filling them
    # again in each. Only where no scored function runs while they are filled or exported:
    # they are made once, with the code unmutated, so a mutant there would go unseen.
    share_catalogues: bool = False


SEARCH_FILES = ("atlas/catalog/search.py", "atlas/catalog/fulltext.py")
SEARCH_TESTS = ("tests/catalog/test_search.py", "tests/catalog/test_search_filters.py",
                "tests/catalog/test_search_bands.py")

GROUPS: dict[str, Group] = {
    # Ordered by cost, the costliest first (a lane takes the next group as it frees up): the
    # whole run then ends with small groups side by side, not one large group alone.
    "search": Group(
        files=SEARCH_FILES,
        tests=SEARCH_TESTS,
        # The query side and the ranking keys each document stores; the rest of the
        # indexing side (upsert, sync_*, reindex) is left out for time. On SQLite: what
        # runs on both engines is judged there, as in every other group.
        functions={
            "atlas.catalog.search": (
                "SearchFilters.__post_init__", "SearchFilters.about_features", "_SQLite._query",
                "_SQLite.matches", "_SQLite.beginning", "_SQLite.matching_count",
                "_SQLite.snippets", "_at_most", "_bands", "_all_at_once", "_band_by_band", "_many_match",
                "search", "_filter_conditions",
            ),
            "atlas.catalog.fulltext": (
                "terms", "words_of", "standing", "rank_keys", "studied_features", "refresh_known",
            ),
        },
        # The tests on the InceptionV1 seed build it once per process, that is per mutant:
        # the small catalogue of test_search_bands.py puts hits in every band instead.
        leave_out="seed",
    ),
    "bundle": Group(
        files=("atlas/exchange/bundle/read.py", "atlas/exchange/bundle/format.py"),
        tests=("tests/exchange/test_bundle.py", "tests/exchange/test_security_bundles.py"),
        # The hostile-input side, restricted for time (a surviving mutant runs every bundle
        # test, about 13 s on a quiet machine): the archive's directory and names, streaming
        # each member under the caps with its hash checks, which blobs are staged, and the
        # blob checks of import. Not scored: the manifest and origin checks, row parsing
        # (``_parse``), ``check_origin``.
        functions={
            "atlas.exchange.bundle.format": ("_safe_name", "StagedBundle._check_directory", "StagedBundle._stage",
                                             "StagedBundle._within_limits", "StagedBundle.stage_blobs"),
            "atlas.exchange.bundle.read": ("Importer.has_blob", "Importer.check_blobs", "referenced_blobs",
                                           "stage_bundle", "import_bundle"),
        },
        # It measures the peak memory of an import in a subprocess, which imports the
        # mutated copy: mutmut's trampolines alone push it over its bound, so it fails
        # with no mutant active (it runs in ``make test`` on the real code).
        leave_out="bounded_memory",
        # Filling the ``rich`` catalogue writes through the API and exporting it writes a
        # bundle: neither reads one, which is all that is scored here (mutmut's statistics
        # agree: ``test_bundles_carry_no_absolute_paths`` fills and exports a catalogue and
        # reaches none of the scored functions). Filling and exporting was about 0.7 s of
        # every mutant's run.
        share_catalogues=True,
    ),
    "search-postgresql": Group(
        files=SEARCH_FILES,
        tests=SEARCH_TESTS,
        # The engine that runs only on PostgreSQL, judged by the same tests there alone.
        functions={"atlas.catalog.search": (
            "_Postgres._query", "_Postgres.matches", "_Postgres.matching_count", "_Postgres.snippets",
            "_Engine.beginning",  # SQLite has its own
        )},
        leave_out="(seed or sqlite)",
        postgresql=True,
    ),
    "render": Group(
        files=("atlas/compute/optvis/render.py",),
        tests=("tests/compute/test_optvis.py",),
        functions={"atlas.compute.optvis.render": (
            "image_seed", "_draws", "_clone_tensor", "_optimize", "_chunks", "progress_reporter",
            "render_batch", "render_requests", "render_units",
        )},
    ),
    "labels": Group(
        files=("atlas/catalog/labels.py", "atlas/catalog/api/labels.py"),
        tests=("tests/catalog/test_catalog.py", "tests/catalog/test_concurrency.py"),
        functions={
            "atlas.catalog.labels": None,
            # The conflict path of Catalog.set_label.
            "atlas.catalog.api.labels": ("LabelsMixin.set_label", "LabelsMixin._conflict_after_race",
                                         "LabelsMixin._audit_conflict"),
        },
    ),
    "linear": Group(
        files=("atlas/compute/connections/linear.py",),
        tests=("tests/compute/test_connections.py",),
        functions={"atlas.compute.connections.linear": (
            "_named", "Linearized.__torch_function__", "_broadcast_batch", "_linear_forward",
            "input_channels", "_window", "smallest_window", "_bisect_window", "expanded_kernels",
        )},
    ),
    "queue": Group(
        files=("atlas/jobs/queue.py", "atlas/jobs/sql.py"),
        tests=("tests/jobs/test_jobs_queue.py",),
        # Claim and reap: the statements (built in ``statements`` and ``_claim``) and the
        # methods that run them. ``_needs`` builds module constants at import, before any
        # mutant is active, so mutmut cannot exercise it; ``statements`` itself is
        # ``@cache``-decorated, which mutmut does not mutate (its callees are).
        functions={
            "atlas.jobs.queue": ("JobQueue.claim_next_job", "JobQueue.reap_expired", "JobQueue.heartbeat",
                                 "JobQueue._update_mine", "JobQueue._moments", "JobQueue._write",
                                 "JobQueue._settle_waiting"),
            "atlas.jobs.sql": ("_claim", "at", "token"),
        },
        # Two thirds of these tests' time is waiting (worker threads, leases, polling):
        # with one mutant per core the cores sat idle most of the run.
        max_children=4,
    ),
}

# Groups run side by side. CPU time is what bounds the whole run, and a group alone leaves a
# core idle while mutmut copies, generates mutants and runs its statistics (one process), and
# again while its last mutants finish: a second group fills those gaps. Each group still runs
# one mutant per core, so up to twice as many processes as cores run; the time limits are
# on CPU time (tools/mutate_timing.py) and wall limits are 4 x (t + 5) s, so waiting for
# the CPU does not make a mutant "time out".
LANES = 2

# mutmut's exit codes (mutmut.__main__.status_by_exit_code) folded into what we report.
KILLED, SURVIVED, TIMEOUT, UNTESTED = "killed", "survived", "timeout", "no tests"
STATUS = {1: KILLED, 3: KILLED, 0: SURVIVED, 5: UNTESTED, 33: UNTESTED,
          36: TIMEOUT, -24: TIMEOUT, 24: TIMEOUT, 152: TIMEOUT, 255: TIMEOUT}


def patterns(group: Group) -> list[str]:
    """mutmut's mutant-name globs for the scored functions (``x_f`` for a function,
    ``xǁClassǁmethod`` for a method)."""
    globs = []
    for module, functions in group.functions.items():
        if functions is None:
            globs.append(f"{module}.x*__mutmut_*")
            continue
        for function in functions:
            owner, _, name = function.rpartition(".")
            mangled = f"xǁ{owner}ǁ{name}" if owner else f"x_{name}"
            globs.append(f"{module}.{mangled}__mutmut_*")
    return globs


def selection(group: Group) -> str:
    """The pytest ``-k`` expression of the group's run."""
    left_out = ([] if group.postgresql else ["postgresql"]) + ([group.leave_out] if group.leave_out else [])
    return " and ".join(f"not {name}" for name in left_out)


def config(group: Group) -> str:
    select = selection(group)
    return "\n".join([
        "", "[tool.mutmut]",
        'source_paths = ["atlas"]',
        f"only_mutate = {json.dumps(list(group.files))}",
        f"pytest_add_cli_args_test_selection = {json.dumps(list(group.tests))}",
        # tools.mutate_fresh_caches: a mutant must not get results cached by the clean run;
        # tools.mutate_timing: time whole tests (fixtures too), run a mutant's cheapest first;
        # tools.mutate_warmup: the fork server preloads what the tests import and freezes it.
        "pytest_add_cli_args = " + json.dumps(["-p", "no:cacheprovider", "-p", "tools.mutate_fresh_caches",
                                               "-p", "tools.mutate_timing", "-p", "tools.mutate_warmup"]
                                              + (["-k", select] if select else [])),
        'also_copy = ["migrations", "alembic.ini", "app", "seed_data", "tools"]',
        # torch is not fork-safe once it has run: fork workers from a clean server.
        'process_isolation = "forkserver"',
        # A mutant that loops is caught by its CPU limit; 15x the clean time wastes minutes.
        "timeout_multiplier = 4.0",
        "timeout_constant = 5.0",
        "",
    ])


def scratch_copy(name: str, group: Group) -> Path:
    """The tracked and untracked-but-not-ignored files, with this group's mutmut config."""
    target = SCRATCH / name
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split()
    for relative in files:
        if (ROOT / relative).is_file():
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / relative, target / relative)
    with open(target / "pyproject.toml", "a") as f:
        f.write(config(group))
    return target


def run_costs(target: Path, status_by_mutant: dict[str, str]) -> dict[str, tuple[int, float, int]]:
    """Per verdict: the mutant runs, their wall seconds and the tests they ran, from the
    record ``tools/mutate_timing.py`` keeps (a run ended by its time limit writes none)."""
    costs: dict[str, tuple[int, float, int]] = {}
    record = target / "mutants" / "mutmut-runs.jsonl"
    for line in record.read_text().splitlines() if record.is_file() else []:
        run = json.loads(line)
        status = status_by_mutant.get(run["mutant"])
        if status is not None:
            runs, seconds, tests = costs.get(status, (0, 0.0, 0))
            costs[status] = (runs + 1, seconds + run["s"], tests + run["tests"])
    return costs


def results(target: Path, globs: list[str]) -> dict[str, str]:
    """Status per scored mutant, from mutmut's ``.meta`` files."""
    found: dict[str, str] = {}
    for meta in (target / "mutants").rglob("*.meta"):
        for mutant, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if any(fnmatch.fnmatchcase(mutant, g) for g in globs):
                found[mutant] = STATUS.get(code, f"exit {code}")
    return found


class LoadSampler:
    """The 1-minute load average, sampled every few seconds while a group runs: other
    work on the machine slows a run down, and the times are only comparable with it."""

    def __init__(self, every_s: float = 5.0) -> None:
        self.samples: list[float] = []
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            self.samples.append(os.getloadavg()[0])
            if self._stop.wait(self._every_s):
                return

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Outcome:
    """A group's mutants by status, and what the run cost."""

    name: str
    status_by_mutant: dict[str, str]
    wall_s: float
    cpu_s: float
    loads: list[float] = field(default_factory=list)
    # The PostgreSQL server's CPU seconds meanwhile (groups run on it too; None: not measured).
    server_cpu_s: float | None = None
    # Per verdict: mutant runs, their wall seconds, the tests they ran (``run_costs``).
    costs: dict[str, tuple[int, float, int]] = field(default_factory=dict)

    @property
    def total_cpu_s(self) -> float:
        return self.cpu_s + (self.server_cpu_s or 0.0)

    def count(self, status: str) -> int:
        return sum(1 for s in self.status_by_mutant.values() if s == status)

    @property
    def score(self) -> float:
        caught = self.count(KILLED) + self.count(TIMEOUT)
        return 100 * caught / len(self.status_by_mutant) if self.status_by_mutant else 0.0

    @property
    def server_cpu(self) -> str:
        return "" if self.server_cpu_s is None else f" + {self.server_cpu_s:.0f} s PostgreSQL server (all clients)"

    @property
    def load(self) -> str:
        if not self.loads:
            return "?"
        return f"{min(self.loads):.1f}–{max(self.loads):.1f} (mean {sum(self.loads) / len(self.loads):.1f})"


def run_measured(command: list[str], **popen: object) -> float:
    """Run ``command`` to its end; the user and system CPU seconds it and every process
    under it took (mutmut reaps its fork server, which reaps each mutant's worker). Its
    own rusage, from ``wait4``: groups run side by side, so this process's total of
    reaped children would mix them."""
    process = subprocess.Popen(command, **popen)  # type: ignore[call-overload]
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime


def _ticks(pid: int | str) -> tuple[int, list[int]]:
    """(parent pid, [utime, stime, cutime, cstime]) of a process, from ``/proc``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[1]), [int(f) for f in fields[11:15]]


class PostgresServer:
    """The server a group's PostgreSQL tests run on: the CPU it spends while they run, and
    the databases a killed test process left behind."""

    def __init__(self, url: str, run_id: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")  # as atlas.db.engine.normalize_url
        self.engine = create_engine(parsed, isolation_level="AUTOCOMMIT")
        self.run_id = run_id

    def cpu_s(self) -> float | None:
        """CPU seconds of the postmaster and all its processes, live and reaped (a backend's
        time moves to the postmaster's ``cutime`` when it exits); None unless the server runs
        on this machine and ``/proc`` shows it."""
        from sqlalchemy import text

        try:
            with self.engine.connect() as conn:
                worker = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'"))
                postmaster, _ = _ticks(worker.scalar_one())
            _, ticks = _ticks(postmaster)
            total = sum(ticks)
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit():
                    try:
                        parent, child = _ticks(entry.name)
                    except OSError:
                        continue  # exited meanwhile: its time is in the postmaster's cutime
                    if parent == postmaster:
                        total += sum(child[:2])
        except (OSError, ValueError, LookupError, ImportError) as exc:
            print(f"   (no CPU time of the PostgreSQL server: {exc})", flush=True)
            return None
        return total / os.sysconf("SC_CLK_TCK")

    def drop_leftovers(self) -> None:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            names = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :prefix"),
                                 {"prefix": f"atlas_test_{self.run_id}_%"}).scalars().all()
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.engine.dispose()


def run(name: str) -> Outcome:
    group = GROUPS[name]
    server = None
    if group.postgresql:
        # The run id names databases: letters, digits and underscores only.
        server = PostgresServer(os.environ["ATLAS_TEST_POSTGRES_URL"], f"mutate_{name.replace('-', '_')}_{os.getpid()}")
    target = scratch_copy(name, group)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "ATLAS_TEST_POSTGRES_URL", "PYTHONPATH")}
    if server is not None:
        env["ATLAS_TEST_POSTGRES_URL"] = os.environ["ATLAS_TEST_POSTGRES_URL"]
        env["ATLAS_TEST_RUN_ID"] = server.run_id
        # One migrated template for every session of the group (dropped with the leftovers).
        env["ATLAS_TEST_POSTGRES_TEMPLATE"] = f"atlas_test_{server.run_id}_template"
    env["PATH"] = f"{MUTMUT.parent}{os.pathsep}{env.get('PATH', '')}"
    # Every mutant's tests run in a session of their own: they share one migrated SQLite
    # template (tests/conftest.py), built by the statistics run, instead of migrating again.
    env["ATLAS_TEST_SQLITE_TEMPLATE"] = str(target / "sqlite-template.db")
    if group.share_catalogues:
        env["ATLAS_TEST_CATALOGUE_CACHE"] = str(target / "catalogues")
    # mutmut runs one worker per core already: torch's own threads would only contend
    # (the render and linear tests take half the CPU time with one thread).
    env["OMP_NUM_THREADS"] = "1"
    globs = patterns(group)
    server_before = server.cpu_s() if server else None
    started = time.monotonic()
    with open(target / "mutmut.log", "w") as log, LoadSampler() as load:
        children = ["--max-children", str(group.max_children)] if group.max_children else []
        cpu_s = run_measured([str(MUTMUT), "run", *children, *globs], cwd=target, env=env, stdout=log,
                             stderr=subprocess.STDOUT)
    status_by_mutant = results(target, globs)
    outcome = Outcome(name, status_by_mutant, time.monotonic() - started, cpu_s, load.samples,
                      costs=run_costs(target, status_by_mutant))
    if server is not None:
        server_after = server.cpu_s()
        if server_before is not None and server_after is not None:
            outcome.server_cpu_s = server_after - server_before
        server.drop_leftovers()
    print(report(outcome, target), flush=True)  # one write: groups finish side by side
    return outcome


def report(outcome: Outcome, target: Path) -> str:
    """A group's verdicts, what its mutant runs cost by verdict, and its survivors."""
    lines = [f"== {outcome.name}: {len(outcome.status_by_mutant)} mutants, {outcome.count(KILLED)} killed, "
             f"{outcome.count(TIMEOUT)} timed out, {outcome.count(SURVIVED)} survived, "
             f"{outcome.count(UNTESTED)} reached by no test: {outcome.score:.0f}% caught "
             f"({outcome.wall_s:.0f} s wall, {outcome.cpu_s:.0f} s CPU{outcome.server_cpu}, load {outcome.load}; "
             f"log {target.relative_to(ROOT)}/mutmut.log)"]
    for status, (runs, seconds, tests) in sorted(outcome.costs.items()):
        lines.append(f"   {status}: {runs} runs, {seconds:.0f} s of wall time, {tests / runs:.1f} tests and "
                     f"{seconds / runs:.2f} s a run")
    lines += [f"   {status}: {mutant}" for mutant, status in sorted(outcome.status_by_mutant.items())
              if status not in (KILLED, TIMEOUT)]
    return "\n".join(lines)


def summary(outcomes: list[Outcome], wall_s: float, lanes: int) -> str:
    """The scores and costs as a Markdown table, for docs/testing.md; the last row gives
    the whole run's wall time (groups overlap when ``lanes`` > 1)."""
    cores = os.cpu_count() or 1
    rows = [
        "| group | scored mutants | killed | timed out | survived | reached by no test | caught "
        f"| wall | CPU | CPU / {cores} cores | load average (1 min) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for o in outcomes:
        rows.append(f"| `{o.name}` | {len(o.status_by_mutant)} | {o.count(KILLED)} | {o.count(TIMEOUT)} "
                    f"| {o.count(SURVIVED)} | {o.count(UNTESTED)} | {o.score:.0f}% | {o.wall_s:.0f} s "
                    f"| {o.cpu_s:.0f} s{o.server_cpu} | {o.total_cpu_s / cores:.0f} s | {o.load} |")
    if len(outcomes) > 1:
        cpu = sum(o.total_cpu_s for o in outcomes)
        rows.append(f"| all ({lanes} at a time) | {sum(len(o.status_by_mutant) for o in outcomes)} | | | | | "
                    f"| {wall_s / 60:.1f} min | {cpu / 60:.1f} min | {cpu / cores / 60:.1f} min | |")
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Mutation testing of the core modules (make mutate).")
    parser.add_argument("groups", nargs="*", metavar="group", help=f"groups to run (default: all of {list(GROUPS)})")
    parser.add_argument("--lanes", type=int, default=LANES,
                        help=f"groups run side by side (default {LANES}); the costliest first, each as a lane "
                             "frees up")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.groups) - set(GROUPS))
    if unknown:
        parser.error(f"unknown groups {unknown}; known: {list(GROUPS)}")
    if args.lanes < 1:
        parser.error("--lanes must be 1 or more")
    names = [name for name in GROUPS if name in args.groups] if args.groups else list(GROUPS)
    on_postgresql = [name for name in names if GROUPS[name].postgresql]
    if on_postgresql and not os.environ.get("ATLAS_TEST_POSTGRES_URL"):
        # Before any group starts: the others would run for minutes first.
        parser.error(f"{', '.join(on_postgresql)} runs its tests on PostgreSQL too: set ATLAS_TEST_POSTGRES_URL "
                     "(or name the groups to run)")
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.lanes) as lanes:
        outcomes = list(lanes.map(run, names))
    print(f"\n{summary(outcomes, time.monotonic() - started, args.lanes)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
