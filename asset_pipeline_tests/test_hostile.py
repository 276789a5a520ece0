"""Hostile input and a damaged machine, kind by kind, as plain functions: ids and sizes matched
whole over ASCII, every input error a Problem, values made safe to echo, ports checked before
serving, the UI's process group stopped, dead runs marked failed, the umask respected."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from asset_pipeline.echo import shown
from asset_pipeline.home import Home, HomePathError
from asset_pipeline.models.registry import HUB_ID, PIPELINE_CLASS, SCHEDULER_CLASS, load_registry
from asset_pipeline.specs import (
    HEX_COLOR_RE,
    ID_RE,
    SIZE_RE,
    Brand,
    InputError,
    Problem,
    _validate,
    is_identifier,
    parse_size,
    read_yaml,
)
from asset_pipeline.validation import check_campaign, validate_home
from asset_pipeline_tests.conftest import REPO, cli, start_cli, write_brief

GOOD = """\
campaign: good
brand: acme
assets:
  - id: hero
    prompt: "ceramic mug"
    sizes: ["256x256"]
"""

# ------------------------------------------------------------------ A: matched whole, over ASCII


@pytest.mark.parametrize(
    "size", ["1080x1080\n", "١٠٨٠x١٠٨٠", "１０８０x１０８０", " 1080x1080", "1080x1080 ", "1080x1080\x00", "1080X1080"]
)
def test_sizes_are_matched_whole_over_ascii(size):
    with pytest.raises(ValueError, match="is not WxH"):
        parse_size(size)


@pytest.mark.parametrize(
    "value, ok",
    [
        ("good", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("good\n", False),
        ("../x", False),
        ("good/../good", False),
        ("ｇood", False),  # fullwidth
        ("\u0138", False),  # a letter outside ASCII
        ("١٠", False),
        ("\x1b[31m", False),
        ("", False),
        (None, False),
    ],
)
def test_identifiers_are_matched_whole_over_ascii(value, ok):
    assert is_identifier(value) is ok


@pytest.mark.parametrize("colour", ["#FFFFFF\n", "#FFFFFF ", "#ＦＦＦＦＦＦ", "FFFFFF"])
def test_colours_are_matched_whole(colour):
    with pytest.raises(InputError) as caught:
        _validate(Brand, {"brand": "acme", "colors": {"text": [colour], "accent": colour}}, "brands/acme.yaml")
    assert {p.field for p in caught.value.problems} == {"colors.text", "colors.accent"}


def test_no_validation_pattern_uses_dollar_or_unicode_classes():
    for pattern in (ID_RE, SIZE_RE, HEX_COLOR_RE, HUB_ID, PIPELINE_CLASS, SCHEDULER_CLASS):
        assert not any(token in pattern.pattern for token in ("$", "\\d", "\\w", "^")), pattern.pattern
    assert HUB_ID.fullmatch("stabilityai/sd-turbo") and not HUB_ID.fullmatch("stabilityai/sd-turbo\n")


def test_ten_thousand_deep_yaml_is_one_problem(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("campaign: " + "[" * 10_000 + "]" * 10_000 + "\n")
    with pytest.raises(InputError) as caught:
        read_yaml(path, "briefs/deep.yaml")
    assert [str(p) for p in caught.value.problems] == ["briefs/deep.yaml: invalid YAML: nested too deeply"]


def test_a_models_yaml_symlink_loop_or_directory_is_refused(home):
    (home / "models.yaml").unlink()
    (home / "models.yaml").symlink_to("models.yaml")
    with pytest.raises(InputError, match="models.yaml: cannot read: Too many levels of symbolic links"):
        load_registry(home)
    (home / "models.yaml").unlink()
    (home / "models.yaml").mkdir()
    with pytest.raises(InputError, match="models.yaml: cannot read: Is a directory"):
        load_registry(home)


def test_home_inside_refuses_loops_and_links_out(tmp_path):
    root = tmp_path / "home"
    (root / "brands").mkdir(parents=True)
    (root / "brands" / "loop.yaml").symlink_to("loop.yaml")
    (root / "brands" / "out.yaml").symlink_to(tmp_path / "out.yaml")
    home = Home(root.resolve())
    with pytest.raises(HomePathError, match="cannot be resolved") as loop:
        home.inside("brands", "loop.yaml")
    assert loop.value.relative == "brands/loop.yaml"
    with pytest.raises(HomePathError, match="escapes the home folder"):
        home.inside("brands", "out.yaml")
    assert isinstance(loop.value, ValueError)  # callers that caught ValueError still do


def test_every_input_error_is_a_problem_whatever_raised_it(home, tmp_path):
    """No exception leaves validation for bad input: a brand linked out of the home, a font name
    the OS refuses (NUL), a brief that is a directory, a brief that is a symlink loop."""
    outside = tmp_path / "outside.yaml"
    outside.write_text("brand: outside\n")
    (home / "brands" / "outside.yaml").symlink_to(outside)
    write_brief(home, "away", GOOD.replace("campaign: good", "campaign: away").replace("acme", "outside"))
    (home / "brands" / "nul.yaml").write_text('brand: nul\nfonts: {body: "Deja\\0Vu"}\n')
    write_brief(home, "nul", GOOD.replace("campaign: good", "campaign: nul").replace("acme", "nul"))
    (home / "briefs" / "folder.yaml").mkdir()
    (home / "briefs" / "loop.yaml").symlink_to("loop.yaml")
    root = Home(home.resolve())
    lines = [str(p) for p in validate_home(root)]
    assert any(
        line.startswith("briefs/away.yaml: brand: brands/outside.yaml escapes the home folder") for line in lines
    )
    assert any(line.startswith("brands/outside.yaml: escapes the home folder") for line in lines)
    assert "brands/nul.yaml: fonts.body: font name 'Deja\\x00Vu' has control characters" in lines
    assert "briefs/folder.yaml: cannot read: Is a directory" in lines
    assert any(
        line.startswith("briefs/loop.yaml: campaign: path 'briefs/loop.yaml' cannot be resolved") for line in lines
    )
    assert check_campaign(root, "../x", None)[0].field == "campaign"


# ------------------------------------------------------------------ B: safe to echo


def test_shown_escapes_control_characters_and_cuts_at_80():
    assert shown("plain") == "plain"
    assert shown("\x1b[31mred\x07\n") == "\\x1b[31mred\\x07\\n"
    assert shown("right-to-left \u202e override") == "right-to-left \\u202e override"
    assert shown("x" * 80) == "x" * 80
    cut = shown("y" * 1_000_000)
    assert cut == "y" * 80 + "…"
    assert len(shown("\x1b" * 100)) <= 81 and shown("\x1b" * 100).endswith("…")
    assert shown(12) == "12" and shown(None) == "None"


def test_a_problem_line_stays_short_and_inert():
    line = str(Problem("briefs/\x1b]0;x\x07.yaml", "k" * 10_000, "bad " * 500_000))
    assert len(line) < 600 and "\x1b" not in line and "\x07" not in line and "\n" not in line


def test_gallery_escapes_through_the_template_engine(tmp_path):
    from asset_pipeline.publishing.gallery import write_gallery

    home = Home(tmp_path)
    manifest = {
        "campaign": "c",
        "brand": "<b>acme</b>",
        "brief_hash": "a" * 64,
        "brand_hash": "b" * 64,
        "pipeline_version": "1",
        "deliverables": [
            {
                "asset": "hero",
                "variant": 1,
                "size": "256x256",
                "status": "rejected",
                "model": "tiny",
                "seed": 1,
                "version": None,
                "latest_path": None,
                "reasons": ['<script>alert(1)</script><img src=x onerror="y"> \x1b[31m' + "z" * 5000],
            }
        ],
    }
    write_gallery(home, manifest, [], None)
    page = (tmp_path / "published" / "c" / "index.html").read_text()
    assert "<script" not in page and "<img" not in page and "<b>" not in page and "\x1b" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "\\x1b[31m" in page
    assert "z" * 400 not in page  # cut


# ------------------------------------------------------------------ C: ports, the UI's children


def test_ports_outside_the_range_or_in_use_are_refused():
    from asset_pipeline.cli import port_problem

    assert "not a TCP port" in port_problem(0)
    assert "not a TCP port" in port_problem(99999)
    assert "not a TCP port" in port_problem(-1)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert port_problem(port) == f"cannot listen on 127.0.0.1:{port}: already in use"
    assert port_problem(port) is None


@pytest.mark.parametrize("port", ["0", "99999", "-1", "busy"])
def test_ui_with_a_bad_port_exits_2_with_one_line_before_serving(port, tmp_path, monkeypatch, capsys):
    from asset_pipeline import cli

    monkeypatch.setenv("ASSET_PIPELINE_HOME", str(tmp_path / "home"))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        code = cli.main(["ui", "--port", str(busy.getsockname()[1]) if port == "busy" else port])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, (out, err)
    assert err.startswith("asset-pipeline ui: --port: ")
    assert not (tmp_path / "home").exists()  # nothing was created: no instance, no home


def test_a_signal_stops_the_whole_process_group(tmp_path):
    """What `ui` does to dagster-webserver and its code server: here a shell and its child."""
    pidfile = tmp_path / "grandchild"
    script = (
        "import sys; from asset_pipeline.cli import run_in_process_group; "
        f"sys.exit(run_in_process_group(['sh', '-c', 'sleep 300 & echo $! > {pidfile}; wait'], grace_s=5))"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], env=dict(os.environ, PYTHONPATH=str(REPO)))
    deadline = time.time() + 60
    while not (pidfile.exists() and pidfile.read_text().strip()):
        assert parent.poll() is None and time.time() < deadline
        time.sleep(0.1)
    grandchild = int(pidfile.read_text())
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=30) == 128 + signal.SIGTERM
    assert not _running(grandchild)


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


# ------------------------------------------------------------------ C: runs of dead processes


def test_runs_of_dead_processes_are_marked_failed_with_the_reason(tmp_path):
    import dagster as dg

    from asset_pipeline.orchestration import stale_runs

    instance = dg.DagsterInstance.ephemeral()
    dead = subprocess.Popen(["true"])
    dead.wait()

    def add(status, tags):
        run = dg.DagsterRun(job_name="build_campaign", run_id=str(uuid.uuid4()), status=status, tags=tags)
        instance.add_run(run)
        return run.run_id

    killed = add(dg.DagsterRunStatus.STARTED, {stale_runs.PID_TAG: str(dead.pid)})
    starting = add(dg.DagsterRunStatus.STARTING, {stale_runs.PID_TAG: str(dead.pid)})
    reused = add(  # the pid is alive, but it is not the process that launched the run
        dg.DagsterRunStatus.STARTED, {stale_runs.PID_TAG: str(os.getpid()), stale_runs.PROCESS_STARTED_TAG: "1"}
    )
    alive = add(dg.DagsterRunStatus.STARTED, stale_runs.launch_tags())
    untagged = add(dg.DagsterRunStatus.STARTED, {})
    elsewhere = add(dg.DagsterRunStatus.STARTED, {stale_runs.PID_TAG: str(dead.pid), stale_runs.HOST_TAG: "other"})
    finished = add(dg.DagsterRunStatus.SUCCESS, {stale_runs.PID_TAG: str(dead.pid)})

    tags = stale_runs.fail_dead_runs(Home(tmp_path), instance)

    assert tags[stale_runs.PID_TAG] == str(os.getpid())
    status = {run_id: instance.get_run_by_id(run_id).status for run_id in (killed, starting, reused, alive)}
    assert status == {
        killed: dg.DagsterRunStatus.FAILURE,
        starting: dg.DagsterRunStatus.FAILURE,
        reused: dg.DagsterRunStatus.FAILURE,
        alive: dg.DagsterRunStatus.STARTED,
    }
    for run_id, status in ((untagged, "STARTED"), (elsewhere, "STARTED"), (finished, "SUCCESS")):
        assert instance.get_run_by_id(run_id).status.value == status
    messages = [e.message for e in instance.all_logs(killed) if e.dagster_event and e.dagster_event.is_run_failure]
    assert messages and f"its process (pid {dead.pid}) is gone" in messages[0] and "left STARTED" in messages[0]
    # Judged once: a second pass finds nothing more to fail.
    stale_runs.fail_dead_runs(Home(tmp_path), instance)
    assert len([e for e in instance.all_logs(killed) if e.dagster_event and e.dagster_event.is_run_failure]) == 1


# ------------------------------------------------------------------ D: the umask


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_respect_the_umask(tmp_path, umask, mode):
    script = (
        f"import os; os.umask({umask}); from pathlib import Path; "
        "from asset_pipeline.storage.files import atomic_path, atomic_write_bytes; "
        f"atomic_write_bytes(Path({str(tmp_path / 'a.json')!r}), b'{{}}'); "
        f"cm = atomic_path(Path({str(tmp_path / 'b.png')!r})); tmp = cm.__enter__(); tmp.write_bytes(b'x'); "
        "cm.__exit__(None, None, None)"
    )
    subprocess.run([sys.executable, "-c", script], check=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
    for name in ("a.json", "b.png"):
        assert (tmp_path / name).stat().st_mode & 0o777 == mode, name


@pytest.mark.slow
def test_a_run_killed_with_sigkill_is_marked_failed_by_the_next_run(home):
    import dagster as dg

    write_brief(home, "good", GOOD)
    victim = start_cli(home, "run", "good")  # a process of its own, killed whole
    deadline = time.time() + 300
    run_id = None
    while run_id is None:
        assert victim.poll() is None and time.time() < deadline, "the run ended before it could be killed"
        time.sleep(0.2)
        run_id = _started_run(home / "dagster" / "history" / "runs.db")
    victim.kill()
    victim.wait()

    again = cli(home, "run", "good")
    assert again.returncode == 0, again.stdout + again.stderr
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE
        failure = [e.message for e in instance.all_logs(run_id) if e.dagster_event and e.dagster_event.is_run_failure]
        assert f"its process (pid {victim.pid}) is gone" in failure[0]


def _started_run(db: Path) -> str | None:
    """A STARTED run's id, read from the instance's SQLite file without opening (or migrating) the instance."""
    import sqlite3

    if not db.exists():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)) as con:
            row = con.execute("SELECT run_id FROM runs WHERE status = 'STARTED' LIMIT 1").fetchone()
    except sqlite3.Error:  # the schema is still being created
        return None
    return row[0] if row else None
