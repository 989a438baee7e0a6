/* A sale's line items, checked as every source hands them over. */

#include <stdio.h>
#include <string.h>

#include "unit.h"

#include "money.h"
#include "sale.h"

static struct sale	sale;
static char		err[SALE_ERROR_LEN];
static enum sale_item_field bad;

/* A checked sale of 12 units of `currency`, without items yet. */
static void
begin(const char *currency, const char *sku)
{
	char *fields[SALE_NFIELDS] = {
		[SALE_ORDER_ID] = (char *)"A-1",
		[SALE_EMAIL] = (char *)"ana@example.com",
		[SALE_AMOUNT] = (char *)"12",
	};
	char buf[32];

	snprintf(buf, sizeof(buf), "%s", sku);
	fields[SALE_SKU] = buf;
	assert_int_equal(sale_parse(fields, currency, 0, &sale, err), 0);
	assert_int_equal(sale.nitems, 0);
}

/* Add an item as the API names its fields: items[N].sku... */
static int
add(const char *sku, const char *product, const char *quantity,
    const char *amount, const char *price)
{
	char		 text[ITEM_NFIELDS][300], *fields[ITEM_NFIELDS];
	const char	*given[ITEM_NFIELDS] = { sku, product, quantity, amount,
	    price };
	char		 name[ITEM_NFIELDS][48];
	const char	*names[ITEM_NFIELDS];

	for (int f = 0; f < ITEM_NFIELDS; f++) {
		fields[f] = NULL;
		if (given[f] != NULL) {
			snprintf(text[f], sizeof(text[f]), "%s", given[f]);
			fields[f] = text[f];
		}
		snprintf(name[f], sizeof(name[f]), "items[%zu].%s", sale.nitems,
		    sale_item_field_names[f]);
		names[f] = name[f];
	}
	return sale_item_parse(&sale, fields, names, err, &bad);
}

static void
expect_bad(enum sale_item_field field, const char *why_part)
{
	assert_int_equal(bad, field);
	if (strstr(err, why_part) == NULL)
		fail_msg("err \"%s\" lacks \"%s\"", err, why_part);
}

static void
test_items(void **state)
{
	(void)state;
	begin("EUR", "");
	assert_int_equal(add("MBC-50", "Masque", "2", "39.80", NULL), 0);
	/* A price is for one: the amount is for the quantity. */
	assert_int_equal(add(" SER-30 ", "Sérum, 30 ml", NULL, NULL, "15.00"), 0);
	assert_int_equal(add("SER-30", "Sérum", "3", NULL, "15.00"), 0);
	/* Nothing but a name: quantity 1, amount 0. */
	assert_int_equal(add(NULL, "Gift wrap", NULL, NULL, NULL), 0);
	assert_int_equal(sale.nitems, 4);
	assert_string_equal(sale.items[0].sku, "MBC-50");
	assert_int_equal(sale.items[0].quantity, 2);
	assert_int_equal(sale.items[0].amount, 3980);
	assert_string_equal(sale.items[1].sku, "SER-30");
	assert_int_equal(sale.items[1].quantity, 1);
	assert_int_equal(sale.items[1].amount, 1500);
	assert_int_equal(sale.items[2].amount, 4500);
	assert_string_equal(sale.items[3].sku, "");
	assert_int_equal(sale.items[3].quantity, 1);
	assert_int_equal(sale.items[3].amount, 0);
	/* The first item is the sale's sku and product. */
	assert_string_equal(sale.sku, "MBC-50");
	assert_string_equal(sale.product, "Masque");
	/* In the sale's currency: yen have no decimals. */
	begin("JPY", "");
	assert_int_equal(add("M", "Matcha", "2", NULL, "5300"), 0);
	assert_int_equal(sale.items[0].amount, 10600);
	assert_int_equal(add("M", "Matcha", "1", "5300.5", NULL), -1);
	expect_bad(ITEM_AMOUNT, "items[1].amount \"5300.5\" is not an amount "
	    "of JPY with at most 0 decimals");
}

static void
test_bad_items(void **state)
{
	char long_sku[200];

	(void)state;
	begin("EUR", "");
	assert_int_equal(add("A", "B", "0", "1.00", NULL), -1);
	expect_bad(ITEM_QUANTITY, "items[0].quantity \"0\" is not a whole "
	    "number from 1 to 1000000");
	assert_int_equal(add("A", "B", "-2", "1.00", NULL), -1);
	expect_bad(ITEM_QUANTITY, "\"-2\" is not a whole number");
	assert_int_equal(add("A", "B", "1.5", "1.00", NULL), -1);
	expect_bad(ITEM_QUANTITY, "\"1.5\"");
	assert_int_equal(add("A", "B", "1000001", "1.00", NULL), -1);
	expect_bad(ITEM_QUANTITY, "1000001");
	assert_int_equal(add("A", "B", "1", "twelve", NULL), -1);
	expect_bad(ITEM_AMOUNT, "items[0].amount \"twelve\" is not an amount");
	assert_int_equal(add("A", "B", "1", "-1.00", NULL), -1);
	expect_bad(ITEM_AMOUNT, "negative");
	assert_int_equal(add("A\r\nB", "B", "1", "1.00", NULL), -1);
	expect_bad(ITEM_SKU, "items[0].sku contains a line break");
	assert_int_equal(add("A\xe2\x80\x8b" "B", "B", "1", "1.00", NULL), -1);
	expect_bad(ITEM_SKU, "U+200B");
	assert_int_equal(add("A", "B\xff", "1", "1.00", NULL), -1);
	expect_bad(ITEM_PRODUCT, "items[0].product is not valid UTF-8");
	memset(long_sku, 'x', sizeof(long_sku) - 1);
	long_sku[129] = '\0';
	assert_int_equal(add(long_sku, "B", "1", "1.00", NULL), -1);
	expect_bad(ITEM_SKU, "longer than 128 bytes");
	/* A price times the quantity past what an amount can be. */
	assert_int_equal(add("A", "B", "1000", NULL, "9999999999999.00"), -1);
	expect_bad(ITEM_PRICE, "is more than an amount can be");
	/* None was kept. */
	assert_int_equal(sale.nitems, 0);
	assert_string_equal(sale.sku, "");
}

static void
test_first_item_is_the_sales(void **state)
{
	(void)state;
	/* A sale that names its sku names its first item's... */
	begin("EUR", "MBC-50");
	assert_int_equal(add("MBC-50", "Masque", "1", NULL, NULL), 0);
	assert_int_equal(add("OTHER", "Else", "1", NULL, NULL), 0);
	/* ... or is refused. */
	begin("EUR", "MBC-50");
	assert_int_equal(add("SER-30", "Sérum", "1", NULL, NULL), -1);
	expect_bad(ITEM_SKU, "items[0].sku \"SER-30\" is not the sale's sku "
	    "\"MBC-50\"");
}

static void
test_at_most_so_many(void **state)
{
	(void)state;
	begin("EUR", "");
	for (int i = 0; i < SALE_ITEMS_MAX; i++)
		assert_int_equal(add("A", "B", "1", "1.00", NULL), 0);
	assert_int_equal(add("A", "B", "1", "1.00", NULL), -1);
	expect_bad(ITEM_NFIELDS, "more than 100 line items");
	assert_int_equal(sale.nitems, SALE_ITEMS_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_items),
		cmocka_unit_test(test_bad_items),
		cmocka_unit_test(test_first_item_is_the_sales),
		cmocka_unit_test(test_at_most_so_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
