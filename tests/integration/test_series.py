"""stats --by and stats --cohorts: the series and the cohorts against a model
computed here, in the configured timezone, from the sales and messages the
test made itself (several months, one of them empty, new and repeat
buyers, two currencies, messages sent and a conversion)."""

import os
import random
import re
import sys
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import ShopTest, main  # noqa: E402

EX_USAGE = 64
LONDON = ZoneInfo("Europe/London")      # the harness's configured timezone
WINDOW = timedelta(days=7)              # attribution.window by default
UTC = timezone.utc


def iso(t):
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def money(minor):
    return "%d.%02d" % divmod(minor, 100)


def period_start(by, t, zone=LONDON):
    """The first day of the period holding instant t, on the shop's calendar."""
    d = t.astimezone(zone).date()
    if by == "week":
        return d - timedelta(days=d.weekday())
    if by == "month":
        return d.replace(day=1)
    return d


def next_period(by, d):
    if by == "day":
        return d + timedelta(days=1)
    if by == "week":
        return d + timedelta(days=7)
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


def label(by, d):
    if by == "week":
        year, week, _ = d.isocalendar()
        return "%d-W%02d" % (year, week)
    return d.strftime("%Y-%m" if by == "month" else "%Y-%m-%d")


def periods(by, first, last):
    d = first
    while d <= last:
        yield d
        d = next_period(by, d)


class Model:
    """Sales as (order, email, minor units, currency, time) and messages
    as (email, campaign, state, sent time): what the shop was given."""

    def __init__(self):
        self.sales = []
        self.messages = []

    def first_sales(self):
        first = {}
        for s in sorted(self.sales, key=lambda s: s[4]):
            first.setdefault(s[1], s[0])
        return first

    def conversion(self, sale):
        """The campaign the sale converts for (last touch), or None."""
        _, email, _, _, when = sale
        touches = [m for m in self.messages
                   if m[0] == email and m[2] == "sent" and m[3] < when]
        if not touches:
            return None
        last = max(touches, key=lambda m: m[3])
        return last[1] if when - last[3] <= WINDOW else None

    def span(self, by, times, since, until):
        """The periods shown: the window's ends when given, else the data's."""
        starts = [period_start(by, t) for t in times]
        first = period_start(by, since) if since else min(starts, default=None)
        last = period_start(by, until - timedelta(seconds=1)) if until else \
            max(starts, default=None)
        return [] if first is None or last is None else list(periods(by, first, last))

    def series(self, by, since=None, until=None, campaign=None):
        def inside(t):
            return (since is None or t >= since) and (until is None or t < until)
        first = self.first_sales()
        rows = defaultdict(lambda: {"orders": 0, "new_customers": 0, "repeat_orders": 0,
                                    "revenue": defaultdict(int), "messages_sent": 0,
                                    "conversions": 0})
        times = []
        for sale in self.sales:
            order, email, minor, currency, when = sale
            if not inside(when):
                continue
            times.append(when)
            r = rows[period_start(by, when)]
            r["orders"] += 1
            r["new_customers" if first[email] == order else "repeat_orders"] += 1
            r["revenue"][currency] += minor
            converted = self.conversion(sale)
            if converted is not None and campaign in (None, converted):
                r["conversions"] += 1
        for email, name, state, when in self.messages:
            if state == "sent" and inside(when) and campaign in (None, name):
                times.append(when)
                rows[period_start(by, when)]["messages_sent"] += 1
        out = []
        for d in self.span(by, times, since, until):
            r = rows[d]
            out.append(dict(r, period=label(by, d),
                            revenue={c: money(v) for c, v in sorted(r["revenue"].items())}))
        return {"by": by, "since": iso(since) if since else None,
                "until": iso(until) if until else None, "series": out}

    def cohorts(self, since=None, until=None):
        def month(t):
            return period_start("month", t)

        def months_between(a, b):
            return (b.year - a.year) * 12 + b.month - a.month
        first = self.first_sales()
        first_at = {s[1]: s[4] for s in self.sales if first[s[1]] == s[0]}
        in_window = [s for s in self.sales
                     if (since is None or s[4] >= since) and (until is None or s[4] < until)]
        members = {e for e, t in first_at.items()
                   if (since is None or t >= since) and (until is None or t < until)}
        size = defaultdict(int)
        for e in members:
            size[month(first_at[e])] += 1
        again = defaultdict(set)
        for order, email, _, _, when in in_window:
            if email in members and first[email] != order:
                again[(month(first_at[email]), months_between(month(first_at[email]),
                                                              month(when)))].add(email)
        cohort_times = [first_at[e] for e in members]
        first_month = month(since) if since else (min(map(month, cohort_times))
                                                  if cohort_times else None)
        last_month = month(until - timedelta(seconds=1)) if until else \
            (max(month(s[4]) for s in in_window) if in_window else None)
        out = []
        if first_month and last_month:
            for c in periods("month", first_month, last_month):
                n = size[c]
                out.append({"cohort": label("month", c), "customers": n, "months": [
                    {"offset": k, "customers": len(again[(c, k)]),
                     "share": round(len(again[(c, k)]) / n, 4) if n else 0}
                    for k in range(months_between(c, last_month) + 1)]})
        return {"since": iso(since) if since else None,
                "until": iso(until) if until else None, "cohorts": out}


class Series(ShopTest):

    def setUp(self):
        super().setUp()
        self.model = Model()
        rng = random.Random(14)
        # March is left empty; every sale in the CSV comes before any message.
        months = [(2026, 1), (2026, 2), (2026, 4), (2026, 5)]
        rows = []
        for i in range(80):
            y, m = rng.choice(months)
            when = datetime(y, m, rng.randrange(1, 29), tzinfo=UTC) + \
                timedelta(minutes=rng.randrange(1440))
            currency = rng.choice(["EUR", "EUR", "GBP"])
            rows.append(("O-%d" % i, "c%d@example.com" % rng.randrange(25),
                         rng.randrange(100, 9000), currency, when))
        # The customers the June messages go to bought in January.
        rows += [("E-%d" % i, "c%d@example.com" % i, 500, "EUR",
                  datetime(2026, 1, 5, 12, tzinfo=UTC)) for i in range(1, 5)]
        # 23:30 UTC on 30 April is 00:30 on 1 May in London (BST).
        rows.append(("EDGE-1", "edge@example.com", 1000, "EUR",
                     datetime(2026, 4, 30, 23, 30, tzinfo=UTC)))
        self.model.sales += rows
        csv = "order_id,email,amount,currency,sold_at\n" + "".join(
            "%s,%s,%s,%s,%s\n" % (o, e, money(a), c, iso(w)) for o, e, a, c, w in rows)
        self.shop.ok("sale", "import", self.shop.write("sales.csv", csv))

        # June: messages go out, then sales follow them.
        self.message("c1@example.com", "thank-you", "sent", datetime(2026, 6, 10, 9, tzinfo=UTC))
        self.message("c2@example.com", "win-back", "sent", datetime(2026, 6, 1, 9, tzinfo=UTC))
        self.message("c3@example.com", "win-back", "sent", datetime(2026, 6, 20, 9, tzinfo=UTC))
        self.message("c4@example.com", "thank-you", "scheduled",
                     datetime(2026, 6, 20, 9, tzinfo=UTC))
        self.sale("J-1", "c1@example.com", 2500, datetime(2026, 6, 12, 9, tzinfo=UTC))
        self.sale("J-2", "c2@example.com", 1200, datetime(2026, 6, 15, 9, tzinfo=UTC))
        self.sale("J-3", "c3@example.com", 990, datetime(2026, 6, 21, 9, tzinfo=UTC))
        self.sale("J-4", "new@example.com", 4500, datetime(2026, 6, 21, 10, tzinfo=UTC))
        self.assertEqual(sum(self.model.conversion(s) is not None for s in self.model.sales), 2)

    def message(self, email, campaign, state, when):
        t = int(when.timestamp())
        with self.shop.db() as db:
            cur = db.execute("INSERT INTO messages (campaign, customer_id, sale_id, state,"
                             " due_at, created_at, updated_at, sent_at)"
                             " SELECT ?, c.id, s.id, ?, ?, 0, 0, ? FROM customers c"
                             " JOIN sales s ON s.customer_id = c.id WHERE c.email = ?"
                             " ORDER BY s.id LIMIT 1",
                             (campaign, state, t, t if state == "sent" else None, email))
            self.assertEqual(cur.rowcount, 1)
        self.model.messages.append((email, campaign, state, when))

    def sale(self, order, email, minor, when):
        self.shop.sale(order, email, amount=money(minor), at=iso(when))
        self.model.sales.append((order, email, minor, "EUR", when))

    def test_series_json_equals_the_model(self):
        for by in ("day", "week", "month"):
            with self.subTest(by=by):
                got = self.shop.json("stats", "--by", by, "--json")
                self.assertEqual(got, self.model.series(by))
        months = [p["period"] for p in self.shop.json("stats", "--by", "month",
                                                      "--json")["series"]]
        self.assertEqual(months, ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05",
                                  "2026-06"])

    def test_series_in_a_window_and_for_a_campaign(self):
        since = datetime(2025, 12, 15, tzinfo=LONDON)
        until = datetime(2026, 7, 10, tzinfo=LONDON)
        got = self.shop.json("stats", "--by", "month", "--json", "--since", "2025-12-15",
                             "--until", "2026-07-10")
        self.assertEqual(got, self.model.series("month", since, until))
        self.assertEqual((got["series"][0]["period"], got["series"][-1]["period"]),
                         ("2025-12", "2026-07"))
        since, until = datetime(2026, 2, 1, tzinfo=LONDON), datetime(2026, 6, 15, tzinfo=LONDON)
        self.assertEqual(self.shop.json("stats", "--by", "week", "--json", "--since",
                                        "2026-02-01", "--until", "2026-06-15"),
                         self.model.series("week", since, until))
        for campaign in ("win-back", "thank-you"):
            with self.subTest(campaign=campaign):
                got = self.shop.json("stats", "--by", "month", "--json", "--campaign",
                                     campaign)
                self.assertEqual(got, self.model.series("month", campaign=campaign))

    def test_series_text_has_the_same_numbers(self):
        for by in ("week", "month"):
            exp = self.model.series(by)["series"]
            lines = self.shop.ok("stats", "--by", by).splitlines()
            self.assertEqual(lines[0], "Sales by %s, from the start until now" % by)
            rows = [re.fullmatch(r"  (\S+) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+)  (.{20})  (.*)",
                                 line) for line in lines[2:]]
            self.assertTrue(all(rows), lines)
            self.assertEqual([(r[1], int(r[2]), int(r[3]), int(r[4]), int(r[5]), int(r[6]),
                               r[8]) for r in rows],
                             [(p["period"], p["orders"], p["new_customers"],
                               p["repeat_orders"], p["messages_sent"], p["conversions"],
                               ", ".join("%s %s" % kv for kv in p["revenue"].items()) or "-")
                              for p in exp])
            # The bar: empty for no orders, full for the most, never blank for some.
            most = max(p["orders"] for p in exp)
            for r, p in zip(rows, exp):
                bar = r[7].rstrip()
                self.assertEqual(bar == "", p["orders"] == 0, r[0])
                if p["orders"] == most:
                    self.assertEqual(bar, "\u2588" * 20)
                self.assertTrue(set(bar) <= set("\u2588\u2589\u258a\u258b\u258c\u258d"
                                                "\u258e\u258f"), bar)

    def test_cohorts_equal_the_model(self):
        got = self.shop.json("stats", "--cohorts", "--json")
        self.assertEqual(got, self.model.cohorts())
        self.assertEqual([c["cohort"] for c in got["cohorts"]],
                         ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"])
        self.assertEqual(got["cohorts"][2]["customers"], 0)
        self.assertTrue(any(m["customers"] for c in got["cohorts"] for m in c["months"][1:]))
        since, until = datetime(2026, 2, 1, tzinfo=LONDON), datetime(2026, 6, 1, tzinfo=LONDON)
        self.assertEqual(self.shop.json("stats", "--cohorts", "--json", "--since",
                                        "2026-02-01", "--until", "2026-06-01"),
                         self.model.cohorts(since, until))

    def test_cohorts_text_has_the_same_numbers(self):
        exp = self.model.cohorts()["cohorts"]
        lines = self.shop.ok("stats", "--cohorts").splitlines()
        self.assertTrue(lines[0].startswith("Repeat purchases by month of first purchase"))
        self.assertEqual(lines[1].split(), ["cohort", "customers"] +
                         ["+%d" % k for k in range(len(exp))])
        got = []
        for line in lines[2:]:
            cohort, size, *cells = line.split()
            got.append((cohort, int(size), [(int(n), float(share.rstrip("%")))
                                            for n, share in zip(cells[::2], cells[1::2])]))
        self.assertEqual(got, [(c["cohort"], c["customers"],
                                [(m["customers"], round(100 * m["share"], 1))
                                 for m in c["months"]]) for c in exp])


class Weeks(ShopTest):

    def week_of(self, when):
        self.shop.sale("W-%d" % int(when.timestamp()), "w@example.com", amount="1.00", at=iso(when))
        got = self.shop.json("stats", "--by", "week", "--json", "--since", iso(when),
                             "--until", iso(when + timedelta(seconds=1)))["series"]
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0]["orders"], 1)
        return got[0]["period"]

    def test_weeks_start_on_monday_in_the_configured_timezone(self):
        # Sunday 14 June 2026, 23:30 UTC, is Monday 00:30 in London (BST).
        self.assertEqual(self.week_of(datetime(2026, 6, 14, 22, 30, tzinfo=UTC)), "2026-W24")
        self.assertEqual(self.week_of(datetime(2026, 6, 14, 23, 30, tzinfo=UTC)), "2026-W25")
        # In winter London is on UTC: Sunday 23:30 is still Sunday.
        self.assertEqual(self.week_of(datetime(2026, 11, 29, 23, 30, tzinfo=UTC)), "2026-W48")
        self.assertEqual(self.week_of(datetime(2026, 11, 30, 0, 0, tzinfo=UTC)), "2026-W49")
        # ISO years: 1 January 2027 is a Friday, in 2026's week 53.
        self.assertEqual(self.week_of(datetime(2027, 1, 1, 12, tzinfo=UTC)), "2026-W53")
        # A zone ahead of UTC: Sunday 15:30 UTC is Monday 00:30 in Tokyo.
        with open(self.shop.config) as f:
            text = f.read()
        with open(self.shop.config, "w") as f:
            f.write(text.replace('"Europe/London"', '"Asia/Tokyo"'))
        self.assertEqual(self.week_of(datetime(2026, 11, 29, 14, 59, tzinfo=UTC)), "2026-W48")
        self.assertEqual(self.week_of(datetime(2026, 11, 29, 15, 30, tzinfo=UTC)), "2026-W49")
        days = self.shop.json("stats", "--by", "day", "--json", "--since", "2026-11-29",
                              "--until", "2026-12-01")["series"]
        self.assertEqual([(d["period"], d["orders"]) for d in days],
                         [("2026-11-29", 1), ("2026-11-30", 3)])

    def test_empty_periods_between_first_and_last(self):
        self.shop.sale("A-1", "a@example.com", amount="1.00", at="2026-11-02")
        self.shop.sale("A-2", "a@example.com", amount="2.00", at="2026-11-25")
        weeks = self.shop.json("stats", "--by", "week", "--json")["series"]
        self.assertEqual([(w["period"], w["orders"], w["new_customers"], w["repeat_orders"])
                          for w in weeks],
                         [("2026-W45", 1, 1, 0), ("2026-W46", 0, 0, 0),
                          ("2026-W47", 0, 0, 0), ("2026-W48", 1, 0, 1)])


class BadOptions(ShopTest):

    def test_bad_by(self):
        p = self.assertFails(EX_USAGE, "stats", "--by", "year")
        self.assertIn('--by "year" is not day, week or month', p.stderr)
        self.assertFails(EX_USAGE, "stats", "--by")
        p = self.assertFails(EX_USAGE, "stats", "--by", "week", "--cohorts")
        self.assertIn("--by and --cohorts", p.stderr)
        p = self.assertFails(EX_USAGE, "stats", "--cohorts", "--campaign", "thank-you")
        self.assertIn("--cohorts", p.stderr)

    def test_too_many_periods(self):
        self.shop.sale("A-1", "a@example.com", amount="1.00", at="2025-06-01")
        p = self.assertFails(EX_USAGE, "stats", "--by", "day", "--since", "1990-01-01",
                             "--until", "2026-01-01")
        self.assertIn("more than 10000 periods", p.stderr)
        self.assertEqual(len(self.shop.json("stats", "--by", "day", "--json", "--since",
                                            "2000-01-01", "--until", "2026-01-01")["series"]),
                         (date(2026, 1, 1) - date(2000, 1, 1)).days)

    def test_empty_database(self):
        self.assertEqual(self.shop.json("stats", "--by", "month", "--json"),
                         {"by": "month", "since": None, "until": None, "series": []})
        self.assertEqual(self.shop.json("stats", "--cohorts", "--json"),
                         {"since": None, "until": None, "cohorts": []})
        self.assertIn("no sales yet", self.shop.ok("stats", "--by", "day"))
        self.assertIn("no sales yet", self.shop.ok("stats", "--cohorts"))


if __name__ == "__main__":
    main()
