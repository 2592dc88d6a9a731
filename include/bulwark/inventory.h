/* bulwark — what an image contains: the installed packages found by the scanner's layer walk
 * (dpkg, apk, rpm, Python, npm) and the OS release, after whiteouts (the merged filesystem's
 * package databases count, not the ones a later layer deleted or replaced).
 *
 * Built by the scanner (bulwark/scan.h: bwk_scan_opts.inventory); read-only for callers.
 */
#ifndef BULWARK_INVENTORY_H
#define BULWARK_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "bulwark/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum bwk_ecosystem {
	BWK_ECO_DEB = 0, /* dpkg: /var/lib/dpkg/status, /var/lib/dpkg/status.d/ */
	BWK_ECO_APK,	 /* Alpine: /lib/apk/db/installed */
	BWK_ECO_PYPI,	 /* *.dist-info/METADATA, *.egg-info/PKG-INFO */
	BWK_ECO_NPM,	 /* node_modules/[@scope/]NAME/package.json */
	BWK_ECO_RPM,	 /* rpmdb: rpmdb.sqlite, Packages (Berkeley DB), Packages.db (ndb) */
	BWK_ECO_GOLANG,	 /* Go modules built into an executable (its Go build information) */
	BWK_ECO_MAVEN,	 /* Java archives: pom.properties, MANIFEST.MF; name "groupId:artifactId" */
	BWK_ECO_CARGO,	 /* crates.io crates in a binary built with cargo-auditable */
} bwk_ecosystem;

/* "deb", "apk", "pypi", "npm", "rpm", "golang", "maven", "cargo" (the purl types). */
const char *bwk_ecosystem_name(bwk_ecosystem e);

typedef struct bwk_package {
	bwk_ecosystem eco;
	const char *name, *version;
	/* dpkg Source: / apk origin / rpm source rpm; else name, version. An rpm version is
	 * [EPOCH:]VERSION-RELEASE, the epoch only when the header has one. */
	const char *source, *source_version;
	const char *arch;  /* may be NULL */
	const char *purl;  /* package URL (github.com/package-url/purl-spec) */
	const char *path;  /* the file it was read from, no leading '/' */
	const char *layer; /* digest of the layer that added it, or NULL */
	int layer_index;   /* 0-based, -1 for a root filesystem directory */
	/* the build step that made that layer, from the image history ("RUN apt-get install …
	 * (step 3 of 7)"), or NULL (no history, or one that does not align with the layers) */
	const char *step;
} bwk_package;

/* /etc/os-release (or /usr/lib/os-release): fields NULL when absent. */
typedef struct bwk_os_release {
	const char *id, *version_id, *version_codename, *pretty_name;
} bwk_os_release;

typedef struct bwk_inventory bwk_inventory;

size_t bwk_inventory_count(const bwk_inventory *inv);
const bwk_package *bwk_inventory_get(const bwk_inventory *inv, size_t i); /* NULL past the end */
/* The OS release of the merged filesystem, or NULL when the image has none. */
const bwk_os_release *bwk_inventory_os(const bwk_inventory *inv);
/* Package databases that could not be read (too large, malformed), one line each ("PATH: why"),
 * NULL past the last. Their packages are missing from the inventory. */
const char *bwk_inventory_warning(const bwk_inventory *inv, size_t i);
void bwk_inventory_free(bwk_inventory *inv);
BWK_DEFINE_CLEANUP(bwk_inventory *, bwk_inventory_free)

/* The packages of a CycloneDX or SPDX JSON SBOM (the image source table recognises one:
 * source "sbom", bulwark/image.h), by their purls (deb, apk, rpm, pypi, npm,
 * golang; bulwark's and Trivy's source-package properties read back), as an inventory. */
int bwk_inventory_read_sbom(const char *path, bwk_inventory **out, bwk_error **err);
/* The same from an open regular file (`name` for messages): how the image source table's
 * "sbom" row hands its document over (bulwark/image.h: bwk_image_document_fd). */
int bwk_inventory_read_sbom_fd(const char *name, int fd, bwk_inventory **out, bwk_error **err);

typedef enum bwk_sbom_format {
	BWK_SBOM_JSON = 0,  /* bulwark's own: {"os", "packages": [...], "warnings"} */
	BWK_SBOM_CYCLONEDX, /* CycloneDX 1.5 JSON */
	BWK_SBOM_SPDX,	    /* SPDX 2.3 JSON */
} bwk_sbom_format;

/* "json", "cyclonedx", "spdx-json" → *out; -1 if unknown. */
int bwk_sbom_format_parse(const char *s, bwk_sbom_format *out);

/* The inventory as a JSON document of `fmt` about `subject` (the target as the user named it;
 * `digest`, the image config digest, may be NULL). Caller frees; NULL with *err on failure. */
char *bwk_inventory_render(const bwk_inventory *inv, bwk_sbom_format fmt, const char *subject,
			   const char *digest, bwk_error **err);

/* The index of the package a vulnerability finding was made on (bulwark/vuln.h records the
 * package's file, layer and "name version" as the finding's location and evidence), or -1. */
struct bwk_finding;
long bwk_inventory_package_of(const bwk_inventory *inv, const struct bwk_finding *f);

/* The same document with the known vulnerabilities among `findings` (bulwark/finding.h;
 * borrowed, may be NULL): for CycloneDX each advisory with an unsuppressed finding becomes one
 * entry of `vulnerabilities` (id, source, rating, recommendation, advisories) that `affects`
 * the components it was found in (matched by package file, layer and "name version"); SPDX
 * 2.3 and bulwark's JSON have no place for them and carry the packages only. Suppressed
 * findings (ignore file, baseline, VEX) are left out: the document lists what still applies. */
struct bwk_findings;
char *bwk_inventory_render_vulns(const bwk_inventory *inv, bwk_sbom_format fmt, const char *subject,
				 const char *digest, const struct bwk_findings *findings,
				 bwk_error **err);

#ifdef __cplusplus
}
#endif
#endif
