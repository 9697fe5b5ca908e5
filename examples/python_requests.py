"""The gateway with requests: link two contacts to a company, walk all its contacts page by page,
unlink one, and handle an error.

    LEADLEX_API_URL=http://localhost:54321/functions/v1 LEADLEX_API_KEY=wbk_... \\
        python3 examples/python_requests.py
"""
import os
import sys
import time

import requests

API = os.environ.get("LEADLEX_API_URL", "http://localhost:54321/functions/v1") + "/api-gateway/v1"
GLOBEX = "c0000000-0000-4000-8000-000000000001"
ADA = "a0000000-0000-4000-8000-000000000001"
ALAN = "a0000000-0000-4000-8000-000000000002"
# Contacts per page: 100, the most (the tests set 1, to walk several pages).
PER_PAGE = int(os.environ.get("LEADLEX_PER_PAGE", "100"))

if not os.environ.get("LEADLEX_API_KEY"):
    sys.exit("Set LEADLEX_API_KEY to an API key (wbk_...).")
session = requests.Session()
session.headers["Authorization"] = f"Bearer {os.environ['LEADLEX_API_KEY']}"


class ApiError(Exception):
    """Any answer but 2xx: the envelope {"error": {"code", "message", "details"?}}."""

    def __init__(self, status, error):
        super().__init__(f"{status} {error.get('code')}: {error.get('message')}")
        self.status, self.code = status, error.get("code")


def call(method, path, **kwargs):
    """One call. On 429 (or 503) waits Retry-After seconds and tries again, at most twice: link
    and unlink are idempotent, and a refused request did nothing."""
    for attempt in range(1, 4):
        response = session.request(method, API + path, timeout=30, **kwargs)
        headers = response.headers
        print(f"{method} {path}: {response.status_code}, RateLimit: {headers.get('RateLimit')}, "
              f"{headers.get('X-RateLimit-Remaining')} of {headers.get('X-RateLimit-Limit')} "
              "left today")
        retry_after = int(headers.get("Retry-After", "-1"))
        if response.status_code in (429, 503) and attempt < 3 and 0 <= retry_after <= 60:
            print(f"  retrying in {retry_after} s")
            time.sleep(retry_after)
            continue
        if not response.ok:
            try:
                error = response.json()["error"]
            except (ValueError, KeyError):
                error = {"code": None, "message": response.reason}
            raise ApiError(response.status_code, error)
        return response.json()


def contact_pages(company_id):
    """Every page of a company's contacts: the first, then each page's next_cursor until it is
    null. A page costs the same however deep; rows linked or unlinked meanwhile may or may not
    show, and none shows twice."""
    params = {"per_page": PER_PAGE}
    while True:
        page = call("GET", f"/companies/{company_id}/contacts", params=params)
        yield page
        if page["meta"]["next_cursor"] is None:
            return
        params = {"per_page": PER_PAGE, "cursor": page["meta"]["next_cursor"]}


try:
    linked = call("POST", f"/companies/{GLOBEX}/contacts/link", json={"contact_ids": [ADA, ALAN]})
    print(f"linked: {linked['data']['updated']} updated, {linked['data']['failed']} failed")

    for page in contact_pages(GLOBEX):
        if "total" in page["meta"]:
            print(f"Globex has {page['meta']['total']} contacts:")
        for contact in page["data"]:
            print(f"  {contact['id']} {contact['full_name']}")

    unlinked = call("POST", f"/companies/{GLOBEX}/contacts/unlink", json={"contact_ids": [ALAN]})
    print(f"unlinked: {unlinked['data']['updated']} updated, {unlinked['data']['failed']} failed")

    # An error, handled: a company that is not in the workspace.
    try:
        call("GET", "/companies/c0000000-0000-4000-8000-000000000009/contacts")
    except ApiError as err:
        if err.code != "company_not_found":
            raise
        print(f"refused as expected: {err}")
except ApiError as err:
    sys.exit(f"error: {err}")
