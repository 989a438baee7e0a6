/* Random codes customers see: referral codes, in Crockford's base32. */
#ifndef AFTERSALE_TOKEN_H
#define AFTERSALE_TOKEN_H

#include <stddef.h>

#define REFERRAL_CODE_LEN	8

int	token_generate(char *buf, size_t len);
int	token_normalize(const char *in, char *out, size_t len);

#endif
