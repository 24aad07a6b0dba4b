"""The HTML report of the large run of register_devices.yml (tests/integration/large_run.py: 10,000 devices in
`make test-slow`, 2,000 in `make test`), opened in a real browser (Debian's chromium, headless; `make test`
installs it when missing): the counts, the failure-first order, the filters and sorting, read and used through
the page. Screenshots and the report go to .build/test-output/report-browser/, named by the run's device count.

Chromium is driven over the DevTools protocol on a pipe (--remote-debugging-pipe: commands on its fd 3, answers
and events on its fd 4, each a JSON message ending in a NUL byte), so no WebSocket client is needed.
"""
import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time

import pytest

from tests.integration import large_run
from tests.integration.large_run import (CUSTOMERS, FAILED_BATCH, FOREIGN, OUTPUT_DIR, PER_CUSTOMER, Expected,
                                         customer_id, customer_name, device_key)

SHOTS = os.path.join(OUTPUT_DIR, "report-browser")
SIZE = CUSTOMERS * PER_CUSTOMER  # devices in the inventory, in the names of the report copy and screenshots
REPORT = os.path.join(SHOTS, "autopilot-report-%d.html" % SIZE)
ALL_ROWS = Expected.devices + 1  # and the failed batch's own row
RANKS = {"batch failed": 0, "failed": 1, "profile failed": 2, "pending": 3, "would add": 4, "registered": 5,
         "already present": 6}


class BrowserError(Exception):
    pass


def _high_fd(fd):
    """The same pipe end on a descriptor >= 10, so bash's 3<&N 4>&M cannot overwrite one with the other (dash
    takes one digit only)."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return high


class Browser:
    """Headless chromium and one page, driven over the DevTools protocol."""

    def __init__(self, executable, width=1400, height=1000, timeout=60):
        self.timeout, self.events, self._next_id, self._buffer = timeout, [], 0, b""
        self.profile = tempfile.mkdtemp(prefix="pc-chromium-")
        to_browser_read, to_browser = os.pipe()
        from_browser, from_browser_write = os.pipe()
        to_browser_read, from_browser_write = _high_fd(to_browser_read), _high_fd(from_browser_write)
        self._to, self._from = to_browser, from_browser
        self.log_path = os.path.join(self.profile, "chromium.log")
        args = ["--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                "--disable-sync", "--disable-component-update", "--mute-audio", "--hide-scrollbars",
                "--user-data-dir=" + os.path.join(self.profile, "user-data"), "about:blank"]
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                ["bash", "-c", 'exec "$0" "$@" 3<&%d 4>&%d' % (to_browser_read, from_browser_write), executable] + args,
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, pass_fds=(to_browser_read, from_browser_write))
        os.close(to_browser_read)
        os.close(from_browser_write)
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.send(domain + ".enable", session=True)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=True)

    # ----- the protocol ----------------------------------------------------------------------------------
    def _read(self, deadline):
        while b"\0" not in self._buffer:
            remaining = deadline - time.time()
            if remaining <= 0 or self.proc.poll() is not None:
                raise BrowserError("chromium did not answer (exit %s); its log: %s" % (self.proc.poll(), self.log()))
            ready, _w, _x = select.select([self._from], [], [], min(remaining, 1.0))
            if ready:
                chunk = os.read(self._from, 1 << 20)
                if not chunk:
                    raise BrowserError("chromium closed its pipe; its log: %s" % self.log())
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message.decode("utf-8"))

    def send(self, method, params=None, session=False):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        os.write(self._to, json.dumps(message).encode("utf-8") + b"\0")
        deadline = time.time() + self.timeout
        while True:
            answer = self._read(deadline)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise BrowserError("%s: %s" % (method, answer["error"]))
                return answer.get("result", {})
            if "method" in answer:
                self.events.append(answer)

    def log(self):
        with open(self.log_path) as handle:
            return handle.read()[-3000:]

    def close(self):
        try:
            self.send("Browser.close")
        except (BrowserError, OSError):
            pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to, self._from):
            os.close(fd)
        shutil.rmtree(self.profile, ignore_errors=True)

    # ----- the page --------------------------------------------------------------------------------------
    def js(self, expression):
        """The value of a JavaScript expression in the page (exceptions in it fail the test)."""
        answer = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True}, session=True)
        if "exceptionDetails" in answer:
            raise BrowserError("%s: %s" % (expression, json.dumps(answer["exceptionDetails"])[:2000]))
        return answer["result"].get("value")

    def open(self, url):
        self.send("Page.navigate", {"url": url}, session=True)
        deadline = time.time() + self.timeout
        while not self.js("document.readyState === 'complete' && document.body.dataset.ready === 'true'"):
            if time.time() > deadline:
                raise BrowserError("the page did not finish its script: %s" % self.errors())
            time.sleep(0.1)

    def click(self, selector):
        """A real mouse click (pressed and released) in the middle of the element."""
        box = self.js("(function () { var e = document.querySelector(%s); e.scrollIntoView({block: 'center'}); "
                      "var r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; }())"
                      % json.dumps(selector))
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1], "button": "left",
                                                   "clickCount": 1}, session=True)

    def choose(self, selector, value):
        """Pick an option of a select as a user does: the value changes, then the change event fires."""
        assert self.js("(function () { var s = document.querySelector(%s); s.focus(); s.value = %s; "
                       "s.dispatchEvent(new Event('change', {bubbles: true})); return s.value; }())"
                       % (json.dumps(selector), json.dumps(value))) == value

    def type(self, selector, text):
        """Replace the text of an input as typing does (an empty text clears it)."""
        self.js("(function () { var e = document.querySelector(%s); e.focus(); e.select(); }())" % json.dumps(selector))
        if text:
            self.send("Input.insertText", {"text": text}, session=True)
        else:
            self.send("Input.dispatchKeyEvent", {"type": "keyDown", "key": "Backspace", "code": "Backspace",
                                                 "windowsVirtualKeyCode": 8}, session=True)
            self.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": "Backspace", "code": "Backspace",
                                                 "windowsVirtualKeyCode": 8}, session=True)
        assert self.js("document.querySelector(%s).value" % json.dumps(selector)) == text

    def screenshot(self, path):
        data = self.send("Page.captureScreenshot", {"format": "png"}, session=True)["data"]
        with open(path, "wb") as handle:
            handle.write(base64.b64decode(data))
        return path

    def errors(self):
        """Script exceptions and error-level console entries the page produced."""
        found = [e["params"]["exceptionDetails"] for e in self.events if e["method"] == "Runtime.exceptionThrown"]
        found += [e["params"]["entry"] for e in self.events
                  if e["method"] == "Log.entryAdded" and e["params"]["entry"].get("level") == "error"]
        return found

    def requested(self):
        return [e["params"]["request"]["url"] for e in self.events if e["method"] == "Network.requestWillBeSent"]

    # What the page shows: the rows not hidden, as (outcome cell, serial number, product key, customer).
    def visible(self):
        return self.js("Array.prototype.slice.call(document.querySelectorAll('#devices tbody tr'))"
                       ".filter(function (r) { return !r.hidden; })"
                       ".map(function (r) { return [r.cells[4].textContent, r.cells[2].textContent, "
                       "r.cells[3].textContent, r.dataset.c]; })")

    def shown(self):
        return self.js("document.getElementById('shown').textContent")


@pytest.fixture(scope="module")
def runs(emulator_tls):
    return large_run.large_runs(emulator_tls)


@pytest.fixture(scope="module")
def report(runs):
    first = runs[0]
    assert os.path.exists(first.html_path), first
    shutil.rmtree(SHOTS, ignore_errors=True)
    os.makedirs(SHOTS)
    shutil.copyfile(first.html_path, REPORT)
    return REPORT


@pytest.fixture(scope="module")
def browser():
    executable = shutil.which("chromium")
    if not executable:
        pytest.fail("Debian's chromium is missing: `make test` (make chromium) installs it as root, "
                    "or run apt-get install chromium")
    opened = Browser(executable)
    yield opened
    opened.close()


@pytest.fixture
def page(browser, report):
    browser.events[:] = []
    browser.open("file://" + report)
    yield browser
    assert browser.errors() == []


def number(text):
    return int(text.replace(",", ""))


def test_counts_per_outcome_and_customer(page):
    tiles = page.js("(function () { var out = {}; document.querySelectorAll('#outcome-counts b')"
                    ".forEach(function (b) { out[b.dataset.count] = b.textContent; }); return out; }())")
    assert dict((k, number(v)) for k, v in tiles.items()) == {
        "all": Expected.devices, "batch_failed": 1, "failed": len(Expected.failed), "pending": 0,
        "profile_failed": 0, "profile_assigned": Expected.profiles, "registered": Expected.registered,
        "already_present": 0}
    # Problems look like problems only when there are some.
    assert page.js("document.querySelector('[data-k=pending]').className") == ""
    assert page.js("document.querySelector('[data-k=failed]').className") == "bad"
    meta = page.js("document.querySelector('.meta').textContent")
    assert large_run.service_url() in meta and "UTC" in meta
    assert "{0:,} devices of {1} customers in {1} batches".format(Expected.devices, CUSTOMERS) in meta
    assert page.js("document.querySelectorAll('#devices tbody tr').length") == ALL_ROWS
    assert page.shown() == "{0:,} of {0:,} shown".format(ALL_ROWS)

    heads = page.js("Array.prototype.map.call(document.querySelectorAll('#customers thead th'), "
                    "function (h) { return h.textContent; })")
    table = page.js("Array.prototype.map.call(document.querySelectorAll('#customers tbody tr'), function (r) { "
                    "return Array.prototype.map.call(r.cells, function (c) { return c.textContent; }); })")
    assert heads[:4] == ["customer", "customer id", "batches", "devices"]
    found = dict((row[1], dict(zip(heads, row))) for row in table)
    assert len(found) == CUSTOMERS
    for c in range(CUSTOMERS):
        devices, failed, registered, batch_failed = Expected.per_customer(c)
        row = found[customer_id(c)]
        assert row["customer"] == (customer_name(c) or ""), row
        assert (number(row["devices"]), number(row["failed"]), number(row["registered"]),
                number(row["batches failed"])) == (devices, failed, registered, batch_failed), row
        assert number(row["profile failed"]) == 0 and number(row["already present"]) == 0
    # Customers with problems first.
    troubled = set([customer_id(FAILED_BATCH)] + [customer_id(c) for c, _key in Expected.failed])
    assert set(row[1] for row in table[:len(troubled)]) == troubled


def test_failures_first(page):
    outcomes = page.js("Array.prototype.map.call(document.querySelectorAll('#devices tbody tr'), "
                       "function (r) { return r.cells[4].textContent; })")
    ranks = [RANKS[o] for o in outcomes]
    assert ranks == sorted(ranks)
    assert outcomes[:1 + len(Expected.failed)] == ["batch failed"] + ["failed"] * len(Expected.failed)
    first = page.js("Array.prototype.map.call(document.querySelectorAll('#devices tbody tr'), function (r) { "
                    "return r.cells[2].textContent + r.cells[3].textContent; }).slice(1, %d)"
                    % (1 + len(Expected.failed)))
    assert sorted(first) == sorted(key for _c, key in Expected.failed)
    page.screenshot(os.path.join(SHOTS, "report-%d-devices.png" % SIZE))


def test_filter_by_outcome_customer_and_text(page):
    page.choose("#outcome-filter", "failed")
    assert sorted(v[1] + v[2] for v in page.visible()) == sorted(key for _c, key in Expected.failed)
    assert set(v[0] for v in page.visible()) == {"failed"}
    assert page.shown() == "3 of {:,} shown".format(ALL_ROWS)
    assert page.js("location.hash") == "#outcome=failed"
    page.screenshot(os.path.join(SHOTS, "report-%d-devices-failed.png" % SIZE))

    four = customer_id(4)
    page.choose("#customer-filter", four)  # both filters at once
    assert sorted(v[1] for v in page.visible()) == sorted(device_key(c, d) for c, d in FOREIGN if c == 4)
    page.choose("#outcome-filter", "")
    visible = page.visible()
    assert len(visible) == PER_CUSTOMER and set(v[3] for v in visible) == {four}
    assert page.shown() == "{:,} of {:,} shown".format(PER_CUSTOMER, ALL_ROWS)
    # Any part of a row, any case: all but the last digit of SN-04-0200 (SN-04-0040 at 2,000 devices).
    tens = FOREIGN[1][1]
    assert FOREIGN[1][0] == 4 and tens % 10 == 0 and tens + 10 <= PER_CUSTOMER
    page.type("#search", device_key(4, tens)[:-1].lower())
    assert sorted(v[1] for v in page.visible()) == [device_key(4, d) for d in range(tens, tens + 10)]
    assert page.shown() == "10 of {:,} shown".format(ALL_ROWS)

    # Clicking an outcome count filters by it (and clicking it again shows all); so does a customer's line.
    page.type("#search", "")
    page.choose("#customer-filter", "")
    page.click("#outcome-counts [data-k=batch_failed]")
    assert [(v[0], v[3]) for v in page.visible()] == [("batch failed", customer_id(FAILED_BATCH))]
    page.click("#outcome-counts [data-k=batch_failed]")
    assert len(page.visible()) == ALL_ROWS
    page.click('#customers tbody tr[data-c="%s"]' % customer_id(29))
    assert page.js("document.getElementById('customer-filter').value") == customer_id(29)
    assert len(page.visible()) == PER_CUSTOMER

    # A link with a filter in its address opens the report filtered.
    page.js("location.hash = '#outcome=attention'")
    time.sleep(0.2)
    assert sorted(v[0] for v in page.visible()) == ["batch failed"] + ["failed"] * len(Expected.failed)


def test_sort_by_column(page):
    page.choose("#customer-filter", customer_id(4))
    page.click("#devices thead th:nth-child(3) button")  # serial number, ascending
    serials = [v[1] for v in page.visible()]
    assert serials == [device_key(4, d) for d in range(PER_CUSTOMER)]
    assert page.js("document.querySelector('#devices thead th:nth-child(3)').getAttribute('aria-sort')") == "ascending"
    page.click("#devices thead th:nth-child(3) button")  # again: descending
    assert [v[1] for v in page.visible()] == serials[::-1]
    page.click("#devices thead th:nth-child(5) button")  # outcome: failures first again
    outcomes = [v[0] for v in page.visible()]
    assert outcomes[:2] == ["failed", "failed"] and set(outcomes[2:]) == {"registered"}


def test_the_report_is_one_file_that_loads_nothing(page):
    assert page.requested() == ["file://" + REPORT]
    assert page.js("document.querySelectorAll('script[src], link[href], img, iframe').length") == 0
    assert "default-src 'none'" in page.js(
        "document.querySelector('meta[http-equiv=\"Content-Security-Policy\"]').content")


def main(argv=None):
    """python -m tests.integration.test_report_browser REPORT.html SHOT.png [WIDTH HEIGHT]: a screenshot of a
    report as the browser test opens it (how docs/report-demo.png was made from make demo's report)."""
    import sys
    args = list(sys.argv[1:] if argv is None else argv)
    width, height = (int(args[2]), int(args[3])) if len(args) > 3 else (1400, 1000)
    opened = Browser(shutil.which("chromium") or "chromium", width=width, height=height)
    try:
        opened.open("file://" + os.path.abspath(args[0]))
        opened.screenshot(args[1])
    finally:
        opened.close()


if __name__ == "__main__":
    main()
