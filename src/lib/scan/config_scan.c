/* The state the config rules keep while layers are walked (several at once): the account files
 * of the merged filesystem, the owners of files, which package caches were reported. The rules
 * themselves run from rules_config.c's table; this file runs them and reports their hits. */
#define _GNU_SOURCE
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/image.h"
#include "core/cleanup.h"
#include "core/embed.h"
#include "core/util.h"
#include "scan/scan_private.h"

#define MAX_ACCOUNT_FILE (4u << 20) /* a passwd or shadow larger than this is not read */
#define MAX_OWNERS	 1024	    /* distinct uids remembered */
#define MAX_ONCE	 4096	    /* (cache, layer) pairs remembered */

typedef struct acct_file {
	char *data;
	size_t len;
	int layer_index; /* the highest layer's version wins: it is the visible one */
	char *layer;
	bool have;
} acct_file;

struct bwk_cfgscan {
	pthread_mutex_t lock;
	acct_file passwd, shadow;
	bwk_accounts accounts;
	bool parsed;
	bwk_owner_note owners[MAX_OWNERS];
	size_t nowners;
	char *once[MAX_ONCE];
	size_t nonce;
};

bwk_cfgscan *bwk_cfgscan_new(void)
{
	bwk_cfgscan *cs = xcalloc(1, sizeof(*cs));
	pthread_mutex_init(&cs->lock, NULL);
	return cs;
}

static void acct_file_free(acct_file *f)
{
	free(f->data);
	free(f->layer);
}

void bwk_cfgscan_free(bwk_cfgscan *cs)
{
	if (!cs)
		return;
	acct_file_free(&cs->passwd);
	acct_file_free(&cs->shadow);
	bwk_accounts_free(&cs->accounts);
	for (size_t i = 0; i < cs->nowners; i++) {
		free((char *)cs->owners[i].first.path);
		free((char *)cs->owners[i].first.layer);
	}
	for (size_t i = 0; i < cs->nonce; i++)
		free(cs->once[i]);
	pthread_mutex_destroy(&cs->lock);
	free(cs);
}

static acct_file *acct_slot(bwk_cfgscan *cs, const char *path)
{
	if (!strcmp(path, "etc/passwd"))
		return &cs->passwd;
	if (!strcmp(path, "etc/shadow"))
		return &cs->shadow;
	return NULL;
}

bool bwk_cfgscan_wants(const bwk_entry *e)
{
	return e->type == BWK_ENTRY_FILE && e->size <= MAX_ACCOUNT_FILE &&
	       (!strcmp(e->path, "etc/passwd") || !strcmp(e->path, "etc/shadow"));
}

void bwk_cfgscan_content(bwk_cfgscan *cs, const bwk_entry *e, const char *buf, size_t len)
{
	acct_file *f = acct_slot(cs, e->path);
	if (!f || len > MAX_ACCOUNT_FILE)
		return;
	pthread_mutex_lock(&cs->lock);
	if (!f->have || e->layer_index > f->layer_index) {
		acct_file_free(f);
		f->data = xmalloc(len + 1);
		memcpy(f->data, buf, len);
		f->data[len] = '\0';
		f->len = len;
		f->layer_index = e->layer_index;
		f->layer = e->layer_digest ? xstrdup(e->layer_digest) : NULL;
		f->have = true;
	}
	pthread_mutex_unlock(&cs->lock);
}

static void loc_of(const acct_file *f, const char *path, bwk_location *loc)
{
	*loc = (bwk_location){.layer_index = -1};
	if (!f->have)
		return;
	loc->path = path;
	loc->layer_index = f->layer_index;
	loc->layer = f->layer;
}

const bwk_accounts *bwk_cfgscan_accounts(bwk_cfgscan *cs, bwk_location *passwd_loc,
					 bwk_location *shadow_loc)
{
	loc_of(&cs->passwd, "etc/passwd", passwd_loc);
	loc_of(&cs->shadow, "etc/shadow", shadow_loc);
	if (!cs->passwd.have)
		return NULL;
	if (!cs->parsed) {
		bwk_accounts_parse(&cs->accounts, cs->passwd.data, cs->passwd.len,
				   cs->shadow.have ? cs->shadow.data : NULL, cs->shadow.len);
		cs->parsed = true;
	}
	return &cs->accounts;
}

static void note_owner(bwk_cfgscan *cs, const bwk_entry *e)
{
	if (e->uid == 0 || e->type == BWK_ENTRY_WHITEOUT || e->type == BWK_ENTRY_OPAQUE)
		return;
	pthread_mutex_lock(&cs->lock);
	size_t i = 0;
	while (i < cs->nowners && cs->owners[i].uid != e->uid)
		i++;
	if (i < cs->nowners) {
		bwk_owner_note *o = &cs->owners[i];
		o->count++;
		/* the lowest layer's first entry: deterministic whatever order layers finish in */
		if (e->layer_index < o->first.layer_index) {
			free((char *)o->first.path);
			free((char *)o->first.layer);
			o->first.path = xstrdup(e->path);
			o->first.layer = e->layer_digest ? xstrdup(e->layer_digest) : NULL;
			o->first.layer_index = e->layer_index;
		}
	} else if (cs->nowners < MAX_OWNERS) {
		cs->owners[cs->nowners++] = (bwk_owner_note){
		    .uid = e->uid,
		    .count = 1,
		    .first = {.path = xstrdup(e->path),
			      .layer = e->layer_digest ? xstrdup(e->layer_digest) : NULL,
			      .layer_index = e->layer_index}};
	}
	pthread_mutex_unlock(&cs->lock);
}

size_t bwk_cfgscan_owners(bwk_cfgscan *cs, const bwk_owner_note **out)
{
	*out = cs->owners;
	return cs->nowners;
}

bool bwk_cfgscan_once(bwk_cfgscan *cs, const char *key, int layer_index)
{
	char k[320];
	snprintf(k, sizeof(k), "%d:%.300s", layer_index, key);
	bool first = true;
	pthread_mutex_lock(&cs->lock);
	for (size_t i = 0; i < cs->nonce && first; i++)
		first = strcmp(cs->once[i], k) != 0;
	if (first && cs->nonce < MAX_ONCE)
		cs->once[cs->nonce++] = xstrdup(k);
	pthread_mutex_unlock(&cs->lock);
	return first;
}

/* ---- the known-needed setuid programs (data/setuid-known.json) --------------------------------
 */

BWK_EMBED(setuid_known_json, "data/setuid-known.json");

static json_t *setuid_known;
static pthread_once_t setuid_once = PTHREAD_ONCE_INIT;

static void setuid_load(void)
{
	json_error_t je;
	json_t *doc = json_loadb(setuid_known_json, BWK_EMBED_LEN(setuid_known_json), 0, &je);
	setuid_known = doc ? json_incref(json_object_get(doc, "paths")) : NULL;
	json_decref(doc);
}

bool bwk_setuid_known(const char *path)
{
	pthread_once(&setuid_once, setuid_load);
	size_t i;
	json_t *v;
	json_array_foreach(setuid_known, i, v)
	{
		const char *p = json_string_value(v);
		if (p && strcmp(p, path) == 0)
			return true;
	}
	return false;
}

/* ---- running the table ----------------------------------------------------------------------- */

int bwk_cfgscan_entry(bwk_cfgscan *cs, bwk_scanner *s, const bwk_entry *e, bwk_error **err)
{
	note_owner(cs, e);
	for (const bwk_config_rule *const *r = bwk_config_rules; *r; r++) {
		if (!(*r)->entry)
			continue;
		bwk_cfg_hit h = {.severity = -1};
		int hit = (*r)->entry(cs, e, &h);
		int ret = 0;
		if (hit) {
			bwk_finding_spec spec = {
			    .rule = &(*r)->rule, .message = h.detail, .severity = h.severity};
			ret = bwk_scan_report(s, e, &spec, err);
		}
		if (h.owned)
			free(h.detail);
		if (ret < 0)
			return -1;
	}
	return 0;
}

typedef struct final_ctx {
	bwk_scanner *s;
	const bwk_rule *rule;
} final_ctx;

static int final_hit(void *hctx, const bwk_location *loc, const char *message, int severity,
		     bwk_error **err)
{
	final_ctx *h = hctx;
	bwk_finding_spec spec = {
	    .rule = h->rule, .loc = *loc, .message = message, .severity = severity};
	spec.loc.target = h->s->opts.target;
	return bwk_findings_add(h->s->out, &spec, err);
}

int bwk_cfgscan_finish(bwk_cfgscan *cs, bwk_scanner *s, const bwk_image_config *c, bwk_error **err)
{
	for (const bwk_config_rule *const *r = bwk_config_rules; *r; r++) {
		if (!(*r)->final)
			continue;
		final_ctx h = {s, &(*r)->rule};
		if ((*r)->final(cs, c, final_hit, &h, err) < 0)
			return -1;
	}
	return 0;
}
