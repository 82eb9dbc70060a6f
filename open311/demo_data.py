"""The demo city's Open311 client, whose api_key is the published ``demo-open311-key``.

Demo data only: anyone who reads the README knows this key. Never load the demo city into a real
deployment (or revoke the key with ``minsheng open311 client revoke``).
"""

from __future__ import annotations

from open311.services import ensure_demo_client


def load() -> int:
    return ensure_demo_client()
