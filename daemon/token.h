/* Codes customers see, in Crockford's base32: referral codes and
 * unsubscribe tokens. */
#ifndef AFTERSALE_TOKEN_H
#define AFTERSALE_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define REFERRAL_CODE_LEN	8	/* 40 bits */
#define REFERRAL_KEY_LEN	16	/* the shop's key to its codes */
#define REFERRAL_ID_MAX		((INT64_C(1) << 40) - 1)
#define UNSUBSCRIBE_TOKEN_LEN	26	/* 130 bits drawn, or 128 derived */
#define UNSUBSCRIBE_KEY_LEN	16	/* the shop's key to its tokens */

struct token_cipher;

int	token_generate(char *buf, size_t len);
int	token_normalize(const char *in, char *out, size_t len);
void	token_referral_code(const unsigned char key[REFERRAL_KEY_LEN],
	    int64_t id, char code[REFERRAL_CODE_LEN + 1]);
int64_t	token_referral_id(const unsigned char key[REFERRAL_KEY_LEN],
	    const char *code);
struct token_cipher *token_cipher_new(const unsigned char
	    key[UNSUBSCRIBE_KEY_LEN]);
void	token_cipher_free(struct token_cipher *c);
void	token_unsubscribe(struct token_cipher *c, int64_t id,
	    char token[UNSUBSCRIBE_TOKEN_LEN + 1]);
int64_t	token_unsubscribe_id(struct token_cipher *c, const char *token);

#endif
