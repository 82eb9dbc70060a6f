"""Open311 GeoReport v2 (/open311/v2/): public reads, like any city's 311 API.

``requests`` also takes POST (a new request, with the client's api_key: open311/tests check it);
its GET is the public list. Unknown ids and service codes answer the spec's 404 error list.
"""

from __future__ import annotations

from tests.test_role_matrix import Expect, public

PAGES: dict[str, tuple[str, Expect]] = {
    "open311:discovery": ("/open311/v2/discovery.json", public()),
    "open311:services": ("/open311/v2/services.xml", public()),
    "open311:service_definition": ("/open311/v2/services/nosuch.json", public(404)),
    "open311:requests": ("/open311/v2/requests.json", public()),
    "open311:request": ("/open311/v2/requests/MS-2025-999999.xml", public(404)),
}
