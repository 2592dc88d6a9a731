/* Version order of each ecosystem, exactly as its own tools order versions: a vulnerability
 * is "fixed in 1.2.3-1~deb12u1" only in dpkg's order, where '~' sorts before everything.
 *
 *   dpkg    dpkg's verrevcmp (lib/dpkg/version.c): epoch, upstream, revision
 *   apk     apk-tools' token order (src/version.c): digits, letter, _suffix, -rN
 *   PEP 440 epoch, release, pre, post, dev, local (packaging.version)
 *   SemVer  semver.org 2.0.0 section 11
 *   rpm     rpm's rpmvercmp (rpmio/rpmvercmp.c) on each of epoch, version and release
 *   Maven   Maven's ComparableVersion as its ComparableVersionTest pins it (maven-artifact
 *           3.0-3.5): numbers and qualifiers, number '-' number opening a nested list
 *
 * Every input is untrusted (advisories, package databases): bounded length, no recursion. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/vuln.h"

#define MAX_VERSION 256

static int sign(long v)
{
	return (v > 0) - (v < 0);
}

/* Digit strings compared by value, whatever their length. */
static int numcmp(const char *a, size_t an, const char *b, size_t bn)
{
	while (an && *a == '0') {
		a++;
		an--;
	}
	while (bn && *b == '0') {
		b++;
		bn--;
	}
	if (an != bn)
		return an < bn ? -1 : 1;
	int c = an ? memcmp(a, b, an) : 0;
	return sign(c);
}

/* ---- dpkg -------------------------------------------------------------------------------- */

static int dpkg_order(int c)
{
	if (isdigit(c))
		return 0;
	if (isalpha(c))
		return c;
	if (c == '~')
		return -1;
	if (c)
		return c + 256;
	return 0;
}

/* dpkg's verrevcmp on [a, ae) and [b, be). */
static int verrevcmp(const char *a, const char *ae, const char *b, const char *be)
{
#define CA (a < ae ? (unsigned char)*a : 0)
#define CB (b < be ? (unsigned char)*b : 0)
	while (a < ae || b < be) {
		int first_diff = 0;
		while ((CA && !isdigit(CA)) || (CB && !isdigit(CB))) {
			int ac = dpkg_order(CA), bc = dpkg_order(CB);
			if (ac != bc)
				return sign(ac - bc);
			a++;
			b++;
		}
		while (CA == '0')
			a++;
		while (CB == '0')
			b++;
		while (isdigit(CA) && isdigit(CB)) {
			if (!first_diff)
				first_diff = CA - CB;
			a++;
			b++;
		}
		if (isdigit(CA))
			return 1;
		if (isdigit(CB))
			return -1;
		if (first_diff)
			return sign(first_diff);
	}
	return 0;
#undef CA
#undef CB
}

typedef struct dpkg_ver {
	const char *epoch; /* digits, may be empty */
	size_t nepoch;
	const char *up, *upe, *rev, *reve;
} dpkg_ver;

/* dpkg's parseversion with its hard errors (empty, a bad epoch, nothing after the colon, an
 * empty revision, embedded spaces). What dpkg only warns about (no leading digit, odd
 * characters) it still compares, and so do we; control bytes never pass. */
static bool dpkg_parse(const char *s, dpkg_ver *v)
{
	size_t n = strlen(s);
	if (n == 0 || n > MAX_VERSION)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return false;
	const char *colon = strchr(s, ':');
	const char *up = s;
	*v = (dpkg_ver){.epoch = "", .nepoch = 0};
	if (colon) {
		if (colon == s)
			return false;
		for (const char *p = s; p < colon; p++)
			if (!isdigit((unsigned char)*p))
				return false;
		v->epoch = s;
		v->nepoch = (size_t)(colon - s);
		up = colon + 1;
	}
	const char *end = s + n;
	const char *dash = memrchr(up, '-', (size_t)(end - up));
	v->up = up;
	v->upe = dash ? dash : end;
	v->rev = dash ? dash + 1 : end;
	v->reve = end;
	if (v->up == v->upe)
		return false;
	if (dash && v->rev == v->reve)
		return false;
	return true;
}

static int dpkg_cmp(const char *a, const char *b, int *out)
{
	dpkg_ver x, y;
	if (!dpkg_parse(a, &x) || !dpkg_parse(b, &y))
		return -1;
	int c = numcmp(x.epoch, x.nepoch, y.epoch, y.nepoch);
	if (!c)
		c = verrevcmp(x.up, x.upe, y.up, y.upe);
	if (!c)
		c = verrevcmp(x.rev, x.reve, y.rev, y.reve);
	*out = c;
	return 0;
}

/* ---- apk --------------------------------------------------------------------------------- */

/* Token types in apk-tools' order: a longer version beats a shorter one unless what follows
 * is a pre-release suffix, and a later token type is "less". */
enum {
	T_START = -2,
	T_INVALID = -1,
	T_DIGIT_OR_ZERO,
	T_DIGIT,
	T_LETTER,
	T_SUFFIX,
	T_SUFFIX_NO,
	T_REV_NO,
	T_END
};

typedef struct apk_tok {
	int type;
	const char *s;
	size_t n;
	int suffix; /* T_SUFFIX: <0 pre-release, >0 post-release */
} apk_tok;

static int apk_suffix(const char *s, size_t n)
{
	static const char *const pre[] = {"alpha", "beta", "pre", "rc"};
	static const char *const post[] = {"cvs", "svn", "git", "hg", "p"};
	for (int i = 0; i < 4; i++)
		if (strlen(pre[i]) == n && memcmp(pre[i], s, n) == 0)
			return i - 4;
	for (int i = 0; i < 5; i++)
		if (strlen(post[i]) == n && memcmp(post[i], s, n) == 0)
			return i + 1;
	return 0;
}

/* Next token after one of type `prev` at *p. */
static apk_tok apk_next(const char **p, int prev)
{
	const char *s = *p;
	apk_tok t = {.type = T_INVALID, .s = s};
	size_t n = 0;
	if (!*s) {
		t.type = T_END;
		return t;
	}
	if (prev == T_START) {
		t.type = isdigit((unsigned char)*s) ? T_DIGIT : T_INVALID;
	} else if (prev == T_DIGIT || prev == T_DIGIT_OR_ZERO) {
		if (*s == '.' && isdigit((unsigned char)s[1])) {
			s++;
			t.type = T_DIGIT_OR_ZERO; /* every component after a dot */
		} else if (islower((unsigned char)*s) && !isalpha((unsigned char)s[1])) {
			t.type = T_LETTER;
			t.s = s;
			t.n = 1;
			*p = s + 1;
			return t;
		}
	} else if (prev == T_SUFFIX && isdigit((unsigned char)*s)) {
		t.type = T_SUFFIX_NO;
	}
	if (t.type == T_INVALID && *s == '_' && prev != T_REV_NO) {
		s++;
		while (islower((unsigned char)s[n]))
			n++;
		t.suffix = apk_suffix(s, n);
		if (!t.suffix)
			return t;
		t.type = T_SUFFIX;
		t.s = s;
		t.n = n;
		*p = s + n;
		return t;
	}
	if (t.type == T_INVALID && s[0] == '-' && s[1] == 'r' && isdigit((unsigned char)s[2]) &&
	    prev != T_REV_NO) {
		s += 2;
		t.type = T_REV_NO;
	}
	if (t.type == T_INVALID)
		return t;
	while (isdigit((unsigned char)s[n]))
		n++;
	t.s = s;
	t.n = n;
	*p = s + n;
	return t;
}

static int apk_tokcmp(const apk_tok *a, const apk_tok *b)
{
	switch (a->type) {
	case T_DIGIT_OR_ZERO: {
		/* apk: leading zeros after a dot count as a negative value (more zeros, lower:
		 * "1.001" < "1.01" < "1.1"), then the digits after them compare as a number */
		size_t za = 0, zb = 0;
		while (za < a->n && a->s[za] == '0')
			za++;
		while (zb < b->n && b->s[zb] == '0')
			zb++;
		if (za != zb)
			return za > zb ? -1 : 1;
		return numcmp(a->s + za, a->n - za, b->s + zb, b->n - zb);
	}
	case T_LETTER:
		return sign(*a->s - *b->s);
	case T_SUFFIX:
		return sign(a->suffix - b->suffix);
	default:
		return numcmp(a->s, a->n, b->s, b->n);
	}
}

static bool apk_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > MAX_VERSION || !isdigit((unsigned char)*s))
		return false;
	const char *p = s;
	apk_tok t = apk_next(&p, T_START);
	while (t.type != T_END) {
		t = apk_next(&p, t.type);
		if (t.type == T_INVALID)
			return false;
	}
	return true;
}

static int apk_cmp(const char *a, const char *b, int *out)
{
	if (!apk_valid(a) || !apk_valid(b))
		return -1;
	const char *pa = a, *pb = b;
	/* the first component is a plain number */
	apk_tok ta = apk_next(&pa, T_START), tb = apk_next(&pb, T_START);
	while (ta.type == tb.type && ta.type != T_END) {
		int c = apk_tokcmp(&ta, &tb);
		if (c) {
			*out = c;
			return 0;
		}
		ta = apk_next(&pa, ta.type);
		tb = apk_next(&pb, tb.type);
	}
	if (ta.type == tb.type) {
		*out = 0;
		return 0;
	}
	/* "1.2_rc1" < "1.2" < "1.2_p1" < "1.2.1"; "1.2-r1" < "1.2a" */
	if (ta.type == T_SUFFIX && ta.suffix < 0) {
		*out = -1;
		return 0;
	}
	if (tb.type == T_SUFFIX && tb.suffix < 0) {
		*out = 1;
		return 0;
	}
	*out = ta.type > tb.type ? -1 : 1;
	return 0;
}

/* ---- PEP 440 ----------------------------------------------------------------------------- */

#define PEP_MAX_REL 32

typedef struct pep_ver {
	const char *epoch;
	size_t nepoch;
	struct {
		const char *s;
		size_t n;
	} rel[PEP_MAX_REL];
	size_t nrel;
	int pre_kind; /* 0 none, 1 a, 2 b, 3 rc */
	const char *pre;
	size_t npre;
	bool has_post, has_dev;
	const char *post, *dev;
	size_t npost, ndev;
	const char *local; /* after '+', or NULL */
} pep_ver;

static size_t digits(const char *s)
{
	size_t n = 0;
	while (isdigit((unsigned char)s[n]))
		n++;
	return n;
}

static bool word(const char **p, const char *w)
{
	size_t n = strlen(w);
	if (strncasecmp(*p, w, n) != 0)
		return false;
	*p += n;
	return true;
}

static void skip_sep(const char **p)
{
	if (**p == '.' || **p == '-' || **p == '_')
		(*p)++;
}

/* The number after a pre/post/dev label (implicit 0). */
static void label_num(const char **p, const char **s, size_t *n)
{
	const char *q = *p;
	skip_sep(&q);
	size_t d = digits(q);
	if (d) {
		*s = q;
		*n = d;
		*p = q + d;
	} else {
		*s = "0";
		*n = 1;
	}
}

static bool pep_parse(const char *s, pep_ver *v)
{
	size_t len = strlen(s);
	if (len == 0 || len > MAX_VERSION)
		return false;
	*v = (pep_ver){.epoch = "0", .nepoch = 1};
	const char *p = s;
	while (*p == ' ')
		p++;
	if (*p == 'v' || *p == 'V')
		p++;
	size_t d = digits(p);
	if (!d)
		return false;
	if (p[d] == '!') {
		v->epoch = p;
		v->nepoch = d;
		p += d + 1;
		d = digits(p);
		if (!d)
			return false;
	}
	for (;;) {
		if (v->nrel == PEP_MAX_REL)
			return false;
		v->rel[v->nrel].s = p;
		v->rel[v->nrel++].n = d;
		p += d;
		if (*p != '.' || !isdigit((unsigned char)p[1]))
			break;
		p++;
		d = digits(p);
	}
	const char *q = p;
	skip_sep(&q);
	static const struct {
		const char *w;
		int kind;
	} pre[] = {{"alpha", 1}, {"beta", 2}, {"preview", 3}, {"pre", 3},
		   {"rc", 3},	 {"a", 1},    {"b", 2},	      {"c", 3}};
	for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++)
		if (word(&q, pre[i].w)) {
			v->pre_kind = pre[i].kind;
			p = q;
			label_num(&p, &v->pre, &v->npre);
			break;
		}
	q = p;
	if (*q == '-' && isdigit((unsigned char)q[1])) {
		v->has_post = true;
		v->post = q + 1;
		v->npost = digits(q + 1);
		p = q + 1 + v->npost;
	} else {
		skip_sep(&q);
		if (word(&q, "post") || word(&q, "rev") || word(&q, "r")) {
			v->has_post = true;
			p = q;
			label_num(&p, &v->post, &v->npost);
		}
	}
	q = p;
	skip_sep(&q);
	if (word(&q, "dev")) {
		v->has_dev = true;
		p = q;
		label_num(&p, &v->dev, &v->ndev);
	}
	if (*p == '+') {
		v->local = p + 1;
		if (!*v->local)
			return false;
		for (const char *l = v->local; *l; l++)
			if (!isalnum((unsigned char)*l) && !strchr(".-_", *l))
				return false;
		return true;
	}
	while (*p == ' ')
		p++;
	return *p == '\0';
}

/* Local versions: segments split on . - _; numbers sort above strings. */
static int pep_local_cmp(const char *a, const char *b)
{
	while (*a && *b) {
		size_t na = strcspn(a, ".-_"), nb = strcspn(b, ".-_");
		size_t da = digits(a), db = digits(b);
		bool numa = da == na, numb = db == nb;
		int c;
		if (numa && numb)
			c = numcmp(a, na, b, nb);
		else if (numa != numb)
			c = numa ? 1 : -1;
		else {
			size_t m = na < nb ? na : nb;
			c = strncasecmp(a, b, m);
			c = c ? sign(c) : sign((long)na - (long)nb);
		}
		if (c)
			return c;
		a += na;
		b += nb;
		if (*a)
			a++;
		if (*b)
			b++;
	}
	return *a ? 1 : *b ? -1 : 0;
}

static int pep_cmp(const char *a, const char *b, int *out)
{
	pep_ver x, y;
	if (!pep_parse(a, &x) || !pep_parse(b, &y))
		return -1;
	int c = numcmp(x.epoch, x.nepoch, y.epoch, y.nepoch);
	/* release: trailing zeros do not count (1.0 == 1.0.0) */
	for (size_t i = 0; !c && (i < x.nrel || i < y.nrel); i++) {
		const char *as = i < x.nrel ? x.rel[i].s : "0", *bs = i < y.nrel ? y.rel[i].s : "0";
		size_t an = i < x.nrel ? x.rel[i].n : 1, bn = i < y.nrel ? y.rel[i].n : 1;
		c = numcmp(as, an, bs, bn);
	}
	if (!c) {
		/* 1.0.dev1 < 1.0a1 < 1.0 : a dev release without pre/post sorts before any pre */
		int ka = x.pre_kind ? x.pre_kind : (x.has_dev && !x.has_post ? -1 : 4);
		int kb = y.pre_kind ? y.pre_kind : (y.has_dev && !y.has_post ? -1 : 4);
		c = sign(ka - kb);
		if (!c && x.pre_kind)
			c = numcmp(x.pre, x.npre, y.pre, y.npre);
	}
	if (!c)
		c = x.has_post != y.has_post ? (x.has_post ? 1 : -1)
		    : x.has_post	     ? numcmp(x.post, x.npost, y.post, y.npost)
					     : 0;
	if (!c)
		c = x.has_dev != y.has_dev ? (x.has_dev ? -1 : 1)
		    : x.has_dev		   ? numcmp(x.dev, x.ndev, y.dev, y.ndev)
					   : 0;
	if (!c)
		c = !x.local && !y.local ? 0
		    : !x.local		 ? -1
		    : !y.local		 ? 1
					 : pep_local_cmp(x.local, y.local);
	*out = c;
	return 0;
}

/* ---- SemVer ------------------------------------------------------------------------------ */

typedef struct sem_ver {
	const char *num[3];
	size_t nnum[3];
	const char *pre; /* after '-', up to '+' */
	size_t npre;
} sem_ver;

static bool sem_parse(const char *s, sem_ver *v)
{
	size_t len = strlen(s);
	if (len == 0 || len > MAX_VERSION)
		return false;
	*v = (sem_ver){0};
	const char *p = s;
	if (*p == 'v' || *p == '=')
		p++;
	for (int i = 0; i < 3; i++) {
		size_t d = digits(p);
		if (!d) {
			if (i == 0)
				return false;
			/* "1.2" as OSV and npm ranges sometimes write it: the rest is 0 */
			v->num[i] = "0";
			v->nnum[i] = 1;
			continue;
		}
		v->num[i] = p;
		v->nnum[i] = d;
		p += d;
		if (i < 2) {
			if (*p != '.')
				for (int j = i + 1; j < 3; j++) {
					v->num[j] = "0";
					v->nnum[j] = 1;
				}
			if (*p != '.')
				break;
			p++;
		}
	}
	if (*p == '-') {
		v->pre = ++p;
		v->npre = strcspn(p, "+");
		if (!v->npre)
			return false;
		for (size_t i = 0; i < v->npre; i++)
			if (!isalnum((unsigned char)p[i]) && p[i] != '.' && p[i] != '-')
				return false;
		p += v->npre;
	}
	if (*p == '+') {
		p++;
		if (!*p)
			return false;
		for (; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
				return false;
	}
	return *p == '\0';
}

static int sem_pre_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	const char *ae = a + an, *be = b + bn;
	while (a < ae && b < be) {
		const char *da = memchr(a, '.', (size_t)(ae - a)),
			   *db = memchr(b, '.', (size_t)(be - b));
		size_t na = (size_t)((da ? da : ae) - a), nb = (size_t)((db ? db : be) - b);
		bool numa = na && digits(a) >= na, numb = nb && digits(b) >= nb;
		int c;
		if (numa && numb)
			c = numcmp(a, na, b, nb);
		else if (numa != numb)
			c = numa ? -1 : 1; /* numeric identifiers have lower precedence */
		else {
			size_t m = na < nb ? na : nb;
			c = memcmp(a, b, m);
			c = c ? sign(c) : sign((long)na - (long)nb);
		}
		if (c)
			return c;
		a += na + (a + na < ae);
		b += nb + (b + nb < be);
	}
	return a < ae ? 1 : b < be ? -1 : 0;
}

static int sem_cmp(const char *a, const char *b, int *out)
{
	sem_ver x, y;
	if (!sem_parse(a, &x) || !sem_parse(b, &y))
		return -1;
	int c = 0;
	for (int i = 0; !c && i < 3; i++)
		c = numcmp(x.num[i], x.nnum[i], y.num[i], y.nnum[i]);
	if (!c)
		c = !x.pre && !y.pre ? 0
		    : !x.pre	     ? 1
		    : !y.pre	     ? -1
				     : sem_pre_cmp(x.pre, x.npre, y.pre, y.npre);
	*out = c;
	return 0;
}

/* ---- rpm --------------------------------------------------------------------------------- */

static bool rpm_alnum(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* rpmvercmp on [a, ae) and [b, be): segments of digits or of ASCII letters, anything else a
 * separator; '~' sorts before everything (even the end), '^' after the end but before any
 * further segment; a numeric segment beats an alphabetic one; equal segments with different
 * separators are equal. */
static int rpmvercmp(const char *a, const char *ae, const char *b, const char *be)
{
	if (ae - a == be - b && memcmp(a, b, (size_t)(ae - a)) == 0)
		return 0;
	while (a < ae || b < be) {
		while (a < ae && !rpm_alnum((unsigned char)*a) && *a != '~' && *a != '^')
			a++;
		while (b < be && !rpm_alnum((unsigned char)*b) && *b != '~' && *b != '^')
			b++;
		bool ta = a < ae && *a == '~', tb = b < be && *b == '~';
		if (ta || tb) {
			if (!ta)
				return 1;
			if (!tb)
				return -1;
			a++;
			b++;
			continue;
		}
		bool ca = a < ae && *a == '^', cb = b < be && *b == '^';
		if (ca || cb) {
			if (a == ae)
				return -1;
			if (b == be)
				return 1;
			if (!ca)
				return 1;
			if (!cb)
				return -1;
			a++;
			b++;
			continue;
		}
		if (a == ae || b == be)
			break;
		const char *x = a, *y = b;
		bool num = isdigit((unsigned char)*x);
		if (num) {
			while (x < ae && isdigit((unsigned char)*x))
				x++;
			while (y < be && isdigit((unsigned char)*y))
				y++;
		} else {
			while (x < ae && rpm_alnum((unsigned char)*x) &&
			       !isdigit((unsigned char)*x))
				x++;
			while (y < be && rpm_alnum((unsigned char)*y) &&
			       !isdigit((unsigned char)*y))
				y++;
		}
		if (y == b) /* segments of different types: numeric is newer */
			return num ? 1 : -1;
		int c;
		if (num) {
			c = numcmp(a, (size_t)(x - a), b, (size_t)(y - b));
		} else {
			size_t n =
			    (size_t)(x - a) < (size_t)(y - b) ? (size_t)(x - a) : (size_t)(y - b);
			c = sign(memcmp(a, b, n));
			if (!c && x - a != y - b)
				c = x - a < y - b ? -1 : 1;
		}
		if (c)
			return c;
		a = x;
		b = y;
	}
	if (a == ae && b == be)
		return 0;
	return a == ae ? -1 : 1;
}

typedef struct rpm_evr {
	const char *e, *v, *ve, *r, *re;
	size_t ne;
} rpm_evr;

/* [EPOCH:]VERSION[-RELEASE], as OSV's Red Hat, Rocky Linux and AlmaLinux records and our
 * inventory write it. */
static bool rpm_parse(const char *s, rpm_evr *v)
{
	size_t n = strlen(s);
	if (n == 0 || n > MAX_VERSION)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return false;
	*v = (rpm_evr){.e = s, .ne = 0};
	const char *colon = strchr(s, ':'), *vs = s;
	if (colon) {
		if (colon == s)
			return false;
		for (const char *p = s; p < colon; p++)
			if (!isdigit((unsigned char)*p))
				return false;
		v->ne = (size_t)(colon - s);
		vs = colon + 1;
	}
	const char *end = s + n, *dash = memrchr(vs, '-', (size_t)(end - vs));
	v->v = vs;
	v->ve = dash ? dash : end;
	v->r = dash ? dash + 1 : end;
	v->re = end;
	return v->v < v->ve && (!dash || v->r < v->re) && !memchr(vs, ':', (size_t)(end - vs));
}

/* Epoch (absent = 0), then version, then release, each by rpmvercmp. Like rpm's
 * rpmVersionCompare, a missing release is not compared ("1.0" against "1.0-3" is equal). */
static int rpm_cmp(const char *a, const char *b, int *out)
{
	rpm_evr x, y;
	if (!rpm_parse(a, &x) || !rpm_parse(b, &y))
		return -1;
	int c = numcmp(x.e, x.ne, y.e, y.ne);
	if (!c)
		c = rpmvercmp(x.v, x.ve, y.v, y.ve);
	if (!c && x.r < x.re && y.r < y.re)
		c = rpmvercmp(x.r, x.re, y.r, y.re);
	*out = c;
	return 0;
}

/* ---- Maven ------------------------------------------------------------------------------- */

/* ComparableVersion's items: numbers, qualifiers (lower-cased, aliases applied) and lists (a
 * '-' or a digit/letter change opens one). Nodes in one array; children linked both ways so
 * that trailing null items can be dropped (normalize). */
enum { MV_INT, MV_STR, MV_LIST };

typedef struct mv_node {
	int type;
	const char *s; /* MV_INT: digits without leading zeros; MV_STR: the qualifier */
	size_t n;
	int parent, first, last, next, prev;
} mv_node;

typedef struct mv_ver {
	mv_node v[2 * MAX_VERSION + 4];
	int nv;
	char buf[MAX_VERSION + 1]; /* the lower-cased version */
} mv_ver;

static int mv_new(mv_ver *m, int type, int parent)
{
	mv_node *x = &m->v[m->nv];
	*x = (mv_node){
	    .type = type, .parent = parent, .first = -1, .last = -1, .next = -1, .prev = -1};
	if (parent >= 0) {
		mv_node *p = &m->v[parent];
		x->prev = p->last;
		if (p->last >= 0)
			m->v[p->last].next = m->nv;
		else
			p->first = m->nv;
		p->last = m->nv;
	}
	return m->nv++;
}

/* A qualifier's rank: alpha beta milestone rc snapshot "" sp = 0..6; any other 7 (then
 * compared by its text). */
static int mv_rank(const char *s, size_t n)
{
	static const char *const q[] = {"alpha", "beta", "milestone", "rc", "snapshot", "", "sp"};
	for (int i = 0; i < 7; i++)
		if (strlen(q[i]) == n && !memcmp(q[i], s, n))
			return i;
	return 7;
}

static void mv_item(mv_ver *m, int list, const char *s, size_t n, bool digit, bool followed)
{
	if (digit) {
		while (n > 1 && *s == '0') {
			s++;
			n--;
		}
		if (n == 1 && *s == '0')
			n = 0; /* zero: no digits */
		int i = mv_new(m, MV_INT, list);
		m->v[i].s = s;
		m->v[i].n = n;
		return;
	}
	if (followed && n == 1) { /* "1a1" is 1-alpha-1 */
		const char *full = *s == 'a'   ? "alpha"
				   : *s == 'b' ? "beta"
				   : *s == 'm' ? "milestone"
					       : NULL;
		if (full) {
			s = full;
			n = strlen(full);
		}
	}
	if ((n == 2 && !memcmp(s, "ga", 2)) || (n == 5 && !memcmp(s, "final", 5)) ||
	    (n == 7 && !memcmp(s, "release", 7)))
		n = 0;
	else if (n == 2 && !memcmp(s, "cr", 2))
		s = "rc";
	int i = mv_new(m, MV_STR, list);
	m->v[i].s = s;
	m->v[i].n = n;
}

static bool mv_null(const mv_ver *m, int i)
{
	const mv_node *x = &m->v[i];
	return x->type == MV_INT   ? x->n == 0
	       : x->type == MV_STR ? mv_rank(x->s, x->n) == 5
				   : x->first < 0;
}

/* Drop a list's trailing null items (0, "", empty lists) up to its last other item. */
static void mv_norm_list(mv_ver *m, int l)
{
	for (int i = m->v[l].last; i >= 0;) {
		int prev = m->v[i].prev;
		if (mv_null(m, i)) {
			m->v[l].last = prev;
			if (prev >= 0)
				m->v[prev].next = -1;
			else
				m->v[l].first = -1;
		} else if (m->v[i].type != MV_LIST) {
			break;
		}
		i = prev;
	}
}

static bool mv_parse(const char *s, mv_ver *m)
{
	size_t n = strlen(s);
	if (n == 0 || n > MAX_VERSION)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c == 0x7f)
			return false;
		m->buf[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	m->buf[n] = '\0';
	m->nv = 0;
	int list = mv_new(m, MV_LIST, -1);
	size_t start = 0;
	bool digit = false;
	const char *b = m->buf;
	for (size_t i = 0; i < n; i++) {
		char c = b[i];
		if (c == '.' || c == '-') {
			if (i == start)
				mv_item(m, list, "0", 1, true, false);
			else
				mv_item(m, list, b + start, i - start, digit, false);
			start = i + 1;
			/* only a number '-' number opens a list (1-1 differs from 1.1; "1.0-x" is
			 * "1-x") */
			if (c == '-' && digit) {
				mv_norm_list(m, list);
				if (i + 1 < n && b[i + 1] >= '0' && b[i + 1] <= '9')
					list = mv_new(m, MV_LIST, list);
			}
		} else if (c >= '0' && c <= '9') {
			/* a letter-digit change separates items like '.' ("1a1" = 1.alpha.1) */
			if (!digit && i > start) {
				mv_item(m, list, b + start, i - start, false, true);
				start = i;
			}
			digit = true;
		} else {
			if (digit && i > start) {
				mv_item(m, list, b + start, i - start, true, false);
				start = i;
			}
			digit = false;
		}
	}
	if (n > start)
		mv_item(m, list, b + start, n - start, digit, false);
	/* innermost first: lists were opened in order */
	for (int l = m->nv - 1; l >= 0; l--)
		if (m->v[l].type == MV_LIST)
			mv_norm_list(m, l);
	return true;
}

static int mv_cmp_node(const mv_ver *a, int i, const mv_ver *b, int j);

/* Item i of a against "nothing" (a missing item): > 0 when i is more. */
static int mv_vs_null(const mv_ver *a, int i)
{
	const mv_node *x = &a->v[i];
	if (x->type == MV_INT)
		return x->n != 0;
	if (x->type == MV_STR) {
		int r = mv_rank(x->s, x->n);
		return r == 5 ? 0 : r < 5 ? -1 : 1;
	}
	return x->first < 0 ? 0 : mv_vs_null(a, x->first);
}

static int mv_cmp_node(const mv_ver *a, int i, const mv_ver *b, int j)
{
	const mv_node *x = &a->v[i], *y = &b->v[j];
	switch (x->type) {
	case MV_INT:
		if (y->type != MV_INT)
			return 1;
		return numcmp(x->s, x->n, y->s, y->n);
	case MV_STR: {
		if (y->type == MV_INT || y->type == MV_LIST)
			return -1;
		int rx = mv_rank(x->s, x->n), ry = mv_rank(y->s, y->n);
		if (rx != ry)
			return rx < ry ? -1 : 1;
		if (rx < 7)
			return 0;
		size_t k = x->n < y->n ? x->n : y->n;
		int c = sign(memcmp(x->s, y->s, k));
		return c ? c : x->n == y->n ? 0 : x->n < y->n ? -1 : 1;
	}
	default:
		if (y->type == MV_INT)
			return -1;
		if (y->type == MV_STR)
			return 1;
		for (int l = x->first, r = y->first; l >= 0 || r >= 0;) {
			int c = l < 0	? -mv_vs_null(b, r)
				: r < 0 ? mv_vs_null(a, l)
					: mv_cmp_node(a, l, b, r);
			if (c)
				return c;
			l = l < 0 ? -1 : a->v[l].next;
			r = r < 0 ? -1 : b->v[r].next;
		}
		return 0;
	}
}

static int maven_cmp(const char *a, const char *b, int *out)
{
	mv_ver *x = malloc(sizeof(*x)), *y = malloc(sizeof(*y));
	int ret = -1;
	if (x && y && mv_parse(a, x) && mv_parse(b, y)) {
		*out = mv_cmp_node(x, 0, y, 0);
		ret = 0;
	}
	free(x);
	free(y);
	return ret;
}

/* ---- public ------------------------------------------------------------------------------ */

int bwk_version_compare(bwk_version_scheme scheme, const char *a, const char *b, int *out)
{
	switch (scheme) {
	case BWK_VER_DPKG:
		return dpkg_cmp(a, b, out);
	case BWK_VER_APK:
		return apk_cmp(a, b, out);
	case BWK_VER_PEP440:
		return pep_cmp(a, b, out);
	case BWK_VER_SEMVER:
		return sem_cmp(a, b, out);
	case BWK_VER_RPM:
		return rpm_cmp(a, b, out);
	case BWK_VER_MAVEN:
		return maven_cmp(a, b, out);
	}
	return -1;
}

bool bwk_version_valid(bwk_version_scheme scheme, const char *v)
{
	int c;
	return bwk_version_compare(scheme, v, v, &c) == 0;
}
