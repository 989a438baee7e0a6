/* Templates: "{{variable}}" and "{{variable|fallback}}" in plain text. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "template.h"
#include "text.h"
#include "xmalloc.h"

#define TEMPLATE_MAX_SIZE	(1024 * 1024)

const char *const template_var_names[VAR_COUNT] = {
	[VAR_CUSTOMER_EMAIL] = "customer.email",
	[VAR_CUSTOMER_NAME] = "customer.name",
	[VAR_CUSTOMER_FIRST_NAME] = "customer.first_name",
	[VAR_SALE_ORDER_ID] = "sale.order_id",
	[VAR_SALE_SKU] = "sale.sku",
	[VAR_SALE_PRODUCT] = "sale.product",
	[VAR_SALE_AMOUNT] = "sale.amount",
	[VAR_SALE_CURRENCY] = "sale.currency",
	[VAR_SALE_DATE] = "sale.date",
	[VAR_REFERRAL_CODE] = "referral.code",
	[VAR_REFERRAL_LINK] = "referral.link",
	[VAR_UNSUBSCRIBE_LINK] = "unsubscribe.link",
	[VAR_UNSUBSCRIBE_TOKEN] = "unsubscribe.token",
	[VAR_SHOP_NAME] = "shop.name",
	[VAR_SHOP_URL] = "shop.url",
	[VAR_CAMPAIGN_NAME] = "campaign.name",
	[VAR_COUPON_CODE] = "coupon.code",
	[VAR_COUPON_EXPIRES] = "coupon.expires",
};

static void
template_add_piece(struct template_text *t, const char *text, size_t len,
    int var)
{
	t->pieces = xreallocarray(t->pieces, t->count + 1, sizeof(*t->pieces));
	t->pieces[t->count++] = (struct template_piece){ text, len, var };
}

static int
template_lookup(const char *name, size_t len)
{
	for (int v = 0; v < VAR_COUNT; v++)
		if (strlen(template_var_names[v]) == len &&
		    memcmp(template_var_names[v], name, len) == 0)
			return v;
	return -1;
}

static void
template_trim(const char **s, size_t *len)
{
	while (*len > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

static void
template_unknown(const char *name, size_t len, unsigned allowed,
    const char *file, int line, int *errors)
{
	const char	*candidates[VAR_COUNT];
	const char	*hint;
	char		 word[64];
	size_t		 n = 0;

	snprintf(word, sizeof(word), "%.*s", (int)(len < 63 ? len : 63), name);
	for (int v = 0; v < VAR_COUNT; v++)
		if (allowed & VAR_BIT(v))
			candidates[n++] = template_var_names[v];
	hint = text_closest(word, candidates, n);
	if (template_lookup(name, len) >= 0 &&
	    (VAR_BIT(template_lookup(name, len)) & TEMPLATE_VARS_COUPON))
		log_at(errors, file, line, "variable {{%s}} needs a coupon: "
		    "the campaign must name a pool (coupon = \"NAME\";)", word);
	else if (template_lookup(name, len) >= 0)
		log_at(errors, file, line, "variable {{%s}} cannot be used here",
		    word);
	else if (hint != NULL)
		log_at(errors, file, line, "unknown variable {{%s}} "
		    "(did you mean {{%s}}?)", word, hint);
	else
		log_at(errors, file, line, "unknown variable {{%s}}", word);
}

/*
 * Split `text` into literal pieces and variables.  The pieces point into
 * `text`, which must outlive the result.  Problems are reported at
 * file:line (advanced across newlines) and counted in *errors.
 */
int
template_parse_text(const char *text, size_t len, unsigned allowed,
    const char *file, int line, int *errors, struct template_text *out)
{
	const char	*p = text, *end = text + len;
	int		 before = *errors;

	memset(out, 0, sizeof(*out));
	while (p < end) {
		const char	*open = NULL, *close, *name, *bar;
		size_t		 name_len;
		int		 var;

		for (const char *q = p; q + 1 < end; q++) {
			if (q[0] == '{' && q[1] == '{') {
				open = q;
				break;
			}
		}
		if (open == NULL)
			open = end;
		if (open > p)
			template_add_piece(out, p, (size_t)(open - p), -1);
		for (const char *q = p; q < open; q++)
			if (*q == '\n')
				line++;
		if (open == end)
			break;

		close = NULL;
		for (const char *q = open + 2; q + 1 < end && *q != '\n'; q++) {
			if (q[0] == '}' && q[1] == '}') {
				close = q;
				break;
			}
		}
		if (close == NULL) {
			log_at(errors, file, line, "\"{{\" is not closed by "
			    "\"}}\" on the same line");
			break;
		}
		name = open + 2;
		bar = memchr(name, '|', (size_t)(close - name));
		name_len = (size_t)((bar ? bar : close) - name);
		template_trim(&name, &name_len);
		var = template_lookup(name, name_len);
		if (var < 0 || !(allowed & VAR_BIT(var))) {
			template_unknown(name, name_len, allowed, file, line, errors);
		} else {
			const char	*fallback = bar ? bar + 1 : close;
			size_t		 fallback_len = (size_t)(close - fallback);

			template_trim(&fallback, &fallback_len);
			template_add_piece(out, fallback, fallback_len, var);
		}
		p = close + 2;
	}
	if (*errors > before) {
		template_text_free(out);
		return -1;
	}
	return 0;
}

static char *
template_read(const char *path, int *errors)
{
	FILE	*fp;
	char	*buf;
	size_t	 n;

	if ((fp = fopen(path, "rb")) == NULL) {
		log_at(errors, path, 0, "cannot read template: %s", strerror(errno));
		return NULL;
	}
	buf = xmalloc(TEMPLATE_MAX_SIZE + 1);
	n = fread(buf, 1, TEMPLATE_MAX_SIZE + 1, fp);
	if (ferror(fp) || n > TEMPLATE_MAX_SIZE) {
		log_at(errors, path, 0, ferror(fp) ? "cannot read template" :
		    "template is larger than 1 MiB");
		fclose(fp);
		free(buf);
		return NULL;
	}
	fclose(fp);
	buf[n] = '\0';
	return buf;
}

/* Remove every CR before an LF, so that templates saved on Windows work. */
static void
template_strip_cr(char *s)
{
	char *w = s;

	for (char *r = s; *r != '\0'; r++)
		if (!(r[0] == '\r' && r[1] == '\n'))
			*w++ = *r;
	*w = '\0';
}

/*
 * Header lines until the first empty line.  Only "Subject" is known: the
 * other headers are the sender's to write, so that no template can forge
 * them.
 */
static int
template_parse_headers(struct template *t, char **body, unsigned allowed,
    const char *path, int *errors)
{
	char	*line = t->source, *nl;
	int	 lineno = 1;

	for (;; lineno++) {
		char	*colon;

		if ((nl = strchr(line, '\n')) == NULL) {
			log_at(errors, path, lineno, "no empty line after the "
			    "headers: a template starts with \"Subject: ...\", "
			    "an empty line, then the body");
			return -1;
		}
		if (nl == line)
			break;
		*nl = '\0';
		colon = strchr(line, ':');
		if (colon == NULL || colon == line) {
			log_at(errors, path, lineno, "expected a header line "
			    "such as \"Subject: ...\", got \"%.40s\"", line);
		} else if ((size_t)(colon - line) != 7 ||
		    strncasecmp(line, "Subject", 7) != 0) {
			log_at(errors, path, lineno, "unknown header \"%.*s\" "
			    "(a template sets only Subject)",
			    (int)(colon - line), line);
		} else if (t->subject.count > 0) {
			log_at(errors, path, lineno, "second Subject header");
		} else {
			/*
			 * Spaces around the value are the editor's: a message
			 * keeps its subject's spaces, and would encode the
			 * subject to keep one at its end.
			 */
			const char	*value = colon + 1;
			size_t		 len = strlen(value);

			template_trim(&value, &len);
			if (len == 0)
				log_at(errors, path, lineno, "the Subject is empty");
			else
				template_parse_text(value, len, allowed, path,
				    lineno, errors,
				    &t->subject);
		}
		line = nl + 1;
	}
	*body = nl + 1;
	return lineno + 1;
}

/*
 * Load NAME.txt (require_subject) or NAME.html (no headers, body only),
 * which may use the variables whose VAR_BITs are in `allowed`.  Returns 0 and a template the caller frees with template_free(), or -1
 * with every problem reported.
 */
int
template_load(const char *path, int require_subject, unsigned allowed,
    int *errors, struct template **out)
{
	struct template	*t;
	char		*body;
	int		 before = *errors, body_line = 1;

	t = xcalloc(1, sizeof(*t));
	if ((t->source = template_read(path, errors)) == NULL)
		goto fail;
	if (!text_utf8_valid(t->source)) {
		log_at(errors, path, 0, "template is not valid UTF-8");
		goto fail;
	}
	template_strip_cr(t->source);
	body = t->source;
	if (require_subject) {
		body_line = template_parse_headers(t, &body, allowed, path,
		    errors);
		if (body_line < 0)
			goto fail;
		if (t->subject.count == 0 && *errors == before)
			log_at(errors, path, 1, "no Subject header");
	}
	template_parse_text(body, strlen(body), allowed, path,
	    body_line, errors, &t->body);
	if (*errors > before)
		goto fail;
	*out = t;
	return 0;

fail:
	template_free(t);
	return -1;
}

void
template_text_free(struct template_text *t)
{
	free(t->pieces);
	t->pieces = NULL;
	t->count = 0;
}

void
template_free(struct template *t)
{
	if (t == NULL)
		return;
	template_text_free(&t->subject);
	template_text_free(&t->body);
	free(t->source);
	free(t);
}

/* Append s HTML-escaped, in runs rather than byte by byte. */
void
template_escape(struct buf *b, const char *s, size_t n)
{
	size_t start = 0;

	for (size_t i = 0; i < n; i++) {
		const char *rep;

		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: continue;
		}
		buf_add(b, s + start, i - start);
		buf_addstr(b, rep);
		start = i + 1;
	}
	buf_add(b, s + start, n - start);
}

/*
 * Render into a new string the caller frees.  Values are escaped when
 * `html` is set; literal template text never is.  An empty or missing
 * value takes the variable's fallback.
 */
char *
template_render(const struct template_text *t,
    const char *const values[VAR_COUNT], int html)
{
	struct buf b = { 0 };

	buf_add(&b, "", 0);
	for (size_t i = 0; i < t->count; i++) {
		const struct template_piece	*p = &t->pieces[i];
		const char			*v;

		if (p->var < 0 || (v = values[p->var]) == NULL || *v == '\0')
			buf_add(&b, p->text, p->len);
		else if (html)
			template_escape(&b, v, strlen(v));
		else
			buf_addstr(&b, v);
	}
	return b.data;
}
