"""Quota accounting under random operations: a stateful property test (hypothesis)
against the REAL store — a real database and a real blob directory, no mock.

Issue 3, "Consistency": random PUTs of random sizes (new files and overwrites, of
known size with a reservation first, or of unknown size charged at commit),
uploads that fail midway, DELETE, MKCOL, COPY and MOVE within and across spaces,
limits lowered and raised. A plain Python model (path → bytes, ``None`` for a
folder) predicts every outcome; after EVERY step the invariants check that

* the ledger's used bytes = the sum of the file sizes found in the store = the model;
* no byte stays reserved between operations, and no upload lease;
* used <= limit, unless the limit was lowered below the usage, and then the usage
  has not grown since;
* every file reads back the model's bytes (size and SHA-1 etag agree);
* the blob directory holds exactly the referenced blobs, no unfinished upload;

and every refused operation (507, 409, 403) is checked to have changed nothing
(nodes, etags, blobs on disk, ledger). Each example ends with a clean ``fsck``.

Spaces: three documents spaces of three real users (created once with
``acl.create_user`` in a template database copied for every example, since one
argon2 hash costs about a second), with limits of a few KB so that they are hit.

Size and run time: 60 examples of up to 40 steps; about 1,700-2,000 operations in
all (at least 1,000 asserted). Measured on the 2-CPU development container: 20-30 s
on SQLite, about 50 s on PostgreSQL (when ``DAVSERVER_DATABASE_URL`` is set, the test
runs there instead, on a fresh database per example: CREATE DATABASE ... TEMPLATE).
A failure then shrinks for up to a few minutes (hypothesis's own limit) to a minimal
sequence of steps, printed with the ``@reproduce_failure`` blob.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select, text

import acl
import quotas
from davserver.db import Database
from davserver.errors import Conflict, DomainError, Forbidden, InsufficientStorage
from providers import LocalBlobStore, NodeInfo, Store, fsck
from providers.models import Blob, FileVersion, Node
from quotas import UploadLease
from quotas.ledger import SpaceUsage
from tests.conftest import BACKENDS, PG_URL, _pg_admin, drop_database, fresh_database_url
from tests.unit.conftest import destroy

# --- the world --------------------------------------------------------------------

KIB = 1024
# Defaults of this test's policy: a student's documents space gets 5,120 bytes, any
# other documents space 8,192 bytes, unless an explicit limit is set.
POLICY = quotas.QuotaPolicy(documents=8 * KIB, profiles={"student": 5 * KIB})
# login, profile, explicit limit at creation (None: the policy's default)
USERS: list[tuple[str, str, int | None]] = [
    ("qm-alice", "teacher", 4 * KIB),
    ("qm-bob", "student", None),
    ("qm-carol", "teacher", 6 * KIB),
]
# Candidate paths: any may become a file or a folder; nested ones need a parent.
# (``/d`` and ``/dd``: a path prefix that is not a parent; ``é``: a non-ASCII name,
# for the substr() arithmetic of subtree moves)
TOP = ["/a", "/b", "/d", "/dd", "/é"]
NESTED = ["/d/a", "/d/é", "/d/é/a", "/é/a", "/é/d"]
PATHS = TOP + NESTED
MAX_PUT = int(POLICY.documents * 0.6)  # 0 .. 60% of the largest default limit

EXAMPLES = 60
STEPS = 40
MIN_STEPS_IN_ALL = 1000

SPACE = st.integers(0, len(USERS) - 1)
PATH = st.one_of(st.sampled_from(TOP), st.sampled_from(PATHS))  # top level more often
# small files, any size, and large ones (which fill a space in two or three PUTs)
SIZE = st.one_of(st.integers(0, 64), st.integers(0, MAX_PUT), st.integers(MAX_PUT // 2, MAX_PUT))
SEED = st.integers(0, 2**16)
PICK = st.integers(0, 10**6)  # index (modulo) into the existing nodes of a space
LIMIT = st.one_of(st.none(), st.integers(0, 12 * KIB))

Model = dict[str, bytes | None]  # path → content, None for a folder; root implicit


def parent_of(path: str) -> str:
    return path.rsplit("/", 1)[0]


def in_subtree(path: str, top: str) -> bool:
    return path == top or path.startswith(top + "/")


def subtree(model: Model, top: str) -> list[str]:
    return [p for p in model if in_subtree(p, top)]


def size_of(model: Model, paths: list[str] | None = None) -> int:
    keys = model.keys() if paths is None else paths
    return sum(len(v) for p in keys if (v := model[p]) is not None)


def is_folder(model: Model, path: str) -> bool:
    return path == "" or (path in model and model[path] is None)


def content(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


# --- fresh databases: a template with the users, copied for every example ----------


@dataclass
class Environment:
    """Makes a fresh database (with the template's users) for each example."""

    backend: str
    workdir: Path
    template: str  # SQLite file path, or PostgreSQL database name
    user_ids: list[int]
    examples: int = 0
    steps: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)  # "verb status" → count

    def fresh(self) -> tuple[Database, Callable[[], None]]:
        self.examples += 1
        if self.backend == "sqlite":
            path = self.workdir / f"ex{self.examples}.sqlite3"
            shutil.copyfile(self.template, path)
            db = Database(f"sqlite:///{path}")

            def cleanup() -> None:
                db.dispose()
                for suffix in ("", "-wal", "-shm"):
                    Path(str(path) + suffix).unlink(missing_ok=True)
            return db, cleanup
        name = "davtest_" + uuid.uuid4().hex[:12]
        _pg_admin(PG_URL, f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        db = Database(PG_URL.rpartition("/")[0] + "/" + name)

        def cleanup_pg() -> None:
            db.dispose()
            drop_database(name)
        return db, cleanup_pg


def _make_users(db: Database) -> list[int]:
    ids = []
    with db.transaction() as s:
        for login, profile, _limit in USERS:
            ids.append(acl.create_user(s, login, "model-password-1", profile).id)
    return ids


@pytest.fixture(params=BACKENDS)
def environment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Environment]:
    if request.param == "sqlite":
        path = tmp_path / "template.sqlite3"
        db = Database(f"sqlite:///{path}")
        db.create_schema()
        ids = _make_users(db)
        with db.engine.connect() as conn:  # everything into the main file, then copy it
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.dispose()
        yield Environment("sqlite", tmp_path, str(path), ids)
        return
    url, name = fresh_database_url(tmp_path)
    assert url is not None and name is not None
    db = Database(url)
    db.create_schema()
    ids = _make_users(db)
    db.dispose()
    try:
        yield Environment("postgresql", tmp_path, name, ids)
    finally:
        drop_database(name)


# --- the state machine ---------------------------------------------------------------


class QuotaMachine(RuleBasedStateMachine):
    """Three documents spaces, the store, and the model of what they must hold."""

    env: ClassVar[Environment]

    def __init__(self) -> None:
        super().__init__()
        self.db, self._cleanup = self.env.fresh()
        self.blob_root = Path(tempfile.mkdtemp(prefix="blobs-", dir=self.env.workdir))
        self.store = Store(self.db, LocalBlobStore(self.blob_root), POLICY)
        self.space_ids: list[int] = []
        self.roots: list[NodeInfo] = []
        self.profiles: list[str] = []
        self.explicit: list[int | None] = []
        self.models: list[Model] = []
        # While a space is over its limit (only after a limit was lowered below its
        # usage), the usage it may not exceed: it can only shrink.
        self.cap: list[int | None] = []

    @initialize()
    def create_spaces(self) -> None:
        for (_login, profile, limit), user_id in zip(USERS, self.env.user_ids, strict=True):
            space = self.store.ensure_space("documents", owner_id=user_id, profile=profile,
                                            limit_bytes=limit)
            self.space_ids.append(space.id)
            root = self.store.resolve(space.id, "")
            assert root is not None
            self.roots.append(root)
            self.profiles.append(profile)
            self.explicit.append(limit)
            self.models.append({})
            self.cap.append(None)

    def teardown(self) -> None:
        try:
            if self.space_ids:
                self.check_through_the_store_api()
                report = fsck(self.store)
                assert report.clean, report.lines()
        finally:
            self._cleanup()
            shutil.rmtree(self.blob_root, ignore_errors=True)

    def check_through_the_store_api(self) -> None:
        """What the DAV layer sees (``usage``, ``descendants``, ``open``) agrees with the
        model. (The per-step invariant reads the same rows in fewer queries.)"""
        for i, sid in enumerate(self.space_ids):
            figures = self.store.usage(sid)
            assert figures is not None
            assert (figures.used, figures.reserved, figures.limit) == (
                self.used(i), 0, self.limit(i))
            files = {}
            for node in self.store.descendants(self.roots[i]):
                if not node.is_collection:
                    with self.store.open(node) as f:
                        files[node.path] = f.read()
            assert files == {p: v for p, v in self.models[i].items() if v is not None}

    # --- model helpers ---------------------------------------------------------------

    def limit(self, i: int) -> int:
        explicit = self.explicit[i]
        return explicit if explicit is not None else POLICY.default_limit("documents",
                                                                         self.profiles[i])

    def used(self, i: int) -> int:
        return size_of(self.models[i])

    def pick(self, i: int, index: int) -> str | None:
        paths = sorted(self.models[i])
        return paths[index % len(paths)] if paths else None

    def snapshot(self) -> Any:
        """Everything a refused operation must leave as it was: every node row, every
        ledger row, every blob row and every file under the blob directory; but for
        blobs only versions hold (issue 23): a reservation makes room by purging the
        oldest versions, as it purges the trash, whatever becomes of the upload."""
        with self.db.transaction(write=False) as s:
            nodes = s.execute(select(Node.id, Node.space_id, Node.parent_id, Node.path,
                                     Node.is_collection, Node.size, Node.etag, Node.blob_id,
                                     Node.modified).order_by(Node.id)).all()
            ledger = s.execute(select(SpaceUsage.space_id, SpaceUsage.used_bytes,
                                      SpaceUsage.reserved_bytes, SpaceUsage.limit_bytes)
                               .order_by(SpaceUsage.space_id)).all()
            in_nodes = set(s.scalars(select(Node.blob_id).where(Node.blob_id.is_not(None))))
            versions_only = {key for blob_id, key in s.execute(
                select(Blob.id, Blob.key).join(FileVersion, FileVersion.blob_id == Blob.id))
                if blob_id not in in_nodes}
            blobs = [row for row in s.execute(select(Blob.id, Blob.key).order_by(Blob.id))
                     if row[1] not in versions_only]
            leases = s.execute(select(UploadLease.id)).all()
        files = {str(p.relative_to(self.blob_root)) for p in self.blob_root.rglob("*")
                 if p.is_file() and p.name not in versions_only}
        return nodes, ledger, blobs, leases, files

    def attempt(self, label: str, expected: type[DomainError] | None,
                action: Callable[[], Any]) -> bool:
        """Run ``action``; it must succeed (``expected`` None) or raise exactly
        ``expected`` and then have changed nothing. Returns True on success."""
        self.env.steps += 1
        verb = label.split(" ")[0]
        # A refusal must change nothing: compare with a snapshot taken before. (An
        # unexpected refusal or success fails anyway.)
        before = self.snapshot() if expected is not None else None
        try:
            action()
        except DomainError as exc:
            key = f"{verb} {exc.status}"
            self.env.outcomes[key] = self.env.outcomes.get(key, 0) + 1
            assert expected is not None, (
                f"{label}: refused with {exc.status} ({exc.message}); the model expected "
                f"success")
            assert type(exc) is expected, (
                f"{label}: refused with {type(exc).__name__} {exc.status} ({exc.message}); "
                f"the model expected {expected.__name__}")
            after = self.snapshot()
            assert after == before, f"{label}: refused ({exc.status}) but changed something"
            self.env.refused[expected.__name__] = self.env.refused.get(expected.__name__, 0) + 1
            return False
        self.env.outcomes[f"{verb} ok"] = self.env.outcomes.get(f"{verb} ok", 0) + 1
        assert expected is None, (
            f"{label}: succeeded; the model expected {expected.__name__}")
        return True

    def growth_refused(self, i: int, removed: int, added: int) -> bool:
        """COPY/MOVE into space ``i``: the destination's subtree (``removed`` bytes) is
        replaced by ``added`` bytes. Refused only for net growth that would end above
        the limit, the same rule as an overwrite by PUT: in a space whose limit was
        lowered below its usage, replacing a file by one no larger is accepted."""
        return added > removed and self.used(i) - removed + added > self.limit(i)

    # --- rules -----------------------------------------------------------------------

    def _put_known_size(self, i: int, path: str, size: int, seed: int, whole: bool) -> None:
        """PUT with a Content-Length: reserve, stream, commit releasing the reservation.
        ``whole``: reserve the whole size; else only the growth over the old file, as
        the DAV layer's ``begin_write`` does."""
        model, sid, data = self.models[i], self.space_ids[i], content(size, seed)
        old = model.get(path)
        held = size if whole else max(0, size - (len(old) if old is not None else 0))
        expected: type[DomainError] | None = None
        if held > 0 and self.used(i) + held > self.limit(i):
            expected = InsufficientStorage  # before the body is read
        elif not is_folder(model, parent_of(path)) or is_folder(model, path):
            expected = Conflict

        def action() -> None:
            reserved = self.store.reserve(sid, held)
            writer = self.store.new_writer(reserved)
            for k in range(0, len(data), 1000):
                writer.write(data[k:k + 1000])
            self.store.commit_write(sid, path, writer.finish(), reserved=reserved)

        label = f"PUT {size} bytes (holding {held}) at space {i}:{path}"
        if self.attempt(label, expected, action):
            model[path] = data

    def _put_unknown_size(self, i: int, path: str, size: int, seed: int) -> None:
        """Chunked PUT: nothing reserved; the real size is charged at commit."""
        model, sid, data = self.models[i], self.space_ids[i], content(size, seed)
        old = model.get(path)
        delta = size - (len(old) if old is not None else 0)
        expected: type[DomainError] | None = None
        if not is_folder(model, parent_of(path)) or is_folder(model, path):
            expected = Conflict
        elif delta > 0 and self.used(i) + delta > self.limit(i):
            expected = InsufficientStorage

        def action() -> None:
            writer = self.store.new_writer()
            writer.write(data)
            self.store.commit_write(sid, path, writer.finish(), reserved=0)

        if self.attempt(f"chunked PUT {size} bytes at space {i}:{path}", expected, action):
            model[path] = data

    @rule(i=SPACE, path=PATH, size=SIZE, seed=SEED, whole=st.booleans())
    def put_known_size(self, i: int, path: str, size: int, seed: int, whole: bool) -> None:
        self._put_known_size(i, path, size, seed, whole)

    @rule(i=SPACE, path=PATH, size=SIZE, seed=SEED)
    def put_unknown_size(self, i: int, path: str, size: int, seed: int) -> None:
        self._put_unknown_size(i, path, size, seed)

    @rule(i=SPACE, path=PATH, over=st.sampled_from([0, 1]),
          how=st.sampled_from(["whole", "growth", "chunked"]), seed=SEED)
    def put_to_the_limit(self, i: int, path: str, over: int, how: str, seed: int) -> None:
        """The boundary: a PUT of exactly what is left (accepted), or one byte more
        (refused). Unless the whole size is reserved, an overwrite has the old file's
        bytes on top."""
        left = self.limit(i) - self.used(i)
        old = self.models[i].get(path)
        if how != "whole" and old is not None:
            left += len(old)
        if left + over < 0:
            return  # the limit was lowered below the usage
        if how == "chunked":
            self._put_unknown_size(i, path, left + over, seed)
        else:
            self._put_known_size(i, path, left + over, seed, how == "whole")

    @rule(i=SPACE, size=SIZE, part=st.floats(0, 1), seed=SEED)
    def upload_fails_midway(self, i: int, size: int, part: float, seed: int) -> None:
        """The client goes away: part of the body written, blob aborted, bytes released."""
        sid = self.space_ids[i]
        data = content(size, seed)[: int(size * part)]
        expected = (InsufficientStorage
                    if size > 0 and self.used(i) + size > self.limit(i) else None)
        def action() -> None:
            reserved = self.store.reserve(sid, size)
            writer = self.store.new_writer(reserved)
            writer.write(data)
            writer.abort()
            self.store.release(sid, reserved)

        before = self.snapshot()
        self.attempt(f"upload of {size} bytes dying after {len(data)}", expected, action)
        assert self.snapshot() == before, "a failed upload left something behind"

    @precondition(lambda self: any(self.models))
    @rule(i=SPACE, index=PICK)
    def delete(self, i: int, index: int) -> None:
        path = self.pick(i, index)
        if path is None:
            return
        node = self.store.resolve(self.space_ids[i], path)
        assert node is not None, f"space {i}:{path} is in the model, not in the store"
        # DELETE keeps the item in the trash, still counted; emptying the trash frees
        # it (the trash itself has its own model test, tests/unit/test_trash_model.py).
        if self.attempt(f"DELETE space {i}:{path} and empty", None,
                        lambda: destroy(self.store, node)):
            for p in subtree(self.models[i], path):
                del self.models[i][p]

    @rule(i=SPACE, path=PATH)
    def mkcol(self, i: int, path: str) -> None:
        model = self.models[i]
        expected = (Conflict if not is_folder(model, parent_of(path)) or path in model
                    else None)
        if self.attempt(f"MKCOL space {i}:{path}", expected,
                        lambda: self.store.make_collection(self.space_ids[i], path)):
            model[path] = None

    def _transfer(self, verb: str, i: int, index: int, j: int, dst: str,
                  recursive: bool) -> None:
        """COPY (``recursive``: Depth infinity) or MOVE of a node of space ``i`` to
        ``dst`` in space ``j``, replacing what is there."""
        src_path = self.pick(i, index)
        if src_path is None:
            return
        src_model, dst_model = self.models[i], self.models[j]
        node = self.store.resolve(self.space_ids[i], src_path)
        assert node is not None, f"space {i}:{src_path} is in the model, not in the store"
        if verb == "COPY" and not (recursive and src_model[src_path] is None):
            moving = [src_path]
        else:
            moving = subtree(src_model, src_path)
        removed = subtree(dst_model, dst)
        expected: type[DomainError] | None = None
        if i == j and (in_subtree(src_path, dst) or in_subtree(dst, src_path)):
            expected = Forbidden
        elif not is_folder(dst_model, parent_of(dst)):
            expected = Conflict
        elif (verb == "COPY" or i != j) and self.growth_refused(
                j, size_of(dst_model, removed), size_of(src_model, moving)):
            expected = InsufficientStorage

        def action() -> None:
            if verb == "COPY":
                self.store.copy(node, self.space_ids[j], dst, recursive=recursive)
            else:
                self.store.move(node, self.space_ids[j], dst)

        depth = "" if verb == "MOVE" else (" Depth infinity" if recursive else " Depth 0")
        label = f"{verb}{depth} space {i}:{src_path} -> space {j}:{dst}"
        if not self.attempt(label, expected, action):
            return
        moved = {dst + p[len(src_path):]: src_model[p] for p in moving}
        if verb == "MOVE":
            for p in moving:
                del src_model[p]
        for p in removed:
            dst_model.pop(p, None)
        dst_model.update(moved)

    @precondition(lambda self: any(self.models))
    @rule(i=SPACE, index=PICK, j=SPACE, dst=PATH, recursive=st.booleans())
    def copy(self, i: int, index: int, j: int, dst: str, recursive: bool) -> None:
        self._transfer("COPY", i, index, j, dst, recursive)

    @precondition(lambda self: any(self.models))
    @rule(i=SPACE, index=PICK, j=SPACE, dst=PATH)
    def move(self, i: int, index: int, j: int, dst: str) -> None:
        self._transfer("MOVE", i, index, j, dst, True)

    def _set_limit(self, i: int, limit: int | None) -> None:
        self.env.steps += 1
        self.store.set_limit(self.space_ids[i], limit)
        self.explicit[i] = limit
        if self.used(i) > self.limit(i) and self.cap[i] is None:
            self.cap[i] = self.used(i)

    @rule(i=SPACE, limit=LIMIT)
    def set_limit(self, i: int, limit: int | None) -> None:
        """Raise, lower or reset (None: the policy's default) a space's limit."""
        self._set_limit(i, limit)

    @precondition(lambda self: any(size_of(m) for m in self.models))
    @rule(i=SPACE, fraction=st.floats(0, 0.99))
    def lower_limit_below_usage(self, i: int, fraction: float) -> None:
        """An administrator lowers the limit under what the space already holds."""
        if self.used(i):
            self._set_limit(i, int(self.used(i) * fraction))

    # --- invariants ------------------------------------------------------------------

    @invariant()
    def ledger_store_and_model_agree(self) -> None:
        referenced: set[str] = set()
        ledger = self.store.all_usage()  # the ledger of every space, in one query
        with self.db.transaction(write=False) as s:  # every node of every space, one query
            rows = s.execute(select(Node.space_id, Node.path, Node.is_collection, Node.size,
                                    Node.etag, Blob.key)
                             .outerjoin(Blob, Node.blob_id == Blob.id)
                             .where(Node.path != "")).all()
            leases = s.scalar(select(func.count()).select_from(UploadLease))
        assert leases == 0, f"{leases} upload leases outlived their uploads"
        for i, sid in enumerate(self.space_ids):
            figures = ledger.get(sid)
            assert figures is not None, f"space {i} lost its ledger row"
            nodes = [r for r in rows if r.space_id == sid]
            real = sum(n.size for n in nodes if not n.is_collection)
            model = self.models[i]
            assert (figures.used, real) == (self.used(i), self.used(i)), (
                f"space {i}: ledger {figures.used}, files {real}, model {self.used(i)}")
            assert figures.reserved == 0, f"space {i}: {figures.reserved} bytes still reserved"
            assert figures.limit == self.limit(i), (i, figures.limit, self.limit(i))
            listing = {n.path: (None if n.is_collection else n.size) for n in nodes}
            assert listing == {p: (None if v is None else len(v)) for p, v in model.items()}, (
                f"space {i}: store {listing}, model {sorted(model)}")
            for n in nodes:
                if n.is_collection:
                    continue
                data = model[n.path]
                assert data is not None
                if n.key is None:
                    assert data == b"", f"space {i}:{n.path}: no blob for {len(data)} bytes"
                else:
                    with self.store.blobs.open(n.key) as f:
                        assert f.read() == data, f"space {i}:{n.path}: wrong bytes"
                    referenced.add(n.key)
                assert n.etag == hashlib.sha1(data, usedforsecurity=False).hexdigest()
            # used <= limit, unless the limit was lowered under the usage: then no growth
            if figures.used > figures.limit:
                cap = self.cap[i]
                assert cap is not None, (
                    f"space {i}: used {figures.used} > limit {figures.limit}, and the limit "
                    f"was never lowered below the usage")
                assert figures.used <= cap, (
                    f"space {i}: grew from {cap} to {figures.used} while over its limit "
                    f"{figures.limit}")
                self.cap[i] = figures.used
            else:
                self.cap[i] = None
        # the blob directory: exactly the referenced blobs (the versions' too: an
        # overwrite keeps the old content, issue 23), nothing half-written
        with self.store.db.transaction(write=False) as s:
            referenced |= set(s.scalars(select(Blob.key).join(
                FileVersion, FileVersion.blob_id == Blob.id)))
        stored = set(self.store.blobs.keys())
        assert stored == referenced, (
            f"orphan blobs {sorted(stored - referenced)}, missing {sorted(referenced - stored)}")
        assert self.store.blobs.count_incomplete() == 0


def test_quota_accounting_under_random_operations(environment: Environment) -> None:
    QuotaMachine.env = environment
    started = time.monotonic()
    run_state_machine_as_test(QuotaMachine, settings=settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, database=None,
        print_blob=True, suppress_health_check=[HealthCheck.too_slow]))
    elapsed = time.monotonic() - started
    print(f"\nquota model on {environment.backend}: {environment.examples} examples, "
          f"{environment.steps} operations, refused {environment.refused}, {elapsed:.1f} s\n"
          f"{dict(sorted(environment.outcomes.items()))}")
    assert environment.steps >= MIN_STEPS_IN_ALL, environment.steps
    # the limits were really hit, and refusals of every kind were exercised
    assert environment.refused.get("InsufficientStorage", 0) >= 20, environment.refused
    assert environment.refused.get("Conflict", 0) >= 1, environment.refused
    for outcome in ("PUT ok", "PUT 507", "chunked ok", "chunked 507", "upload ok",
                    "DELETE ok", "MKCOL ok"):
        assert environment.outcomes.get(outcome, 0) >= 1, (outcome, environment.outcomes)
    for verb in ("COPY", "MOVE"):  # (how many succeed varies a lot from run to run)
        tried = sum(n for k, n in environment.outcomes.items() if k.startswith(verb + " "))
        assert tried >= 5, (verb, environment.outcomes)


def test_template_database_has_the_users(environment: Environment) -> None:
    """The per-example copies start from real users made with ``acl.create_user``."""
    db, cleanup = environment.fresh()
    try:
        with db.transaction(write=False) as s:
            logins = set(s.scalars(text("SELECT login FROM users")))
        assert logins == {login for login, _p, _l in USERS}
    finally:
        cleanup()
