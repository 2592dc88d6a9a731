/* VEX (Vulnerability Exploitability eXchange): an image maintainer's statements that a
 * vulnerability reported in a package does not apply to it (not_affected, with a
 * justification) or is fixed. `bulwark scan --vex FILE` suppresses the matching findings:
 * they stay in the report as suppressed, with the statement as the reason, and never fail
 * --fail-on.
 *
 * Two formats: OpenVEX (openvex.dev; v0.0.1's string `vulnerability` and product lists and
 * v0.2.0's objects) and CycloneDX VEX (`vulnerabilities[].analysis`). The file is as hostile
 * as any input: size, statement, product and string limits, strict statuses and
 * justifications (a misspelt status must not silently suppress), and no recursion beyond
 * jansson's own depth limit. A statement matches a finding when it names the advisory or one
 * of its aliases (CVE-…) and a product that is the finding's package (package URL: type,
 * namespace and name equal; version and qualifiers, when the statement gives them, equal)
 * or the image itself (pkg:oci / pkg:docker without subcomponents: the VEX is about the image
 * being scanned). Later statements about the same vulnerability and package win. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <errno.h>
#include <stdint.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "vuln/vuln_private.h"

#define VEX_MAX_BYTES	   (16u << 20)
#define VEX_MAX_STATEMENTS 20000u
#define VEX_MAX_PRODUCTS   100000u /* products and subcomponents, whole document */
#define VEX_MAX_NAMES	   64u	   /* vulnerability name and aliases per statement */
#define VEX_MAX_STRING	   1024u   /* an id or a package URL */
#define VEX_MAX_REASON	   240u

typedef enum vex_status { VEX_AFFECTED, VEX_NOT_AFFECTED, VEX_FIXED, VEX_INVESTIGATING } vex_status;

typedef struct vex_purl {
	char *type, *name; /* name: namespace/name, percent-decoded */
	char *version;	   /* NULL: any */
	char **quals;	   /* "key=value", decoded */
	size_t nquals;
} vex_purl;

typedef struct vex_stmt {
	vex_status status;
	char *reason;
	bool whole_image;
	vex_purl *prods;
	size_t nprods;
} vex_stmt;

struct bwk_vex {
	char *name; /* the file, for messages */
	vex_stmt *st;
	size_t n, cap;
	size_t nprods;
	json_t *byname; /* lower-cased vulnerability id → [statement index, …] */
};

static void purl_clear(vex_purl *p)
{
	free(p->type);
	free(p->name);
	free(p->version);
	for (size_t i = 0; i < p->nquals; i++)
		free(p->quals[i]);
	free(p->quals);
	memset(p, 0, sizeof(*p));
}

void bwk_vex_free(bwk_vex *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++) {
		for (size_t j = 0; j < v->st[i].nprods; j++)
			purl_clear(&v->st[i].prods[j]);
		free(v->st[i].prods);
		free(v->st[i].reason);
	}
	free(v->st);
	json_decref(v->byname);
	free(v->name);
	free(v);
}

static int hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* Percent-decode [s, s+n); NULL on a bad escape or a decoded NUL or control character. */
static char *pdecode(const char *s, size_t n)
{
	cleanup_free char *o = xmalloc(n + 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n)
				return NULL;
			int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
			if (h < 0 || l < 0)
				return NULL;
			c = (unsigned char)(h * 16 + l);
			i += 2;
		}
		if (c < 0x20 || c == 0x7f)
			return NULL;
		o[k++] = (char)c;
	}
	o[k] = '\0';
	return steal_pointer(&o);
}

/* pkg:type/namespace/name@version?qualifiers#subpath (github.com/package-url/purl-spec). */
static int purl_fill(const char *s, vex_purl *out)
{
	if (strncasecmp(s, "pkg:", 4) != 0)
		return -1;
	s += 4;
	while (*s == '/')
		s++;
	size_t end = strcspn(s, "#");
	size_t q = strcspn(s, "?#");
	const char *slash = memchr(s, '/', q);
	if (!slash || slash == s)
		return -1;
	out->type = xstrndup(s, (size_t)(slash - s));
	for (char *t = out->type; *t; t++)
		*t = (char)(*t >= 'A' && *t <= 'Z' ? *t + 32 : *t);
	const char *body = slash + 1, *bend = s + q;
	const char *last = body;
	for (const char *p = body; p < bend; p++)
		if (*p == '/')
			last = p + 1;
	const char *at = memchr(last, '@', (size_t)(bend - last));
	out->name = pdecode(body, (size_t)((at ? at : bend) - body));
	if (!out->name || !*out->name)
		return -1;
	if (at && !(out->version = pdecode(at + 1, (size_t)(bend - at - 1))))
		return -1;
	const char *p = s + q + 1, *qend = s + end;
	while (q < end && p < qend) {
		size_t n = strcspn(p, "&#");
		if (n == 0) { /* "a=b&&c=d" */
			p++;
			continue;
		}
		const char *eq = memchr(p, '=', n);
		if (!eq || eq == p)
			return -1;
		char *k = xstrndup(p, (size_t)(eq - p));
		char *v = pdecode(eq + 1, (size_t)(p + n - eq - 1));
		if (!v) {
			free(k);
			return -1;
		}
		for (char *t = k; *t; t++)
			*t = (char)(*t >= 'A' && *t <= 'Z' ? *t + 32 : *t);
		if (out->nquals >= 32) {
			free(k);
			free(v);
			return -1;
		}
		out->quals = xrealloc(out->quals, (out->nquals + 1) * sizeof(*out->quals));
		out->quals[out->nquals++] = xasprintf("%s=%s", k, v);
		free(k);
		free(v);
		p += n;
	}
	return 0;
}

/* `out` is cleared on failure: callers own nothing then. */
static int purl_parse(const char *s, vex_purl *out)
{
	memset(out, 0, sizeof(*out));
	if (purl_fill(s, out) < 0) {
		purl_clear(out);
		return -1;
	}
	return 0;
}

/* Whether statement product `want` names package `have`. */
static bool purl_match(const vex_purl *want, const vex_purl *have)
{
	if (strcmp(want->type, have->type) != 0 || strcasecmp(want->name, have->name) != 0)
		return false;
	if (want->version && (!have->version || strcmp(want->version, have->version) != 0))
		return false;
	for (size_t i = 0; i < want->nquals; i++) {
		bool found = false;
		for (size_t j = 0; j < have->nquals && !found; j++)
			found = strcmp(want->quals[i], have->quals[j]) == 0;
		if (!found)
			return false;
	}
	return true;
}

bool vex_purl_matches(const char *want, const char *have)
{
	vex_purl w, h;
	if (purl_parse(want, &w) < 0)
		return false;
	if (purl_parse(have, &h) < 0) {
		purl_clear(&w);
		return false;
	}
	bool m = purl_match(&w, &h);
	purl_clear(&w);
	purl_clear(&h);
	return m;
}

static const char *bounded(json_t *v)
{
	const char *s = json_string_value(v);
	return s && *s && strlen(s) <= VEX_MAX_STRING ? s : NULL;
}

/* Reasons are shown in text reports: no control characters, bounded. */
static char *clean_reason(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *clean_reason(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s)
		return xstrdup("VEX");
	for (unsigned char *p = (unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = ' ';
	if (strlen(s) > VEX_MAX_REASON)
		memcpy(s + VEX_MAX_REASON - 3, "...", 4);
	return s;
}

typedef struct stmt_build {
	bwk_vex *v;
	const char *where; /* "statement 3" */
	const char *names[VEX_MAX_NAMES];
	size_t nnames;
} stmt_build;

static int add_name(stmt_build *b, json_t *j, bwk_error **err)
{
	if (!j)
		return 0;
	const char *s = bounded(j);
	if (!s)
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s: %s: a vulnerability id that is not a string of 1 to %u "
				     "bytes",
				     b->v->name, b->where, VEX_MAX_STRING);
	if (b->nnames >= VEX_MAX_NAMES)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "%s: %s: more than %u vulnerability ids and aliases",
				     b->v->name, b->where, VEX_MAX_NAMES);
	b->names[b->nnames++] = s;
	return 0;
}

static int add_product(stmt_build *b, vex_stmt *st, const char *id, bool has_sub, bwk_error **err)
{
	if (!id)
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s: %s: a product without an id of 1 to %u bytes", b->v->name,
				     b->where, VEX_MAX_STRING);
	if (++b->v->nprods > VEX_MAX_PRODUCTS)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "%s: more than %u products and subcomponents: split the "
				     "document",
				     b->v->name, VEX_MAX_PRODUCTS);
	vex_purl p;
	if (purl_parse(id, &p) < 0)
		return 0; /* not a package URL (an image reference, a URL): matches no package */
	if (!has_sub && (!strcmp(p.type, "oci") || !strcmp(p.type, "docker"))) {
		st->whole_image = true;
		purl_clear(&p);
		return 0;
	}
	if (has_sub && (!strcmp(p.type, "oci") || !strcmp(p.type, "docker"))) {
		purl_clear(&p); /* the image: its subcomponents name the packages */
		return 0;
	}
	st->prods = xrealloc(st->prods, (st->nprods + 1) * sizeof(*st->prods));
	st->prods[st->nprods++] = p;
	return 0;
}

static int parse_status(bwk_vex *v, const char *where, const char *s, vex_status *out,
			bwk_error **err)
{
	static const struct {
		const char *name;
		vex_status st;
	} tab[] = {
	    {"not_affected", VEX_NOT_AFFECTED},
	    {"affected", VEX_AFFECTED},
	    {"fixed", VEX_FIXED},
	    {"under_investigation", VEX_INVESTIGATING},
	    /* CycloneDX analysis.state */
	    {"false_positive", VEX_NOT_AFFECTED},
	    {"resolved", VEX_FIXED},
	    {"resolved_with_pedigree", VEX_FIXED},
	    {"exploitable", VEX_AFFECTED},
	    {"in_triage", VEX_INVESTIGATING},
	};
	for (size_t i = 0; s && i < sizeof(tab) / sizeof(*tab); i++)
		if (!strcmp(s, tab[i].name)) {
			*out = tab[i].st;
			return 0;
		}
	return bwk_error_set(err, BWK_E_INPUT, 0,
			     "%s: %s: status '%.64s' is not one of not_affected, affected, fixed, "
			     "under_investigation",
			     v->name, where, s ? s : "(none)");
}

static bool known_justification(const char *j)
{
	static const char *const ok[] = {
	    /* OpenVEX */
	    "component_not_present", "vulnerable_code_not_present",
	    "vulnerable_code_not_in_execute_path",
	    "vulnerable_code_cannot_be_controlled_by_adversary", "inline_mitigations_already_exist",
	    /* CycloneDX analysis.justification */
	    "code_not_present", "code_not_reachable", "requires_configuration",
	    "requires_dependency", "requires_environment", "protected_by_compiler",
	    "protected_at_runtime", "protected_at_perimeter", "protected_by_mitigating_control"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++)
		if (!strcmp(j, ok[i]))
			return true;
	return false;
}

/* The statement's names into the index, the statement into the list. */
static int commit_stmt(stmt_build *b, vex_stmt *st, bwk_error **err)
{
	bwk_vex *v = b->v;
	if (!b->nnames)
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s: %s: no vulnerability named", v->name,
				     b->where);
	if (v->n >= VEX_MAX_STATEMENTS)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "%s: more than %u statements", v->name,
				     VEX_MAX_STATEMENTS);
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 16;
		v->st = xrealloc(v->st, v->cap * sizeof(*v->st));
	}
	v->st[v->n] = *st;
	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < b->nnames; i++) {
		cleanup_free char *k = xstrdup(b->names[i]);
		for (char *t = k; *t; t++)
			*t = (char)(*t >= 'A' && *t <= 'Z' ? *t + 32 : *t);
		json_t *list = json_object_get(v->byname, k);
		if (!list) {
			list = json_array();
			json_object_set_new(v->byname, k, list);
		}
		size_t last = json_array_size(list);
		/* an id listed twice in one statement indexes it once */
		if (!last || json_integer_value(json_array_get(list, last - 1)) != (json_int_t)v->n)
			json_array_append_new(list, json_integer((json_int_t)v->n));
	}
	v->n++;
	return 0;
}

static void stmt_clear(vex_stmt *st)
{
	for (size_t j = 0; j < st->nprods; j++)
		purl_clear(&st->prods[j]);
	free(st->prods);
	free(st->reason);
	memset(st, 0, sizeof(*st));
}

static int openvex_products(stmt_build *b, vex_stmt *st, json_t *prods, bwk_error **err)
{
	size_t i;
	json_t *p;
	if (prods && !json_is_array(prods))
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s: %s: products is not a list",
				     b->v->name, b->where);
	json_array_foreach(prods, i, p)
	{
		if (json_is_string(p)) { /* v0.0.1 */
			if (add_product(b, st, bounded(p), false, err) < 0)
				return -1;
			continue;
		}
		json_t *subs = json_object_get(p, "subcomponents"), *sc;
		if (subs && !json_is_array(subs))
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "%s: %s: subcomponents is not a list", b->v->name,
					     b->where);
		const char *id = bounded(json_object_get(p, "@id"));
		if (!id) {
			json_t *ids = json_object_get(p, "identifiers");
			id = bounded(json_object_get(ids, "purl"));
		}
		if (add_product(b, st, id, json_array_size(subs) > 0, err) < 0)
			return -1;
		size_t k;
		json_array_foreach(subs, k, sc)
		{
			const char *sid = bounded(json_object_get(sc, "@id"));
			if (!sid)
				sid = bounded(
				    json_object_get(json_object_get(sc, "identifiers"), "purl"));
			if (add_product(b, st, sid, false, err) < 0)
				return -1;
		}
	}
	return 0;
}

static int openvex_statement(bwk_vex *v, size_t idx, json_t *s, bwk_error **err)
{
	char where[48];
	snprintf(where, sizeof(where), "statement %zu", idx + 1);
	stmt_build b = {.v = v, .where = where};
	if (!json_is_object(s))
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s: %s is not an object", v->name,
				     where);
	json_t *vul = json_object_get(s, "vulnerability");
	if (json_is_string(vul)) {
		if (add_name(&b, vul, err) < 0)
			return -1;
	} else if (json_is_object(vul)) {
		if (add_name(&b, json_object_get(vul, "name"), err) < 0 ||
		    add_name(&b, json_object_get(vul, "@id"), err) < 0)
			return -1;
		json_t *al = json_object_get(vul, "aliases"), *a;
		size_t i;
		json_array_foreach(al, i, a)
		{
			if (add_name(&b, a, err) < 0)
				return -1;
		}
	}
	cleanup_with(stmt_clear) vex_stmt st = {0};
	if (parse_status(v, where, json_string_value(json_object_get(s, "status")), &st.status,
			 err) < 0)
		return -1;
	const char *just = json_string_value(json_object_get(s, "justification"));
	const char *impact = json_string_value(json_object_get(s, "impact_statement"));
	if (st.status == VEX_NOT_AFFECTED) {
		if (just && !known_justification(just))
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "%s: %s: justification '%.64s' is not an OpenVEX "
					     "justification (component_not_present, "
					     "vulnerable_code_not_present, …)",
					     v->name, where, just);
		if (!just && !impact)
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "%s: %s: not_affected needs a justification or an "
					     "impact_statement (OpenVEX)",
					     v->name, where);
		st.reason = clean_reason("VEX not_affected: %s%s%.*s", just ? just : "",
					 just && impact ? " — " : "",
					 impact ? (int)VEX_MAX_REASON : 0, impact ? impact : "");
	} else if (st.status == VEX_FIXED) {
		st.reason = clean_reason("VEX fixed");
	}
	if (openvex_products(&b, &st, json_object_get(s, "products"), err) < 0)
		return -1;
	return commit_stmt(&b, &st, err);
}

/* CycloneDX VEX: a component's bom-ref resolves to its purl. */
static const char *cdx_ref_purl(json_t *doc, const char *ref)
{
	if (!ref)
		return NULL;
	if (!strncasecmp(ref, "pkg:", 4))
		return ref;
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(doc, "components"), i, c)
	{
		const char *r = json_string_value(json_object_get(c, "bom-ref"));
		if (r && !strcmp(r, ref))
			return bounded(json_object_get(c, "purl"));
	}
	return NULL;
}

static int cdx_statement(bwk_vex *v, json_t *doc, size_t idx, json_t *s, bwk_error **err)
{
	char where[48];
	snprintf(where, sizeof(where), "vulnerability %zu", idx + 1);
	stmt_build b = {.v = v, .where = where};
	json_t *an = json_object_get(s, "analysis");
	if (!an)
		return 0; /* a vulnerability without an analysis states nothing */
	if (add_name(&b, json_object_get(s, "id"), err) < 0)
		return -1;
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(s, "references"), i, r)
	{
		if (add_name(&b, json_object_get(r, "id"), err) < 0)
			return -1;
	}
	cleanup_with(stmt_clear) vex_stmt st = {0};
	if (parse_status(v, where, json_string_value(json_object_get(an, "state")), &st.status,
			 err) < 0)
		return -1;
	const char *just = json_string_value(json_object_get(an, "justification"));
	const char *detail = json_string_value(json_object_get(an, "detail"));
	if (just && !known_justification(just))
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s: %s: justification '%.64s' is not a CycloneDX "
				     "justification",
				     v->name, where, just);
	if (st.status == VEX_NOT_AFFECTED)
		st.reason = clean_reason("VEX not_affected: %s%s%.*s", just ? just : "",
					 just && detail ? " — " : "",
					 detail ? (int)VEX_MAX_REASON : 0, detail ? detail : "");
	else if (st.status == VEX_FIXED)
		st.reason = clean_reason("VEX fixed");
	json_array_foreach(json_object_get(s, "affects"), i, r)
	{
		const char *ref = bounded(json_object_get(r, "ref"));
		if (add_product(&b, &st, cdx_ref_purl(doc, ref), false, err) < 0)
			return -1;
	}
	return commit_stmt(&b, &st, err);
}

int bwk_vex_parse(const char *text, size_t len, const char *name, bwk_vex **out, bwk_error **err)
{
	*out = NULL;
	if (len > VEX_MAX_BYTES)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "%s: more than %u bytes", name,
				     VEX_MAX_BYTES);
	json_error_t je;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!doc)
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s:%d: %s", name, je.line, je.text);
	bwk_vex *v = xcalloc(1, sizeof(*v));
	v->name = xstrdup(name);
	v->byname = json_object();
	json_t *stmts = json_object_get(doc, "statements");
	json_t *vulns = json_object_get(doc, "vulnerabilities");
	int rc = 0;
	size_t i;
	json_t *s;
	if (json_is_array(stmts)) {
		json_array_foreach(stmts, i, s)
		{
			if ((rc = openvex_statement(v, i, s, err)) < 0)
				break;
		}
	} else if (json_is_array(vulns) && json_string_value(json_object_get(doc, "bomFormat")) &&
		   !strcmp(json_string_value(json_object_get(doc, "bomFormat")), "CycloneDX")) {
		json_array_foreach(vulns, i, s)
		{
			if (!json_is_object(s)) {
				rc = bwk_error_set(err, BWK_E_INPUT, 0,
						   "%s: vulnerability %zu is not an object", name,
						   i + 1);
				break;
			}
			if ((rc = cdx_statement(v, doc, i, s, err)) < 0)
				break;
		}
	} else {
		rc = bwk_error_set(err, BWK_E_INPUT, 0,
				   "%s: neither an OpenVEX document (\"statements\") nor CycloneDX "
				   "VEX (\"vulnerabilities\")",
				   name);
	}
	json_decref(doc);
	if (rc < 0) {
		bwk_vex_free(v);
		return -1;
	}
	*out = v;
	return 0;
}

/* Opened once, non-blocking: a FIFO or a device named as the VEX file must be refused, not
 * wait for a writer; then checked and read through that fd, never past the limit. */
int bwk_vex_load(const char *path, bwk_vex **out, bwk_error **err)
{
	*out = NULL;
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return bwk_error_set(err, errno == ENOENT ? BWK_E_NOTFOUND : BWK_E_IO, errno,
				     "%s: cannot open the VEX file", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s: cannot stat", path);
	if (!S_ISREG(st.st_mode))
		return bwk_error_set(
		    err, BWK_E_INPUT, 0,
		    "%s: not a regular file: name an OpenVEX or CycloneDX JSON file", path);
	if ((uint64_t)st.st_size > VEX_MAX_BYTES)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "%s: %lld bytes, over the %u-byte limit",
				     path, (long long)st.st_size, VEX_MAX_BYTES);
	/* the file may grow meanwhile: read at most one byte past the limit to notice */
	size_t cap = (size_t)st.st_size + 4097u;
	if (cap > VEX_MAX_BYTES + 1u)
		cap = VEX_MAX_BYTES + 1u;
	cleanup_free char *buf = xmalloc(cap);
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return bwk_error_set(err, BWK_E_IO, errno, "%s: cannot read", path);
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > VEX_MAX_BYTES)
			return bwk_error_set(err, BWK_E_LIMIT, 0, "%s: over the %u-byte limit",
					     path, VEX_MAX_BYTES);
		if (n == cap)
			break; /* grew past what fstat said: parse what was there */
	}
	return bwk_vex_parse(buf, n, path, out, err);
}

size_t bwk_vex_statement_count(const bwk_vex *v)
{
	return v ? v->n : 0;
}

/* The last statement (document order) about one of the finding's ids and its package. */
static const vex_stmt *statement_for(const bwk_vex *v, const bwk_finding *f, const vex_purl *pkg)
{
	const char *ids[VULN_MAX_REFS + 1];
	size_t nids = 0;
	ids[nids++] = f->rule->id;
	size_t plen = strlen(VULN_REF_PREFIX);
	for (size_t i = 0;
	     f->rule->references && f->rule->references[i] && nids < VULN_MAX_REFS + 1; i++)
		if (!strncmp(f->rule->references[i], VULN_REF_PREFIX, plen))
			ids[nids++] = f->rule->references[i] + plen;
	long best = -1;
	for (size_t k = 0; k < nids; k++) {
		cleanup_free char *key = xstrdup(ids[k]);
		for (char *t = key; *t; t++)
			*t = (char)(*t >= 'A' && *t <= 'Z' ? *t + 32 : *t);
		/* indexes ascend: from the last statement back, the first that covers the package
		 * is this id's answer, and nothing at or before `best` can beat it */
		json_t *list = json_object_get(v->byname, key);
		for (size_t i = json_array_size(list); i-- > 0;) {
			long n = (long)json_integer_value(json_array_get(list, i));
			if (n <= best)
				break;
			const vex_stmt *st = &v->st[n];
			bool hit = st->whole_image;
			for (size_t j = 0; !hit && j < st->nprods; j++)
				hit = purl_match(&st->prods[j], pkg);
			if (hit) {
				best = n;
				break;
			}
		}
	}
	return best >= 0 ? &v->st[best] : NULL;
}

size_t bwk_vex_apply(const bwk_vex *v, const bwk_inventory *inv, bwk_findings *f)
{
	size_t n = 0;
	for (size_t i = 0; v && i < bwk_findings_count(f); i++) {
		const bwk_finding *x = bwk_findings_get(f, i);
		if (x->suppressed || x->rule->category != BWK_CAT_VULNERABILITY)
			continue;
		long pi = bwk_inventory_package_of(inv, x);
		vex_purl pkg;
		if (pi < 0 || purl_parse(bwk_inventory_get(inv, (size_t)pi)->purl, &pkg) < 0)
			continue;
		const vex_stmt *st = statement_for(v, x, &pkg);
		purl_clear(&pkg);
		if (st && (st->status == VEX_NOT_AFFECTED || st->status == VEX_FIXED))
			n += bwk_findings_suppress(f, i, BWK_SUPPRESS_VEX, st->reason);
	}
	return n;
}
