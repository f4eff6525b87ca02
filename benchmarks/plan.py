"""What one benchmark run measures: sizes and counts (:class:`Plan`), and the figures
it reports with their units and the targets of issue 9 (:func:`figure_specs`)."""

from __future__ import annotations

from dataclasses import dataclass, field

MiB = 2**20
SERVERS = ("ours", "wsgidav", "apache", "bare", "rclone", "nginx", "cluster")
SERVER_TITLES = {"ours": "ours", "wsgidav": "WsgiDAV", "apache": "Apache",
                 "bare": "bare cheroot", "rclone": "rclone", "nginx": "nginx",
                 "cluster": "cluster"}
DAV_SERVERS = ("ours", "wsgidav", "apache", "rclone", "cluster")
# nginx (files, PUT by its dav module) is the reference of the large transfers only.
BIG_FILE_SERVERS = (*DAV_SERVERS, "nginx")
# The small-request figures: every server but nginx (bare cheroot included).
SMALL_REQUEST_SERVERS = tuple(s for s in SERVERS if s != "nginx")
# Run by default: the single process and its references. The cluster (issue 21) and
# nginx start with --only (they need PostgreSQL, SeaweedFS and nginx).
DEFAULT_SERVERS = ("ours", "wsgidav", "apache", "bare", "rclone")


@dataclass(frozen=True)
class Plan:
    """Sizes and counts of one run. Every loop is bounded by these numbers."""

    big_files: tuple[int, ...]  # bytes, each PUT then GET ``big_repeats`` times
    big_repeats: int
    small_puts: int  # files of ``small_size`` bytes PUT into one collection
    small_size: int  # bytes
    put_clients: int  # concurrent clients for the small PUTs
    members: tuple[int, ...]  # PROPFIND Depth 1 collection sizes
    propfind_repeats: int
    wrk_connections: tuple[int, ...]
    wrk_seconds: int
    latency_depths: tuple[int, ...]
    latency_repeats: int
    request_timeout: float = 120.0  # seconds, one request of the client


FULL = Plan(big_files=(64 * MiB, 256 * MiB), big_repeats=3, small_puts=1000, small_size=4096,
            put_clients=8, members=(100, 1000, 10000), propfind_repeats=5,
            wrk_connections=(8, 32), wrk_seconds=10, latency_depths=(1, 5, 20),
            latency_repeats=50)
QUICK = Plan(big_files=(1 * MiB, 2 * MiB), big_repeats=1, small_puts=20, small_size=4096,
             put_clients=4, members=(3, 20, 40), propfind_repeats=2,
             wrk_connections=(2, 4), wrk_seconds=1, latency_depths=(1, 3, 6),
             latency_repeats=3, request_timeout=30.0)


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


def _last(values: tuple[int, ...], value: int) -> bool:
    return value == values[-1]


def figure_specs(plan: Plan) -> list[FigureSpec]:
    """Every figure of a run, in table order. Targets (issue 9, and issue 21 for the
    cluster) sit on the largest size."""
    specs: list[FigureSpec] = []
    for size in plan.big_files:
        big = _last(plan.big_files, size)
        label = size_label(size)
        specs.append(FigureSpec(f"put_{label}", f"PUT {label}", "MiB/s", True,
                                servers=BIG_FILE_SERVERS, targets=(
            (Target(">=", 1.5, "wsgidav"),) if big else ())))
        specs.append(FigureSpec(f"get_{label}", f"GET {label}", "MiB/s", True,
                                servers=BIG_FILE_SERVERS, targets=(
            (Target(">=", 4, "wsgidav"), Target(">=", 0.6, "apache"),
             Target(">=", 0.8, "nginx", "cluster")) if big else ())))
    specs.append(FigureSpec("small_puts", f"{plan.small_puts} × PUT {plan.small_size} B, "
                            f"{plan.put_clients} clients", "files/s", True,
                            servers=SMALL_REQUEST_SERVERS,
                            targets=(Target(">=", 2, "wsgidav"),)))
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
                                targets=(Target(">=", 2, "wsgidav"), Target(">=", 0.6, "bare"),
                                         *cluster)))
        specs.append(FigureSpec(f"wrk_p99_{conns}", f"GET 4 KiB p99, {conns} connections", "ms",
                                False, servers=SMALL_REQUEST_SERVERS,
                                targets=(Target("<=", 15, None),) if first else ()))
    specs.append(FigureSpec("move_collection", f"MOVE collection of {plan.small_puts} files",
                            "ms", False, targets=(Target("<=", 1, "apache"),)))
    specs.append(FigureSpec("delete_collection", f"DELETE collection of {plan.small_puts} files",
                            "ms", False, targets=(Target("<=", 2, "apache"),)))
    for depth in plan.latency_depths:
        specs.append(FigureSpec(f"get_latency_depth_{depth}", f"GET latency, path depth {depth}",
                                "ms", False))
    specs.append(FigureSpec("peak_rss", "peak RSS over the run", "MiB", False,
                            targets=(Target("<=", 150, None),)))
    return specs
