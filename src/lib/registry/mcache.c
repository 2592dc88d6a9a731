/* The manifests of one run, fetched once (bwk_registry_manifest_cache, bulwark/registry.h).
 *
 * `audit registry --scan-all` asks each image's size before it scans (largest first): the
 * manifests that lookup fetched are kept here, keyed by registry, repository and reference
 * (a tag, or the digest of a platform's manifest), and the scan's store takes them instead of
 * asking the registry again. An entry is taken once (the scan that opens the image uses it,
 * then it is gone), and the whole is bounded in entries and bytes: past that, nothing more is
 * kept and the scan asks the registry as it would without the cache. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "registry/registry_private.h"

typedef struct mc_entry {
	char *key;
	char *body, *content_type, *digest;
	size_t len;
} mc_entry;

struct bwk_registry_manifest_cache {
	pthread_mutex_t lock;
	mc_entry *e;
	size_t n, cap, max_entries;
	size_t bytes, max_bytes;
};

bwk_registry_manifest_cache *bwk_registry_manifest_cache_new(size_t max_entries, size_t max_bytes)
{
	bwk_registry_manifest_cache *mc = xcalloc(1, sizeof(*mc));
	pthread_mutex_init(&mc->lock, NULL);
	mc->max_entries = max_entries;
	mc->max_bytes = max_bytes;
	return mc;
}

static void entry_free(mc_entry *e)
{
	free(e->key);
	free(e->body);
	free(e->content_type);
	free(e->digest);
	memset(e, 0, sizeof(*e));
}

void bwk_registry_manifest_cache_free(bwk_registry_manifest_cache *mc)
{
	if (!mc)
		return;
	for (size_t i = 0; i < mc->n; i++)
		entry_free(&mc->e[i]);
	free(mc->e);
	pthread_mutex_destroy(&mc->lock);
	free(mc);
}

static char *mc_key(const char *registry, const char *repo, const char *reference)
{
	return xasprintf("%s\n%s\n%s", registry, repo, reference);
}

void reg_mcache_put(bwk_registry_manifest_cache *mc, const char *registry, const char *repo,
		    const char *reference, const reg_resp *r, const char *digest)
{
	if (!mc || !r->body || !reference)
		return;
	cleanup_free char *key = mc_key(registry, repo, reference);
	pthread_mutex_lock(&mc->lock);
	bool fits = mc->n < mc->max_entries && r->len <= mc->max_bytes - mc->bytes;
	for (size_t i = 0; fits && i < mc->n; i++)
		if (!strcmp(mc->e[i].key, key))
			fits = false; /* the first one stays: it is what the lookup saw */
	if (fits && mc->n == mc->cap) {
		mc->cap = mc->cap ? 2 * mc->cap : 64;
		mc->e = xrealloc(mc->e, mc->cap * sizeof(*mc->e));
	}
	if (fits) {
		mc_entry *e = &mc->e[mc->n++];
		memset(e, 0, sizeof(*e));
		e->key = steal_pointer(&key);
		e->body = xmalloc(r->len + 1);
		memcpy(e->body, r->body, r->len);
		e->body[r->len] = '\0';
		e->len = r->len;
		e->content_type = r->content_type ? xstrdup(r->content_type) : NULL;
		e->digest = digest ? xstrdup(digest) : NULL;
		mc->bytes += r->len;
	}
	pthread_mutex_unlock(&mc->lock);
}

int reg_mcache_take(bwk_registry_manifest_cache *mc, const char *registry, const char *repo,
		    const char *reference, size_t max, reg_resp *out, char **digest)
{
	if (!mc || !reference)
		return 0;
	cleanup_free char *key = mc_key(registry, repo, reference);
	int found = 0;
	pthread_mutex_lock(&mc->lock);
	for (size_t i = 0; i < mc->n; i++) {
		mc_entry *e = &mc->e[i];
		if (strcmp(e->key, key) != 0)
			continue;
		if (e->len > max)
			break; /* over the caller's bound: asked again, and refused there */
		memset(out, 0, sizeof(*out));
		out->status = 200;
		out->body = e->body;
		out->len = e->len;
		out->content_type = e->content_type;
		*digest = e->digest;
		e->body = e->content_type = e->digest = NULL;
		mc->bytes -= e->len;
		free(e->key);
		mc->e[i] = mc->e[--mc->n];
		memset(&mc->e[mc->n], 0, sizeof(mc->e[mc->n]));
		found = 1;
		break;
	}
	pthread_mutex_unlock(&mc->lock);
	return found;
}
