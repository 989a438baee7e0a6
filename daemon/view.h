/* Database columns as JSON values, for the commands that show rows. */
#ifndef AFTERSALE_VIEW_H
#define AFTERSALE_VIEW_H

#include <jansson.h>
#include <sqlite3.h>

json_t		*view_time(sqlite3_stmt *st, int col);
const char	*view_text(sqlite3_stmt *st, int col);

#endif
