/* Rules on the accounts of the merged filesystem (/etc/passwd joined with /etc/shadow) and on
 * who owns the files: what an attacker who reaches a login prompt, su or a mounted volume
 * inherits from the way the image was built. */
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "scan/scan_private.h"

/* ---- parsing ------------------------------------------------------------------------------ */

/* Field `i` (0-based) of a ':'-separated line [p, end), copied; NULL when absent. */
static char *field(const char *p, const char *end, int i)
{
	for (; i > 0; i--) {
		const char *c = memchr(p, ':', (size_t)(end - p));
		if (!c)
			return NULL;
		p = c + 1;
	}
	const char *c = memchr(p, ':', (size_t)(end - p));
	return xstrndup(p, (size_t)((c ? c : end) - p));
}

static bool parse_id(const char *s, long *out)
{
	if (!s || !*s || strlen(s) > 10)
		return false;
	char *end = NULL;
	long v = strtol(s, &end, 10);
	if (*end || v < 0)
		return false;
	*out = v;
	return true;
}

static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	return nl ? nl : end;
}

static void add_passwd_line(bwk_accounts *a, const char *p, const char *e)
{
	if (p == e || *p == '#' || *p == '+' || *p == '-')
		return; /* comments and NIS compat entries are not accounts */
	cleanup_free char *uid = field(p, e, 2), *gid = field(p, e, 3);
	bwk_account acc = {0};
	if (!parse_id(uid, &acc.uid) || !parse_id(gid, &acc.gid))
		return;
	acc.name = field(p, e, 0);
	acc.hash = field(p, e, 1);
	acc.shell = field(p, e, 6);
	if (!acc.shell)
		acc.shell = xstrdup("");
	if (!acc.name || !*acc.name) {
		free(acc.name);
		free(acc.hash);
		free(acc.shell);
		return;
	}
	a->v = xrealloc(a->v, (a->n + 1) * sizeof(*a->v));
	a->v[a->n++] = acc;
}

static void join_shadow_line(bwk_accounts *a, const char *p, const char *e)
{
	cleanup_free char *name = field(p, e, 0);
	if (!name || !*name)
		return;
	for (size_t i = 0; i < a->n; i++) {
		if (strcmp(a->v[i].name, name) != 0)
			continue;
		free(a->v[i].hash);
		a->v[i].hash = field(p, e, 1);
		if (!a->v[i].hash)
			a->v[i].hash = xstrdup("!");
		a->v[i].in_shadow = true;
	}
}

void bwk_accounts_parse(bwk_accounts *a, const char *passwd, size_t plen, const char *shadow,
			size_t slen)
{
	memset(a, 0, sizeof(*a));
	const char *end = passwd + plen;
	for (const char *p = passwd; p < end && a->n < BWK_ACCOUNTS_MAX;) {
		const char *e = line_end(p, end);
		add_passwd_line(a, p, e > p && e[-1] == '\r' ? e - 1 : e);
		p = e + 1;
	}
	if (!shadow)
		return;
	end = shadow + slen;
	unsigned lines = 0;
	for (const char *p = shadow; p < end && lines++ < BWK_ACCOUNTS_MAX;) {
		const char *e = line_end(p, end);
		join_shadow_line(a, p, e > p && e[-1] == '\r' ? e - 1 : e);
		p = e + 1;
	}
}

void bwk_accounts_free(bwk_accounts *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].name);
		free(a->v[i].hash);
		free(a->v[i].shell);
	}
	free(a->v);
	memset(a, 0, sizeof(*a));
}

const bwk_account *bwk_accounts_by_name(const bwk_accounts *a, const char *name)
{
	for (size_t i = 0; a && i < a->n; i++)
		if (strcmp(a->v[i].name, name) == 0)
			return &a->v[i];
	return NULL;
}

const bwk_account *bwk_accounts_by_uid(const bwk_accounts *a, long uid)
{
	for (size_t i = 0; a && i < a->n; i++)
		if (a->v[i].uid == uid)
			return &a->v[i];
	return NULL;
}

/* A password field that lets someone log in with a password: not empty, not locked ('!' or
 * '*' first), not the "x" that points at shadow. */
static bool usable_hash(const char *h)
{
	return h && *h && *h != '!' && *h != '*' && strcmp(h, "x") != 0;
}

/* A service (system) account: below the usual first human uid, or with a shell that refuses
 * logins. Root counts: a root password in an image is the same for every container of it. */
static bool service_account(const bwk_account *acc)
{
	const char *sh = strrchr(acc->shell, '/');
	sh = sh ? sh + 1 : acc->shell;
	return acc->uid < 1000 || !strcmp(sh, "nologin") || !strcmp(sh, "false");
}

static const bwk_location *where(const bwk_account *acc, const bwk_location *pw,
				 const bwk_location *sh)
{
	return acc->in_shadow && sh->path ? sh : pw;
}

/* ---- account-empty-password ----------------------------------------------------------------- */
static int check_empty_password(bwk_cfgscan *cs, const bwk_image_config *c, bwk_final_hit_fn hit,
				void *hctx, bwk_error **err)
{
	(void)c;
	bwk_location pw, sh;
	const bwk_accounts *a = bwk_cfgscan_accounts(cs, &pw, &sh);
	for (size_t i = 0; a && i < a->n; i++) {
		if (a->v[i].hash && *a->v[i].hash)
			continue;
		cleanup_free char *msg = xasprintf("account '%s' (uid %ld) has an empty password",
						   a->v[i].name, a->v[i].uid);
		if (hit(hctx, where(&a->v[i], &pw, &sh), msg, -1, err) < 0)
			return -1;
	}
	return 0;
}

const bwk_config_rule bwk_rule_row_empty_password = {
    .rule = BWK_RULE(
	"account-empty-password", BWK_CAT_CONFIG, BWK_SEV_HIGH,
	.title = "Account with an empty password",
	.description =
	    "The account's password field is empty, so `su ACCOUNT`, a login service or any "
	    "PAM-based tool in the container accepts it with no password at all. A process that "
	    "breaks in as another user becomes this account (often root) in one step.",
	.remediation = "Lock the account in the Dockerfile (`RUN passwd -l ACCOUNT` or `usermod -p "
		       "'!' ACCOUNT`) instead of clearing its password.",
	.references =
	    BWK_REFS("Dockle DKL-LI-0001", "https://man7.org/linux/man-pages/man5/shadow.5.html")),
    .final = check_empty_password,
};

/* ---- account-extra-uid0 -------------------------------------------------------------------- */
static int check_extra_uid0(bwk_cfgscan *cs, const bwk_image_config *c, bwk_final_hit_fn hit,
			    void *hctx, bwk_error **err)
{
	(void)c;
	bwk_location pw, sh;
	const bwk_accounts *a = bwk_cfgscan_accounts(cs, &pw, &sh);
	for (size_t i = 0; a && i < a->n; i++) {
		if (a->v[i].uid != 0 || strcmp(a->v[i].name, "root") == 0)
			continue;
		cleanup_free char *msg = xasprintf("account '%s' has uid 0", a->v[i].name);
		if (hit(hctx, &pw, msg, -1, err) < 0)
			return -1;
	}
	return 0;
}

const bwk_config_rule bwk_rule_row_extra_uid0 = {
    .rule = BWK_RULE(
	"account-extra-uid0", BWK_CAT_CONFIG, BWK_SEV_HIGH,
	.title = "Account other than root with uid 0",
	.description = "An account other than root has user id 0: it is root under another name. "
		       "Reviews and rules that look for `root` miss it, and it is a classic way to "
		       "keep a back door in an image.",
	.remediation = "Remove the account or give it its own unprivileged uid (`usermod -u 10001 "
		       "NAME`); if something needs root, say so with USER root where it is needed.",
	.references = BWK_REFS("CIS Docker Benchmark 4.1",
			       "https://man7.org/linux/man-pages/man5/passwd.5.html")),
    .final = check_extra_uid0,
};

/* ---- account-duplicate-uid ----------------------------------------------------------------- */
static int check_duplicate_uid(bwk_cfgscan *cs, const bwk_image_config *c, bwk_final_hit_fn hit,
			       void *hctx, bwk_error **err)
{
	(void)c;
	bwk_location pw, sh;
	const bwk_accounts *a = bwk_cfgscan_accounts(cs, &pw, &sh);
	for (size_t i = 0; a && i < a->n && i < 4096; i++) {
		if (a->v[i].uid == 0)
			continue; /* account-extra-uid0 says it louder */
		for (size_t j = 0; j < i; j++) {
			if (a->v[j].uid != a->v[i].uid)
				continue;
			cleanup_free char *msg = xasprintf("'%s' and '%s' both have uid %ld",
							   a->v[j].name, a->v[i].name, a->v[i].uid);
			if (hit(hctx, &pw, msg, -1, err) < 0)
				return -1;
			break;
		}
	}
	return 0;
}

const bwk_config_rule bwk_rule_row_duplicate_uid = {
    .rule = BWK_RULE(
	"account-duplicate-uid", BWK_CAT_CONFIG, BWK_SEV_LOW,
	.title = "Two accounts share a user id",
	.description = "Two accounts have the same uid: the kernel sees one user, so each owns the "
		       "other's files and processes, and logs name whichever comes first.",
	.remediation = "Give each account its own uid in the Dockerfile (`useradd -u`), or remove "
		       "the duplicate.",
	.references =
	    BWK_REFS("Dockle DKL-LI-0002", "https://man7.org/linux/man-pages/man5/passwd.5.html")),
    .final = check_duplicate_uid,
};

/* ---- account-service-password ---------------------------------------------------------------- */
static int check_service_password(bwk_cfgscan *cs, const bwk_image_config *c, bwk_final_hit_fn hit,
				  void *hctx, bwk_error **err)
{
	(void)c;
	bwk_location pw, sh;
	const bwk_accounts *a = bwk_cfgscan_accounts(cs, &pw, &sh);
	for (size_t i = 0; a && i < a->n; i++) {
		if (!usable_hash(a->v[i].hash) || !service_account(&a->v[i]))
			continue;
		/* the kind of hash, never the hash */
		const char *h = a->v[i].hash;
		cleanup_free char *kind =
		    h[0] == '$' ? xstrndup(h, strcspn(h + 1, "$") + 2) : xstrdup("DES crypt");
		cleanup_free char *msg = xasprintf("account '%s' (uid %ld) has a %s password hash",
						   a->v[i].name, a->v[i].uid, kind);
		if (hit(hctx, where(&a->v[i], &pw, &sh), msg, -1, err) < 0)
			return -1;
	}
	return 0;
}

const bwk_config_rule bwk_rule_row_service_password = {
    .rule =
	BWK_RULE("account-service-password", BWK_CAT_CONFIG, BWK_SEV_MEDIUM,
		 .title = "Password hash for a system account",
		 .description = "A system account (root, a daemon's account, one with a nologin "
				"shell) has a usable password hash. Every container of the image "
				"carries the same hash: anyone who pulls the image can crack it "
				"offline, and the password then opens `su` in every running copy.",
		 .remediation = "Lock the account (`passwd -l NAME`, or '!' / '*' in /etc/shadow); "
				"containers need no passwords, use `docker exec` for access.",
		 .references = BWK_REFS("CIS Docker Benchmark 4.10",
					"https://man7.org/linux/man-pages/man5/shadow.5.html")),
    .final = check_service_password,
};

/* ---- image-user-unknown ------------------------------------------------------------------- */
static int check_user_unknown(bwk_cfgscan *cs, const bwk_image_config *c, bwk_final_hit_fn hit,
			      void *hctx, bwk_error **err)
{
	bwk_location pw, sh;
	const bwk_accounts *a = bwk_cfgscan_accounts(cs, &pw, &sh);
	if (!c || !a || !c->user || !*c->user)
		return 0;
	cleanup_free char *user = xstrndup(c->user, strcspn(c->user, ":"));
	long uid;
	bool numeric = parse_id(user, &uid);
	if (numeric ? uid == 0 || bwk_accounts_by_uid(a, uid) != NULL
		    : bwk_accounts_by_name(a, user) != NULL)
		return 0;
	cleanup_free char *msg =
	    numeric ? xasprintf("USER %s: no account has uid %s (the process runs nameless)",
				c->user, user)
		    : xasprintf("USER %s: no account named '%s' (the container will not start)",
				c->user, user);
	bwk_location loc = {.layer_index = -1, .key = "config.User"};
	return hit(hctx, &loc, msg, numeric ? -1 : BWK_SEV_MEDIUM, err);
}

const bwk_config_rule bwk_rule_row_user_unknown = {
    .rule = BWK_RULE(
	"image-user-unknown", BWK_CAT_CONFIG, BWK_SEV_LOW,
	.title = "USER is not an account of the image",
	.description = "The image's USER names no account in its /etc/passwd. A name that does not "
		       "exist makes the container fail to start; a bare uid runs with no name and "
		       "no home directory, so tools that look the user up (ssh, git, pip, many "
		       "entrypoints) fail or fall back to writing in /.",
	.remediation = "Create the account in the Dockerfile before USER (`RUN useradd -r -u 10001 "
		       "app`), or use a uid the base image already defines (e.g. 65534 nobody).",
	.references =
	    BWK_REFS("Dockle CIS-DI-0001", "https://docs.docker.com/reference/dockerfile/#user")),
    .final = check_user_unknown,
};

/* ---- file-owner-unknown -------------------------------------------------------------------- */
static int check_owner_unknown(bwk_cfgscan *cs, const bwk_image_config *c, bwk_final_hit_fn hit,
			       void *hctx, bwk_error **err)
{
	(void)c;
	bwk_location pw, sh;
	const bwk_accounts *a = bwk_cfgscan_accounts(cs, &pw, &sh);
	if (!a)
		return 0; /* no /etc/passwd (scratch, distroless static): nothing to judge by */
	const bwk_owner_note *notes = NULL;
	size_t n = bwk_cfgscan_owners(cs, &notes);
	for (size_t i = 0; i < n; i++) {
		if (notes[i].uid == 0 || bwk_accounts_by_uid(a, notes[i].uid))
			continue;
		cleanup_free char *msg =
		    xasprintf("%llu entr%s owned by uid %u, which has no account (the first: /%s)",
			      (unsigned long long)notes[i].count, notes[i].count == 1 ? "y" : "ies",
			      notes[i].uid, notes[i].first.path);
		if (hit(hctx, &notes[i].first, msg, -1, err) < 0)
			return -1;
	}
	return 0;
}

const bwk_config_rule bwk_rule_row_owner_unknown = {
    .rule = BWK_RULE(
	"file-owner-unknown", BWK_CAT_CONFIG, BWK_SEV_LOW,
	.title = "Files owned by a user id with no account",
	.description = "Files belong to a uid that has no account in the image, usually the build "
		       "machine's user leaking in through COPY or an unpacked archive. Whoever "
		       "gets that uid later (a new account, a user namespace mapping, the host "
		       "user on a bind mount) owns these files and can change them.",
	.remediation = "Set the owner when copying (`COPY --chown=app:app`), or `chown -R` in the "
		       "step that unpacks the archive (`tar --no-same-owner`).",
	.references =
	    BWK_REFS("CIS Docker Benchmark 4 (image hygiene)",
		     "https://docs.docker.com/reference/dockerfile/#copy---chown---chmod")),
    .final = check_owner_unknown,
};
