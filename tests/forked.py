"""``davserver`` commands run by the tests in processes forked from one that has
imported the server already.

Each ``python -m davserver.cli ...`` the suite starts pays the interpreter's start
and about 0.8 s of imports (SQLAlchemy, Flask, WsgiDAV, pydantic, lxml) before the
command does anything; the suite starts hundreds of servers and commands, and that
was a third of the CI run. Here, each pytest worker starts once a
:mod:`multiprocessing` *fork server* that imports :data:`PRELOAD`; every command is
then a fresh process forked from it, a real process all the same: its own pid,
environment, standard streams and exit code (a signal's negative number, as
:class:`subprocess.Popen` gives), a crash that cannot touch the test, SIGTERM and
SIGKILL as for any process. The fork server is single-threaded (forking it is safe)
and never runs a command itself.

What a fresh interpreter would do differently, and is done here on purpose:

* the environment is the command's own (``os.environ`` replaced) and the module
  that read it at import, :mod:`davserver.clock`, reads it again;
* ``sys.argv``, the working directory and the three standard streams (new text
  wrappers over file descriptors 0, 1 and 2, line-buffered) are the command's;
* at the end, as at an interpreter's exit: non-daemon threads are joined, then
  ``atexit`` handlers run (a thread pool finishing its work, logging flushed).

The processes are *daemonic* for :mod:`multiprocessing`: when a test process ends,
any server a test left running is sent SIGTERM and waited for (a non-daemonic one
would hang the test process's exit). The fork server re-imports the test process's
main script in each child, as :mod:`multiprocessing` does: pytest's is guarded by
``if __name__ == "__main__"``; a script of your own that starts servers through
:mod:`tests.conftest` must be guarded too (or use ``ENT_TEST_FORK=0``).

``python -m davserver.cli`` itself is still what ``tests/integration/test_cli.py``,
``test_demo.py`` and a few others start, so the entry point stays tested.
``ENT_TEST_FORK=0`` turns the fork server off: every command is then a
``subprocess`` of a new interpreter, as before (for bisecting a doubt).
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from multiprocessing import reduction
from typing import IO, Any

# Imported once by the fork server: what every command and ``serve`` needs.
PRELOAD = ["tests.forked", "davserver.cli", "davserver.app"]
ENABLED = os.environ.get("ENT_TEST_FORK", "1") != "0"

_context: Any = None
_lock = threading.Lock()


def _fork_context() -> Any:
    """The ``forkserver`` context of this test process, its server preloading
    :data:`PRELOAD` (started on first use)."""
    global _context
    with _lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            _context = context
        return _context


class _Fd:
    """A file descriptor handed to the forked child (pickled as a duplicate that the
    fork server passes over its socket): the child gets an ``int``."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __reduce__(self) -> tuple[Any, tuple[Any]]:
        return _detach, (reduction.DupFd(self.fd),)


def _detach(dup: Any) -> int:
    return int(dup.detach())


def _run_command(argv: list[str], env: dict[str, str], cwd: str,
                 stdin: int, stdout: int, stderr: int) -> None:
    """In the forked child: become ``python -m davserver.cli ARGV`` with ``env`` and
    the given standard streams, run it, and exit with its code."""
    for target, fd in ((0, stdin), (1, stdout), (2, stderr)):
        os.dup2(fd, target)
        os.close(fd)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    import time

    time.tzset()
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
    # As a fresh interpreter's on a pipe or a file: standard output block-buffered (a
    # line the tests wait for must be flushed by the server, as for a real reader),
    # standard error line-buffered.
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr.reconfigure(line_buffering=True)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    from davserver import cli, clock

    clock._shift = clock._from_environment()
    clock._seconds = clock._shift.total_seconds()
    sys.argv = [cli.__file__, *argv]
    code: int | str | None = 1
    interrupted = False
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code
    except KeyboardInterrupt:  # SIGINT with Python's default handler
        interrupted = True
    finally:
        threading._shutdown()  # type: ignore[attr-defined]
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    if interrupted:  # die of the signal, as an interpreter does (exit code -2)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    sys.exit(code)


class ForkedProcess:
    """The part of :class:`subprocess.Popen` the tests use, for a command forked by
    :func:`start`: ``pid``, ``stdout`` (text, when asked for), ``returncode``,
    ``poll``, ``wait``, ``send_signal``, ``terminate``, ``kill``."""

    def __init__(self, process: Any, args: list[str], stdout: IO[str] | None) -> None:
        self._process = process
        self.args = args
        self.pid: int = process.pid
        self.stdout = stdout
        self.stderr = None
        self.stdin = None

    @property
    def returncode(self) -> int | None:
        code = self._process.exitcode
        return None if code is None else int(code)

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """The exit code, once the process has ended; raises
        :class:`subprocess.TimeoutExpired` after ``timeout`` seconds."""
        self._process.join(timeout)
        code = self.returncode
        if code is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        if self.stdout is not None and not self.stdout.closed:
            self.stdout.close()
        return code

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def start(argv: Sequence[str], env: dict[str, str], *, stderr: IO[Any],
          stdout_pipe: bool = True) -> ForkedProcess:
    """Start ``davserver ARGV`` (e.g. ``["serve", "--port", "0"]``) in a forked
    process with environment ``env``, its standard error into the open file
    ``stderr``, its standard input empty, and its standard output readable as text
    from the result's ``stdout`` (``stdout_pipe``; else discarded)."""
    context = _fork_context()
    devnull = os.open(os.devnull, os.O_RDWR)
    read_end = None
    if stdout_pipe:
        read_end, write_end = os.pipe()
    else:
        write_end = os.dup(devnull)
    try:
        process = context.Process(
            target=_run_command,
            args=(list(argv), dict(env), os.getcwd(), _Fd(devnull), _Fd(write_end),
                  _Fd(stderr.fileno())),
            daemon=True)
        process.start()
    finally:
        os.close(devnull)
        os.close(write_end)
    out = open(read_end, encoding="utf-8") if read_end is not None else None  # noqa: SIM115
    return ForkedProcess(process, ["davserver", *argv], out)


def run(argv: Sequence[str], env: dict[str, str], *, stdin: str | None = None,
        check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``subprocess.run([python, -m, davserver.cli, *argv], input=stdin, text=True,
    capture_output=True, env=env, check=check, timeout=timeout)``, forked (see the
    module docstring). Raises :class:`subprocess.CalledProcessError` (``check``) and
    :class:`subprocess.TimeoutExpired` as that call would."""
    args = [sys.executable, "-m", "davserver.cli", *argv]
    if not ENABLED:
        return subprocess.run(args, input=stdin, text=True, capture_output=True, env=env,
                              check=check, timeout=timeout)
    context = _fork_context()
    with tempfile.TemporaryFile() as given, tempfile.TemporaryFile() as out, \
            tempfile.TemporaryFile() as err:
        given.write((stdin or "").encode())
        given.flush()
        given.seek(0)
        process = context.Process(
            target=_run_command,
            args=(list(argv), dict(env), os.getcwd(), _Fd(given.fileno()), _Fd(out.fileno()),
                  _Fd(err.fileno())),
            daemon=True)
        process.start()
        process.join(timeout)
        if process.exitcode is None:
            process.kill()
            process.join()
            raise subprocess.TimeoutExpired(args, timeout)
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(
            args, int(process.exitcode), out.read().decode(errors="replace"),
            err.read().decode(errors="replace"))
    if check:
        done.check_returncode()
    return done
