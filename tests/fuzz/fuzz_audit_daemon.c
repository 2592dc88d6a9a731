/* libFuzzer target: the daemon settings readers of `bulwark audit daemon`: a docker.service
 * unit (ExecStart continuations, drop-in reset, quoting) and the dockerd flags it yields, or a
 * daemon.json, then every daemon check. Inputs starting with '{' are the daemon.json, others
 * the unit; the engine and the TCP probe are off. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bulwark/audit.h"

static char root[64];
static const char *const dirs[] = {"proc", "etc",	  "etc/docker",
				   "lib",  "lib/systemd", "lib/systemd/system"};

/* leave nothing behind in /tmp when the fuzzer exits */
static void cleanup(void)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/etc/docker/daemon.json", root);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lib/systemd/system/docker.service", root);
	unlink(path);
	for (size_t i = sizeof(dirs) / sizeof(dirs[0]); i-- > 0;) {
		snprintf(path, sizeof(path), "%s/%s", root, dirs[i]);
		rmdir(path);
	}
	rmdir(root);
}

static void write_file(const char *path, const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[256];
	if (!root[0]) {
		snprintf(root, sizeof(root), "/tmp/bwk-fuzz-daemon.XXXXXX");
		if (!mkdtemp(root))
			abort();
		for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", root, dirs[i]);
			mkdir(path, 0755);
		}
		atexit(cleanup);
	}
	bool json = size && data[0] == '{';
	snprintf(path, sizeof(path), "%s/etc/docker/daemon.json", root);
	if (json)
		write_file(path, data, size);
	else
		write_file(path, (const uint8_t *)"{}", 2);
	snprintf(path, sizeof(path), "%s/lib/systemd/system/docker.service", root);
	if (json)
		write_file(path, (const uint8_t *)"", 0);
	else
		write_file(path, data, size);
	char proc[128], sock[128];
	snprintf(proc, sizeof(proc), "%s/proc", root);
	snprintf(sock, sizeof(sock), "unix://%s/none.sock", root);
	bwk_audit_opts o = {.proc_root = proc,
			    .sys_root = proc,
			    .root = root,
			    .host = sock,
			    .no_engine = true,
			    .no_probe = true};
	bwk_findings *f = bwk_findings_new();
	bwk_error *err = NULL;
	if (bwk_audit_daemon(&o, f, &err) < 0)
		bwk_error_free(err);
	bwk_findings_free(f);
	return 0;
}
