"""Drives tenure's dashboard in a real browser and checks it against the API.

    python3 dashboard.py TENURE_URL READ_KEY SCREENSHOT_DIR
    python3 dashboard.py --expiry TENURE_URL READ_KEY SECONDS

Debian's chromium, headless, through Playwright's `executable_path` (no browser is
downloaded). Signs in through the form, opens every page of the menu, changes every selector,
follows the drill-downs (campaign → its accounts → an account → its journey), downloads a CSV
by its link, walks the controls with the keyboard, and signs out. On every page it checks:

- no console error, no failed request, no answer of 400 or more;
- each figure's CSV (what the chart draws and the table shows) equals the rows of the API's
  JSON for the same parameters (`data-source`), field by field, and the page's table has one
  row per CSV row;
- every control has a label, and every chart a text alternative.

The status page's conversions (nested per rule and destination in the API) are checked on
their own: the line saying no rule is configured, or one row per rule and destination with
the API's counts.

Takes a screenshot of every page at a desktop and a phone width into SCREENSHOT_DIR. Prints a
JSON summary on stdout; exits non-zero with the problems on stderr if there are any.

With --expiry, against a server whose sessions last less than SECONDS: signs in, sees a page,
waits SECONDS, and checks that the same page now leads to the sign-in form.
"""

import csv
import io
import json
import os
import re
import sys
from urllib.parse import urljoin, urlparse, parse_qsl

from playwright.sync_api import sync_playwright

EXPIRY = sys.argv[1] == "--expiry"
ARGS = sys.argv[2:] if EXPIRY else sys.argv[1:]
BASE, KEY, SHOTS = ARGS[0].rstrip("/"), ARGS[1], ARGS[2]
CHROMIUM = os.environ.get("TENURE_CHROMIUM", "/usr/bin/chromium")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

problems = []
summary = {"pages": [], "figures_checked": 0, "selectors_changed": 0, "screenshots": 0}


def problem(text):
    problems.append(text)


def watch(page):
    """Collects console errors, failed requests and error answers of `page`."""
    seen = []
    page.on("console", lambda m: m.type == "error" and seen.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: seen.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: seen.append(f"failed request: {r.url} {r.failure}"))
    page.on(
        "response",
        lambda r: r.status >= 400 and seen.append(f"answer {r.status}: {r.url}"),
    )
    return seen


def api(request, path):
    answer = request.get(BASE + path, headers={"Authorization": f"Bearer {KEY}"})
    if answer.status != 200:
        problem(f"API {path} answered {answer.status}: {answer.text()[:300]}")
        return None
    return answer.json()


def dig(document, dotted):
    for part in dotted.split("."):
        if document is None:
            return None
        document = document.get(part)
    return document


def same(csv_text, value):
    """Whether a CSV cell holds the JSON value."""
    if value is None:
        return csv_text == ""
    if isinstance(value, bool):
        return csv_text == ("true" if value else "false")
    if isinstance(value, (int, float)):
        try:
            return abs(float(csv_text) - float(value)) <= 1e-9 * max(1.0, abs(float(value)))
        except ValueError:
            return False
    if isinstance(value, list):
        return csv_text == ";".join(str(v) for v in value)
    return csv_text == str(value)


def check_figures(page, where):
    """Each figure with a source: its CSV against the API's JSON, its table against its CSV."""
    for section in page.query_selector_all("section.figure[data-keys]"):
        figure = section.get_attribute("id")
        source = section.get_attribute("data-source")
        svg = section.query_selector("svg[role=img]")
        if svg is not None and not (svg.get_attribute("aria-label") or "").strip():
            problem(f"{where}: the chart of {figure} has no text alternative")
        link = section.query_selector("a[download]")
        if link is None:
            problem(f"{where}: figure {figure} has no CSV download")
            continue
        answer = page.request.get(urljoin(BASE, link.get_attribute("href")))
        if answer.status != 200:
            problem(f"{where}: CSV of {figure} answered {answer.status}")
            continue
        rows = list(csv.reader(io.StringIO(answer.text())))
        header, body = rows[0], rows[1:]
        table_rows = section.query_selector_all("table tbody tr")
        shown = [r for r in table_rows if r.query_selector("td.empty") is None]
        if len(shown) != len(body):
            problem(f"{where}: figure {figure} shows {len(shown)} rows, its CSV has {len(body)}")
        if not source:
            continue
        document = api(page.request, source)
        if document is None:
            continue
        listed = dig(document, section.get_attribute("data-rows") or "rows") or []
        keys = (section.get_attribute("data-keys") or "").split(",")
        if len(listed) != len(body):
            problem(f"{where}: figure {figure} has {len(body)} rows, the API {len(listed)} ({source})")
            continue
        for i, (record, line) in enumerate(zip(listed, body)):
            for key, text in zip(keys, line):
                if key not in record:
                    problem(f"{where}: {figure} column {key} is not a field of the API's rows")
                    break
                if not same(text, record[key]):
                    problem(f"{where}: {figure} row {i} {key}: CSV {text!r}, API {record[key]!r}")
                    break
        summary["figures_checked"] += 1


def check_labels(page, where):
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
            .filter(e => {
              const named = e.labels && e.labels.length > 0 || e.getAttribute('aria-label')
                || (e.tagName === 'BUTTON' && e.textContent.trim());
              return !named;
            }).map(e => e.outerHTML.slice(0, 120))"""
    )
    for html in unlabelled:
        problem(f"{where}: a control without a label: {html}")


anchors_of = {}


def check_doc_links(page, where):
    """Every "how this is computed" opens a heading the docs have."""
    for href in set(page.eval_on_selector_all("a[href^='/docs/']", "l => l.map(a => a.getAttribute('href'))")):
        doc, _, anchor = href.partition("#")
        if doc not in anchors_of:
            answer = page.request.get(BASE + doc)
            anchors_of[doc] = set(re.findall(r'id="([^"]+)"', answer.text())) if answer.ok else None
        if anchors_of[doc] is None:
            problem(f"{where}: {doc} is not a page of the docs")
        elif anchor and anchor not in anchors_of[doc]:
            problem(f"{where}: {href} opens no heading of {doc}")


CONVERSION_COUNTS = ("sent", "accepted", "duplicate", "unmatched", "rejected", "expired", "pending")


def check_conversions(page, seen):
    """The status page's conversions against `GET /api/v1/conversions`, whose rows are nested
    (rules, then destinations) where `data-rows` names a flat list: with no rule configured,
    the line saying so and no table; otherwise one row per rule and destination, the CSV's
    counts the API's."""
    seen.clear()
    page.goto(BASE + "/status")
    page.wait_for_load_state("networkidle")
    where = "status (conversions)"
    document = api(page.request, "/api/v1/conversions")
    if document is None:
        return
    section = page.query_selector("section#conversions")
    if section is None:
        problem(f"{where}: the page has no conversions block")
        return
    expected = [(r["rule"], d) for r in document["rules"] for d in r["destinations"]]
    if not expected:
        line = section.query_selector("p.none-configured")
        if line is None or "No conversion rule is configured" not in line.inner_text():
            problem(f"{where}: no rule is configured and the page does not say so")
        if section.query_selector("table") is not None:
            problem(f"{where}: no rule is configured, yet the page shows a table")
    else:
        link = section.query_selector("a[download]")
        answer = page.request.get(urljoin(BASE, link.get_attribute("href"))) if link else None
        if answer is None or answer.status != 200:
            problem(f"{where}: the conversions table has no CSV")
            return
        rows = list(csv.DictReader(io.StringIO(answer.text())))
        if len(rows) != len(expected):
            problem(f"{where}: {len(rows)} rows, the API has {len(expected)} rule × destination")
        for row, (rule, d) in zip(rows, expected):
            for key, want in [("rule", rule), ("destination", d["destination"])] + [
                (k, d[k]) for k in CONVERSION_COUNTS
            ]:
                if not same(row.get(key, ""), want):
                    problem(f"{where}: {rule}/{d['destination']} {key}: CSV {row.get(key)!r}, API {want!r}")
    summary["conversion_rows"] = len(expected)
    flush(seen, where)


def shoot(page, name):
    for size, tag in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page.set_viewport_size(size)
        page.screenshot(path=os.path.join(SHOTS, f"{name}-{tag}.png"), full_page=True)
        summary["screenshots"] += 1
    page.set_viewport_size(DESKTOP)


def flush(seen, where):
    """What went wrong since the last check, as problems of `where`."""
    for text in seen:
        problem(f"{where}: {text}")
    seen.clear()


def visit(page, seen, url, name):
    seen.clear()
    page.goto(url)
    page.wait_for_load_state("networkidle")
    where = f"{name} ({urlparse(page.url).path})"
    check_figures(page, where)
    check_labels(page, where)
    check_doc_links(page, where)
    shoot(page, name)
    for text in seen:
        problem(f"{where}: {text}")
    summary["pages"].append(name)
    return where


def change_selectors(page, seen, name):
    """Each selector of the page's controls, set to another value: the page updates in place
    (htmx), the address follows, and the figures still equal the API's."""
    count = len(page.query_selector_all("form.controls select"))
    for index in range(count):
        select = page.query_selector_all("form.controls select")[index]
        field = select.get_attribute("name")
        options = [o.get_attribute("value") for o in select.query_selector_all("option")]
        current = select.evaluate("s => s.value")
        others = [o for o in options if o != current]
        if not others:
            continue
        choice = others[len(others) // 2]
        seen.clear()
        with page.expect_response(lambda r: r.request.headers.get("hx-request") == "true"):
            select.select_option(choice)
        page.wait_for_load_state("networkidle")
        try:
            page.wait_for_url(
                lambda url: dict(parse_qsl(urlparse(url).query)).get(field, "") == choice,
                timeout=5000,
            )
        except Exception:
            problem(f"{name}: choosing {field}={choice} left the address at {page.url}")
        if "=&" in page.url or page.url.endswith("="):
            problem(f"{name}: the address keeps empty fields: {page.url}")
        where = f"{name} with {field}={choice}"
        check_figures(page, where)
        for text in seen:
            problem(f"{where}: {text}")
        summary["selectors_changed"] += 1


def expiry(seconds):
    """A session past its lifetime ends access, in the browser that held it."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(BASE + "/signin")
        page.fill("input[name=key]", KEY)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        if urlparse(page.url).path != "/":
            problem(f"signing in led to {page.url}")
        page.wait_for_timeout(int(seconds * 1000))
        page.goto(BASE + "/status")
        if urlparse(page.url).path != "/signin":
            problem(f"after the session's lifetime, /status led to {page.url}")
        browser.close()
    print(json.dumps({"expired": not problems}))
    if problems:
        print("\n".join(problems), file=sys.stderr)
        sys.exit(1)


def main():
    if EXPIRY:
        return expiry(float(SHOTS))
    os.makedirs(SHOTS, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
        page = context.new_page()
        seen = watch(page)

        # Signed out, every page leads to the sign-in form; a wrong key is refused there.
        page.goto(BASE + "/attribution")
        if urlparse(page.url).path != "/signin":
            problem(f"signed out, /attribution led to {page.url}")
        shoot(page, "signin")
        page.fill("input[name=key]", "not-a-key")
        page.click("button[type=submit]")
        if "not known" not in page.inner_text("main"):
            problem("a wrong key was not refused with a reason")
        seen.clear()
        page.fill("input[name=key]", KEY)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        if urlparse(page.url).path != "/attribution":
            problem(f"signing in did not come back to /attribution but to {page.url}")
        cookies = {c["name"]: c for c in context.cookies()}
        session = cookies.get("tenure_session")
        if not session or not session["httpOnly"] or session["sameSite"] not in ("Lax", "Strict"):
            problem(f"the session cookie is not HttpOnly and SameSite: {session}")

        menu = page.eval_on_selector_all(
            "nav.pages a", "links => links.map(a => [a.textContent.trim(), a.getAttribute('href')])"
        )
        for label, href in menu:
            name = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
            visit(page, seen, urljoin(BASE, href), name)
            change_selectors(page, seen, name)

        check_conversions(page, seen)

        # Drill-downs: a campaign to its accounts, an account to its page and its journey.
        page.goto(BASE + "/attribution?by=campaign")
        campaign = page.query_selector("section.figure a[href*='/attribution/campaign']")
        if campaign is None:
            problem("attribution by campaign has no link to a campaign's accounts")
        else:
            visit(page, seen, urljoin(BASE, campaign.get_attribute("href")), "campaign")
            account = page.query_selector("section.figure a[href^='/accounts/']")
            if account is None:
                problem("a campaign's page has no link to an account")
            else:
                visit(page, seen, urljoin(BASE, account.get_attribute("href")), "account")
        flush(seen, "the campaign drill-down")
        # The experiment by the simulated company's trait: its figures against the API's.
        visit(page, seen, BASE + "/experiment?by=onboarding_variant", "experiment-by-trait")
        if page.query_selector("section.figure#activation") is None:
            problem("the experiment page by onboarding_variant shows no activation figure")
        flush(seen, "the experiment by its trait")
        page.goto(BASE + "/accounts")
        first = page.query_selector("section.figure a[href^='/accounts/']")
        if first is None:
            problem("the accounts list links to no account")
        else:
            first.click()
            page.wait_for_load_state("networkidle")
            if not page.query_selector("section.figure#journey"):
                problem(f"the account page {page.url} shows no journey")
        flush(seen, "an account from the list")

        # A CSV by its link, as a person downloads it.
        page.goto(BASE + "/")
        with page.expect_download() as download:
            page.click("section.figure a[download]")
        path = download.value.path()
        with open(path, encoding="utf-8") as f:
            if not f.readline().startswith("month,"):
                problem("the overview's first CSV does not start with its header")
        flush(seen, "a CSV download")

        # The keyboard reaches the skip link, the menu and the selectors.
        page.goto(BASE + "/attribution")
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.className") != "skip":
            problem("the first Tab does not reach the skip link")
        reached = set()
        for _ in range(60):
            page.keyboard.press("Tab")
            reached.add(page.evaluate("document.activeElement.tagName"))
        if not {"A", "SELECT", "BUTTON", "INPUT"} <= reached:
            problem(f"Tab reaches only {sorted(reached)}")
        flush(seen, "the keyboard walk")

        # Sign-out ends access.
        page.click("form.signout button")
        page.wait_for_load_state("networkidle")
        page.goto(BASE + "/")
        if urlparse(page.url).path != "/signin":
            problem(f"after signing out, / led to {page.url}")
        flush(seen, "signing out")
        browser.close()

    print(json.dumps(summary))
    if problems:
        print("\n".join(problems), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
