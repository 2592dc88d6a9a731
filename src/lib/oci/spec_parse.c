/* config.json → bwk_oci_spec. The document is untrusted: its size, tree memory, nesting depth,
 * list lengths and string lengths are bounded before or while it is read, and every property
 * the model holds is type-checked. Errors name the property by its JSON path. Meaning (known
 * names, absolute paths) is checked separately by spec_validate.c. */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "core/yaml_tree.h"
#include "oci/oci_private.h"

typedef struct pctx {
	const char *name;
	char path[256];
	size_t len;
	bwk_error **err;
} pctx;

/* Enter a property: returns the path length to restore with leave(). */
static size_t enter(pctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t enter(pctx *c, const char *fmt, ...)
{
	size_t old = c->len;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(c->path + c->len, sizeof c->path - c->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		c->len =
		    c->len + (size_t)n < sizeof c->path ? c->len + (size_t)n : sizeof c->path - 1;
	return old;
}

static void leave(pctx *c, size_t old)
{
	c->len = old;
	c->path[old] = 0;
}

static int fail(pctx *c, bwk_code code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(pctx *c, bwk_code code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return bwk_error_set(c->err, code, 0, "%s: %s: %s", c->name, c->len ? c->path : "(top)",
			     msg);
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number with a fraction";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

static int wrong_type(pctx *c, const json_t *v, const char *want)
{
	return fail(c, BWK_E_INPUT, "%s is needed, not %s", want, type_name(v));
}

/* The member `key` of `obj`, NULL when absent or null (Go writes omitted values as null). */
static json_t *member(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return v && !json_is_null(v) ? v : NULL;
}

static int str_value(pctx *c, const json_t *v, char **out)
{
	if (!json_is_string(v))
		return wrong_type(c, v, "a string");
	size_t n = json_string_length(v);
	const char *s = json_string_value(v);
	if (n > BWK_OCI_MAX_STRING)
		return fail(c, BWK_E_LIMIT, "a string of %zu bytes (at most %zu)", n,
			    BWK_OCI_MAX_STRING);
	if (memchr(s, 0, n))
		return fail(c, BWK_E_INPUT, "the string contains a NUL byte");
	*out = xstrndup(s, n);
	return 0;
}

static int get_str(pctx *c, const json_t *obj, const char *key, bool required, char **out)
{
	json_t *v = member(obj, key);
	size_t old = enter(c, "%s%s", c->len ? "." : "", key);
	int r = 0;
	if (!v)
		r = required ? fail(c, BWK_E_INPUT, "missing") : 0;
	else
		r = str_value(c, v, out);
	leave(c, old);
	return r;
}

static int get_bool(pctx *c, const json_t *obj, const char *key, bool *out)
{
	json_t *v = member(obj, key);
	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		size_t old = enter(c, ".%s", key);
		int r = wrong_type(c, v, "a boolean");
		leave(c, old);
		return r;
	}
	*out = json_is_true(v);
	return 0;
}

/* An integer in [min, max]. */
static int int_value(pctx *c, const json_t *v, int64_t min, int64_t max, int64_t *out)
{
	uint64_t big;
	if (bwk_oci_json_big(v, &big) != 0)
		return fail(c, BWK_E_INPUT, "out of range (%lld to %lld)", (long long)min,
			    (long long)max);
	if (!json_is_integer(v))
		return wrong_type(c, v, "an integer");
	json_int_t i = json_integer_value(v);
	if (i < min || i > max)
		return fail(c, BWK_E_INPUT, "%lld is out of range (%lld to %lld)", (long long)i,
			    (long long)min, (long long)max);
	*out = (int64_t)i;
	return 0;
}

static int get_int(pctx *c, const json_t *obj, const char *key, int64_t min, int64_t max,
		   bool required, bool *set, int64_t *out)
{
	json_t *v = member(obj, key);
	size_t old = enter(c, "%s%s", c->len ? "." : "", key);
	int r = 0;
	if (!v)
		r = required ? fail(c, BWK_E_INPUT, "missing") : 0;
	else if ((r = int_value(c, v, min, max, out)) == 0 && set)
		*set = true;
	leave(c, old);
	return r;
}

static int get_i64(pctx *c, const json_t *obj, const char *key, int64_t min, bwk_oci_i64 *out)
{
	return get_int(c, obj, key, min, INT64_MAX, false, &out->set, &out->v);
}

/* An unsigned integer in [0, max]: one above INT64_MAX is the string spec_json.c made of it. */
static int u64_value(pctx *c, const json_t *v, uint64_t max, uint64_t *out)
{
	uint64_t u;
	int big = bwk_oci_json_big(v, &u);
	if (big == 0) {
		int64_t i = 0;
		int r = int_value(c, v, 0, max > INT64_MAX ? INT64_MAX : (int64_t)max, &i);
		*out = (uint64_t)i;
		return r;
	}
	if (big < 0 || u > max)
		return fail(c, BWK_E_INPUT, "out of range (0 to %llu)", (unsigned long long)max);
	*out = u;
	return 0;
}

static int get_unsigned(pctx *c, const json_t *obj, const char *key, uint64_t max, bool required,
			bool *set, uint64_t *out)
{
	json_t *v = member(obj, key);
	size_t old = enter(c, "%s%s", c->len ? "." : "", key);
	int r = 0;
	if (!v)
		r = required ? fail(c, BWK_E_INPUT, "missing") : 0;
	else if ((r = u64_value(c, v, max, out)) == 0 && set)
		*set = true;
	leave(c, old);
	return r;
}

static int get_u64(pctx *c, const json_t *obj, const char *key, uint64_t max, bwk_oci_u64 *out)
{
	return get_unsigned(c, obj, key, max, false, &out->set, &out->v);
}

static int get_u32(pctx *c, const json_t *obj, const char *key, bool required, uint32_t *out)
{
	int64_t v = 0;
	int r = get_int(c, obj, key, 0, UINT32_MAX, required, NULL, &v);
	*out = (uint32_t)v;
	return r;
}

/* A list member: NULL when absent, else checked to be an array of at most `max` entries. */
static int get_array_max(pctx *c, const json_t *obj, const char *key, size_t max, json_t **out)
{
	json_t *v = member(obj, key);
	*out = NULL;
	if (!v)
		return 0;
	size_t old = enter(c, "%s%s", c->len ? "." : "", key);
	int r = 0;
	if (!json_is_array(v))
		r = wrong_type(c, v, "an array");
	else if (json_array_size(v) > max)
		r = fail(c, BWK_E_LIMIT, "%zu entries (at most %zu)", json_array_size(v), max);
	else
		*out = v;
	leave(c, old);
	return r;
}

/* An array of at most BWK_OCI_MAX_LIST. */
static int get_array(pctx *c, const json_t *obj, const char *key, json_t **out)
{
	return get_array_max(c, obj, key, BWK_OCI_MAX_LIST, out);
}

static int get_object(pctx *c, const json_t *obj, const char *key, json_t **out)
{
	json_t *v = member(obj, key);
	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_object(v)) {
		size_t old = enter(c, "%s%s", c->len ? "." : "", key);
		int r = wrong_type(c, v, "an object");
		leave(c, old);
		return r;
	}
	*out = v;
	return 0;
}

static int get_strv(pctx *c, const json_t *obj, const char *key, bwk_strv *out)
{
	json_t *a;
	if (get_array(c, obj, key, &a) < 0)
		return -1;
	if (!a)
		return 0;
	size_t n = json_array_size(a);
	out->v = xcalloc(n + 1, sizeof *out->v);
	for (size_t i = 0; i < n; i++) {
		size_t old = enter(c, "%s%s[%zu]", c->len ? "." : "", key, i);
		int r = str_value(c, json_array_get(a, i), &out->v[i]);
		leave(c, old);
		if (r < 0)
			return -1;
		out->n++;
	}
	return 0;
}

static int get_map(pctx *c, const json_t *obj, const char *key, bwk_oci_map *out)
{
	json_t *m;
	if (get_object(c, obj, key, &m) < 0)
		return -1;
	if (!m)
		return 0;
	size_t n = json_object_size(m);
	size_t old = enter(c, "%s%s", c->len ? "." : "", key);
	if (n > BWK_OCI_MAX_LIST) {
		int r = fail(c, BWK_E_LIMIT, "%zu entries (at most %d)", n, BWK_OCI_MAX_LIST);
		leave(c, old);
		return r;
	}
	leave(c, old);
	out->v = xcalloc(n + 1, sizeof *out->v);
	const char *k;
	json_t *v;
	json_object_foreach(m, k, v)
	{
		size_t o2 = enter(c, "%s%s[\"%.40s\"]", c->len ? "." : "", key, k);
		int r = 0;
		if (strlen(k) > BWK_OCI_MAX_STRING)
			r = fail(c, BWK_E_LIMIT, "a key longer than %zu bytes", BWK_OCI_MAX_STRING);
		else if (!json_is_string(v))
			r = wrong_type(c, v, "a string");
		else if ((r = str_value(c, v, &out->v[out->n].value)) == 0)
			out->v[out->n++].key = xstrdup(k);
		leave(c, o2);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* Calls `each` on every element (an object) of the array member `key`, with the path set. */
typedef int (*each_fn)(pctx *c, const json_t *elem, void *items, size_t i);
static int get_list(pctx *c, const json_t *obj, const char *key, size_t item_size, void **items,
		    size_t *n, each_fn each)
{
	json_t *a;
	if (get_array(c, obj, key, &a) < 0)
		return -1;
	if (!a)
		return 0;
	size_t cnt = json_array_size(a);
	*items = xcalloc(cnt + 1, item_size);
	for (size_t i = 0; i < cnt; i++) {
		json_t *e = json_array_get(a, i);
		size_t old = enter(c, "%s%s[%zu]", c->len ? "." : "", key, i);
		int r = json_is_object(e) ? each(c, e, *items, i) : wrong_type(c, e, "an object");
		leave(c, old);
		*n = i + 1; /* what was allocated inside is freed with the spec */
		if (r < 0)
			return -1;
	}
	return 0;
}

static int each_idmap(pctx *c, const json_t *e, void *items, size_t i)
{
	bwk_oci_idmap *m = (bwk_oci_idmap *)items + i;
	if (get_u32(c, e, "containerID", true, &m->container_id) < 0 ||
	    get_u32(c, e, "hostID", true, &m->host_id) < 0 ||
	    get_u32(c, e, "size", true, &m->size) < 0)
		return -1;
	return 0;
}

static int get_idmaps(pctx *c, const json_t *o, const char *key, bwk_oci_idmap **v, size_t *n)
{
	return get_list(c, o, key, sizeof **v, (void **)v, n, each_idmap);
}

static int each_rlimit(pctx *c, const json_t *e, void *items, size_t i)
{
	bwk_oci_rlimit *r = (bwk_oci_rlimit *)items + i;
	if (get_str(c, e, "type", true, &r->type) < 0 ||
	    get_unsigned(c, e, "hard", UINT64_MAX, true, NULL, &r->hard) < 0 ||
	    get_unsigned(c, e, "soft", UINT64_MAX, true, NULL, &r->soft) < 0)
		return -1;
	return 0;
}

static int parse_caps(pctx *c, const json_t *p, bwk_oci_caps *caps)
{
	json_t *o;
	if (get_object(c, p, "capabilities", &o) < 0)
		return -1;
	if (!o)
		return 0;
	caps->set = true;
	size_t old = enter(c, ".capabilities");
	int r = get_strv(c, o, "bounding", &caps->bounding) < 0 ||
			get_strv(c, o, "effective", &caps->effective) < 0 ||
			get_strv(c, o, "inheritable", &caps->inheritable) < 0 ||
			get_strv(c, o, "permitted", &caps->permitted) < 0 ||
			get_strv(c, o, "ambient", &caps->ambient) < 0
		    ? -1
		    : 0;
	leave(c, old);
	return r;
}

static int get_gids(pctx *c, const json_t *o, bwk_oci_user *u)
{
	json_t *g;
	if (get_array_max(c, o, "additionalGids", BWK_OCI_MAX_ADDITIONAL_GIDS, &g) < 0)
		return -1;
	size_t n = g ? json_array_size(g) : 0;
	u->additional_gids = g ? xcalloc(n + 1, sizeof *u->additional_gids) : NULL;
	for (size_t i = 0; i < n; i++) {
		int64_t v = 0;
		size_t old = enter(c, ".additionalGids[%zu]", i);
		int r = int_value(c, json_array_get(g, i), 0, UINT32_MAX, &v);
		leave(c, old);
		if (r < 0)
			return -1;
		u->additional_gids[u->n_additional_gids++] = (uint32_t)v;
	}
	return 0;
}

static int parse_user(pctx *c, const json_t *p, bwk_oci_user *u)
{
	json_t *o;
	if (get_object(c, p, "user", &o) < 0)
		return -1;
	if (!o)
		return 0;
	size_t old = enter(c, ".user");
	int r = get_u32(c, o, "uid", false, &u->uid) < 0 ||
			get_u32(c, o, "gid", false, &u->gid) < 0 ||
			get_u64(c, o, "umask", 07777, &u->umask) < 0 ||
			get_str(c, o, "username", false, &u->username) < 0 || get_gids(c, o, u) < 0
		    ? -1
		    : 0;
	leave(c, old);
	return r;
}

static int parse_sched(pctx *c, const json_t *p, bwk_oci_process *pr)
{
	json_t *o;
	if (get_object(c, p, "scheduler", &o) < 0)
		return -1;
	if (o) {
		bwk_oci_sched *s = &pr->scheduler;
		s->set = true;
		size_t old = enter(c, ".scheduler");
		int r = get_str(c, o, "policy", true, &s->policy) < 0 ||
				get_i64(c, o, "nice", INT64_MIN, &s->nice) < 0 ||
				get_i64(c, o, "priority", INT64_MIN, &s->priority) < 0 ||
				get_strv(c, o, "flags", &s->flags) < 0 ||
				get_u64(c, o, "runtime", UINT64_MAX, &s->runtime) < 0 ||
				get_u64(c, o, "deadline", UINT64_MAX, &s->deadline) < 0 ||
				get_u64(c, o, "period", UINT64_MAX, &s->period) < 0
			    ? -1
			    : 0;
		leave(c, old);
		if (r < 0)
			return -1;
	}
	if (get_object(c, p, "ioPriority", &o) < 0)
		return -1;
	if (o) {
		pr->io_priority.set = true;
		size_t old = enter(c, ".ioPriority");
		int r = get_str(c, o, "class", true, &pr->io_priority.class_) < 0 ||
				get_int(c, o, "priority", 0, 7, false, NULL,
					&pr->io_priority.priority) < 0
			    ? -1
			    : 0;
		leave(c, old);
		if (r < 0)
			return -1;
	}
	return 0;
}

static int parse_process(pctx *c, const json_t *root, bwk_oci_spec *s)
{
	json_t *p, *cs;
	if (get_object(c, root, "process", &p) < 0)
		return -1;
	if (!p)
		return 0;
	s->has_process = true;
	bwk_oci_process *pr = &s->process;
	size_t old = enter(c, "process");
	int r = -1;
	if (get_bool(c, p, "terminal", &pr->terminal) < 0 ||
	    get_object(c, p, "consoleSize", &cs) < 0)
		goto out;
	if (cs) {
		size_t o2 = enter(c, ".consoleSize");
		pr->has_console_size = true;
		int rr = get_u32(c, cs, "height", true, &pr->console_height) < 0 ||
				 get_u32(c, cs, "width", true, &pr->console_width) < 0
			     ? -1
			     : 0;
		leave(c, o2);
		if (rr < 0)
			goto out;
	}
	if (parse_user(c, p, &pr->user) < 0 || get_strv(c, p, "args", &pr->args) < 0 ||
	    get_strv(c, p, "env", &pr->env) < 0 || get_str(c, p, "cwd", false, &pr->cwd) < 0 ||
	    parse_caps(c, p, &pr->caps) < 0 ||
	    get_list(c, p, "rlimits", sizeof *pr->rlimits, (void **)&pr->rlimits, &pr->n_rlimits,
		     each_rlimit) < 0 ||
	    get_bool(c, p, "noNewPrivileges", &pr->no_new_privileges) < 0 ||
	    get_str(c, p, "apparmorProfile", false, &pr->apparmor_profile) < 0 ||
	    get_str(c, p, "selinuxLabel", false, &pr->selinux_label) < 0 ||
	    get_i64(c, p, "oomScoreAdj", -1000, &pr->oom_score_adj) < 0 ||
	    parse_sched(c, p, pr) < 0)
		goto out;
	if (pr->oom_score_adj.set && pr->oom_score_adj.v > 1000) {
		size_t o2 = enter(c, ".oomScoreAdj");
		fail(c, BWK_E_INPUT, "%lld is out of range (-1000 to 1000)",
		     (long long)pr->oom_score_adj.v);
		leave(c, o2);
		goto out;
	}
	r = 0;
out:
	leave(c, old);
	return r;
}

static int each_mount(pctx *c, const json_t *e, void *items, size_t i)
{
	bwk_oci_mount *m = (bwk_oci_mount *)items + i;
	if (get_str(c, e, "destination", true, &m->destination) < 0 ||
	    get_str(c, e, "type", false, &m->type) < 0 ||
	    get_str(c, e, "source", false, &m->source) < 0 ||
	    get_strv(c, e, "options", &m->options) < 0 ||
	    get_idmaps(c, e, "uidMappings", &m->uid_mappings, &m->n_uid_mappings) < 0 ||
	    get_idmaps(c, e, "gidMappings", &m->gid_mappings, &m->n_gid_mappings) < 0)
		return -1;
	return 0;
}

static int each_hook(pctx *c, const json_t *e, void *items, size_t i)
{
	bwk_oci_hook *h = (bwk_oci_hook *)items + i;
	if (get_str(c, e, "path", true, &h->path) < 0 || get_strv(c, e, "args", &h->args) < 0 ||
	    get_strv(c, e, "env", &h->env) < 0 || get_i64(c, e, "timeout", 1, &h->timeout) < 0)
		return -1;
	return 0;
}

static int parse_hooks(pctx *c, const json_t *root, bwk_oci_hooks *h)
{
	json_t *o;
	if (get_object(c, root, "hooks", &o) < 0)
		return -1;
	if (!o)
		return 0;
	size_t old = enter(c, "hooks");
	int r = 0;
	for (int k = 0; k < BWK_OCI_HOOK_KINDS && r == 0; k++)
		r = get_list(c, o, oci_hook_keys[k], sizeof **h->v, (void **)&h->v[k], &h->n[k],
			     each_hook);
	leave(c, old);
	return r;
}

static int each_namespace(pctx *c, const json_t *e, void *items, size_t i)
{
	bwk_oci_namespace *n = (bwk_oci_namespace *)items + i;
	return get_str(c, e, "type", true, &n->type) < 0 ||
		       get_str(c, e, "path", false, &n->path) < 0
		   ? -1
		   : 0;
}

static int each_device(pctx *c, const json_t *e, void *items, size_t i)
{
	bwk_oci_device *d = (bwk_oci_device *)items + i;
	bool set;
	if (get_str(c, e, "path", true, &d->path) < 0 ||
	    get_str(c, e, "type", true, &d->type) < 0 ||
	    get_int(c, e, "major", 0, UINT32_MAX, false, &set, &d->major) < 0 ||
	    get_int(c, e, "minor", 0, UINT32_MAX, false, &set, &d->minor) < 0 ||
	    get_u64(c, e, "fileMode", 07777, &d->file_mode) < 0 ||
	    get_u64(c, e, "uid", UINT32_MAX, &d->uid) < 0 ||
	    get_u64(c, e, "gid", UINT32_MAX, &d->gid) < 0)
		return -1;
	return 0;
}

static int each_dev_rule(pctx *c, const json_t *e, void *items, size_t i)
{
	bwk_oci_dev_rule *d = (bwk_oci_dev_rule *)items + i;
	json_t *allow = json_object_get(e, "allow");
	if (!json_is_boolean(allow)) {
		size_t old = enter(c, ".allow");
		int r = allow ? wrong_type(c, allow, "a boolean") : fail(c, BWK_E_INPUT, "missing");
		leave(c, old);
		return r;
	}
	d->allow = json_is_true(allow);
	if (get_str(c, e, "type", false, &d->type) < 0 ||
	    get_str(c, e, "access", false, &d->access) < 0 ||
	    get_i64(c, e, "major", -1, &d->major) < 0 || get_i64(c, e, "minor", -1, &d->minor) < 0)
		return -1;
	return 0;
}

static int each_throttle(pctx *c, const json_t *e, void *items, size_t i)
{
	bwk_oci_throttle *t = (bwk_oci_throttle *)items + i;
	int64_t rate = 0;
	if (get_int(c, e, "major", 0, UINT32_MAX, true, NULL, &t->major) < 0 ||
	    get_int(c, e, "minor", 0, UINT32_MAX, true, NULL, &t->minor) < 0 ||
	    get_int(c, e, "rate", 0, INT64_MAX, true, NULL, &rate) < 0)
		return -1;
	t->rate = (uint64_t)rate;
	return 0;
}

static int each_weight_dev(pctx *c, const json_t *e, void *items, size_t i)
{
	bwk_oci_weight_dev *w = (bwk_oci_weight_dev *)items + i;
	if (get_int(c, e, "major", 0, UINT32_MAX, true, NULL, &w->major) < 0 ||
	    get_int(c, e, "minor", 0, UINT32_MAX, true, NULL, &w->minor) < 0 ||
	    get_u64(c, e, "weight", 10000, &w->weight) < 0 ||
	    get_u64(c, e, "leafWeight", 10000, &w->leaf_weight) < 0)
		return -1;
	return 0;
}

static int parse_memory(pctx *c, const json_t *res, bwk_oci_resources *r)
{
	json_t *m;
	if (get_object(c, res, "memory", &m) < 0)
		return -1;
	if (!m)
		return 0;
	size_t old = enter(c, ".memory");
	int rc = get_i64(c, m, "limit", -1, &r->memory.limit) < 0 ||
			 get_i64(c, m, "reservation", -1, &r->memory.reservation) < 0 ||
			 get_i64(c, m, "swap", -1, &r->memory.swap) < 0 ||
			 get_i64(c, m, "kernel", -1, &r->memory.kernel) < 0 ||
			 get_i64(c, m, "kernelTCP", -1, &r->memory.kernel_tcp) < 0 ||
			 get_u64(c, m, "swappiness", 100, &r->memory.swappiness) < 0 ||
			 get_bool(c, m, "disableOOMKiller", &r->memory.disable_oom_killer) < 0 ||
			 get_bool(c, m, "useHierarchy", &r->memory.use_hierarchy) < 0 ||
			 get_bool(c, m, "checkBeforeUpdate", &r->memory.check_before_update) < 0
		     ? -1
		     : 0;
	leave(c, old);
	return rc;
}

static int parse_cpu(pctx *c, const json_t *res, bwk_oci_resources *r)
{
	json_t *m;
	if (get_object(c, res, "cpu", &m) < 0)
		return -1;
	if (!m)
		return 0;
	size_t old = enter(c, ".cpu");
	int rc = get_u64(c, m, "shares", UINT64_MAX, &r->cpu.shares) < 0 ||
			 get_i64(c, m, "quota", -1, &r->cpu.quota) < 0 ||
			 get_u64(c, m, "burst", UINT64_MAX, &r->cpu.burst) < 0 ||
			 get_u64(c, m, "period", UINT64_MAX, &r->cpu.period) < 0 ||
			 get_i64(c, m, "realtimeRuntime", -1, &r->cpu.realtime_runtime) < 0 ||
			 get_u64(c, m, "realtimePeriod", UINT64_MAX, &r->cpu.realtime_period) < 0 ||
			 get_str(c, m, "cpus", false, &r->cpu.cpus) < 0 ||
			 get_str(c, m, "mems", false, &r->cpu.mems) < 0 ||
			 get_i64(c, m, "idle", 0, &r->cpu.idle) < 0
		     ? -1
		     : 0;
	leave(c, old);
	return rc;
}

static int parse_blockio(pctx *c, const json_t *res, bwk_oci_resources *r)
{
	json_t *b;
	if (get_object(c, res, "blockIO", &b) < 0)
		return -1;
	if (!b)
		return 0;
	size_t old = enter(c, ".blockIO");
	int rc = get_u64(c, b, "weight", 10000, &r->block_io.weight) < 0 ||
			 get_u64(c, b, "leafWeight", 10000, &r->block_io.leaf_weight) < 0 ||
			 get_list(c, b, "weightDevice", sizeof *r->block_io.weight_device,
				  (void **)&r->block_io.weight_device, &r->block_io.n_weight_device,
				  each_weight_dev) < 0
		     ? -1
		     : 0;
	for (int k = 0; k < 4 && rc == 0; k++)
		rc = get_list(c, b, oci_throttle_keys[k], sizeof **r->block_io.throttle,
			      (void **)&r->block_io.throttle[k], &r->block_io.n_throttle[k],
			      each_throttle);
	leave(c, old);
	return rc;
}

static int each_ifprio(pctx *c, const json_t *e, void *items, size_t i)
{
	bwk_oci_ifprio *p = (bwk_oci_ifprio *)items + i;
	return get_str(c, e, "name", true, &p->name) < 0 ||
		       get_u32(c, e, "priority", true, &p->priority) < 0
		   ? -1
		   : 0;
}

static int each_hugepage(pctx *c, const json_t *e, void *items, size_t i)
{
	bwk_oci_hugepage *h = (bwk_oci_hugepage *)items + i;
	int64_t v = 0;
	if (get_str(c, e, "pageSize", true, &h->page_size) < 0 ||
	    get_int(c, e, "limit", 0, INT64_MAX, true, NULL, &v) < 0)
		return -1;
	h->limit = (uint64_t)v;
	return 0;
}

static int parse_network(pctx *c, const json_t *res, bwk_oci_resources *r)
{
	json_t *n;
	if (get_object(c, res, "network", &n) < 0)
		return -1;
	if (!n)
		return 0;
	size_t old = enter(c, ".network");
	int rc = get_u64(c, n, "classID", UINT32_MAX, &r->network.class_id) < 0 ||
			 get_list(c, n, "priorities", sizeof *r->network.priorities,
				  (void **)&r->network.priorities, &r->network.n_priorities,
				  each_ifprio) < 0
		     ? -1
		     : 0;
	leave(c, old);
	return rc;
}

/* rdma: {"DEVICE": {"hcaHandles": N, "hcaObjects": M}}, each a line of rdma.max: the device
 * a name without blanks or control characters (ib_device names, at most 64 bytes) */
static int parse_rdma(pctx *c, const json_t *res, bwk_oci_resources *r)
{
	json_t *m;
	if (get_object(c, res, "rdma", &m) < 0)
		return -1;
	if (!m)
		return 0;
	size_t n = json_object_size(m);
	size_t old = enter(c, ".rdma");
	int rc = 0;
	if (n > BWK_OCI_MAX_LIST)
		rc = fail(c, BWK_E_LIMIT, "%zu entries (at most %d)", n, BWK_OCI_MAX_LIST);
	leave(c, old);
	if (rc < 0)
		return -1;
	r->rdma = xcalloc(n + 1, sizeof *r->rdma);
	const char *k;
	json_t *v;
	json_object_foreach(m, k, v)
	{
		size_t o2 = enter(c, ".rdma[\"%.40s\"]", k);
		bool name_ok = *k && strlen(k) <= 64;
		for (const char *p = k; *p && name_ok; p++)
			name_ok = (unsigned char)*p > ' ' && *p != 0x7f;
		bwk_oci_rdma *e = &r->rdma[r->n_rdma];
		if (!name_ok)
			rc = fail(c, BWK_E_INPUT, "not a device name (1-64 bytes, no blanks)");
		else if (!json_is_object(v))
			rc = wrong_type(c, v, "an object");
		else if (get_u64(c, v, "hcaHandles", UINT32_MAX, &e->hca_handles) < 0 ||
			 get_u64(c, v, "hcaObjects", UINT32_MAX, &e->hca_objects) < 0)
			rc = -1;
		else
			r->rdma[r->n_rdma++].device = xstrdup(k);
		leave(c, o2);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int parse_resources(pctx *c, const json_t *lx, bwk_oci_resources *r)
{
	json_t *res, *pids;
	if (get_object(c, lx, "resources", &res) < 0)
		return -1;
	if (!res)
		return 0;
	r->set = true;
	size_t old = enter(c, ".resources");
	int rc = -1;
	if (get_list(c, res, "devices", sizeof *r->devices, (void **)&r->devices, &r->n_devices,
		     each_dev_rule) < 0 ||
	    parse_memory(c, res, r) < 0 || parse_cpu(c, res, r) < 0 ||
	    parse_blockio(c, res, r) < 0 || parse_network(c, res, r) < 0 ||
	    get_list(c, res, "hugepageLimits", sizeof *r->hugepage_limits,
		     (void **)&r->hugepage_limits, &r->n_hugepage_limits, each_hugepage) < 0 ||
	    get_object(c, res, "pids", &pids) < 0 || get_map(c, res, "unified", &r->unified) < 0 ||
	    parse_rdma(c, res, r) < 0)
		goto out;
	if (pids) {
		size_t o2 = enter(c, ".pids");
		int rr = get_int(c, pids, "limit", INT64_MIN, INT64_MAX, true, &r->pids_limit.set,
				 &r->pids_limit.v);
		leave(c, o2);
		if (rr < 0)
			goto out;
	}
	rc = 0;
out:
	leave(c, old);
	return rc;
}

static int each_sc_arg(pctx *c, const json_t *e, void *items, size_t i)
{
	bwk_oci_seccomp_arg *a = (bwk_oci_seccomp_arg *)items + i;
	if (get_u32(c, e, "index", true, &a->index) < 0 ||
	    get_unsigned(c, e, "value", UINT64_MAX, true, NULL, &a->value) < 0 ||
	    get_unsigned(c, e, "valueTwo", UINT64_MAX, false, NULL, &a->value_two) < 0 ||
	    get_str(c, e, "op", true, &a->op) < 0)
		return -1;
	return 0;
}

static int each_syscall(pctx *c, const json_t *e, void *items, size_t i)
{
	bwk_oci_syscall *s = (bwk_oci_syscall *)items + i;
	if (get_strv(c, e, "names", &s->names) < 0 ||
	    get_str(c, e, "action", true, &s->action) < 0 ||
	    get_u64(c, e, "errnoRet", 4095, &s->errno_ret) < 0 ||
	    get_list(c, e, "args", sizeof *s->args, (void **)&s->args, &s->n_args, each_sc_arg) < 0)
		return -1;
	return 0;
}

static int parse_seccomp(pctx *c, const json_t *lx, bwk_oci_seccomp *s)
{
	json_t *o;
	if (get_object(c, lx, "seccomp", &o) < 0)
		return -1;
	if (!o)
		return 0;
	s->set = true;
	size_t old = enter(c, ".seccomp");
	int r = get_str(c, o, "defaultAction", true, &s->default_action) < 0 ||
			get_u64(c, o, "defaultErrnoRet", 4095, &s->default_errno_ret) < 0 ||
			get_strv(c, o, "architectures", &s->architectures) < 0 ||
			get_strv(c, o, "flags", &s->flags) < 0 ||
			get_str(c, o, "listenerPath", false, &s->listener_path) < 0 ||
			get_str(c, o, "listenerMetadata", false, &s->listener_metadata) < 0 ||
			get_list(c, o, "syscalls", sizeof *s->syscalls, (void **)&s->syscalls,
				 &s->n_syscalls, each_syscall) < 0
		    ? -1
		    : 0;
	leave(c, old);
	return r;
}

/* linux.timeOffsets: {"monotonic": {"secs": N, "nanosecs": M}, "boottime": {…}}; a clock
 * other than those is refused (a time namespace has no other). */
static int parse_time_offsets(pctx *c, const json_t *lx, bwk_oci_linux *l)
{
	static const char *const clocks[] = BWK_OCI_CLOCKS;
	json_t *t;
	if (get_object(c, lx, "timeOffsets", &t) < 0)
		return -1;
	const char *k;
	json_t *v;
	int r = 0;
	size_t old = enter(c, ".timeOffsets");
	json_object_foreach(t, k, v)
	{
		size_t i = 0;
		while (i < BWK_OCI_N_CLOCKS && strcmp(k, clocks[i]))
			i++;
		size_t o2 = enter(c, ".%.64s", k);
		bwk_oci_i64 secs = {0};
		bwk_oci_u64 ns = {0};
		if (i == BWK_OCI_N_CLOCKS)
			r = fail(c, BWK_E_INPUT,
				 "not a clock of a time namespace (monotonic, boottime)");
		else if (!json_is_object(v))
			r = wrong_type(c, v, "an object");
		else if (get_i64(c, v, "secs", INT64_MIN, &secs) < 0 ||
			 get_u64(c, v, "nanosecs", 999999999, &ns) < 0)
			r = -1;
		leave(c, o2);
		if (r < 0)
			break;
		l->time_offsets[i] = (bwk_oci_time_offset){true, secs.v, (uint32_t)ns.v};
	}
	leave(c, old);
	return r;
}

static int parse_linux(pctx *c, const json_t *root, bwk_oci_linux *l)
{
	json_t *lx, *pers, *rdt;
	if (get_object(c, root, "linux", &lx) < 0)
		return -1;
	if (!lx)
		return 0;
	l->set = true;
	size_t old = enter(c, "linux");
	int r = -1;
	if (get_list(c, lx, "namespaces", sizeof *l->namespaces, (void **)&l->namespaces,
		     &l->n_namespaces, each_namespace) < 0 ||
	    get_idmaps(c, lx, "uidMappings", &l->uid_mappings, &l->n_uid_mappings) < 0 ||
	    get_idmaps(c, lx, "gidMappings", &l->gid_mappings, &l->n_gid_mappings) < 0 ||
	    get_list(c, lx, "devices", sizeof *l->devices, (void **)&l->devices, &l->n_devices,
		     each_device) < 0 ||
	    get_str(c, lx, "cgroupsPath", false, &l->cgroups_path) < 0 ||
	    parse_resources(c, lx, &l->resources) < 0 || parse_seccomp(c, lx, &l->seccomp) < 0 ||
	    get_strv(c, lx, "maskedPaths", &l->masked_paths) < 0 ||
	    get_strv(c, lx, "readonlyPaths", &l->readonly_paths) < 0 ||
	    get_map(c, lx, "sysctl", &l->sysctl) < 0 ||
	    get_str(c, lx, "rootfsPropagation", false, &l->rootfs_propagation) < 0 ||
	    get_str(c, lx, "mountLabel", false, &l->mount_label) < 0 ||
	    get_object(c, lx, "intelRdt", &rdt) < 0 ||
	    get_object(c, lx, "personality", &pers) < 0 || parse_time_offsets(c, lx, l) < 0)
		goto out;
	l->intel_rdt = rdt != NULL;
	if (pers) {
		l->personality.set = true;
		size_t o2 = enter(c, ".personality");
		int rr = get_str(c, pers, "domain", true, &l->personality.domain) < 0 ||
				 get_strv(c, pers, "flags", &l->personality.flags) < 0
			     ? -1
			     : 0;
		leave(c, o2);
		if (rr < 0)
			goto out;
	}
	r = 0;
out:
	leave(c, old);
	return r;
}

/* Depth of the whole tree, unknown properties included: a model walk only sees known ones. */
static bool too_deep(const json_t *v, unsigned depth)
{
	if (depth > BWK_OCI_MAX_DEPTH)
		return true;
	if (json_is_object(v)) {
		const char *k;
		json_t *m;
		json_object_foreach((json_t *)v, k, m) if (too_deep(m, depth + 1)) return true;
	} else if (json_is_array(v)) {
		size_t i;
		json_t *m;
		json_array_foreach(v, i, m) if (too_deep(m, depth + 1)) return true;
	}
	return false;
}

static int parse_root(pctx *c, const json_t *doc, bwk_oci_spec *s)
{
	json_t *root;
	if (get_object(c, doc, "root", &root) < 0)
		return -1;
	if (!root)
		return 0;
	s->has_root = true;
	size_t old = enter(c, "root");
	int r = get_str(c, root, "path", true, &s->root_path) < 0 ||
			get_bool(c, root, "readonly", &s->root_readonly) < 0
		    ? -1
		    : 0;
	leave(c, old);
	return r;
}

static int parse_doc(pctx *c, const json_t *doc, bwk_oci_spec *s)
{
	if (!json_is_object(doc))
		return wrong_type(c, doc, "an object");
	if (too_deep(doc, 1))
		return fail(c, BWK_E_LIMIT, "nested more than %d levels deep", BWK_OCI_MAX_DEPTH);
	if (get_str(c, doc, "ociVersion", true, &s->oci_version) < 0 ||
	    parse_process(c, doc, s) < 0 || parse_root(c, doc, s) < 0 ||
	    get_list(c, doc, "mounts", sizeof *s->mounts, (void **)&s->mounts, &s->n_mounts,
		     each_mount) < 0 ||
	    get_str(c, doc, "hostname", false, &s->hostname) < 0 ||
	    get_str(c, doc, "domainname", false, &s->domainname) < 0 ||
	    parse_linux(c, doc, &s->linux_) < 0 || parse_hooks(c, doc, &s->hooks) < 0 ||
	    get_map(c, doc, "annotations", &s->annotations) < 0)
		return -1;
	return 0;
}

int bwk_oci_spec_parse(const char *name, const char *data, size_t len, bwk_oci_spec **out,
		       bwk_error **err)
{
	*out = NULL;
	if (len > BWK_OCI_MAX_BYTES)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "%s: %zu bytes (at most %zu)", name, len,
				     BWK_OCI_MAX_BYTES);
	/* integers above INT64_MAX become marked strings first (spec_json.c) */
	size_t qlen = 0;
	cleanup_free char *quoted = bwk_oci_json_quote_big(data, len, &qlen);
	/* a tree of a 4 MiB document takes at most 4× in jansson nodes */
	json_t *doc = bwk_json_load_buffer(name, quoted ? quoted : data, quoted ? qlen : len,
					   4 * BWK_OCI_MAX_BYTES, err);
	if (!doc)
		return -1;
	bwk_oci_spec *s = xcalloc(1, sizeof *s);
	pctx c = {.name = name, .err = err};
	int r = parse_doc(&c, doc, s);
	json_decref(doc);
	if (r < 0) {
		bwk_oci_spec_free(s);
		return -1;
	}
	*out = s;
	return 0;
}
