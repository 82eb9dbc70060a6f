"""Source plug-ins, one module each, all behind ``base.Fetcher``. ``FETCHERS`` maps a source's
kind to its plug-in; push sources have none (partners send to the API instead)."""

from __future__ import annotations

from sources.plugins.base import Fetcher
from sources.plugins.feed import FeedFetcher
from sources.plugins.imports import ImportFetcher
from sources.plugins.web import PageFetcher, SectionFetcher

FETCHERS: dict[str, Fetcher] = {
    fetcher.kind: fetcher
    for fetcher in (FeedFetcher(), PageFetcher(), SectionFetcher(), ImportFetcher())
}
