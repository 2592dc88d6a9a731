/* Strict, bounded parsing of the image documents: docker-save manifest.json, OCI index and
 * manifest, and the image config.
 *
 * Every document is size-capped before parsing (the callers read at most BWK_MAX_JSON_*),
 * duplicate keys are rejected (two "diff_ids" would let one tool see other layers than the
 * next), every field is type-checked and arrays are counted. Unknown fields are ignored, as the
 * specs require. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "image/image_private.h"

#define cleanup_json cleanup_with(json_decrefp) /* jansson's, as json_auto_t */

static json_t *load(const char *buf, size_t len, const char *what, size_t max, bwk_error **err)
{
	if (len > max) {
		bwk_error_set(err, BWK_E_LIMIT, 0, "%s: %zu bytes, over the %zu-byte limit", what,
			      len, max);
		return NULL;
	}
	json_error_t je;
	json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		bwk_error_set(err, BWK_E_INPUT, 0, "%s: invalid JSON at line %d: %s", what, je.line,
			      je.text);
	return j;
}

bool bwk_digest_valid(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71)
		return false;
	for (const char *p = d + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

bool bwk_layer_media_type_ok(const char *mt)
{
	static const char *const ok[] = {
	    "application/vnd.oci.image.layer.v1.tar", "application/vnd.oci.image.layer.v1.tar+gzip",
	    "application/vnd.oci.image.layer.v1.tar+zstd",
	    "application/vnd.docker.image.rootfs.diff.tar",
	    "application/vnd.docker.image.rootfs.diff.tar.gzip",
	    "application/vnd.docker.image.rootfs.diff.tar.zstd",
	    /* non-distributable variants carry the same bytes when the blob is present */
	    "application/vnd.oci.image.layer.nondistributable.v1.tar",
	    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
	    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", NULL};
	if (!mt)
		return true; /* docker save lists no media types */
	for (const char *const *p = ok; *p; p++)
		if (!strcmp(mt, *p))
			return true;
	return false;
}

/* Optional string member: NULL when absent or null; error when another type. */
static int get_str(json_t *o, const char *key, const char *what, const char **out, bwk_error **err)
{
	json_t *v = json_object_get(o, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s: \"%s\" must be a string", what, key);
	*out = json_string_value(v);
	if (strlen(*out) != json_string_length(v))
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s: \"%s\" contains a NUL byte", what,
				     key);
	return 0;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* NULL-terminated heap copy of an array of strings (max entries). */
static int strv_from(json_t *a, const char *what, const char *key, char ***out, bwk_error **err)
{
	*out = NULL;
	if (!a || json_is_null(a)) {
		*out = xcalloc(1, sizeof(char *));
		return 0;
	}
	if (!json_is_array(a) || json_array_size(a) > BWK_MAX_ARRAY)
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s: \"%s\" must be an array of at most %d strings", what, key,
				     BWK_MAX_ARRAY);
	size_t n = json_array_size(a);
	char **v = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(a, i);
		if (!json_is_string(s) || strlen(json_string_value(s)) != json_string_length(s)) {
			bwk_strv_freep(&v);
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "%s: \"%s\"[%zu] must be a string", what, key, i);
		}
		v[i] = xstrdup(json_string_value(s));
	}
	*out = v;
	return 0;
}

void docker_manifests_free(docker_manifest *m, size_t n)
{
	for (size_t i = 0; m && i < n; i++) {
		free(m[i].config);
		bwk_strv_freep(&m[i].layers);
		bwk_strv_freep(&m[i].tags);
	}
	free(m);
}

int bwk_parse_docker_manifest(const char *buf, size_t len, docker_manifest **out, size_t *n,
			      bwk_error **err)
{
	static const char what[] = "manifest.json";
	cleanup_json json_t *j = load(buf, len, what, BWK_MAX_JSON_SMALL, err);
	if (!j)
		return -1;
	if (!json_is_array(j) || json_array_size(j) == 0 || json_array_size(j) > 1000)
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s: must be a non-empty array of image entries", what);
	size_t cnt = json_array_size(j);
	docker_manifest *m = xcalloc(cnt, sizeof(*m));
	for (size_t i = 0; i < cnt; i++) {
		json_t *e = json_array_get(j, i);
		const char *cfg = NULL;
		int r = 0;
		if (!json_is_object(e))
			r = bwk_error_set(err, BWK_E_INPUT, 0, "%s: entry %zu must be an object",
					  what, i);
		else if (get_str(e, "Config", what, &cfg, err) < 0)
			r = -1;
		else if (!cfg)
			r = bwk_error_set(err, BWK_E_INPUT, 0, "%s: entry %zu has no \"Config\"",
					  what, i);
		else if (strv_from(json_object_get(e, "Layers"), what, "Layers", &m[i].layers,
				   err) < 0 ||
			 strv_from(json_object_get(e, "RepoTags"), what, "RepoTags", &m[i].tags,
				   err) < 0)
			r = -1;
		if (r < 0) {
			docker_manifests_free(m, cnt);
			return -1;
		}
		m[i].config = xstrdup(cfg);
		size_t nl = 0;
		while (m[i].layers[nl])
			nl++;
		if (nl > BWK_MAX_LAYERS) {
			docker_manifests_free(m, cnt);
			return bwk_error_set(err, BWK_E_LIMIT, 0, "%s: more than %d layers", what,
					     BWK_MAX_LAYERS);
		}
	}
	*out = m;
	*n = cnt;
	return 0;
}

void img_desc_free(img_desc *d)
{
	free(d->media_type);
	free(d->digest);
	free(d->os);
	free(d->arch);
	free(d->variant);
	free(d->ref_name);
	memset(d, 0, sizeof(*d));
}

void img_descs_free(img_desc *d, size_t n)
{
	for (size_t i = 0; d && i < n; i++)
		img_desc_free(&d[i]);
	free(d);
}

static int parse_desc(json_t *o, const char *what, img_desc *d, bwk_error **err)
{
	memset(d, 0, sizeof(*d));
	const char *mt, *dg, *os = NULL, *arch = NULL, *var = NULL, *ref = NULL;
	if (!json_is_object(o))
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s: a descriptor must be an object",
				     what);
	if (get_str(o, "mediaType", what, &mt, err) < 0 || get_str(o, "digest", what, &dg, err) < 0)
		return -1;
	if (!bwk_digest_valid(dg))
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s: descriptor digest '%.80s' is not sha256:<64 hex>", what,
				     dg ? dg : "(missing)");
	json_t *sz = json_object_get(o, "size");
	if (sz && !json_is_integer(sz))
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s: \"size\" must be an integer", what);
	if (sz && json_integer_value(sz) < 0)
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s: negative \"size\"", what);
	json_t *pl = json_object_get(o, "platform");
	if (pl && !json_is_null(pl)) {
		if (!json_is_object(pl) || get_str(pl, "os", what, &os, err) < 0 ||
		    get_str(pl, "architecture", what, &arch, err) < 0 ||
		    get_str(pl, "variant", what, &var, err) < 0)
			return bwk_error_set(err, BWK_E_INPUT, 0, "%s: malformed \"platform\"",
					     what);
	}
	json_t *an = json_object_get(o, "annotations");
	if (an && !json_is_null(an)) {
		if (!json_is_object(an) ||
		    get_str(an, "org.opencontainers.image.ref.name", what, &ref, err) < 0)
			return bwk_error_set(err, BWK_E_INPUT, 0, "%s: malformed \"annotations\"",
					     what);
	}
	d->media_type = dup_or_null(mt);
	d->digest = xstrdup(dg);
	d->size = sz ? (uint64_t)json_integer_value(sz) : 0;
	d->os = dup_or_null(os);
	d->arch = dup_or_null(arch);
	d->variant = dup_or_null(var);
	d->ref_name = dup_or_null(ref);
	return 0;
}

static int parse_desc_array(json_t *a, const char *what, const char *key, size_t max,
			    img_desc **out, size_t *n, bwk_error **err)
{
	if (!json_is_array(a))
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s: \"%s\" must be an array", what, key);
	size_t cnt = json_array_size(a);
	if (cnt > max)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "%s: more than %zu %s", what, max, key);
	img_desc *d = xcalloc(cnt ? cnt : 1, sizeof(*d));
	for (size_t i = 0; i < cnt; i++)
		if (parse_desc(json_array_get(a, i), what, &d[i], err) < 0) {
			img_descs_free(d, cnt);
			return bwk_error_wrap(err, "%s: %s[%zu]", what, key, i);
		}
	*out = d;
	*n = cnt;
	return 0;
}

int bwk_parse_oci_index(const char *buf, size_t len, img_desc **out, size_t *n, bwk_error **err)
{
	static const char what[] = "index.json";
	cleanup_json json_t *j = load(buf, len, what, BWK_MAX_JSON_SMALL, err);
	if (!j)
		return -1;
	json_t *sv = json_object_get(j, "schemaVersion");
	if (!json_is_object(j) || !json_is_integer(sv) || json_integer_value(sv) != 2)
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s: not an OCI image index (schemaVersion 2 expected)", what);
	return parse_desc_array(json_object_get(j, "manifests"), what, "manifests", 1000, out, n,
				err);
}

int bwk_parse_oci_manifest(const char *buf, size_t len, img_desc *config, img_desc **layers,
			   size_t *nlayers, bwk_error **err)
{
	static const char what[] = "image manifest";
	cleanup_json json_t *j = load(buf, len, what, BWK_MAX_JSON_SMALL, err);
	if (!j)
		return -1;
	json_t *sv = json_object_get(j, "schemaVersion");
	if (!json_is_object(j) || !json_is_integer(sv) || json_integer_value(sv) != 2)
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s: not an image manifest (schemaVersion 2 expected)", what);
	if (json_object_get(j, "manifests"))
		return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
				     "%s: nested image indexes are not supported", what);
	if (parse_desc(json_object_get(j, "config"), what, config, err) < 0)
		return bwk_error_wrap(err, "%s: config", what);
	if (parse_desc_array(json_object_get(j, "layers"), what, "layers", BWK_MAX_LAYERS, layers,
			     nlayers, err) < 0) {
		img_desc_free(config);
		return -1;
	}
	for (size_t i = 0; i < *nlayers; i++)
		if (!bwk_layer_media_type_ok((*layers)[i].media_type)) {
			bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
				      "%s: layer %zu has media type '%.100s' (not a tar layer)",
				      what, i + 1, (*layers)[i].media_type);
			img_descs_free(*layers, *nlayers);
			img_desc_free(config);
			return -1;
		}
	return 0;
}

/* ---- config -------------------------------------------------------------------------------- */

static const char *const empty_strv[] = {NULL};

static void *arena_keep(img_config *c, void *p)
{
	if (c->narena < sizeof(c->arena) / sizeof(c->arena[0]))
		c->arena[c->narena++] = p;
	else
		abort(); /* a programming error: more arrays than slots */
	return p;
}

/* Array of strings pointing into the JSON. */
static int cfg_strv(img_config *c, json_t *o, const char *key, const char *const **out,
		    bwk_error **err)
{
	json_t *a = o ? json_object_get(o, key) : NULL;
	*out = empty_strv;
	if (!a || json_is_null(a))
		return 0;
	if (!json_is_array(a) || json_array_size(a) > BWK_MAX_ARRAY)
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "config: \"%s\" must be an array of at most %d strings", key,
				     BWK_MAX_ARRAY);
	size_t n = json_array_size(a);
	const char **v = arena_keep(c, xcalloc(n + 1, sizeof(char *)));
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(a, i);
		if (!json_is_string(s))
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "config: \"%s\"[%zu] must be a string", key, i);
		v[i] = json_string_value(s);
	}
	*out = v;
	return 0;
}

/* Keys of an object ({"80/tcp": {}}), and optionally its string values. */
static int cfg_keys(img_config *c, json_t *o, const char *key, const char *const **keys,
		    const char *const **values, bwk_error **err)
{
	json_t *m = o ? json_object_get(o, key) : NULL;
	*keys = empty_strv;
	if (values)
		*values = empty_strv;
	if (!m || json_is_null(m))
		return 0;
	if (!json_is_object(m) || json_object_size(m) > BWK_MAX_ARRAY)
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "config: \"%s\" must be an object of at most %d keys", key,
				     BWK_MAX_ARRAY);
	size_t n = json_object_size(m), i = 0;
	const char **k = arena_keep(c, xcalloc(n + 1, sizeof(char *)));
	const char **v = values ? arena_keep(c, xcalloc(n + 1, sizeof(char *))) : NULL;
	const char *name;
	json_t *val;
	json_object_foreach(m, name, val)
	{
		if (v) {
			if (!json_is_string(val))
				return bwk_error_set(err, BWK_E_INPUT, 0,
						     "config: \"%s\".\"%.100s\" must be a string",
						     key, name);
			v[i] = json_string_value(val);
		}
		k[i++] = name;
	}
	*keys = k;
	if (values)
		*values = v;
	return 0;
}

void img_config_free(img_config *c)
{
	for (size_t i = 0; i < c->narena; i++)
		free(c->arena[i]);
	if (c->json)
		json_decref(c->json);
	memset(c, 0, sizeof(*c));
}

int bwk_parse_config(const char *buf, size_t len, img_config *out, bwk_error **err)
{
	memset(out, 0, sizeof(*out));
	json_t *j = load(buf, len, "config", BWK_MAX_JSON_CONFIG, err);
	if (!j)
		return -1;
	out->json = j;
	bwk_image_config *p = &out->pub;
	if (!json_is_object(j))
		return bwk_error_set(err, BWK_E_INPUT, 0, "config: not an image config object");
	if (get_str(j, "os", "config", &p->os, err) < 0 ||
	    get_str(j, "architecture", "config", &p->architecture, err) < 0 ||
	    get_str(j, "variant", "config", &p->variant, err) < 0)
		return -1;
	json_t *cc = json_object_get(j, "config");
	if (cc && json_is_null(cc))
		cc = NULL;
	if (cc && !json_is_object(cc))
		return bwk_error_set(err, BWK_E_INPUT, 0, "config: not an image config object");
	if (get_str(cc, "User", "config", &p->user, err) < 0 ||
	    get_str(cc, "WorkingDir", "config", &p->workdir, err) < 0 ||
	    get_str(cc, "StopSignal", "config", &p->stop_signal, err) < 0)
		return -1;
	if (!p->user)
		p->user = "";
	if (!p->workdir)
		p->workdir = "";
	if (cfg_strv(out, cc, "Env", &p->env, err) < 0 ||
	    cfg_strv(out, cc, "Cmd", &p->cmd, err) < 0 ||
	    cfg_strv(out, cc, "Entrypoint", &p->entrypoint, err) < 0 ||
	    cfg_keys(out, cc, "ExposedPorts", &p->exposed_ports, NULL, err) < 0 ||
	    cfg_keys(out, cc, "Volumes", &p->volumes, NULL, err) < 0 ||
	    cfg_keys(out, cc, "Labels", &p->label_keys, &p->label_values, err) < 0)
		return -1;
	json_t *hc = cc ? json_object_get(cc, "Healthcheck") : NULL;
	p->healthcheck = empty_strv;
	if (hc && !json_is_null(hc)) {
		if (!json_is_object(hc))
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "config: not an image config object");
		if (cfg_strv(out, hc, "Test", &p->healthcheck, err) < 0)
			return -1;
		p->has_healthcheck = p->healthcheck[0] && strcmp(p->healthcheck[0], "NONE") != 0;
	}
	json_t *rootfs = json_object_get(j, "rootfs");
	if (!json_is_object(rootfs))
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "config: missing \"rootfs\" (not an image config?)");
	if (cfg_strv(out, rootfs, "diff_ids", &p->diff_ids, err) < 0)
		return -1;
	size_t nd = 0;
	for (; p->diff_ids[nd]; nd++)
		if (!bwk_digest_valid(p->diff_ids[nd]))
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "config: rootfs.diff_ids[%zu] '%.80s' is not "
					     "sha256:<64 hex>",
					     nd, p->diff_ids[nd]);
	if (nd > BWK_MAX_LAYERS)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "config: more than %d layers",
				     BWK_MAX_LAYERS);
	json_t *h = json_object_get(j, "history");
	if (h && !json_is_null(h)) {
		if (!json_is_array(h) || json_array_size(h) > BWK_MAX_ARRAY)
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "config: \"history\" must be an array of at most %d "
					     "entries",
					     BWK_MAX_ARRAY);
		size_t n = json_array_size(h);
		bwk_history_entry *he = arena_keep(out, xcalloc(n + 1, sizeof(*he)));
		for (size_t i = 0; i < n; i++) {
			json_t *e = json_array_get(h, i);
			if (!json_is_object(e))
				return bwk_error_set(err, BWK_E_INPUT, 0,
						     "config: history[%zu] must be an object", i);
			if (get_str(e, "created", "config history", &he[i].created, err) < 0 ||
			    get_str(e, "created_by", "config history", &he[i].created_by, err) <
				0 ||
			    get_str(e, "comment", "config history", &he[i].comment, err) < 0)
				return -1;
			json_t *el = json_object_get(e, "empty_layer");
			if (el && !json_is_boolean(el))
				return bwk_error_set(err, BWK_E_INPUT, 0,
						     "config: history[%zu].empty_layer must be a "
						     "boolean",
						     i);
			he[i].empty_layer = el && json_is_true(el);
		}
		p->history = he;
		p->nhistory = n;
	}
	return 0;
}
