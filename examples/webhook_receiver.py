"""A webhook receiver in Python's standard library: verifies each delivery as Standard Webhooks
specifies (HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}", keyed by the base64 after
"whsec_"), answers fast, and handles each event once (the webhook-id is the idempotency key). It listens on
127.0.0.1 only, unless HOST says otherwise (HOST=0.0.0.0: every interface, reachable from other
machines; HOST=::1 for IPv6 loopback).

With the reference library (`pip install standardwebhooks`) the check is one call instead of
verify() below:
    from standardwebhooks.webhooks import Webhook
    Webhook(secret).verify(body, headers)

    WEBHOOK_SECRET=whsec_... PORT=8787 python3 examples/webhook_receiver.py
"""
import base64
import hashlib
import hmac
import json
import os
import socket
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = base64.b64decode(os.environ["WEBHOOK_SECRET"].removeprefix("whsec_"))
TOLERANCE_SECONDS = 5 * 60
seen = set()  # event ids already handled; a real receiver keeps them in its database


def verify(msg_id: str, timestamp: str, signatures: str, body: bytes) -> bool:
    if abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        return False  # too old (a replay) or too far ahead
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(SECRET, signed, hashlib.sha256).digest()).decode()
    # Several "v1,<base64>" entries, space-separated, while a rotated secret signs beside the new.
    return any(
        version == "v1" and hmac.compare_digest(sig, expected)
        for version, _, sig in (entry.partition(",") for entry in signatures.split())
    )


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        try:
            ok = verify(self.headers["webhook-id"], self.headers["webhook-timestamp"],
                        self.headers["webhook-signature"], body)
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok:
            self.send_response(400)
            self.end_headers()
            return
        msg_id = self.headers["webhook-id"]
        if msg_id not in seen:
            seen.add(msg_id)
            event = json.loads(body)
            data = event["data"]
            print(f"{event['type']}: {data['count']} contact(s), company {data['company_id']}",
                  flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass  # one line per event above is enough


class Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6 if ":" in os.environ.get("HOST", "") else socket.AF_INET


Server((os.environ.get("HOST") or "127.0.0.1", int(os.environ.get("PORT", "8787"))),
       Receiver).serve_forever()
