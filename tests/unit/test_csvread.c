/* CSV edge cases: quotes, embedded newlines, CRLF, UTF-8, BOM, limits. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "csvread.h"

/* Every record, flattened to "LINE:field|field|..." lines. */
struct collected {
	char	text[8192];
	int	records;
};

static int
collect(void *arg, long line, enum csvread_problem problem, char **fields,
    int n)
{
	struct collected	*c = arg;
	size_t			 len = strlen(c->text);

	len += (size_t)snprintf(c->text + len, sizeof(c->text) - len, "%ld:%s",
	    line, problem == CSVREAD_OK ? "" : problem == CSVREAD_NUL ? "NUL" :
	    "TOOLONG");
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(c->text + len, sizeof(c->text) - len,
		    "%s%s", i ? "|" : "", fields[i]);
	snprintf(c->text + len, sizeof(c->text) - len, "\n");
	c->records++;
	return 0;
}

static int
parse(const char *input, size_t len, struct collected *c)
{
	FILE	*fp = fmemopen((void *)input, len, "r");
	int	 rc;

	assert_non_null(fp);
	memset(c, 0, sizeof(*c));
	rc = csvread(fp, "test.csv", collect, c);
	fclose(fp);
	return rc;
}

#define PARSE(s, c)	parse((s), sizeof(s) - 1, (c))

static void
test_plain_and_quoted(void **state)
{
	struct collected c;

	(void)state;
	assert_int_equal(PARSE("a,b,c\n1,\"x, y\",\"say \"\"hi\"\"\"\n", &c), 0);
	assert_string_equal(c.text, "1:a|b|c\n2:1|x, y|say \"hi\"\n");
}

static void
test_embedded_newlines(void **state)
{
	struct collected c;

	(void)state;
	assert_int_equal(PARSE("h1,h2\n\"two\nlines\",x\n\"three\r\nmore\nlines\",y\nlast,z\n", &c), 0);
	assert_string_equal(c.text, "1:h1|h2\n2:two\nlines|x\n"
	    "4:three\r\nmore\nlines|y\n7:last|z\n");
}

static void
test_crlf_bom_blank_lines(void **state)
{
	struct collected c;

	(void)state;
	assert_int_equal(PARSE("\xef\xbb\xbforder_id,email\r\n\r\nA-1,a@x.io\r\nA-2,b@x.io", &c), 0);
	assert_string_equal(c.text, "1:order_id|email\n3:A-1|a@x.io\n4:A-2|b@x.io\n");
}

static void
test_utf8_passes_through(void **state)
{
	struct collected c;

	(void)state;
	assert_int_equal(PARSE("name\nChloé Ødegård\n\"東京, 日本\"\n", &c), 0);
	assert_string_equal(c.text, "1:name\n2:Chloé Ødegård\n3:東京, 日本\n");
}

static void
test_malformed(void **state)
{
	struct collected	 c;
	char			*err;

	(void)state;
	unit_capture_begin();
	assert_int_equal(PARSE("a,b\n1,\"unterminated\n2,3\n", &c), CSVREAD_MALFORMED);
	err = unit_capture_end();
	assert_non_null(strstr(err, "test.csv:2: malformed CSV: a quoted field "
	    "is not closed"));
	free(err);

	unit_capture_begin();
	assert_int_equal(PARSE("a,b\n1,2\n3,x\"y\"z\n", &c), CSVREAD_MALFORMED);
	err = unit_capture_end();
	assert_non_null(strstr(err, "test.csv:3: malformed CSV"));
	assert_int_equal(c.records, 2);
	free(err);
}

static void
test_limits(void **state)
{
	struct collected	 c;
	char			*big;
	size_t			 n = CSVREAD_MAX_RECORD + 100;

	(void)state;
	assert_int_equal(parse("a,b\n1,x\0y\n", 10, &c), 0);
	assert_string_equal(c.text, "1:a|b\n2:NUL\n");

	big = malloc(n + 20);
	assert_non_null(big);
	memcpy(big, "a\n", 2);
	memset(big + 2, 'x', n);
	memcpy(big + 2 + n, "\nok\n", 4);
	assert_int_equal(parse(big, n + 6, &c), 0);
	assert_string_equal(c.text, "1:a\n2:TOOLONG\n3:ok\n");
	free(big);
}

/*
 * A record far over the limit is skipped to its end without being held:
 * an unquoted line, and a quoted field running over many lines; the
 * lines after it keep their numbers (issue 9 defect 15).
 */
static void
test_huge_records_are_skipped(void **state)
{
	struct collected	 c;
	size_t			 n = 1024 * 1024, len;
	char			*big = malloc(n + 100);

	(void)state;
	assert_non_null(big);
	memcpy(big, "a\n", 2);
	memset(big + 2, 'x', n);
	memcpy(big + 2 + n, "\nok\n", 4);
	assert_int_equal(parse(big, n + 6, &c), 0);
	assert_string_equal(c.text, "1:a\n2:TOOLONG\n3:ok\n");

	/* "x\n" n/2 times inside quotes, "" pairs among them: lines 2..n/2+2. */
	len = 0;
	memcpy(big, "a\n\"", 3);
	len = 3;
	for (size_t i = 0; i < n / 2; i++) {
		memcpy(big + len, i % 1000 == 0 ? "\"\"" : "x\n", 2);
		len += 2;
	}
	memcpy(big + len, "\"\nok\n", 5);
	len += 5;
	assert_int_equal(parse(big, len, &c), 0);
	snprintf(big, 100, "1:a\n2:TOOLONG\n%zu:ok\n", 2 + n / 2 - n / 2 / 1000);
	assert_string_equal(c.text, big);
	free(big);
}

/* A line that never ends is given up on, not read to the end (defect 15). */
static void
test_endless_line(void **state)
{
	struct collected	 c;
	size_t			 n = 40 * 1024 * 1024;
	char			*big = malloc(n), *err;

	(void)state;
	assert_non_null(big);
	memcpy(big, "a\nb\n", 4);
	memset(big + 4, 'y', n - 4);
	unit_capture_begin();
	assert_int_equal(parse(big, n, &c), CSVREAD_MALFORMED);
	err = unit_capture_end();
	assert_non_null(strstr(err, "test.csv:3: the record is longer than "
	    "65536 bytes and does not end within 16 MiB"));
	assert_string_equal(c.text, "1:a\n2:b\n");
	free(err);

	memset(big, 0, n);	/* /dev/zero */
	unit_capture_begin();
	assert_int_equal(parse(big, n, &c), CSVREAD_MALFORMED);
	err = unit_capture_end();
	assert_non_null(strstr(err, "test.csv:1: the record is longer"));
	assert_int_equal(c.records, 0);
	free(err);
	free(big);
}

/* A read error is an error, never the end of the file (defect 14). */
static void
test_read_error(void **state)
{
	struct collected	 c = { 0 };
	FILE			*fp = fopen(".", "r");
	char			*err;

	(void)state;
	assert_non_null(fp);
	unit_capture_begin();
	assert_int_equal(csvread(fp, "dir", collect, &c), CSVREAD_IOERR);
	err = unit_capture_end();
	fclose(fp);
	assert_non_null(strstr(err, "dir:1: cannot read: Is a directory"));
	free(err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_and_quoted),
		cmocka_unit_test(test_embedded_newlines),
		cmocka_unit_test(test_crlf_bom_blank_lines),
		cmocka_unit_test(test_utf8_passes_through),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_huge_records_are_skipped),
		cmocka_unit_test(test_endless_line),
		cmocka_unit_test(test_read_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
