/* Parsers of package databases found in images. Every byte is untrusted: nothing is assumed
 * NUL-terminated, every field is length-checked (INV_MAX_FIELD) and every count capped, and a
 * malformed record is skipped (counted) rather than failing the whole scan. */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "scan/inventory_private.h"

void inv_list_free(inv_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].version);
		free(l->v[i].source);
		free(l->v[i].source_version);
		free(l->v[i].arch);
		free(l->v[i].loc);
	}
	free(l->v);
	*l = (inv_list){0};
}

static void pkg_clear(inv_pkg *p)
{
	free(p->name);
	free(p->version);
	free(p->source);
	free(p->source_version);
	free(p->arch);
	free(p->loc);
	*p = (inv_pkg){0};
}

/* Take `p` into `out` when it has a name and a version; clears p either way. */
static int list_take(inv_list *out, inv_pkg *p, bwk_error **err)
{
	if (!p->name || !p->version || !*p->name || !*p->version) {
		if (p->name || p->version)
			out->skipped++;
		pkg_clear(p);
		return 0;
	}
	if (out->n >= INV_MAX_PKGS_FILE) {
		pkg_clear(p);
		return bwk_error_set(err, BWK_E_LIMIT, 0, "more than %u packages in one database",
				     INV_MAX_PKGS_FILE);
	}
	if (out->n == out->cap) {
		out->cap = out->cap ? out->cap * 2 : 64;
		out->v = xrealloc(out->v, out->cap * sizeof(*out->v));
	}
	out->v[out->n++] = *p;
	*p = (inv_pkg){0};
	return 0;
}

int inv_list_take(inv_list *out, inv_pkg *p, bwk_error **err)
{
	return list_take(out, p, err);
}

/* The next line of buf[*pos..len) without its newline (and a trailing '\r'). */
static bool next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *n)
{
	if (*pos >= len)
		return false;
	const char *s = buf + *pos;
	const char *nl = memchr(s, '\n', len - *pos);
	size_t l = nl ? (size_t)(nl - s) : len - *pos;
	*pos += l + (nl ? 1 : 0);
	if (l && s[l - 1] == '\r')
		l--;
	*line = s;
	*n = l;
	return true;
}

static void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

/* A field value: printable, no NUL, at most INV_MAX_FIELD bytes; NULL (and *bad) otherwise. */
static char *field(const char *s, size_t n, bool *bad)
{
	trim(&s, &n);
	if (n == 0 || n > INV_MAX_FIELD) {
		*bad = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			*bad = true;
			return NULL;
		}
	return xstrndup(s, n);
}

static void set_field(char **slot, const char *s, size_t n, bool *bad)
{
	free(*slot);
	*slot = field(s, n, bad);
}

/* "Name: value" with a case-insensitive name; sets v and vn to the value. */
static bool is_field(const char *line, size_t n, const char *name, const char **v, size_t *vn)
{
	size_t k = strlen(name);
	if (n <= k || line[k] != ':' || strncasecmp(line, name, k) != 0)
		return false;
	*v = line + k + 1;
	*vn = n - k - 1;
	return true;
}

/* dpkg's Status: "want flag status". Files are on disk in these states (dpkg-query lists
 * them too); "not-installed" and "config-files" leave only configuration behind. */
static bool dpkg_status_present(const char *v, size_t n)
{
	trim(&v, &n);
	const char *sp = NULL;
	for (size_t i = n; i > 0; i--)
		if (v[i - 1] == ' ') {
			sp = v + i;
			break;
		}
	if (!sp)
		return false;
	size_t l = n - (size_t)(sp - v);
	static const char *const ok[] = {
	    "installed",	"half-configured",  "unpacked", "half-installed",
	    "triggers-awaited", "triggers-pending", NULL};
	for (const char *const *o = ok; *o; o++)
		if (strlen(*o) == l && memcmp(sp, *o, l) == 0)
			return true;
	return false;
}

/* "Source: name" or "Source: name (version)". */
static void dpkg_source(inv_pkg *p, const char *v, size_t n, bool *bad)
{
	trim(&v, &n);
	const char *par = memchr(v, '(', n);
	if (!par) {
		set_field(&p->source, v, n, bad);
		return;
	}
	set_field(&p->source, v, (size_t)(par - v), bad);
	const char *end = memchr(par, ')', n - (size_t)(par - v));
	if (!end) {
		*bad = true;
		return;
	}
	set_field(&p->source_version, par + 1, (size_t)(end - par - 1), bad);
}

static int dpkg_finish(inv_list *out, inv_pkg *p, bool *bad, bool *present, bool *has_status,
		       bwk_error **err)
{
	int r = 0;
	if (*bad) {
		out->skipped++;
		pkg_clear(p);
	} else if (*has_status && !*present) {
		pkg_clear(p); /* removed, configuration files only */
	} else {
		r = list_take(out, p, err);
	}
	*bad = *present = *has_status = false;
	return r;
}

int inv_parse_dpkg(const char *buf, size_t len, inv_list *out, bwk_error **err)
{
	size_t pos = 0, n, vn;
	const char *line, *v;
	inv_pkg p = {0};
	/* distroless status.d files carry no Status field: every stanza is installed */
	bool bad = false, present = false, has_status = false;
	while (next_line(buf, len, &pos, &line, &n)) {
		if (n == 0) {
			if (dpkg_finish(out, &p, &bad, &present, &has_status, err) < 0)
				return -1;
			continue;
		}
		if (line[0] == ' ' || line[0] == '\t')
			continue; /* continuation of a multi-line field */
		if (is_field(line, n, "Package", &v, &vn))
			set_field(&p.name, v, vn, &bad);
		else if (is_field(line, n, "Version", &v, &vn))
			set_field(&p.version, v, vn, &bad);
		else if (is_field(line, n, "Architecture", &v, &vn))
			set_field(&p.arch, v, vn, &bad);
		else if (is_field(line, n, "Source", &v, &vn))
			dpkg_source(&p, v, vn, &bad);
		else if (is_field(line, n, "Status", &v, &vn)) {
			has_status = true;
			present = dpkg_status_present(v, vn);
		}
	}
	return dpkg_finish(out, &p, &bad, &present, &has_status, err);
}

int inv_parse_apk(const char *buf, size_t len, inv_list *out, bwk_error **err)
{
	size_t pos = 0, n;
	const char *line;
	inv_pkg p = {0};
	bool bad = false;
	while (next_line(buf, len, &pos, &line, &n)) {
		if (n == 0) {
			if (bad) {
				out->skipped++;
				pkg_clear(&p);
			} else if (list_take(out, &p, err) < 0) {
				return -1;
			}
			bad = false;
			continue;
		}
		if (n < 2 || line[1] != ':')
			continue;
		switch (line[0]) {
		case 'P':
			set_field(&p.name, line + 2, n - 2, &bad);
			break;
		case 'V':
			set_field(&p.version, line + 2, n - 2, &bad);
			break;
		case 'A':
			set_field(&p.arch, line + 2, n - 2, &bad);
			break;
		case 'o':
			set_field(&p.source, line + 2, n - 2, &bad);
			break;
		default:
			break;
		}
	}
	if (bad) {
		out->skipped++;
		pkg_clear(&p);
		return 0;
	}
	return list_take(out, &p, err);
}

int inv_parse_python(const char *buf, size_t len, inv_list *out, bwk_error **err)
{
	size_t pos = 0, n, vn;
	const char *line, *v;
	inv_pkg p = {0};
	bool bad = false;
	while (next_line(buf, len, &pos, &line, &n) && n > 0) {
		/* the first Name/Version win: later ones would be in a malformed header */
		if (!p.name && is_field(line, n, "Name", &v, &vn))
			set_field(&p.name, v, vn, &bad);
		else if (!p.version && is_field(line, n, "Version", &v, &vn))
			set_field(&p.version, v, vn, &bad);
	}
	if (bad) {
		out->skipped++;
		pkg_clear(&p);
		return 0;
	}
	return list_take(out, &p, err);
}

int inv_parse_npm(const char *buf, size_t len, inv_list *out, bwk_error **err)
{
	json_error_t je;
	/* bounded: the caller read at most INV_MAX_META_BYTES; jansson caps depth itself */
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!root || !json_is_object(root)) {
		json_decref(root);
		out->skipped++;
		return 0;
	}
	const char *name = json_string_value(json_object_get(root, "name"));
	const char *ver = json_string_value(json_object_get(root, "version"));
	inv_pkg p = {0};
	bool bad = false;
	if (name && ver) {
		p.name = field(name, strlen(name), &bad);
		p.version = field(ver, strlen(ver), &bad);
	}
	json_decref(root);
	if (bad || !name || !ver) {
		/* package.json files without a version are common (workspaces, test fixtures) */
		if (bad)
			out->skipped++;
		pkg_clear(&p);
		return 0;
	}
	return list_take(out, &p, err);
}

static int lock_entry(const char *key, json_t *v, inv_list *out, bwk_error **err)
{
	static const char nm[] = "node_modules/";
	const char *last = NULL;
	for (const char *p = key; (p = strstr(p, nm)); p += sizeof(nm) - 1)
		last = p + sizeof(nm) - 1;
	if (!last || !json_is_object(v) || json_is_true(json_object_get(v, "link")))
		return 0; /* the project, a workspace's own directory, or a symlink to one */
	/* an alias (npm:real@1) names the real package in "name" */
	const char *name = json_string_value(json_object_get(v, "name"));
	const char *ver = json_string_value(json_object_get(v, "version"));
	if (!ver)
		return 0;
	bool bad = false;
	inv_pkg p = {0};
	p.name = name ? field(name, strlen(name), &bad) : field(last, strlen(last), &bad);
	p.version = field(ver, strlen(ver), &bad);
	p.loc = field(key, strlen(key), &bad);
	if (bad) {
		out->skipped++;
		pkg_clear(&p);
		return 0;
	}
	return list_take(out, &p, err);
}

int inv_parse_npm_lock(const char *buf, size_t len, inv_list *out, bwk_error **err)
{
	json_error_t je;
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	json_t *pkgs = json_object_get(root, "packages");
	json_int_t ver = json_integer_value(json_object_get(root, "lockfileVersion"));
	if (!json_is_object(pkgs) || ver < 2) {
		if (!root || ver != 1)
			out->skipped++;
		json_decref(root);
		return 0;
	}
	const char *key;
	json_t *v;
	int r = 0;
	json_object_foreach(pkgs, key, v)
	{
		if ((r = lock_entry(key, v, out, err)) < 0)
			break;
	}
	json_decref(root);
	return r;
}

/* KEY=value, KEY="value" or KEY='value' (shell-like; backslash escapes in double quotes). */
static char *osrel_value(const char *v, size_t n, bool *bad)
{
	trim(&v, &n);
	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
		char q = v[0];
		char tmp[INV_MAX_FIELD];
		size_t o = 0;
		for (size_t i = 1; i + 1 < n; i++) {
			char c = v[i];
			if (q == '"' && c == '\\' && i + 2 < n)
				c = v[++i];
			if (o >= sizeof(tmp)) {
				*bad = true;
				return NULL;
			}
			tmp[o++] = c;
		}
		return field(tmp, o, bad);
	}
	return field(v, n, bad);
}

/* "KEY=" at the start of a line (os-release keys are case-sensitive). */
static bool osrel_key(const char *line, size_t n, const char *key, const char **v, size_t *vn)
{
	size_t k = strlen(key);
	if (n <= k || line[k] != '=' || memcmp(line, key, k) != 0)
		return false;
	*v = line + k + 1;
	*vn = n - k - 1;
	return true;
}

int inv_parse_os_release(const char *buf, size_t len, inv_osrel *out, bwk_error **err)
{
	(void)err;
	size_t pos = 0, n, vn;
	const char *line, *v;
	bool bad = false; /* a bad value is dropped (NULL), the rest still counts */
	while (next_line(buf, len, &pos, &line, &n)) {
		char **slot = NULL;
		if (osrel_key(line, n, "ID", &v, &vn))
			slot = &out->id;
		else if (osrel_key(line, n, "VERSION_ID", &v, &vn))
			slot = &out->version_id;
		else if (osrel_key(line, n, "VERSION_CODENAME", &v, &vn))
			slot = &out->version_codename;
		else if (osrel_key(line, n, "PRETTY_NAME", &v, &vn))
			slot = &out->pretty_name;
		if (slot) {
			free(*slot);
			*slot = osrel_value(v, vn, &bad);
		}
	}
	return 0;
}

void inv_osrel_free(inv_osrel *o)
{
	free(o->id);
	free(o->version_id);
	free(o->version_codename);
	free(o->pretty_name);
	*o = (inv_osrel){0};
}
