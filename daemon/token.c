/* Random codes customers see, in Crockford's base32: referral codes and
 * unsubscribe tokens. */

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "token.h"

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
