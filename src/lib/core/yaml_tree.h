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

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bulwark/error.h"

typedef struct bwk_yaml_limits {
	size_t max_bytes;   /* whole stream; 0 = 64 MiB */
	unsigned max_depth; /* nesting of mappings/sequences; 0 = 64 */
	uint64_t max_nodes; /* per document, counting every alias expansion; 0 = 1,000,000 */
	size_t max_docs;    /* documents in the stream; 0 = 100,000 */
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

/* Convenience: exactly the first document (an empty stream gives JSON null). Caller owns the
 * result. */
json_t *bwk_yaml_load_one(const char *name, const char *data, size_t len,
			  const bwk_yaml_limits *lim, bwk_error **err);

#endif
