/* One customer's story: sales, referrals, consent and messages. */
#ifndef AFTERSALE_CUSTOMER_H
#define AFTERSALE_CUSTOMER_H

#include <jansson.h>
#include <stdio.h>

#include "db.h"

int	customer_collect(struct db *db, const char *email, json_t **out);
void	customer_print(const json_t *c, FILE *out);

#endif
