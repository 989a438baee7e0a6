/* The import's map of customers by address: found again, grown, bounded. */

#include <stdio.h>

#include "unit.h"

#include "emailmap.h"

static void
test_add_and_find(void **state)
{
	struct emailmap		*m = emailmap_new(64u << 20);
	struct emailmap_entry	*e;
	char			 key[64];

	(void)state;
	/* Enough keys to grow the table several times over. */
	for (int i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "customer%d@example.com", i);
		assert_null(emailmap_find(m, key));
		assert_non_null(e = emailmap_add(m, key));
		assert_int_equal(e->id, 0);
		e->id = i + 1;
		e->first_sale = 2 * i;
	}
	assert_int_equal(emailmap_count(m), 100000);
	for (int i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "customer%d@example.com", i);
		assert_non_null(e = emailmap_find(m, key));
		assert_int_equal(e->id, i + 1);
		assert_int_equal(e->first_sale, 2 * i);
	}
	assert_null(emailmap_find(m, "customer100000@example.com"));
	assert_null(emailmap_find(m, ""));
	emailmap_free(m);
}

static void
test_full(void **state)
{
	struct emailmap	*m = emailmap_new(4u << 20);
	char		 key[64];
	int		 i;

	(void)state;
	for (i = 0; i < 1000000; i++) {
		snprintf(key, sizeof(key), "c%d@example.com", i);
		if (emailmap_add(m, key) == NULL)
			break;
	}
	/* Full well before a million, and within its bound. */
	assert_true(i > 10000 && i < 1000000);
	assert_true(emailmap_bytes(m) <= 4u << 20);
	assert_int_equal(emailmap_count(m), i);
	assert_non_null(emailmap_find(m, "c0@example.com"));
	snprintf(key, sizeof(key), "c%d@example.com", i - 1);
	assert_non_null(emailmap_find(m, key));
	emailmap_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_and_find),
		cmocka_unit_test(test_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
