/* Random codes customers see, in Crockford's base32: referral codes and
 * unsubscribe tokens. */
#ifndef AFTERSALE_TOKEN_H
#define AFTERSALE_TOKEN_H

#include <stddef.h>

#define REFERRAL_CODE_LEN	8
#define UNSUBSCRIBE_TOKEN_LEN	26	/* 130 bits */

int	token_generate(char *buf, size_t len);
int	token_normalize(const char *in, char *out, size_t len);

#endif
