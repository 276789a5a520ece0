"""A fork server for CLI tests: `asset-pipeline` commands in real processes, without paying the imports.

Every `python -m asset_pipeline` pays several seconds of imports (torch, diffusers, Dagster) before
its first line of work; the suite runs about a hundred of them. This server imports those once,
then forks a child per command. The child is a real process: its own pid and session (a test can
kill it), its own stdout and stderr files, its own environment and working directory, and the
same exit status as the command run by hand. What it skips is only the import of modules whose
import has no side effect that depends on the command.

Children run side by side (three `run`s at once in one home, say). Protocol, one JSON line each
way on stdin/stdout:
    request  {"args": [...], "env": {...}, "cwd": "...", "stdout": PATH, "stderr": PATH}
    replies  {"pid": N} at once, then, whenever the child ends, {"pid": N, "status": S} (a waitpid
             status); replies to other children may come in between

Run as `python -m asset_pipeline_tests.support.cli_server`; `CliServer` is the test side.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

# The environment `asset-pipeline` itself sets before anything imports transformers or diffusers
# (cli._prepare_environment), so preimporting them here reads the same settings.
PREIMPORT_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "DIFFUSERS_VERBOSITY": "error",
}
# What a command imports, beyond what a run's step processes import (executors.STEP_MODULES, which
# the server imports first): its first use in each child cost it seconds. From the modules a
# `validate`, `run`, `sql`, `models` and `verify` imported past those.
PREIMPORTS = [
    "asset_pipeline.orchestration.runner",
    "asset_pipeline.lineage",
    "asset_pipeline.orchestration.instance",
    "asset_pipeline.orchestration.stale_runs",
    "asset_pipeline.verification",
    "asset_pipeline.models.scorecard",
    "dagster._core.execution.execute_in_process",
    "dagster._core.execution.backfill",
    "dagster._core.executor.in_process",
    "dagster._core.workspace",
    "dagster._daemon",
    "dagster._grpc",
    "dagster._scheduler",
    "cryptography.x509",
    "rich",
]


def _child(request: dict) -> None:
    """In the forked child: become the command, then exit as the interpreter would."""
    import random

    os.setsid()  # its own process group, as `start_new_session=True` gives a Popen
    random.seed()  # a fresh interpreter's state, not the server's copy
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    null = os.open(os.devnull, os.O_RDONLY)
    out = os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    for source, target in ((null, 0), (out, 1), (err, 2)):
        os.dup2(source, target)
        os.close(source)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sys.argv = ["asset-pipeline", *request["args"]]
    from asset_pipeline.cli import main

    os._exit(_run_as_interpreter(main, request["args"]))


def _run_as_interpreter(main, args: list[str]) -> int:
    """Run `main(args)` and end as the interpreter would, less the teardown of its modules.

    The exit status, the traceback of an uncaught exception, the wait for non-daemon threads, the
    atexit handlers and the flushes are the interpreter's own. What is left out is freeing every
    module (torch, Dagster, ...): 1.5 s of each command here, and nothing a command's output sees.
    """
    try:
        code = main(args)
    except SystemExit as exit:
        code = exit.code
    except KeyboardInterrupt:
        code = KeyboardInterrupt
    except BaseException:
        sys.excepthook(*sys.exc_info())
        code = 1
    if code is not None and not isinstance(code, int) and code is not KeyboardInterrupt:
        print(code, file=sys.stderr)  # SystemExit("message") prints it and exits 1
        code = 1
    threading._shutdown()  # what Py_FinalizeEx does first: join the non-daemon threads
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    if code is KeyboardInterrupt:  # an uncaught Ctrl-C ends the process by SIGINT, as CPython does
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    return code or 0


def serve() -> None:
    os.environ.update(PREIMPORT_ENV)
    import importlib

    from asset_pipeline.orchestration.executors import STEP_MODULES

    for name in [*STEP_MODULES, *PREIMPORTS]:
        importlib.import_module(name)
    from PIL import Image

    Image.init()  # every codec plugin, as the first save or open of an unusual format would
    replies = sys.stdout
    print(json.dumps({"ready": os.getpid()}), file=replies, flush=True)
    # One thread only (a fork from a threaded process is unsafe): poll for requests, reap children.
    stdin, pending, running = sys.stdin.fileno(), b"", set()
    while True:
        if select.select([stdin], [], [], 0.02 if running else None)[0]:
            chunk = os.read(stdin, 65536)
            if not chunk:  # the test session ended
                break
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                request = json.loads(line)
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    _child(request)
                running.add(pid)
                print(json.dumps({"pid": pid}), file=replies, flush=True)
        for pid in list(running):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                running.discard(pid)
                print(json.dumps({"pid": pid, "status": status}), file=replies, flush=True)
    for pid in running:
        os.waitpid(pid, 0)


class CliServer:
    """The test side: one server per pytest session, started on first use; safe to use from threads."""

    def __init__(self) -> None:
        self._process: subprocess.Popen | None = None
        self._lock = threading.Lock()  # one reader and one writer of the server's pipes at a time
        self._replies = b""  # bytes read from the server and not yet taken as a line
        self._ended: dict[int, int] = {}  # pid -> waitpid status, for children not yet waited for

    def _line(self, timeout: float | None = None) -> dict | None:
        """The server's next reply, or None if none came within `timeout` seconds (lock held)."""
        fd = self._process.stdout.fileno()
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self._replies:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError("the CLI fork server exited")
            self._replies += chunk
        line, self._replies = self._replies.split(b"\n", 1)
        reply = json.loads(line)
        if "status" in reply:
            self._ended[reply["pid"]] = reply["status"]
        return reply

    def _start(self) -> subprocess.Popen:
        if self._process is None or self._process.poll() is not None:
            repo = str(Path(__file__).resolve().parents[2])
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")])))
            self._process = subprocess.Popen(
                [sys.executable, "-m", "asset_pipeline_tests.support.cli_server"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
                cwd=repo,
            )
            self._replies, self._ended = b"", {}
            self._line()  # {"ready": pid}: everything is imported
        return self._process

    def start(self, args: list[str], env: dict, cwd: Path, stdout: Path, stderr: Path) -> Child:
        """Fork a child running `asset-pipeline ARGS`; it runs beside any others started."""
        with self._lock:
            process = self._start()
            request = {"args": list(args), "env": env, "cwd": str(cwd), "stdout": str(stdout), "stderr": str(stderr)}
            process.stdin.write(json.dumps(request).encode() + b"\n")
            process.stdin.flush()
            while True:  # requests are answered in order: the next pid-only reply is this child's
                reply = self._line()
                if "status" not in reply:
                    return Child(self, reply["pid"])

    def status(self, pid: int, timeout: float | None) -> int | None:
        """The child's waitpid status once it has ended, or None after `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                if pid in self._ended:
                    return self._ended.pop(pid)
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                # short reads, so a thread waiting for another child takes its turn at the pipe
                self._line(min(left, 0.1) if left is not None else 0.1)
            if deadline is not None and time.monotonic() >= deadline and pid not in self._ended:
                return None

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.stdin.close()
            self._process.wait(timeout=30)


class Child:
    """A forked command, with the `pid`, `wait()`, `poll()` and `returncode` of a Popen."""

    def __init__(self, server: CliServer, pid: int) -> None:
        self.server, self.pid, self.returncode = server, pid, None

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            status = self.server.status(self.pid, timeout)
            if status is None:
                raise subprocess.TimeoutExpired(f"asset-pipeline (pid {self.pid})", timeout)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def poll(self) -> int | None:
        """The exit status if the command has ended, else None (without waiting)."""
        if self.returncode is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.wait(timeout=0)
        return self.returncode

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)


if __name__ == "__main__":
    serve()
