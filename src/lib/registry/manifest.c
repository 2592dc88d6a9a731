/* Manifests and indexes as a registry serves them: OCI image manifest/index and Docker v2
 * schema 2 manifest/manifest list. Untrusted JSON: digests, sizes and counts are checked. */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "core/cleanup.h"
#include "registry/registry_private.h"

static void desc_free(reg_desc *d)
{
	free(d->media_type);
	free(d->digest);
	free(d->os);
	free(d->arch);
	free(d->variant);
	memset(d, 0, sizeof(*d));
}

void reg_manifest_free(reg_manifest *m)
{
	free(m->media_type);
	desc_free(&m->config);
	for (size_t i = 0; i < m->ndescs; i++)
		desc_free(&m->descs[i]);
	free(m->descs);
	memset(m, 0, sizeof(*m));
}

static char *opt_str(json_t *o, const char *k, size_t max)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s && *s && strlen(s) <= max ? xstrdup(s) : NULL;
}

static int desc_parse(json_t *o, const char *what, size_t i, reg_desc *d, bwk_error **err)
{
	if (!json_is_object(o))
		return bwk_error_set(err, BWK_E_INPUT, 0, "manifest: %s %zu is not an object", what,
				     i);
	const char *dg = json_string_value(json_object_get(o, "digest"));
	if (!reg_digest_valid(dg))
		return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
				     "manifest: %s %zu has no sha256 digest (other algorithms are "
				     "not supported)",
				     what, i);
	json_t *sz = json_object_get(o, "size");
	if (!json_is_integer(sz) || json_integer_value(sz) < 0 ||
	    (uint64_t)json_integer_value(sz) > REG_MAX_BLOB)
		return bwk_error_set(err, BWK_E_INPUT, 0, "manifest: %s %zu (%s) has no valid size",
				     what, i, dg);
	d->digest = xstrdup(dg);
	d->size = (uint64_t)json_integer_value(sz);
	d->media_type = opt_str(o, "mediaType", 256);
	json_t *pf = json_object_get(o, "platform");
	if (json_is_object(pf)) {
		d->os = opt_str(pf, "os", 64);
		d->arch = opt_str(pf, "architecture", 64);
		d->variant = opt_str(pf, "variant", 64);
	}
	return 0;
}

static int descs_parse(json_t *arr, const char *what, reg_manifest *m, bwk_error **err)
{
	if (!json_is_array(arr))
		return bwk_error_set(err, BWK_E_INPUT, 0, "manifest: no %ss array", what);
	size_t n = json_array_size(arr);
	if (n > REG_MAX_DESCS)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "manifest: %zu %ss, more than the %d allowed", n, what,
				     REG_MAX_DESCS);
	m->descs = xcalloc(n ? n : 1, sizeof(*m->descs));
	for (size_t i = 0; i < n; i++) {
		m->ndescs = i + 1;
		if (desc_parse(json_array_get(arr, i), what, i, &m->descs[i], err) < 0)
			return -1;
	}
	return 0;
}

int reg_manifest_parse(const char *body, size_t len, const char *content_type, reg_manifest *out,
		       bwk_error **err)
{
	memset(out, 0, sizeof(*out));
	if (len > BWK_REG_MAX_MANIFEST)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "manifest larger than %u MiB",
				     BWK_REG_MAX_MANIFEST >> 20);
	json_error_t je;
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(j)) {
		json_decref(j);
		return bwk_error_set(err, BWK_E_INPUT, 0, "manifest is not a JSON object (%s)",
				     j ? "an array or value" : je.text);
	}
	const char *mt = json_string_value(json_object_get(j, "mediaType"));
	cleanup_free char *ct = NULL;
	if (!mt && content_type) {
		ct = xstrndup(content_type, strcspn(content_type, "; "));
		mt = ct;
	}
	json_t *sv = json_object_get(j, "schemaVersion");
	int rc = 0;
	if (json_is_integer(sv) && json_integer_value(sv) == 1) {
		rc = bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
				   "manifest is Docker schema 1, deprecated since 2017 and not "
				   "supported (push the image again with a current client)");
	} else if (!mt && json_object_get(j, "manifests")) {
		mt = MT_OCI_INDEX; /* OCI allows an index without mediaType */
	} else if (!mt && json_object_get(j, "layers")) {
		mt = MT_OCI_MANIFEST;
	}
	if (rc == 0 && (!mt || !json_is_integer(sv) || json_integer_value(sv) != 2))
		rc = bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
				   "manifest has no schemaVersion 2 or no media type");
	if (rc == 0) {
		out->media_type = xstrdup(mt);
		if (!strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST)) {
			out->is_index = true;
			rc = descs_parse(json_object_get(j, "manifests"), "manifest", out, err);
		} else if (!strcmp(mt, MT_OCI_MANIFEST) || !strcmp(mt, MT_DOCKER_MANIFEST)) {
			rc = desc_parse(json_object_get(j, "config"), "config", 0, &out->config,
					err);
			if (rc == 0)
				rc = descs_parse(json_object_get(j, "layers"), "layer", out, err);
		} else {
			rc = bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
					   "manifest media type '%.100s' is not an image (OCI or "
					   "Docker v2 schema 2)",
					   mt);
		}
	}
	json_decref(j);
	if (rc < 0)
		reg_manifest_free(out);
	return rc;
}

const char *reg_host_platform(void)
{
	struct utsname u;
	if (uname(&u) == 0) {
		if (!strcmp(u.machine, "aarch64"))
			return "linux/arm64";
		if (!strcmp(u.machine, "s390x"))
			return "linux/s390x";
		if (!strcmp(u.machine, "ppc64le"))
			return "linux/ppc64le";
		if (!strcmp(u.machine, "riscv64"))
			return "linux/riscv64";
		if (!strncmp(u.machine, "armv7", 5))
			return "linux/arm/v7";
		if (!strcmp(u.machine, "i686") || !strcmp(u.machine, "i386"))
			return "linux/386";
	}
	return "linux/amd64";
}

const reg_desc *reg_index_select(const reg_manifest *idx, const char *platform)
{
	if (!platform)
		platform = reg_host_platform();
	char buf[200];
	snprintf(buf, sizeof(buf), "%s", platform);
	char *os = buf, *arch = strchr(buf, '/'), *variant = NULL;
	if (!arch)
		return NULL;
	*arch++ = 0;
	variant = strchr(arch, '/');
	if (variant)
		*variant++ = 0;
	const reg_desc *loose = NULL;
	for (size_t i = 0; i < idx->ndescs; i++) {
		const reg_desc *d = &idx->descs[i];
		if (!d->os || !d->arch || strcmp(d->os, os) || strcmp(d->arch, arch))
			continue;
		if (!variant || (d->variant && !strcmp(d->variant, variant)))
			return d;
		if (!loose && !d->variant)
			loose = d;
	}
	return loose;
}
