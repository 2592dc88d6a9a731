/* PKCS#12 keystores (.p12/.pfx, and Java's PKCS12 keystores) holding a private key that
 * opens without a password or with a well-known one (`changeit`, `password`…). The regex
 * rules cannot see them: the key inside is DER, usually encrypted, in a binary file. GnuTLS
 * parses the container (loaded on first use, src/lib/core/lazy_gnutls.c); this file decides
 * which passwords to try and bounds the work an attacker-made file can ask for.
 *
 * A keystore holding only certificates (a trust store such as Java's cacerts, whose password
 * is famously `changeit`) is not a secret and is never reported; neither is a key protected
 * by a password outside the well-known list. The key is never printed: the finding says how
 * the keystore opens and how many private keys it holds. */
#define _GNU_SOURCE
#include <gnutls/gnutls.h>
#include <gnutls/pkcs12.h>
#include <gnutls/x509.h>
#include <nettle/sha1.h>
#include <string.h>

#include "core/lazy_gnutls.h"
#include "scan/secrets_private.h"

static const char *const ks_refs[] = {
    "https://www.rfc-editor.org/rfc/rfc7292",
    "https://cwe.mitre.org/data/definitions/521.html",
    NULL,
};

#define KS_PUBLIC "Public test key (published in a package or test data): "
#define KS_P12_TITLE                                                                               \
	"PKCS#12 keystore with a private key that opens without a password or with a "             \
	"well-known one"
#define KS_JKS_TITLE                                                                               \
	"Java keystore (JKS/JCEKS) with a private or secret key under a well-known password"

#define KS_P12_DESC                                                                                \
	"A PKCS#12 keystore (.p12/.pfx, or a Java PKCS12 keystore) in the image holds a private "  \
	"key stored without encryption or under the empty password or a well-known one "           \
	"(changeit, password, changeme…), so the key is as good as in the clear. Whoever holds " \
	"it can impersonate the service or user it belongs to: terminate TLS as that host, sign "  \
	"tokens or artifacts, or authenticate as the client certificate. Anyone who can pull the " \
	"image (or an image built on it) can read it, and deleting the file in a later layer "     \
	"does not "                                                                                \
	"remove it from the earlier one."
#define KS_P12_FIX                                                                                 \
	"Treat the key as compromised: issue a new key and certificate, revoke the old "           \
	"certificate. Do not bake keystores into the image: mount them at runtime from the "       \
	"orchestrator's secret store, with a strong password supplied the same way."

const bwk_rule sec_rule_keystore =
    BWK_RULE("pkcs12-keystore-weak-password", BWK_CAT_SECRET, BWK_SEV_HIGH, .title = KS_P12_TITLE,
	     .description = KS_P12_DESC, .remediation = KS_P12_FIX, .references = ks_refs);

const bwk_rule sec_rule_keystore_public = BWK_RULE(
    "pkcs12-keystore-weak-password", BWK_CAT_SECRET, BWK_SEV_INFO, .title = KS_PUBLIC KS_P12_TITLE,
    .description = KS_P12_DESC, .remediation = KS_P12_FIX, .references = ks_refs);

static const char *const jks_refs[] = {
    "https://docs.oracle.com/en/java/javase/17/docs/specs/man/keytool.html",
    "https://cwe.mitre.org/data/definitions/521.html",
    NULL,
};

#define KS_JKS_DESC                                                                                \
	"A Java keystore (JKS or JCEKS) in the image holds a private or secret key and its "       \
	"integrity password is empty or well known (changeit, password, changeme…); keytool "    \
	"protects the keys with the store password unless told otherwise, and JKS's key "          \
	"protection is a SHA-1 keystream, not a cipher. Whoever holds the key can impersonate "    \
	"the service "                                                                             \
	"it belongs to: terminate TLS as that host, sign artifacts, decrypt what it "              \
	"protects. Anyone who can pull the image (or an image built on it) can read it, and "      \
	"deleting the file in a later layer does not remove it from the earlier one."
#define KS_JKS_FIX                                                                                 \
	"Treat the key as compromised: issue a new key and certificate, revoke the old "           \
	"certificate. Do not bake keystores into the image: mount them at runtime from the "       \
	"orchestrator's secret store, with a strong password supplied the same way, and prefer "   \
	"PKCS12 to the proprietary JKS/JCEKS formats."

const bwk_rule sec_rule_java_keystore =
    BWK_RULE("java-keystore-weak-password", BWK_CAT_SECRET, BWK_SEV_HIGH, .title = KS_JKS_TITLE,
	     .description = KS_JKS_DESC, .remediation = KS_JKS_FIX, .references = jks_refs);

const bwk_rule sec_rule_java_keystore_public = BWK_RULE(
    "java-keystore-weak-password", BWK_CAT_SECRET, BWK_SEV_INFO, .title = KS_PUBLIC KS_JKS_TITLE,
    .description = KS_JKS_DESC, .remediation = KS_JKS_FIX, .references = jks_refs);

/* What a real keystore uses: OpenSSL 3 2048 PBKDF2/MAC iterations, Java keytool 10000, Windows
 * 2000. A file asking for more is not checked: with ten passwords to try, a malicious file
 * could otherwise make each keystore cost seconds (at this bound, about 0.2 s; the number of
 * keystores one scan opens is bounded too, SEC_MAX_SCAN_KEYSTORES). */
#define KS_MAX_ITER 50000u
#define KS_MAX_BAGS 64
#define KS_MAX_ELEM 64

/* NULL first: no password at all; "" is the empty password as OpenSSL writes it (a lone
 * BMPString terminator), which GnuTLS derives differently from NULL. `notasecret` is the one
 * password of every Google service-account .p12 key. */
static const char *const ks_passwords[] = {
    NULL,     "",     "changeit", "password", "changeme",   "secret",
    "123456", "pass", "test",	  "keystore", "notasecret",
};
#define KS_NPASS (sizeof(ks_passwords) / sizeof(*ks_passwords))

bool sec_keystore_sniff(const void *data, size_t len)
{
	const unsigned char *p = data;
	/* PFX ::= SEQUENCE { version INTEGER (3), authSafe ContentInfo (SEQUENCE), … } in DER:
	 * 30 <len> 02 01 03 30 */
	if (len < 8 || p[0] != 0x30)
		return false;
	size_t i = 2;
	if (p[1] & 0x80) {
		size_t n = p[1] & 0x7f;
		if (n < 1 || n > 4)
			return false;
		i += n;
	}
	return len >= i + 4 && p[i] == 0x02 && p[i + 1] == 0x01 && p[i + 2] == 0x03 &&
	       p[i + 3] == 0x30;
}

const char *sec_keystore_password_name(int pw)
{
	return pw >= 0 && (size_t)pw < KS_NPASS ? ks_passwords[pw] : NULL;
}

/* The passwords to open the bags with (indexes into ks_passwords); `mac`: the one password
 * verified the keystore's MAC. */
typedef struct ks_try {
	int idx[KS_NPASS];
	size_t n;
	bool mac;
} ks_try;

/* Private keys in one element of a bag, trying the passwords in `tr`. */
static int element_keys(gnutls_pkcs12_bag_t bag, unsigned el, const ks_try *tr, int *pw_used)
{
	int type = gnutls_pkcs12_bag_get_type(bag, el);
	if (type == GNUTLS_BAG_PKCS8_KEY)
		return 1;
	if (type != GNUTLS_BAG_PKCS8_ENCRYPTED_KEY)
		return 0;
	gnutls_datum_t d;
	if (gnutls_pkcs12_bag_get_data(bag, el, &d) < 0)
		return 0;
	unsigned schema = 0, cipher = 0, salt_size = 0, iter = 0;
	/* the OID is asked for only to free it: with NULL, GnuTLS 3.7 leaks it when the
	 * algorithm is unknown */
	char *oid = NULL;
	int rc = gnutls_pkcs8_info(&d, GNUTLS_X509_FMT_DER, &schema, &cipher, NULL, &salt_size,
				   &iter, &oid);
	bwk_gnutls_free(oid);
	if (rc < 0 || iter > KS_MAX_ITER)
		return 0;
	for (size_t t = 0; t < tr->n; t++) {
		gnutls_x509_privkey_t k;
		if (gnutls_x509_privkey_init(&k) < 0)
			return 0;
		int ok = gnutls_x509_privkey_import_pkcs8(k, &d, GNUTLS_X509_FMT_DER,
							  ks_passwords[tr->idx[t]], 0);
		gnutls_x509_privkey_deinit(k);
		if (ok >= 0) {
			*pw_used = tr->idx[t];
			return 1;
		}
	}
	/* GnuTLS 3.7 cannot decode some keys it decrypts (keytool's EC keys, without the public
	 * point) and says "decryption failed" for both. A shrouded key in a keystore whose MAC the
	 * well-known password verified is counted: keytool, OpenSSL and Windows protect the keys
	 * with the store password. */
	if (tr->mac && tr->n) {
		*pw_used = tr->idx[0];
		return 1;
	}
	return 0;
}

/* Private keys in one bag (decrypted in place if it is an encrypted one). */
static int keys_in_bag(gnutls_pkcs12_bag_t bag, const ks_try *tr, int *pw_used, bool *plain)
{
	int enc_pw = -1;
	if (gnutls_pkcs12_bag_get_type(bag, 0) == GNUTLS_BAG_ENCRYPTED) {
		unsigned schema = 0, cipher = 0, salt_size = 0, iter = 0;
		char *oid = NULL; /* see element_keys */
		int rc = gnutls_pkcs12_bag_enc_info(bag, &schema, &cipher, NULL, &salt_size, &iter,
						    &oid);
		bwk_gnutls_free(oid);
		if (rc < 0 || iter > KS_MAX_ITER)
			return 0;
		for (size_t t = 0; t < tr->n && enc_pw < 0; t++)
			if (gnutls_pkcs12_bag_decrypt(bag, ks_passwords[tr->idx[t]]) >= 0)
				enc_pw = tr->idx[t];
		if (enc_pw < 0)
			return 0;
	}
	int keys = 0, n = gnutls_pkcs12_bag_get_count(bag);
	for (int el = 0; el < n && el < KS_MAX_ELEM; el++) {
		int used = -1;
		int k = element_keys(bag, (unsigned)el, tr, &used);
		if (!k)
			continue;
		keys += k;
		if (used >= 0)
			*pw_used = used; /* a shrouded key: its own password */
		else if (enc_pw >= 0)
			*pw_used = enc_pw; /* a plain key in an encrypted bag */
		else
			*plain = true; /* a plain key in a plain bag: no password at all */
	}
	return keys;
}

/* Private keys in bag `idx` of p12; -1 when there is no such bag. */
static int bag_keys(gnutls_pkcs12_t p12, int idx, const ks_try *tr, int *pw_used, bool *plain)
{
	gnutls_pkcs12_bag_t bag;
	if (gnutls_pkcs12_bag_init(&bag) < 0)
		return -1;
	int keys =
	    gnutls_pkcs12_get_bag(p12, idx, bag) < 0 ? -1 : keys_in_bag(bag, tr, pw_used, plain);
	gnutls_pkcs12_bag_deinit(bag);
	return keys;
}

/* With a MAC, its password is the keystore's: only it opens the bags, and a keystore with an
 * unknown MAC password still shows its unencrypted keys. */
static void passwords_to_try(gnutls_pkcs12_t p12, ks_try *tr)
{
	tr->n = 0;
	tr->mac = false;
	unsigned mac = 0, salt_size = 0, iter = 0;
	char *oid = NULL; /* see element_keys */
	int rc = gnutls_pkcs12_mac_info(p12, &mac, NULL, &salt_size, &iter, &oid);
	bwk_gnutls_free(oid);
	if (rc < 0) {
		for (size_t i = 0; i < KS_NPASS; i++)
			tr->idx[tr->n++] = (int)i;
		return;
	}
	if (iter > KS_MAX_ITER)
		return;
	for (size_t i = 0; i < KS_NPASS; i++)
		if (gnutls_pkcs12_verify_mac(p12, ks_passwords[i]) >= 0) {
			tr->idx[tr->n++] = (int)i;
			tr->mac = true;
			return;
		}
}

static void keys_in_p12(gnutls_pkcs12_t p12, const void *data, size_t len, sec_keystore_result *out)
{
	gnutls_datum_t d = {.data = (unsigned char *)data, .size = (unsigned)len};
	if (gnutls_pkcs12_import(p12, &d, GNUTLS_X509_FMT_DER, 0) < 0)
		return;
	ks_try tr;
	passwords_to_try(p12, &tr);
	bool plain = false;
	int pw = -1;
	for (int b = 0; b < KS_MAX_BAGS; b++) {
		int k = bag_keys(p12, b, &tr, &pw, &plain);
		if (k < 0)
			break;
		out->keys += (unsigned)k;
	}
	if (out->keys) {
		out->unprotected = plain;
		out->password = plain ? -1 : pw;
	}
}

int sec_keystore_check(const void *data, size_t len, sec_keystore_result *out)
{
	memset(out, 0, sizeof(*out));
	out->password = -1;
	if (!sec_keystore_sniff(data, len) || len > SEC_KEYSTORE_MAX)
		return 0;
	gnutls_pkcs12_t p12;
	if (gnutls_pkcs12_init(&p12) < 0)
		return 0;
	keys_in_p12(p12, data, len, out);
	gnutls_pkcs12_deinit(p12);
	return out->keys ? 1 : 0;
}

/* ---- Java keystores ------------------------------------------------------------------------
 * JKS (magic FEEDFEED) and JCEKS (CECECECE), big-endian: magic, version (1 or 2), entry count,
 * entries, then SHA-1(password as UTF-16BE || "Mighty Aphrodite" || every byte before it). An
 * entry is a tag (1 private key, 2 trusted certificate, 3 JCEKS secret key), an alias, a
 * timestamp and its body. A JCEKS secret key is a serialized Java object with no length, so
 * reading stops at the first key entry: whether there is one is all the check needs. */

#define JKS_DIGEST 20

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool sec_jks_sniff(const void *data, size_t len)
{
	const unsigned char *p = data;
	if (len < 12 + JKS_DIGEST)
		return false;
	uint32_t magic = be32(p), version = be32(p + 4);
	return (magic == 0xFEEDFEEDu || magic == 0xCECECECEu) && (version == 1 || version == 2);
}

/* Skips a length-prefixed item (2- or 4-byte big-endian length); false past the end. */
static bool jks_skip(const unsigned char *p, size_t end, size_t *i, size_t lenbytes)
{
	if (end - *i < lenbytes)
		return false;
	size_t n = lenbytes == 2 ? (size_t)(p[*i] << 8 | p[*i + 1]) : be32(p + *i);
	*i += lenbytes;
	if (end - *i < n)
		return false;
	*i += n;
	return true;
}

/* 1 if the entries up to the digest hold a private or secret key before anything unreadable. */
static int jks_has_key(const unsigned char *p, size_t end)
{
	uint32_t version = be32(p + 4), count = be32(p + 8);
	size_t i = 12;
	for (uint32_t e = 0; e < count; e++) {
		if (end - i < 4)
			return 0;
		uint32_t tag = be32(p + i);
		i += 4;
		if (tag == 1 || tag == 3)
			return 1;
		if (tag != 2 || !jks_skip(p, end, &i, 2) || end - i < 8)
			return 0;
		i += 8; /* timestamp */
		if ((version == 2 && !jks_skip(p, end, &i, 2)) || !jks_skip(p, end, &i, 4))
			return 0;
	}
	return 0;
}

static bool jks_password_opens(const unsigned char *p, size_t len, const char *pw)
{
	struct sha1_ctx c;
	sha1_init(&c);
	for (const char *q = pw; *q; q++) {
		/* the well-known passwords are ASCII: UTF-16BE is a zero byte before each */
		uint8_t u[2] = {0, (uint8_t)*q};
		sha1_update(&c, 2, u);
	}
	sha1_update(&c, 16, (const uint8_t *)"Mighty Aphrodite");
	sha1_update(&c, len - JKS_DIGEST, p);
	uint8_t d[JKS_DIGEST];
	sha1_digest(&c, sizeof(d), d);
	return memcmp(d, p + len - JKS_DIGEST, JKS_DIGEST) == 0;
}

int sec_jks_check(const void *data, size_t len, sec_keystore_result *out)
{
	memset(out, 0, sizeof(*out));
	out->password = -1;
	const unsigned char *p = data;
	if (!sec_jks_sniff(data, len) || len > SEC_KEYSTORE_MAX ||
	    !jks_has_key(p, len - JKS_DIGEST))
		return 0;
	/* index 0 (no password) does not apply: a JKS always carries its digest */
	for (size_t i = 1; i < KS_NPASS; i++)
		if (jks_password_opens(p, len, ks_passwords[i])) {
			out->keys = 1;
			out->password = (int)i;
			return 1;
		}
	return 0;
}
