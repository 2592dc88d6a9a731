/* Secret rules as data: the YAML format of rules/secrets.yaml and of a user's --rules file
 * (docs/rules-secrets.md), parsed with libyaml's document API into sec_rule records, then
 * checked and compiled with PCRE2. A rules file is input like any other: sizes, counts and
 * string lengths are capped, unknown keys are errors (a misspelt `alow:` must not silently
 * turn an allowlist off). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "bulwark/log.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "scan/secrets_private.h"

typedef struct yctx {
	yaml_document_t *doc;
	const char *name;
	bwk_error **err;
} yctx;

static int yerr(yctx *y, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int yerr(yctx *y, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n)
		return bwk_error_set(y->err, BWK_E_INPUT, 0, "%s:%zu: %s", y->name,
				     (size_t)n->start_mark.line + 1, msg);
	return bwk_error_set(y->err, BWK_E_INPUT, 0, "%s: %s", y->name, msg);
}

static const char *scalar(const yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

static int get_str(yctx *y, yaml_node_t *n, const char *key, char **out)
{
	const char *s = scalar(n);
	if (!s)
		return yerr(y, n, "'%s' must be a string", key);
	if (n->data.scalar.length > SEC_MAX_STR || strlen(s) != n->data.scalar.length)
		return yerr(y, n, "'%s' is too long or contains a NUL byte", key);
	free(*out);
	*out = xstrdup(s);
	return 0;
}

/* `out` is replaced by the list (an empty list has its `v`: the rule's references stay []). */
static int get_list(yctx *y, yaml_node_t *n, const char *key, bwk_strv *out)
{
	if (!n || n->type != YAML_SEQUENCE_NODE)
		return yerr(y, n, "'%s' must be a list of strings", key);
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (cnt > SEC_MAX_LIST)
		return yerr(y, n, "'%s' has %zu items (limit %u)", key, cnt, SEC_MAX_LIST);
	bwk_strv_clear(out);
	*out = (bwk_strv){.v = xcalloc(cnt + 1, sizeof(char *)), .cap = cnt + 1};
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *c = yaml_document_get_node(y->doc, *it);
		char *s = NULL;
		if (get_str(y, c, key, &s) < 0)
			return -1;
		if (bwk_strv_take(out, s, y->err) < 0) /* cnt ≤ SEC_MAX_LIST: cannot fail */
			return -1;
	}
	return 0;
}

static int get_num(yctx *y, yaml_node_t *n, const char *key, double lo, double hi, double *out)
{
	const char *s = scalar(n);
	char *end = NULL;
	if (!s || !*s)
		return yerr(y, n, "'%s' must be a number", key);
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < lo || v > hi)
		return yerr(y, n, "'%s' must be a number from %g to %g", key, lo, hi);
	*out = v;
	return 0;
}

static bool valid_id(const char *s)
{
	/* kebab-case: [a-z0-9]+(-[a-z0-9]+)* */
	if (!*s || strlen(s) > 96 || *s == '-')
		return false;
	for (const char *p = s; *p; p++) {
		if (*p == '-') {
			if (p[1] == '-' || p[1] == '\0')
				return false;
		} else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))) {
			return false;
		}
	}
	return true;
}

static int parse_examples(yctx *y, yaml_node_t *n, sec_rule *r)
{
	if (n->type != YAML_MAPPING_NODE)
		return yerr(y, n, "rule %s: 'examples' must be a mapping", r->id);
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		const char *k = scalar(yaml_document_get_node(y->doc, p->key));
		yaml_node_t *v = yaml_document_get_node(y->doc, p->value);
		if (k && strcmp(k, "positive") == 0) {
			if (get_list(y, v, "examples.positive", &r->positive) < 0)
				return -1;
		} else if (k && strcmp(k, "negative") == 0) {
			if (get_list(y, v, "examples.negative", &r->negative) < 0)
				return -1;
		} else {
			return yerr(y, v, "rule %s: unknown key 'examples.%s'", r->id, k ? k : "?");
		}
	}
	return 0;
}

static int parse_rule_key(yctx *y, sec_rule *r, const char *k, yaml_node_t *v)
{
	if (strcmp(k, "id") == 0)
		return get_str(y, v, k, &r->id);
	if (strcmp(k, "title") == 0)
		return get_str(y, v, k, &r->title);
	if (strcmp(k, "description") == 0)
		return get_str(y, v, k, &r->description);
	if (strcmp(k, "remediation") == 0)
		return get_str(y, v, k, &r->remediation);
	if (strcmp(k, "regex") == 0)
		return get_str(y, v, k, &r->regex);
	if (strcmp(k, "path") == 0)
		return get_str(y, v, k, &r->path);
	if (strcmp(k, "references") == 0)
		return get_list(y, v, k, &r->references);
	if (strcmp(k, "keywords") == 0)
		return get_list(y, v, k, &r->keywords);
	if (strcmp(k, "allow") == 0)
		return get_list(y, v, k, &r->allow_src);
	if (strcmp(k, "allow_match") == 0)
		return get_list(y, v, k, &r->allow_match_src);
	if (strcmp(k, "examples") == 0)
		return parse_examples(y, v, r);
	if (strcmp(k, "severity") == 0) {
		const char *s = scalar(v);
		bwk_severity sev;
		if (!s || bwk_severity_parse(s, &sev) < 0 || sev == BWK_SEV_NONE)
			return yerr(y, v, "'severity' must be critical, high, medium, low or info");
		r->meta.severity = sev;
		return 0;
	}
	if (strcmp(k, "secret_group") == 0) {
		double g;
		if (get_num(y, v, k, 0, 99, &g) < 0)
			return -1;
		if (g != floor(g))
			return yerr(y, v, "'secret_group' must be an integer");
		r->group = (uint32_t)g;
		return 0;
	}
	if (strcmp(k, "entropy") == 0)
		return get_num(y, v, k, 0, 8, &r->entropy);
	if (strcmp(k, "yields") == 0) {
		const char *s = scalar(v);
		if (!s || (strcmp(s, "true") != 0 && strcmp(s, "false") != 0))
			return yerr(y, v, "'yields' must be true or false");
		r->yields = strcmp(s, "true") == 0;
		return 0;
	}
	return yerr(y, v, "unknown rule key '%s'", k);
}

/* `{{assign}}` in a rule's regex: the one name–value context every keyword rule shares, so
 * that a syntax learnt once (here) is read by every rule. It sits between the name and the
 * value, eats the name's closing quote and the value's opening one, and accepts:
 *   name = v, name: v, name := v, name => v          (shell, YAML, Go, Perl/PHP arrays)
 *   name ?= v, name ::= v, name :::= v, name += v     (Make: conditional, POSIX, immediate)
 *   $name .= v                                        (PHP concatenation)
 *   var name string = v, val name: String = v         (Go / Kotlin / Scala typed declarations)
 *   "name", "v"                                        (setProperty("N", "v"), {"k", "v"})
 *   key="name" value="v"                               (.NET appSettings, Ant, Spring XML)
 *   <name>v</name>, <name>\n   v                       (XML element content, value on its own line)
 * The comma form needs quotes on both sides (a tuple of a quoted name and an argument such as
 * `'--password', default=''` is not an assignment) and the XML form the name's bracket, so
 * that prose ("github, then") and shell redirections stay unmatched; every rule still
 * requires its value's own shape. */
#define SEC_ASSIGN                                                                                 \
	"(?:(?:[\"']?[ \\t]{0,4}(?:=>|:{1,3}=|[?.+]=|=|:)"                                         \
	"|(?::[ \\t]{0,4}|[ \\t]{1,4})(?:string|String|str|&str)[ \\t]{0,4}="                      \
	"|[\"'][ \\t]{1,4}value[ \\t]{0,2}="                                                       \
	"|[\"']?>[ \\t]{0,4}(?:\\r?\\n[ \\t]{0,40})?)[ \\t]{0,4}[\"'`]?"                           \
	"|[\"'][ \\t]{0,4},[ \\t]{0,4}[\"'`])"
#define SEC_ASSIGN_MACRO "{{assign}}"

char *sec_expand_regex(const char *re)
{
	bwk_strbuf sb;
	bwk_strbuf_init(&sb, SEC_MAX_STR * 32); /* 8 KiB of macros expanded: < 256 KiB */
	for (const char *p = re, *m; *p; p = m + strlen(SEC_ASSIGN_MACRO)) {
		if (!(m = strstr(p, SEC_ASSIGN_MACRO))) {
			bwk_strbuf_append(&sb, p);
			break;
		}
		bwk_strbuf_appendn(&sb, p, (size_t)(m - p));
		bwk_strbuf_append(&sb, SEC_ASSIGN);
	}
	return bwk_strbuf_steal(&sb);
}

static int parse_rule(yctx *y, yaml_node_t *n, sec_rule *r)
{
	if (n->type != YAML_MAPPING_NODE)
		return yerr(y, n, "each rule must be a mapping");
	r->meta.severity = BWK_SEV_NONE;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = yaml_document_get_node(y->doc, p->key);
		const char *k = scalar(kn);
		if (!k)
			return yerr(y, kn, "rule keys must be strings");
		if (parse_rule_key(y, r, k, yaml_document_get_node(y->doc, p->value)) < 0)
			return -1;
	}
	if (!r->id)
		return yerr(y, n, "a rule has no 'id'");
	if (!valid_id(r->id))
		return yerr(y, n, "rule id '%s' is not kebab-case (a-z, 0-9, single dashes)",
			    r->id);
	if (!r->regex)
		return yerr(y, n, "rule %s has no 'regex'", r->id);
	if (strstr(r->regex, SEC_ASSIGN_MACRO)) {
		char *x = sec_expand_regex(r->regex);
		free(r->regex);
		r->regex = x;
	}
	if (r->meta.severity == BWK_SEV_NONE)
		return yerr(y, n, "rule %s has no 'severity'", r->id);
	if (!r->keywords.n)
		return yerr(y, n, "rule %s needs at least one keyword", r->id);
	if (!r->title)
		r->title = xstrdup(r->id);
	if (!r->description)
		r->description = xstrdup("A credential was found in the image.");
	if (!r->remediation)
		r->remediation = xstrdup("Remove the credential from the image (every layer), "
					 "rotate it, and pass it at run time instead.");
	/* the strings are on the heap: moving the rule (realloc, disable) keeps these valid */
	r->meta.id = r->id;
	r->meta.category = BWK_CAT_SECRET;
	r->meta.title = r->title;
	r->meta.description = r->description;
	r->meta.remediation = r->remediation;
	r->meta.references = (const char *const *)r->references.v;
	return 0;
}

static int parse_allowlist(yctx *y, yaml_node_t *n, sec_ruleset *rs)
{
	if (n->type != YAML_MAPPING_NODE)
		return yerr(y, n, "'allowlist' must be a mapping with 'paths' and/or 'values'");
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		const char *k = scalar(yaml_document_get_node(y->doc, p->key));
		yaml_node_t *v = yaml_document_get_node(y->doc, p->value);
		cleanup_strv_clear bwk_strv tmp = {0};
		if (k && (strcmp(k, "paths") == 0 || strcmp(k, "values") == 0)) {
			if (get_list(y, v, k, &tmp) < 0)
				return -1;
			bwk_strv *dst = k[0] == 'p' ? &rs->allow_paths_src : &rs->allow_values_src;
			for (size_t i = 0; i < tmp.n; i++)
				if (bwk_strv_take(dst, steal_pointer(&tmp.v[i]), y->err) < 0)
					return bwk_error_wrap(y->err, "%s: allowlist.%s", y->name,
							      k);
		} else {
			return yerr(y, v, "unknown key 'allowlist.%s' (use paths, values)",
				    k ? k : "?");
		}
	}
	return 0;
}

static int parse_root(yctx *y, yaml_node_t *root, sec_ruleset *rs, bool user)
{
	if (!root || root->type != YAML_MAPPING_NODE)
		return yerr(y, root, "expected a mapping with 'version' and 'rules'");
	bool have_version = false;
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
	     p++) {
		const char *k = scalar(yaml_document_get_node(y->doc, p->key));
		yaml_node_t *v = yaml_document_get_node(y->doc, p->value);
		if (!k)
			return yerr(y, v, "top-level keys must be strings");
		if (strcmp(k, "version") == 0) {
			const char *s = scalar(v);
			if (!s || strcmp(s, "1") != 0)
				return yerr(y, v, "unsupported 'version' (this bulwark reads 1)");
			have_version = true;
		} else if (strcmp(k, "rules") == 0) {
			if (v->type != YAML_SEQUENCE_NODE)
				return yerr(y, v, "'rules' must be a list");
			for (yaml_node_item_t *it = v->data.sequence.items.start;
			     it < v->data.sequence.items.top; it++) {
				if (rs->n >= SEC_MAX_RULES)
					return yerr(y, v, "more than %u rules", SEC_MAX_RULES);
				if (rs->n == rs->cap) {
					rs->cap = rs->cap ? rs->cap * 2 : 64;
					rs->rules = xrealloc(rs->rules, rs->cap * sizeof(sec_rule));
				}
				sec_rule *r = &rs->rules[rs->n++];
				memset(r, 0, sizeof(*r));
				r->user = user;
				if (parse_rule(y, yaml_document_get_node(y->doc, *it), r) < 0)
					return -1;
			}
		} else if (user && strcmp(k, "disable") == 0) {
			cleanup_strv_clear bwk_strv tmp = {0};
			if (get_list(y, v, k, &tmp) < 0)
				return -1;
			bwk_strv_clear(&rs->disable);
			rs->disable = tmp;
			tmp = (bwk_strv){0};
		} else if (user && strcmp(k, "allowlist") == 0) {
			if (parse_allowlist(y, v, rs) < 0)
				return -1;
		} else {
			return yerr(y, v, "unknown top-level key '%s'", k);
		}
	}
	if (!have_version)
		return yerr(y, root, "missing 'version: 1'");
	return 0;
}

int sec_rules_parse(sec_ruleset *rs, const char *text, size_t len, const char *name, bool user,
		    bwk_error **err)
{
	if (len > SEC_MAX_RULES_BYTES)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "%s: rules file larger than %u bytes",
				     name, SEC_MAX_RULES_BYTES);
	yaml_parser_t parser;
	yaml_document_t doc;
	if (!yaml_parser_initialize(&parser))
		return bwk_error_set(err, BWK_E_NOMEM, 0, "%s: cannot start the YAML parser", name);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		int r = bwk_error_set(err, BWK_E_INPUT, 0, "%s:%zu: YAML: %s", name,
				      (size_t)parser.problem_mark.line + 1,
				      parser.problem ? parser.problem : "syntax error");
		yaml_parser_delete(&parser);
		return r;
	}
	yctx y = {&doc, name, err};
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	int ret = root ? parse_root(&y, root, rs, user) : yerr(&y, NULL, "empty document");
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return ret;
}

static pcre2_code *compile_re(const char *re, bool multiline, const char *what, const char *name,
			      bwk_error **err)
{
	int ec;
	PCRE2_SIZE off;
	uint32_t opts = multiline ? PCRE2_MULTILINE : 0;
	pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
	if (!cc) {
		bwk_error_set(err, BWK_E_NOMEM, 0, "out of memory compiling %s", what);
		return NULL;
	}
	/* CRLF files: `$` and `.` stop before a carriage return too. */
	pcre2_set_newline(cc, PCRE2_NEWLINE_ANYCRLF);
	pcre2_code *c = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, opts, &ec, &off, cc);
	pcre2_compile_context_free(cc);
	if (!c) {
		PCRE2_UCHAR buf[256];
		pcre2_get_error_message(ec, buf, sizeof(buf));
		bwk_error_set(err, BWK_E_INPUT, 0, "%s: %s: bad regex at offset %zu: %s", name,
			      what, (size_t)off, (char *)buf);
		return NULL;
	}
	/* JIT is an optimisation: without it (e.g. no executable memory) matching still works. */
	(void)pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);
	return c;
}

static int compile_list(const bwk_strv *src, pcre2_code ***out, size_t *n, const char *what,
			const char *name, bwk_error **err)
{
	*out = xcalloc(src->n + 1, sizeof(pcre2_code *));
	*n = 0;
	for (size_t i = 0; i < src->n; i++) {
		pcre2_code *c = compile_re(src->v[i], false, what, name, err);
		if (!c)
			return -1;
		(*out)[(*n)++] = c;
	}
	return 0;
}

int sec_rules_check_ids(const sec_ruleset *rs, bwk_error **err)
{
	for (size_t i = 0; i < rs->n; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(rs->rules[j].id, rs->rules[i].id) == 0)
				return bwk_error_set(err, BWK_E_INPUT, 0,
						     "rule %s: duplicate id (a user rule cannot "
						     "replace a built-in one: disable it and add "
						     "yours under a new id)",
						     rs->rules[i].id);
	return 0;
}

int sec_rules_compile(sec_ruleset *rs, bwk_error **err)
{
	if (sec_rules_check_ids(rs, err) < 0)
		return -1;
	for (size_t i = 0; i < rs->n; i++) {
		sec_rule *r = &rs->rules[i];
		char what[160];
		snprintf(what, sizeof(what), "rule %s regex", r->id);
		if (!(r->re = compile_re(r->regex, true, what, r->id, err)))
			return -1;
		uint32_t caps = 0;
		pcre2_pattern_info(r->re, PCRE2_INFO_CAPTURECOUNT, &caps);
		if (r->group > caps)
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "rule %s: secret_group %u but the regex has %u groups",
					     r->id, r->group, caps);
		if (r->path) {
			snprintf(what, sizeof(what), "rule %s path", r->id);
			if (!(r->path_re = compile_re(r->path, false, what, r->id, err)))
				return -1;
		}
		snprintf(what, sizeof(what), "rule %s allow", r->id);
		if (compile_list(&r->allow_src, &r->allow, &r->nallow, what, r->id, err) < 0)
			return -1;
		snprintf(what, sizeof(what), "rule %s allow_match", r->id);
		if (compile_list(&r->allow_match_src, &r->allow_match, &r->nallow_match, what,
				 r->id, err) < 0)
			return -1;
		r->binary_ok = strstr(r->regex, "-----BEGIN") != NULL;
		/* key material, and a generic rule's password or token, in test data or test
		 * code: the package's public fixture (see secrets_private.h) */
		r->meta_test = r->meta;
		/* URL credentials in test code are fixtures too (url_test.go's
		 * http://user:pass@host cases) */
		r->test_info = r->binary_ok || strncmp(r->id, "generic", 7) == 0 ||
			       strstr(r->id, "url-") != NULL;
		if (r->test_info) {
			free(r->title_test);
			r->title_test =
			    xasprintf("%s (test data): %s",
				      r->binary_ok ? "Public test key" : "Test fixture", r->title);
			r->meta_test.severity = BWK_SEV_INFO;
			r->meta_test.title = r->title_test;
		}
		free(r->title_public);
		r->title_public =
		    xasprintf("%s (published in a package): %s",
			      r->binary_ok ? "Public test key" : "Public value", r->title);
		r->meta_public = r->meta;
		r->meta_public.severity = BWK_SEV_INFO;
		r->meta_public.title = r->title_public;
	}
	if (compile_list(&rs->allow_paths_src, &rs->allow_paths, &rs->nallow_paths,
			 "allowlist.paths", "rules", err) < 0 ||
	    compile_list(&rs->allow_values_src, &rs->allow_values, &rs->nallow_values,
			 "allowlist.values", "rules", err) < 0)
		return -1;
	return 0;
}

static void rule_free(sec_rule *r)
{
	free(r->id);
	free(r->title);
	free(r->description);
	free(r->remediation);
	free(r->regex);
	free(r->title_test);
	free(r->title_public);
	free(r->path);
	bwk_strv_clear(&r->references);
	bwk_strv_clear(&r->keywords);
	bwk_strv_clear(&r->allow_src);
	bwk_strv_clear(&r->allow_match_src);
	bwk_strv_clear(&r->positive);
	bwk_strv_clear(&r->negative);
	pcre2_code_free(r->re);
	pcre2_code_free(r->path_re);
	for (size_t i = 0; i < r->nallow; i++)
		pcre2_code_free(r->allow[i]);
	free(r->allow);
	for (size_t i = 0; i < r->nallow_match; i++)
		pcre2_code_free(r->allow_match[i]);
	free(r->allow_match);
}

int sec_rules_apply_disable(sec_ruleset *rs, const char *name, bwk_error **err)
{
	for (size_t d = 0; d < rs->disable.n; d++) {
		const char *id = rs->disable.v[d];
		size_t i;
		for (i = 0; i < rs->n; i++)
			if (strcmp(rs->rules[i].id, id) == 0)
				break;
		if (i == rs->n)
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "%s: disable: no rule '%s' (see `bulwark rules` for "
					     "the ids)",
					     name, id);
		rule_free(&rs->rules[i]);
		memmove(&rs->rules[i], &rs->rules[i + 1], (rs->n - i - 1) * sizeof(sec_rule));
		rs->n--;
	}
	return 0;
}

void sec_ruleset_free(sec_ruleset *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		rule_free(&rs->rules[i]);
	free(rs->rules);
	bwk_strv_clear(&rs->disable);
	bwk_strv_clear(&rs->allow_paths_src);
	bwk_strv_clear(&rs->allow_values_src);
	for (size_t i = 0; i < rs->nallow_paths; i++)
		pcre2_code_free(rs->allow_paths[i]);
	for (size_t i = 0; i < rs->nallow_values; i++)
		pcre2_code_free(rs->allow_values[i]);
	free(rs->allow_paths);
	free(rs->allow_values);
	memset(rs, 0, sizeof(*rs));
}

int sec_rules_read_user(const char *path, char **text, size_t *len, bwk_error **err)
{
	*text = NULL;
	*len = 0;
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return bwk_error_set(err, errno == ENOENT ? BWK_E_NOTFOUND : BWK_E_IO, errno,
				     "%s: cannot open the rules file", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s: stat", path);
	if (!S_ISREG(st.st_mode))
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s: the rules file is not a regular file", path);
	/* As OpenDoas does for doas.conf: a system-wide rules file that others can write could
	 * switch detection off for everyone, so it is not trusted. The check is on the open fd,
	 * not the name, so the file cannot be swapped between check and read. */
	bool system = strncmp(path, "/etc/bulwark/", 13) == 0;
	if (system && ((st.st_mode & 022) || (st.st_uid != 0 && st.st_uid != geteuid()))) {
		bwk_log(
		    BWK_LOG_WARNING,
		    "%s: ignored: writable by group/others or not owned by root (chmod go-w and "
		    "chown root)",
		    path);
		return 0;
	}
	if (!system && (st.st_mode & 002))
		bwk_log(BWK_LOG_WARNING, "%s: the rules file is writable by anyone", path);
	if ((uint64_t)st.st_size > SEC_MAX_RULES_BYTES)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "%s: rules file larger than %u bytes",
				     path, SEC_MAX_RULES_BYTES);
	size_t cap = (size_t)st.st_size + 1, n = 0;
	cleanup_free char *buf = xmalloc(cap + 1);
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return bwk_error_set(err, BWK_E_IO, errno, "%s: read", path);
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == cap)
			return bwk_error_set(err, BWK_E_LIMIT, 0,
					     "%s: the rules file grew while being read", path);
	}
	buf[n] = '\0';
	if (memchr(buf, '\0', n))
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s: the rules file contains NUL bytes",
				     path);
	*text = steal_pointer(&buf);
	*len = n;
	return 0;
}

int sec_rules_list(const char *builtin, size_t builtin_len, const char *user_rules,
		   bwk_rule_list *out, bwk_error **err)
{
	cleanup_with(sec_ruleset_free) sec_ruleset rs = {0};
	if (builtin && sec_rules_parse(&rs, builtin, builtin_len, "built-in rules", false, err) < 0)
		return bwk_error_wrap(err, "loading the built-in secret rules");
	if (user_rules) {
		cleanup_free char *text = NULL;
		size_t len = 0;
		if (sec_rules_read_user(user_rules, &text, &len, err) < 0)
			return -1;
		if (text && sec_rules_parse(&rs, text, len, user_rules, true, err) < 0)
			return -1;
		if (sec_rules_apply_disable(&rs, user_rules, err) < 0)
			return -1;
	}
	if (sec_rules_check_ids(&rs, err) < 0)
		return -1;
	for (size_t i = 0; i < rs.n; i++)
		bwk_rule_list_add(out, &rs.rules[i].meta);
	return 0;
}
