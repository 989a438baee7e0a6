/* Customers by address, in memory, for the length of a big import. */

#include <stdlib.h>
#include <string.h>

#include "emailmap.h"
#include "xmalloc.h"

/*
 * Entries and their keys are packed one after the other in chunks that
 * never move, so that an entry handed out stays put while the map grows,
 * and a customer costs 32 bytes plus the address.  The table is
 * open addressing over 32-bit references to them: (offset / 8) + 1 in
 * the chunks taken end to end, 0 for an empty slot.
 */
#define EMAILMAP_CHUNK		(1u << 20)
#define EMAILMAP_MIN_SLOTS	(1u << 12)

struct emailmap {
	uint32_t	 *slots;
	size_t		  nslots;	/* a power of two */
	size_t		  count;
	char		**chunks;
	size_t		  nchunks;
	size_t		  used;		/* in the last chunk */
	size_t		  max_bytes;
};

/* FNV-1a: the keys are short, and not chosen to collide by whom it hurts. */
static uint32_t
emailmap_hash(const char *key)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	return (uint32_t)(h ^ h >> 32);
}

static struct emailmap_entry *
emailmap_entry_at(const struct emailmap *m, uint32_t ref)
{
	size_t off = (size_t)(ref - 1) * 8;

	return (struct emailmap_entry *)(m->chunks[off / EMAILMAP_CHUNK] +
	    off % EMAILMAP_CHUNK);
}

static const char *
emailmap_key(const struct emailmap_entry *e)
{
	return (const char *)(e + 1);
}

/*
 * A map that holds no more than about max_bytes: past that, emailmap_add
 * says no, and the caller asks the database instead.  The caller frees
 * it with emailmap_free().
 */
struct emailmap *
emailmap_new(size_t max_bytes)
{
	struct emailmap *m = xcalloc(1, sizeof(*m));

	m->nslots = EMAILMAP_MIN_SLOTS;
	m->slots = xcalloc(m->nslots, sizeof(*m->slots));
	m->max_bytes = max_bytes;
	return m;
}

/* The slot of key: where it is, or the empty one where it would go. */
static uint32_t *
emailmap_slot(const struct emailmap *m, const char *key, uint32_t hash)
{
	size_t mask = m->nslots - 1;

	for (size_t i = hash & mask; ; i = (i + 1) & mask) {
		struct emailmap_entry *e;

		if (m->slots[i] == 0)
			return &m->slots[i];
		e = emailmap_entry_at(m, m->slots[i]);
		if (e->hash == hash && strcmp(emailmap_key(e), key) == 0)
			return &m->slots[i];
	}
}

/* The entry for key, or NULL. */
struct emailmap_entry *
emailmap_find(struct emailmap *m, const char *key)
{
	uint32_t *slot = emailmap_slot(m, key, emailmap_hash(key));

	return *slot ? emailmap_entry_at(m, *slot) : NULL;
}

/* Twice the slots, when they are half full: probes stay short. */
static void
emailmap_grow(struct emailmap *m)
{
	uint32_t	*old = m->slots;
	size_t		 n = m->nslots;

	m->nslots *= 2;
	m->slots = xcalloc(m->nslots, sizeof(*m->slots));
	for (size_t i = 0; i < n; i++) {
		struct emailmap_entry *e;

		if (old[i] == 0)
			continue;
		e = emailmap_entry_at(m, old[i]);
		*emailmap_slot(m, emailmap_key(e), e->hash) = old[i];
	}
	free(old);
}

/*
 * A new entry for key, which must not be in the map, zeroed but for its
 * hash; or NULL when the map is full (max_bytes), or the key is longer
 * than an entry may be.  The entry stays where it is until the map is
 * freed.
 */
struct emailmap_entry *
emailmap_add(struct emailmap *m, const char *key)
{
	struct emailmap_entry	*e;
	uint32_t		 hash = emailmap_hash(key);
	size_t			 size, need, off;
	uint32_t		*slot;

	size = (sizeof(*e) + strlen(key) + 1 + 7) & ~(size_t)7;
	if (size > EMAILMAP_CHUNK)
		return NULL;
	need = emailmap_bytes(m);
	if ((m->count + 1) * 2 > m->nslots)
		need += m->nslots * sizeof(*m->slots);
	if (m->nchunks == 0 || m->used + size > EMAILMAP_CHUNK)
		need += EMAILMAP_CHUNK;
	if (need > m->max_bytes)
		return NULL;
	/* 32-bit references reach 32 GiB of entries; max_bytes is less. */
	if ((m->nchunks + 1) * (uint64_t)EMAILMAP_CHUNK / 8 >= UINT32_MAX)
		return NULL;

	if ((m->count + 1) * 2 > m->nslots)
		emailmap_grow(m);
	if (m->nchunks == 0 || m->used + size > EMAILMAP_CHUNK) {
		m->chunks = xreallocarray(m->chunks, m->nchunks + 1,
		    sizeof(*m->chunks));
		m->chunks[m->nchunks++] = xmalloc(EMAILMAP_CHUNK);
		m->used = 0;
	}
	off = (m->nchunks - 1) * (size_t)EMAILMAP_CHUNK + m->used;
	e = (struct emailmap_entry *)(m->chunks[m->nchunks - 1] + m->used);
	m->used += size;
	memset(e, 0, sizeof(*e));
	e->hash = hash;
	memcpy(e + 1, key, strlen(key) + 1);
	slot = emailmap_slot(m, key, hash);
	*slot = (uint32_t)(off / 8 + 1);
	m->count++;
	return e;
}

size_t
emailmap_count(const struct emailmap *m)
{
	return m->count;
}

/* The memory the map holds: its table and its chunks. */
size_t
emailmap_bytes(const struct emailmap *m)
{
	return m->nslots * sizeof(*m->slots) + m->nchunks * EMAILMAP_CHUNK;
}

void
emailmap_free(struct emailmap *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nchunks; i++)
		free(m->chunks[i]);
	free(m->chunks);
	free(m->slots);
	free(m);
}
