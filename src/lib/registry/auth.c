/* The WWW-Authenticate challenge (RFC 7235) and the token endpoint's answer (the distribution
 * token specification). Both come from the network: bounded, every byte checked. */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/cleanup.h"
#include "registry/registry_private.h"

#define MAX_TOKEN (64u << 10) /* a JWT with many scopes is a few KiB */

static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

typedef struct cursor {
	const char *p, *end;
} cursor;

static void skip_ws(cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

static size_t token_len(const cursor *c)
{
	size_t n = 0;
	while (c->p + n < c->end && c->p[n] && is_tchar(c->p[n]))
		n++;
	return n;
}

/* A quoted-string after the opening quote: \x escapes any byte; control bytes refused. */
static int quoted(cursor *c, char **out)
{
	bwk_strbuf sb;
	bwk_strbuf_init(&sb, BWK_REG_MAX_CHALLENGE);
	for (;;) {
		if (c->p >= c->end || !*c->p) {
			bwk_strbuf_free(&sb);
			return -1;
		}
		char ch = *c->p++;
		if (ch == '"')
			break;
		if (ch == '\\') {
			if (c->p >= c->end || !*c->p) {
				bwk_strbuf_free(&sb);
				return -1;
			}
			ch = *c->p++;
		}
		if ((unsigned char)ch < 0x20 && ch != '\t') {
			bwk_strbuf_free(&sb);
			return -1;
		}
		bwk_strbuf_appendn(&sb, &ch, 1);
	}
	*out = bwk_strbuf_steal(&sb);
	return 0;
}

static void set_param(reg_challenge *ch, const char *k, size_t kn, char *v)
{
	char **slot = NULL;
	if (kn == 5 && !strncasecmp(k, "realm", 5))
		slot = &ch->realm;
	else if (kn == 7 && !strncasecmp(k, "service", 7))
		slot = &ch->service;
	else if (kn == 5 && !strncasecmp(k, "scope", 5))
		slot = &ch->scope;
	if (slot && !*slot) {
		*slot = v;
		return;
	}
	free(v);
}

static int malformed(bwk_error **err, const char *why)
{
	return bwk_error_set(err, BWK_E_INPUT, 0,
			     "the registry's WWW-Authenticate header is malformed (%s)", why);
}

/* Parses challenges until a Basic or Bearer one is complete; the others are skipped. */
int reg_challenge_parse(const char *s, size_t len, reg_challenge *out, bwk_error **err)
{
	memset(out, 0, sizeof(*out));
	if (len > BWK_REG_MAX_CHALLENGE)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "the registry's WWW-Authenticate header is longer than %u "
				     "bytes",
				     BWK_REG_MAX_CHALLENGE);
	cursor c = {s, s + len};
	reg_challenge cur = {0};
	bool have = false; /* a scheme is open in cur */
	for (;;) {
		skip_ws(&c);
		while (c.p < c.end && *c.p == ',') {
			c.p++;
			skip_ws(&c);
		}
		if (c.p >= c.end || !*c.p)
			break;
		size_t n = token_len(&c);
		if (!n) {
			reg_challenge_free(&cur);
			return malformed(err, "unexpected character");
		}
		const char *name = c.p;
		c.p += n;
		skip_ws(&c);
		if (c.p < c.end && *c.p == '=') {
			/* an auth-param of the open scheme (or a token68 ending in '=') */
			c.p++;
			skip_ws(&c);
			char *v = NULL;
			if (c.p < c.end && *c.p == '"') {
				c.p++;
				if (quoted(&c, &v) < 0) {
					reg_challenge_free(&cur);
					return malformed(err, "unterminated quoted string");
				}
			} else {
				size_t vn = token_len(&c);
				v = xstrndup(c.p, vn);
				c.p += vn;
				while (c.p < c.end && *c.p == '=') /* token68 padding */
					c.p++;
			}
			if (have)
				set_param(&cur, name, n, v);
			else
				free(v);
			skip_ws(&c);
			if (c.p < c.end && *c.p && *c.p != ',') {
				reg_challenge_free(&cur);
				return malformed(err, "expected ',' between parameters");
			}
			continue;
		}
		/* a new scheme: the previous one, if usable, wins */
		if (have && cur.scheme != REG_AUTH_NONE)
			break;
		reg_challenge_free(&cur);
		have = true;
		if (n == 6 && !strncasecmp(name, "bearer", 6))
			cur.scheme = REG_AUTH_BEARER;
		else if (n == 5 && !strncasecmp(name, "basic", 5))
			cur.scheme = REG_AUTH_BASIC;
	}
	if (cur.scheme == REG_AUTH_BEARER && (!cur.realm || !*cur.realm)) {
		reg_challenge_free(&cur);
		return malformed(err, "a Bearer challenge without a realm");
	}
	*out = cur;
	return 0;
}

void reg_challenge_free(reg_challenge *c)
{
	free(c->realm);
	free(c->service);
	free(c->scope);
	memset(c, 0, sizeof(*c));
}

int reg_token_parse(const char *body, size_t len, char **token, bwk_error **err)
{
	*token = NULL;
	json_error_t je;
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!j || !json_is_object(j)) {
		json_decref(j);
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "the token endpoint's answer is not a JSON object");
	}
	const char *t = json_string_value(json_object_get(j, "token"));
	if (!t || !*t)
		t = json_string_value(json_object_get(j, "access_token"));
	int rc = 0;
	if (!t || !*t) {
		rc = bwk_error_set(err, BWK_E_INPUT, 0, "the token endpoint's answer has no token");
	} else if (strlen(t) > MAX_TOKEN) {
		rc = bwk_error_set(err, BWK_E_LIMIT, 0,
				   "the token endpoint's token is longer than %u KiB",
				   MAX_TOKEN >> 10);
	} else {
		for (const char *p = t; *p; p++)
			if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f) {
				/* it goes into a header line */
				json_decref(j);
				return bwk_error_set(err, BWK_E_INPUT, 0,
						     "the token endpoint's token holds a space "
						     "or control character");
			}
		*token = xstrdup(t);
	}
	json_decref(j);
	return rc;
}
