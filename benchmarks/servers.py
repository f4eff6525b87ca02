"""Start one server of the benchmark, fresh and empty, on a free loopback port; stop
it by PID. Each launcher is a context manager yielding a :class:`Running`."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .client import Endpoint

REPO = Path(__file__).resolve().parent.parent
LOGIN = "bench"
PASSWORD = "bench-password-42"
THREADS = 50  # our default server.threads; the references get the same
APACHE_MODULES = Path("/usr/lib/apache2/modules")


@dataclass
class Running:
    name: str
    endpoint: Endpoint
    pid: int
    # Our servers' environment (DAVSERVER_*), for the morning's set-up; None for others.
    env: dict[str, str] | None = None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path,
                   timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"server not listening on {port} after {timeout} s:\n{log.read_text()}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


@contextmanager
def _process(command: list[str], log: Path, port: int,
             env: dict[str, str] | None = None, start_timeout: float = 30.0,
             ) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "ab") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env,
                                cwd=REPO)
    try:
        _wait_for_port(port, proc, log, start_timeout)
        yield proc
    finally:
        _stop(proc)


def _our_env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAVSERVER_")}
    env.update({"DAVSERVER_DATA_DIR": str(data), "DAVSERVER_CONFIG": str(REPO / "config.yaml"),
                "DAVSERVER_LOGGING__LEVEL": "WARNING"})
    return env


@contextmanager
def ours(tmp: Path) -> Iterator[Running]:
    """``davserver serve`` on SQLite and local blobs, its shipped config.yaml; one user
    made with the CLI, whose quota is raised so the big files fit."""
    data = tmp / "ours"
    env = _our_env(data)
    cli = [sys.executable, "-m", "davserver.cli"]
    subprocess.run([*cli, "user", "add", LOGIN, "--profile", "teacher", "--password-stdin"],
                   input=PASSWORD + "\n", text=True, env=env, check=True, capture_output=True)
    subprocess.run([*cli, "quota", "set", LOGIN, "64GiB"], text=True, env=env, check=True,
                   capture_output=True)
    port = free_port()
    serve = [*cli, "serve", "--host", "127.0.0.1", "--port", str(port)]
    traced = os.environ.get("DAVBENCH_TRACEMALLOC")  # benchmarks.memtrace: a folder
    if traced:
        serve = [sys.executable, "-m", "benchmarks.memtrace", traced, *serve[3:]]
    with _process(serve, tmp / "ours.log", port, env, 300.0 if traced else 30.0) as proc:
        if traced:
            os.kill(proc.pid, signal.SIGUSR1)  # the snapshot at rest
        base = f"http://127.0.0.1:{port}/dav/porte-documents/"
        yield Running("ours", Endpoint(base, LOGIN, PASSWORD), proc.pid, env)


@contextmanager
def wsgidav(tmp: Path) -> Iterator[Running]:
    """WsgiDAV 4.4 FilesystemProvider on cheroot (see :mod:`benchmarks.refapps`)."""
    root = tmp / "wsgidav-root"
    root.mkdir()
    port = free_port()
    command = [sys.executable, "-m", "benchmarks.refapps", "wsgidav", str(root), str(port),
               LOGIN, PASSWORD, str(THREADS)]
    with _process(command, tmp / "wsgidav.log", port) as proc:
        yield Running("wsgidav", Endpoint(f"http://127.0.0.1:{port}/", LOGIN, PASSWORD),
                      proc.pid)


@contextmanager
def bare(tmp: Path) -> Iterator[Running]:
    """cheroot answering every GET with 4 KiB and every PUT after a durable write to
    a temporary folder (:mod:`benchmarks.refapps`), same thread count as ours."""
    port = free_port()
    command = [sys.executable, "-m", "benchmarks.refapps", "bare", str(port), str(THREADS),
               str(tmp / "bare-files")]
    with _process(command, tmp / "bare.log", port) as proc:
        yield Running("bare", Endpoint(f"http://127.0.0.1:{port}/", LOGIN, PASSWORD),
                      proc.pid)


@contextmanager
def bare_sql(tmp: Path) -> Iterator[Running]:
    """The bare application plus one SQLite SELECT per GET and one SQLite write
    transaction per PUT (:func:`benchmarks.refapps.bare_sql_app`), same thread count."""
    from .measures import SMALL_FILE

    port = free_port()
    command = [sys.executable, "-m", "benchmarks.refapps", "bare_sql", str(port),
               str(THREADS), str(tmp / "bare-sql-files"), f"/{SMALL_FILE}"]
    with _process(command, tmp / "bare_sql.log", port) as proc:
        yield Running("bare_sql", Endpoint(f"http://127.0.0.1:{port}/", LOGIN, PASSWORD),
                      proc.pid)


APACHE_CONF = """\
ServerRoot "{root}"
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile "{root}/httpd.pid"
ErrorLog "{root}/error.log"
LogLevel warn
{user}
LoadModule mpm_event_module {modules}/mod_mpm_event.so
LoadModule authn_core_module {modules}/mod_authn_core.so
LoadModule authn_file_module {modules}/mod_authn_file.so
LoadModule authz_core_module {modules}/mod_authz_core.so
LoadModule authz_user_module {modules}/mod_authz_user.so
LoadModule auth_basic_module {modules}/mod_auth_basic.so
LoadModule mime_module {modules}/mod_mime.so
LoadModule dav_module {modules}/mod_dav.so
LoadModule dav_fs_module {modules}/mod_dav_fs.so
TypesConfig /etc/mime.types
DocumentRoot "{data}"
DavLockDB "{root}/lock/DavLock"
<Directory "{data}">
    Dav On
    AuthType Basic
    AuthName "bench"
    AuthUserFile "{root}/htpasswd"
    Require valid-user
</Directory>
"""


def apache_available() -> bool:
    return shutil.which("apache2") is not None and (APACHE_MODULES / "mod_dav_fs.so").exists()


@contextmanager
def apache(tmp: Path) -> Iterator[Running]:
    """Apache 2.4 mod_dav_fs, a private config in ``tmp``, in the foreground (Debian
    ``apache2``). As root it serves as ``www-data``, which then owns its files."""
    root = tmp / "apache"
    data = root / "data"
    (root / "lock").mkdir(parents=True)
    data.mkdir()
    digest = base64.b64encode(hashlib.sha1(PASSWORD.encode()).digest()).decode()
    (root / "htpasswd").write_text(f"{LOGIN}:{{SHA}}{digest}\n")
    user = ""
    if os.geteuid() == 0:
        user = "User www-data\nGroup www-data"
        for path in (tmp, root):
            path.chmod(0o755)
        for path in (data, root / "lock"):
            shutil.chown(path, "www-data", "www-data")
    port = free_port()
    conf = root / "httpd.conf"
    conf.write_text(APACHE_CONF.format(root=root, port=port, data=data, user=user,
                                       modules=APACHE_MODULES))
    command = ["apache2", "-f", str(conf), "-d", str(root), "-DFOREGROUND"]
    with _process(command, tmp / "apache.log", port) as proc:
        yield Running("apache", Endpoint(f"http://127.0.0.1:{port}/", LOGIN, PASSWORD),
                      proc.pid)


@contextmanager
def rclone(tmp: Path) -> Iterator[Running]:
    """``rclone serve webdav`` of a local folder (Debian's rclone, its defaults), with
    Basic auth."""
    root = tmp / "rclone-root"
    root.mkdir()
    port = free_port()
    command = ["rclone", "serve", "webdav", str(root), "--addr", f"127.0.0.1:{port}",
               "--user", LOGIN, "--pass", PASSWORD, "--config", "/dev/null"]
    with _process(command, tmp / "rclone.log", port) as proc:
        yield Running("rclone", Endpoint(f"http://127.0.0.1:{port}/", LOGIN, PASSWORD),
                      proc.pid)


NGINX_CONF = """\
{user}
worker_processes 2;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    sendfile on;
    tcp_nopush on;
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 0;
        location / {{
            root {data};
            dav_methods PUT DELETE MKCOL COPY MOVE;
            create_full_put_path on;
            auth_basic "bench";
            auth_basic_user_file {root}/htpasswd;
        }}
    }}
}}
"""


@contextmanager
def nginx(tmp: Path) -> Iterator[Running]:
    """nginx serving files from a folder (sendfile), PUT through its dav module: the
    reference of large GETs handed over by the cluster (only the big-file phase)."""
    root = tmp / "nginx"
    data = root / "data"
    data.mkdir(parents=True)
    digest = base64.b64encode(hashlib.sha1(PASSWORD.encode()).digest()).decode()
    (root / "htpasswd").write_text(f"{LOGIN}:{{SHA}}{digest}\n")
    port = free_port()
    conf = root / "nginx.conf"
    conf.write_text(NGINX_CONF.format(root=root, data=data, port=port,
                                      user="user root;" if os.geteuid() == 0 else ""))
    command = ["nginx", "-p", str(root), "-c", str(conf), "-e", str(root / "error.log"),
               "-g", "daemon off;"]
    with _process(command, tmp / "nginx.log", port) as proc:
        yield Running("nginx", Endpoint(f"http://127.0.0.1:{port}/", LOGIN, PASSWORD),
                      proc.pid)


@contextmanager
def cluster(tmp: Path) -> Iterator[Running]:
    """``deploy/local-cluster``: two ``davserver serve`` processes behind nginx, on
    PostgreSQL and SeaweedFS (S3), large downloads handed to nginx. The memory figures
    are those of the first server process."""
    from deploy import local_cluster as lc

    directory = tmp / "cluster"
    state = lc.up(directory, processes=2, blobs="s3")
    try:
        env = state.env()
        cli = lc.davserver_command()
        subprocess.run([*cli, "user", "add", LOGIN, "--profile", "teacher",
                        "--password-stdin"], input=PASSWORD + "\n", text=True, env=env,
                       check=True, capture_output=True, cwd=REPO)
        subprocess.run([*cli, "quota", "set", LOGIN, "64GiB"], text=True, env=env,
                       check=True, capture_output=True, cwd=REPO)
        yield Running("cluster", Endpoint(f"{state.url}/dav/porte-documents/", LOGIN,
                                          PASSWORD), state.parts["davserver-1"].pid, env)
    finally:
        lc.down(directory)
        shutil.rmtree(state.pg_dir, ignore_errors=True)


LAUNCHERS = {"ours": ours, "wsgidav": wsgidav, "apache": apache, "bare": bare,
             "bare_sql": bare_sql,
             "rclone": rclone, "nginx": nginx, "cluster": cluster}


def scratch_dir() -> Path:
    """A new temporary directory for one run (readable by Apache's ``www-data``)."""
    path = Path(tempfile.mkdtemp(prefix="davbench-"))
    path.chmod(0o755)
    return path
