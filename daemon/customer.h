/* One customer's story: sales, referrals, consent and messages. */
#ifndef AFTERSALE_CUSTOMER_H
#define AFTERSALE_CUSTOMER_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "db.h"

int	customer_collect(struct db *db, const char *email, json_t **out);
void	customer_print(const json_t *c, FILE *out);
int	customer_rows(struct db *db, const char *sql, int64_t id, json_t *into,
	    json_t *(*row)(sqlite3_stmt *));

#endif
