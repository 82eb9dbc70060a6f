"""Who may call the sources app's operations. Its admin pages are guarded by the admin itself."""

from __future__ import annotations

# POST only, with a partner's API token (sources/tests/test_api.py checks who may push).
API = {"api:opinion_push": (None, lambda who: {401})}
