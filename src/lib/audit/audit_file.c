/* `bulwark audit FILE`: read a workload description, detect its kind from the content, and
 * run the workload rules over every container it describes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit_private.h"
#include "core/cleanup.h"
#include "bulwark/secrets.h"
#include "core/yaml_tree.h"

/* A 10k-object manifest stream is a few MiB; anything past this is not a hand-written file. */
#define MAX_WL_INPUT ((size_t)64 << 20)

static const char unknown_msg[] =
    "%s: unknown input: not docker inspect JSON, a Compose file (no 'services' mapping), a "
    "Kubernetes manifest (no apiVersion/kind) or an OCI config.json (no ociVersion)";

static bwk_workload_kind detect(const json_t *root)
{
	if (json_is_array(root)) {
		const json_t *first = json_array_get(root, 0);
		if (!first || json_object_get(first, "HostConfig"))
			return BWK_WL_INSPECT;
		return BWK_WL_AUTO;
	}
	if (!json_is_object(root))
		return BWK_WL_AUTO;
	if (aud_js_str(root, "ociVersion"))
		return BWK_WL_OCI;
	if (aud_js_str(root, "apiVersion") && aud_js_str(root, "kind"))
		return BWK_WL_K8S;
	if (json_object_get(root, "HostConfig") && json_object_get(root, "Config"))
		return BWK_WL_INSPECT;
	if (json_is_object(json_object_get(root, "services")))
		return BWK_WL_COMPOSE;
	return BWK_WL_AUTO;
}

static int dispatch(reader_ctx *r, bwk_workload_kind kind, const json_t *root, bwk_error **err)
{
	switch (kind) {
	case BWK_WL_INSPECT:
		return aud_read_inspect(r, root, err);
	case BWK_WL_COMPOSE:
		return aud_read_compose(r, root, err);
	case BWK_WL_K8S:
		return aud_read_k8s(r, root, "", err);
	case BWK_WL_OCI:
		return aud_read_oci(r, root, err);
	default:
		return bwk_error_set(err, BWK_E_INPUT, 0, unknown_msg, r->name);
	}
}

typedef struct stream_ctx {
	reader_ctx *r;
	bwk_workload_kind kind;
	size_t docs;
} stream_ctx;

static int on_doc(void *ctx, const bwk_yaml_doc *doc, bwk_error **err)
{
	stream_ctx *s = ctx;
	const json_t *root = bwk_yaml_doc_root(doc);
	if (!root || json_is_null(root))
		return 0; /* "---" separators around nothing */
	s->r->doc = doc;
	s->r->line = bwk_yaml_doc_line(doc);
	if (s->kind == BWK_WL_AUTO) {
		s->kind = detect(root);
		if (s->kind == BWK_WL_AUTO)
			return bwk_error_set(err, BWK_E_INPUT, 0, unknown_msg, s->r->name);
	} else if (s->docs > 0 && s->kind != BWK_WL_K8S) {
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s:%u: a %s file has one document; this is document %u",
				     s->r->name, s->r->line, bwk_workload_kind_name(s->kind),
				     bwk_yaml_doc_index(doc) + 1);
	}
	s->docs++;
	int rc = dispatch(s->r, s->kind, root, err);
	s->r->doc = NULL;
	return rc;
}

static bool all_space(const char *data, size_t len, char *first)
{
	for (size_t i = 0; i < len; i++) {
		if (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r')
			continue;
		*first = data[i];
		return false;
	}
	return true;
}

/* The first non-blank byte: '{' or '[' is JSON, anything else YAML. */
static char first_byte(const char *data, size_t len)
{
	char c = 0;
	return all_space(data, len, &c) ? 0 : c;
}

/* The input: a buffer, or a file or pipe read as the parsers need it, so that an input at the
 * size cap is never in memory whole. `data` is then what was read to sniff the format. */
typedef struct source {
	const char *data;
	size_t len;
	int fd; /* -1 for a buffer */
} source;

/* Leading blanks kept to sniff the format: past this, a stream of blanks is taken for YAML (a
 * JSON text after a MiB of white space would be read as YAML, which accepts it). */
#define MAX_SNIFF ((size_t)1 << 20)

/* Read up to the first non-blank byte, which says JSON or YAML; the bytes read are handed to
 * the parser before the rest of the fd. */
static int sniff(const char *name, int fd, char **head, size_t *len, char *first, bwk_error **err)
{
	size_t cap = 4096, n = 0;
	cleanup_free char *buf = xmalloc(cap);
	char c = 0;
	while (n < MAX_SNIFF) {
		if (n == cap)
			buf = xrealloc(buf, cap *= 2);
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return bwk_error_set(err, BWK_E_IO, errno, "%s: read failed", name);
		if (r == 0 || !all_space(buf + n, (size_t)r, &c)) {
			n += (size_t)r;
			break;
		}
		n += (size_t)r;
	}
	*first = c;
	*head = steal_pointer(&buf);
	*len = n;
	return 0;
}

typedef struct array_ctx {
	reader_ctx *r;
	bwk_workload_kind kind;
} array_ctx;

static int on_element(void *ctx, size_t i, const json_t *e, bwk_error **err)
{
	array_ctx *a = ctx;
	/* an array is `docker inspect` output when its first element has a HostConfig */
	if (i == 0 && a->kind == BWK_WL_AUTO)
		a->kind = json_object_get(e, "HostConfig") ? BWK_WL_INSPECT : BWK_WL_AUTO;
	if (a->kind != BWK_WL_INSPECT)
		return bwk_error_set(err, BWK_E_INPUT, 0, unknown_msg, a->r->name);
	char key[32];
	snprintf(key, sizeof(key), "[%zu]", i);
	return aud_read_inspect_one(a->r, e, key, err);
}

/* `docker inspect` of many containers: one container in memory at a time. */
static int audit_json_array(reader_ctx *r, const source *src, bwk_workload_kind kind,
			    bwk_error **err)
{
	array_ctx a = {.r = r, .kind = kind};
	return bwk_json_array_each(r->name, src->data, src->len, src->fd, MAX_WL_INPUT, 0,
				   on_element, &a, err);
}

static int audit_json(reader_ctx *r, const source *src, bwk_workload_kind kind, bwk_error **err)
{
	/* the tree (loaded in the loader's own scope, then moved here) and the workload model
	 * built from it share one budget, as a YAML document and its model do */
	cleanup_with(bwk_json_budget_end) bwk_json_budget acct;
	bwk_json_budget_begin(&acct, BWK_YAML_MAX_DOC_BYTES);
	json_auto_t *root = src->fd < 0 ? bwk_json_load_buffer(r->name, src->data, src->len, 0, err)
					: bwk_json_load_fd(r->name, src->data, src->len, src->fd,
							   MAX_WL_INPUT, 0, err);
	if (!root)
		return -1;
	int rc = dispatch(r, kind != BWK_WL_AUTO ? kind : detect(root), root, err);
	if (acct.refused) {
		if (rc < 0)
			bwk_error_free(*err);
		*err = NULL;
		return bwk_error_set(
		    err, BWK_E_LIMIT, 0,
		    "%s: document needs more than %zu MiB of memory: split it into "
		    "smaller documents",
		    r->name, BWK_YAML_MAX_DOC_BYTES >> 20);
	}
	return rc;
}

static int audit_input(const char *name, const source *in, bwk_workload_kind kind, wl_ctx *wl,
		       bwk_error **err)
{
	reader_ctx r = {.wl = wl, .name = name};
	if (in->fd < 0 && in->len > MAX_WL_INPUT)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "%s: input is %zu bytes, over the %zu-byte limit", name,
				     in->len, MAX_WL_INPUT);
	source src = *in;
	cleanup_free char *head = NULL;
	char first = 0;
	if (src.fd < 0)
		first = first_byte(src.data, src.len);
	else if (sniff(name, src.fd, &head, &src.len, &first, err) < 0)
		return -1;
	else
		src.data = head;
	if (first == '[' && (kind == BWK_WL_AUTO || kind == BWK_WL_INSPECT))
		return audit_json_array(&r, &src, kind, err);
	if (first == '{' || first == '[')
		return audit_json(&r, &src, kind, err);
	/* a Kubernetes stream is audited one document at a time: each tree is freed before
	 * the next is built */
	stream_ctx s = {.r = &r, .kind = kind};
	bwk_yaml_limits lim = {.max_bytes = MAX_WL_INPUT};
	int rc = src.fd < 0
		     ? bwk_yaml_parse(name, src.data, src.len, &lim, on_doc, &s, err)
		     : bwk_yaml_parse_fd(name, src.data, src.len, src.fd, &lim, on_doc, &s, err);
	if (rc < 0)
		return -1;
	if (s.docs == 0)
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s: empty input: no document to audit",
				     name);
	return 0;
}

static int audit_source(const char *name, const char *path, const source *src,
			bwk_workload_kind kind, const bwk_audit_opts *o, bwk_findings *out,
			bwk_error **err)
{
	/* the secret rules of `bulwark scan`, applied to environment variables */
	cleanup_with(bwk_secrets_freep) bwk_secrets *sec = NULL;
	bool want = !(o && (o->no_secrets || o->secrets));
	if (want && bwk_secrets_new(NULL, &sec, err) < 0)
		return bwk_error_wrap(err, "%s: loading the secret rules", name);
	wl_ctx wl = {.target = name,
		     .path = path,
		     .out = out,
		     .opts = o,
		     .secrets = o && o->secrets ? o->secrets : sec};
	return audit_input(name, src, kind, &wl, err);
}

int bwk_audit_buffer(const char *name, const char *data, size_t len, bwk_workload_kind kind,
		     const bwk_audit_opts *o, bwk_findings *out, bwk_error **err)
{
	source src = {.data = data ? data : "", .len = len, .fd = -1};
	return audit_source(name, NULL, &src, kind, o, out, err);
}

int bwk_audit_fd(const char *name, int fd, const bwk_audit_opts *o, bwk_findings *out,
		 bwk_error **err)
{
	source src = {.fd = fd};
	return audit_source(name, NULL, &src, BWK_WL_AUTO, o, out, err);
}

int bwk_audit_file(const char *path, const bwk_audit_opts *o, bwk_findings *out, bwk_error **err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return bwk_error_set(err, errno == ENOENT ? BWK_E_NOTFOUND : BWK_E_IO, errno,
				     "%s: cannot open", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s: cannot stat", path);
	if (!S_ISREG(st.st_mode))
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s: not a regular file", path);
	if ((uint64_t)st.st_size > MAX_WL_INPUT)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "%s: file is %lld bytes, over the %zu-byte limit", path,
				     (long long)st.st_size, MAX_WL_INPUT);
	/* the file as named is the finding's path: reports show it with the line, SARIF uses it
	 * as a repository-relative URI, and it keeps the same service in two files two
	 * findings (paths are stored without a leading slash, like paths in an image) */
	const char *rel = path;
	while (rel[0] == '.' && rel[1] == '/')
		rel += 2;
	while (rel[0] == '/')
		rel++;
	source src = {.fd = fd};
	return audit_source(path, *rel ? rel : path, &src, BWK_WL_AUTO, o, out, err);
}

size_t bwk_audit_rules(const bwk_rule **out, size_t max)
{
	size_t n = 0;
	const bwk_rule *(*const tabs[])(size_t) = {aud_wl_rule, aud_host_rule, aud_daemon_rule};
	for (size_t t = 0; t < 3; t++)
		for (size_t i = 0; tabs[t](i); i++, n++)
			if (out && n < max)
				out[n] = tabs[t](i);
	return n;
}
