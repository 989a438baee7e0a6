/* Codes customers see, in Crockford's base32: referral codes and
 * unsubscribe tokens. */

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "log.h"
#include "token.h"
#include "xmalloc.h"

/* Crockford's base32: no I, L, O or U, so codes survive being read aloud. */
static const char token_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/*
 * Random bytes from the kernel, drawn 4 KiB at a time: a bulk import makes
 * hundreds of thousands of codes, and one system call each would show.
 */
static int
token_random(unsigned char *out, size_t len)
{
	static unsigned char	pool[4096];
	static size_t		avail;

	if (len > sizeof(pool))
		return -1;
	if (avail < len) {
		size_t got = 0;

		while (got < sizeof(pool)) {
			ssize_t n = getrandom(pool + got, sizeof(pool) - got, 0);

			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				return -1;
			got += (size_t)n;
		}
		avail = sizeof(pool);
	}
	avail -= len;
	memcpy(out, pool + avail, len);
	/* Bytes handed out are not kept where a later crash dump shows them. */
	memset(pool + avail, 0, len);
	return 0;
}

/*
 * Fill buf with len random symbols and a NUL (buf holds len + 1).  Each
 * symbol takes 5 bits of one random byte, so every symbol is uniform.
 * Returns 0, or -1 when the kernel gives no randomness.
 */
int
token_generate(char *buf, size_t len)
{
	unsigned char random[64];

	if (len > sizeof(random) || token_random(random, len) == -1)
		return -1;
	for (size_t i = 0; i < len; i++)
		buf[i] = token_alphabet[random[i] & 0x1f];
	buf[len] = '\0';
	return 0;
}

/*
 * The canonical spelling of a code a human typed: upper case, hyphens and
 * spaces dropped, I and L read as 1, O as 0.  Returns 0, or -1 when the
 * text cannot be a code of `len` symbols.
 */
int
token_normalize(const char *in, char *out, size_t len)
{
	size_t n = 0;

	for (; *in != '\0'; in++) {
		char c = (char)toupper((unsigned char)*in);

		if (c == '-' || c == ' ')
			continue;
		if (c == 'I' || c == 'L')
			c = '1';
		else if (c == 'O')
			c = '0';
		if (c == '\0' || strchr(token_alphabet, c) == NULL || n == len)
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return n == len ? 0 : -1;
}

/*
 * Referral codes from customer ids (migration 0014): a keyed permutation
 * of the 40-bit numbers, so that a code is unique by construction (no
 * index has to say so when a customer is added), decodes to its
 * customer, and, without the shop's key, looks as random as a drawn one
 * and gives away neither the id nor how many customers there are.  It is
 * a balanced Feistel network over two 20-bit halves: a bijection
 * whatever its round function, here a 64-bit mixer (splitmix64's
 * finalizer) of the half and a round key.  Not a cipher to keep secrets
 * with: a code is handed out to be shared.
 */
#define TOKEN_ROUNDS	8
#define TOKEN_HALF	20
#define TOKEN_HALF_MASK	((UINT64_C(1) << TOKEN_HALF) - 1)

static uint64_t
token_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static void
token_round_keys(const unsigned char key[REFERRAL_KEY_LEN],
    uint64_t rk[TOKEN_ROUNDS])
{
	uint64_t k0 = 0, k1 = 0;

	for (int i = 0; i < 8; i++) {
		k0 = k0 << 8 | key[i];
		k1 = k1 << 8 | key[8 + i];
	}
	for (int r = 0; r < TOKEN_ROUNDS; r++)
		rk[r] = token_mix(k0 + (uint64_t)(r + 1) *
		    UINT64_C(0x9e3779b97f4a7c15)) ^ k1;
}

static uint64_t
token_round(uint64_t half, uint64_t rk)
{
	return token_mix(half ^ rk) & TOKEN_HALF_MASK;
}

/* The code of customer id (0 <= id <= REFERRAL_ID_MAX), NUL-terminated. */
void
token_referral_code(const unsigned char key[REFERRAL_KEY_LEN], int64_t id,
    char code[REFERRAL_CODE_LEN + 1])
{
	uint64_t rk[TOKEN_ROUNDS], l, r, t, x;

	token_round_keys(key, rk);
	l = ((uint64_t)id >> TOKEN_HALF) & TOKEN_HALF_MASK;
	r = (uint64_t)id & TOKEN_HALF_MASK;
	for (int i = 0; i < TOKEN_ROUNDS; i++) {
		t = l ^ token_round(r, rk[i]);
		l = r;
		r = t;
	}
	x = l << TOKEN_HALF | r;
	for (int i = REFERRAL_CODE_LEN - 1; i >= 0; i--) {
		code[i] = token_alphabet[x & 0x1f];
		x >>= 5;
	}
	code[REFERRAL_CODE_LEN] = '\0';
}

/*
 * The id whose code this is: every code of REFERRAL_CODE_LEN symbols of
 * the alphabet (as token_normalize spells it) is some id's, whether or
 * not that customer exists or was given it.  -1 for any other text.
 */
int64_t
token_referral_id(const unsigned char key[REFERRAL_KEY_LEN], const char *code)
{
	uint64_t	 rk[TOKEN_ROUNDS], l, r, t, x = 0;
	const char	*p;

	if (strlen(code) != REFERRAL_CODE_LEN)
		return -1;
	for (int i = 0; i < REFERRAL_CODE_LEN; i++) {
		if (code[i] == '\0' ||
		    (p = strchr(token_alphabet, code[i])) == NULL)
			return -1;
		x = x << 5 | (uint64_t)(p - token_alphabet);
	}
	token_round_keys(key, rk);
	l = x >> TOKEN_HALF;
	r = x & TOKEN_HALF_MASK;
	for (int i = TOKEN_ROUNDS - 1; i >= 0; i--) {
		t = r ^ token_round(l, rk[i]);
		r = l;
		l = t;
	}
	return (int64_t)(l << TOKEN_HALF | r);
}

/*
 * Unsubscribe tokens from customer ids (migration 0016): the token of id
 * N is the AES-128 encryption, under the shop's key, of one block: N in
 * 8 bytes big-endian, then 8 zero bytes.  Unique by construction (a
 * cipher is a bijection), so a new customer's token is computed, never
 * drawn nor stored.  Unlike a referral code it is a secret: whoever has
 * it can unsubscribe the customer.  Without the key a token cannot be
 * made for an id, and one changed at random decrypts to a block whose
 * zero half survives with a chance of 2^-64: the zeros are the MAC.  The
 * 128 bits are written as 26 symbols, the top 2 of 130 bits zero, so
 * links keep the length and alphabet of the tokens drawn before.
 *
 * The cipher contexts are made once per key: setting AES up for every
 * message would cost more than the encryption (about a microsecond).
 * ECB without padding keeps no state between blocks, so a context
 * encrypts or decrypts one block after another as it is.
 */
struct token_cipher {
	EVP_CIPHER_CTX	*enc;
	EVP_CIPHER_CTX	*dec;
};

#define TOKEN_BLOCK	16

/* The ciphers of a key; the caller frees them (token_cipher_free). */
struct token_cipher *
token_cipher_new(const unsigned char key[UNSUBSCRIBE_KEY_LEN])
{
	struct token_cipher *c = xcalloc(1, sizeof(*c));

	if ((c->enc = EVP_CIPHER_CTX_new()) == NULL ||
	    (c->dec = EVP_CIPHER_CTX_new()) == NULL)
		xmalloc_fail(sizeof(EVP_CIPHER_CTX *));
	/* Only a libcrypto without AES fails here: a broken install. */
	if (EVP_EncryptInit_ex(c->enc, EVP_aes_128_ecb(), NULL, key,
	    NULL) != 1 ||
	    EVP_DecryptInit_ex(c->dec, EVP_aes_128_ecb(), NULL, key,
	    NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(c->enc, 0) != 1 ||
	    EVP_CIPHER_CTX_set_padding(c->dec, 0) != 1)
		fatalx("libcrypto cannot set up AES-128 for unsubscribe "
		    "tokens");
	return c;
}

void
token_cipher_free(struct token_cipher *c)
{
	if (c == NULL)
		return;
	EVP_CIPHER_CTX_free(c->enc);
	EVP_CIPHER_CTX_free(c->dec);
	free(c);
}

/* One block through a context: in and out may not overlap. */
static void
token_block(EVP_CIPHER_CTX *ctx, const unsigned char in[TOKEN_BLOCK],
    unsigned char out[TOKEN_BLOCK])
{
	int n;

	if (EVP_CipherUpdate(ctx, out, &n, in, TOKEN_BLOCK) != 1 ||
	    n != TOKEN_BLOCK)
		fatalx("libcrypto failed to encipher an unsubscribe token");
}

/* The token of customer id (>= 0), NUL-terminated. */
void
token_unsubscribe(struct token_cipher *c, int64_t id,
    char token[UNSUBSCRIBE_TOKEN_LEN + 1])
{
	unsigned char	in[TOKEN_BLOCK] = { 0 }, out[TOKEN_BLOCK];
	uint64_t	hi = 0, lo = 0;

	assert(id >= 0);
	for (int i = 0; i < 8; i++)
		in[i] = (unsigned char)((uint64_t)id >> (56 - 8 * i));
	token_block(c->enc, in, out);
	for (int i = 0; i < 8; i++) {
		hi = hi << 8 | out[i];
		lo = lo << 8 | out[8 + i];
	}
	/* Five bits at a time from the low end of the 128-bit number. */
	for (int i = UNSUBSCRIBE_TOKEN_LEN - 1; i >= 0; i--) {
		token[i] = token_alphabet[lo & 0x1f];
		lo = lo >> 5 | hi << 59;
		hi >>= 5;
	}
	token[UNSUBSCRIBE_TOKEN_LEN] = '\0';
}

/*
 * The id whose token this is, or -1 when it is not one made with this
 * key: the wrong length, a symbol outside the alphabet (exactly as
 * token_unsubscribe spells it), bits above the 128, or a block that does
 * not decrypt to an id and 8 zero bytes.  A token drawn at random before
 * migration 0016 is -1 (but for a chance of 2^-64): look it up first.
 */
int64_t
token_unsubscribe_id(struct token_cipher *c, const char *token)
{
	static const unsigned char	 zero[8];
	unsigned char			 in[TOKEN_BLOCK], out[TOKEN_BLOCK];
	uint64_t			 hi = 0, lo = 0, id = 0;
	const char			*p;

	if (strlen(token) != UNSUBSCRIBE_TOKEN_LEN)
		return -1;
	for (int i = 0; i < UNSUBSCRIBE_TOKEN_LEN; i++) {
		if ((p = strchr(token_alphabet, token[i])) == NULL)
			return -1;
		/* The first symbol carries the 2 padding bits: zero. */
		if (i == 0 && p - token_alphabet >= 8)
			return -1;
		hi = hi << 5 | lo >> 59;
		lo = lo << 5 | (uint64_t)(p - token_alphabet);
	}
	for (int i = 0; i < 8; i++) {
		in[i] = (unsigned char)(hi >> (56 - 8 * i));
		in[8 + i] = (unsigned char)(lo >> (56 - 8 * i));
	}
	token_block(c->dec, in, out);
	/* In constant time: how a forgery fails says nothing of the key. */
	if (CRYPTO_memcmp(out + 8, zero, sizeof(zero)) != 0)
		return -1;
	for (int i = 0; i < 8; i++)
		id = id << 8 | out[i];
	return id > INT64_MAX ? -1 : (int64_t)id;
}
