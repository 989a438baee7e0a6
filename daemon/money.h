/* Money: integer minor units and ISO 4217 currency codes. */
#ifndef AFTERSALE_MONEY_H
#define AFTERSALE_MONEY_H

#include <stddef.h>
#include <stdint.h>

#define MONEY_MAX	999999999999999LL	/* 15 digits of minor units */
#define MONEY_TEXT_LEN	24

int	money_currency_valid(const char *code);
int	money_decimals(const char *currency);
int	money_parse(const char *text, int decimals, int64_t *minor);
void	money_format(int64_t minor, const char *currency, char buf[MONEY_TEXT_LEN]);

#endif
