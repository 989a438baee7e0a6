"""report --html: one page that is well-formed HTML with well-formed SVG,
fetches nothing, escapes what customers and the database wrote, shows the
same numbers as stats, is written whole and private (0600) or not at
all, and loads in headless chromium with no console error and no network
request (skipped, saying why, where chromium cannot run)."""

import html.parser
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import TMPDIR, ShopTest, main  # noqa: E402
from browser import browser  # noqa: E402

EX_USAGE = 64
EX_CANTCREAT = 73
HOSTILE_NAME = "<script>alert(1)</script>"
HOSTILE_CAMPAIGN = "<img src=x onerror=alert(2)>"
SVG = "{http://www.w3.org/2000/svg}"
VOID = {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "embed",
        "source", "track", "wbr"}


class Page(html.parser.HTMLParser):
    """The page's tags, checked to nest properly, and its tables as rows
    of cell texts."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.open, self.errors, self.attrs = [], [], []
        self.tables, self.text, self.cell = [], [], None
        self.feed(text)
        self.close()
        if self.open:
            self.errors.append("never closed: %s" % self.open)

    def handle_starttag(self, tag, attrs):
        self.attrs += [(tag, k, v) for k, v in attrs]
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = []
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.attrs += [(tag, k, v) for k, v in attrs]

    def handle_endtag(self, tag):
        if not self.open or self.open[-1] != tag:
            self.errors.append("</%s> closes %s" % (tag, self.open[-1:]))
            return
        self.open.pop()
        if tag in ("td", "th"):
            self.tables[-1][-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self.cell is not None:
            self.cell.append(data)


class ReportShop(ShopTest):
    """A shop with sales over three months (one empty), a referral by a
    customer with a hostile name, its clicks, and a message sent for a
    campaign only the database knows, with a hostile name too."""

    def setUp(self):
        super().setUp()
        shop = self.shop
        shop.sale("A-1", "ana@example.com", name=HOSTILE_NAME, amount="10.00",
                  at="2026-09-03")
        shop.sale("A-2", "ana@example.com", amount="12.00", at="2026-09-20")
        shop.sale("B-1", "bo@example.com", name="Bo & Co", amount="5.00", currency="GBP",
                  at="2026-09-21", referral=shop.code_of("ana@example.com"))
        shop.sale("A-3", "ana@example.com", amount="7.00", at="2026-11-20")
        shop.sale("C-1", "cy@example.com", amount="7.00", at="2026-11-21")
        with shop.db() as db:
            # A campaign only the database still knows, named by someone hostile.
            db.execute("INSERT INTO messages (campaign, customer_id, sale_id, state, due_at,"
                       " created_at, updated_at, sent_at)"
                       " SELECT ?, customer_id, id, 'sent', sold_at + 60, 0, 0, sold_at + 60"
                       " FROM sales WHERE order_id = 'C-1'", (HOSTILE_CAMPAIGN,))
            db.execute("INSERT INTO referral_clicks (customer_id, day, clicks)"
                       " SELECT id, 1789862400, 7 FROM customers WHERE email = 'ana@example.com'")
        self.path = shop.path("report.html")

    def report(self, *args):
        self.shop.ok("report", "--html", self.path, *args)
        with open(self.path, encoding="utf-8") as f:
            return f.read()


class Report(ReportShop):

    def test_well_formed_and_self_contained(self):
        text = self.report()
        page = Page(text)
        self.assertEqual(page.errors, [])
        self.assertTrue(text.startswith("<!DOCTYPE html>"))
        svgs = re.findall(r"<svg\b.*?</svg>", text, re.S)
        self.assertEqual(len(svgs), 6)
        for svg in svgs:
            root = ET.fromstring(svg)       # raises unless well-formed XML
            self.assertEqual(root.tag, SVG + "svg")
            self.assertTrue(root.findall(".//" + SVG + "title"), "no numbers on hover")
        # Nothing to fetch: no src, no href, no url(), no @import, no script.
        self.assertEqual([a for a in page.attrs if a[1] in ("src", "href", "srcset",
                                                             "action", "poster")], [])
        self.assertNotRegex(text, r"(?i)url\(|@import|<script|<link|<img|<iframe")
        self.assertNotIn("https://", text)
        self.assertEqual(re.findall(r"http://[^\"]*", text),
                         ["http://www.w3.org/2000/svg"] * 6)   # namespace names
        self.assertIn("prefers-color-scheme: dark", text)
        self.assertIn("@media print", text)
        for heading in ("Orders per month", "Repeat purchases", "Repeat purchases by cohort",
                        "Campaigns: sent \u2192 converted",
                        "Referrals: clicks \u2192 referred customers \u2192 revenue",
                        "Top referrers"):
            self.assertIn(heading, "".join(page.text))
        # A table below each chart.
        self.assertEqual(len(page.tables), 6)

    def test_text_from_the_database_is_escaped(self):
        text = self.report()
        self.assertNotIn(HOSTILE_NAME, text)
        self.assertNotIn(HOSTILE_CAMPAIGN, text)
        self.assertNotIn("Bo & Co", text)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", text)
        self.assertIn("&lt;img src=x onerror=alert(2)&gt;", text)
        page = Page(text)
        words = "".join(page.text)
        self.assertIn(HOSTILE_NAME + " <ana@example.com>", words)
        self.assertIn(HOSTILE_CAMPAIGN, words)
        # Only the page's own elements carry attributes: an injected
        # <img onerror> would be one more.
        self.assertEqual({a[0] for a in page.attrs} - {"html", "meta", "section", "h2", "svg",
                                                       "line", "rect", "text", "th", "span",
                                                       "p", "div"}, set())

    def test_tables_show_the_numbers_of_stats(self):
        page = Page(self.report())
        orders, repeat, cohorts, campaigns, referrals, referrers = page.tables
        series = self.shop.json("stats", "--by", "month", "--json")["series"]
        self.assertEqual(orders[1:], [
            [p["period"], str(p["orders"]), str(p["new_customers"]), str(p["repeat_orders"]),
             ", ".join("%s %s" % kv for kv in p["revenue"].items()) or "-"] for p in series])
        self.assertEqual([r[0] for r in orders[1:]], ["2026-09", "2026-10", "2026-11"])
        self.assertEqual(repeat[1:], [
            [p["period"], str(p["orders"]), str(p["repeat_orders"]),
             "%.1f%%" % (100 * p["repeat_orders"] / p["orders"] if p["orders"] else 0)]
            for p in series])
        exp = self.shop.json("stats", "--cohorts", "--json")["cohorts"]
        self.assertEqual(cohorts[0], ["cohort", "customers", "+0", "+1", "+2"])
        self.assertEqual(cohorts[1:], [
            [c["cohort"], str(c["customers"])] +
            ["%d (%.1f%%)" % (m["customers"], 100 * m["share"]) for m in c["months"]]
            for c in exp])
        stats = self.shop.json("stats", "--json")
        self.assertEqual([r[:3] for r in campaigns[1:]],
                         [[c["name"], str(c["sent"]), str(c["conversions"])]
                          for c in stats["campaigns"]])
        self.assertEqual(referrals[1:], [["clicks on referral links", "7"],
                                         ["referred customers", "1"],
                                         ["their orders", "1"],
                                         ["revenue from referred customers", "GBP 5.00"]])
        ana = stats["top_referrers"][0]
        self.assertEqual(referrers[1:], [[HOSTILE_NAME + " <ana@example.com>", ana["code"],
                                          "1", "GBP 5.00"]])

    def test_weeks_and_a_window(self):
        page = Page(self.report("--by", "week", "--since", "2026-11-01", "--until",
                                "2026-12-01"))
        self.assertEqual([r[0] for r in page.tables[0][1:]],
                         ["2026-W44", "2026-W45", "2026-W46", "2026-W47", "2026-W48",
                          "2026-W49"])          # Monday 30 November is in the window
        self.assertIn("Orders per week", "".join(page.text))

    def test_written_whole_and_private(self):
        """The page names customers: 0600 whatever the umask, as the
        database is, renamed over the old page."""
        self.shop.write("report.html", "an older report")
        os.chmod(self.path, 0o644)
        for umask, mode in ((0o022, 0o600), (0o000, 0o600)):
            before = os.stat(self.path)
            self.shop.ok("report", "--html", self.path, umask=umask)
            st = os.stat(self.path)
            self.assertNotEqual(st.st_ino, before.st_ino)       # renamed into place
            self.assertEqual(stat.S_IMODE(st.st_mode), mode)
            self.assertGreater(st.st_size, 1000)
        self.assertEqual(sorted(f for f in os.listdir(self.shop.dir) if "report" in f),
                         ["report.html"])

    def test_bad_path(self):
        missing = self.shop.path("no/such/folder/report.html")
        p = self.assertFails(EX_CANTCREAT, "report", "--html", missing)
        self.assertEqual(p.stderr, "cannot create %s: No such file or directory\n" % missing)
        folder = self.shop.path("a-folder")
        os.mkdir(folder)
        p = self.assertFails(EX_CANTCREAT, "report", "--html", folder)
        self.assertIn("cannot create %s" % folder, p.stderr)
        self.assertEqual(os.listdir(folder), [])
        self.assertEqual([f for f in os.listdir(self.shop.dir) if f.startswith("a-folder")],
                         ["a-folder"])
        p = self.assertFails(EX_USAGE, "report")
        self.assertIn("--html FILE is missing", p.stderr)
        p = self.assertFails(EX_USAGE, "report", "--html", self.path, "--by", "fortnight")
        self.assertIn('--by "fortnight" is not day, week or month', p.stderr)
        self.assertFalse(os.path.exists(self.path))


class InChromium(ReportShop):
    """The page as a browser sees it: file://, no network at all."""

    def setUp(self):
        super().setUp()
        self.profile = tempfile.mkdtemp(prefix="aftersale-chromium-", dir=TMPDIR)
        self.driver, why = browser(self.profile, logs=True)
        if self.driver is None:
            shutil.rmtree(self.profile, ignore_errors=True)
            self.skipTest(why)

    def tearDown(self):
        self.driver.quit()
        shutil.rmtree(self.profile, ignore_errors=True)
        super().tearDown()

    def background(self, media, scheme):
        self.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {
            "media": media, "features": [{"name": "prefers-color-scheme", "value": scheme}]})
        return self.driver.execute_script(
            "return getComputedStyle(document.body).backgroundColor")

    def test_loads_with_no_console_error_and_no_request(self):
        self.report()
        url = "file://" + os.path.abspath(self.path)
        # What the browser's own start page logged and fetched is not ours.
        self.driver.get("about:blank")
        self.driver.get_log("browser")
        self.driver.get_log("performance")
        self.driver.get(url)
        self.assertEqual(self.driver.title, "Acme Coffee: sales report")
        self.assertEqual(self.driver.execute_script(
            "return document.querySelectorAll('svg title').length > 10"), True)
        console = self.driver.get_log("browser")
        self.assertEqual([e for e in console if e["level"] in ("SEVERE", "WARNING")], [])
        requests = [json.loads(e["message"])["message"] for e in self.driver.get_log("performance")]
        urls = {m["params"]["request"]["url"] for m in requests
                if m["method"] == "Network.requestWillBeSent"}
        self.assertEqual(urls, {url})
        # Dark on a dark screen, light on paper whatever the screen.
        light = self.background("screen", "light")
        dark = self.background("screen", "dark")
        self.assertNotEqual(light, dark)
        self.assertEqual(self.background("print", "dark"), light)


if __name__ == "__main__":
    main()
