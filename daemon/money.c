/* Money: integer minor units and ISO 4217 currency codes. */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"

/* ISO 4217 currencies whose minor unit is not the usual two decimals. */
static const struct {
	char	code[4];
	int	decimals;
} money_exceptions[] = {
	{ "BHD", 3 }, { "BIF", 0 }, { "CLF", 4 }, { "CLP", 0 }, { "DJF", 0 },
	{ "GNF", 0 }, { "IQD", 3 }, { "ISK", 0 }, { "JOD", 3 }, { "JPY", 0 },
	{ "KMF", 0 }, { "KRW", 0 }, { "KWD", 3 }, { "LYD", 3 }, { "OMR", 3 },
	{ "PYG", 0 }, { "RWF", 0 }, { "TND", 3 }, { "UGX", 0 }, { "UYI", 0 },
	{ "UYW", 4 }, { "VND", 0 }, { "VUV", 0 }, { "XAF", 0 }, { "XOF", 0 },
	{ "XPF", 0 },
};

/* Three upper-case ASCII letters. */
int
money_currency_valid(const char *code)
{
	for (int i = 0; i < 3; i++)
		if (code[i] < 'A' || code[i] > 'Z')
			return 0;
	return code[3] == '\0';
}

int
money_decimals(const char *currency)
{
	for (size_t i = 0; i < sizeof(money_exceptions) / sizeof(money_exceptions[0]); i++)
		if (memcmp(money_exceptions[i].code, currency, 4) == 0)
			return money_exceptions[i].decimals;
	return 2;
}

/*
 * Parse "12", "12.3" or "12.34" into minor units.  No sign, no exponent,
 * no thousands separators, and at most `decimals` digits after the point:
 * "12.345" EUR is an error, not a rounding.  Returns 0, or -1.
 */
int
money_parse(const char *text, int decimals, int64_t *minor)
{
	const char	*p = text;
	int64_t		 value = 0;
	int		 frac = -1;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; *p != '\0'; p++) {
		if (*p == '.' && frac == -1 && isdigit((unsigned char)p[1])) {
			frac = 0;
			continue;
		}
		if (!isdigit((unsigned char)*p))
			return -1;
		if (frac >= 0 && ++frac > decimals)
			return -1;
		value = value * 10 + (*p - '0');
		if (value > MONEY_MAX)
			return -1;
	}
	for (frac = frac < 0 ? 0 : frac; frac < decimals; frac++) {
		value *= 10;
		if (value > MONEY_MAX)
			return -1;
	}
	*minor = value;
	return 0;
}

void
money_format(int64_t minor, const char *currency, char buf[MONEY_TEXT_LEN])
{
	int		decimals = money_decimals(currency);
	int64_t		scale = 1;
	const char	*sign = minor < 0 ? "-" : "";
	uint64_t	abs = minor < 0 ? -(uint64_t)minor : (uint64_t)minor;

	if (decimals == 0) {
		snprintf(buf, MONEY_TEXT_LEN, "%s%llu", sign, (unsigned long long)abs);
		return;
	}
	for (int i = 0; i < decimals; i++)
		scale *= 10;
	snprintf(buf, MONEY_TEXT_LEN, "%s%llu.%0*llu", sign,
	    (unsigned long long)(abs / (uint64_t)scale), decimals,
	    (unsigned long long)(abs % (uint64_t)scale));
}
