/* What is stored, as JSON values, for the commands and the API that show it. */

#include "money.h"
#include "timestamp.h"
#include "view.h"

/* A time column as "2026-11-20T10:00:00Z", or null. */
json_t *
view_time(sqlite3_stmt *st, int col)
{
	char buf[TIMESTAMP_LEN];

	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return json_null();
	timestamp_format(sqlite3_column_int64(st, col), buf);
	return json_string(buf);
}

/* A text column, "" for NULL. */
const char *
view_text(sqlite3_stmt *st, int col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);

	return s ? s : "";
}

/* A sale's line items: [{"sku", "product", "quantity", "amount"}, ...]. */
json_t *
view_items(const struct sale *sale)
{
	json_t	*items = json_array();
	char	 amount[MONEY_TEXT_LEN];

	for (size_t i = 0; i < sale->nitems; i++) {
		const struct sale_item *it = &sale->items[i];

		money_format(it->amount, sale->currency, amount);
		json_array_append_new(items, json_pack("{s:s, s:s, s:I, s:s}",
		    "sku", it->sku, "product", it->product,
		    "quantity", (json_int_t)it->quantity, "amount", amount));
	}
	return items;
}
