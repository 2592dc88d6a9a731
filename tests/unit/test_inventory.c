#define _GNU_SOURCE
/* Unit tests: package database parsers and the path classifier of the inventory. Inputs are
 * copied into buffers of exactly their size (no NUL) so ASan sees any over-read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#define BWK_IN_SCAN
#include "scan/inventory_private.h"

typedef int (*parse_fn)(const char *, size_t, inv_list *, bwk_error **);

/* Parse `text` from an exactly-sized heap copy. */
static int parse_exact(parse_fn fn, const char *text, inv_list *out)
{
	size_t n = strlen(text);
	char *buf = malloc(n ? n : 1);
	memcpy(buf, text, n);
	bwk_error *err = NULL;
	int r = fn(buf, n, out, &err);
	bwk_error_free(err);
	free(buf);
	return r;
}

static void test_dpkg_status(void **state)
{
	(void)state;
	inv_list l = {0};
	assert_int_equal(parse_exact(inv_parse_dpkg,
				     "Package: libssl3\n"
				     "Status: install ok installed\n"
				     "Architecture: amd64\n"
				     "Source: openssl (3.0.11-1~deb12u2)\n"
				     "Version: 3.0.11-1~deb12u2+b1\n"
				     "Description: Secure Sockets Layer toolkit\n"
				     " long description line\n"
				     "\n"
				     "Package: removed-pkg\n"
				     "Status: deinstall ok config-files\n"
				     "Version: 1.0\n"
				     "\n"
				     "Package: zlib1g\n"
				     "Status: install ok half-configured\n"
				     "Version: 1:1.2.13.dfsg-1\n"
				     "Source: zlib\n"
				     "\n"
				     "Package: noversion\n"
				     "Status: install ok installed\n"
				     "\r\n"
				     "Package: bash\r\n"
				     "Status: install ok installed\r\n"
				     "Version: 5.2.15-2+b2",
				     &l),
			 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].name, "libssl3");
	assert_string_equal(l.v[0].version, "3.0.11-1~deb12u2+b1");
	assert_string_equal(l.v[0].source, "openssl");
	assert_string_equal(l.v[0].source_version, "3.0.11-1~deb12u2");
	assert_string_equal(l.v[0].arch, "amd64");
	assert_string_equal(l.v[1].name, "zlib1g");
	assert_string_equal(l.v[1].source, "zlib");
	assert_null(l.v[1].source_version);
	assert_string_equal(l.v[2].name, "bash");
	assert_string_equal(l.v[2].version, "5.2.15-2+b2");
	assert_int_equal(l.skipped, 1); /* noversion */
	inv_list_free(&l);
}

static void test_dpkg_distroless_and_bad_fields(void **state)
{
	(void)state;
	inv_list l = {0};
	char longname[INV_MAX_FIELD + 20];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	char *text = NULL;
	/* status.d stanzas have no Status: installed. An over-long name or a control character
	 * drops that stanza only. */
	assert_true(asprintf(&text,
			     "Package: base-files\nVersion: 12.4+deb12u5\n\n"
			     "Package: %s\nVersion: 1\n\n"
			     "Package: ctl\x01x\nVersion: 1\n\n"
			     "Package: tzdata\nVersion: 2024a-0+deb12u1\nSource: tzdata (\n",
			     longname) > 0);
	assert_int_equal(parse_exact(inv_parse_dpkg, text, &l), 0);
	free(text);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].name, "base-files");
	assert_int_equal(l.skipped, 3);
	inv_list_free(&l);
}

static void test_apk_installed(void **state)
{
	(void)state;
	inv_list l = {0};
	assert_int_equal(parse_exact(inv_parse_apk,
				     "C:Q1abc=\nP:musl\nV:1.2.4_git20230717-r4\nA:x86_64\n"
				     "o:musl\nT:the musl c library\n\n"
				     "P:libcrypto3\nV:3.1.4-r5\nA:x86_64\no:openssl\n\n"
				     "P:broken\n\n"
				     "P:busybox\nV:1.36.1-r15\n",
				     &l),
			 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[1].name, "libcrypto3");
	assert_string_equal(l.v[1].source, "openssl");
	assert_string_equal(l.v[1].version, "3.1.4-r5");
	assert_string_equal(l.v[2].name, "busybox");
	assert_null(l.v[2].source);
	assert_int_equal(l.skipped, 1);
	inv_list_free(&l);
}

static void test_python_metadata(void **state)
{
	(void)state;
	inv_list l = {0};
	assert_int_equal(parse_exact(inv_parse_python,
				     "Metadata-Version: 2.1\nName: Requests\nVersion: 2.31.0\n"
				     "Summary: x\n\nName: not-this\nVersion: 9\n",
				     &l),
			 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].name, "Requests");
	assert_string_equal(l.v[0].version, "2.31.0");
	inv_list_free(&l);
	/* the header ends at the first blank line: a Version in the body is not the version */
	assert_int_equal(parse_exact(inv_parse_python, "Name: x\n\nVersion: 1\n", &l), 0);
	assert_int_equal(l.n, 0);
	inv_list_free(&l);
}

static void test_npm_manifest(void **state)
{
	(void)state;
	inv_list l = {0};
	assert_int_equal(
	    parse_exact(inv_parse_npm, "{\"name\": \"@babel/core\", \"version\": \"7.23.2\"}", &l),
	    0);
	assert_int_equal(parse_exact(inv_parse_npm, "{\"name\": \"noversion\"}", &l), 0);
	assert_int_equal(parse_exact(inv_parse_npm, "{\"name\": 5, \"version\": \"1\"}", &l), 0);
	assert_int_equal(parse_exact(inv_parse_npm, "{\"name\": \"trunc", &l), 0);
	assert_int_equal(parse_exact(inv_parse_npm, "[1]", &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].name, "@babel/core");
	inv_list_free(&l);
}

static void test_os_release(void **state)
{
	(void)state;
	const char *text = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian\"\n"
			   "VERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n"
			   "ID_LIKE=ubuntu\nXID=nope\n";
	size_t n = strlen(text);
	char *buf = malloc(n);
	memcpy(buf, text, n);
	inv_osrel o = {0};
	assert_int_equal(inv_parse_os_release(buf, n, &o, NULL), 0);
	free(buf);
	assert_string_equal(o.id, "debian");
	assert_string_equal(o.version_id, "12");
	assert_string_equal(o.version_codename, "bookworm");
	assert_string_equal(o.pretty_name, "Debian GNU/Linux 12 (bookworm)");
	inv_osrel_free(&o);
	/* Alpine: unquoted, and an unterminated quote is kept as is */
	const char *alp = "ID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine";
	assert_int_equal(inv_parse_os_release(alp, strlen(alp), &o, NULL), 0);
	assert_string_equal(o.id, "alpine");
	assert_string_equal(o.version_id, "3.19.1");
	assert_string_equal(o.pretty_name, "\"Alpine");
	inv_osrel_free(&o);
}

static void test_kind_of(void **state)
{
	(void)state;
	assert_int_equal(inv_kind_of("var/lib/dpkg/status"), INV_DPKG);
	assert_int_equal(inv_kind_of("var/lib/dpkg/status-old"), INV_NONE);
	assert_int_equal(inv_kind_of("var/lib/dpkg/status.d/libc6"), INV_DPKG);
	assert_int_equal(inv_kind_of("var/lib/dpkg/status.d/libc6.md5sums"), INV_NONE);
	assert_int_equal(inv_kind_of("var/lib/dpkg/status.d/sub/x"), INV_NONE);
	assert_int_equal(inv_kind_of("lib/apk/db/installed"), INV_APK);
	assert_int_equal(inv_kind_of("usr/lib/apk/db/installed"), INV_NONE);
	assert_int_equal(
	    inv_kind_of("usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA"),
	    INV_PYTHON);
	assert_int_equal(inv_kind_of("usr/lib/python3/x.egg-info/PKG-INFO"), INV_PYTHON);
	assert_int_equal(inv_kind_of("usr/lib/python3/x.dist-info/RECORD"), INV_NONE);
	assert_int_equal(inv_kind_of("app/node_modules/lodash/package.json"), INV_NPM);
	assert_int_equal(inv_kind_of("node_modules/lodash/package.json"), INV_NPM);
	assert_int_equal(inv_kind_of("app/node_modules/@babel/core/package.json"), INV_NPM);
	assert_int_equal(inv_kind_of("app/node_modules/lodash/fp/package.json"), INV_NONE);
	assert_int_equal(inv_kind_of("app/package.json"), INV_NONE);
	assert_int_equal(inv_kind_of("@x/package.json"), INV_NONE);
	assert_int_equal(inv_kind_of("etc/os-release"), INV_OSREL);
	assert_int_equal(inv_kind_of("usr/lib/os-release"), INV_OSREL);
	assert_int_equal(inv_kind_of("etc/os-release.bak"), INV_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dpkg_status),
	    cmocka_unit_test(test_dpkg_distroless_and_bad_fields),
	    cmocka_unit_test(test_apk_installed),
	    cmocka_unit_test(test_python_metadata),
	    cmocka_unit_test(test_npm_manifest),
	    cmocka_unit_test(test_os_release),
	    cmocka_unit_test(test_kind_of),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
