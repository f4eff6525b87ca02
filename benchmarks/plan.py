"""What one benchmark run measures: sizes and counts (:class:`Plan`), and the figures
it reports with their units and the targets of issue 9 (:func:`figure_specs`)."""

from __future__ import annotations

from dataclasses import dataclass, field

MiB = 2**20
SERVERS = ("ours", "wsgidav", "apache", "bare", "bare_sql", "rclone", "nginx", "cluster")
SERVER_TITLES = {"ours": "ours", "wsgidav": "WsgiDAV", "apache": "Apache",
                 "bare": "bare cheroot", "bare_sql": "bare cheroot + SQLite",
                 "rclone": "rclone", "nginx": "nginx", "cluster": "cluster"}
DAV_SERVERS = ("ours", "wsgidav", "apache", "rclone", "cluster")
# nginx (files, PUT by its dav module) is the reference of the large transfers only.
BIG_FILE_SERVERS = (*DAV_SERVERS, "nginx")
# The small-request figures: every server but nginx (the bare references included).
SMALL_REQUEST_SERVERS = tuple(s for s in SERVERS if s != "nginx")
# Run by default: the single process and its references. The cluster (issue 21) and
# nginx start with --only (they need PostgreSQL, SeaweedFS and nginx).
DEFAULT_SERVERS = ("ours", "wsgidav", "apache", "bare", "bare_sql", "rclone")


@dataclass(frozen=True)
class Plan:
    """Sizes and counts of one run. Every loop is bounded by these numbers."""

    big_files: tuple[int, ...]  # bytes, each PUT then GET ``big_repeats`` times
    big_repeats: int
    small_puts: int  # files of the school mix (benchmarks.school_files) PUT into one folder
    put_clients: int  # concurrent clients for the small PUTs
    members: tuple[int, ...]  # PROPFIND Depth 1 collection sizes
    propfind_repeats: int
    wrk_connections: tuple[int, ...]
    wrk_seconds: int
    latency_depths: tuple[int, ...]
    latency_repeats: int
    morning_users: int = 60  # the school morning (benchmarks.morning): simulated users
    morning_spread: float = 10.0  # seconds over which they start
    morning_folder: int = 200  # files of the folder each one opens
    request_timeout: float = 120.0  # seconds, one request of the client


FULL = Plan(big_files=(64 * MiB, 256 * MiB), big_repeats=3, small_puts=1000,
            put_clients=8, members=(100, 1000, 10000), propfind_repeats=5,
            wrk_connections=(8, 32), wrk_seconds=10, latency_depths=(1, 5, 20),
            latency_repeats=50)
QUICK = Plan(big_files=(1 * MiB, 2 * MiB), big_repeats=1, small_puts=20,
             put_clients=4, members=(3, 20, 40), propfind_repeats=2,
             wrk_connections=(2, 4), wrk_seconds=1, latency_depths=(1, 3, 6),
             latency_repeats=3, morning_users=6, morning_spread=1.0,
             morning_folder=10, request_timeout=30.0)


def size_label(nbytes: int) -> str:
    return f"{nbytes // MiB}MiB" if nbytes % MiB == 0 else f"{nbytes}B"


@dataclass(frozen=True)
class Target:
    """``ours / reference`` must be ``>=`` (or ``<=``) ``ratio``; for ``bare`` the
    ratio is the fraction of the bare stack reached. ``absolute`` compares ours
    with a number in the figure's unit instead (reference ``None``)."""

    op: str  # ">=" or "<="
    ratio: float
    reference: str | None
    subject: str = "ours"  # whose figure is compared (issue 21: the cluster's)

    def met(self, ours: float, figures: dict[str, dict[str, float]], key: str) -> bool | None:
        """Is the target met by ``ours`` (the subject's figure)?"""
        if self.reference is None:
            value = ours
        else:
            ref = figures.get(self.reference, {}).get(key)
            if not ref:
                return None
            value = ours / ref
        return value >= self.ratio if self.op == ">=" else value <= self.ratio

    def text(self) -> str:
        who = "" if self.subject == "ours" else f"{SERVER_TITLES[self.subject]} "
        if self.reference is None:
            return f"{who}{self.op} {self.ratio:g}"
        return f"{who}{self.op} {self.ratio:g}× {SERVER_TITLES[self.reference]}"


@dataclass(frozen=True)
class FigureSpec:
    key: str
    label: str
    unit: str
    higher_is_better: bool
    servers: tuple[str, ...] = DAV_SERVERS
    targets: tuple[Target, ...] = field(default_factory=tuple)

    @property
    def phase(self) -> str:
        """The phase (:data:`benchmarks.measures.PHASES`) that measures this figure;
        ``""`` for the peak RSS, which every run measures."""
        for prefix, phase in _PHASE_OF:
            if self.key.startswith(prefix):
                return phase
        return ""


_PHASE_OF = (("get_latency", "latency"), ("put_", "big_files"), ("get_", "big_files"),
             ("small_puts", "small_puts"), ("propfind_", "collections"),
             ("move_", "collections"), ("delete_", "collections"),
             ("wrk_", "concurrent_gets"), ("morning_", "morning"))
# The school morning's steps (benchmarks.morning.STEPS) and the servers that run it.
MORNING_STEPS = {"sign_in": "sign-in (OPTIONS, argon2)",
                 "explorer_burst": "Explorer's burst (PROPFINDs, 404 probes)",
                 "open_folder": "open a folder", "download": "download a file",
                 "upload": "upload a file"}
MORNING_SERVERS = ("ours", "cluster")


def _last(values: tuple[int, ...], value: int) -> bool:
    return value == values[-1]


def figure_specs(plan: Plan) -> list[FigureSpec]:
    """Every figure of a run, in table order. Targets (issue 22, which replaced issue
    9's, and issue 21 for the cluster) sit on the largest size."""
    specs: list[FigureSpec] = []
    for size in plan.big_files:
        big = _last(plan.big_files, size)
        label = size_label(size)
        specs.append(FigureSpec(f"put_{label}", f"PUT {label}", "MiB/s", True,
                                servers=BIG_FILE_SERVERS))
        specs.append(FigureSpec(f"get_{label}", f"GET {label}", "MiB/s", True,
                                servers=BIG_FILE_SERVERS, targets=(
            (Target(">=", 0.6, "apache"),
             Target(">=", 0.8, "nginx", "cluster")) if big else ())))
    specs.append(FigureSpec("small_puts", f"{plan.small_puts} × PUT, school mix, "
                            f"{plan.put_clients} clients", "files/s", True,
                            servers=SMALL_REQUEST_SERVERS,
                            targets=(Target(">=", 0.8, "bare"),)))
    for members in plan.members:
        big = _last(plan.members, members)
        for mode in ("allprop", "rclone"):
            specs.append(FigureSpec(
                f"propfind_{mode}_{members}", f"PROPFIND Depth 1, {members} members, {mode}",
                "ms", False, targets=(
                    (Target("<=", 0.25, "wsgidav"), Target("<=", 1.5, "apache"))
                    if big else ())))
    specs.append(FigureSpec(f"propfind_rss_growth_{plan.members[-1]}",
                            f"RSS growth during PROPFIND {plan.members[-1]}", "MiB", False,
                            targets=(Target("<=", 64, None),)))
    for conns in plan.wrk_connections:
        first = conns == plan.wrk_connections[0]
        cluster = (Target(">=", 1.0, "rclone", "cluster"),) if not first else ()
        specs.append(FigureSpec(f"wrk_rps_{conns}", f"GET 4 KiB, {conns} connections", "req/s",
                                True, servers=SMALL_REQUEST_SERVERS,
                                targets=((Target(">=", 0.5, "bare"),) if first else ())
                                + cluster))
        specs.append(FigureSpec(f"wrk_p99_{conns}", f"GET 4 KiB p99, {conns} connections", "ms",
                                False, servers=SMALL_REQUEST_SERVERS,
                                targets=(Target("<=", 2, "bare"),) if first else ()))
    specs.append(FigureSpec("move_collection", f"MOVE collection of {plan.small_puts} files",
                            "ms", False, targets=(Target("<=", 1.5, "apache"),)))
    specs.append(FigureSpec("delete_collection", f"DELETE collection of {plan.small_puts} files",
                            "ms", False, targets=(Target("<=", 2, "apache"),)))
    for depth in plan.latency_depths:
        specs.append(FigureSpec(f"get_latency_depth_{depth}", f"GET latency, path depth {depth}",
                                "ms", False))
    users = f"{plan.morning_users} users in {plan.morning_spread:g} s"
    for step, title in MORNING_STEPS.items():
        for name in ("p50", "p95", "p99"):
            specs.append(FigureSpec(
                f"morning_{step}_{name}", f"morning, {users}: {title}, {name}", "ms", False,
                servers=MORNING_SERVERS,
                targets=(Target("<=", 1000, None),) if name == "p95" else ()))
    specs.append(FigureSpec("morning_errors", f"morning, {users}: errors", "count", False,
                            servers=MORNING_SERVERS, targets=(Target("<=", 0, None),)))
    specs.append(FigureSpec("peak_rss", "peak RSS over the run", "MiB", False,
                            targets=(Target("<=", 120, None),)))
    return specs
