"""Group commit: many requests' small writes in one transaction, each request answered after it commits.

Where every write of a kind must pass one lock (the call centre's intake appends to the audit chain,
whose lock is held to commit), the lock's round trips, not the work, set the rate: on PostgreSQL a
call's insert, step, chain head and commit are four trips to the server with the lock held. A
`GroupCommit` lets the requests that arrive while one transaction is writing wait, and writes them
all in the next one: the lock is taken once, the chain head read once, the rows inserted in
multi-row statements, and one commit makes them durable. Nobody is answered before the transaction
that holds their write has committed, so an acknowledged write survives a killed server.

No thread of its own and no timer (leader and followers): a request that finds no transaction
running writes the queue itself, so a lone request waits for nobody; the ones that queue meanwhile
are written by whichever of them finds the writer gone next. Across processes each process groups
its own requests; the database's lock orders the groups.

If a group's transaction fails, each of its items is written again alone, in its own transaction,
so one bad item cannot fail the others: each request gets its own answer or its own error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from minxin.infra.db import begin_write

T = TypeVar("T")
R = TypeVar("R")

WriteGroup = Callable[[Session, Sequence[T]], list[R]]


@dataclass(eq=False)
class _Entry(Generic[T, R]):
    item: T
    done: bool = False
    result: R | None = None
    error: BaseException | None = None


class GroupCommit(Generic[T, R]):
    """Write items through `write(session, items) -> results` (one result per item, in order), in
    groups of at most `max_group`, each group one write transaction from `factory`."""

    def __init__(self, factory: sessionmaker[Session], write: WriteGroup[T, R], *, max_group: int = 100) -> None:
        self._factory = factory
        self._write = write
        self._max_group = max_group
        self._queue: list[_Entry[T, R]] = []
        self._writing = False
        self._cond = threading.Condition()
        self.groups = 0  # transactions committed, for the tests and the benchmark
        self.items = 0

    def waiting(self) -> int:
        """Items queued for the next group."""
        with self._cond:
            return len(self._queue)

    def writing(self) -> bool:
        """A group's transaction is running."""
        with self._cond:
            return self._writing

    def submit(self, item: T) -> R:
        """Block until the item is committed; its result, or the exception writing it raised."""
        entry: _Entry[T, R] = _Entry(item)
        with self._cond:
            self._queue.append(entry)
        while True:
            with self._cond:
                while not entry.done and self._writing:
                    self._cond.wait()
                if entry.done:
                    return self._outcome(entry)
                self._writing = True  # this request writes the next group (its own item may be further back)
                group, self._queue = self._queue[: self._max_group], self._queue[self._max_group:]
            try:
                self._write_group(group)
            finally:
                with self._cond:
                    self._writing = False
                    for e in group:
                        if e.result is None and e.error is None:  # interrupted (BaseException) before its answer
                            e.error = RuntimeError("group commit: the write was interrupted")
                        e.done = True
                    self._cond.notify_all()

    @staticmethod
    def _outcome(entry: _Entry[T, R]) -> R:
        if entry.error is not None:
            raise entry.error
        return entry.result  # type: ignore[return-value]

    def _write_group(self, group: list[_Entry[T, R]]) -> None:
        try:
            results = self._transaction([e.item for e in group])
        except Exception as exc:
            if len(group) == 1:
                group[0].error = exc
                return
            for e in group:  # one at a time: each gets its own answer
                try:
                    e.result = self._transaction([e.item])[0]
                except Exception as one_exc:
                    e.error = one_exc
            return
        for e, result in zip(group, results, strict=True):
            e.result = result

    def _transaction(self, items: list[T]) -> list[R]:
        with self._factory() as session:
            begin_write(session)
            results = self._write(session, items)
            if len(results) != len(items):
                raise RuntimeError(f"group commit: {len(results)} results for {len(items)} items")
            session.commit()
        with self._cond:
            self.groups += 1
            self.items += len(items)
        return results
