"""A real browser on a real page sends real events to tenure.

    python3 drive.py SDK TENURE_URL WRITE_KEY      (SDK: segment or rudderstack)

Serves site/ on 127.0.0.1 (another origin than tenure's), opens the SDK's landing page with
UTM parameters and a click id in Debian's chromium (headless, through Playwright's
`executable_path`: no browser is downloaded), follows the link to the pricing page and signs up
there (identify, then group). Waits until tenure has answered every call the SDK makes, then
prints them as JSON: [[method, path, status], ...]. Exits non-zero if one is missing.
"""

import functools
import http.server
import json
import os
import sys
import threading
import time
from urllib.parse import urlparse

from playwright.sync_api import sync_playwright

SITE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "site")
MARKETING = "?utm_source=google&utm_medium=cpc&utm_campaign=spring_launch&gclid=Cj0KbrowserTest"
# Each SDK's pages, and the paths it posts a page view, an identify and a group to.
SDKS = {
    "segment": ("/landing.html", "/pricing.html", "/v1/p", "/v1/i", "/v1/g"),
    "rudderstack": (
        "/rudderstack-landing.html",
        "/rudderstack-pricing.html",
        "/v1/page",
        "/v1/identify",
        "/v1/group",
    ),
}


class Site(http.server.SimpleHTTPRequestHandler):
    config = b""

    def do_GET(self):
        if self.path == "/config.js":
            self.send_response(200)
            self.send_header("Content-Type", "text/javascript")
            self.send_header("Content-Length", str(len(self.config)))
            self.end_headers()
            self.wfile.write(self.config)
        else:
            super().do_GET()

    def log_message(self, *args):
        pass


def main():
    sdk, tenure_url, write_key = sys.argv[1], sys.argv[2], sys.argv[3]
    landing, pricing, page_path, identify_path, group_path = SDKS[sdk]
    Site.config = ("window.TENURE = %s;" % json.dumps({"url": tenure_url, "writeKey": write_key})).encode()
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Site, directory=SITE))
    threading.Thread(target=site.serve_forever, daemon=True).start()
    origin = "http://127.0.0.1:%d" % site.server_port

    answered = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
            headless=True,
            args=["--no-sandbox"],
        )
        page = browser.new_page()
        page.on("console", lambda m: print("console:", m.text, file=sys.stderr))
        page.on("pageerror", lambda e: print("page error:", e, file=sys.stderr))

        def on_response(response):
            if response.url.startswith(tenure_url):
                answered.append([response.request.method, urlparse(response.url).path, response.status])

        page.on("response", on_response)

        def wait_for(path, count):
            deadline = time.time() + 20
            while time.time() < deadline:
                if sum(1 for m, p, s in answered if m == "POST" and p == path and s == 200) >= count:
                    return
                page.wait_for_timeout(100)
            raise SystemExit("tenure did not answer %d POST %s: %s" % (count, path, answered))

        page.goto(origin + landing + MARKETING)
        wait_for(page_path, 1)
        page.click("#pricing")
        page.wait_for_url("**" + pricing)
        wait_for(page_path, 2)
        page.click("#signup")
        wait_for(identify_path, 1)
        wait_for(group_path, 1)
        browser.close()
    site.shutdown()
    print(json.dumps(answered))


if __name__ == "__main__":
    main()
