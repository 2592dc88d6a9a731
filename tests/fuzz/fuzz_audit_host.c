/* libFuzzer target: the host audit's readers of /proc (mountinfo for cgroups, the kernel
 * release and the distribution version strings fed to the CVE matcher). The input becomes
 * PROC/1/mountinfo, PROC/version, PROC/version_signature and PROC/sys/kernel/osrelease of a
 * scratch --proc-root. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bulwark/audit.h"

static char root[64];
static const char *const dirs[] = {"proc", "proc/1", "proc/sys", "proc/sys/kernel", "sys", "data"};
static const char *const files[] = {"proc/1/mountinfo", "proc/version", "proc/version_signature",
				    "proc/sys/kernel/osrelease", "data/kernel-cves.yaml"};
/* a small table keeps iterations on the /proc readers (the data parser has its own target) */
static const char table[] = "version: 1\nupdated: 2026-01-01\ncves:\n"
			    "  - {id: CVE-2022-0847, severity: high, introduced: \"5.8\",\n"
			    "     fixed: [\"5.10.102\", \"5.15.25\", \"5.17\"], references: []}\n"
			    "  - {id: CVE-2022-0492, severity: high, introduced: \"2.6.24\",\n"
			    "     fixed: [\"5.10.97\", \"5.17\"], requires: [cgroup_v1],\n"
			    "     note: \"Ubuntu-specific: test\", references: []}\n";

static void cleanup(void)
{
	char path[256];
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", root, files[i]);
		unlink(path);
	}
	for (size_t i = sizeof(dirs) / sizeof(dirs[0]); i-- > 0;) {
		snprintf(path, sizeof(path), "%s/%s", root, dirs[i]);
		rmdir(path);
	}
	rmdir(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[256];
	if (!root[0]) {
		snprintf(root, sizeof(root), "/tmp/bwk-fuzz-host.XXXXXX");
		if (!mkdtemp(root))
			abort();
		for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", root, dirs[i]);
			mkdir(path, 0755);
		}
		atexit(cleanup);
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		bool tab = i == sizeof(files) / sizeof(files[0]) - 1;
		const void *d = tab ? (const void *)table : (const void *)data;
		size_t n = tab ? sizeof(table) - 1 : size;
		snprintf(path, sizeof(path), "%s/%s", root, files[i]);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || (n && write(fd, d, n) != (ssize_t)n))
			abort();
		close(fd);
	}
	char proc[128], sys[128], dd[128];
	snprintf(proc, sizeof(proc), "%s/proc", root);
	snprintf(sys, sizeof(sys), "%s/sys", root);
	snprintf(dd, sizeof(dd), "%s/data", root);
	bwk_audit_opts o = {.proc_root = proc, .sys_root = sys, .root = root, .data_dir = dd};
	bwk_findings *f = bwk_findings_new();
	bwk_error *err = NULL;
	if (bwk_audit_host(&o, f, &err) < 0)
		bwk_error_free(err);
	bwk_findings_free(f);
	return 0;
}
