/* Checks on untrusted text: UTF-8, control and format characters, near misses. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "xmalloc.h"

/*
 * The length of the strict UTF-8 (RFC 3629) sequence at p: no overlong
 * forms, no surrogates, nothing past U+10FFFF.  0 when p does not start
 * one; *cp gets the code point otherwise.
 */
static int
text_utf8_sequence(const unsigned char *p, uint32_t *cp)
{
	int n;

	if (*p < 0x80) {
		*cp = *p;
		return 1;
	} else if ((*p & 0xe0) == 0xc0) {
		*cp = *p & 0x1f;
		n = 1;
	} else if ((*p & 0xf0) == 0xe0) {
		*cp = *p & 0x0f;
		n = 2;
	} else if ((*p & 0xf8) == 0xf0) {
		*cp = *p & 0x07;
		n = 3;
	} else {
		return 0;
	}
	for (int i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80)	/* the NUL ends it too */
			return 0;
		*cp = (*cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 1 && *cp < 0x80) || (n == 2 && *cp < 0x800) ||
	    (n == 3 && *cp < 0x10000) || *cp > 0x10ffff ||
	    (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return n + 1;
}

/* Strict UTF-8 (RFC 3629).  Returns 1 when valid. */
int
text_utf8_valid(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	uint32_t		 cp;
	int			 n;

	for (; *p != '\0'; p += n)
		if ((n = text_utf8_sequence(p, &cp)) == 0)
			return 0;
	return 1;
}

/*
 * A copy of s (malloc'd; the caller frees it)
 * in which every byte that does not belong to a valid UTF-8 sequence is
 * replaced by U+FFFD, as the Unicode standard recommends for display.
 */
char *
text_utf8_repair(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	char			*out, *o;
	uint32_t		 cp;
	int			 n;

	/* Each byte becomes at most the three of U+FFFD. */
	out = o = xmalloc(strlen(s) * 3 + 1);
	for (; *p != '\0'; p += n) {
		if ((n = text_utf8_sequence(p, &cp)) == 0) {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			n = 1;
			continue;
		}
		memcpy(o, p, (size_t)n);
		o += n;
	}
	*o = '\0';
	return out;
}

struct text_range {
	uint32_t	first, last;
};

/*
 * Unicode's format characters (general category Cf) as of Unicode 15.1,
 * sorted: they draw nothing, so two strings that look the same can
 * differ by them, and the bidirectional ones reorder what a reader sees.
 * A unit test checks this table against Python's unicodedata.
 */
static const struct text_range text_format[] = {
	{ 0x00ad, 0x00ad },	/* soft hyphen */
	{ 0x0600, 0x0605 },	/* Arabic number signs */
	{ 0x061c, 0x061c },	/* Arabic letter mark (bidi) */
	{ 0x06dd, 0x06dd },
	{ 0x070f, 0x070f },
	{ 0x0890, 0x0891 },
	{ 0x08e2, 0x08e2 },
	{ 0x180e, 0x180e },	/* Mongolian vowel separator */
	{ 0x200b, 0x200f },	/* zero-width space, ZWNJ, ZWJ, LRM, RLM */
	{ 0x202a, 0x202e },	/* bidi embeddings and overrides */
	{ 0x2060, 0x2064 },	/* word joiner, invisible operators */
	{ 0x2066, 0x206f },	/* bidi isolates, deprecated formats */
	{ 0xfeff, 0xfeff },	/* byte order mark, zero-width no-break space */
	{ 0xfff9, 0xfffb },	/* interlinear annotation */
	{ 0x110bd, 0x110bd },
	{ 0x110cd, 0x110cd },
	{ 0x13430, 0x1343f },	/* Egyptian hieroglyph format controls */
	{ 0x1bca0, 0x1bca3 },
	{ 0x1d173, 0x1d17a },
	{ 0xe0001, 0xe0001 },	/* language tag */
	{ 0xe0020, 0xe007f },	/* tag characters */
};

/*
 * The format characters that may stay in a name or a product: the
 * joiners that emoji and Indic and Arabic scripts need, the soft hyphen,
 * script number signs and marks, and the tags of flag emoji.  What is
 * left is invisible or reorders text without being part of any script.
 */
static const struct text_range text_format_in_prose[] = {
	{ 0x00ad, 0x00ad },
	{ 0x0600, 0x0605 },
	{ 0x06dd, 0x06dd },
	{ 0x070f, 0x070f },
	{ 0x0890, 0x0891 },
	{ 0x08e2, 0x08e2 },
	{ 0x200c, 0x200d },
	{ 0x110bd, 0x110bd },
	{ 0x110cd, 0x110cd },
	{ 0x13430, 0x1343f },
	{ 0x1bca0, 0x1bca3 },
	{ 0x1d173, 0x1d17a },
	{ 0xe0020, 0xe007f },
};

static int
text_in(uint32_t cp, const struct text_range *r, size_t n)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cp < r[mid].first)
			hi = mid;
		else if (cp > r[mid].last)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

#define TEXT_NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Whether code point cp is a Unicode format character (category Cf). */
int
text_is_format(uint32_t cp)
{
	return text_in(cp, text_format, TEXT_NELEM(text_format));
}

/*
 * The first format character (Cf) in valid UTF-8 s that an identifier
 * must not hold (any), or, with prose set, that a name or product must
 * not (all but those in text_format_in_prose).  0 when there is none.
 */
uint32_t
text_find_format(const char *s, int prose)
{
	const unsigned char	*p = (const unsigned char *)s;
	uint32_t		 cp;
	int			 n;

	for (; *p != '\0'; p += n) {
		/* No ASCII character is one: most text is done in a byte. */
		if (*p < 0x80) {
			n = 1;
			continue;
		}
		if ((n = text_utf8_sequence(p, &cp)) == 0) {
			n = 1;		/* not UTF-8: another check's job */
			continue;
		}
		if (text_is_format(cp) && !(prose && text_in(cp,
		    text_format_in_prose, TEXT_NELEM(text_format_in_prose))))
			return cp;
	}
	return 0;
}

/*
 * C0 controls (CR, LF and TAB included), DEL, and the C1 controls
 * U+0080..U+009F.  Any of these in a name or subject could split a header
 * or confuse a terminal, so no field may carry them.
 */
int
text_has_control(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return 1;
		if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			return 1;
	}
	return 0;
}

/* Code points in valid UTF-8. */
size_t
text_utf8_length(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Levenshtein distance, for "did you mean" hints on short words. */
int
text_distance(const char *a, const char *b)
{
	int	row[64];
	size_t	la = strlen(a), lb = strlen(b);

	if (lb >= sizeof(row) / sizeof(row[0]) || la >= 64)
		return 64;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int diag = row[0];

		row[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int up = row[j];
			int best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/*
 * The candidate within two edits of `word`, or that starts with it
 * ("password" for "password_file"); NULL when none is close.
 */
const char *
text_closest(const char *word, const char *const *candidates, size_t count)
{
	const char	*best = NULL;
	int		 best_distance = 3;
	size_t		 len = strlen(word);

	for (size_t i = 0; i < count; i++) {
		int d = text_distance(word, candidates[i]);

		if (len >= 4 && strncmp(word, candidates[i], len) == 0)
			d = 2;
		if (d < best_distance) {
			best = candidates[i];
			best_distance = d;
		}
	}
	return best;
}
