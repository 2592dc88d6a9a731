/* bulwark — known vulnerabilities: ecosystem version order, the offline advisory database
 * (OSV format, imported into SQLite) and matching an inventory against it. */
#ifndef BULWARK_VULN_H
#define BULWARK_VULN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bulwark/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum bwk_version_scheme {
	BWK_VER_DPKG = 0, /* exactly `dpkg --compare-versions`: epoch, upstream, revision, '~' */
	BWK_VER_APK,	  /* apk-tools: 1.2.3a_rc1-r2; _alpha _beta _pre _rc < none < _p */
	BWK_VER_PEP440,	  /* Python: N!N.N[{a,b,rc}N][.postN][.devN][+local] */
	BWK_VER_SEMVER,	  /* semver.org 2.0.0 (npm, OSV SEMVER ranges) */
} bwk_version_scheme;

/* Compare two versions in `scheme`: *out <0, 0 or >0. Returns -1 (no error object: callers
 * name the record) when either is not a valid version of the scheme or longer than 256. */
int bwk_version_compare(bwk_version_scheme scheme, const char *a, const char *b, int *out);
bool bwk_version_valid(bwk_version_scheme scheme, const char *v);

#ifdef __cplusplus
}
#endif
#endif
