"""Headless chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe: commands on its fd 3,
answers and events on its fd 4, each a JSON message ending in a NUL byte), so no WebSocket client is needed. The
report's browser tests open their pages through it (tests/integration/conftest.py).
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


def main(argv=None):
    """python -m tests.integration.browser REPORT.html SHOT.png [WIDTH HEIGHT]: a screenshot of a
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
