/* Random codes customers see, in Crockford's base32: referral codes and
 * unsubscribe tokens. */
#ifndef AFTERSALE_TOKEN_H
#define AFTERSALE_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define REFERRAL_CODE_LEN	8	/* 40 bits */
#define REFERRAL_KEY_LEN	16	/* the shop's key to its codes */
#define REFERRAL_ID_MAX		((INT64_C(1) << 40) - 1)
#define UNSUBSCRIBE_TOKEN_LEN	26	/* 130 bits */

int	token_generate(char *buf, size_t len);
int	token_normalize(const char *in, char *out, size_t len);
void	token_referral_code(const unsigned char key[REFERRAL_KEY_LEN],
	    int64_t id, char code[REFERRAL_CODE_LEN + 1]);
int64_t	token_referral_id(const unsigned char key[REFERRAL_KEY_LEN],
	    const char *code);

#endif
