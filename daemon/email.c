/* Email addresses as a shop's customers give them. */

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "email.h"

/* RFC 5322 atext, the characters of an unquoted local part. */
static int
email_atext(unsigned char c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static const char *
email_check_domain(const char *domain)
{
	const char	*label = domain;
	size_t		 len;

	if (strlen(domain) > 253)
		return "its domain is longer than 253 characters";
	if (strchr(domain, '.') == NULL)
		return "its domain has no dot";
	for (const char *p = domain;; p++) {
		if (*p != '.' && *p != '\0') {
			if (!isalnum((unsigned char)*p) && *p != '-')
				return "its domain has a character other than "
				    "ASCII letters, digits, '-' and '.' "
				    "(write international domains in punycode)";
			continue;
		}
		len = (size_t)(p - label);
		if (len == 0)
			return "its domain has an empty label";
		if (len > 63)
			return "a label of its domain is longer than 63 characters";
		if (label[0] == '-' || p[-1] == '-')
			return "a label of its domain starts or ends with '-'";
		if (*p == '\0')
			break;
		label = p + 1;
	}
	return NULL;
}

/*
 * The address forms a shop can actually deliver to: a dot-atom local part
 * and a DNS domain, ASCII only (we do not speak SMTPUTF8).  Returns NULL
 * when the address is fine, or a phrase saying what is wrong with it.
 */
const char *
email_check(const char *address)
{
	const char	*at = strrchr(address, '@');
	size_t		 local_len;

	if (strlen(address) > EMAIL_MAX)
		return "it is longer than 254 characters";
	if (at == NULL)
		return "it has no '@'";
	local_len = (size_t)(at - address);
	if (local_len == 0)
		return "it has nothing before the '@'";
	if (local_len > 64)
		return "its local part is longer than 64 characters";
	if (address[0] == '.' || at[-1] == '.')
		return "its local part starts or ends with a dot";
	for (const char *p = address; p < at; p++) {
		if (*p == '.' && p[1] == '.')
			return "its local part has two dots in a row";
		if (*p != '.' && !email_atext((unsigned char)*p))
			return "its local part has a character that is not "
			    "allowed unquoted";
	}
	return email_check_domain(at + 1);
}

/*
 * The key under which addresses are one mailbox, for telling a customer
 * from their own aliases: the address in lower case, and for Gmail
 * (gmail.com and its old name googlemail.com), whose servers ignore the
 * dots of a local part and what follows a '+', without those, at
 * gmail.com.  Other providers' local parts are theirs to read, so they
 * stay as written.  Anything without an '@' (an erased customer's row)
 * is only lowered.  key holds EMAIL_KEY_SIZE bytes; a longer address,
 * which email_check refuses, is cut.
 */
void
email_key(const char *address, char key[EMAIL_KEY_SIZE])
{
	const char	*at = strrchr(address, '@'), *p;
	size_t		 n = 0;

	if (at == NULL || (strcasecmp(at + 1, "gmail.com") != 0 &&
	    strcasecmp(at + 1, "googlemail.com") != 0)) {
		for (p = address; *p != '\0' && n < EMAIL_KEY_SIZE - 1; p++)
			key[n++] = (char)tolower((unsigned char)*p);
		key[n] = '\0';
		return;
	}
	for (p = address; p < at && *p != '+'; p++)
		if (*p != '.' && n < EMAIL_KEY_SIZE - sizeof("@gmail.com"))
			key[n++] = (char)tolower((unsigned char)*p);
	memcpy(key + n, "@gmail.com", sizeof("@gmail.com"));
}
