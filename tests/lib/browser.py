"""Debian's chromium, headless, driven by chromedriver through
python3-selenium, for the tests that look at a page in a real browser."""

import os
import shutil

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
except ImportError:
    webdriver = None

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")


def browser(profile, logs=False):
    """A headless chromium, or None and the reason there is none.  With
    `logs`, it keeps the console's messages ("browser") and the DevTools
    network events ("performance") for get_log()."""
    if webdriver is None:
        return None, "needs python3-selenium"
    if CHROMIUM is None or CHROMEDRIVER is None:
        return None, "needs Debian's chromium and chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--user-data-dir=" + profile):
        options.add_argument(arg)
    if os.geteuid() == 0:
        # Chromium's sandbox refuses root; only then is it turned off.
        options.add_argument("--no-sandbox")
    if logs:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    except Exception as e:  # noqa: BLE001 (any failure to start means: skip)
        return None, "chromium cannot run here: %s" % str(e).strip().splitlines()[0]
    driver.set_page_load_timeout(20)
    return driver, None
