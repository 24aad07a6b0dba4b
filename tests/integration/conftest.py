"""The report's browser tests share one headless chromium per module and a page fixture that opens the module's
`report` and checks, after each test, that it logged no error and loaded nothing but itself."""
import shutil

import pytest

from tests.integration.browser import Browser


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
    assert browser.requested() == ["file://" + report]  # loads nothing
