"""Guaranteed task delivery: a task message that cannot reach the broker waits in the database.

Every Celery task of minsheng is an ``OutboxTask`` (``task_cls`` in minsheng/celery.py). With a
broker configured, ``delay``/``apply_async``:

* inside a transaction, writes an ``OutboxMessage`` row in that transaction and publishes it once
  the transaction commits (deleting the row when the broker has it). The message exists exactly
  when the change that queued it exists, and a rolled-back change queues nothing;
* outside a transaction (the usual ``transaction.on_commit(partial(task.delay, …))`` of the
  services), publishes at once, and if the broker cannot be reached stores the row instead of
  raising, so the request that queued it still succeeds.

Stored rows are relayed to the broker by ``relay()``: the ``minsheng.relay_outbox`` periodic job,
every worker when it starts, and the process itself as soon as one of its publishes succeeds
again. Relayers claim rows with a conditional UPDATE, so two never publish the same row at the
same moment; a relayer killed between publishing and deleting leaves the row to be published once
more after ``LEASE`` (the same task id): delivery is at least once, never zero.

Without a broker (the embedded default) tasks run inline as before and no row is written.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from celery import Celery, Task
from celery.utils import uuid
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from minsheng import rows
from minsheng.rows import Batch

log = logging.getLogger("minsheng.outbox")

# After a failed publish this process sends straight to the outbox for this long (seconds).
COOLDOWN = 5.0
# A claimed row is published again after this long if its relayer did not delete it.
LEASE = dt.timedelta(seconds=60)
BATCH = 200
# Options a stored message keeps (JSON-safe); others make the call bypass the outbox.
_KEPT_OPTIONS = {"queue", "priority", "countdown", "expires"}
_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}

_state = threading.local()
_down_until = 0.0
_stored_here = False


def _broker_down() -> bool:
    return time.monotonic() < _down_until


def _mark_down(exc: BaseException) -> None:
    global _down_until
    first = not _broker_down()
    _down_until = time.monotonic() + COOLDOWN
    if first:
        log.warning(
            "broker unreachable (%s: %s): task messages go to the outbox",
            type(exc).__name__,
            exc,
            extra={"event": "broker_down"},
        )


def _store_sql(
    name: str,
    task_id: str,
    args: Any,
    kwargs: Any,
    options: dict[str, Any],
    err: str,
    *,
    leased: bool = False,
) -> tuple[str, list[Any]]:
    from minsheng.models import OutboxMessage

    global _stored_here
    now = timezone.now()
    if not leased:
        _stored_here = True
    return rows.insert(
        OutboxMessage,
        {
            "task_id": task_id,
            "name": name,
            "args": list(args or ()),
            "kwargs": dict(kwargs or {}),
            "options": options,
            "last_error": err,
            "created_at": now,
            "next_try_at": now + LEASE if leased else now,
        },
        now=now,
    )


def _store(
    name: str,
    task_id: str,
    args: Any,
    kwargs: Any,
    options: dict[str, Any],
    err: str,
    *,
    leased: bool = False,
) -> None:
    sql, params = _store_sql(name, task_id, args, kwargs, options, err, leased=leased)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _delete_sql(count: int) -> str:
    from minsheng.models import OutboxMessage

    table = connection.ops.quote_name(OutboxMessage._meta.db_table)
    slots = ", ".join(["%s"] * count)
    return f"DELETE FROM {table} WHERE task_id IN ({slots})"  # noqa: S608  (our table name)


def _in_transaction() -> bool:
    """Inside a transaction of the application (a test case's wrapping atomic does not count)."""
    if getattr(_state, "relaying", False) or not connection.in_atomic_block:
        return False
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def _storable(args: Any, kwargs: Any, options: dict[str, Any]) -> bool:
    if set(options) - _KEPT_OPTIONS:
        return False
    try:
        json.dumps([list(args or ()), dict(kwargs or {}), options])
    except (TypeError, ValueError):
        return False
    return True


class OutboxTask(Task):  # type: ignore[misc]
    """A Celery task whose messages are never lost to an unreachable broker."""

    def _publish_stored(
        self, args: Any, kwargs: Any, task_id: str, options: dict[str, Any]
    ) -> None:
        """Publish a message stored in a transaction that has now committed, then drop its row;
        together with the messages other threads of this process publish at the same moment
        (``_GroupPublisher``). Returns once it is published (or left to the relay).

        A failed publish makes the row due for the relay; a process killed between the
        publish and the delete leaves the row to be published again after ``LEASE``."""
        _publisher.publish(_Stored(self, args, kwargs, task_id, options))

    def _publish_after_commit(
        self, args: Any, kwargs: Any, task_id: str, options: dict[str, Any]
    ) -> None:
        publish = partial(self._publish_stored, args, kwargs, task_id, options)
        # robust: the change has committed; a publish that fails here (the database cut off
        # after the commit) is logged and left to the periodic relay, not raised to the client.
        transaction.on_commit(publish, robust=True)

    def _publish(
        self,
        args: Any,
        kwargs: Any,
        task_id: str,
        options: dict[str, Any],
        producer: Any = None,
    ) -> Any:
        return super().apply_async(
            args,
            kwargs,
            task_id=task_id,
            retry=True,
            retry_policy=_RETRY_POLICY,
            producer=producer,
            **options,
        )

    def apply_async(
        self, args: Any = None, kwargs: Any = None, task_id: str | None = None, **options: Any
    ) -> Any:
        if self.app.conf.task_always_eager:
            return super().apply_async(args, kwargs, task_id, **options)
        task_id = task_id or uuid()
        if not _storable(args, kwargs, options):
            return super().apply_async(args, kwargs, task_id=task_id, **options)
        if _in_transaction():
            # The row is leased to this process from the start, so no relayer takes it while
            # the commit is under way; after the commit the message is published from memory
            # and the row deleted: one INSERT and one DELETE per task on the intake path.
            _store(self.name, task_id, args, kwargs, options, "", leased=True)
            self._publish_after_commit(args, kwargs, task_id, options)
            return self.AsyncResult(task_id)
        if not _broker_down():
            try:
                result = self._publish(args, kwargs, task_id, options)
            except Exception as exc:  # kombu/redis raise several kinds for "not reachable"
                _mark_down(exc)
            else:
                if _stored_here:
                    _relay_soon(self.app)
                return result
        _store(self.name, task_id, args, kwargs, options, "broker unreachable")
        return self.AsyncResult(task_id)


@dataclass
class _Stored:
    """A committed message waiting for the group publisher."""

    task: OutboxTask
    args: Any
    kwargs: Any
    task_id: str
    options: dict[str, Any]
    done: threading.Event = field(default_factory=threading.Event)


class _GroupPublisher:
    """Publishes the committed messages of concurrent requests together (group publish).

    Each message cost a Redis client, a round trip and a PostgreSQL DELETE of its own. Here the
    first thread to arrive publishes (the leader): every message waiting at that moment, through
    one producer batch (one Redis pipeline), then deletes their rows in one statement, and goes
    on until nothing waits; the others wait for their message to be done. Every caller still
    returns only after its message was published and its row deleted (or left to the relay), so
    an answer is never sent before its task is queued. Alone, a thread publishes only its own.
    """

    # Waiting for a leader longer than this means something is wrong with it; the row stays in
    # the outbox, leased, and the relay publishes it after the lease.
    FOLLOWER_TIMEOUT = 30.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: list[_Stored] = []
        self._leading = False

    def publish(self, item: _Stored) -> None:
        with self._lock:
            self._waiting.append(item)
            lead = not self._leading
            self._leading = True
        if not lead:
            item.done.wait(self.FOLLOWER_TIMEOUT)
            return
        try:
            while True:
                with self._lock:
                    batch, self._waiting = self._waiting, []
                    if not batch:
                        self._leading = False
                        return
                try:
                    _publish_group(batch)
                finally:
                    for each in batch:
                        each.done.set()
        except BaseException:
            with self._lock:
                stranded, self._waiting = self._waiting, []
                self._leading = False
            for each in stranded:  # their rows stay for the relay
                each.done.set()
            raise


_publisher = _GroupPublisher()


def _publish_group(batch: list[_Stored]) -> None:
    """Publish ``batch`` through one producer batch, then delete the rows of those sent."""
    from minsheng.models import OutboxMessage

    global _stored_here
    if not _broker_down():
        app = batch[0].task.app
        try:
            with app.producer_or_acquire() as producer, producer.batch():
                for item in batch:
                    item.task._publish(
                        item.args, item.kwargs, item.task_id, item.options, producer=producer
                    )
        except Exception as exc:
            _mark_down(exc)
        else:
            ids = [item.task_id for item in batch]
            # Plain SQL: the ORM's delete() gathers related rows first, and there are none.
            with connection.cursor() as cursor:
                cursor.execute(_delete_sql(len(ids)), ids)
            return
    # Due at once: relayers wait out the broker's cooldown themselves, and this process
    # relays its backlog as soon as one of its publishes succeeds again.
    _stored_here = True
    OutboxMessage.objects.filter(task_id__in=[item.task_id for item in batch]).update(
        next_try_at=timezone.now(), last_error="broker unreachable"
    )


def delay_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """Queue ``task`` to run once the current transaction commits, and never lose it.

    With a broker the message is written to the outbox inside the transaction (so a process
    killed between the commit and the publish leaves it for the relay); without one the task
    runs inline after the commit, as ``transaction.on_commit(partial(task.delay, …))`` would.
    """
    if task.app.conf.task_always_eager or not _in_transaction():
        transaction.on_commit(partial(task.delay, *args, **kwargs))
        return
    task.delay(*args, **kwargs)


def stage_on_commit(batch: Batch, task: Any, *args: Any) -> Callable[[], None]:
    """``delay_on_commit(task, *args)`` with the outbox row's INSERT queued in ``batch``, which
    the caller runs in the same transaction (one round trip with its other statements).

    Returns the function that queues the publish for after the commit; call it after the
    transaction's audit entry (``audit.record``), so that the commit's WAL flush, which
    ``record`` queues, runs first and no task is sent about a change not yet on disk.
    """
    options: dict[str, Any] = {}
    if (
        task.app.conf.task_always_eager
        or not isinstance(task, OutboxTask)
        or not _in_transaction()
        or not _storable(args, {}, options)
    ):
        return partial(delay_on_commit, task, *args)
    task_id = uuid()
    batch.add(*_store_sql(task.name, task_id, args, {}, options, "", leased=True))
    return partial(task._publish_after_commit, args, {}, task_id, options)


def _claim(pk: int) -> bool:
    from minsheng.models import OutboxMessage

    now = timezone.now()
    return bool(
        OutboxMessage.objects.filter(pk=pk, next_try_at__lte=now).update(
            next_try_at=now + LEASE, attempts=F("attempts") + 1
        )
    )


def relay_one(pk: int, app: Celery | None = None) -> bool:
    """Publish one stored message and delete it; False (row kept) when the broker refuses."""
    from minsheng.models import OutboxMessage

    if app is None:
        from minsheng.celery import app as default_app

        app = default_app
    if _broker_down() or not _claim(pk):
        return False
    row = OutboxMessage.objects.filter(pk=pk).first()
    if row is None:
        return False
    task = app.tasks.get(row.name)
    try:
        if task is None:
            app.send_task(row.name, row.args, row.kwargs, task_id=row.task_id, **row.options)
        else:
            OutboxTask._publish(task, row.args, row.kwargs, row.task_id, dict(row.options))
    except Exception as exc:
        _mark_down(exc)
        # Try again soon, not after the whole lease.
        OutboxMessage.objects.filter(pk=pk).update(
            next_try_at=timezone.now() + dt.timedelta(seconds=COOLDOWN), last_error=str(exc)[:500]
        )
        return False
    OutboxMessage.objects.filter(pk=pk).delete()
    return True


def relay(app: Celery | None = None, *, limit: int = 10_000) -> int:
    """Publish every stored message that is due; returns how many reached the broker."""
    from minsheng.models import OutboxMessage

    global _stored_here
    sent = 0
    _state.relaying = True
    try:
        while sent < limit:
            due = list(
                OutboxMessage.objects.filter(next_try_at__lte=timezone.now())
                .order_by("pk")
                .values_list("pk", flat=True)[:BATCH]
            )
            if not due:
                _stored_here = False
                break
            progressed = False
            for pk in due:
                if relay_one(pk, app):
                    sent += 1
                    progressed = True
                elif _broker_down():
                    return sent
            if not progressed:
                break
    finally:
        _state.relaying = False
    if sent:
        log.info("outbox: %s task messages relayed to the broker", sent, extra={"event": "relay"})
    return sent


def pending() -> int:
    from minsheng.models import OutboxMessage

    return OutboxMessage.objects.count()


def _relay_soon(app: Celery) -> None:
    """After the broker came back, empty this process's backlog in a background thread."""
    global _stored_here
    _stored_here = False

    def run() -> None:
        from django.db import close_old_connections

        try:
            relay(app)
        except Exception:  # a relay failure must not kill anything; the periodic job retries
            log.exception("outbox relay failed")
        finally:
            close_old_connections()

    threading.Thread(target=run, name="minsheng-outbox-relay", daemon=True).start()
