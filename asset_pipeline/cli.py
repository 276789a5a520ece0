"""asset-pipeline: campaign briefs and brand rules in, checked and published images out.

Each command has its own --help.

Exit status: 0 every deliverable published; 1 some rejected by checks;
2 invalid input or set-up (one line per problem on stderr, no traceback
unless --debug).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import errno
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from asset_pipeline.echo import LINE_LIMIT, shown
from asset_pipeline.home import Home
from asset_pipeline.specs import InputError, Problem, is_identifier
from asset_pipeline.storage.disk import disk_full_line, is_disk_full, mentions_disk_full
from asset_pipeline.storage.files import atomic_write_bytes

EXIT_OK, EXIT_REJECTED, EXIT_INVALID = 0, 1, 2


def _prepare_environment(home: Home) -> None:
    """Point Dagster at the home's instance; never reach for a model hub."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # tokenizer-length chatter is not news
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
    os.environ.setdefault("DAGSTER_HOME", str(home.dagster))
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    _instance_settings(Path(os.environ["DAGSTER_HOME"]) / "dagster.yaml")


# The home's Dagster instance settings: no telemetry, no onboarding ("Join the Dagster community")
# modal in the UI, and Dagster's own DEBUG console lines (which step processes of the multiprocess
# executor print) off; INFO keeps the steps' log lines (the drafts' progress) in the run log.
# Concurrency: the only pool is `generation` (draft_images): one draft step at a time across all
# runs on this instance, since two loaded models on one machine's CPU or GPU only thrash; and at
# most MAX_CONCURRENT_RUNS runs started by the daemon's run queue (schedule, sensor, UI backfills) at
# once. docs/kubernetes.md says how to raise both for a cluster.
GENERATION_SLOTS, MAX_CONCURRENT_RUNS = 1, 2
INSTANCE_SETTINGS = {
    "telemetry": {"enabled": False},
    "nux": {"enabled": False},
    "python_logs": {"python_log_level": "INFO"},
    "concurrency": {
        "pools": {"default_limit": GENERATION_SLOTS},
        "runs": {"max_concurrent_runs": MAX_CONCURRENT_RUNS},
    },
}


def _instance_settings(config: Path) -> None:
    """Write the settings a home's dagster.yaml lacks; settings a user wrote are kept as written."""
    import yaml

    try:
        current = yaml.safe_load(config.read_text(encoding="utf-8")) if config.exists() else {}
    except (OSError, yaml.YAMLError):
        return  # the user's file, unreadable to us: Dagster reports it
    if not isinstance(current, dict):
        current = {} if current is None else None
    if current is None:
        return
    missing = {k: v for k, v in INSTANCE_SETTINGS.items() if k not in current}
    if missing:
        text = yaml.safe_dump({**current, **missing}, sort_keys=False)
        atomic_write_bytes(config, text.encode("utf-8"))


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def _report(problems: list[Problem]) -> None:
    for problem in _unique(problems):
        print(problem, file=sys.stderr)


def _say(text: str, limit: int = 1000) -> None:
    """Print text that may quote input (a summary, lineage): each line escaped and cut (echo.shown)."""
    for line in text.split("\n"):
        print(shown(line, limit))


def _argument_problems(args: argparse.Namespace) -> list[Problem]:
    """Problems with the command line itself, found before the home or the Dagster instance is touched."""
    where = f"asset-pipeline {args.command}"
    campaigns = list(getattr(args, "campaigns", None) or []) + (
        [args.campaign] if isinstance(getattr(args, "campaign", None), str) else []
    )
    problems: list[Problem] = []
    if not all(map(is_identifier, campaigns)):
        from asset_pipeline.validation import campaign_id_problems  # the check a brief's campaign field gets

        problems = campaign_id_problems(campaigns, where, "CAMPAIGN")
    host = getattr(args, "host", None) or "127.0.0.1"
    if args.command == "review":
        problems += review_problems(args, where)
    if getattr(args, "port", None) is not None and not problems:
        problem = port_problem(args.port, host)
        if problem:
            problems.append(Problem(where, "--port", problem))
    return problems


REVIEW_TOKEN_ENV = "ASSET_PIPELINE_REVIEW_TOKEN"
MIN_TOKEN = 16


def review_problems(args: argparse.Namespace, where: str) -> list[Problem]:
    """The review app binds loopback unless it has a token; a token must be long enough to guess badly."""
    from asset_pipeline.review.app import is_loopback

    token = args.token or os.environ.get(REVIEW_TOKEN_ENV)
    if token is not None and len(token) < MIN_TOKEN:
        return [Problem(where, "--token", f"at least {MIN_TOKEN} characters (a generated one is printed if none)")]
    if not is_loopback(args.host) and not token:
        return [
            Problem(
                where,
                "--host",
                f"{shown(args.host)} is not loopback: anyone who reaches it could approve; "
                f"give --token or set ${REVIEW_TOKEN_ENV}",
            )
        ]
    return []


def port_problem(port: int, host: str = "127.0.0.1") -> str | None:
    """Why a server could not listen on `port` of `host` (out of range, in use, privileged), or None."""
    if not 1 <= port <= 65535:
        return f"{port} is not a TCP port (1..65535)"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is no conflict
        try:
            probe.bind((host, port))
        except OSError as exc:
            why = "already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
            return f"cannot listen on {host}:{port}: {why}"
    return None


# ------------------------------------------------------------------ commands


def cmd_validate(args: argparse.Namespace, home: Home) -> int:
    from asset_pipeline.validation import validate_home

    # Absolute but not resolved: a link out of the home (or a loop) is judged, not followed.
    files = [Path(os.path.abspath(f)) for f in args.files] if args.files else None
    problems = validate_home(home, files)
    if problems:
        _report(problems)
        return EXIT_INVALID
    checked = len(files) if files else len(home.campaign_ids())
    print(f"ok: {checked} {'file(s)' if files else 'campaign(s)'} valid")
    return EXIT_OK


def cmd_run(args: argparse.Namespace, home: Home) -> int:
    from asset_pipeline.gate import ModelGate
    from asset_pipeline.validation import (
        check_campaign,
        check_campaign_budget,
        check_layouts,
        config_problems,
        load_registry_checked,
    )

    if args.executor == "celery" and not args.broker:
        print("error: --executor celery needs --broker URL (or $ASSET_PIPELINE_CELERY_BROKER)", file=sys.stderr)
        return EXIT_INVALID

    if args.all or not args.campaigns:
        if not args.all:
            print("error: name campaigns to run, or use --all", file=sys.stderr)
            return EXIT_INVALID
        campaigns = home.campaign_ids()
        if not campaigns:
            print(f"error: no briefs in {home.briefs}", file=sys.stderr)
            return EXIT_INVALID
    else:
        campaigns = list(dict.fromkeys(args.campaigns))
    if args.changed:  # only what changed since its last publication gets a run
        from asset_pipeline.freshness import check_freshness

        freshness = check_freshness(home, campaigns)
        for campaign in freshness.fresh:
            _say(f"{campaign}: up to date (inputs unchanged since its last publication); no run")
        campaigns = list(freshness.stale)

    registry, problems = load_registry_checked(home)
    unusable_config = config_problems(home)  # the signer: a run that could not sign publishes nothing
    problems += unusable_config
    runnable = []
    gate = None
    for campaign in campaigns:
        found = check_campaign(home, campaign, registry)
        if not found and registry is not None and not unusable_config:
            # the budget, before any generation (a stale model is evaluated first: its cost is measured)
            gate = gate or ModelGate(home, registry)
            found = check_campaign_budget(home, campaign, registry, gate)
        problems += found
        if not found:
            runnable.append(campaign)
            # pre-flight: deliverables that cannot be laid out get no draft and are rejected with these
            for problem in check_layouts(home, campaign):
                _say(f"pre-flight: {problem}")
    if problems:
        _report(problems)
    if registry is None or unusable_config:
        return EXIT_INVALID

    summaries = []
    if runnable:  # Dagster is imported only when there is something to run
        from asset_pipeline.orchestration.progress import reporter_for
        from asset_pipeline.orchestration.runner import run_campaigns

        stream = sys.stderr  # progress goes to stderr: stdout keeps the summaries scripts read
        with contextlib.redirect_stderr(_WithoutEventLogNoise(sys.stderr)):
            summaries = run_campaigns(
                home,
                runnable,
                executor=args.executor,
                broker=args.broker,
                progress=None if args.quiet else lambda campaign: reporter_for(campaign, stream),
                batch_size=args.batch,
            )
    for summary in summaries:
        _say(summary.line())
        if args.debug and summary.traceback:  # the whole chain, as Dagster's run log has it
            print(summary.traceback, file=sys.stderr)
    if any(s.failed and mentions_disk_full(s.error or "") for s in summaries):
        print(disk_full_line(home.root), file=sys.stderr)
    if problems or any(s.failed for s in summaries):
        return EXIT_INVALID
    return EXIT_REJECTED if any(s.rejected or s.blocked for s in summaries) else EXIT_OK


class _WithoutEventLogNoise(io.TextIOBase):
    """stderr without Dagster's per-log-call complaints that its event log cannot be written.

    When the instance's storage fails (a full disk), Dagster writes its storage error to stderr
    for every log call of the run, in one write: the SQLAlchemy error with its `[SQL: …]` and
    `[parameters: …]` lines. The cause is reported once, as one line, by `main`.
    """

    NOISE = ("Exception while writing logger call to event log", "(Background on this error at")

    def __init__(self, stream):
        self.stream = stream
        self.pending = ""

    def write(self, text: str) -> int:
        if text.startswith(self.NOISE[0]):  # the whole message, however many lines its error has
            return len(text)
        lines = (self.pending + text).split("\n")
        self.pending = lines.pop()
        for line in lines:
            if not line.startswith(self.NOISE):
                self.stream.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        if self.pending and not self.pending.startswith(self.NOISE):
            self.stream.write(self.pending)
        self.pending = ""
        self.stream.flush()


def _print_rows(columns: list[str], rows: list, fmt: str) -> None:
    if fmt == "json":
        print(json.dumps([dict(zip(columns, row)) for row in rows], indent=2, default=str, ensure_ascii=False))
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        writer.writerows(rows)
        print(buffer.getvalue(), end="")
    else:
        cells = [[str(c) for c in columns]] + [["" if v is None else str(v) for v in row] for row in rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
        for n, row in enumerate(cells):
            print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
            if n == 0:
                print("  ".join("-" * w for w in widths))


def cmd_sql(args: argparse.Namespace, home: Home) -> int:
    import duckdb

    from asset_pipeline.storage.catalog import query

    try:
        columns, rows = query(home, args.query)
    except duckdb.Error as exc:
        print(f"sql: {str(exc).splitlines()[0]}", file=sys.stderr)
        return EXIT_INVALID
    _print_rows(columns, rows, args.format)
    return EXIT_OK


def cmd_models(args: argparse.Namespace, home: Home) -> int:
    from asset_pipeline.models.scorecard import model_rows

    rows = model_rows(home)
    columns = ["id", "status", "p95_s", "images_per_minute", "cost_per_image", "evaluated_at"]
    columns += ["path", "pipeline_class", "tiers", "steps", "resolution", "present"]
    if args.format == "json":
        print(json.dumps(rows, indent=2, default=str))
    else:
        for row in rows:  # a hosted model: its provider, why it is absent (its list price: cost_per_image)
            if row["provider"]:  # no steps or resolution of its own: the provider's sizes (docs/models.md)
                row.update(pipeline_class=f"hosted: {row['provider']}", steps="", resolution="")
                row["present"] = "yes" if row["present"] else f"no: {row['absent_because']}"
        _print_rows(columns, [[", ".join(r[c]) if c == "tiers" else r[c] for c in columns] for r in rows], "table")
    return EXIT_OK


def cmd_evaluate(args: argparse.Namespace, home: Home) -> int:
    from asset_pipeline.gate import ModelGate, stale_models
    from asset_pipeline.models.registry import UnknownModelError
    from asset_pipeline.models.scorecard import evaluation_line
    from asset_pipeline.orchestration.runner import run_evaluations
    from asset_pipeline.validation import load_registry_checked

    registry, problems = load_registry_checked(home)
    if registry is None:
        _report(problems)
        return EXIT_INVALID
    named = list(dict.fromkeys(args.models))
    try:
        specs = [registry.get(m) for m in named]
    except UnknownModelError as exc:
        print(f"evaluate: {shown(exc.args[0], LINE_LIMIT)}", file=sys.stderr)
        return EXIT_INVALID
    if any(not set(spec.tiers) & {"draft", "final"} for spec in specs):
        print("evaluate: upscalers are not evaluated (the suite measures draft models)", file=sys.stderr)
        return EXIT_INVALID
    gate = ModelGate(home, registry)
    todo = named or [spec.id for spec in stale_models(gate)]
    if not todo:
        print("every draft model's evaluation is current; nothing evaluated")
        return EXIT_OK
    rows = run_evaluations(home, todo, force=bool(named), prompts=args.prompts)
    if args.format == "json":
        print(json.dumps(rows, indent=2, default=str))
    else:
        for row in rows:
            _say(evaluation_line(row))
    return EXIT_OK if all(row["qualified"] for row in rows) else EXIT_REJECTED


def cmd_lineage(args: argparse.Namespace, home: Home) -> int:
    from asset_pipeline.lineage import LineageError, format_lineage, lineage

    try:
        chain = lineage(home, Path(args.path))
    except LineageError as exc:
        print(f"lineage: {shown(exc, LINE_LIMIT)}", file=sys.stderr)
        return EXIT_INVALID
    if args.format == "json":  # JSON escapes control characters itself; values stay whole
        print(json.dumps(chain, indent=2, default=str, ensure_ascii=False))
    else:
        _say(format_lineage(chain))
    return EXIT_OK


def cmd_verify(args: argparse.Namespace, home: Home) -> int:
    from asset_pipeline.publishing.content_credentials import TEST_SIGNER_NAME
    from asset_pipeline.verification import files_signed_for_testing, verify

    checked, problems = verify(home, args.campaigns or None)
    for problem in problems:
        print(problem, file=sys.stderr)
    if testing := files_signed_for_testing(home, args.campaigns or None):  # a warning, once: not a problem
        print(
            f"warning: {testing} published file(s) signed with the test certificate ({TEST_SIGNER_NAME}); "
            "no validator trusts it: sign with your own (README: Signing with your own certificate)"
        )
    print(f"{checked} published files and manifests checked, {len(problems)} problem(s)")
    return EXIT_REJECTED if problems else EXIT_OK


def cmd_compare(args: argparse.Namespace, home: Home) -> int:
    from asset_pipeline.compare import compare_models
    from asset_pipeline.models.registry import UnknownModelError
    from asset_pipeline.orchestration.observations import report_model_comparison

    model_ids = [m.strip() for m in args.models.split(",") if m.strip()]
    try:
        result = compare_models(home.root, args.campaign, model_ids, Path(args.out) if args.out else None)
    except UnknownModelError as exc:
        print(f"compare: --models: {exc.args[0]}", file=sys.stderr)
        return EXIT_INVALID
    report_model_comparison(result)
    if args.format == "json":
        print(json.dumps(result, indent=2, default=str))
    else:
        columns = ["asset", "model", "width", "height", "seconds", "error"]
        _print_rows(columns, [[row[c] for c in columns] for row in result["rows"]], "table")
        print(f"\ncontact sheet: {result['sheet']}")
    # a model that could not draft is worth a non-zero exit: scripts comparing models notice
    return EXIT_REJECTED if any(row["error"] for row in result["rows"]) else EXIT_OK


def cmd_ui(args: argparse.Namespace, home: Home) -> int:
    from asset_pipeline.orchestration.instance import open_instance

    with open_instance(home):  # a schema a killed run left half-made is mended before the UI reads it
        pass
    # The port was checked by _argument_problems before anything was printed.
    command = [
        sys.executable,
        "-m",
        "dagster_webserver",
        "-h",
        "127.0.0.1",
        "-p",
        str(args.port),
        "-m",
        "asset_pipeline.orchestration.definitions",
    ]
    return run_in_process_group(
        command, announce=f"Dagster UI on http://127.0.0.1:{args.port} (instance {os.environ['DAGSTER_HOME']})"
    )


def cmd_review(args: argparse.Namespace, home: Home) -> int:
    import secrets

    from asset_pipeline.review.app import serve

    # Checked by _argument_problems: off loopback a token was given.
    token = args.token or os.environ.get(REVIEW_TOKEN_ENV) or secrets.token_urlsafe(24)
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"Review app on http://{shown_host}:{args.port}/?token={token} (home {home.root})", flush=True)
    print("Open that link to review; scripts send the token as 'Authorization: Bearer <token>'.", flush=True)
    serve(home, token, args.host, args.port)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, home: Home) -> int:
    from asset_pipeline.api.app import serve
    from asset_pipeline.api.settings import load_webhooks_settings

    load_webhooks_settings(home)  # a broken config.yaml is reported before the server starts
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"API on http://{shown_host}:{args.port}/v1/ (docs /docs, home {home.root})", flush=True)
    print("Requests need 'Authorization: Bearer <token>' (asset-pipeline tokens create --scope ...).", flush=True)
    serve(home, args.host, args.port, args.queue)
    return EXIT_OK


def cmd_tokens(args: argparse.Namespace, home: Home) -> int:
    from asset_pipeline.api.tokens import TokenError, TokenStore

    store = TokenStore(home)
    try:
        if args.action == "create":
            scopes = [part.strip() for given in args.scope for part in given.split(",") if part.strip()]
            record, token = store.create(scopes, args.name)
            print(f"token {record.id} ({record.name or 'no name'}) with scopes {', '.join(record.scopes)}")
            print("It is shown this once; the home keeps only its hash. Send it as 'Authorization: Bearer <token>':")
            print(token)  # alone on the last line, for scripts: TOKEN=$(asset-pipeline tokens create ... | tail -1)
        elif args.action == "list":
            rows = [[t.id, t.name, ",".join(t.scopes), t.created_at, t.revoked_at or ""] for t in store.list()]
            _print_rows(["id", "name", "scopes", "created_at", "revoked_at"], rows, args.format)
        else:
            record = store.revoke(args.id)
            print(f"token {record.id} revoked at {record.revoked_at}")
    except TokenError as exc:
        print(f"tokens {args.action}: {shown(exc, LINE_LIMIT)}", file=sys.stderr)
        return EXIT_INVALID
    return EXIT_OK


def run_in_process_group(command: list[str], announce: str | None = None, grace_s: float = 10.0) -> int:
    """Run `command` as the leader of its own process group; SIGTERM or SIGINT here stops the whole group.

    dagster-webserver starts a code server of its own: signalling the webserver alone would leave
    that running. On a signal the group gets SIGTERM, then SIGKILL after `grace_s` seconds; the
    exit status is then 128 + the signal's number, as a shell reports it.
    """
    received: list[int] = []
    children: list[subprocess.Popen] = []

    def stop(signum, _frame):
        received.append(signum)
        for child in children:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, signal.SIGTERM)

    # Handlers first: a signal that arrives while the child starts still stops it.
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        children.append(subprocess.Popen(command, start_new_session=True))
        if received:
            stop(received[0], None)
        if announce:
            print(announce, flush=True)
        code = children[0].wait()
    finally:
        for child in children:
            _stop_group(child.pid, grace_s)
            if child.poll() is None:
                child.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 + received[0] if received else code


def _stop_group(pgid: int, grace_s: float) -> None:
    """SIGTERM what is left of the process group, SIGKILL it if it is not gone after `grace_s`."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except (ProcessLookupError, PermissionError):
                return
            time.sleep(0.1)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{shown(text)!r} is not a whole number of at least 1")
    return int(text)


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{shown(text)!r} is not a whole number of at least 0")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="asset-pipeline", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="materialize the whole graph for campaigns, as Dagster runs")
    run.add_argument("campaigns", nargs="*", metavar="CAMPAIGN")
    run.add_argument("--all", action="store_true", help="every brief under the home")
    run.add_argument(
        "--changed",
        action="store_true",
        help="run only campaigns whose inputs (brief, brand, media, models, weights, code) changed since "
        "their last publication, as the nightly schedule does",
    )
    run.add_argument(
        "--executor",
        choices=["in_process", "multiprocess", "celery"],
        default="in_process",
        help="where steps run: this process (default), a process per step, or Celery workers",
    )
    run.add_argument(
        "--broker",
        metavar="URL",
        default=os.environ.get("ASSET_PIPELINE_CELERY_BROKER"),
        help="with --executor celery: the broker the workers listen to, e.g. redis://127.0.0.1:6379/0 "
        "(default: $ASSET_PIPELINE_CELERY_BROKER)",
    )
    run.add_argument(
        "--batch",
        type=_positive,
        default=100,  # orchestration.batch.BATCH_SIZE (not imported: --help stays quick)
        metavar="N",
        help="campaigns per Dagster run (default 100): consecutive campaigns share one run, one model load "
        "and one set of step events; a campaign's failure stays its own. 1: a run per campaign",
    )
    run.add_argument("--quiet", action="store_true", help="no progress on stderr, only the summaries")
    run.set_defaults(func=cmd_run)

    validate = sub.add_parser("validate", help="check briefs, brands and models.yaml without running")
    validate.add_argument("files", nargs="*", metavar="FILE")
    validate.set_defaults(func=cmd_validate)

    sql = sub.add_parser("sql", help="query the catalog")
    sql.add_argument("query")
    sql.add_argument("--format", choices=["table", "json", "csv"], default="table")
    sql.set_defaults(func=cmd_sql)

    lin = sub.add_parser("lineage", help="the provenance chain of a published file")
    lin.add_argument("path")
    lin.add_argument("--format", choices=["text", "json"], default="text")
    lin.set_defaults(func=cmd_lineage)

    verify = sub.add_parser("verify", help="check published files, manifests and catalog rows against the history")
    verify.add_argument("campaigns", nargs="*", metavar="CAMPAIGN")
    verify.set_defaults(func=cmd_verify)

    models = sub.add_parser("models", help="the model registry, with each model's qualification, p95 and cost")
    models.add_argument("--format", choices=["table", "json"], default="table")
    models.set_defaults(func=cmd_models)

    evaluate = sub.add_parser(
        "evaluate", help="run the evaluation suite on models whose evaluation is stale (or on those named)"
    )
    evaluate.add_argument("models", nargs="*", metavar="MODEL")
    evaluate.add_argument(
        "--prompts",
        type=_positive,
        default=None,
        metavar="N",
        help="only the suite's first N prompts: a quick look (its data version differs from the full suite's)",
    )
    evaluate.add_argument("--format", choices=["table", "json"], default="table")
    evaluate.set_defaults(func=cmd_evaluate)

    compare = sub.add_parser("compare", help="draft a campaign's assets with several models, side by side")
    compare.add_argument("campaign", metavar="CAMPAIGN")
    compare.add_argument("--models", required=True, help="comma-separated registry ids, e.g. tiny,sd-turbo")
    compare.add_argument("--out", help="PNG path (default published/<campaign>/compare/<models>.png)")
    compare.add_argument("--format", choices=["table", "json"], default="table")
    compare.set_defaults(func=cmd_compare)

    ui = sub.add_parser("ui", help="start the Dagster UI on 127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=cmd_ui)

    review = sub.add_parser("review", help="start the reviewer web app (approve / reject) on 127.0.0.1")
    review.add_argument("--port", type=int, default=8000)
    review.add_argument("--host", default="127.0.0.1", help="another host than loopback needs a token")
    review.add_argument(
        "--token",
        default=None,
        help=f"the token every write needs (default: ${REVIEW_TOKEN_ENV}, else a new one, printed at start-up)",
    )
    review.set_defaults(func=cmd_review)

    serve = sub.add_parser("serve", help="start the HTTP API (real-time renders, batch runs, webhooks)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument(
        "--queue",
        type=_count,
        default=8,
        metavar="N",
        help="requests that may wait for each route's worker (renders, runs) before it answers 429 (default 8)",
    )
    serve.set_defaults(func=cmd_serve)

    tokens = sub.add_parser("tokens", help="API tokens: create (printed once), list, revoke")
    actions = tokens.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="a new token; printed once, alone on the last line")
    create.add_argument(
        "--scope",
        action="append",
        required=True,
        help="render, runs, read, review or admin (repeat, or separate with commas)",
    )
    create.add_argument("--name", help="who or what uses it")
    listing = actions.add_parser("list", help="every token: id, name, scopes, created, revoked")
    listing.add_argument("--format", choices=["table", "json", "csv"], default="table")
    revoke = actions.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("id")
    tokens.set_defaults(func=cmd_tokens)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    home = Home.from_env()
    problems = _argument_problems(args)
    if problems:  # before anything touches the home or the Dagster instance
        _report(problems)
        return EXIT_INVALID
    try:
        _prepare_environment(home)
        return args.func(args, home)
    except InputError as exc:
        if args.debug:
            raise
        _report(exc.problems)
        return EXIT_INVALID
    except BrokenPipeError:  # `asset-pipeline sql … | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return EXIT_OK
    except Exception as exc:  # set-up or environment: one line, the traceback only with --debug
        if args.debug:
            raise
        print(shown(_environment_error(exc, home), LINE_LIMIT), file=sys.stderr)
        return EXIT_INVALID


def _environment_error(exc: BaseException, home: Home) -> str:
    """One line for a failure of the machine rather than the input; a full disk says so plainly.

    A full disk surfaces in many forms (OSError ENOSPC from a file write, SQLite's "database
    or disk is full" or "disk I/O error" from the Dagster instance), so the chain of causes is
    searched (storage/disk.py). Every write is atomic, so what was published before is intact.
    """
    if is_disk_full(exc):
        return disk_full_line(home.root)
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"error: {type(exc).__name__}: {first} (--debug shows the traceback)"


if __name__ == "__main__":
    sys.exit(main())
