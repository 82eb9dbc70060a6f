"""The streaming engine: items in stream-time order → relevance, duplicates, category and
sentiment, events by online clustering, bursts, graded alerts. See docs/opinion-engine.md.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, Protocol

from opinion.engine.burst import BurstState, RateSeries
from opinion.engine.gazetteer import Gazetteer
from opinion.engine.model import (
    BEIJING,
    GRADE_RANK,
    GRADES,
    AlertRecord,
    EngineOptions,
    EventSummary,
    Item,
    Outcome,
    to_datetime,
    to_seconds,
)
from opinion.engine.rules import Rules, describe_condition
from opinion.engine.text import (
    IncrementalIdf,
    count_chars,
    feature_text,
    hashtags,
    own_text,
    term_counts,
)
from textkit.dedupe import DedupeIndex
from textkit.normalise import normalise_many

STATE_VERSION = 1
_REPRESENTATIVE_CANDIDATES = 6
_CANDIDATE_TERMS = 32


class RouteLike(Protocol):
    """textkit.route.RouteModel, or anything predicting a label per text."""

    def predict(self, texts: Any, *, top: int = ...) -> list[Any]: ...


class SentimentLike(Protocol):
    """textkit.sentiment.SentimentModel, or anything with ``negativity`` and ``emotion``."""

    def predict(self, texts: Sequence[str]) -> list[Any]: ...


class Prepared(NamedTuple):
    """What ``Engine._prepare`` computes for a batch, one entry per item."""

    times: list[float]
    texts: list[str]  # normalised
    matched: list[list[tuple[str, str]]]
    named: list[bool]
    owns: list[str]
    sentiments: list[tuple[str | None, str | None]]
    categories: list[str | None]


class _Event:
    __slots__ = (
        "alerted",
        "candidates",
        "categories",
        "first",
        "item_ids",
        "item_times",
        "last",
        "merged_into",
        "n_vectors",
        "next_refresh",
        "norm",
        "num",
        "open",
        "reach",
        "sensitive",
        "sentiment",
        "series",
        "sum",
        "top",
    )

    def __init__(self, num: int, t: float) -> None:
        self.num = num
        self.first = t
        self.last = t
        self.item_ids: list[str] = []
        self.item_times: list[float] = []
        self.sum: dict[str, float] = {}  # sum of member vectors (pruned)
        self.top: dict[str, float] = {}  # the top_k terms of sum, as posted in the index
        self.norm = 0.0  # L2 norm of top
        self.n_vectors = 0
        self.next_refresh = 1
        self.open = True
        self.merged_into: int | None = None
        self.sentiment: dict[str, int] = {}
        self.categories: dict[str, int] = {}
        self.reach = 0
        self.sensitive: dict[str, None] = {}
        self.series = RateSeries()
        self.alerted = -1  # rank of the highest grade alerted while open
        # (join similarity, item id, own text, the item's heaviest terms)
        self.candidates: list[tuple[float, str, str, dict[str, float]]] = []

    @property
    def id(self) -> str:
        return f"E{self.num}"

    def to_json(self) -> dict[str, Any]:
        return {
            "num": self.num,
            "first": self.first,
            "last": self.last,
            "item_ids": self.item_ids,
            "item_times": self.item_times,
            "sum": self.sum,
            "top": self.top,
            "norm": self.norm,
            "n_vectors": self.n_vectors,
            "next_refresh": self.next_refresh,
            "open": self.open,
            "merged_into": self.merged_into,
            "sentiment": self.sentiment,
            "categories": self.categories,
            "reach": self.reach,
            "sensitive": list(self.sensitive),
            "series": self.series.to_json(),
            "alerted": self.alerted,
            "candidates": [list(c) for c in self.candidates],
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> _Event:
        e = cls(int(d["num"]), float(d["first"]))
        e.last = float(d["last"])
        e.item_ids = list(d["item_ids"])
        e.item_times = [float(t) for t in d["item_times"]]
        e.sum = dict(d["sum"])
        e.top = dict(d["top"])
        e.norm = float(d["norm"])
        e.n_vectors = int(d["n_vectors"])
        e.next_refresh = int(d["next_refresh"])
        e.open = bool(d["open"])
        e.merged_into = d["merged_into"]
        e.sentiment = dict(d["sentiment"])
        e.categories = dict(d["categories"])
        e.reach = int(d["reach"])
        e.sensitive = dict.fromkeys(d["sensitive"])
        e.series = RateSeries.from_json(d["series"])
        e.alerted = int(d["alerted"])
        e.candidates = [(float(c[0]), str(c[1]), str(c[2]), dict(c[3])) for c in d["candidates"]]
        return e


class Engine:
    """The pipeline over a stream. Feed items in stream-time order with ``process``.

    ``gazetteer``: without one (or with one naming no place, unit or topic) every item is
    relevant. ``rules``: grade rules (default: ``Rules()``). ``route``/``sentiment``: optional
    textkit models for category and sentiment. ``options``: EngineOptions.
    """

    def __init__(
        self,
        *,
        gazetteer: Gazetteer | None = None,
        rules: Rules | None = None,
        route: RouteLike | None = None,
        sentiment: SentimentLike | None = None,
        options: EngineOptions | None = None,
    ) -> None:
        self.gazetteer = gazetteer
        self.rules = rules or Rules()
        self.route = route
        self.sentiment = sentiment
        self.options = options or EngineOptions()
        self.tz = BEIJING
        self._events: dict[int, _Event] = {}
        self._open: dict[int, None] = {}
        self._postings: dict[str, dict[int, float]] = {}
        self._item_event: dict[str, int] = {}
        self._idf = IncrementalIdf()
        self._keywords: dict[str, RateSeries] = {}
        # Items that joined events within the activity window: (time, event number).
        self._activity: deque[tuple[float, int]] = deque()
        self._active: dict[int, int] = {}
        self._active_total = 0
        self._hot: list[int] = []  # the most active events, refreshed every few items
        self._hot_age = 0
        self._threaded_sources: set[str] = set()
        self._alerts: list[AlertRecord] = []
        self._next_num = 1
        self._clock = -math.inf
        self._last_sweep = -math.inf
        self._items_seen = 0
        self._dedupe = self._new_dedupe()
        # Items stored in the dedupe index: id → [text, last time seen]; rebuilds it on resume.
        self._dedupe_log: dict[str, list[Any]] = {}

    def _new_dedupe(self) -> DedupeIndex:
        return DedupeIndex(threshold=self.options.dedupe_threshold, limit=1)

    # -- public API -------------------------------------------------------------------------

    def process(self, items: Iterable[Item]) -> list[Outcome]:
        """Run items (in stream-time order) through the pipeline; one Outcome per item.

        An item older than the engine's clock is handled at the clock's time (late arrivals
        cannot reopen windows that have moved on); its own time is kept in the event.
        """
        out: list[Outcome] = []
        batch: list[Item] = []
        for item in items:
            batch.append(item)
            if len(batch) >= self.options.batch_size:
                out.extend(self._process_batch(batch))
                batch = []
        if batch:
            out.extend(self._process_batch(batch))
        return out

    def events(self, *, include_merged: bool = False) -> list[EventSummary]:
        """Summaries of the events in memory, oldest first."""
        return [
            self._summary(e)
            for e in self._events.values()
            if include_merged or e.merged_into is None
        ]

    def event(self, event_id: str) -> EventSummary | None:
        try:
            num = int(event_id.removeprefix("E"))
        except ValueError:
            return None
        e = self._events.get(num)
        return None if e is None else self._summary(e)

    def alerts(self) -> list[AlertRecord]:
        return list(self._alerts)

    def event_of(self, item_id: str) -> str | None:
        """The event an item belongs to now (after merges), if it is still in memory."""
        num = self._item_event.get(item_id)
        return None if num is None else self._events[self._resolve(num)].id

    @property
    def clock(self) -> float:
        """Stream time of the latest item (POSIX seconds)."""
        return self._clock

    # -- batch steps ------------------------------------------------------------------------

    def _process_batch(self, batch: list[Item]) -> list[Outcome]:
        # Only the stateless, vectorised steps run over the whole batch; everything that reads
        # or changes the engine's state runs item by item, so results do not depend on how the
        # stream is cut into batches (nor on a pause through state_dict / from_state).
        return self._apply(batch, self._prepare(batch))

    def _prepare(self, batch: list[Item]) -> Prepared:
        """The per-item steps that read no engine state (opinion.distributed maps them)."""
        times = [to_seconds(item.time) for item in batch]
        texts = normalise_many([item.text or "" for item in batch])
        gaz = self.gazetteer
        matched = [gaz.matches(t, normalised=True) if gaz else [] for t in texts]
        named = [gaz.is_relevant(m) if gaz else True for m in matched]
        owns = [own_text(t) for t in texts]
        # Models run on every item that may turn out relevant: those naming the jurisdiction
        # and replies (a reply to an item of ours is ours, whatever it says).
        maybe = [named[i] or bool(item.parent_id) for i, item in enumerate(batch)]
        sentiments = self._sentiments(owns, maybe)
        categories = self._categories(texts, maybe)
        return Prepared(times, texts, matched, named, owns, sentiments, categories)

    def _apply(self, batch: list[Item], prepared: Prepared) -> list[Outcome]:
        """The per-item steps that read and change the engine's state, in stream order."""
        times, texts, matched, named, owns, sentiments, categories = prepared
        outcomes: list[Outcome] = []
        for i, item in enumerate(batch):
            t = max(times[i], self._clock)
            self._clock = t
            self._items_seen += 1
            if t - self._last_sweep >= self.options.close_after_hours * 3600.0 / 8:
                self._sweep(t)
            relevant = named[i] or (
                item.parent_id is not None and item.parent_id in self._item_event
            )
            outcome = Outcome(
                item_id=item.id,
                relevant=relevant,
                duplicate_of=self._dedupe_one(item.id, texts[i], t) if relevant else None,
                category=categories[i] if relevant else None,
                sentiment=sentiments[i][0] if relevant else None,
                event_id=None,
                matched_terms=matched[i],
                emotion=sentiments[i][1] if relevant else None,
            )
            if relevant:
                self._assign(item, t, times[i], texts[i], owns[i], outcome)
            outcomes.append(outcome)
        return outcomes

    def _dedupe_one(self, item_id: str, text: str, t: float) -> str | None:
        ft = feature_text(text)
        if count_chars(ft) < self.options.dedupe_min_chars:
            return None
        found = self._dedupe.add(item_id, ft, t)
        if not found:
            self._dedupe_log[item_id] = [ft, t]
            return None
        key = str(found[0].key)
        if found[0].exact:
            entry = self._dedupe_log.get(key)
            if entry is not None:
                entry[1] = max(entry[1], t)
        else:
            self._dedupe_log[item_id] = [ft, t]
        return key

    def _sentiments(
        self, owns: list[str], relevant: list[bool]
    ) -> list[tuple[str | None, str | None]]:
        out: list[tuple[str | None, str | None]] = [(None, None)] * len(owns)
        if self.sentiment is None:
            return out
        rows = [i for i, o in enumerate(owns) if relevant[i] and count_chars(o) >= 2]
        if not rows:
            return out
        preds = self.sentiment.predict([owns[i] for i in rows])
        for i, p in zip(rows, preds, strict=True):
            out[i] = (str(p.negativity), str(getattr(p, "emotion", "")) or None)
        return out

    def _categories(self, texts: list[str], relevant: list[bool]) -> list[str | None]:
        out: list[str | None] = [None] * len(texts)
        if self.route is None:
            return out
        rows = [i for i, t in enumerate(texts) if relevant[i] and count_chars(t) >= 2]
        if not rows:
            return out
        preds = self.route.predict([texts[i] for i in rows], top=1)
        for i, p in zip(rows, preds, strict=True):
            out[i] = str(p.label)
        return out

    # -- event assignment -------------------------------------------------------------------

    def _resolve(self, num: int) -> int:
        e = self._events[num]
        root = num
        while e.merged_into is not None:
            root = e.merged_into
            e = self._events[root]
        return root

    def _assign(
        self, item: Item, t: float, own_time: float, text: str, own: str, outcome: Outcome
    ) -> None:
        opts = self.options
        counts = term_counts(text, opts.ngram_min, opts.ngram_max)
        vec: dict[str, float] | None = None
        if counts and count_chars(feature_text(text)) >= opts.min_feature_chars:
            self._idf.add(counts)
            vec = self._idf.vector(counts)
        event: _Event | None = None
        similarity = 0.0
        if item.parent_id:
            self._threaded_sources.add(item.source)
        parent = self._item_event.get(item.parent_id) if item.parent_id else None
        if parent is not None:
            event = self._events[self._resolve(parent)]
            if not event.open:
                self._reopen(event)
        elif outcome.duplicate_of is not None and outcome.duplicate_of in self._item_event:
            event = self._events[self._resolve(self._item_event[outcome.duplicate_of])]
            if not event.open:
                self._reopen(event)
            vec = None  # a copy adds nothing to the centroid
        elif vec is not None:
            # A source that names parents marks its reactions; its items without a parent are
            # original posts, which the activity prior must not pull into other events.
            original = item.source in self._threaded_sources
            best, similarity = self._best_event(vec, t, count_chars(own), prior=not original)
            if best is not None and similarity >= opts.join_threshold:
                event = self._events[best]
        if event is None:
            if vec is None:
                return
            event = _Event(self._next_num, t)
            self._next_num += 1
            self._events[event.num] = event
            self._open[event.num] = None
            similarity = 1.0
        self._add_to_event(event, item, t, own_time, own, vec, similarity, outcome)

    def _best_event(
        self, vec: dict[str, float], t: float, own_chars: int, *, prior: bool = True
    ) -> tuple[int | None, float]:
        """The open event scoring highest: cosine with its centroid plus the activity prior.

        The prior is ``activity_weight`` times the event's share of the items that joined
        events within the activity window: with little text to go on, a post is most likely
        about what is being talked about right now. When many events are active every share is
        small and the text decides. The prior fades with the length of the item's own text
        (factor exp(−own characters / L), L = ``activity_short_chars``): a long post that
        matches no event is news, a short comment has nothing else to go on. Items of a source
        that gives parent ids get no prior when they have no parent: they are original posts.
        """
        query = vec
        if len(vec) > self.options.query_terms:
            query = dict(heapq.nlargest(self.options.query_terms, vec.items(), key=_weight))
        acc: dict[int, float] = {}
        postings = self._postings
        for term, w in query.items():
            plist = postings.get(term)
            if plist is None:
                continue
            for num, cw in plist.items():
                acc[num] = acc.get(num, 0.0) + w * cw
        events = self._events
        scores = {num: dot / events[num].norm for num, dot in acc.items()}
        short = self.options.activity_short_chars
        beta = self.options.activity_weight * math.exp(-own_chars / short) if prior else 0.0
        if beta > 0.0:
            self._expire_activity(t)
            if self._active_total:
                for num in self._hot_events():
                    scores[num] = (
                        scores.get(num, 0.0) + beta * self._active[num] / self._active_total
                    )
        best: int | None = None
        best_score = 0.0
        for num, score in scores.items():
            if score > best_score or (score == best_score and best is not None and num < best):
                best, best_score = num, score
        return best, best_score

    def _expire_activity(self, t: float) -> None:
        horizon = t - self.options.activity_window_minutes * 60.0
        activity, active = self._activity, self._active
        while activity and activity[0][0] <= horizon:
            _, num = activity.popleft()
            num = self._resolve(num)
            left = active[num] - 1
            if left:
                active[num] = left
            else:
                del active[num]
            self._active_total -= 1

    def _hot_events(self) -> list[int]:
        # Refreshing the few most active events every 16 items keeps this O(1) per item when
        # thousands of events are active; the shares themselves are always current.
        self._hot_age += 1
        if self._hot_age >= 16 or len(self._active) <= 8:
            self._hot_age = 0
            self._hot = [
                num
                for num, _ in heapq.nlargest(
                    self.options.activity_candidates,
                    self._active.items(),
                    key=lambda kv: (kv[1], -kv[0]),
                )
            ]
        return [n for n in self._hot if n in self._active and self._events[n].open]

    def _add_to_event(
        self,
        event: _Event,
        item: Item,
        t: float,
        own_time: float,
        own: str,
        vec: dict[str, float] | None,
        similarity: float,
        outcome: Outcome,
    ) -> None:
        self._item_event[item.id] = event.num
        self._activity.append((t, event.num))
        self._active[event.num] = self._active.get(event.num, 0) + 1
        self._active_total += 1
        event.item_ids.append(item.id)
        event.item_times.append(own_time)
        event.first = min(event.first, own_time)
        event.last = max(event.last, t)
        if outcome.sentiment is not None:
            event.sentiment[outcome.sentiment] = event.sentiment.get(outcome.sentiment, 0) + 1
        if outcome.category is not None:
            event.categories[outcome.category] = event.categories.get(outcome.category, 0) + 1
        event.reach += max(0, int(item.reach or 0))
        for kind, term in outcome.matched_terms:
            if kind == "sensitive":
                event.sensitive[term] = None
        if vec is not None:
            s = event.sum
            for term, w in vec.items():
                s[term] = s.get(term, 0.0) + w
            event.n_vectors += 1
            if count_chars(own) >= 2:
                self._offer_candidate(event, similarity, item.id, own, vec)
            if event.n_vectors >= event.next_refresh:
                self._refresh(event)
        outcome.event_id = event.id
        self._check_alerts(event, item, t, outcome)

    def _offer_candidate(
        self, event: _Event, similarity: float, item_id: str, own: str, vec: dict[str, float]
    ) -> None:
        cands = event.candidates
        if len(cands) >= _REPRESENTATIVE_CANDIDATES:
            worst = min(range(len(cands)), key=lambda i: cands[i][0])
            if cands[worst][0] >= similarity:
                return
            del cands[worst]
        top = dict(heapq.nlargest(_CANDIDATE_TERMS, vec.items(), key=_weight))
        cands.append((similarity, item_id, own, top))

    def _refresh(self, event: _Event) -> None:
        """Re-post the event's top terms; then see whether it has converged with another."""
        opts = self.options
        s = event.sum
        if len(s) > 16 * opts.top_k:
            # Keep the sum bounded: the tail never reaches the top_k again in practice.
            event.sum = s = dict(heapq.nlargest(4 * opts.top_k, s.items(), key=_weight))
        self._set_top(event)
        n = event.n_vectors
        event.next_refresh = max(n + 1, int(n * 1.25))
        if event.open and n >= 2:
            self._maybe_merge(event)

    def _post(self, event: _Event) -> None:
        postings = self._postings
        num = event.num
        for term, w in event.top.items():
            plist = postings.get(term)
            if plist is None:
                postings[term] = {num: w}
            else:
                plist[num] = w

    def _unpost(self, event: _Event) -> None:
        postings = self._postings
        for term in event.top:
            plist = postings.get(term)
            if plist is not None:
                plist.pop(event.num, None)
                if not plist:
                    del postings[term]

    def _maybe_merge(self, event: _Event) -> None:
        inv = 1.0 / event.norm
        query = {t: w * inv for t, w in event.top.items()}
        # Score against every other open event through the postings.
        acc: dict[int, float] = {}
        for term, w in query.items():
            for num, cw in self._postings.get(term, {}).items():
                if num != event.num:
                    acc[num] = acc.get(num, 0.0) + w * cw
        best: int | None = None
        best_score = 0.0
        for num, dot in sorted(acc.items()):
            score = dot / self._events[num].norm
            if score > best_score:
                best, best_score = num, score
        if best is None or best_score < self.options.merge_threshold:
            return
        other = self._events[best]
        big, small = (
            (event, other) if len(event.item_ids) >= len(other.item_ids) else (other, event)
        )
        self._merge(small, big)

    def _merge(self, small: _Event, big: _Event) -> None:
        self._unpost(small)
        small.open = False
        small.merged_into = big.num
        self._open.pop(small.num, None)
        moved = self._active.pop(small.num, 0)
        if moved:
            self._active[big.num] = self._active.get(big.num, 0) + moved
        s = big.sum
        for term, w in small.sum.items():
            s[term] = s.get(term, 0.0) + w
        big.n_vectors += small.n_vectors
        pairs = sorted(
            zip(big.item_times + small.item_times, big.item_ids + small.item_ids, strict=True),
            key=lambda p: p[0],
        )
        big.item_times = [p[0] for p in pairs]
        big.item_ids = [p[1] for p in pairs]
        big.first = min(big.first, small.first)
        big.last = max(big.last, small.last)
        for k, v in small.sentiment.items():
            big.sentiment[k] = big.sentiment.get(k, 0) + v
        for k, v in small.categories.items():
            big.categories[k] = big.categories.get(k, 0) + v
        big.reach += small.reach
        big.sensitive.update(small.sensitive)
        big.series = _merge_series(
            big.series, small.series, self.rules.burst.baseline_halflife_hours
        )
        big.alerted = max(big.alerted, small.alerted)
        big.candidates = sorted(big.candidates + small.candidates, key=lambda c: -c[0])[
            :_REPRESENTATIVE_CANDIDATES
        ]
        small.item_ids, small.item_times, small.sum, small.candidates = [], [], {}, []
        self._refresh_after_merge(big)

    def _refresh_after_merge(self, event: _Event) -> None:
        self._set_top(event)

    def _set_top(self, event: _Event) -> None:
        """Post the event's ``top_k`` terms, weighted by their summed tf-idf times today's idf.

        The sum alone is dominated by what every post says (好, 真的, 什么); weighting it by the
        current idf once more keeps the terms that tell this event from others, and lets
        early members' vectors follow the idf as the stream teaches it.
        """
        idf = self._idf.idf
        weighted = {t: w * idf(t) for t, w in event.sum.items()}
        top = dict(heapq.nlargest(self.options.top_k, weighted.items(), key=_weight))
        self._unpost(event)
        event.top = top
        event.norm = math.sqrt(sum(w * w for w in top.values())) or 1.0
        if event.open:
            self._post(event)

    def _reopen(self, event: _Event) -> None:
        event.open = True
        self._open[event.num] = None
        self._post(event)

    def _sweep(self, now: float) -> None:
        """Close events quiet for close_after_hours; forget old closed ones; expire dedupe."""
        self._last_sweep = now
        gap = self.options.close_after_hours * 3600.0
        for num in [n for n in self._open if now - self._events[n].last > gap]:
            e = self._events[num]
            e.open = False
            e.alerted = -1  # a reopened event may alert again
            self._unpost(e)
            del self._open[num]
        cutoff = now - self.options.dedupe_window_hours * 3600.0
        self._dedupe.expire(cutoff)
        self._dedupe_log = {k: v for k, v in self._dedupe_log.items() if v[1] >= cutoff}
        kw_gap = max(gap, self.rules.keyword_burst.window_minutes * 60.0)
        for k in [
            k for k, s in self._keywords.items() if not s.times and now - s.decayed_at > kw_gap
        ]:
            if self._keywords[k].decayed < 0.01:
                del self._keywords[k]
        forget = self.options.forget_after_hours
        if forget is not None:
            limit = now - gap - forget * 3600.0
            for num in [n for n, e in self._events.items() if not e.open and e.last < limit]:
                e = self._events[num]
                if e.merged_into is not None and e.merged_into in self._events:
                    continue
                for item_id in e.item_ids:
                    if self._item_event.get(item_id) == num:
                        del self._item_event[item_id]
                del self._events[num]
            # Merged events whose target is gone go too; their items were moved to the target.
            for num in [
                n
                for n, e in self._events.items()
                if e.merged_into is not None and e.merged_into not in self._events
            ]:
                del self._events[num]
            live = self._events
            self._item_event = {k: v for k, v in self._item_event.items() if v in live}

    # -- bursts and alerts ------------------------------------------------------------------

    def _check_alerts(self, event: _Event, item: Item, t: float, outcome: Outcome) -> None:
        rules = self.rules
        state = event.series.add(t, rules.burst)
        keyword_hit: tuple[str, BurstState] | None = None
        for kw in self._item_keywords(item, outcome):
            series = self._keywords.get(kw)
            if series is None:
                series = self._keywords[kw] = RateSeries()
            ks = series.add(t, rules.keyword_burst)
            if ks.burst and (keyword_hit is None or ks.window > keyword_hit[1].window):
                keyword_hit = (kw, ks)
        judged = sum(event.sentiment.values())
        features: dict[str, float] = {
            "size": float(len(event.item_ids)),
            "window": float(state.window),
            "growth": state.growth,
            "burst": 1.0 if state.burst else 0.0,
            "keyword_burst": 1.0 if keyword_hit else 0.0,
            "reach": float(event.reach),
            "sensitive": float(len(event.sensitive)),
        }
        if judged >= rules.min_judged:
            features["negative_share"] = event.sentiment.get("negative", 0) / judged
        graded = rules.grade(features)
        if graded is None:
            return
        grade, number, alternative = graded
        rank = GRADE_RANK[grade]
        if rank <= event.alerted:
            return
        event.alerted = rank
        reason = self._reason(event, grade, number, alternative, features, state, keyword_hit)
        alert = AlertRecord(
            time=to_datetime(t, self.tz),
            event_id=event.id,
            grade=grade,
            reason=reason,
            kind="keyword" if "keyword_burst" in alternative else "event",
            keyword=keyword_hit[0] if keyword_hit and "keyword_burst" in alternative else None,
            item_id=item.id,
            rule=f"{grade}#{number}",
            features={k: round(v, 4) for k, v in features.items()},
        )
        self._alerts.append(alert)
        outcome.alerts.append(alert)

    def _item_keywords(self, item: Item, outcome: Outcome) -> list[str]:
        kws = [term for _, term in outcome.matched_terms]
        kws.extend("#" + h + "#" for h in hashtags(item.text or ""))
        return list(dict.fromkeys(kws))

    def _reason(
        self,
        event: _Event,
        grade: str,
        number: int,
        alternative: dict[str, float],
        f: dict[str, float],
        state: BurstState,
        keyword_hit: tuple[str, BurstState] | None,
    ) -> str:
        minutes = self.rules.burst.window_minutes
        facts = [
            f"事件累计{int(f['size'])}条",
            f"近{minutes:g}分钟新增{state.window}条（自身基线预期{state.expected:.1f}条，"
            f"为预期的{state.growth:.1f}倍）",
        ]
        if "negative_share" in f:
            facts.append(f"负面占比{f['negative_share']:.0%}")
        if event.reach:
            facts.append(f"覆盖{event.reach}人次")
        if event.sensitive:
            facts.append("涉及敏感词“" + "”“".join(list(event.sensitive)[:5]) + "”")
        if keyword_hit is not None:
            kw, ks = keyword_hit
            km = self.rules.keyword_burst.window_minutes
            facts.append(f"关键词“{kw}”近{km:g}分钟出现{ks.window}次（预期{ks.expected:.1f}次）")
        rule = describe_condition(alternative)
        return f"{grade}预警：" + "，".join(facts) + f"。触发规则“{grade}”第{number}条：{rule}。"

    # -- summaries --------------------------------------------------------------------------

    def _summary(self, e: _Event) -> EventSummary:
        rep_id, rep_text = self._representative(e)
        merged = None if e.merged_into is None else self._events[self._resolve(e.num)].id
        category = (
            max(e.categories.items(), key=lambda kv: (kv[1], kv[0]))[0] if e.categories else None
        )
        return EventSummary(
            id=e.id,
            first_time=to_datetime(e.first, self.tz),
            last_time=to_datetime(e.last, self.tz),
            item_ids=list(e.item_ids),
            size=len(e.item_ids),
            key_terms=self._key_terms(e),
            representative_text=rep_text,
            representative_item_id=rep_id,
            sentiment=dict(e.sentiment),
            open=e.open,
            merged_into=merged,
            category=category,
            reach=e.reach,
            sensitive_terms=list(e.sensitive),
            grade=GRADES[e.alerted] if e.alerted >= 0 else None,
        )

    def _representative(self, e: _Event) -> tuple[str | None, str]:
        if not e.candidates:
            return None, ""
        norm = e.norm or 1.0
        best = max(
            e.candidates,
            key=lambda c: (sum(w * e.top.get(t, 0.0) for t, w in c[3].items()) / norm, -len(c[2])),
        )
        return best[1], best[2]

    def _key_terms(self, e: _Event, n: int = 8) -> list[str]:
        """Words of the representative texts weighted by the centroid's n-gram weights."""
        from textkit.segment import cut

        weights = e.sum or e.top
        if not weights:
            return []
        scores: dict[str, float] = {}
        for c in e.candidates:
            for word in cut(c[2]):
                w = word.strip().casefold()
                if len(w) < 2 or count_chars(w) < len(w) or w in scores:
                    continue
                grams = [w[i : i + 2] for i in range(len(w) - 1)] or [w]
                scores[w] = sum(weights.get(g, 0.0) for g in grams) / len(grams)
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        return [w for w, s in ranked[:n] if s > 0]

    # -- persistence ------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume, as JSON-compatible data (no models, rules, gazetteer)."""
        return {
            "version": STATE_VERSION,
            "options": self.options.to_json(),
            "next_num": self._next_num,
            "clock": self._clock if math.isfinite(self._clock) else None,
            "last_sweep": self._last_sweep if math.isfinite(self._last_sweep) else None,
            "items_seen": self._items_seen,
            "events": [e.to_json() for e in self._events.values()],
            "open": list(self._open),
            "item_event": self._item_event,
            "idf": self._idf.state_dict(),
            "keywords": {k: s.to_json() for k, s in self._keywords.items()},
            "alerts": [a.to_json() for a in self._alerts],
            "activity": [list(a) for a in self._activity],
            "active": [[k, v] for k, v in self._active.items()],
            "hot": [self._hot, self._hot_age],
            "threaded_sources": sorted(self._threaded_sources),
            "dedupe": [[k, v[0], v[1]] for k, v in self._dedupe_log.items()],
        }

    @classmethod
    def from_state(
        cls,
        state: dict[str, Any],
        *,
        gazetteer: Gazetteer | None = None,
        rules: Rules | None = None,
        route: RouteLike | None = None,
        sentiment: SentimentLike | None = None,
    ) -> Engine:
        """An engine that continues exactly where ``state_dict`` was taken."""
        from datetime import datetime

        if state.get("version") != STATE_VERSION:
            raise ValueError(
                f"engine state version {state.get('version')!r} is not {STATE_VERSION}"
            )
        engine = cls(
            gazetteer=gazetteer,
            rules=rules,
            route=route,
            sentiment=sentiment,
            options=EngineOptions.from_json(state["options"]),
        )
        engine._next_num = int(state["next_num"])
        engine._clock = -math.inf if state["clock"] is None else float(state["clock"])
        engine._last_sweep = (
            -math.inf if state["last_sweep"] is None else float(state["last_sweep"])
        )
        engine._items_seen = int(state["items_seen"])
        for d in state["events"]:
            e = _Event.from_json(d)
            engine._events[e.num] = e
        engine._open = dict.fromkeys(int(n) for n in state["open"])
        for num in engine._open:
            engine._post(engine._events[num])
        engine._item_event = {str(k): int(v) for k, v in state["item_event"].items()}
        engine._idf = IncrementalIdf.from_state(state["idf"])
        engine._keywords = {k: RateSeries.from_json(v) for k, v in state["keywords"].items()}
        engine._alerts = [
            AlertRecord(
                time=datetime.fromisoformat(a["time"]),
                event_id=a["event_id"],
                grade=a["grade"],
                reason=a["reason"],
                kind=a["kind"],
                keyword=a["keyword"],
                item_id=a["item_id"],
                rule=a["rule"],
                features=dict(a["features"]),
            )
            for a in state["alerts"]
        ]
        engine._activity = deque((float(a[0]), int(a[1])) for a in state["activity"])
        engine._active = {int(k): int(v) for k, v in state["active"]}
        engine._active_total = sum(engine._active.values())
        engine._hot = [int(n) for n in state["hot"][0]]
        engine._hot_age = int(state["hot"][1])
        engine._threaded_sources = set(state["threaded_sources"])
        log = state["dedupe"]
        if log:
            engine._dedupe.add_many(
                [r[0] for r in log], [r[1] for r in log], [float(r[2]) for r in log], match=False
            )
        engine._dedupe_log = {r[0]: [r[1], float(r[2])] for r in log}
        return engine


def _weight(kv: tuple[str, float]) -> float:
    return kv[1]


def _merge_series(a: RateSeries, b: RateSeries, halflife_hours: float) -> RateSeries:
    out = RateSeries()
    out.times.extend(sorted([*a.times, *b.times]))
    # Bring both decayed counts to the later reference time before adding them.
    tau = halflife_hours * 3600.0 / math.log(2.0)
    ref = max(a.decayed_at, b.decayed_at)
    out.decayed_at = ref
    out.decayed = a.decayed * math.exp(-(ref - a.decayed_at) / tau) + b.decayed * math.exp(
        -(ref - b.decayed_at) / tau
    )
    return out
