/* MIME encodings: quoted-printable bodies and RFC 2047 encoded words. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

#include "config.h"
#include "message.h"
#include "text.h"

static char *
qp(const char *in, struct buf *b)
{
	memset(b, 0, sizeof(*b));
	message_quoted_printable(b, in);
	return b->data;
}

static void
test_qp_basics(void **state)
{
	struct buf b;

	(void)state;
	assert_string_equal(qp("a=b\n", &b), "a=3Db\r\n");
	buf_free(&b);
	assert_string_equal(qp("café\n", &b), "caf=C3=A9\r\n");
	buf_free(&b);
	/* Trailing white space would be eaten by relays: it is encoded. */
	assert_string_equal(qp("end \nx\t\n", &b), "end=20\r\nx=09\r\n");
	buf_free(&b);
	/* A leading dot is encoded, so no SMTP hop can take it for the end. */
	assert_string_equal(qp(".\n", &b), "=2E\r\n");
	buf_free(&b);
	/* CRLF in the input stays one line break. */
	assert_string_equal(qp("a\r\nb", &b), "a\r\nb\r\n");
	buf_free(&b);
}

static void
test_qp_line_length(void **state)
{
	char		 in[300];
	struct buf	 b;
	char		*line, *save = NULL;

	(void)state;
	memset(in, 'x', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	in[100] = '=';
	in[150] = (char)0xc3;
	in[151] = (char)0xa9;
	for (line = strtok_r(qp(in, &b), "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		assert_true(strlen(line) <= 77);	/* 76 and the CR */
	buf_free(&b);
	/* Exactly 76 characters fit without a soft break. */
	memset(in, 'y', 76);
	in[76] = '\0';
	assert_int_equal(strlen(qp(in, &b)), 78);
	buf_free(&b);
}

/* The value of the one header in b, unfolded: CRLF taken out. */
static char *
unfold(const struct buf *b, const char *name)
{
	char	*out = calloc(1, b->len + 1), *o = out;
	size_t	 skip = strlen(name) + 1;

	assert_non_null(out);
	assert_true(strncmp(b->data, name, skip - 1) == 0);
	for (const char *p = b->data + skip; *p != '\0'; p++)
		if (*p != '\r' && *p != '\n')
			*o++ = *p;
	return out;
}

/* Every line of b within 78 octets, CRLF not counted. */
static void
assert_lines_fit(const struct buf *b)
{
	for (const char *line = b->data, *end; *line != '\0'; line = end + 2) {
		end = strstr(line, "\r\n");
		assert_non_null(end);
		assert_true(end - line <= 78);
	}
}

/* Decode standard base64 (no line breaks) into out; returns its length. */
static size_t
unbase64(const char *in, size_t len, unsigned char *out)
{
	static const char	alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned		v = 0;
	size_t			n = 0;
	int			bits = 0;

	for (size_t i = 0; i < len && in[i] != '='; i++) {
		const char *c = strchr(alphabet, in[i]);

		assert_non_null(c);
		v = (v << 6) | (unsigned)(c - alphabet);
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(v >> bits);
		}
	}
	return n;
}

/*
 * Check that b holds a Subject of encoded words only, one per line, each
 * within 75 characters and every line within 78, and that each decodes
 * to valid UTF-8 on its own; return what they decode to together
 * (malloc'd).
 */
static char *
check_words(const struct buf *b)
{
	char	*all = calloc(1, b->len + 1), *copy = strdup(b->data);
	char	*line, *save = NULL;
	size_t	 n = 0;

	assert_non_null(all);
	assert_non_null(copy);
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		size_t	 len;
		char	 word[80];
		size_t	 wlen;

		if (line == copy) {
			assert_true(strncmp(line, "Subject:", 8) == 0);
			line += 8;
		}
		len = strcspn(line, "\r");
		assert_int_equal(*line, ' ');
		line++;
		len--;
		assert_true(len <= 75);
		assert_true(strncmp(line, "=?UTF-8?B?", 10) == 0);
		assert_true(strncmp(line + len - 2, "?=", 2) == 0);
		wlen = unbase64(line + 10, len - 12, (unsigned char *)word);
		word[wlen] = '\0';
		assert_true(text_utf8_valid(word));
		memcpy(all + n, word, wlen);
		n += wlen;
	}
	assert_lines_fit(b);
	free(copy);
	return all;
}

static void
test_encoded_words(void **state)
{
	struct buf	b = { 0 };
	const char	*long_text = "Ünïcödé ünïcödé ünïcödé ünïcödé ünïcödé ünïcödé ünïcödé";

	(void)state;
	message_header_text(&b, "Subject", "Chloé");
	assert_string_equal(b.data, "Subject: =?UTF-8?B?Q2hsb8Op?=\r\n");
	buf_free(&b);
	message_header_text(&b, "Subject", long_text);
	/* Several words on continuation lines, each within 75 characters. */
	assert_non_null(strstr(b.data, "?=\r\n =?UTF-8?B?"));
	for (char *w = strstr(b.data, "=?"); w != NULL; w = strstr(w, "\r\n ")) {
		char *end;

		w += *w == '\r' ? 3 : 0;
		end = strstr(w, "?=");
		assert_non_null(end);
		assert_true(end + 2 - w <= 75);
	}
	assert_lines_fit(&b);
	buf_free(&b);
}

/*
 * Plain text folds at its spaces and keeps them all, repeated ones too
 * ("Kenya  AA   250g" once went out as "Kenya AA 250g"); unfolding gives
 * back the text.
 */
static void
test_plain_text_folds(void **state)
{
	const char	*text = "How is your Kenya  AA   250g, the one with the "
	    "long name that will not fit on one line of a mail header?";
	struct buf	 b = { 0 };
	char		*value;

	(void)state;
	message_header_text(&b, "Subject", "Kenya  AA   250g");
	assert_string_equal(b.data, "Subject: Kenya  AA   250g\r\n");
	buf_free(&b);
	message_header_text(&b, "Subject", text);
	assert_non_null(strstr(b.data, "\r\n "));
	assert_null(strstr(b.data, "=?"));
	assert_lines_fit(&b);
	value = unfold(&b, "Subject");
	assert_string_equal(value + 1, text);	/* after the space */
	free(value);
	buf_free(&b);
}

/*
 * Text a reader would decode as an encoded word is encoded itself, so
 * that it reads as written; so is a space at either end, which parsers
 * drop from plain text.
 */
static void
test_lookalike_is_encoded(void **state)
{
	static const char *const texts[] = {
		"Thanks, =?UTF-8?B?QWRtaW4=?= Team!", " leading", "trailing ",
	};
	struct buf b = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		message_header_text(&b, "Subject", texts[i]);
		assert_true(strncmp(b.data, "Subject: =?UTF-8?B?", 19) == 0);
		free(check_words(&b));
		buf_free(&b);
	}
}

/*
 * Encoded words end after a space where there is one in reach, so that
 * no word is cut in the middle: decoders that wrongly show a space
 * between words showed one inside a name.
 */
static void
test_words_split_at_spaces(void **state)
{
	const char	*text = "Ünïcödé ünïcödé ünïcödé ünïcödé ünïcödé ünïcödé "
	    "ünïcödé Ünïcödé ünïcödé";
	struct buf	 b = { 0 };
	char		*copy, *line, *save = NULL, *all;
	int		 words = 0;

	(void)state;
	message_header_text(&b, "Subject", text);
	all = check_words(&b);
	assert_string_equal(all, text);
	free(all);
	copy = strdup(b.data);
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char		*w = strstr(line, "=?UTF-8?B?") + 10;
		unsigned char	 word[80];
		size_t		 n = unbase64(w, strcspn(w, "?"), word);

		if (strstr(line, "?=\r") != NULL && save != NULL && *save != '\0')
			assert_int_equal(word[n - 1], ' ');
		words++;
	}
	assert_true(words > 1);
	free(copy);
	buf_free(&b);
}

/*
 * Regression: 45 or more continuation bytes in a row made the chunk size
 * 0, and the encoder looped forever (issue 9 defect 17).  Any bytes end,
 * and become words that decode to UTF-8, U+FFFD for what was not.
 */
static void
test_encoded_words_invalid_utf8(void **state)
{
	static const char *const inputs[] = {
		"\x80", "\x80\x80\x80 abc", "\xc3", "abc\xe2\x82",
		"\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80",
	};
	char		 in[301], expect[1000];
	struct buf	 b = { 0 };
	char		*out;

	(void)state;
	alarm(10);		/* a loop fails the test instead of hanging it */
	memset(in, 0x80, 300);
	in[300] = '\0';
	message_header_text(&b, "Subject", in);
	out = check_words(&b);
	expect[0] = '\0';
	for (int i = 0; i < 300; i++)
		strcat(expect, "\xef\xbf\xbd");
	assert_string_equal(out, expect);
	free(out);
	buf_free(&b);

	/* A valid character after a run of stray bytes stays whole. */
	memset(in, 0xbf, 44);
	strcpy(in + 44, "é€😀x");
	message_header_text(&b, "Subject", in);
	out = check_words(&b);
	assert_non_null(strstr(out, "\xef\xbf\xbd\xc3\xa9€😀x"));
	free(out);
	buf_free(&b);

	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		message_header_text(&b, "Subject", inputs[i]);
		free(check_words(&b));
		buf_free(&b);
	}

	/* Every non-ASCII byte value at every offset of a chunk. */
	for (int c = 0x80; c < 256; c++) {
		for (int len = 1; len < 100; len += 7) {
			memset(in, c, (size_t)len);
			in[len] = '\0';
			message_header_text(&b, "Subject", in);
			free(check_words(&b));
			buf_free(&b);
		}
	}
	alarm(0);
}

/* Build the sample config's first campaign's message for facts f. */
static int
build(const struct message_facts *f, struct buf *b)
{
	const char	*src = getenv("AFTERSALE_SRCDIR");
	char		 path[4200];
	struct config	*cfg;
	int		 rc;

	snprintf(path, sizeof(path), "%s/conf/aftersale.conf", src ? src : ".");
	assert_int_equal(config_load(path, &cfg), 0);
	memset(b, 0, sizeof(*b));
	rc = message_build(cfg, &cfg->campaigns[0], f, 1790000000, b);
	config_free(cfg);
	return rc;
}

/*
 * A recipient address with a line break would add a header (Bcc: ...)
 * even though the display name was cleaned; it is refused, not sent
 * (issue 9 defect 17).
 */
static void
test_address_with_line_break(void **state)
{
	static const char *const bad[] = {
		"chloe@example.com\r\nBcc: all@evil.example",
		"chloe@example.com\nX: y", "chloe@example.com\r",
		"chloe@example.com> , <all@evil.example",
		"chloe @example.com",
	};
	struct message_facts	 f = {
		.name = "Chloé", .unsubscribe_token = "T",
		.sale = { .currency = "EUR", .amount = 1250, .order_id = "A-1" },
	};
	struct buf		 b;
	char			*err;

	(void)state;
	strcpy(f.email, "chloe@example.com");
	assert_int_equal(build(&f, &b), 0);
	assert_non_null(strstr(b.data, "\r\nTo: =?UTF-8?B?Q2hsb8Op?= "
	    "<chloe@example.com>\r\n"));
	buf_free(&b);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(f.email, sizeof(f.email), "%s", bad[i]);
		unit_capture_begin();
		assert_int_equal(build(&f, &b), -1);
		err = unit_capture_end();
		assert_non_null(strstr(err, "the To address contains a line "
		    "break"));
		assert_true(b.data == NULL || strstr(b.data, "evil") == NULL);
		free(err);
		buf_free(&b);
	}
}

/*
 * Found by tests/fuzz/fuzz_message: a subject with one word longer than a
 * line (here a 200-byte product name, five times over with nothing
 * between) went out as one Subject line of 1,000+ octets, which RFC 5322
 * forbids and strict relays refuse.  It is encoded and folded instead.
 */
static void
test_subject_long_word(void **state)
{
	const char		*src = getenv("AFTERSALE_SRCDIR");
	const char		*subject = "Your {{sale.product}}{{sale.product}}"
	    "{{sale.product}}{{sale.product}}{{sale.product}}";
	char			 path[4200];
	struct config		*cfg;
	struct campaign		 c;
	struct template		 t = { 0 };
	struct message_facts	 f = { .email = "ana@example.com",
	    .name = "Ana Lima", .sale = { .currency = "EUR" } };
	struct buf		 b = { 0 };
	int			 errors = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/conf/aftersale.conf", src ? src : ".");
	assert_int_equal(config_load(path, &cfg), 0);
	memset(f.sale.product, 'P', 200);
	assert_int_equal(template_parse_text(subject, strlen(subject),
	    TEMPLATE_VARS_MESSAGE, "t", 1, &errors, &t.subject), 0);
	assert_int_equal(template_parse_text("Hi.\n", 4, TEMPLATE_VARS_MESSAGE,
	    "t", 3, &errors, &t.body), 0);
	c = cfg->campaigns[0];
	c.text = &t;
	c.html = NULL;
	assert_int_equal(message_build(cfg, &c, &f, 1782900000, &b), 0);
	assert_non_null(strstr(b.data, "\r\nSubject: =?UTF-8?B?"));
	for (char *line = b.data, *end; *line != '\0'; line = end + 2) {
		end = strstr(line, "\r\n");
		assert_non_null(end);
		assert_true(end - line <= 998);
	}
	/* A subject that folds at spaces stays plain text. */
	buf_free(&b);
	memset(&b, 0, sizeof(b));
	memset(f.sale.product, 0, sizeof(f.sale.product));
	memcpy(f.sale.product, "Kenya AA", 8);
	assert_int_equal(message_build(cfg, &c, &f, 1782900000, &b), 0);
	assert_non_null(strstr(b.data, "\r\nSubject: Your Kenya AAKenya AA"));
	buf_free(&b);
	template_text_free(&t.subject);
	template_text_free(&t.body);
	config_free(cfg);
}

/*
 * The first name is what follows the comma of "Last, First", else the
 * first word: "Müller, Hans" was greeted as "Müller,".  None at all
 * leaves the template's fallback.
 */
static void
test_first_name(void **state)
{
	static const char *const cases[][2] = {
		{ "Müller, Hans", "Thank you for your order, Hans!" },
		{ "Müller,  Hans Peter ", "Thank you for your order, Hans Peter!" },
		{ "Ana Lima", "Thank you for your order, Ana!" },
		{ "Cher", "Thank you for your order, Cher!" },
		{ "Smith,", "Thank you for your order, friend!" },
		{ "", "Thank you for your order, friend!" },
	};
	struct message_facts	 f = {
		.email = "x@example.com", .unsubscribe_token = "T",
		.sale = { .currency = "EUR", .amount = 1250, .order_id = "A-1" },
	};
	struct buf		 b;
	char			 want[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(f.name, sizeof(f.name), "%s", cases[i][0]);
		assert_int_equal(build(&f, &b), 0);
		snprintf(want, sizeof(want), "\r\nSubject: %s\r\n", cases[i][1]);
		assert_non_null(strstr(b.data, want));
		buf_free(&b);
	}
}

/* RFC 2919's List-Id, by default the shop's name at followups.DOMAIN. */
static void
test_list_id(void **state)
{
	struct message_facts	 f = {
		.email = "x@example.com", .name = "Ana", .unsubscribe_token = "T",
		.sale = { .currency = "EUR", .amount = 1250, .order_id = "A-1" },
	};
	struct buf		 b;

	(void)state;
	assert_int_equal(build(&f, &b), 0);
	assert_non_null(strstr(b.data, "\r\nList-Id: \"Acme Coffee\" "
	    "<followups.acme.example>\r\n"));
	assert_null(strstr(b.data, "Feedback-ID"));
	buf_free(&b);
}

/*
 * An HTML template that is a fragment goes out as a whole small
 * document: doctype, language, charset, and the subject as its title,
 * escaped.  One that is a document already goes as written.
 */
static void
test_html_document(void **state)
{
	const char		*src = getenv("AFTERSALE_SRCDIR");
	const char		*subject = "Hello & welcome, {{customer.first_name}}";
	const char		*fragment = "<p>Hi {{customer.name}}</p>";
	const char		*document = "<!DOCTYPE html>\n<html lang=\"de\">"
	    "<p>Hallo</p></html>\n";
	char			 path[4200];
	struct config		*cfg;
	struct campaign		 c;
	struct template		 t = { 0 }, h = { 0 }, d = { 0 };
	struct message_facts	 f = { .email = "ana@example.com",
	    .name = "Ana Lima", .sale = { .currency = "EUR" } };
	struct buf		 b = { 0 };
	int			 errors = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/conf/aftersale.conf", src ? src : ".");
	assert_int_equal(config_load(path, &cfg), 0);
	assert_int_equal(template_parse_text(subject, strlen(subject),
	    TEMPLATE_VARS_MESSAGE, "t", 1, &errors, &t.subject), 0);
	assert_int_equal(template_parse_text("Hi.\n", 4, TEMPLATE_VARS_MESSAGE,
	    "t", 3, &errors, &t.body), 0);
	assert_int_equal(template_parse_text(fragment, strlen(fragment),
	    TEMPLATE_VARS_MESSAGE, "h", 1, &errors, &h.body), 0);
	assert_int_equal(template_parse_text(document, strlen(document),
	    TEMPLATE_VARS_MESSAGE, "d", 1, &errors, &d.body), 0);
	c = cfg->campaigns[0];
	c.text = &t;
	c.html = &h;
	assert_int_equal(message_build(cfg, &c, &f, 1782900000, &b), 0);
	assert_non_null(strstr(b.data, "\r\n<!doctype html>\r\n"
	    "<html lang=3D\"en\">\r\n<head>\r\n<meta charset=3D\"utf-8\">\r\n"));
	assert_non_null(strstr(b.data, "\r\n<title>Hello &amp; welcome, Ana"
	    "</title>\r\n</head>\r\n<body>\r\n<p>Hi Ana Lima</p>\r\n"
	    "</body>\r\n</html>\r\n"));
	buf_free(&b);
	c.html = &d;
	assert_int_equal(message_build(cfg, &c, &f, 1782900000, &b), 0);
	assert_non_null(strstr(b.data, "\r\n<!DOCTYPE html>\r\n<html lang=3D\"de\">"));
	assert_null(strstr(b.data, "<!doctype"));
	buf_free(&b);
	template_text_free(&t.subject);
	template_text_free(&t.body);
	template_text_free(&h.body);
	template_text_free(&d.body);
	config_free(cfg);
}

/*
 * Found by tests/fuzz/fuzz_message: an ASCII name with a run of spaces
 * longer than a line went out quoted on a line of 94 octets, spaces and
 * all, which no fold could shorten.  Such a name is encoded.
 */
static void
test_name_with_long_run_of_spaces(void **state)
{
	struct message_facts	 f = {
		.email = "x@example.com", .unsubscribe_token = "T",
		.sale = { .currency = "EUR", .amount = 1250, .order_id = "A-1" },
	};
	struct buf		 b;

	(void)state;
	snprintf(f.name, sizeof(f.name), "Ana%80sLima", "");
	assert_int_equal(build(&f, &b), 0);
	assert_non_null(strstr(b.data, "\r\nTo: =?UTF-8?B?"));
	assert_lines_fit(&b);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qp_basics),
		cmocka_unit_test(test_qp_line_length),
		cmocka_unit_test(test_encoded_words),
		cmocka_unit_test(test_plain_text_folds),
		cmocka_unit_test(test_lookalike_is_encoded),
		cmocka_unit_test(test_words_split_at_spaces),
		cmocka_unit_test(test_encoded_words_invalid_utf8),
		cmocka_unit_test(test_address_with_line_break),
		cmocka_unit_test(test_subject_long_word),
		cmocka_unit_test(test_first_name),
		cmocka_unit_test(test_list_id),
		cmocka_unit_test(test_html_document),
		cmocka_unit_test(test_name_with_long_run_of_spaces),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
