/* MIME encodings: quoted-printable bodies and RFC 2047 encoded words. */

#include <string.h>

#include "unit.h"

#include "message.h"

static char *
qp(const char *in, struct buf *b)
{
	memset(b, 0, sizeof(*b));
	message_quoted_printable(b, in);
	assert_false(b->failed);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qp_basics),
		cmocka_unit_test(test_qp_line_length),
		cmocka_unit_test(test_encoded_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
