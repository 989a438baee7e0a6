/* Amounts: minor units by currency, refused forms, formatting. */

#include "unit.h"

#include "money.h"

static void
test_parse(void **state)
{
	int64_t m;

	(void)state;
	assert_int_equal(money_parse("12.34", 2, &m), 0);
	assert_int_equal(m, 1234);
	assert_int_equal(money_parse("12.3", 2, &m), 0);
	assert_int_equal(m, 1230);
	assert_int_equal(money_parse("12", 2, &m), 0);
	assert_int_equal(m, 1200);
	assert_int_equal(money_parse("0", 2, &m), 0);
	assert_int_equal(m, 0);
	assert_int_equal(money_parse("1250", 0, &m), 0);
	assert_int_equal(m, 1250);
	assert_int_equal(money_parse("1.234", 3, &m), 0);
	assert_int_equal(m, 1234);
}

static void
test_refused(void **state)
{
	static const char *const bad[] = {
		"", "-1", "+1", "1e3", "12.", ".5", "12.345", "1,50", "1 000",
		"12.3.4", "abc", "9999999999999999",
	};
	int64_t m = 5;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (money_parse(bad[i], 2, &m) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(m, 5);
	}
	assert_int_equal(money_parse("12.5", 0, &m), -1);
}

static void
test_currencies(void **state)
{
	(void)state;
	assert_true(money_currency_valid("EUR"));
	assert_false(money_currency_valid("eur"));
	assert_false(money_currency_valid("EU"));
	assert_false(money_currency_valid("EURO"));
	assert_false(money_currency_valid("E1R"));
	assert_int_equal(money_decimals("EUR"), 2);
	assert_int_equal(money_decimals("JPY"), 0);
	assert_int_equal(money_decimals("KWD"), 3);
}

static void
test_format(void **state)
{
	char buf[MONEY_TEXT_LEN];

	(void)state;
	money_format(12345, "EUR", buf);
	assert_string_equal(buf, "123.45");
	money_format(5, "EUR", buf);
	assert_string_equal(buf, "0.05");
	money_format(1250, "JPY", buf);
	assert_string_equal(buf, "1250");
	money_format(1234, "BHD", buf);
	assert_string_equal(buf, "1.234");
	money_format(-150, "USD", buf);
	assert_string_equal(buf, "-1.50");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_currencies),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
