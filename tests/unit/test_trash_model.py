"""The trash under random operations: a stateful property test (hypothesis) against
the REAL store — a real SQLite database and a real blob directory per example.

Issue 8, "Tests": random sequences of uploads, DELETE (into the trash), restores
(same space or another, free name or taken), purges and emptying. A plain model
(live paths and trash items with their bytes, in deletion order) predicts each
outcome, with issue 17's rule: a delete frees its bytes at once; the trash holds at
most half the limit, and live + trash at most the limit, the oldest items purged
first when a delete or a write breaks either. After every step the invariants check
that

* each space's used bytes = the sum of the sizes of its live nodes = the model's,
  its trash bytes = the sum of its trashed nodes = the model's, and used + trash
  never above the limit, trash never above its share;
* the trash lists exactly the model's items (the purges took the oldest);
* every live file reads back the model's bytes;

and each example ends with a clean ``fsck`` (no orphan blob, no drift).
30 examples of up to 25 steps: about 20 s on SQLite (2 shared cores).
"""

from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

import acl  # noqa: F401  (registers the people tables)
from davserver.db import Database
from davserver.errors import InsufficientStorage, PreconditionFailed
from providers import LocalBlobStore, Store, fsck, trash
from providers.models import Node
from providers.store import charged_bytes

# One database is enough: its databases are SQLite whatever the run
# (docs/development.md, "Which tests run where").
pytestmark = pytest.mark.one_database

LIMIT = 4000  # bytes per space
TRASH_LIMIT = LIMIT // 2  # trash.max_share: 50 %
NAMES = ["a", "b", "c", "d"]
SPACES = st.integers(0, 1)
PICK = st.integers(0, 10**6)
SIZE = st.one_of(st.integers(0, 50), st.integers(0, 1800))

Tree = dict[str, bytes | None]  # path below the top ("" = the top) → bytes, None: folder


class TrashMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="trash-model-"))
        self.db = Database(f"sqlite:///{self.tmp / 'db.sqlite3'}")
        self.db.create_schema()
        self.store = Store(self.db, LocalBlobStore(self.tmp / "blobs"))
        self.spaces = [self.store.ensure_space("rubric", rubric_id=r, limit_bytes=LIMIT).id
                       for r in (1, 2)]
        self.live: list[Tree] = [{}, {}]  # space → path → bytes / None
        # item id (in deletion order) → (space, subtree)
        self.trashed: dict[int, tuple[int, Tree]] = {}
        self.purged = 0
        self.seed = 0

    def teardown(self) -> None:
        try:
            report = fsck(self.store)
            assert report.clean, report.lines()
        finally:
            self.db.dispose()
            shutil.rmtree(self.tmp, ignore_errors=True)

    # --- the model -------------------------------------------------------------------

    def model_used(self, i: int) -> int:
        return sum(len(v) for v in self.live[i].values() if v is not None)

    @staticmethod
    def size_of(tree: Tree) -> int:
        return sum(len(v) for v in tree.values() if v is not None)

    def model_trash(self, i: int) -> int:
        return sum(self.size_of(tree) for s, tree in self.trashed.values() if s == i)

    def make_room(self, i: int) -> None:
        """What the store must purge after a change in space ``i``: the oldest items
        until the trash keeps its share and live + trash fit the limit."""
        excess = max(0, self.model_trash(i) - TRASH_LIMIT,
                     self.model_used(i) + self.model_trash(i) - LIMIT)
        for item_id in sorted(k for k, (s, _t) in self.trashed.items() if s == i):
            if excess <= 0:
                break
            excess -= self.size_of(self.trashed.pop(item_id)[1])

    def tops(self, i: int) -> list[str]:
        return sorted(p for p in self.live[i] if p.count("/") == 1)

    # --- rules -----------------------------------------------------------------------

    @rule(i=SPACES, name=st.sampled_from(NAMES), inside=st.booleans(), size=SIZE)
    def upload(self, i: int, name: str, inside: bool, size: int) -> None:
        live = self.live[i]
        path = f"/d/{name}" if inside else f"/{name}"
        if inside and live.get("/d", b"") is not None:
            return  # no folder /d to put it in
        if live.get(path, b"") is None:
            return  # a folder has that name
        self.seed += 1
        data = random.Random(self.seed).randbytes(size)
        growth = size - len(live.get(path) or b"")
        writer = self.store.new_writer()
        writer.write(data)
        if self.model_used(i) + growth > LIMIT:
            try:
                self.store.commit_write(self.spaces[i], path, writer.finish())
            except InsufficientStorage:
                return
            raise AssertionError("an upload over the limit was accepted")
        self.store.commit_write(self.spaces[i], path, writer.finish())
        live[path] = data
        self.make_room(i)

    @rule(i=SPACES)
    def mkcol(self, i: int) -> None:
        if "/d" not in self.live[i]:
            self.store.make_collection(self.spaces[i], "/d")
            self.live[i]["/d"] = None

    @rule(i=SPACES, pick=PICK)
    def delete(self, i: int, pick: int) -> None:
        tops = self.tops(i)
        if not tops:
            return
        top = tops[pick % len(tops)]
        node = self.store.resolve(self.spaces[i], top)
        assert node is not None
        item = self.store.delete(node)
        tree = {p[len(top):]: self.live[i].pop(p) for p in list(self.live[i])
                if p == top or p.startswith(top + "/")}
        assert item.size == self.size_of(tree)
        self.trashed[item.id] = (i, tree)
        self.make_room(i)
        assert self.store.resolve(self.spaces[i], top) is None

    @rule(pick=PICK, j=SPACES, name=st.sampled_from([*NAMES, "r"]))
    def restore(self, pick: int, j: int, name: str) -> None:
        if not self.trashed:
            return
        item_id = sorted(self.trashed)[pick % len(self.trashed)]
        i, tree = self.trashed[item_id]
        size = self.size_of(tree)
        dst = "/" + name
        expected: type[Exception] | None = None
        if dst in self.live[j]:
            expected = PreconditionFailed
        elif self.model_used(j) + size > LIMIT:  # in its own space it always fits
            expected = InsufficientStorage
        try:
            trash.restore(self.store, item_id, self.spaces[j], dst)
        except (PreconditionFailed, InsufficientStorage) as exc:
            assert type(exc) is expected, (exc, expected)
            return
        assert expected is None, f"{expected} expected"
        del self.trashed[item_id]
        for rel, data in tree.items():
            self.live[j][dst + rel] = data
        self.make_room(j)

    @rule(pick=PICK)
    def purge_one(self, pick: int) -> None:
        if not self.trashed:
            return
        item_id = sorted(self.trashed)[pick % len(self.trashed)]
        freed = trash.purge(self.store, [item_id])
        assert freed == self.size_of(self.trashed.pop(item_id)[1])

    @rule(i=SPACES)
    def empty(self, i: int) -> None:
        before = self.model_trash(i)
        freed = trash.empty(self.store, self.spaces[i])
        for item_id in [k for k, (s, _t) in self.trashed.items() if s == i]:
            del self.trashed[item_id]
        assert freed == before

    # --- invariants ------------------------------------------------------------------

    @invariant()
    def ledger_equals_the_real_sum_and_the_model(self) -> None:
        in_trash = func.substr(Node.path, 1, 1) == "#"
        with self.db.transaction(write=False) as s:
            real = {(sid, bool(t)): int(n) for sid, t, n in s.execute(
                select(Node.space_id, in_trash, func.coalesce(func.sum(charged_bytes()), 0))
                .group_by(Node.space_id, in_trash))}
        for i, sid in enumerate(self.spaces):
            figures = self.store.usage(sid)
            assert figures is not None
            assert figures.used == real.get((sid, False), 0) == self.model_used(i), (
                i, figures.used, real, self.model_used(i))
            assert figures.trash == real.get((sid, True), 0) == self.model_trash(i), (
                i, figures.trash, real, self.model_trash(i))
            assert figures.used + figures.trash <= LIMIT
            assert figures.trash <= TRASH_LIMIT
            assert figures.reserved == 0

    @invariant()
    def live_files_read_back(self) -> None:
        for i, sid in enumerate(self.spaces):
            for path, data in self.live[i].items():
                node = self.store.resolve(sid, path)
                assert node is not None and node.is_collection == (data is None), path
                if data is not None:
                    with self.store.open(node) as f:
                        assert f.read() == data, path
            listed = {e.id for e in trash.entries(self.store, sid)}
            assert listed == {k for k, (s, _t) in self.trashed.items() if s == i}


def test_trash_keeps_quota_and_bytes_under_random_operations() -> None:
    run_state_machine_as_test(TrashMachine, settings=settings(
        max_examples=30, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.too_slow]))
