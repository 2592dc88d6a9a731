/* bulwark — the secret detector: every rule of rules/secrets.yaml (plus a user's --rules file)
 * compiled once into one multi-pattern database (Hyperscan), then each hit confirmed (PCRE2
 * capture, entropy, allowlists) and redacted before it is reported. Implemented in
 * src/lib/scan/secrets_*.c.
 */
#ifndef BULWARK_SECRETS_H
#define BULWARK_SECRETS_H

#include <stddef.h>

#include "bulwark/error.h"
#include "bulwark/finding.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bwk_secrets bwk_secrets;

/* Compile the built-in rules plus `user_rules` (YAML, may be NULL). Thread-safe to share once
 * built; per-thread scratch is handled inside. */
int bwk_secrets_new(const char *user_rules, bwk_secrets **out, bwk_error **err);
void bwk_secrets_free(bwk_secrets *s);
BWK_DEFINE_CLEANUP(bwk_secrets *, bwk_secrets_free)
size_t bwk_secrets_rule_count(const bwk_secrets *s);

/* The metadata of the secret rules bwk_secrets_new would build from the same arguments (the
 * built-in rules plus `user_rules`, its `disable:` list applied), without compiling a regex
 * (for `bulwark rules`). The rules are validated as far as parsing goes: a malformed file or
 * a duplicate id fails as it would for a scan. *out is the caller's: bwk_rule_list_free. */
int bwk_secrets_rule_list(const char *user_rules, bwk_rule_list **out, bwk_error **err);

/* One confirmed secret. `secret` points into the scanned buffer (valid during the callback). */
typedef struct bwk_secret_hit {
	const bwk_rule *rule;
	const char *secret;
	size_t secret_len;
	size_t offset; /* of the secret in the buffer */
	unsigned line; /* 1-based line of the secret in the buffer */
} bwk_secret_hit;

typedef int (*bwk_secret_cb)(void *ctx, const bwk_secret_hit *hit, bwk_error **err);

/* Scan a buffer (a config value, a whole small file). `path` (relative, may be NULL) selects
 * path-scoped rules and allowlists. Calls cb once per confirmed secret. */
int bwk_secrets_scan(bwk_secrets *s, const char *path, const void *data, size_t len,
		     bwk_secret_cb cb, void *ctx, bwk_error **err);

#ifdef __cplusplus
}
#endif
#endif
