/* The small parsers, each with a round trip through its formatter. */

#include <ctype.h>
#include <string.h>

#include "fuzz.h"

#include "duration.h"
#include "email.h"
#include "money.h"
#include "timestamp.h"
#include "token.h"

static void
fuzz_duration(const char *text)
{
	int64_t	seconds, again;
	char	out[64], out2[64];

	if (duration_parse(text, &seconds) == -1)
		return;
	FUZZ_CHECK(seconds >= 0 && seconds <= DURATION_MAX);
	/* The canonical form reads back as the same time and is stable. */
	duration_format(seconds, out, sizeof(out));
	FUZZ_CHECK(duration_parse(out, &again) == 0 && again == seconds);
	duration_format(again, out2, sizeof(out2));
	FUZZ_CHECK(strcmp(out, out2) == 0);
}

static void
fuzz_timestamp(const char *text)
{
	int64_t	seconds, again;
	char	out[TIMESTAMP_LEN];

	if (timestamp_parse(text, &seconds) == -1)
		return;
	FUZZ_CHECK(seconds >= 0);
	timestamp_format(seconds, out);
	FUZZ_CHECK(strlen(out) == TIMESTAMP_LEN - 1);
	FUZZ_CHECK(timestamp_parse(out, &again) == 0 && again == seconds);
}

static void
fuzz_money(const char *text)
{
	/* One currency for each number of decimals there is. */
	static const struct {
		const char	*code;
		int		 decimals;
	} currencies[] = { { "JPY", 0 }, { "EUR", 2 }, { "BHD", 3 }, { "CLF", 4 } };

	for (size_t i = 0; i < sizeof(currencies) / sizeof(currencies[0]); i++) {
		int	decimals = money_decimals(currencies[i].code);
		int64_t	minor, again;
		char	out[MONEY_TEXT_LEN];

		FUZZ_CHECK(decimals == currencies[i].decimals);
		if (money_parse(text, decimals, &minor) == -1)
			continue;
		FUZZ_CHECK(minor >= 0 && minor <= MONEY_MAX);
		money_format(minor, currencies[i].code, out);
		FUZZ_CHECK(money_parse(out, decimals, &again) == 0 &&
		    again == minor);
	}
	if (money_currency_valid(text))
		FUZZ_CHECK(strlen(text) == 3);
}

static void
fuzz_email(const char *text)
{
	char	lower[EMAIL_MAX + 1];
	size_t	len = strlen(text);

	if (email_check(text) != NULL)
		return;
	FUZZ_CHECK(len <= EMAIL_MAX && strchr(text, '@') != NULL);
	/* Nothing that could end or split a header or an SMTP command. */
	for (size_t i = 0; i < len; i++)
		FUZZ_CHECK((unsigned char)text[i] > ' ' &&
		    (unsigned char)text[i] < 0x7f && text[i] != '<' &&
		    text[i] != '>');
	/* Customers are matched on the lower-case form: it must stay valid. */
	for (size_t i = 0; i <= len; i++)
		lower[i] = (char)tolower((unsigned char)text[i]);
	FUZZ_CHECK(email_check(lower) == NULL);
}

/*
 * Unsubscribe tokens and referral codes come back in links and sales:
 * what decodes must be what the id encodes to, and any id round-trips.
 */
static void
fuzz_tokens(const char *text, const uint8_t *data, size_t size)
{
	static const unsigned char	 key[UNSUBSCRIBE_KEY_LEN] = {
		'f', 'u', 'z', 'z', 'i', 'n', 'g', ' ', 'k', 'e', 'y', ' ',
		'0', '1', '2', '3' };
	static struct token_cipher	*cipher;
	char				 token[UNSUBSCRIBE_TOKEN_LEN + 1];
	char				 code[REFERRAL_CODE_LEN + 1];
	uint64_t			 raw = 0;
	int64_t				 id;

	if (cipher == NULL)
		cipher = token_cipher_new(key);
	if ((id = token_unsubscribe_id(cipher, text)) >= 0) {
		token_unsubscribe(cipher, id, token);
		FUZZ_CHECK(strcmp(token, text) == 0);
	}
	if ((id = token_referral_id(key, text)) >= 0) {
		FUZZ_CHECK(id <= REFERRAL_ID_MAX);
		token_referral_code(key, id, code);
		FUZZ_CHECK(token_referral_id(key, code) == id);
	}
	memcpy(&raw, data, size < sizeof(raw) ? size : sizeof(raw));
	id = (int64_t)(raw & INT64_MAX);
	token_unsubscribe(cipher, id, token);
	FUZZ_CHECK(token_unsubscribe_id(cipher, token) == id);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Plain dates and times without an offset are read in this zone. */
	if (timestamp_set_timezone("Europe/London") == -1)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_string(data, size);

	fuzz_duration(text);
	fuzz_timestamp(text);
	fuzz_money(text);
	fuzz_email(text);
	fuzz_tokens(text, data, size);
	free(text);
	return 0;
}
