/* libFuzzer target: the bounded YAML tree builder (anchors, aliases, merge keys, caps). Small
 * caps keep each run fast while exercising every limit path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/yaml_tree.h"

static int walk(void *ctx, const bwk_yaml_doc *doc, bwk_error **err)
{
	(void)err;
	size_t *n = ctx;
	const json_t *root = bwk_yaml_doc_root(doc);
	/* dump the shared DAG: bounded by max_nodes, so this stays cheap */
	char *s = root ? json_dumps(root, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	*n += s ? strlen(s) : 0;
	free(s);
	(void)bwk_yaml_node_line(doc, root);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	/* a memory budget small enough that inputs of a few KiB hit it: jansson then fails
	 * allocations mid-document, and every such path must unwind cleanly */
	bwk_yaml_limits lim = {.max_depth = 32,
			       .max_nodes = 20000,
			       .max_docs = 64,
			       .max_doc_bytes = (size & 1) ? 16384 : 0,
			       .max_token_bytes = 1024};
	bwk_error *err = NULL;
	size_t n = 0;
	if (bwk_yaml_parse("fuzz", buf, size, &lim, walk, &n, &err) < 0)
		bwk_error_free(err);
	free(buf);
	return 0;
}
