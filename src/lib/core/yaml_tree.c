#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "core/yaml_tree.h"

#define DEF_MAX_BYTES ((size_t)64 << 20)
#define DEF_MAX_DEPTH 64u
#define DEF_MAX_NODES 1000000u
#define DEF_MAX_DOCS  100000u

/* jansson's allocator hook is process-wide; the budget in force is per thread, so a parse on
 * one thread never charges (or refuses) another thread's report or engine reply. */
static _Thread_local bwk_json_budget *cur_budget;

static void *acct_malloc(size_t n)
{
	bwk_json_budget *b = cur_budget;
	if (!b)
		return malloc(n);
	if (b->limit && (n > b->limit || b->live > b->limit - n)) {
		b->refused = true;
		return NULL;
	}
	void *p = malloc(n);
	if (!p)
		return NULL;
	/* what the allocation really takes, so that the bound is on the heap, not on requests */
	size_t u = malloc_usable_size(p);
	if (b->limit && (u > b->limit || b->live + b->extra > b->limit - u)) {
		free(p);
		b->refused = true;
		return NULL;
	}
	b->live += u;
	if (b->live + b->extra > b->peak)
		b->peak = b->live + b->extra;
	return p;
}

/* Memory the caller allocates itself, on the same account; false (refused) past the limit. */
static bool budget_charge(bwk_json_budget *b, size_t more)
{
	if (b->limit && (more > b->limit || b->live + b->extra > b->limit - more)) {
		b->refused = true;
		return false;
	}
	b->extra += more;
	if (b->live + b->extra > b->peak)
		b->peak = b->live + b->extra;
	return true;
}

static void budget_uncharge(bwk_json_budget *b, size_t less)
{
	b->extra = b->extra > less ? b->extra - less : 0;
}

static void acct_free(void *p)
{
	bwk_json_budget *b = cur_budget;
	if (b && p) {
		/* a value from before the scope may be freed inside it: never below zero */
		size_t u = malloc_usable_size(p);
		b->live = b->live > u ? b->live - u : 0;
	}
	free(p);
}

static void acct_install(void)
{
	json_set_alloc_funcs(acct_malloc, acct_free);
}

void bwk_json_budget_begin(bwk_json_budget *b, size_t limit)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, acct_install);
	*b = (bwk_json_budget){.limit = limit, .prev = cur_budget};
	cur_budget = b;
}

void bwk_json_budget_end(bwk_json_budget *b)
{
	if (cur_budget != b)
		return;
	cur_budget = b->prev;
	/* what the scope allocated and did not free now belongs to the enclosing one: a tree
	 * loaded in an inner scope keeps counting while the caller works on it */
	bwk_json_budget *p = cur_budget;
	if (p) {
		p->live += b->live;
		if (p->live + p->extra > p->peak)
			p->peak = p->live + p->extra;
		p->refused |= b->refused;
	}
}

bool bwk_json_budget_charge(size_t n)
{
	return !cur_budget || budget_charge(cur_budget, n);
}

void bwk_json_budget_uncharge(size_t n)
{
	if (cur_budget)
		budget_uncharge(cur_budget, n);
}

BWK_DEFINE_CLEANUP(bwk_json_budget *, bwk_json_budget_end)

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
	/* one account for jansson's nodes and the builder's own arrays and pending key and
	 * anchor strings, so that neither wide nor deep documents escape the bound */
	bwk_json_budget acct;
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

static size_t str_cost(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static void frame_clear(builder *b, frame *f)
{
	json_decref(f->node);
	json_decref(f->merges);
	budget_uncharge(&b->acct, str_cost(f->key) + str_cost(f->anchor));
	free(f->key);
	free(f->anchor);
	memset(f, 0, sizeof(*f));
}

static void doc_reset(builder *b)
{
	while (b->depth > 0)
		frame_clear(b, &b->stack[--b->depth]);
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

/* Grow one of the builder's arrays by doubling, charged before it is allocated. */
static bool grow(builder *b, void **arr, size_t *cap, size_t elem, size_t first)
{
	size_t ncap = *cap ? *cap * 2 : first;
	if (!budget_charge(&b->acct, (ncap - *cap) * elem))
		return false;
	*arr = xrealloc(*arr, ncap * elem);
	*cap = ncap;
	return true;
}

static bool add_line(builder *b, const json_t *node, size_t line0)
{
	bwk_yaml_doc *d = &b->doc;
	if (d->nlines == d->caplines &&
	    !grow(b, (void **)&d->lines, &d->caplines, sizeof(*d->lines), 64))
		return false;
	d->lines[d->nlines++] = (line_ent){node, (unsigned)line0 + 1};
	if (!d->line)
		d->line = (unsigned)line0 + 1;
	return true;
}

static bool register_anchor(builder *b, const char *name, json_t *node, uint64_t weight)
{
	if (!name)
		return true;
	if (!b->anchor_idx)
		b->anchor_idx = json_object();
	if (b->nanchors == b->capanchors &&
	    !grow(b, (void **)&b->anchors, &b->capanchors, sizeof(*b->anchors), 16))
		return false;
	b->anchors[b->nanchors] = (anchor){json_incref(node), weight};
	/* a redefined anchor name points at the newest node, as YAML specifies */
	json_object_set_new(b->anchor_idx, name, json_integer((json_int_t)b->nanchors));
	b->nanchors++;
	return true;
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
	budget_uncharge(&b->acct, str_cost(key));
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
	if (!budget_charge(&b->acct, n + 1))
		return -1;
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
		/* what the callback derives from the tree (a reader's workload model) is charged
		 * to the same budget (bwk_json_budget_charge); a refusal there fails the document
		 * in check_budget */
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
		if (b->depth == b->cap &&
		    !grow(b, (void **)&b->stack, &b->cap, sizeof(*b->stack), 16))
			return -1;
		bool map = ev->type == YAML_MAPPING_START_EVENT;
		const yaml_char_t *an =
		    map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
		if (an && !budget_charge(&b->acct, str_cost((const char *)an)))
			return -1;
		frame *f = &b->stack[b->depth++];
		memset(f, 0, sizeof(*f));
		f->node = map ? json_object() : json_array();
		f->is_map = map;
		f->anchor = an ? xstrdup((const char *)an) : NULL;
		f->start_count = start;
		return add_line(b, f->node, line0) ? 0 : -1;
	}
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT: {
		if (b->depth == 0) /* libyaml pairs starts and ends; an end alone is malformed */
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "%s: unbalanced YAML collection end", b->name);
		frame f = b->stack[--b->depth];
		if (f.is_map && (f.key || f.key_is_merge)) {
			/* libyaml always pairs keys and values; defensive */
			frame_clear(b, &f);
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
		if (!register_anchor(b, f.anchor, f.node, b->count - f.start_count)) {
			frame_clear(b, &f);
			return -1;
		}
		json_t *node = json_incref(f.node);
		frame_clear(b, &f);
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
		if (ev->data.scalar.anchor &&
		    !register_anchor(b, (const char *)ev->data.scalar.anchor, v, 1)) {
			json_decref(v);
			return -1;
		}
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

BWK_DEFINE_CLEANUP(yaml_parser_t *, yaml_parser_delete)

/* libyaml pulls its input through this: the whole stream is never in memory, and a run of
 * input without an event (one long scalar or comment, which libyaml accumulates) is cut at
 * max_token instead of growing libyaml's buffers to the size of the file. */
typedef struct input {
	const char *head; /* bytes before fd's (a buffer, or what was read to sniff the format) */
	size_t head_len;
	int fd;	    /* -1: the head is all */
	size_t off; /* bytes handed to the parser */
	size_t max_bytes, max_token, at_event;
	enum { IN_OK, IN_TOO_BIG, IN_TOKEN, IN_IO } failure;
	int err_no;
} input;

/* Up to `size` bytes of the head, then of fd: >0, 0 at the end, -1 with in->failure set. */
static ssize_t input_read(input *in, void *buf, size_t size)
{
	if (in->off < in->head_len) {
		size_t n = in->head_len - in->off < size ? in->head_len - in->off : size;
		memcpy(buf, in->head + in->off, n);
		in->off += n;
		return (ssize_t)n;
	}
	if (in->fd < 0)
		return 0;
	ssize_t r;
	do
		r = read(in->fd, buf, size);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		in->failure = IN_IO;
		in->err_no = errno;
		return -1;
	}
	if ((size_t)r > in->max_bytes - in->off) {
		in->failure = IN_TOO_BIG;
		return -1;
	}
	in->off += (size_t)r;
	return r;
}

static int read_input(void *data, unsigned char *buf, size_t size, size_t *size_read)
{
	input *in = data;
	*size_read = 0;
	if (in->off - in->at_event > in->max_token) {
		in->failure = IN_TOKEN;
		return 0;
	}
	ssize_t r = input_read(in, buf, size);
	if (r < 0)
		return 0;
	*size_read = (size_t)r;
	return 1;
}

static int parse_error(builder *b, const input *in, const yaml_parser_t *parser, bwk_error **err)
{
	size_t line = parser->problem_mark.line + 1;
	switch (in->failure) {
	case IN_TOKEN:
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "%s:%zu: more than %zu bytes without a YAML node (a scalar or "
				     "comment that long): split it",
				     b->name, parser->mark.line + 1, in->max_token);
	case IN_TOO_BIG:
		return bwk_error_set(err, BWK_E_LIMIT, 0, "%s: input grew past the %zu-byte limit",
				     b->name, in->max_bytes);
	case IN_IO:
		return bwk_error_set(err, BWK_E_IO, in->err_no, "%s: read failed", b->name);
	case IN_OK:
		break;
	}
	const char *problem = parser->problem ? parser->problem : "syntax error";
	if (parser->context)
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s:%zu: %s %s", b->name, line, problem,
				     parser->context);
	return bwk_error_set(err, BWK_E_INPUT, 0, "%s:%zu: %s", b->name, line, problem);
}

/* After each event. An allocation refused inside jansson surfaces as whatever jansson's caller
 * made of a NULL ("invalid scalar"); say what it was. */
static int check_budget(builder *b, int rc, size_t line0, bwk_error **err)
{
	if (!b->acct.refused)
		return rc;
	if (rc < 0 && err) {
		bwk_error_free(*err);
		*err = NULL;
	}
	return fail(b, err, BWK_E_LIMIT, line0,
		    "document needs more than %zu MiB of memory: split it into smaller documents",
		    b->lim.max_doc_bytes >> 20);
}

static int parse(const char *name, input *in, const bwk_yaml_limits *lim, bwk_yaml_doc_cb cb,
		 void *ctx, bwk_error **err)
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
	if (!b.lim.max_doc_bytes)
		b.lim.max_doc_bytes = BWK_YAML_MAX_DOC_BYTES;
	if (!b.lim.max_token_bytes)
		b.lim.max_token_bytes = BWK_YAML_MAX_TOKEN_BYTES;
	in->max_bytes = b.lim.max_bytes;
	in->max_token = b.lim.max_token_bytes;
	if (in->head_len > b.lim.max_bytes)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "%s: document is %zu bytes, over the %zu-byte limit", name,
				     in->head_len, b.lim.max_bytes);
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser))
		return bwk_error_set(err, BWK_E_NOMEM, 0, "%s: cannot create a YAML parser", name);
	cleanup_with(yaml_parser_deletep) __attribute__((unused)) yaml_parser_t *pp = &parser;
	yaml_parser_set_input(&parser, read_input, in);
	bwk_json_budget_begin(&b.acct, b.lim.max_doc_bytes);
	cleanup_with(bwk_json_budget_endp) __attribute__((unused)) bwk_json_budget *bp = &b.acct;
	int rc = 0;
	for (;;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&parser, &ev)) {
			rc = parse_error(&b, in, &parser, err);
			break;
		}
		in->at_event = in->off;
		bool end = ev.type == YAML_STREAM_END_EVENT;
		size_t line0 = ev.start_mark.line;
		rc = check_budget(&b, on_event(&b, &ev, cb, ctx, err), line0, err);
		yaml_event_delete(&ev);
		if (rc < 0 || end)
			break;
	}
	if (b.lim.stats)
		*b.lim.stats = (bwk_yaml_stats){.peak_bytes = b.acct.peak, .docs = b.doc.index};
	builder_free(&b);
	return rc < 0 ? -1 : 0;
}

int bwk_yaml_parse(const char *name, const char *data, size_t len, const bwk_yaml_limits *lim,
		   bwk_yaml_doc_cb cb, void *ctx, bwk_error **err)
{
	input in = {.head = data, .head_len = len, .fd = -1};
	return parse(name, &in, lim, cb, ctx, err);
}

int bwk_yaml_parse_fd(const char *name, const char *head, size_t head_len, int fd,
		      const bwk_yaml_limits *lim, bwk_yaml_doc_cb cb, void *ctx, bwk_error **err)
{
	input in = {.head = head, .head_len = head_len, .fd = fd};
	return parse(name, &in, lim, cb, ctx, err);
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

static size_t json_read(void *buf, size_t size, void *data)
{
	ssize_t r = input_read(data, buf, size);
	return r < 0 ? (size_t)-1 : (size_t)r;
}

static json_t *json_failed(const char *name, const bwk_json_budget *acct, size_t max_doc_bytes,
			   const input *in, const json_error_t *je, bwk_error **err)
{
	if (acct->refused)
		bwk_error_set(err, BWK_E_LIMIT, 0,
			      "%s: document needs more than %zu MiB of memory: split it into "
			      "smaller documents",
			      name, max_doc_bytes >> 20);
	else if (in && in->failure == IN_TOO_BIG)
		bwk_error_set(err, BWK_E_LIMIT, 0, "%s: input grew past the %zu-byte limit", name,
			      in->max_bytes);
	else if (in && in->failure == IN_IO)
		bwk_error_set(err, BWK_E_IO, in->err_no, "%s: read failed", name);
	else
		bwk_error_set(err, BWK_E_INPUT, 0, "%s:%d: invalid JSON: %s", name, je->line,
			      je->text);
	return NULL;
}

json_t *bwk_json_load_fd(const char *name, const char *head, size_t head_len, int fd,
			 size_t max_bytes, size_t max_doc_bytes, bwk_error **err)
{
	input in = {.head = head,
		    .head_len = head_len,
		    .fd = fd,
		    .max_bytes = max_bytes ? max_bytes : DEF_MAX_BYTES};
	if (head_len > in.max_bytes)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "%s: input grew past the %zu-byte limit",
				     name, in.max_bytes),
		       NULL;
	size_t limit = max_doc_bytes ? max_doc_bytes : BWK_YAML_MAX_DOC_BYTES;
	bwk_json_budget acct;
	bwk_json_budget_begin(&acct, limit);
	json_error_t je;
	json_t *root =
	    json_load_callback(json_read, &in, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
	bwk_json_budget_end(&acct);
	return root ? root : json_failed(name, &acct, limit, &in, &je, err);
}

json_t *bwk_json_load_buffer(const char *name, const char *data, size_t len, size_t max_doc_bytes,
			     bwk_error **err)
{
	size_t limit = max_doc_bytes ? max_doc_bytes : BWK_YAML_MAX_DOC_BYTES;
	bwk_json_budget acct;
	bwk_json_budget_begin(&acct, limit);
	json_error_t je;
	json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
	bwk_json_budget_end(&acct);
	return root ? root : json_failed(name, &acct, limit, NULL, &je, err);
}

/* ---- a top-level JSON array, one element at a time ---- */

typedef struct splitter {
	input in;
	char buf[16384];
	size_t pos, len;
	unsigned line;
} splitter;

/* Next byte, or -1 at the end, or -2 on a read failure (in.failure set). */
static int next_byte(splitter *s)
{
	if (s->pos == s->len) {
		ssize_t r = input_read(&s->in, s->buf, sizeof(s->buf));
		if (r <= 0)
			return r < 0 ? -2 : -1;
		s->pos = 0;
		s->len = (size_t)r;
	}
	int c = (unsigned char)s->buf[s->pos++];
	if (c == '\n')
		s->line++;
	return c;
}

static bool is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int split_fail(const char *name, const splitter *s, const char *what, bwk_error **err)
{
	if (s->in.failure == IN_TOO_BIG)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "%s: input grew past the %zu-byte limit",
				     name, s->in.max_bytes);
	if (s->in.failure == IN_IO)
		return bwk_error_set(err, BWK_E_IO, s->in.err_no, "%s: read failed", name);
	return bwk_error_set(err, BWK_E_INPUT, 0, "%s:%u: invalid JSON: %s", name, s->line, what);
}

/* Parse one element's text (charged to `acct` while it is held) and hand its tree over. */
static int split_elem(const char *name, size_t index, unsigned line0, char **text, size_t *n,
		      size_t *cap, bwk_json_budget *acct, bwk_json_elem_cb cb, void *ctx,
		      bwk_error **err)
{
	size_t limit = acct->limit;
	json_error_t je;
	bwk_json_budget inner;
	/* what the text left of the budget (0 would mean no limit at all) */
	size_t room = limit - acct->live - acct->extra;
	bwk_json_budget_begin(&inner, room ? room : 1);
	json_t *e =
	    json_loadb(*text, *n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY, &je);
	bwk_json_budget_end(&inner);
	budget_uncharge(acct, *cap);
	free(*text);
	*text = NULL;
	*n = *cap = 0;
	int rc;
	if (!e && acct->refused)
		rc = -1;
	else if (!e)
		rc = bwk_error_set(err, BWK_E_INPUT, 0, "%s:%u: invalid JSON: %s", name,
				   line0 + (unsigned)je.line - 1, je.text);
	else
		rc = cb(ctx, index, e, err);
	json_decref(e);
	if (acct->refused) {
		if (rc < 0 && err) {
			bwk_error_free(*err);
			*err = NULL;
		}
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "%s: [%zu]: element needs more than %zu MiB of memory: split "
				     "the array",
				     name, index, limit >> 20);
	}
	return rc;
}

int bwk_json_array_each(const char *name, const char *head, size_t head_len, int fd,
			size_t max_bytes, size_t max_doc_bytes, bwk_json_elem_cb cb, void *ctx,
			bwk_error **err)
{
	cleanup_free splitter *s = xcalloc(1, sizeof(*s));
	s->in = (input){.head = head,
			.head_len = head_len,
			.fd = fd,
			.max_bytes = max_bytes ? max_bytes : DEF_MAX_BYTES};
	s->line = 1;
	size_t limit = max_doc_bytes ? max_doc_bytes : BWK_YAML_MAX_DOC_BYTES;
	int c;
	while ((c = next_byte(s)) >= 0 && is_blank(c))
		;
	if (c != '[')
		return split_fail(name, s, "'[' expected", err);
	cleanup_free char *text = NULL;
	size_t n = 0, cap = 0, index = 0, depth = 0;
	bool in_str = false, esc = false, comma = false;
	unsigned line0 = 0;
	for (;;) {
		c = next_byte(s);
		if (c < 0)
			return split_fail(name, s, "']' expected", err);
		if (!text && !n) {
			if (is_blank(c))
				continue;
			if (c == ']' && !comma && index == 0)
				break;
			if (c == ']' || c == ',')
				return split_fail(name, s, "value expected", err);
			line0 = s->line;
		}
		bool end = false;
		if (in_str) {
			in_str = esc || c != '"';
			esc = !esc && c == '\\';
		} else if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		} else if ((c == ',' || c == ']') && depth == 0) {
			end = true;
		}
		if (!end) {
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 4096;
				if (ncap > limit)
					return bwk_error_set(err, BWK_E_LIMIT, 0,
							     "%s: [%zu]: element is more than %zu "
							     "MiB: split the array",
							     name, index, limit >> 20);
				text = xrealloc(text, ncap);
				cap = ncap;
			}
			text[n++] = (char)c;
			continue;
		}
		/* one budget per element: its text, its tree and what the callback builds */
		bwk_json_budget acct;
		bwk_json_budget_begin(&acct, limit);
		cleanup_with(bwk_json_budget_endp) __attribute__((unused)) bwk_json_budget *ap =
		    &acct;
		if (!budget_charge(&acct, cap))
			return bwk_error_set(err, BWK_E_LIMIT, 0,
					     "%s: [%zu]: element is more than %zu MiB: split the "
					     "array",
					     name, index, limit >> 20);
		if (split_elem(name, index++, line0, &text, &n, &cap, &acct, cb, ctx, err) < 0)
			return -1;
		comma = c == ',';
		if (c == ']')
			break;
	}
	while ((c = next_byte(s)) >= 0 && is_blank(c))
		;
	if (c != -1)
		return split_fail(name, s, c == -2 ? "" : "end of file expected", err);
	return 0;
}
