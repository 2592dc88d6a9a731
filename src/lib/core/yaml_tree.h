/* A bounded YAML reader that turns each document of a stream into a jansson value.
 *
 * libyaml delivers anchors, aliases and `<<` merge keys raw; this builder resolves them with a
 * cap on the expanded size of a document (so a "billion laughs" document is rejected after a
 * few hundred events instead of exhausting memory), a nesting-depth cap and a document-count
 * cap. Aliased subtrees are shared (reference counted), never copied, and no node is mutated
 * once complete, so sharing is safe. Plain scalars are resolved like YAML 1.2's core schema
 * plus the YAML 1.1 booleans (yes/no/on/off) that Compose and Kubernetes tools accept. */
#ifndef BWK_CORE_YAML_TREE_H
#define BWK_CORE_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bulwark/error.h"

/* Memory accounting for jansson trees built from untrusted input.
 *
 * Node counts alone do not bound memory: a jansson node costs 30-200 bytes plus its strings,
 * so a document within every count cap could still take hundreds of MiB. While a budget is
 * active on a thread, every jansson allocation that thread makes is counted (jansson's
 * allocator hook is process-wide, the budget is per thread) and, past `limit`, refused: jansson
 * then fails cleanly ("out of memory") and `refused` says why. Budgets nest. */
typedef struct bwk_json_budget {
	size_t limit; /* 0 = count only */
	size_t live;  /* bytes jansson allocated in this scope and not yet freed */
	size_t extra; /* bytes the owner of the scope charged for its own allocations */
	size_t peak;  /* most of live + extra */
	bool refused;
	struct bwk_json_budget *prev;
} bwk_json_budget;

void bwk_json_budget_begin(bwk_json_budget *b, size_t limit);
/* Bytes the scope leaves allocated move to the enclosing budget, if any. */
void bwk_json_budget_end(bwk_json_budget *b);
/* Memory derived from a tree (a reader's model of it) on the thread's budget: false, and the
 * budget marked refused, past its limit; true when no budget is active. */
bool bwk_json_budget_charge(size_t n);
void bwk_json_budget_uncharge(size_t n);

/* Memory a document's tree may take (jansson nodes and strings, line and anchor tables), and
 * the longest run of input without a YAML event (a scalar or a comment: libyaml holds a whole
 * scalar, growing its buffer by doubling, before it delivers it). One number each, used by
 * every reader of untrusted YAML or JSON. */
#define BWK_YAML_MAX_DOC_BYTES	 ((size_t)16 << 20)
#define BWK_YAML_MAX_TOKEN_BYTES ((size_t)2 << 20)

typedef struct bwk_yaml_stats {
	size_t peak_bytes; /* most accounted memory at any point (<= max_doc_bytes) */
	size_t docs;
} bwk_yaml_stats;

typedef struct bwk_yaml_limits {
	size_t max_bytes;	/* whole stream; 0 = 64 MiB */
	unsigned max_depth;	/* nesting of mappings/sequences; 0 = 64 */
	uint64_t max_nodes;	/* per document, counting every alias expansion; 0 = 1,000,000 */
	size_t max_docs;	/* documents in the stream; 0 = 100,000 */
	size_t max_doc_bytes;	/* accounted memory of one document; 0 = BWK_YAML_MAX_DOC_BYTES */
	size_t max_token_bytes; /* input without an event; 0 = BWK_YAML_MAX_TOKEN_BYTES */
	bwk_yaml_stats *stats;	/* optional, filled on return (also on error) */
} bwk_yaml_limits;

/* One parsed document, valid during the callback. */
typedef struct bwk_yaml_doc bwk_yaml_doc;

const json_t *bwk_yaml_doc_root(const bwk_yaml_doc *d); /* NULL for an empty document */
unsigned bwk_yaml_doc_line(const bwk_yaml_doc *d);	/* 1-based line of its first node */
unsigned bwk_yaml_doc_index(const bwk_yaml_doc *d);	/* 0-based index in the stream */
/* 1-based line where a mapping or sequence of this document starts, 0 if unknown (scalars,
 * or nodes from another document). */
unsigned bwk_yaml_node_line(const bwk_yaml_doc *d, const json_t *node);

/* Return <0 (with *err set) to stop the stream. */
typedef int (*bwk_yaml_doc_cb)(void *ctx, const bwk_yaml_doc *doc, bwk_error **err);

/* Parse every document of `data` (need not be NUL-terminated). `name` names the input in
 * errors, which carry the line: "compose.yaml:12: mapping values are not allowed here". */
int bwk_yaml_parse(const char *name, const char *data, size_t len, const bwk_yaml_limits *lim,
		   bwk_yaml_doc_cb cb, void *ctx, bwk_error **err);

/* The same on `head` (bytes already read, e.g. to sniff the format; may be empty) followed by
 * what `fd` (a file or a pipe) yields, read as the parser needs it: only the document being
 * built is ever in memory, never the whole stream. max_bytes counts both. */
int bwk_yaml_parse_fd(const char *name, const char *head, size_t head_len, int fd,
		      const bwk_yaml_limits *lim, bwk_yaml_doc_cb cb, void *ctx, bwk_error **err);

/* JSON with the same bounds: at most `max_bytes` of input (0 = 64 MiB) and `max_doc_bytes` of
 * accounted tree memory (0 = BWK_YAML_MAX_DOC_BYTES); duplicate keys rejected, NUL allowed.
 * Errors read "NAME:LINE: invalid JSON: …". Caller owns the result. */
json_t *bwk_json_load_fd(const char *name, const char *head, size_t head_len, int fd,
			 size_t max_bytes, size_t max_doc_bytes, bwk_error **err);
json_t *bwk_json_load_buffer(const char *name, const char *data, size_t len, size_t max_doc_bytes,
			     bwk_error **err);

/* A top-level JSON array (`head`, then fd, as for bwk_json_load_fd), one element at a time:
 * `docker inspect` of many containers is one array, and only the element being audited is
 * in memory. Each element's text, tree and whatever the callback charges share one budget of
 * max_doc_bytes (0 = BWK_YAML_MAX_DOC_BYTES). Errors as bwk_json_load_fd's, with lines
 * counted from the start of the input. Return <0 from the callback to stop. */
typedef int (*bwk_json_elem_cb)(void *ctx, size_t index, const json_t *elem, bwk_error **err);
int bwk_json_array_each(const char *name, const char *head, size_t head_len, int fd,
			size_t max_bytes, size_t max_doc_bytes, bwk_json_elem_cb cb, void *ctx,
			bwk_error **err);

/* Convenience: exactly the first document (an empty stream gives JSON null). Caller owns the
 * result. */
json_t *bwk_yaml_load_one(const char *name, const char *data, size_t len,
			  const bwk_yaml_limits *lim, bwk_error **err);

#endif
