/* message_build() on any template and any customer, checked as a relay would. */

#include <string.h>
#include <strings.h>

#include "fuzz.h"

#include "config.h"
#include "email.h"
#include "message.h"
#include "text.h"

#define FUZZ_SEP	0xff	/* never in UTF-8, so never in a field */
#define FUZZ_DATE	1782900000

static struct config *fuzz_cfg;

/* The sample config gives From, Reply-To and the links. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (config_load(FUZZ_SRCDIR "/conf/aftersale.conf", &fuzz_cfg) == -1)
		abort();
	return 0;
}

/* The headers message_build writes; anything else was injected. */
static int
fuzz_known_header(const char *line, size_t len)
{
	static const char *const names[] = {
		"From", "To", "Reply-To", "Subject", "Date", "Message-ID",
		"List-Id", "List-Unsubscribe", "List-Unsubscribe-Post",
		"Feedback-ID", "MIME-Version",
		"Content-Type", "Content-Transfer-Encoding",
	};
	const char *colon = memchr(line, ':', len);

	for (size_t i = 0; colon != NULL && i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == (size_t)(colon - line) &&
		    strncasecmp(line, names[i], strlen(names[i])) == 0)
			return 1;
	return 0;
}

/*
 * Each RFC 2047 encoded word fits in 75 characters.  Words are what
 * stands between spaces outside quoted strings: inside quotes (a display
 * name) "=?" is plain text.
 */
static void
fuzz_check_words(const char *line, size_t n)
{
	static const char	 prefix[] = "=?UTF-8?B?";
	size_t			 i = 0, start, len;
	int			 quoted = 0;

	while (i < n) {
		if (line[i] == ' ' || line[i] == '\t') {
			i++;
			continue;
		}
		start = i;
		for (; i < n && (quoted || (line[i] != ' ' && line[i] != '\t')); i++) {
			if (line[i] == '\\' && quoted)
				i++;
			else if (line[i] == '"')
				quoted = !quoted;
		}
		len = i - start;
		if (len >= sizeof(prefix) + 1 &&
		    memcmp(line + start, prefix, sizeof(prefix) - 1) == 0 &&
		    memcmp(line + i - 2, "?=", 2) == 0)
			FUZZ_CHECK(len <= 75);
	}
}

/*
 * Header lines fold at 78 octets: only a token that no fold can split (a
 * link, an address) may make one longer, alone on its line after the
 * header's name or the fold's space.
 */
static void
fuzz_check_fold(const char *line, size_t n)
{
	const char *p = line, *end = line + n;

	if (n <= 78)
		return;
	if (*p != ' ') {
		FUZZ_CHECK((p = memchr(line, ':', n)) != NULL);
		p++;
	}
	FUZZ_CHECK(p < end && *p == ' ');
	for (p++; p < end; p++)
		FUZZ_CHECK(*p != ' ' && *p != '\t');
}

/*
 * RFC 5322 and 2045 as a strict relay checks them: CRLF line ends only,
 * no line over 998 octets, headers we wrote and only one To, encoded
 * words within 75 characters, header lines folded at 78, and
 * quoted-printable lines within 76.
 */
static void
fuzz_check_message(const char *m, size_t len)
{
	const char	*line = m, *end = m + len;
	int		 in_headers = 1, to = 0;

	FUZZ_CHECK(strlen(m) == len);
	while (line < end) {
		const char	*lf = memchr(line, '\n', (size_t)(end - line));
		size_t		 n;

		FUZZ_CHECK(lf != NULL && lf > line && lf[-1] == '\r');
		n = (size_t)(lf - 1 - line);
		FUZZ_CHECK(memchr(line, '\r', n) == NULL);
		FUZZ_CHECK(n <= 998);
		if (in_headers && n == 0) {
			in_headers = 0;
		} else if (in_headers) {
			if (*line == ' ' || *line == '\t')
				FUZZ_CHECK(line != m);
			else
				FUZZ_CHECK(fuzz_known_header(line, n));
			to += n >= 3 && strncasecmp(line, "To:", 3) == 0;
			fuzz_check_words(line, n);
			fuzz_check_fold(line, n);
		} else {
			FUZZ_CHECK(n <= 76);
		}
		line = lf + 1;
	}
	FUZZ_CHECK(!in_headers);
	FUZZ_CHECK(to == 1);
}

/* Cut the next 0xff-separated field out of the input, or "" past the end. */
static char *
fuzz_field(char **p)
{
	char *s = *p, *sep;

	if (s == NULL)
		return (char *)"";	/* past the last field */
	if ((sep = strchr(s, (char)FUZZ_SEP)) != NULL) {
		*sep = '\0';
		*p = sep + 1;
	} else {
		*p = NULL;
	}
	return s;
}

static int
fuzz_copy(char *dst, size_t size, const char *src)
{
	if (src == NULL)
		src = "";
	if (strlen(src) >= size)
		return -1;
	strcpy(dst, src);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char			*input = fuzz_string(data, size), *p = input;
	char			*subject, *body, *html, *name, *email;
	char			*order, *sku, *product;
	struct template		 text = { 0 }, html_t = { 0 };
	struct campaign		 c = fuzz_cfg->campaigns[0];
	struct message_facts	 f = {
		.referral_code = "K3X9QF2M",
		.unsubscribe_token = "0123456789ABCDEFGHJKMNPQRS",
		.sale = {
			.currency = "EUR",
			.amount = (int64_t)size * 1234,
			.sold_at = FUZZ_DATE - 86400,
		},
	};
	struct buf		 out = { 0 };
	int			 errors = 0;

	subject = fuzz_field(&p);
	body = fuzz_field(&p);
	html = fuzz_field(&p);
	name = fuzz_field(&p);
	email = fuzz_field(&p);
	order = fuzz_field(&p);
	sku = fuzz_field(&p);
	product = fuzz_field(&p);

	/*
	 * The builder gets what the store gave it: valid addresses, fields
	 * within their columns, but any bytes in them, as a hand-edited
	 * database may hold.  Templates are valid UTF-8: template_load
	 * refuses any other.
	 */
	if (email == NULL || email_check(email) != NULL ||
	    fuzz_copy(f.email, sizeof(f.email), email) == -1 ||
	    fuzz_copy(f.name, sizeof(f.name), name) == -1 ||
	    fuzz_copy(f.sale.order_id, sizeof(f.sale.order_id), order) == -1 ||
	    fuzz_copy(f.sale.sku, sizeof(f.sale.sku), sku) == -1 ||
	    fuzz_copy(f.sale.product, sizeof(f.sale.product), product) == -1 ||
	    !text_utf8_valid(subject) || !text_utf8_valid(body) ||
	    !text_utf8_valid(html))
		goto out;

	/* The template as template_load would have parsed it. */
	if (*subject == '\0' || template_parse_text(subject, strlen(subject),
	    TEMPLATE_VARS_MESSAGE, "fuzz", 1, &errors, &text.subject) == -1 ||
	    template_parse_text(body, strlen(body), TEMPLATE_VARS_MESSAGE,
	    "fuzz", 2, &errors, &text.body) == -1 ||
	    (*html != '\0' && template_parse_text(html, strlen(html),
	    TEMPLATE_VARS_MESSAGE, "fuzz", 1, &errors, &html_t.body) == -1))
		goto out;
	c.text = &text;
	c.html = *html != '\0' ? &html_t : NULL;

	FUZZ_CHECK(message_build(fuzz_cfg, &c, &f, FUZZ_DATE, &out) == 0);
	fuzz_check_message(out.data, out.len);

out:
	buf_free(&out);
	template_text_free(&text.subject);
	template_text_free(&text.body);
	template_text_free(&html_t.body);
	free(input);
	return 0;
}
