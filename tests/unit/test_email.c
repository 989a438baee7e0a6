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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_lengths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
