/* Customers by address, in memory, for the length of a big import. */

#ifndef AFTERSALE_EMAILMAP_H
#define AFTERSALE_EMAILMAP_H

#include <stddef.h>
#include <stdint.h>

/*
 * What an import needs to know of a customer to record their next sale
 * without asking the database: who they are, and their first purchase.
 */
struct emailmap_entry {
	int64_t		id;
	int64_t		first_at;	/* the first purchase's time ... */
	int64_t		first_sale;	/* ... and its sale, if has_sales */
	uint32_t	hash;		/* the key's, for the map */
	unsigned	has_sales:1;
	unsigned	nameless:1;
};

struct emailmap;

struct emailmap	*emailmap_new(size_t max_bytes);
struct emailmap_entry *emailmap_find(struct emailmap *m, const char *key);
struct emailmap_entry *emailmap_add(struct emailmap *m, const char *key);
size_t		 emailmap_count(const struct emailmap *m);
size_t		 emailmap_bytes(const struct emailmap *m);
void		 emailmap_free(struct emailmap *m);

#endif
