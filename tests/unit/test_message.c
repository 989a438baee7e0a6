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

static void
test_encoded_words(void **state)
{
	struct buf	b = { 0 };
	const char	*long_text = "Ünïcödé ünïcödé ünïcödé ünïcödé ünïcödé ünïcödé ünïcödé";

	(void)state;
	message_encode_word(&b, "Chloé");
	assert_string_equal(b.data, "=?UTF-8?B?Q2hsb8Op?=");
	buf_free(&b);
	message_encode_word(&b, long_text);
	/* Several words on continuation lines, each within 75 characters. */
	assert_non_null(strstr(b.data, "?=\r\n =?UTF-8?B?"));
	for (char *w = b.data; w != NULL; w = strstr(w, "\r\n ")) {
		char *end;

		w += w == b.data ? 0 : 3;
		end = strstr(w, "?=");
		assert_non_null(end);
		assert_true(end + 2 - w <= 75);
	}
	buf_free(&b);
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
 * Check that b holds encoded words only, one per line, each within 75
 * characters, and that each decodes to valid UTF-8 on its own; return
 * what they decode to together (malloc'd).
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
		size_t	 len = strcspn(line, "\r");
		char	 word[80];
		size_t	 wlen;

		if (line != copy) {
			assert_int_equal(*line, ' ');
			line++;
			len--;
		}
		assert_true(len <= 75);
		assert_true(strncmp(line, "=?UTF-8?B?", 10) == 0);
		assert_true(strncmp(line + len - 2, "?=", 2) == 0);
		wlen = unbase64(line + 10, len - 12, (unsigned char *)word);
		word[wlen] = '\0';
		assert_true(text_utf8_valid(word));
		memcpy(all + n, word, wlen);
		n += wlen;
	}
	free(copy);
	return all;
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
	message_encode_word(&b, in);
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
	message_encode_word(&b, in);
	out = check_words(&b);
	assert_non_null(strstr(out, "\xef\xbf\xbd\xc3\xa9€😀x"));
	free(out);
	buf_free(&b);

	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		message_encode_word(&b, inputs[i]);
		free(check_words(&b));
		buf_free(&b);
	}

	/* Every byte value at every offset of a chunk. */
	for (int c = 1; c < 256; c++) {
		for (int len = 1; len < 100; len += 7) {
			memset(in, c, (size_t)len);
			in[len] = '\0';
			message_encode_word(&b, in);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qp_basics),
		cmocka_unit_test(test_qp_line_length),
		cmocka_unit_test(test_encoded_words),
		cmocka_unit_test(test_encoded_words_invalid_utf8),
		cmocka_unit_test(test_address_with_line_break),
		cmocka_unit_test(test_subject_long_word),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
