/* What is stored, as JSON values, for the commands and the API that show it. */
#ifndef AFTERSALE_VIEW_H
#define AFTERSALE_VIEW_H

#include <jansson.h>
#include <sqlite3.h>

#include "sale.h"

json_t		*view_time(sqlite3_stmt *st, int col);
const char	*view_text(sqlite3_stmt *st, int col);
json_t		*view_items(const struct sale *sale);

#endif
