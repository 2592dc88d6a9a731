/* Internals of the secret detector shared by secrets_rules.c (YAML → rules), secrets_engine.c
 * (Hyperscan + PCRE2) and secrets_file.c (files, archives, image config → findings). */
#ifndef BWK_SECRETS_PRIVATE_H
#define BWK_SECRETS_PRIVATE_H
#ifndef BWK_IN_SCAN
#error "secrets_private.h is private to src/lib/scan"
#endif

#define PCRE2_CODE_UNIT_WIDTH 8
#include <hs/hs.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "bulwark/secrets.h"
#include "bulwark/strv.h"

/* Limits on rule files: they are user input too. */
#define SEC_MAX_RULES_BYTES (4u << 20)
#define SEC_MAX_RULES	    4096
#define SEC_MAX_LIST	    256	 /* keywords, allow, examples, references per rule */
#define SEC_MAX_STR	    8192 /* one scalar */

/* Longest match the engine promises to find whole, and the left context it keeps before a
 * block so that a regex's \b sees the byte before a secret. Blocks overlap by both. */
#define SEC_MAX_MATCH (32u << 10)
#define SEC_CONTEXT   (4u << 10)

typedef struct sec_rule {
	bwk_rule meta; /* strings point into the fields below */
	char *id, *title, *description, *remediation;
	bwk_strv references, keywords, allow_src, allow_match_src, positive, negative;
	char *regex, *path;
	uint32_t group;
	double entropy; /* minimum bits/char of the secret; 0: no gate */
	pcre2_code *re;
	pcre2_code *path_re; /* NULL: every file */
	pcre2_code **allow;
	size_t nallow;
	/* `allow_match`: regexes on the whole match (the name as well as the value), for names
	 * that say the value is not a secret: csrf_token, publicToken, authenticity_token */
	pcre2_code **allow_match;
	size_t nallow_match;
	bool binary_ok; /* armored blocks (PEM): still reported inside binary files */
	/* `yields: true`: a catch-all reading of a location (any KEY=value of a .env file) that
	 * gives way to a specific rule reporting overlapping bytes, as the generic rules do */
	bool yields;
	/* Key material (the PEM rules) and the generic rules' values in test data or test code
	 * (tests/, testdata/, fixtures/, share/doc/<pkg>/examples/, test_x.py, x_test.go...)
	 * are reported through meta_test: the same id at info severity, titled as a public test
	 * key / test fixture. Never skipped: the same bytes anywhere else keep the rule's
	 * severity, and a vendor-specific token is not demoted even in a test directory. */
	bool test_info;
	bwk_rule meta_test;
	char *title_test;
	/* The secret is in the table of key material and generic values published in packages
	 * (data/secrets-public-keys.txt): reported at info as a public test key / public value
	 * wherever it is. */
	bwk_rule meta_public;
	char *title_public;
	bool user; /* from --rules */
} sec_rule;

typedef struct sec_ruleset {
	sec_rule *rules;
	size_t n, cap;
	bwk_strv disable; /* user file: ids to drop */
	bwk_strv allow_paths_src, allow_values_src;
	pcre2_code **allow_paths, **allow_values;
	size_t nallow_paths, nallow_values;
} sec_ruleset;

/* Per-thread state: Hyperscan scratch, PCRE2 match data and the per-rule progress of the
 * current block. Not shared between threads. */
typedef struct bwk_secrets_worker bwk_secrets_worker;

struct bwk_secrets {
	sec_ruleset rs;
	hs_database_t *db_all;	  /* rules without `path` */
	hs_database_t *db_path;	  /* path-scoped rules (NULL if none) */
	unsigned *path_rules;	  /* indexes of path-scoped rules */
	pcre2_code *test_path_re; /* test-data paths (SEC_TEST_PATHS) */
	char (*public_keys)[65];  /* sorted sha256 hex of published key material */
	size_t npublic_keys;
	char (*example_keys)[65]; /* sorted sha256 hex of published example secrets: dropped */
	size_t nexample_keys;
	size_t npath_rules;
	pthread_mutex_t lock; /* guards the worker pool used by bwk_secrets_scan */
	bwk_secrets_worker **pool;
	size_t npool, cappool;
};

/* ---- secrets_rules.c ---- */

/* Parse one rules document (built-in or user) into rs (appending). `name` names it in errors.
 * `user` allows the user-only keys (disable, allowlist). */
int sec_rules_parse(sec_ruleset *rs, const char *text, size_t len, const char *name, bool user,
		    bwk_error **err);
/* A rule regex with `{{assign}}` replaced by the shared name–value context (a new string). */
char *sec_expand_regex(const char *re);
/* A user rule must not reuse an id (built-in or its own). */
int sec_rules_check_ids(const sec_ruleset *rs, bwk_error **err);
/* The metadata of the built-in document plus the user file (its `disable:` applied), parsed
 * but not compiled, appended to `out`. */
int sec_rules_list(const char *builtin, size_t builtin_len, const char *user_rules,
		   bwk_rule_list *out, bwk_error **err);
/* Compile PCRE2 regexes (rule, path, allow, global allowlists) and check every rule. */
int sec_rules_compile(sec_ruleset *rs, bwk_error **err);
/* Drop rules named by rs->disable (an unknown id is an error: a typo must not go unnoticed). */
int sec_rules_apply_disable(sec_ruleset *rs, const char *name, bwk_error **err);
void sec_ruleset_free(sec_ruleset *rs);
/* Read a user rules file after the OpenDoas-style trust check. *text is NULL (and 0 returned)
 * when the file is ignored with a warning. */
int sec_rules_read_user(const char *path, char **text, size_t *len, bwk_error **err);

/* ---- secrets_engine.c ---- */

/* Build from an explicit built-in document (tests use their own) plus an optional user file. */
int bwk_secrets_new_from(const char *builtin, size_t builtin_len, const char *user_rules,
			 bwk_secrets **out, bwk_error **err);
const sec_rule *bwk_secrets_rule(const bwk_secrets *s, size_t i);

bwk_secrets_worker *bwk_secrets_worker_new(const bwk_secrets *s, bwk_error **err);
void bwk_secrets_worker_free(bwk_secrets_worker *w);

/* A file (or any stream) is scanned as a sequence of blocks: each block repeats the last
 * SEC_MAX_MATCH + SEC_CONTEXT bytes of the previous one, and a match belongs to the block its
 * start falls in: [own_start, own_end). */
typedef struct sec_block {
	const char *data;
	size_t len;
	size_t own_start, own_end;
	unsigned line; /* 1-based line number of data[0] */
	bool binary;   /* only binary_ok rules are reported */
	bool config;   /* image config text: shape rules win over .env rules on the same bytes */
} sec_block;

/* A worker for S: an idle one, else a new one (NULL and err on failure); given back with
 * sec_worker_give (NULL: nothing), freed with S. Thread-safe. */
bwk_secrets_worker *sec_worker_take(bwk_secrets *s, bwk_error **err);
void sec_worker_give(bwk_secrets *s, bwk_secrets_worker *w);
/* Select the rules that apply to `path` (NULL: no path-scoped rule) for the next blocks. */
void sec_worker_set_path(bwk_secrets_worker *w, const char *path);
/* True if the path given to sec_worker_set_path is test data (SEC_TEST_PATHS). */
bool sec_worker_test_path(const bwk_secrets_worker *w);
/* True if these bytes' sha256 is in the published-key table (data/secrets-public-keys.txt). */
bool sec_published(const bwk_secrets *s, const void *data, size_t len);
/* True if the global allowlist excludes the path entirely. */
bool sec_path_allowed(const bwk_secrets *s, const char *path);
int sec_scan_block(bwk_secrets_worker *w, const sec_block *b, bwk_secret_cb cb, void *ctx,
		   bwk_error **err);

/* Parse the published-key table (lines starting with a 64-hex sha256; '#' comments) into a
 * sorted array. Returns the number of entries; malformed lines are an error. */
int sec_public_keys_parse(const char *text, size_t len, char (**out)[65], size_t *n,
			  bwk_error **err);

/* ---- secrets_keystore.c ---- */

/* Keystores larger than this are not opened (real ones are a few KiB). */
#define SEC_KEYSTORE_MAX (1u << 20)
/* Keystores one scan opens; past it they are not checked, and the report says so. */
#define SEC_MAX_SCAN_KEYSTORES 256

typedef struct sec_keystore_result {
	unsigned keys;	  /* private keys that open */
	bool unprotected; /* at least one is stored without any encryption */
	int password;	  /* else: index of the well-known password that opens them */
} sec_keystore_result;

/* True if the bytes start like a DER PKCS#12 PFX (version 3). */
bool sec_keystore_sniff(const void *data, size_t len);
/* 1 if data is a PKCS#12 keystore with a private key that opens without a password or with a
 * well-known one (*out says how), else 0: not PKCS#12, malformed, only certificates, a
 * password outside the list, or a key-derivation cost beyond the check's bound. */
int sec_keystore_check(const void *data, size_t len, sec_keystore_result *out);
/* The well-known password at index pw (NULL: no/empty password). */
const char *sec_keystore_password_name(int pw);
/* The finding's rule: pkcs12-keystore-weak-password; _public: the same at info, for a keystore
 * published in a package (the whole file in data/secrets-public-keys.txt) or in test data. */
extern const bwk_rule sec_rule_keystore, sec_rule_keystore_public;

/* True if the bytes start like a Java keystore (JKS or JCEKS, version 1 or 2). */
bool sec_jks_sniff(const void *data, size_t len);
/* 1 if data is a JKS/JCEKS keystore holding a private or secret key whose integrity password
 * is empty or well known (out->password; out->keys is 1: the count is not read), else 0. */
int sec_jks_check(const void *data, size_t len, sec_keystore_result *out);
/* The finding's rule: java-keystore-weak-password (_public: as above). */
extern const bwk_rule sec_rule_java_keystore, sec_rule_java_keystore_public;

/* ---- secrets_cache.c ---- */

/* Cache file for the databases compiled from these rule texts (NULL: no trusted cache). */
char *sec_cache_path(const char *const *texts, const size_t *lens, size_t n);
int sec_cache_load(const char *path, hs_database_t **all, hs_database_t **bypath);
void sec_cache_store(const char *path, const hs_database_t *all, const hs_database_t *bypath);

/* Scan one buffer with the rules that apply to `rules_path` (which only selects path-scoped
 * rules: the path allowlist is not consulted). */
int sec_scan_buffer(bwk_secrets *s, const char *rules_path, bool config, const void *data,
		    size_t len, bwk_secret_cb cb, void *ctx, bwk_error **err);

/* A rule's regex as the Hyperscan prefilter reads it (a superset: see secrets_engine.c), with
 * its HS_FLAG_* in *flags. */
char *sec_hs_expression(const char *re, unsigned *flags);

/* Newlines in [p, p+n). */
size_t sec_count_lines(const char *p, size_t n);

#endif
