/* The matching engine: every rule's regex compiled once into a Hyperscan database (prefilter
 * mode, so that the database is a superset of what the rules match and accepts every PCRE
 * construct our rule format allows), one pass over the bytes for all rules, and each candidate
 * confirmed by the rule's PCRE2 regex on a bounded window before its end. Only confirmed
 * matches pay for capture extraction, the entropy gate and the allowlists; text without a
 * candidate costs one Hyperscan pass and nothing else. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/embed.h"
#include "core/util.h"
#include "scan/secrets_private.h"

BWK_EMBED(bwk_secrets_yaml, "rules/secrets.yaml");
/* Fingerprints of key material published in packages (scripts/gen-secrets-public-keys.py). */
BWK_EMBED(bwk_secrets_public_keys, "data/secrets-public-keys.txt");
/* Fingerprints of example secrets that public SDK and documentation repositories publish
 * (scripts/gen-secrets-public-keys.py --examples): known to everybody, never reported. */
BWK_EMBED(bwk_secrets_example_keys, "data/secrets-example-keys.txt");

#define SEC_MAX_PUBLIC_KEYS 100000

static int cmp_hex(const void *a, const void *b)
{
	return strcmp(a, b);
}

int sec_public_keys_parse(const char *text, size_t len, char (**out)[65], size_t *n,
			  bwk_error **err)
{
	char(*v)[65] = NULL;
	size_t cnt = 0, cap = 0;
	unsigned line = 0;
	for (const char *p = text, *end = text + len; p < end; line++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (l && *p != '#') {
			bool ok = l >= 64 && (l == 64 || p[64] == ' ');
			for (size_t i = 0; ok && i < 64; i++)
				ok = (p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f');
			if (!ok || cnt >= SEC_MAX_PUBLIC_KEYS) {
				free(v);
				return bwk_error_set(err, BWK_E_INPUT, 0,
						     "published-key table line %u: %s", line + 1,
						     ok ? "too many entries"
							: "not a sha256 hex fingerprint");
			}
			if (cnt == cap) {
				cap = cap ? cap * 2 : 256;
				v = xrealloc(v, cap * sizeof(*v));
			}
			memcpy(v[cnt], p, 64);
			v[cnt++][64] = 0;
		}
		p += l + 1;
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_hex);
	*out = v;
	*n = cnt;
	return 0;
}

/* Where packages keep their test data, test code and documentation examples (the path relative to
 * the image root, archive members included: `x.jar!/testdata/k.pem`). Key material found there is
 * a public test key (google-auth's tests/data, grpc's testdata, share/doc/<pkg>/examples):
 * reported at info, not skipped. A path segment must be exactly one of these names, so that
 * `contest/` or `pytest-runner/` are not test data. */
#define SEC_TEST_PATHS                                                                             \
	"(?:^|/)(?:tests?|testdata|test[_-]data|testing|fixtures?|__tests__|testcases?)/"          \
	"|(?:^|/)share/doc/[^/]+/(?:[^/]+/)*examples?/"                                            \
	"|(?:^|/)(?:test_[^/]+\\.py|[^/]+_test\\.(?:py|go|rb)|[^/]+Tests?\\.(?:java|kt|php|cs)"    \
	"|[^/]+\\.(?:test|spec)\\.[cm]?[jt]sx?|[^/]+_spec\\.rb)$"

/* The path checks of the paths a worker saw last (sec_worker_set_path): one slot per hash, the
 * path kept to compare (a slot only answers for the very same path). The images of
 * `audit registry --scan-all` share their base layers' paths, and a PCRE2 match per
 * path-scoped rule per file cost more than the rest of a small file's scan. */
#define PATH_MEMO_SLOTS 4096

typedef struct path_memo {
	uint64_t hash;
	char *path; /* NULL: an empty slot */
	size_t len;
	bool *ok; /* per path-scoped rule (path_rules order) */
	bool test, any;
} path_memo;

struct bwk_secrets_worker {
	const bwk_secrets *s;
	path_memo *pm; /* PATH_MEMO_SLOTS, made on first use */
	hs_scratch_t *scratch;
	pcre2_match_data *md;  /* the rule regex's match (captures) */
	pcre2_match_data *md2; /* allowlist and path checks, so they never clobber md */
	pcre2_match_context *mctx;
	size_t *done;	  /* per rule: offset in the block up to which PCRE2 has looked */
	uint32_t *stamp;  /* per rule: block generation `done` belongs to */
	uint32_t gen;	  /* current block generation */
	bool *path_ok;	  /* per rule: a path-scoped rule applies to the current path */
	bool any_path_ok; /* run db_path at all */
	bool test_path;	  /* the current path is test data: key material at info */
	/* state of the block being scanned, for the Hyperscan callback */
	const sec_block *b;
	bwk_secret_cb cb;
	void *cbctx;
	bwk_error **err;
	int failed;
	size_t line_off;
	unsigned line_at;
	/* confirmed hits of the block, emitted after the pass (see emit()) */
	struct sec_hit {
		unsigned rule;
		size_t off, len;
	} * hits;
	size_t nhits, caphits;
};

size_t sec_count_lines(const char *p, size_t n)
{
	/* a plain loop: the compiler vectorises it, memchr per line is slower on short lines */
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += p[i] == '\n';
	return c;
}

/* ---- compiling --------------------------------------------------------------------------- */

/* A bounded repeat wider than this is unbounded in the prefilter. Hyperscan builds one state
 * per step of a bounded repeat, and a wide gap before the rest of a rule (`curl` then up to 600
 * characters of arguments then `-H`) multiplies the automaton: that one rule took 36 s to
 * compile, four times all the others together. `{m,}` is a superset of `{m,n}`, and the PCRE2
 * confirmation on a window of SEC_MAX_MATCH bytes keeps the rule's real bound, so only the
 * rare extra candidate costs anything. */
#define SEC_HS_MAX_BOUND 128

/* `{m,n}` at p with n > SEC_HS_MAX_BOUND: its length, and m's digits in *m (n_m of them). */
static size_t wide_repeat(const char *p, const char **m, size_t *n_m)
{
	if (*p != '{')
		return 0;
	size_t i = 1, lo = 0;
	while (p[i] >= '0' && p[i] <= '9')
		i++;
	if (i == 1 || p[i] != ',')
		return 0;
	lo = i - 1;
	size_t j = ++i;
	unsigned long hi = 0;
	while (p[i] >= '0' && p[i] <= '9' && hi <= SEC_HS_MAX_BOUND)
		hi = hi * 10 + (unsigned long)(p[i++] - '0');
	while (p[i] >= '0' && p[i] <= '9')
		i++;
	if (i == j || p[i] != '}' || hi <= SEC_HS_MAX_BOUND)
		return 0;
	*m = p + 1;
	*n_m = lo;
	return i + 1;
}

/* Hyperscan's `$` (multiline) matches only before \n; PCRE2 with NEWLINE_ANYCRLF also before
 * \r\n. Widen every `$` outside a character class to `\r?$` so that the prefilter stays a
 * superset on CRLF files, and every wide bounded repeat to an open one (SEC_HS_MAX_BOUND). A
 * leading (?i) becomes HS_FLAG_CASELESS. */
char *sec_hs_expression(const char *re, unsigned *flags)
{
	*flags = HS_FLAG_PREFILTER | HS_FLAG_MULTILINE;
	if (strncmp(re, "(?i)", 4) == 0) {
		*flags |= HS_FLAG_CASELESS;
		re += 4;
	}
	bwk_strbuf sb;
	bwk_strbuf_init(&sb, SEC_MAX_STR * 4);
	bool in_class = false;
	for (const char *p = re; *p; p++) {
		if (*p == '\\' && p[1]) {
			bwk_strbuf_appendn(&sb, p, 2);
			p++;
			continue;
		}
		if (in_class) {
			if (*p == ']')
				in_class = false;
			bwk_strbuf_appendn(&sb, p, 1);
			continue;
		}
		if (*p == '[') {
			in_class = true;
			bwk_strbuf_appendn(&sb, p, 1);
			/* a ']' right after '[' or '[^' is a literal */
			if (p[1] == '^') {
				bwk_strbuf_appendn(&sb, ++p, 1);
			}
			if (p[1] == ']')
				bwk_strbuf_appendn(&sb, ++p, 1);
			continue;
		}
		const char *m;
		size_t n_m, w = wide_repeat(p, &m, &n_m);
		if (w) {
			bwk_strbuf_append(&sb, "{");
			bwk_strbuf_appendn(&sb, m, n_m);
			bwk_strbuf_append(&sb, ",}");
			p += w - 1;
		} else if (*p == '$')
			bwk_strbuf_append(&sb, "(?:\\r?$)");
		else
			bwk_strbuf_appendn(&sb, p, 1);
	}
	return bwk_strbuf_steal(&sb);
}

static int build_db(const sec_ruleset *rs, bool with_path, hs_database_t **out, bwk_error **err)
{
	*out = NULL;
	size_t n = 0;
	for (size_t i = 0; i < rs->n; i++)
		n += (rs->rules[i].path_re != NULL) == with_path;
	if (!n)
		return 0;
	cleanup_free char **exprs = xcalloc(n, sizeof(char *));
	cleanup_free unsigned *flags = xcalloc(n, sizeof(unsigned));
	cleanup_free unsigned *ids = xcalloc(n, sizeof(unsigned));
	size_t k = 0;
	for (size_t i = 0; i < rs->n; i++) {
		if ((rs->rules[i].path_re != NULL) != with_path)
			continue;
		exprs[k] = sec_hs_expression(rs->rules[i].regex, &flags[k]);
		ids[k] = (unsigned)i;
		k++;
	}
	hs_compile_error_t *ce = NULL;
	hs_database_t *db = NULL;
	hs_error_t e = hs_compile_multi((const char *const *)exprs, flags, ids, (unsigned)n,
					HS_MODE_BLOCK, NULL, &db, &ce);
	int ret = 0;
	if (e != HS_SUCCESS) {
		const char *id = ce && ce->expression >= 0 && (size_t)ce->expression < n
				     ? rs->rules[ids[ce->expression]].id
				     : "?";
		ret = bwk_error_set(err, BWK_E_INPUT, 0,
				    "rule %s: the regex is not accepted by Hyperscan: %s (rewrite "
				    "it in the supported subset, see docs/rules-secrets.md)",
				    id, ce && ce->message ? ce->message : "compile error");
		hs_free_compile_error(ce);
	}
	for (size_t i = 0; i < n; i++)
		free(exprs[i]);
	*out = db;
	return ret;
}

int bwk_secrets_new_from(const char *builtin, size_t builtin_len, const char *user_rules,
			 bwk_secrets **out, bwk_error **err)
{
	cleanup_with(bwk_secrets_freep) bwk_secrets *s = xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	if (builtin &&
	    sec_rules_parse(&s->rs, builtin, builtin_len, "built-in rules", false, err) < 0)
		return bwk_error_wrap(err, "loading the built-in secret rules");
	cleanup_free char *text = NULL;
	size_t len = 0;
	if (user_rules) {
		if (sec_rules_read_user(user_rules, &text, &len, err) < 0)
			return -1;
		if (text && sec_rules_parse(&s->rs, text, len, user_rules, true, err) < 0)
			return -1;
		if (sec_rules_apply_disable(&s->rs, user_rules, err) < 0)
			return -1;
	}
	if (sec_rules_compile(&s->rs, err) < 0)
		return -1;
	const char *texts[2] = {builtin, text};
	size_t lens[2] = {builtin ? builtin_len : 0, len};
	cleanup_free char *cache = sec_cache_path(texts, lens, 2);
	if (!cache || sec_cache_load(cache, &s->db_all, &s->db_path) < 0) {
		if (build_db(&s->rs, false, &s->db_all, err) < 0 ||
		    build_db(&s->rs, true, &s->db_path, err) < 0)
			return -1;
		if (cache)
			sec_cache_store(cache, s->db_all, s->db_path);
	}
	int ec;
	PCRE2_SIZE eo;
	s->test_path_re = pcre2_compile((PCRE2_SPTR)SEC_TEST_PATHS, PCRE2_ZERO_TERMINATED,
					PCRE2_CASELESS, &ec, &eo, NULL);
	if (!s->test_path_re)
		return bwk_error_set(err, BWK_E_INTERNAL, 0,
				     "the built-in test-data path pattern does not compile (%d)",
				     ec);
	if (sec_public_keys_parse(bwk_secrets_public_keys, BWK_EMBED_LEN(bwk_secrets_public_keys),
				  &s->public_keys, &s->npublic_keys, err) < 0 ||
	    sec_public_keys_parse(bwk_secrets_example_keys, BWK_EMBED_LEN(bwk_secrets_example_keys),
				  &s->example_keys, &s->nexample_keys, err) < 0)
		return -1;
	s->path_rules = xcalloc(s->rs.n + 1, sizeof(unsigned));
	for (size_t i = 0; i < s->rs.n; i++)
		if (s->rs.rules[i].path_re)
			s->path_rules[s->npath_rules++] = (unsigned)i;
	*out = steal_pointer(&s);
	return 0;
}

int bwk_secrets_rule_list(const char *user_rules, bwk_rule_list **out, bwk_error **err)
{
	bwk_rule_list *l = bwk_rule_list_new();
	if (sec_rules_list(bwk_secrets_yaml, BWK_EMBED_LEN(bwk_secrets_yaml), user_rules, l, err) <
	    0) {
		bwk_rule_list_free(l);
		return -1;
	}
	bwk_rule_list_add(l, &sec_rule_keystore);
	bwk_rule_list_add(l, &sec_rule_java_keystore);
	*out = l;
	return 0;
}

int bwk_secrets_new(const char *user_rules, bwk_secrets **out, bwk_error **err)
{
	return bwk_secrets_new_from(bwk_secrets_yaml, BWK_EMBED_LEN(bwk_secrets_yaml), user_rules,
				    out, err);
}

void bwk_secrets_free(bwk_secrets *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->npool; i++)
		bwk_secrets_worker_free(s->pool[i]);
	free(s->pool);
	pthread_mutex_destroy(&s->lock);
	if (s->db_all)
		hs_free_database(s->db_all);
	if (s->db_path)
		hs_free_database(s->db_path);
	free(s->path_rules);
	free(s->public_keys);
	free(s->example_keys);
	pcre2_code_free(s->test_path_re);
	sec_ruleset_free(&s->rs);
	free(s);
}

size_t bwk_secrets_rule_count(const bwk_secrets *s)
{
	return s ? s->rs.n : 0;
}

const sec_rule *bwk_secrets_rule(const bwk_secrets *s, size_t i)
{
	return i < s->rs.n ? &s->rs.rules[i] : NULL;
}

/* ---- per-thread state -------------------------------------------------------------------- */

bwk_secrets_worker *bwk_secrets_worker_new(const bwk_secrets *s, bwk_error **err)
{
	bwk_secrets_worker *w = xcalloc(1, sizeof(*w));
	w->s = s;
	size_t n = s->rs.n ? s->rs.n : 1;
	w->done = xcalloc(n, sizeof(size_t));
	w->stamp = xcalloc(n, sizeof(uint32_t));
	w->path_ok = xcalloc(n, sizeof(bool));
	w->md = pcre2_match_data_create(100, NULL);
	w->md2 = pcre2_match_data_create(1, NULL);
	w->mctx = pcre2_match_context_create(NULL);
	if (!w->md || !w->md2 || !w->mctx)
		goto nomem;
	/* A pathological regex from a user file must not stall a scan: bound the work per
	 * confirmation (the JIT honours both limits). */
	pcre2_set_match_limit(w->mctx, 200000);
	pcre2_set_depth_limit(w->mctx, 5000);
	if ((s->db_all && hs_alloc_scratch(s->db_all, &w->scratch) != HS_SUCCESS) ||
	    (s->db_path && hs_alloc_scratch(s->db_path, &w->scratch) != HS_SUCCESS))
		goto nomem;
	return w;
nomem:
	bwk_secrets_worker_free(w);
	bwk_error_set(err, BWK_E_NOMEM, 0, "out of memory for the secret scanner's scratch space");
	return NULL;
}

void bwk_secrets_worker_free(bwk_secrets_worker *w)
{
	if (!w)
		return;
	if (w->scratch)
		hs_free_scratch(w->scratch);
	pcre2_match_data_free(w->md);
	pcre2_match_data_free(w->md2);
	pcre2_match_context_free(w->mctx);
	free(w->done);
	free(w->stamp);
	free(w->path_ok);
	free(w->hits);
	for (size_t i = 0; w->pm && i < PATH_MEMO_SLOTS; i++) {
		free(w->pm[i].path);
		free(w->pm[i].ok);
	}
	free(w->pm);
	free(w);
}

static bool re_match(const bwk_secrets_worker *w, pcre2_code *re, const char *s, size_t n)
{
	return pcre2_match(re, (PCRE2_SPTR)s, n, 0, 0, w->md2, w->mctx) >= 0;
}

bool sec_path_allowed(const bwk_secrets *s, const char *path)
{
	if (!path || !s->rs.nallow_paths)
		return false;
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	bool hit = false;
	for (size_t i = 0; md && i < s->rs.nallow_paths && !hit; i++)
		hit = pcre2_match(s->rs.allow_paths[i], (PCRE2_SPTR)path, strlen(path), 0, 0, md,
				  NULL) >= 0;
	pcre2_match_data_free(md);
	return hit;
}

bool sec_worker_test_path(const bwk_secrets_worker *w)
{
	return w->test_path;
}

bool sec_published(const bwk_secrets *s, const void *data, size_t len)
{
	if (!s->npublic_keys)
		return false;
	char fp[65];
	bwk_sha256_hex(data, len, fp);
	return bsearch(fp, s->public_keys, s->npublic_keys, sizeof(*s->public_keys), cmp_hex);
}

static uint64_t path_hash(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
	return h;
}

void sec_worker_set_path(bwk_secrets_worker *w, const char *path)
{
	const bwk_secrets *s = w->s;
	w->any_path_ok = false;
	w->test_path = false;
	if (!path) {
		for (size_t k = 0; k < s->npath_rules; k++)
			w->path_ok[s->path_rules[k]] = false;
		return;
	}
	size_t len = strlen(path);
	uint64_t h = path_hash(path, len);
	if (!w->pm)
		w->pm = xcalloc(PATH_MEMO_SLOTS, sizeof(*w->pm));
	path_memo *m = &w->pm[h % PATH_MEMO_SLOTS];
	if (m->path && m->hash == h && m->len == len && !memcmp(m->path, path, len)) {
		w->test_path = m->test;
		w->any_path_ok = m->any;
		for (size_t k = 0; k < s->npath_rules; k++)
			w->path_ok[s->path_rules[k]] = m->ok[k];
		return;
	}
	w->test_path = s->test_path_re && re_match(w, s->test_path_re, path, len);
	if (!m->ok)
		m->ok = xcalloc(s->npath_rules ? s->npath_rules : 1, sizeof(bool));
	for (size_t k = 0; k < s->npath_rules; k++) {
		unsigned i = s->path_rules[k];
		bool ok = re_match(w, s->rs.rules[i].path_re, path, len);
		w->path_ok[i] = ok;
		w->any_path_ok |= ok;
		m->ok[k] = ok;
	}
	free(m->path);
	m->path = xstrndup(path, len);
	m->hash = h;
	m->len = len;
	m->test = w->test_path;
	m->any = w->any_path_ok;
}

/* ---- matching ---------------------------------------------------------------------------- */

static unsigned line_of(bwk_secrets_worker *w, size_t off)
{
	if (off < w->line_off) {
		w->line_off = 0;
		w->line_at = w->b->line;
	}
	w->line_at += (unsigned)sec_count_lines(w->b->data + w->line_off, off - w->line_off);
	w->line_off = off;
	return w->line_at;
}

/* Checks after the regex: the rule's capture, entropy, allowlists. Returns the callback's
 * result (0 also when the match is dropped). */
static int confirm(bwk_secrets_worker *w, const sec_rule *r, PCRE2_SIZE ms, PCRE2_SIZE me,
		   PCRE2_SIZE gs, PCRE2_SIZE ge)
{
	const sec_block *b = w->b;
	if (gs == PCRE2_UNSET || ge <= gs)
		return 0;
	const char *sec = b->data + gs;
	size_t n = ge - gs;
	/* a secret at the end of a CRLF line must not carry the CR into its fingerprint */
	while (n && (sec[n - 1] == '\r' || sec[n - 1] == '\n'))
		n--;
	if (!n)
		return 0;
	if (r->entropy > 0 && bwk_entropy(sec, n) < r->entropy)
		return 0;
	for (size_t i = 0; i < r->nallow; i++)
		if (re_match(w, r->allow[i], sec, n))
			return 0;
	for (size_t i = 0; i < r->nallow_match; i++)
		if (re_match(w, r->allow_match[i], b->data + ms, me - ms))
			return 0;
	for (size_t i = 0; i < w->s->rs.nallow_values; i++)
		if (re_match(w, w->s->rs.allow_values[i], sec, n))
			return 0;
	if (w->nhits == w->caphits) {
		if (w->caphits >= 100000)
			return bwk_error_set(w->err, BWK_E_LIMIT, 0,
					     "more than 100000 secrets in one block: not a "
					     "credential file");
		w->caphits = w->caphits ? w->caphits * 2 : 16;
		w->hits = xrealloc(w->hits, w->caphits * sizeof(*w->hits));
	}
	w->hits[w->nhits++] = (struct sec_hit){(unsigned)(r - w->s->rs.rules), gs, n};
	return 0;
}

/* How specific a rule's reading of a secret is: 0 the generic name–value rules, 1 the
 * catch-all location rules (`yields`: any value of a .env file), 2 a rule that names the
 * credential (a token's shape, a credential file's field). */
static int specificity(const sec_rule *r)
{
	if (strncmp(r->id, "generic", 7) == 0)
		return 0;
	return r->yields ? 1 : 2;
}

static int hit_cmp(const void *a, const void *b)
{
	const struct sec_hit *x = a, *y = b;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

/* Whether hit h gives way to hit o (another reading of the same secret): one secret, one
 * finding, under its most specific type. */
static bool yields_to(const sec_block *b, const sec_rule *rules, const struct sec_hit *h,
		      const struct sec_hit *o, bool o_first)
{
	const sec_rule *r = &rules[h->rule], *q = &rules[o->rule];
	int hs = specificity(r), os = specificity(q);
	bool overlap = o->off < h->off + h->len && h->off < o->off + o->len;
	if (!overlap)
		return false;
	/* a catch-all reading (GITHUB_TOKEN=ghp_… in a .env, a generic `token = …`) gives way
	 * to the rule that names the credential, and of two catch-alls the first stays */
	if (hs < 2)
		return os > hs || (os == hs && o_first);
	if (os < 2 || o->off != h->off || o->len != h->len)
		return false;
	/* two rules naming exactly the same bytes (a service-account JSON's key and the PEM
	 * key inside it; the aws_secret_access_key line of .aws/credentials and the AWS key
	 * shape): the graver reading stays, and at equal severity the credential-file rule,
	 * which says where the secret is used, except in the image config, where the .env
	 * rules stand in for a file that is not there */
	bwk_severity rsev = r->meta.severity, qsev = q->meta.severity;
	if (rsev != qsev)
		return qsev > rsev;
	bool rpath = r->path_re, qpath = q->path_re;
	if (rpath != qpath)
		return b->config ? rpath : qpath;
	return o_first;
}

/* Hits go out in file order, each secret once (see yields_to). */
static int emit(bwk_secrets_worker *w)
{
	const sec_rule *rules = w->s->rs.rules;
	if (!w->nhits)
		return 0;
	qsort(w->hits, w->nhits, sizeof(*w->hits), hit_cmp);
	for (size_t i = 0; i < w->nhits; i++) {
		const struct sec_hit *h = &w->hits[i];
		const sec_rule *r = &rules[h->rule];
		bool drop = false;
		for (size_t j = 0; j < w->nhits && !drop; j++)
			if (j != i)
				drop = yields_to(w->b, rules, h, &w->hits[j], j < i);
		if (drop)
			continue;
		const bwk_rule *meta = w->test_path && r->test_info ? &r->meta_test : &r->meta;
		if (w->s->npublic_keys || w->s->nexample_keys) {
			char fp[65];
			bwk_sha256_hex(w->b->data + h->off, h->len, fp);
			if (w->s->nexample_keys &&
			    bsearch(fp, w->s->example_keys, w->s->nexample_keys,
				    sizeof(*w->s->example_keys), cmp_hex))
				continue;
			if (w->s->npublic_keys && bsearch(fp, w->s->public_keys, w->s->npublic_keys,
							  sizeof(*w->s->public_keys), cmp_hex))
				meta = &r->meta_public;
		}
		bwk_secret_hit hit = {
		    .rule = meta,
		    .secret = w->b->data + h->off,
		    .secret_len = h->len,
		    .offset = h->off,
		    .line = line_of(w, h->off),
		};
		if (w->cb(w->cbctx, &hit, w->err) < 0)
			return -1;
	}
	return 0;
}

static int on_candidate(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
			void *ctx)
{
	(void)from;
	(void)flags;
	bwk_secrets_worker *w = ctx;
	const sec_block *b = w->b;
	if (id >= w->s->rs.n)
		return 0; /* cannot happen with a database built from these rules */
	const sec_rule *r = &w->s->rs.rules[id];
	if (r->path_re && !w->path_ok[id])
		return 0;
	if (b->binary && !r->binary_ok)
		return 0;
	if (w->stamp[id] != w->gen) {
		w->stamp[id] = w->gen;
		w->done[id] = 0;
	}
	size_t end = (size_t)to;
	/* a candidate ending before the owned range started there too: the previous block's */
	if (end <= b->own_start || end <= w->done[id])
		return 0;
	size_t start = end > SEC_MAX_MATCH ? end - SEC_MAX_MATCH : 0;
	if (start < w->done[id])
		start = w->done[id];
	/* A real match ending here makes Hyperscan report exactly this end, so the search for
	 * it never needs bytes past `end`: searching a subject cut at `end` keeps the cost of a
	 * prefilter false positive to the window behind it (and, with `done`, each byte is
	 * searched about once per rule). The cut can fake a \b or $ at `end` and shorten a
	 * greedy match, so the match found is re-run anchored on the real bytes. */
	while (start < end) {
		int rc = pcre2_match(r->re, (PCRE2_SPTR)b->data, end, start, 0, w->md, w->mctx);
		if (rc < 0)
			break; /* no match (or match limit hit): a prefilter false positive */
		PCRE2_SIZE ms = pcre2_get_ovector_pointer(w->md)[0];
		size_t lim = b->len - ms > SEC_MAX_MATCH ? ms + SEC_MAX_MATCH : b->len;
		rc = pcre2_match(r->re, (PCRE2_SPTR)b->data, lim, ms, PCRE2_ANCHORED, w->md,
				 w->mctx);
		if (rc < 0) {
			start = ms + 1;
			continue;
		}
		const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(w->md);
		PCRE2_SIZE me = ov[1];
		if (ms >= b->own_start && ms < b->own_end &&
		    confirm(w, r, ms, me, ov[2 * r->group], ov[2 * r->group + 1]) < 0) {
			w->failed = 1;
			return 1;
		}
		start = me > ms ? me : ms + 1;
		w->done[id] = start;
	}
	if (w->done[id] < end)
		w->done[id] = end;
	return 0;
}

int sec_scan_block(bwk_secrets_worker *w, const sec_block *b, bwk_secret_cb cb, void *ctx,
		   bwk_error **err)
{
	const bwk_secrets *s = w->s;
	if (!b->len || (!s->db_all && !w->any_path_ok))
		return 0;
	if (b->len > UINT32_MAX)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "a scan block is larger than 4 GiB");
	w->b = b;
	w->cb = cb;
	w->cbctx = ctx;
	w->err = err;
	w->failed = 0;
	w->line_off = 0;
	w->line_at = b->line;
	w->nhits = 0;
	if (++w->gen == 0) {
		memset(w->stamp, 0, (s->rs.n ? s->rs.n : 1) * sizeof(uint32_t));
		w->gen = 1;
	}
	hs_database_t *dbs[2] = {s->db_all, w->any_path_ok ? s->db_path : NULL};
	for (int i = 0; i < 2; i++) {
		if (!dbs[i])
			continue;
		hs_error_t e =
		    hs_scan(dbs[i], b->data, (unsigned)b->len, 0, w->scratch, on_candidate, w);
		if (w->failed)
			return -1;
		if (e != HS_SUCCESS && e != HS_SCAN_TERMINATED)
			return bwk_error_set(err, BWK_E_INTERNAL, 0, "hyperscan scan failed (%d)",
					     e);
	}
	return emit(w);
}

/* ---- idle workers --------------------------------------------------------------------------
 * A worker's scratch space costs more to allocate than a small image's scan: workers are kept
 * with the rules they were made for and handed to the next scan that runs over them (the
 * images of `audit registry --scan-all`, the buffers of sec_scan_buffer). A worker holds no
 * state from one block to the next but its generation stamps. */

bwk_secrets_worker *sec_worker_take(bwk_secrets *s, bwk_error **err)
{
	pthread_mutex_lock(&s->lock);
	bwk_secrets_worker *w = s->npool ? s->pool[--s->npool] : NULL;
	pthread_mutex_unlock(&s->lock);
	return w ? w : bwk_secrets_worker_new(s, err);
}

void sec_worker_give(bwk_secrets *s, bwk_secrets_worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&s->lock);
	if (s->npool == s->cappool) {
		s->cappool = s->cappool ? s->cappool * 2 : 8;
		s->pool = xrealloc(s->pool, s->cappool * sizeof(*s->pool));
	}
	s->pool[s->npool++] = w;
	pthread_mutex_unlock(&s->lock);
}

/* ---- the public one-buffer scan ------------------------------------------------------------ */

int sec_scan_buffer(bwk_secrets *s, const char *rules_path, bool config, const void *data,
		    size_t len, bwk_secret_cb cb, void *ctx, bwk_error **err)
{
	bwk_secrets_worker *w = sec_worker_take(s, err);
	if (!w)
		return -1;
	sec_worker_set_path(w, rules_path);
	sec_block b = {
	    .data = data, .len = len, .own_start = 0, .own_end = len, .line = 1, .config = config};
	int ret = sec_scan_block(w, &b, cb, ctx, err);
	sec_worker_give(s, w);
	return ret;
}

int bwk_secrets_scan(bwk_secrets *s, const char *path, const void *data, size_t len,
		     bwk_secret_cb cb, void *ctx, bwk_error **err)
{
	if (sec_path_allowed(s, path))
		return 0;
	return sec_scan_buffer(s, path, false, data, len, cb, ctx, err);
}
