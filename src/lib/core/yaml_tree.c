#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "core/yaml_tree.h"

#define DEF_MAX_BYTES ((size_t)64 << 20)
#define DEF_MAX_DEPTH 64u
#define DEF_MAX_NODES 1000000u
#define DEF_MAX_DOCS  100000u

typedef struct frame {
	json_t *node;
	bool is_map;
	char *key; /* pending mapping key, NULL when the next scalar is a key */
	bool key_is_merge;
	json_t *merges; /* `<<` sources, applied when the mapping ends */
	char *anchor;
	uint64_t start_count;
} frame;

typedef struct line_ent {
	const json_t *node;
	unsigned line;
} line_ent;

struct bwk_yaml_doc {
	json_t *root;
	unsigned line, index;
	line_ent *lines;
	size_t nlines, caplines;
};

typedef struct anchor {
	json_t *node;
	uint64_t weight;
} anchor;

typedef struct builder {
	const char *name;
	bwk_yaml_limits lim;
	frame *stack;
	size_t depth, cap;
	uint64_t count; /* nodes of the current document incl. alias expansions */
	json_t *anchor_idx;
	anchor *anchors;
	size_t nanchors, capanchors;
	bwk_yaml_doc doc;
} builder;

const json_t *bwk_yaml_doc_root(const bwk_yaml_doc *d)
{
	return d->root;
}

unsigned bwk_yaml_doc_line(const bwk_yaml_doc *d)
{
	return d->line;
}

unsigned bwk_yaml_doc_index(const bwk_yaml_doc *d)
{
	return d->index;
}

unsigned bwk_yaml_node_line(const bwk_yaml_doc *d, const json_t *node)
{
	for (size_t i = 0; i < d->nlines; i++)
		if (d->lines[i].node == node)
			return d->lines[i].line;
	return 0;
}

static void frame_clear(frame *f)
{
	json_decref(f->node);
	json_decref(f->merges);
	free(f->key);
	free(f->anchor);
	memset(f, 0, sizeof(*f));
}

static void doc_reset(builder *b)
{
	while (b->depth > 0)
		frame_clear(&b->stack[--b->depth]);
	for (size_t i = 0; i < b->nanchors; i++)
		json_decref(b->anchors[i].node);
	b->nanchors = 0;
	json_decref(b->anchor_idx);
	b->anchor_idx = NULL;
	json_decref(b->doc.root);
	b->doc.root = NULL;
	b->doc.nlines = 0;
	b->doc.line = 0;
	b->count = 0;
}

static void builder_free(builder *b)
{
	doc_reset(b);
	free(b->stack);
	free(b->anchors);
	free(b->doc.lines);
}

__attribute__((format(printf, 5, 6))) static int fail(builder *b, bwk_error **err, bwk_code code,
						      size_t line0, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cleanup_free char *m = NULL;
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	return bwk_error_set(err, code, 0, "%s:%zu: %s", b->name, line0 + 1, m ? m : "error");
}

static int count_nodes(builder *b, uint64_t n, size_t line0, bwk_error **err)
{
	b->count = (UINT64_MAX - b->count < n) ? UINT64_MAX : b->count + n;
	if (b->count > b->lim.max_nodes) {
		cleanup_free char *lim = xasprintf("%" PRIu64, b->lim.max_nodes);
		return fail(b, err, BWK_E_LIMIT, line0,
			    "document expands to more than %s nodes (alias expansion bomb?)", lim);
	}
	return 0;
}

static void add_line(builder *b, const json_t *node, size_t line0)
{
	bwk_yaml_doc *d = &b->doc;
	if (d->nlines == d->caplines) {
		d->caplines = d->caplines ? d->caplines * 2 : 64;
		d->lines = xrealloc(d->lines, d->caplines * sizeof(*d->lines));
	}
	d->lines[d->nlines++] = (line_ent){node, (unsigned)line0 + 1};
	if (!d->line)
		d->line = (unsigned)line0 + 1;
}

static void register_anchor(builder *b, const char *name, json_t *node, uint64_t weight)
{
	if (!name)
		return;
	if (!b->anchor_idx)
		b->anchor_idx = json_object();
	if (b->nanchors == b->capanchors) {
		b->capanchors = b->capanchors ? b->capanchors * 2 : 16;
		b->anchors = xrealloc(b->anchors, b->capanchors * sizeof(*b->anchors));
	}
	b->anchors[b->nanchors] = (anchor){json_incref(node), weight};
	/* a redefined anchor name points at the newest node, as YAML specifies */
	json_object_set_new(b->anchor_idx, name, json_integer((json_int_t)b->nanchors));
	b->nanchors++;
}

static const anchor *find_anchor(builder *b, const char *name)
{
	json_t *i = b->anchor_idx ? json_object_get(b->anchor_idx, name) : NULL;
	return i ? &b->anchors[json_integer_value(i)] : NULL;
}

static bool is_null_word(const char *s)
{
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

static int bool_word(const char *s)
{
	static const char *const t[] = {"true", "True", "TRUE", "yes", "Yes",
					"YES",	"on",	"On",	"ON",  NULL};
	static const char *const f[] = {"false", "False", "FALSE", "no",  "No",
					"NO",	 "off",	  "Off",   "OFF", NULL};
	for (int i = 0; t[i]; i++)
		if (!strcmp(s, t[i]))
			return 1;
	for (int i = 0; f[i]; i++)
		if (!strcmp(s, f[i]))
			return 0;
	return -1;
}

static json_t *resolve_number(const char *s)
{
	const char *p = s;
	int base = 10;
	if ((p[0] == '0') && (p[1] == 'x' || p[1] == 'o')) {
		base = p[1] == 'x' ? 16 : 8;
		p += 2;
		if (!*p)
			return NULL;
	}
	char *end = NULL;
	errno = 0;
	long long v = strtoll(p, &end, base);
	if (end != p && !*end && errno == 0) {
		/* YAML ints are digits only: reject " 1" and "1_000" forms strtoll takes */
		const char *q = p + (p[0] == '-' || p[0] == '+');
		bool digits = *q != 0;
		for (; *q && digits; q++)
			digits = base == 16 ? strchr("0123456789abcdefABCDEF", *q) != NULL
					    : (*q >= '0' && *q <= (base == 8 ? '7' : '9'));
		if (digits)
			return json_integer(v);
	}
	if (base != 10)
		return NULL;
	/* float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
	const char *q = s + (s[0] == '-' || s[0] == '+');
	size_t ip = strspn(q, "0123456789");
	const char *r = q + ip;
	size_t fp = 0;
	if (*r == '.') {
		fp = strspn(r + 1, "0123456789");
		r += 1 + fp;
	}
	if (ip == 0 && fp == 0)
		return NULL;
	if (*r == 'e' || *r == 'E') {
		const char *e = r + 1 + (r[1] == '-' || r[1] == '+');
		size_t ep = strspn(e, "0123456789");
		if (!ep)
			return NULL;
		r = e + ep;
	}
	if (*r)
		return NULL;
	errno = 0;
	double d = strtod(s, &end);
	if (errno || *end)
		return NULL;
	return json_real(d);
}

static json_t *resolve_scalar(const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;
	bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	bool core_tag = tag && !strncmp(tag, "tag:yaml.org,2002:", 18) && strcmp(tag + 18, "str");
	if ((plain && !tag) || core_tag) {
		if (strlen(s) == n) {
			if (is_null_word(s))
				return json_null();
			int b = bool_word(s);
			if (b >= 0)
				return json_boolean(b);
			json_t *num = resolve_number(s);
			if (num)
				return num;
		}
	}
	return json_stringn(s, n);
}

static int attach(builder *b, json_t *value, size_t line0, bwk_error **err)
{
	if (b->depth == 0) {
		b->doc.root = value;
		return 0;
	}
	frame *top = &b->stack[b->depth - 1];
	if (!top->is_map) {
		json_array_append_new(top->node, value);
		return 0;
	}
	cleanup_free char *key = top->key;
	top->key = NULL;
	if (top->key_is_merge) {
		top->key_is_merge = false;
		if (json_is_object(value)) {
			if (!top->merges)
				top->merges = json_array();
			json_array_append_new(top->merges, value);
			return 0;
		}
		if (json_is_array(value)) {
			size_t i;
			json_t *v;
			json_array_foreach(value, i, v)
			{
				if (!json_is_object(v)) {
					json_decref(value);
					return fail(b, err, BWK_E_INPUT, line0,
						    "merge key '<<' takes a mapping or a list of "
						    "mappings%s",
						    "");
				}
			}
			if (!top->merges)
				top->merges = json_array();
			json_array_extend(top->merges, value);
			json_decref(value);
			return 0;
		}
		json_decref(value);
		return fail(b, err, BWK_E_INPUT, line0,
			    "merge key '<<' takes a mapping or a list of mappings%s", "");
	}
	if (json_object_get(top->node, key)) {
		json_decref(value);
		return fail(b, err, BWK_E_INPUT, line0, "duplicate mapping key '%s'", key);
	}
	if (json_object_set_new(top->node, key, value) < 0)
		return fail(b, err, BWK_E_INPUT, line0, "invalid mapping key '%s'", key);
	return 0;
}

/* A scalar or alias seen where a mapping expects its next key. */
static int take_key(builder *b, const char *s, size_t n, bool plain, size_t line0, bwk_error **err)
{
	frame *top = &b->stack[b->depth - 1];
	if (memchr(s, 0, n))
		return fail(b, err, BWK_E_INPUT, line0, "mapping key contains a NUL byte%s", "");
	top->key = xstrndup(s, n);
	top->key_is_merge = plain && !strcmp(top->key, "<<");
	return 0;
}

static bool wants_key(const builder *b)
{
	return b->depth > 0 && b->stack[b->depth - 1].is_map && !b->stack[b->depth - 1].key &&
	       !b->stack[b->depth - 1].key_is_merge;
}

static int on_event(builder *b, yaml_event_t *ev, bwk_yaml_doc_cb cb, void *ctx, bwk_error **err)
{
	size_t line0 = ev->start_mark.line;
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		doc_reset(b);
		if (b->doc.index >= b->lim.max_docs) {
			cleanup_free char *m = xasprintf("%zu", b->lim.max_docs);
			return fail(b, err, BWK_E_LIMIT, line0, "more than %s documents", m);
		}
		return 0;
	case YAML_DOCUMENT_END_EVENT: {
		if (!b->doc.line)
			b->doc.line = (unsigned)line0 + 1;
		int r = cb(ctx, &b->doc, err);
		b->doc.index++;
		doc_reset(b);
		return r;
	}
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT: {
		if (wants_key(b))
			return fail(b, err, BWK_E_INPUT, line0,
				    "complex mapping keys (a mapping or list used as a key) are "
				    "not supported%s",
				    "");
		if (b->depth >= b->lim.max_depth) {
			cleanup_free char *m = xasprintf("%u", b->lim.max_depth);
			return fail(b, err, BWK_E_LIMIT, line0, "nesting deeper than %s levels", m);
		}
		uint64_t start = b->count;
		if (count_nodes(b, 1, line0, err) < 0)
			return -1;
		if (b->depth == b->cap) {
			b->cap = b->cap ? b->cap * 2 : 16;
			b->stack = xrealloc(b->stack, b->cap * sizeof(*b->stack));
		}
		bool map = ev->type == YAML_MAPPING_START_EVENT;
		const yaml_char_t *an =
		    map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
		frame *f = &b->stack[b->depth++];
		memset(f, 0, sizeof(*f));
		f->node = map ? json_object() : json_array();
		f->is_map = map;
		f->anchor = an ? xstrdup((const char *)an) : NULL;
		f->start_count = start;
		add_line(b, f->node, line0);
		return 0;
	}
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT: {
		frame f = b->stack[--b->depth];
		if (f.is_map && (f.key || f.key_is_merge)) {
			/* libyaml always pairs keys and values; defensive */
			frame_clear(&f);
			return fail(b, err, BWK_E_INPUT, line0, "mapping key without a value%s",
				    "");
		}
		if (f.merges) {
			/* explicit keys win, then earlier merge sources over later ones */
			size_t i;
			json_t *src;
			json_array_foreach(f.merges, i, src)
			    json_object_update_missing(f.node, src);
		}
		register_anchor(b, f.anchor, f.node, b->count - f.start_count);
		json_t *node = json_incref(f.node);
		frame_clear(&f);
		return attach(b, node, line0, err);
	}
	case YAML_SCALAR_EVENT: {
		if (count_nodes(b, 1, line0, err) < 0)
			return -1;
		if (wants_key(b))
			return take_key(
			    b, (const char *)ev->data.scalar.value, ev->data.scalar.length,
			    ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE, line0, err);
		json_t *v = resolve_scalar(ev);
		if (!v)
			return fail(b, err, BWK_E_INPUT, line0, "invalid scalar%s", "");
		if (ev->data.scalar.anchor)
			register_anchor(b, (const char *)ev->data.scalar.anchor, v, 1);
		return attach(b, v, line0, err);
	}
	case YAML_ALIAS_EVENT: {
		const char *name = (const char *)ev->data.alias.anchor;
		const anchor *a = find_anchor(b, name);
		if (!a)
			return fail(b, err, BWK_E_INPUT, line0,
				    "alias *%s refers to no (completed) anchor", name);
		if (count_nodes(b, a->weight, line0, err) < 0)
			return -1;
		if (wants_key(b)) {
			if (!json_is_string(a->node))
				return fail(b, err, BWK_E_INPUT, line0,
					    "alias *%s used as a key is not a string", name);
			return take_key(b, json_string_value(a->node), json_string_length(a->node),
					false, line0, err);
		}
		return attach(b, json_incref(a->node), line0, err);
	}
	default:
		return 0;
	}
}

static void parser_freep(yaml_parser_t **p)
{
	if (*p)
		yaml_parser_delete(*p);
}

int bwk_yaml_parse(const char *name, const char *data, size_t len, const bwk_yaml_limits *lim,
		   bwk_yaml_doc_cb cb, void *ctx, bwk_error **err)
{
	builder b = {.name = name};
	b.lim = lim ? *lim : (bwk_yaml_limits){0};
	if (!b.lim.max_bytes)
		b.lim.max_bytes = DEF_MAX_BYTES;
	if (!b.lim.max_depth)
		b.lim.max_depth = DEF_MAX_DEPTH;
	if (!b.lim.max_nodes)
		b.lim.max_nodes = DEF_MAX_NODES;
	if (!b.lim.max_docs)
		b.lim.max_docs = DEF_MAX_DOCS;
	if (len > b.lim.max_bytes)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "%s: document is %zu bytes, over the %zu-byte limit", name,
				     len, b.lim.max_bytes);
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser))
		return bwk_error_set(err, BWK_E_NOMEM, 0, "%s: cannot create a YAML parser", name);
	__attribute__((cleanup(parser_freep), unused)) yaml_parser_t *pp = &parser;
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	int rc = 0;
	for (;;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&parser, &ev)) {
			size_t line = parser.problem_mark.line + 1;
			const char *problem = parser.problem ? parser.problem : "syntax error";
			if (parser.context)
				rc = bwk_error_set(err, BWK_E_INPUT, 0, "%s:%zu: %s %s", name, line,
						   problem, parser.context);
			else
				rc = bwk_error_set(err, BWK_E_INPUT, 0, "%s:%zu: %s", name, line,
						   problem);
			break;
		}
		bool end = ev.type == YAML_STREAM_END_EVENT;
		rc = on_event(&b, &ev, cb, ctx, err);
		yaml_event_delete(&ev);
		if (rc < 0 || end)
			break;
	}
	builder_free(&b);
	return rc < 0 ? -1 : 0;
}

static int keep_first(void *ctx, const bwk_yaml_doc *doc, bwk_error **err)
{
	(void)err;
	json_t **out = ctx;
	if (!*out)
		*out = doc->root ? json_incref(doc->root) : json_null();
	return 0;
}

json_t *bwk_yaml_load_one(const char *name, const char *data, size_t len,
			  const bwk_yaml_limits *lim, bwk_error **err)
{
	json_t *out = NULL;
	if (bwk_yaml_parse(name, data, len, lim, keep_first, &out, err) < 0) {
		json_decref(out);
		return NULL;
	}
	return out ? out : json_null();
}
