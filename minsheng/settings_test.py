"""Settings for the test suite: the real settings, with test-only defaults set first.

The environment still wins (CI passes DATABASE_URL and REDIS_URL to run the same suite on
PostgreSQL and Redis).
"""

import os
import tempfile

os.environ.setdefault("MINSHENG_ENV", "test")
os.environ.setdefault("MINSHENG_DATA_DIR", tempfile.mkdtemp(prefix="minsheng-test-"))
# A fixed, obviously-test key so the vault works without touching var/.
os.environ.setdefault("MINSHENG_VAULT_KEYS", "dGVzdC12YXVsdC1rZXktMzItYnl0ZXMtbG9uZyEhISE=")
os.environ.setdefault("MINSHENG_VAULT_INDEX_KEY", "dGVzdC1ibGluZC1pbmRleC1rZXktMzItYnl0ZXMhISE=")
os.environ.setdefault("MINSHENG_LOG_FORMAT", "text")

from minsheng.settings import *  # noqa: F403
from minsheng.settings import PASSWORD_HASHERS as _HASHERS

# A fast hasher for fixtures; argon2 stays second so tests can still check it is the default.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *_HASHERS]

# force_login() goes through a backend whose sessions count as having passed the second factor
# (tests/auth_backends.py); password sign-ins still go through the real ModelBackend.
AUTHENTICATION_BACKENDS = ["tests.auth_backends.ForceLoginBackend", *AUTHENTICATION_BACKENDS]  # noqa: F405

# WhiteNoise warns when the static root is missing; tests serve static files through finders.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405

# With pytest-xdist each worker process gets a Redis database of its own for the cache (the
# broker stays shared): rate-limit counters, locks and caches of one worker's tests must not
# leak into another's, and conftest clears the cache before every test.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
_redis = os.environ.get("REDIS_URL", "")
if _redis and _worker.startswith("gw") and _worker[2:].isdigit():
    import re as _re

    _db = 1 + int(_worker[2:]) % 8
    CACHES["default"]["LOCATION"] = _re.sub(r"(/\d+)?$", f"/{_db}", _redis.rstrip("/"), count=1)  # noqa: F405
