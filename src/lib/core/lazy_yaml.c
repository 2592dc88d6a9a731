/* libyaml, loaded on first use (see lazy.h): only the YAML readers (rules, compose files,
 * Kubernetes manifests) need it. */
#include <yaml.h>

#include "core/lazy.h"

BWK_LAZY_LIB(yaml_lib, BWK_SONAME_YAML, BWK_PKG_YAML)

BWK_LAZY_FN(yaml_lib, int, yaml_parser_initialize, (yaml_parser_t * p), (p))
BWK_LAZY_VOID(yaml_lib, yaml_parser_delete, (yaml_parser_t * p), (p))
BWK_LAZY_VOID(yaml_lib, yaml_parser_set_input_string,
	      (yaml_parser_t * p, const unsigned char *in, size_t n), (p, in, n))
BWK_LAZY_VOID(yaml_lib, yaml_parser_set_input,
	      (yaml_parser_t * p, yaml_read_handler_t *h, void *data), (p, h, data))
BWK_LAZY_FN(yaml_lib, int, yaml_parser_parse, (yaml_parser_t * p, yaml_event_t *e), (p, e))
BWK_LAZY_VOID(yaml_lib, yaml_event_delete, (yaml_event_t * e), (e))
BWK_LAZY_FN(yaml_lib, int, yaml_parser_load, (yaml_parser_t * p, yaml_document_t *d), (p, d))
BWK_LAZY_VOID(yaml_lib, yaml_document_delete, (yaml_document_t * d), (d))
BWK_LAZY_FN(yaml_lib, yaml_node_t *, yaml_document_get_node, (yaml_document_t * d, int i), (d, i))
BWK_LAZY_FN(yaml_lib, yaml_node_t *, yaml_document_get_root_node, (yaml_document_t * d), (d))
