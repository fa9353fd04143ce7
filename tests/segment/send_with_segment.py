"""Sends a known set of messages to tenure with the official Segment Python library.

Between the library and tenure sits a proxy that forwards every request but pretends the first
one failed (answers 503 after tenure stored it), so the library retries the very same batch, as it
would after a lost acknowledgement. tenure must store every message exactly once.

usage: send_with_segment.py TENURE_URL WRITE_KEY MESSAGES
prints one JSON line: {"sent": n, "requests": k, "acks_dropped": 1, "errors": [...]}
"""

import json
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import segment.analytics as analytics

tenure, write_key, count = sys.argv[1].rstrip("/"), sys.argv[2], int(sys.argv[3])
requests_seen = []
errors = []


class LossyProxy(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        forward = urllib.request.Request(tenure + self.path, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(forward) as answer:
                status, payload = answer.status, answer.read()
        except urllib.error.HTTPError as e:
            status, payload = e.code, e.read()
        requests_seen.append(status)
        if len(requests_seen) == 1 and status == 200:
            status, payload = 503, b'{"success":false,"code":"unavailable","message":"ack lost"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


proxy = ThreadingHTTPServer(("127.0.0.1", 0), LossyProxy)
threading.Thread(target=proxy.serve_forever, daemon=True).start()

client = analytics.Client(
    write_key,
    host="http://127.0.0.1:%d" % proxy.server_address[1],
    max_retries=5,
    on_error=lambda e, batch: errors.append(str(e)),
)
for i in range(count):
    user, account = "seg-user-%d" % (i % 7), "seg-acct-%d" % (i % 3)
    kind = i % 4
    if kind == 0:
        client.identify(user, {"email": "%s@example.com" % user}, anonymous_id="seg-anon-%d" % (i % 7), message_id="seg-%d" % i)
    elif kind == 1:
        client.group(user, account, {"name": "Account %s" % account}, message_id="seg-%d" % i)
    elif kind == 2:
        client.track(user, "Report Created", {"n": i}, context={"groupId": account}, message_id="seg-%d" % i)
    else:
        client.page(user, None, None, {"url": "https://example.com/?utm_source=google&utm_medium=cpc&n=%d" % i}, message_id="seg-%d" % i)
client.flush()
client.shutdown()
proxy.shutdown()
print(json.dumps({"sent": count, "requests": len(requests_seen), "acks_dropped": 1, "errors": errors}))
