/* Database columns as JSON values, for the commands that show rows. */

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
