/*
 * The report: one HTML page that needs nothing else (inline CSS and SVG,
 * no script, nothing fetched), so it can be mailed, archived or printed
 * as it is.  Orders per period split new and repeat, the repeat share,
 * the cohort heatmap, each campaign's funnel, the referral funnel and the
 * top referrers.  Every chart shows its numbers on hover (SVG <title>)
 * and again in a table below it, for screen readers.  Every piece of text
 * from the database or the configuration goes through http_html().
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "http.h"
#include "report.h"
#include "store.h"
#include "view.h"
#include "xmalloc.h"

/* Charts are drawn in SVG user units; the viewBox scales them to the page. */
#define CHART_W		900
#define CHART_H		240
#define PAD_LEFT	44
#define PAD_TOP		14
#define PAD_BOTTOM	34
#define PLOT_W		(CHART_W - PAD_LEFT - 8)
#define PLOT_H		(CHART_H - PAD_TOP - PAD_BOTTOM)
#define LABEL_GAP	60	/* between period labels under the columns */
#define ROW_H		46	/* a labelled horizontal bar */
#define BAR_W		520	/* the longest horizontal bar; its numbers follow */
#define COLUMN_W	64	/* the widest column, when there are few */
#define HEAD_W		130	/* the cohort heatmap's cohort and size columns */
#define CELL_W		50
#define CELL_H		26

/*
 * The light palette, the dark one on screens that ask for it, and print
 * always light.  The content security policy in the page forbids fetching
 * anything, so a mistake here cannot reach out either.
 */
static const char report_head_html[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';"
    " style-src 'unsafe-inline'\">\n"
    "<style>\n"
    ":root { color-scheme: light dark; --bg: #fff; --fg: #1c2230;"
    " --muted: #5d6675; --grid: #d5dae2; --card: #f3f5f8; --new: #2f6bd1;"
    " --repeat: #e08a1e; --rate: #7b4fd0; --sent: #a9bfe0; --conv: #1d8a58;"
    " --ref: #c2477d; --heat: #1d8a58; }\n"
    "@media screen and (prefers-color-scheme: dark) { :root { --bg: #13161b;"
    " --fg: #e5e8ee; --muted: #9ba4b3; --grid: #353b46; --card: #1c2027;"
    " --new: #6c9fff; --repeat: #ffad55; --rate: #b596ff; --sent: #3f5d88;"
    " --conv: #46d093; --ref: #f07aab; --heat: #46d093; } }\n"
    "body { font: 15px/1.45 system-ui, sans-serif; background: var(--bg);"
    " color: var(--fg); max-width: 62rem; margin: 0 auto; padding: 1.5rem;"
    " -webkit-print-color-adjust: exact; print-color-adjust: exact; }\n"
    "h1 { margin: 0; } h2 { margin: 2.2rem 0 .6rem; font-size: 1.2rem; }\n"
    ".meta, .empty, caption, .legend { color: var(--muted); }\n"
    ".tiles { display: grid; gap: .6rem;"
    " grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr));"
    " margin-top: 1rem; }\n"
    ".tiles div { background: var(--card); border-radius: .4rem;"
    " padding: .6rem .8rem; }\n"
    ".tiles b { display: block; font-size: 1.35rem; }\n"
    "figure { margin: 0; } svg { max-width: 100%; height: auto; display: block; }\n"
    "svg text { fill: var(--fg); font-size: 12px; }\n"
    ".grid { stroke: var(--grid); } .hit { fill: transparent; }\n"
    ".new { fill: var(--new); background: var(--new); }\n"
    ".repeat { fill: var(--repeat); background: var(--repeat); }\n"
    ".sent { fill: var(--sent); background: var(--sent); }\n"
    ".conv { fill: var(--conv); background: var(--conv); }\n"
    ".rate { fill: var(--rate); } .ref { fill: var(--ref); }\n"
    ".heat { fill: var(--heat); } .none { fill: none; stroke: var(--grid); }\n"
    ".sw { display: inline-block; width: .8em; height: .8em;"
    " margin: 0 .3em 0 1em; }\n"
    "table { border-collapse: collapse; margin-top: .6rem;"
    " font-variant-numeric: tabular-nums; }\n"
    "caption { text-align: left; padding-bottom: .2rem; }\n"
    "th, td { padding: .15rem .7rem; text-align: right;"
    " border-bottom: 1px solid var(--grid); }\n"
    "th:first-child { text-align: left; }\n"
    "@media print { body { max-width: none; padding: 0; }"
    " section { break-inside: avoid; } }\n"
    "</style>\n";

static json_int_t
report_int(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* A text member, "" when absent (jansson refuses text that is not UTF-8). */
static const char *
report_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

/* Revenue as text, escaped: its currency codes come from the database. */
static void
report_revenue(struct buf *b, const json_t *revenue)
{
	struct buf text = { NULL, 0, 0 };

	series_revenue_text(revenue, &text);
	http_html(b, text.data);
	buf_free(&text);
}

static double
report_share(json_int_t part, json_int_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static void
report_section(struct buf *b, const char *id, const char *heading)
{
	buf_printf(b, "<section aria-labelledby=\"%s\">\n<h2 id=\"%s\">", id, id);
	http_html(b, heading);
	buf_addstr(b, "</h2>\n");
}

/* When a section has nothing to draw: say so, and close it. */
static int
report_empty(struct buf *b, const json_t *rows, const char *what)
{
	if (json_array_size(rows) > 0)
		return 0;
	buf_printf(b, "<p class=\"empty\">No %s in this window yet.</p>\n"
	    "</section>\n", what);
	return 1;
}

/*
 * An SVG chart, named for assistive technology by its section heading.
 * Drawn at its own size, and smaller when the page is narrower.
 */
static void
report_svg(struct buf *b, const char *id, int width, int height)
{
	buf_printf(b, "<figure><svg width=\"%d\" height=\"%d\""
	    " viewBox=\"0 0 %d %d\" role=\"img\" aria-labelledby=\"%s\""
	    " xmlns=\"http://www.w3.org/2000/svg\">\n", width, height, width,
	    height, id);
}

static void
report_svg_end(struct buf *b)
{
	buf_addstr(b, "</svg></figure>\n");
}

/* A table's caption and column heads; the caller adds the rows. */
static void
report_table(struct buf *b, const char *caption, const char *const *heads,
    size_t n)
{
	buf_addstr(b, "<table>\n<caption>");
	http_html(b, caption);
	buf_addstr(b, "</caption>\n<thead><tr>");
	for (size_t i = 0; i < n; i++) {
		buf_addstr(b, "<th scope=\"col\">");
		http_html(b, heads[i]);
		buf_addstr(b, "</th>");
	}
	buf_addstr(b, "</tr></thead>\n<tbody>\n");
}

static void
report_row_head(struct buf *b, const char *text)
{
	buf_addstr(b, "<tr><th scope=\"row\">");
	http_html(b, text);
	buf_addstr(b, "</th>");
}

/*
 * The columns of a time chart: one slot per period, the axis from 0 to
 * max, gridlines with their values (in `unit`), and a period's label
 * under every few columns, as many as fit.
 */
struct report_axis {
	size_t	n;
	double	max;
};

static double
report_width(const struct report_axis *a)
{
	return fmin(0.8 * PLOT_W / (double)a->n, COLUMN_W);
}

/* The middle of column i. */
static double
report_x(const struct report_axis *a, size_t i)
{
	return PAD_LEFT + ((double)i + 0.5) * PLOT_W / (double)a->n;
}

static double
report_h(const struct report_axis *a, double v)
{
	return v / a->max * PLOT_H;
}

static void
report_axis(struct buf *b, const struct report_axis *a, const json_t *rows,
    const char *unit)
{
	size_t	 step = (size_t)ceil((double)a->n * LABEL_GAP / PLOT_W);
	size_t	 i;
	json_t	*row;

	for (i = 0; i <= 2; i++) {
		double y = PAD_TOP + PLOT_H - (double)i / 2 * PLOT_H;

		buf_printf(b, "<line class=\"grid\" x1=\"%d\" x2=\"%d\""
		    " y1=\"%.1f\" y2=\"%.1f\"/><text x=\"%d\" y=\"%.1f\""
		    " text-anchor=\"end\">%g%s</text>\n", PAD_LEFT, CHART_W,
		    y, y, PAD_LEFT - 6, y + 4, a->max * (double)i / 2, unit);
	}
	json_array_foreach(rows, i, row)
		if (i % step == 0)
			buf_printf(b, "<text x=\"%.1f\" y=\"%d\""
			    " text-anchor=\"middle\">%s</text>\n",
			    report_x(a, i), CHART_H - 12,
			    report_str(row, "period"));
}

/*
 * Column i: its parts stacked bottom first, in a group that `title` names
 * on hover anywhere in the column's height.
 */
static void
report_column(struct buf *b, const struct report_axis *a, size_t i,
    const char *const classes[2], const double parts[2], const char *title)
{
	double	w = report_width(a), x = report_x(a, i) - w / 2;
	double	y = PAD_TOP + PLOT_H;

	buf_addstr(b, "<g><title>");
	http_html(b, title);
	buf_printf(b, "</title><rect class=\"hit\" x=\"%.1f\" y=\"%d\""
	    " width=\"%.1f\" height=\"%d\"/>", x, PAD_TOP, w, PLOT_H);
	for (int k = 0; k < 2; k++) {
		double h = report_h(a, parts[k]);

		if (classes[k] == NULL || h <= 0)
			continue;
		y -= h;
		buf_printf(b, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\""
		    " width=\"%.1f\" height=\"%.1f\"/>", classes[k], x, y, w,
		    h);
	}
	buf_addstr(b, "</g>\n");
}

/* Orders per period, new customers' first orders under repeat orders. */
static void
report_orders(struct buf *b, const json_t *series)
{
	static const char *const classes[2] = { "new", "repeat" };
	static const char *const heads[] = { "period", "orders",
	    "new customers", "repeat orders", "revenue" };
	const json_t		*rows = json_object_get(series, "series");
	struct report_axis	 a = { json_array_size(rows), 1 };
	struct buf		 title = { NULL, 0, 0 };
	char			 heading[64];
	json_t			*row;
	size_t			 i;

	snprintf(heading, sizeof(heading), "Orders per %s",
	    report_str(series, "by"));
	report_section(b, "orders", heading);
	if (report_empty(b, rows, "sales"))
		return;
	buf_addstr(b, "<p class=\"legend\"><span class=\"sw new\"></span>new"
	    " customers<span class=\"sw repeat\"></span>repeat orders</p>\n");
	json_array_foreach(rows, i, row)
		a.max = fmax(a.max, (double)report_int(row, "orders"));
	a.max = 2 * ceil(a.max / 2);	/* whole numbers on the gridlines */
	report_svg(b, "orders", CHART_W, CHART_H);
	report_axis(b, &a, rows, "");
	json_array_foreach(rows, i, row) {
		double parts[2] = { (double)report_int(row, "new_customers"),
		    (double)report_int(row, "repeat_orders") };

		title.len = 0;
		buf_printf(&title, "%s: %lld orders, %lld from new customers,"
		    " %lld repeat", report_str(row, "period"),
		    (long long)report_int(row, "orders"),
		    (long long)report_int(row, "new_customers"),
		    (long long)report_int(row, "repeat_orders"));
		report_column(b, &a, i, classes, parts, title.data);
	}
	buf_free(&title);
	report_svg_end(b);
	report_table(b, heading, heads, 5);
	json_array_foreach(rows, i, row) {
		report_row_head(b, report_str(row, "period"));
		buf_printf(b, "<td>%lld</td><td>%lld</td><td>%lld</td><td>",
		    (long long)report_int(row, "orders"),
		    (long long)report_int(row, "new_customers"),
		    (long long)report_int(row, "repeat_orders"));
		report_revenue(b, json_object_get(row, "revenue"));
		buf_addstr(b, "</td></tr>\n");
	}
	buf_addstr(b, "</tbody></table>\n</section>\n");
}

/* The share of each period's orders that were repeat purchases. */
static void
report_repeat(struct buf *b, const json_t *stats, const json_t *series)
{
	static const char *const classes[2] = { "rate", NULL };
	static const char *const heads[] = { "period", "orders",
	    "repeat orders", "repeat share" };
	const json_t		*rows = json_object_get(series, "series");
	const json_t		*sales = json_object_get(stats, "sales");
	struct report_axis	 a = { json_array_size(rows), 100 };
	struct buf		 title = { NULL, 0, 0 };
	json_t			*row;
	size_t			 i;

	report_section(b, "repeat", "Repeat purchases");
	buf_printf(b, "<p>%lld of %lld customers (%.1f%%) bought more than"
	    " once in this window.</p>\n",
	    (long long)report_int(sales, "repeat_customers"),
	    (long long)report_int(sales, "customers"),
	    100.0 * json_real_value(json_object_get(sales, "repeat_rate")));
	if (report_empty(b, rows, "sales"))
		return;
	report_svg(b, "repeat", CHART_W, CHART_H);
	report_axis(b, &a, rows, "%");
	json_array_foreach(rows, i, row) {
		json_int_t	orders = report_int(row, "orders");
		json_int_t	repeats = report_int(row, "repeat_orders");
		double		parts[2] = { report_share(repeats, orders), 0 };

		title.len = 0;
		buf_printf(&title, "%s: %.1f%% of %lld orders were repeat"
		    " purchases", report_str(row, "period"), parts[0],
		    (long long)orders);
		report_column(b, &a, i, classes, parts, title.data);
	}
	buf_free(&title);
	report_svg_end(b);
	report_table(b, "Share of orders that were repeat purchases", heads, 4);
	json_array_foreach(rows, i, row) {
		report_row_head(b, report_str(row, "period"));
		buf_printf(b, "<td>%lld</td><td>%lld</td><td>%.1f%%</td></tr>\n",
		    (long long)report_int(row, "orders"),
		    (long long)report_int(row, "repeat_orders"),
		    report_share(report_int(row, "repeat_orders"),
		    report_int(row, "orders")));
	}
	buf_addstr(b, "</tbody></table>\n</section>\n");
}

/*
 * Cohort row i's cell for month k: as dark as its share of the cohort
 * that bought again then, against the largest share anywhere (`top`), so
 * a young shop's pattern shows too.  An empty cohort's cells are hollow.
 */
static void
report_cell(struct buf *b, const json_t *c, size_t i, size_t k,
    const json_t *m, double top)
{
	json_int_t	size = report_int(c, "customers");
	double		share = json_real_value(json_object_get(m, "share"));
	int		x = HEAD_W + (int)k * CELL_W, y = CELL_H * (int)(i + 1);

	buf_printf(b, "<g><title>%s, +%zu: %lld of %lld customers bought"
	    " again (%.1f%%)</title>", report_str(c, "cohort"), k,
	    (long long)report_int(m, "customers"), (long long)size, 100 * share);
	if (size == 0)
		buf_printf(b, "<rect class=\"none\" x=\"%d\" y=\"%d\""
		    " width=\"%d\" height=\"%d\"/>", x + 1, y + 1, CELL_W - 2,
		    CELL_H - 2);
	else
		buf_printf(b, "<rect class=\"heat\" x=\"%d\" y=\"%d\""
		    " width=\"%d\" height=\"%d\" fill-opacity=\"%.2f\"/>"
		    "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%.0f%%"
		    "</text>", x + 1, y + 1, CELL_W - 2, CELL_H - 2,
		    0.06 + 0.6 * share / top, x + CELL_W / 2, y + 17, 100 * share);
	buf_addstr(b, "</g>");
}

/* The heatmap: a row per month of first purchase, a column per month after. */
static void
report_heatmap(struct buf *b, const json_t *rows, size_t months)
{
	const json_t	*c, *m;
	size_t		 i, k;
	double		 top = 0.01;

	json_array_foreach(rows, i, c)
		json_array_foreach(json_object_get(c, "months"), k, m)
			top = fmax(top, json_real_value(json_object_get(m,
			    "share")));
	report_svg(b, "cohorts", HEAD_W + (int)months * CELL_W,
	    CELL_H * (int)(json_array_size(rows) + 1));
	buf_printf(b, "<text x=\"0\" y=\"17\">cohort</text><text x=\"%d\""
	    " y=\"17\" text-anchor=\"end\">customers</text>\n", HEAD_W - 10);
	for (k = 0; k < months; k++)
		buf_printf(b, "<text x=\"%d\" y=\"17\" text-anchor=\"middle\">"
		    "+%zu</text>", HEAD_W + (int)k * CELL_W + CELL_W / 2, k);
	json_array_foreach(rows, i, c) {
		int y = CELL_H * (int)(i + 1) + 17;

		buf_printf(b, "\n<text x=\"0\" y=\"%d\">%s</text><text x=\"%d\""
		    " y=\"%d\" text-anchor=\"end\">%lld</text>\n", y,
		    report_str(c, "cohort"), HEAD_W - 10, y,
		    (long long)report_int(c, "customers"));
		json_array_foreach(json_object_get(c, "months"), k, m)
			report_cell(b, c, i, k, m, top);
	}
	buf_addstr(b, "\n");
	report_svg_end(b);
}

/* The monthly cohorts: the heatmap, then its numbers. */
static void
report_cohorts(struct buf *b, const json_t *cohorts)
{
	const json_t	*rows = json_object_get(cohorts, "cohorts");
	const json_t	*c, *m;
	const char	**heads;
	char		(*offsets)[24];
	size_t		 months, i, k;

	report_section(b, "cohorts", "Repeat purchases by cohort");
	if (report_empty(b, rows, "first purchases"))
		return;
	buf_addstr(b, "<p class=\"legend\">Customers by the month of their first"
	    " purchase, and the share of them who bought again each month"
	    " after it (+0: the same month).</p>\n");
	/* The first cohort is the oldest: it has every month. */
	months = json_array_size(json_object_get(json_array_get(rows, 0),
	    "months"));
	report_heatmap(b, rows, months);

	heads = xcalloc(months + 2, sizeof(*heads));
	offsets = xcalloc(months, sizeof(*offsets));
	heads[0] = "cohort";
	heads[1] = "customers";
	for (k = 0; k < months; k++) {
		snprintf(offsets[k], sizeof(offsets[k]), "+%zu", k);
		heads[k + 2] = offsets[k];
	}
	report_table(b, "Customers who bought again, by months after their"
	    " first purchase: how many, and their share of the cohort", heads,
	    months + 2);
	free(heads);
	free(offsets);
	json_array_foreach(rows, i, c) {
		report_row_head(b, report_str(c, "cohort"));
		buf_printf(b, "<td>%lld</td>", (long long)report_int(c,
		    "customers"));
		json_array_foreach(json_object_get(c, "months"), k, m)
			buf_printf(b, "<td>%lld (%.1f%%)</td>",
			    (long long)report_int(m, "customers"), 100 *
			    json_real_value(json_object_get(m, "share")));
		buf_addstr(b, "</tr>\n");
	}
	buf_addstr(b, "</tbody></table>\n</section>\n");
}

/*
 * Row `row` of a horizontal bar chart: its label above a bar of `outer`,
 * `inner` drawn over it from the same start (what converted of what was
 * sent; negative for none), and `note`, its numbers, after it.  Label and
 * note are escaped here, and also name the row on hover.
 */
static void
report_hbar(struct buf *b, int row, double max, const char *label,
    const char *cls, double outer, double inner, const char *note)
{
	int	y = row * ROW_H;
	double	w = outer / max * BAR_W, wi = inner / max * BAR_W;

	buf_addstr(b, "<g><title>");
	http_html(b, label);
	buf_addstr(b, ": ");
	http_html(b, note);
	buf_printf(b, "</title><text x=\"0\" y=\"%d\">", y + 14);
	http_html(b, label);
	buf_printf(b, "</text><rect class=\"%s\" x=\"0\" y=\"%d\""
	    " width=\"%.1f\" height=\"18\"/>", cls, y + 21, w);
	if (inner >= 0)
		buf_printf(b, "<rect class=\"conv\" x=\"0\" y=\"%d\""
		    " width=\"%.1f\" height=\"18\"/>", y + 21, wi);
	buf_printf(b, "<text x=\"%.1f\" y=\"%d\">", fmax(w, wi) + 8, y + 35);
	http_html(b, note);
	buf_addstr(b, "</text></g>\n");
}

/* Each campaign: messages sent, and the sales that followed (last touch). */
static void
report_campaigns(struct buf *b, const json_t *stats)
{
	static const char *const heads[] = { "campaign", "sent", "converted",
	    "conversion rate", "revenue" };
	const json_t	*rows = json_object_get(stats, "campaigns");
	const json_t	*c;
	struct buf	 note = { NULL, 0, 0 };
	double		 max = 1;
	size_t		 i;

	report_section(b, "campaigns", "Campaigns: sent \u2192 converted");
	if (report_empty(b, rows, "campaigns"))
		return;
	buf_addstr(b, "<p class=\"legend\"><span class=\"sw sent\"></span>sent"
	    "<span class=\"sw conv\"></span>a sale followed within the"
	    " attribution window</p>\n");
	/* A message can be followed by several sales: converted may pass sent. */
	json_array_foreach(rows, i, c)
		max = fmax(max, fmax((double)report_int(c, "sent"),
		    (double)report_int(c, "conversions")));
	report_svg(b, "campaigns", CHART_W, ROW_H * (int)json_array_size(rows));
	json_array_foreach(rows, i, c) {
		note.len = 0;
		buf_printf(&note, "%lld sent \u2192 %lld converted, ",
		    (long long)report_int(c, "sent"),
		    (long long)report_int(c, "conversions"));
		series_revenue_text(json_object_get(c, "revenue"), &note);
		report_hbar(b, (int)i, max, report_str(c, "name"), "sent",
		    (double)report_int(c, "sent"),
		    (double)report_int(c, "conversions"), note.data);
	}
	buf_free(&note);
	report_svg_end(b);
	report_table(b, "Campaigns: messages sent and the sales that followed",
	    heads, 5);
	json_array_foreach(rows, i, c) {
		report_row_head(b, report_str(c, "name"));
		buf_printf(b, "<td>%lld</td><td>%lld</td><td>%.1f%%</td><td>",
		    (long long)report_int(c, "sent"),
		    (long long)report_int(c, "conversions"),
		    report_share(report_int(c, "conversions"),
		    report_int(c, "sent")));
		report_revenue(b, json_object_get(c, "revenue"));
		buf_addstr(b, "</td></tr>\n");
	}
	buf_addstr(b, "</tbody></table>\n</section>\n");
}

/* Clicks on referral links, then the friends who bought, then their orders. */
static void
report_referrals(struct buf *b, const json_t *stats, json_int_t clicks)
{
	const json_t	*r = json_object_get(stats, "referrals");
	json_int_t	 steps[3] = { clicks, report_int(r, "referred_customers"),
			    report_int(r, "referred_orders") };
	const char	*names[3] = { "clicks on referral links",
			    "referred customers", "their orders" };
	struct buf	 note = { NULL, 0, 0 };
	double		 max = 1;

	report_section(b, "referrals",
	    "Referrals: clicks \u2192 referred customers \u2192 revenue");
	for (int i = 0; i < 3; i++)
		max = fmax(max, (double)steps[i]);
	report_svg(b, "referrals", CHART_W, ROW_H * 3);
	for (int i = 0; i < 3; i++) {
		note.len = 0;
		buf_printf(&note, "%lld", (long long)steps[i]);
		if (i == 2) {
			buf_addstr(&note, ", ");
			series_revenue_text(json_object_get(r, "revenue"), &note);
		}
		report_hbar(b, i, max, names[i], "ref", (double)steps[i], -1,
		    note.data);
	}
	buf_free(&note);
	report_svg_end(b);
	report_table(b, "The referral funnel", (const char *const[]){ "step",
	    "count" }, 2);
	for (int i = 0; i < 3; i++) {
		report_row_head(b, names[i]);
		buf_printf(b, "<td>%lld</td></tr>\n", (long long)steps[i]);
	}
	report_row_head(b, "revenue from referred customers");
	buf_addstr(b, "<td>");
	report_revenue(b, json_object_get(r, "revenue"));
	buf_addstr(b, "</td></tr>\n</tbody></table>\n</section>\n");
}

/* "Name <address>", or the address alone for a customer with no name. */
static void
report_referrer(struct buf *b, const json_t *r)
{
	const char *name = report_str(r, "name");

	b->len = 0;
	if (*name != '\0')
		buf_printf(b, "%s <%s>", name, report_str(r, "email"));
	else
		buf_addstr(b, report_str(r, "email"));
}

/* The customers whose friends bought the most (stats' top ten). */
static void
report_referrers(struct buf *b, const json_t *stats)
{
	static const char *const heads[] = { "referrer", "code",
	    "referred customers", "their revenue" };
	const json_t	*rows = json_object_get(stats, "top_referrers");
	const json_t	*r;
	struct buf	 label = { NULL, 0, 0 }, note = { NULL, 0, 0 };
	double		 max = 1;
	size_t		 i;

	report_section(b, "referrers", "Top referrers");
	if (report_empty(b, rows, "referred customers"))
		return;
	json_array_foreach(rows, i, r)
		max = fmax(max, (double)report_int(r, "referred_customers"));
	report_svg(b, "referrers", CHART_W, ROW_H * (int)json_array_size(rows));
	json_array_foreach(rows, i, r) {
		report_referrer(&label, r);
		note.len = 0;
		buf_printf(&note, "%lld referred, ",
		    (long long)report_int(r, "referred_customers"));
		series_revenue_text(json_object_get(r, "revenue"), &note);
		report_hbar(b, (int)i, max, label.data, "ref",
		    (double)report_int(r, "referred_customers"), -1, note.data);
	}
	report_svg_end(b);
	report_table(b, "Top referrers", heads, 4);
	json_array_foreach(rows, i, r) {
		report_referrer(&label, r);
		report_row_head(b, label.data);
		buf_addstr(b, "<td>");
		http_html(b, report_str(r, "code"));
		buf_printf(b, "</td><td>%lld</td><td>",
		    (long long)report_int(r, "referred_customers"));
		report_revenue(b, json_object_get(r, "revenue"));
		buf_addstr(b, "</td></tr>\n");
	}
	buf_free(&label);
	buf_free(&note);
	buf_addstr(b, "</tbody></table>\n</section>\n");
}

/* The page's head, what it covers, and the headline numbers. */
static void
report_header(struct buf *b, const struct config *cfg, const json_t *stats,
    const json_t *series)
{
	const json_t	*sales = json_object_get(stats, "sales");
	const json_t	*since = json_object_get(stats, "since");
	const json_t	*until = json_object_get(stats, "until");
	const json_t	*c;
	json_int_t	 conversions = 0;
	size_t		 i;

	json_array_foreach(json_object_get(stats, "campaigns"), i, c)
		conversions += report_int(c, "conversions");
	buf_addstr(b, report_head_html);
	buf_addstr(b, "<title>");
	http_html(b, cfg->shop.name);
	buf_addstr(b, ": sales report</title>\n</head>\n<body>\n<main>\n<h1>");
	http_html(b, cfg->shop.name);
	buf_printf(b, "</h1>\n<p class=\"meta\">Sales report by %s, from %s"
	    " until %s; made %s.</p>\n", report_str(series, "by"),
	    json_is_string(since) ? json_string_value(since) : "the start",
	    json_is_string(until) ? json_string_value(until) : "now",
	    report_str(stats, "generated_at"));
	buf_printf(b, "<div class=\"tiles\">\n<div>orders<b>%lld</b></div>\n"
	    "<div>customers<b>%lld</b></div>\n"
	    "<div>repeat customers<b>%.1f%%</b></div>\n"
	    "<div>messages sent<b>%lld</b></div>\n"
	    "<div>conversions<b>%lld</b></div>\n<div>revenue<b>",
	    (long long)report_int(sales, "orders"),
	    (long long)report_int(sales, "customers"),
	    100.0 * json_real_value(json_object_get(sales, "repeat_rate")),
	    (long long)report_int(json_object_get(stats, "messages"), "sent"),
	    (long long)conversions);
	report_revenue(b, json_object_get(sales, "revenue"));
	buf_addstr(b, "</b></div>\n</div>\n");
}

/*
 * Clicks are counted per UTC day (migration 0007): the days that overlap
 * the window count whole.
 */
static const char sql_clicks[] =
    "SELECT coalesce(sum(clicks), 0) FROM referral_clicks"
    " WHERE day + 86400 > ?1 AND day < ?2";
static const char sql_referrer_name[] =
    "SELECT name FROM customers WHERE id = ?1";

/* The clicks, and each top referrer's name beside stats' address and code. */
static int
report_referral_facts(struct db *db, const struct stats_filter *f,
    json_t *stats, int64_t *clicks)
{
	sqlite3_stmt	*st;
	json_t		*r;
	size_t		 i;
	int		 rc;

	if ((rc = db_run(db, sql_clicks, f->since, f->until, NULL, clicks)) < 0)
		return rc;
	if ((st = db_prepare(db, sql_referrer_name)) == NULL)
		return DB_ERROR;
	json_array_foreach(json_object_get(stats, "top_referrers"), i, r) {
		int64_t id = 0;

		if ((rc = store_customer_by_code(db, report_str(r, "code"),
		    &id)) < 0)
			return rc;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, id);
		if ((rc = db_step(db, st)) != SQLITE_ROW && rc != SQLITE_DONE)
			return rc;
		json_object_set_new(r, "name", json_string(rc == SQLITE_ROW ?
		    view_text(st, 0) : ""));
	}
	sqlite3_reset(st);
	return DB_OK;
}

/*
 * The whole page for f's window into `page`.  The sections read their
 * numbers in snapshots of their own (stats_collect, series_collect,
 * series_cohorts), so a sale recorded meanwhile may show in one and not
 * yet in another.  DB_OK, SERIES_TOO_LONG, or DB_*.
 */
int
report_html(struct db *db, const struct config *cfg,
    const struct stats_filter *f, enum series_by by, int64_t now,
    struct buf *page)
{
	json_t	*stats = NULL, *series = NULL, *cohorts = NULL;
	int64_t	 clicks = 0;
	int	 rc;

	if ((rc = stats_collect(db, cfg, f, now, &stats)) != DB_OK ||
	    (rc = series_collect(db, cfg, f, by, &series)) != DB_OK ||
	    (rc = series_cohorts(db, f, &cohorts)) != DB_OK ||
	    (rc = report_referral_facts(db, f, stats, &clicks)) != DB_OK)
		goto out;
	report_header(page, cfg, stats, series);
	report_orders(page, series);
	report_repeat(page, stats, series);
	report_cohorts(page, cohorts);
	report_campaigns(page, stats);
	report_referrals(page, stats, clicks);
	report_referrers(page, stats);
	buf_addstr(page, "</main>\n</body>\n</html>\n");
out:
	json_decref(stats);
	json_decref(series);
	json_decref(cohorts);
	return rc;
}
