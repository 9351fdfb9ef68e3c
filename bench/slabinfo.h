/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Snapshots of the slab caches (/proc/slabinfo, SLUB; booted with
 * slab_nomerge so that every cache counts its own objects), for the
 * benchmarks that weigh what the module allocates.
 */
#ifndef SYSGENID_SLABINFO_H
#define SYSGENID_SLABINFO_H

#include "bench.h"

#define MAX_CACHES	1024

struct cache {
	char name[64];
	long active, objsize, slab_bytes;
};

struct snap {
	int n;
	struct cache c[MAX_CACHES];
};

static void take(struct snap *s)
{
	FILE *f = fopen("/proc/slabinfo", "r");
	long page = sysconf(_SC_PAGESIZE);
	char line[512];

	if (!f)
		die("/proc/slabinfo: %s", strerror(errno));
	s->n = 0;
	while (fgets(line, sizeof(line), f) && s->n < MAX_CACHES) {
		struct cache *c = &s->c[s->n];
		long num, perslab, pages, slabs;

		/* name active num objsize perslab pages : tunables ... */
		if (sscanf(line, "%63s %ld %ld %ld %ld %ld : tunables %*d %*d %*d"
			   " : slabdata %*d %ld", c->name, &c->active, &num,
			   &c->objsize, &perslab, &pages, &slabs) != 7)
			continue;
		c->slab_bytes = slabs * pages * page;
		s->n++;
	}
	fclose(f);
}

static const struct cache *find(const struct snap *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->c[i].name, name))
			return &s->c[i];
	return NULL;
}

/* Objects that @a has beyond @b in cache @c of @a (which may be new). */
static long gained(const struct snap *b, const struct cache *c)
{
	const struct cache *was = find(b, c->name);

	return c->active - (was ? was->active : 0);
}

#endif /* SYSGENID_SLABINFO_H */
