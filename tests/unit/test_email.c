/* Email addresses: what a shop can deliver to, and the matching key. */

#include <stdio.h>
#include <string.h>

#include "unit.h"

#include "email.h"

static void
test_accepted(void **state)
{
	static const char *const good[] = {
		"ana@example.com", "Ana.Lima+shop@mail.example.co.uk",
		"o'brien@example.ie", "x@a-b.example", "1@2.io",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (email_check(good[i]) != NULL)
			fail_msg("refused \"%s\": %s", good[i], email_check(good[i]));
}

static void
test_refused(void **state)
{
	static const char *const bad[] = {
		"", "ana", "@example.com", "ana@", "ana@example", "ana@@example.com",
		"ana@exa mple.com", "a na@example.com", ".ana@example.com",
		"ana.@example.com", "an..a@example.com", "ana@example..com",
		"ana@-example.com", "ana@example-.com", "ana@exämple.com",
		"anä@example.com", "ana@example.com\r\nBcc: x@y.z",
		"\"ana\"@example.com", "ana@[127.0.0.1]",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (email_check(bad[i]) == NULL)
			fail_msg("accepted \"%s\"", bad[i]);
}

static void
test_lengths(void **state)
{
	char local[80], addr[300];

	(void)state;
	memset(local, 'a', 64);
	local[64] = '\0';
	snprintf(addr, sizeof(addr), "%s@example.com", local);
	assert_null(email_check(addr));
	snprintf(addr, sizeof(addr), "a%s@example.com", local);
	assert_non_null(email_check(addr));
	memset(addr, 'b', 260);
	addr[0] = 'x';
	addr[1] = '@';
	memcpy(addr + 251, ".com", 5);
	assert_string_equal(email_check(addr), "it is longer than 254 characters");
}

/* Gmail's aliases are one mailbox; other providers' are theirs to read. */
static void
test_key(void **state)
{
	static const char *const pairs[][2] = {
		{ "ana@gmail.com", "ana@gmail.com" },
		{ "A.n.A+x@Gmail.com", "ana@gmail.com" },
		{ "ana+shop+more@googlemail.com", "ana@gmail.com" },
		{ "a.n.a@GOOGLEMAIL.COM", "ana@gmail.com" },
		{ "Ana.Lima+shop@example.com", "ana.lima+shop@example.com" },
		{ "ana@gmail.com.example", "ana@gmail.com.example" },
		{ "ana@mail.gmail.com", "ana@mail.gmail.com" },
		{ "erased:12", "erased:12" },
	};
	char key[EMAIL_KEY_SIZE], local[80], addr[300];

	(void)state;
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		email_key(pairs[i][0], key);
		assert_string_equal(key, pairs[i][1]);
	}
	/* The longest address there is keeps its whole key. */
	memset(local, 'A', 64);
	local[64] = '\0';
	snprintf(addr, sizeof(addr), "%s@googlemail.com", local);
	email_key(addr, key);
	assert_int_equal(strlen(key), 64 + strlen("@gmail.com"));
	memset(addr, 'b', 299);
	addr[299] = '\0';
	email_key(addr, key);
	assert_int_equal(strlen(key), EMAIL_KEY_SIZE - 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
