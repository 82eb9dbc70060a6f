"""Group commit for votes on PostgreSQL: many requests' votes in one statement and one commit.

Each serving process may run one ``VoteBatcher``. A request thread hands in its vote (after the
rules and the rate limits passed, exactly as before) and waits; the batcher's thread takes every
vote waiting at that moment, writes them in one transaction and wakes each request with its own
outcome. Nothing lingers on purpose: while one batch commits the next one gathers, so the batch
is one vote when the load is light and grows with it.

What one vote means does not change. Per vote, the statement of ``services._sql`` is applied to
a whole set of rows at once (``unnest`` of arrays): the pick is taken only while the pair is not
yet voted for and under the category limit, the vote row only with a pick, and a pick taken for
a pair whose twin (another process) committed first is given back. Two votes of one voter in one
category cannot share a statement (its upsert would touch the row twice), so a batch is cut into
rounds in which each (voter, category, day) appears once; the rounds share the transaction.

Durability: a request is answered only after the transaction that holds its vote committed
(``synchronous_commit`` untouched), so an acknowledged vote survives a crash of the process.
If the batch fails as a whole (a deadlock with another process's batch, a constraint), each vote
of it is tried again on its own through ``services._cast_pg`` so one bad row fails alone.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import DatabaseError, connection, transaction

log = logging.getLogger(__name__)

WAIT_S = 30.0
MAX_BATCH = 512


@dataclass
class Pending:
    """One vote waiting for its batch."""

    campaign: int
    limit: int
    voter: int
    candidate: int
    category: int
    day: date
    at: datetime
    hashes: tuple[str, str, str]
    done: threading.Event = field(default_factory=threading.Event)
    # Outcome: (vote id, picks used) on success; "already" or "limit" when refused; an error.
    vote_id: int | None = None
    picks: int | None = None
    refused: str | None = None
    error: BaseException | None = None


class VoteBatcher:
    def __init__(self) -> None:
        self._queue: list[Pending] = []
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="minsheng-vote-batcher", daemon=True)
        self._thread.start()

    def submit(self, item: Pending) -> Pending:
        with self._cond:
            if self._stopping:
                raise RuntimeError("the vote batcher is stopped")
            self._queue.append(item)
            self._cond.notify()
        if not item.done.wait(WAIT_S):
            raise TimeoutError("the vote was not written in time")
        return item

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join(timeout=10)

    # -- the batcher's thread -----------------------------------------------------------------
    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    while not self._queue and not self._stopping:
                        self._cond.wait()
                    if not self._queue and self._stopping:
                        return
                    batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                self._write(batch)
        finally:
            connection.close()

    def _write(self, batch: list[Pending]) -> None:
        try:
            with transaction.atomic():
                for round_ in _rounds(batch):
                    _write_round(round_)
        except DatabaseError as exc:
            log.warning("vote batch of %d failed (%s): each vote on its own", len(batch), exc)
            _reset_connection()
            for item in batch:
                item.vote_id = item.picks = item.refused = None
                self._write_one(item)
            return
        except BaseException as exc:  # handed to every waiting request
            for item in batch:
                item.error = exc
                item.done.set()
            _reset_connection()
            return
        for item in batch:
            item.done.set()

    def _write_one(self, item: Pending) -> None:
        from exemplars import services

        try:
            rules = services.rules_for(item.campaign)
            vote_id, used = services._cast_pg(
                rules, item.voter, item.candidate, item.category, item.day, item.at, item.hashes
            )
            item.vote_id, item.picks = vote_id, used
        except services.Conflict as exc:
            item.refused = "already" if exc.code == "already_voted" else "limit"
        except BaseException as exc:
            item.error = exc
            _reset_connection()
        item.done.set()


def _reset_connection() -> None:
    try:
        connection.close_if_unusable_or_obsolete()
        if connection.connection is not None and not connection.is_usable():
            connection.close()
    except DatabaseError:
        connection.close()


def _rounds(batch: list[Pending]) -> list[list[Pending]]:
    """Cut the batch so each (voter, category, day) and one limit appear once per round."""
    rounds: list[tuple[int, set[tuple[int, int, date]], list[Pending]]] = []
    for item in batch:
        key = (item.voter, item.category, item.day)
        for limit, keys, items in rounds:
            if limit == item.limit and key not in keys:
                keys.add(key)
                items.append(item)
                break
        else:
            rounds.append((item.limit, {key}, [item]))
    return [items for _limit, _keys, items in rounds]


_TEMPLATES = {
    "round": (
        "WITH i AS (SELECT * FROM unnest(%s::int[], %s::bigint[], %s::bigint[], "
        "%s::bigint[], %s::bigint[], %s::date[], %s::timestamptz[], %s::text[], %s::text[], "
        "%s::text[]) AS t(n, campaign, voter, cand, cat, day, at, ih, sh, dh)), "
        "p AS (INSERT INTO {picks} (voter_id, category_id, day, picks) "
        "SELECT voter, cat, day, 1 FROM i WHERE NOT EXISTS (SELECT 1 FROM {vote} v "
        "WHERE v.voter_id = i.voter AND v.candidate_id = i.cand AND v.day = i.day) "
        "ORDER BY voter, cat, day "
        "ON CONFLICT (voter_id, category_id, day) DO UPDATE SET picks = {picks}.picks + 1 "
        "WHERE {picks}.picks < %s RETURNING voter_id, category_id, day, picks), "
        "v AS (INSERT INTO {vote} (campaign_id, candidate_id, category_id, voter_id, day, "
        "at, ip_hash, subnet_hash, device_hash, void_reason) "
        "SELECT i.campaign, i.cand, i.cat, i.voter, i.day, i.at, i.ih, i.sh, i.dh, '' "
        "FROM i JOIN p ON p.voter_id = i.voter AND p.category_id = i.cat AND p.day = i.day "
        "ORDER BY i.voter, i.cand, i.day "
        "ON CONFLICT (voter_id, candidate_id, day) DO NOTHING "
        "RETURNING id, voter_id, candidate_id, day) "
        "SELECT i.n, p.picks, v.id FROM i "
        "LEFT JOIN p ON p.voter_id = i.voter AND p.category_id = i.cat AND p.day = i.day "
        "LEFT JOIN v ON v.voter_id = i.voter AND v.candidate_id = i.cand AND v.day = i.day"
    ),
    # A pick taken for a pair whose twin committed first, given back.
    "undo": (
        "UPDATE {picks} SET picks = picks - 1 FROM unnest(%s::bigint[], %s::bigint[], "
        "%s::date[]) AS u(voter, cat, day) WHERE voter_id = u.voter AND category_id = u.cat "
        "AND day = u.day"
    ),
    # Of the refused pairs, those already voted for (the others hit the category limit).
    "voted": (
        "SELECT v.voter_id, v.candidate_id, v.day FROM {vote} v JOIN unnest(%s::bigint[], "
        "%s::bigint[], %s::date[]) AS u(voter, cand, day) ON v.voter_id = u.voter "
        "AND v.candidate_id = u.cand AND v.day = u.day"
    ),
}
_SQL: dict[str, str] = {}


def _statements() -> dict[str, str]:
    if not _SQL:
        from exemplars.models import Vote, VoterPicks

        q = connection.ops.quote_name
        vote, picks = q(Vote._meta.db_table), q(VoterPicks._meta.db_table)
        # Table names from the models, never input.
        for name, text in _TEMPLATES.items():
            _SQL[name] = text.replace("{vote}", vote).replace("{picks}", picks)
    return _SQL


def _write_round(items: list[Pending]) -> None:
    sql = _statements()
    columns: list[list[Any]] = [[] for _ in range(10)]
    for n, item in enumerate(items):
        values = (
            n,
            item.campaign,
            item.voter,
            item.candidate,
            item.category,
            item.day,
            item.at,
            *item.hashes,
        )
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    with connection.cursor() as cursor:
        cursor.execute(sql["round"], [*columns, items[0].limit])
        unanswered: list[Pending] = []
        raced: list[Pending] = []
        for n, picks, vote_id in cursor.fetchall():
            item = items[n]
            if vote_id is not None:
                item.vote_id, item.picks = int(vote_id), int(picks or 0)
            elif picks is not None:
                # The pair's twin in another process committed first: give the pick back.
                raced.append(item)
                item.refused = "already"
            else:
                unanswered.append(item)
        if raced:
            cursor.execute(
                sql["undo"],
                [[i.voter for i in raced], [i.category for i in raced], [i.day for i in raced]],
            )
        if unanswered:
            cursor.execute(
                sql["voted"],
                [
                    [i.voter for i in unanswered],
                    [i.candidate for i in unanswered],
                    [i.day for i in unanswered],
                ],
            )
            voted = {(int(v), int(c), d) for v, c, d in cursor.fetchall()}
            for item in unanswered:
                key = (item.voter, item.candidate, item.day)
                item.refused = "already" if key in voted else "limit"


_batcher: VoteBatcher | None = None
_batcher_lock = threading.Lock()


def batcher() -> VoteBatcher | None:
    """The process's batcher once ``start()`` ran (the serving process), else None."""
    return _batcher


def start() -> VoteBatcher:
    global _batcher
    with _batcher_lock:
        if _batcher is None:
            _batcher = VoteBatcher()
        return _batcher


def stop() -> None:
    global _batcher
    with _batcher_lock:
        current, _batcher = _batcher, None
    if current is not None:
        current.stop()
