/* Escape probe: run inside a container (bulwark run, docker run) and try each thing a
 * container must not be able to do. One JSON line per check on stdout:
 *   {"check":"mount","blocked":true,"detail":"EPERM"}
 * Built statically so that it runs in a busybox root filesystem. It only ever tries harmless
 * variants (opens for write without writing, a clock set to the current time, a reboot
 * command that does nothing), and cleans up what it creates. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *marker = "", *env_name = "", *only = "";
static int port, fork_max = 2048, fill_max_mb = 512, hog_max_mb = 1024;

static void report(const char *check, bool blocked, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void report(const char *check, bool blocked, const char *fmt, ...)
{
	char detail[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	for (char *p = detail; *p; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
			*p = ' ';
	printf("{\"check\":\"%s\",\"blocked\":%s,\"detail\":\"%s\"}\n", check,
	       blocked ? "true" : "false", detail);
	fflush(stdout);
}

static const char *en(int e)
{
	static char buf[32];
	const char *n = strerrorname_np(e);
	snprintf(buf, sizeof buf, "%s", n ? n : "?");
	return buf;
}

/* A call "fails" for our purpose when it was refused, not when it got past the permission
 * checks and failed on its (deliberately harmless) arguments. */
static bool refused(long r, int e)
{
	return r < 0 && (e == EPERM || e == EACCES || e == ENOSYS || e == EROFS);
}

static void syscall_check(const char *name, long r, int e)
{
	report(name, refused(r, e), "%s", r < 0 ? en(e) : "succeeded");
}

static uint64_t status_hex(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	uint64_t v = ~0ull;
	size_t kl = strlen(key);
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, key, kl) && line[kl] == ':')
			v = strtoull(line + kl + 1, NULL, 16);
	if (f)
		fclose(f);
	return v;
}

static void check_caps(void)
{
	static const struct {
		int cap;
		const char *name;
	} bad[] = {{21, "SYS_ADMIN"},	   {16, "SYS_MODULE"},
		   {17, "SYS_RAWIO"},	   {19, "SYS_PTRACE"},
		   {12, "NET_ADMIN"},	   {13, "NET_RAW"},
		   {2, "DAC_READ_SEARCH"}, {27, "MKNOD"},
		   {18, "SYS_CHROOT"},	   {25, "SYS_TIME"},
		   {22, "SYS_BOOT"},	   {29, "AUDIT_WRITE"},
		   {31, "SETFCAP"},	   {39, "BPF"},
		   {38, "PERFMON"},	   {24, "SYS_RESOURCE"},
		   {9, "LINUX_IMMUTABLE"}, {33, "MAC_ADMIN"},
		   {34, "SYSLOG"}};
	uint64_t bnd = status_hex("CapBnd");
	char found[256] = "";
	size_t off = 0;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (bnd & (1ull << bad[i].cap))
			off +=
			    (size_t)snprintf(found + off, sizeof found - off, "%s ", bad[i].name);
	report("dangerous_caps", found[0] == 0, "bounding %016llx %s", (unsigned long long)bnd,
	       found);
}

static void check_uidmap(void)
{
	FILE *f = fopen("/proc/self/uid_map", "r");
	unsigned long in, out, cnt;
	bool root = false;
	char d[128] = "";
	while (f && fscanf(f, "%lu %lu %lu", &in, &out, &cnt) == 3) {
		if (out == 0)
			root = true;
		if (!d[0])
			snprintf(d, sizeof d, "%lu %lu %lu", in, out, cnt);
	}
	if (f)
		fclose(f);
	report("uid_map_host_root", !root, "%s", d);
}

static void check_open_write(const char *name, const char *const *paths)
{
	for (; *paths; paths++) {
		if (access(*paths, F_OK) < 0)
			continue;
		int fd = open(*paths, O_WRONLY | O_CLOEXEC);
		int e = errno;
		if (fd >= 0) {
			close(fd); /* opened for writing: that is the hole; write nothing */
			report(name, false, "%s writable", *paths);
		} else {
			report(name, true, "%s: %s", *paths, en(e));
		}
		return;
	}
	report(name, true, "no such file");
}

static void check_kcore(void)
{
	int fd = open("/proc/kcore", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		report("read_kcore", true, "%s", en(errno));
		return;
	}
	char b[16];
	ssize_t n = read(fd, b, sizeof b);
	int e = errno;
	close(fd);
	report("read_kcore", n <= 0, "%s", n < 0 ? en(e) : n == 0 ? "empty (masked)" : "readable");
}

static void check_host_procs(void)
{
	DIR *d = opendir("/proc");
	int count = 0;
	bool seen = false;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		count++;
		if ((int)strtol(de->d_name, NULL, 10) == getpid() || !marker[0])
			continue;
		char p[64], buf[512];
		snprintf(p, sizeof p, "/proc/%s/cmdline", de->d_name);
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n > 0) {
			buf[n] = 0;
			for (ssize_t i = 0; i < n; i++)
				if (!buf[i])
					buf[i] = ' ';
			if (strstr(buf, marker) && !strstr(buf, "bwk_probe"))
				seen = true;
		}
	}
	if (d)
		closedir(d);
	report("host_processes", !seen, "%d processes visible%s", count,
	       seen ? ", host marker process among them" : "");
}

static void check_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	char found[128] = "";
	size_t off = 0;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		int fd = (int)strtol(de->d_name, NULL, 10);
		if (de->d_name[0] == '.' || fd <= 2 || fd == dirfd(d))
			continue;
		char p[64], t[128] = "";
		snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
		ssize_t n = readlink(p, t, sizeof t - 1);
		if (n > 0)
			t[n] = 0;
		off += (size_t)snprintf(found + off, sizeof found - off, "%d->%s ", fd, t);
		if (off >= sizeof found)
			break;
	}
	if (d)
		closedir(d);
	report("leaked_fd", found[0] == 0, "%s", found[0] ? found : "only 0-2");
}

static void check_loopback(void)
{
	if (!port) {
		report("host_loopback", true, "not tested (no --port)");
		return;
	}
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int r = s < 0 ? -1 : connect(s, (struct sockaddr *)&a, sizeof a);
	int e = errno;
	if (s >= 0)
		close(s);
	report("host_loopback", r < 0, "%s", r < 0 ? en(e) : "connected to host 127.0.0.1");
}

static void check_fork_bomb(void)
{
	pid_t *kids = calloc((size_t)fork_max, sizeof *kids);
	int n = 0, e = 0;
	while (n < fork_max) {
		pid_t p = fork();
		if (p < 0) {
			e = errno;
			break;
		}
		if (p == 0) {
			for (;;)
				pause();
		}
		kids[n++] = p;
	}
	for (int i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
	for (int i = 0; i < n; i++)
		waitpid(kids[i], NULL, 0);
	free(kids);
	report("fork_bomb", n < fork_max, "%d processes forked%s%s", n, e ? ", then " : "",
	       e ? en(e) : "");
}

static void check_disk_fill(void)
{
	int fd = open("/tmp/.bwk-probe-fill", O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0) {
		report("disk_fill_tmp", true, "cannot create: %s", en(errno));
		return;
	}
	static char buf[1 << 20];
	memset(buf, 'x', sizeof buf);
	int mb = 0, e = 0;
	while (mb < fill_max_mb) {
		if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) {
			e = errno;
			break;
		}
		mb++;
	}
	close(fd);
	unlink("/tmp/.bwk-probe-fill");
	report("disk_fill_tmp", mb < fill_max_mb, "%d MiB written%s%s", mb, e ? ", then " : "",
	       e ? en(e) : "");
}

static void check_memory_hog(void)
{
	pid_t p = fork();
	if (p == 0) {
		size_t chunk = 16u << 20;
		for (int mb = 0; mb < hog_max_mb; mb += 16) {
			char *m = malloc(chunk);
			if (!m)
				_exit(2);
			memset(m, 1, chunk);
		}
		_exit(0);
	}
	int st = 0;
	waitpid(p, &st, 0);
	bool reached = WIFEXITED(st) && WEXITSTATUS(st) == 0;
	report("memory_hog", !reached, "%s",
	       reached		 ? "allocated the whole amount"
	       : WIFSIGNALED(st) ? "killed (limit)"
				 : "allocation refused (limit)");
}

static void check_tiocsti(void)
{
	int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0) {
		report("tiocsti", true, "no pty: %s", en(errno));
		if (m >= 0)
			close(m);
		return;
	}
	int s = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC);
	char c = 'x';
	long r1 = s < 0 ? -1 : syscall(SYS_ioctl, s, TIOCSTI, &c);
	int e1 = errno;
	long r2 = s < 0 ? -1 : syscall(SYS_ioctl, s, 0x100000000ul | TIOCSTI, &c);
	int e2 = errno;
	report("tiocsti", r1 < 0 && r2 < 0, "%s / upper-bit alias %s", r1 < 0 ? en(e1) : "ok",
	       r2 < 0 ? en(e2) : "ok");
	if (s >= 0)
		close(s);
	close(m);
}

static bool want(const char *name)
{
	return !only[0] || strstr(only, name);
}

int main(int argc, char **argv)
{
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--marker"))
			marker = argv[i + 1];
		else if (!strcmp(argv[i], "--env"))
			env_name = argv[i + 1];
		else if (!strcmp(argv[i], "--port"))
			port = (int)strtol(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--fork-max"))
			fork_max = (int)strtol(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--fill-max-mb"))
			fill_max_mb = (int)strtol(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--hog-max-mb"))
			hog_max_mb = (int)strtol(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--only"))
			only = argv[i + 1];
	}
	long r;
	if (want("dangerous_caps"))
		check_caps();
	if (want("uid_map_host_root"))
		check_uidmap();
	if (want("no_new_privs")) {
		uint64_t v = status_hex("NoNewPrivs");
		report("no_new_privs", v == 1, "NoNewPrivs %llu", (unsigned long long)v);
	}
	if (want("seccomp_filter")) {
		uint64_t v = status_hex("Seccomp");
		report("seccomp_filter", v == 2, "Seccomp mode %llu", (unsigned long long)v);
	}
	if (want("mount")) {
		mkdir("/tmp/.bwk-probe-mnt", 0700);
		r = mount("none", "/tmp/.bwk-probe-mnt", "tmpfs", 0, NULL);
		int e = errno;
		if (r == 0)
			umount("/tmp/.bwk-probe-mnt");
		rmdir("/tmp/.bwk-probe-mnt");
		syscall_check("mount", r, e);
	}
	if (want("unshare_user")) {
		pid_t p = fork();
		if (p == 0)
			_exit(unshare(CLONE_NEWUSER) == 0 ? 0 : errno);
		int st;
		waitpid(p, &st, 0);
		int e = WEXITSTATUS(st);
		report("unshare_user", e != 0, "%s", e ? en(e) : "succeeded");
	}
	if (want("unshare_net")) {
		pid_t p = fork();
		if (p == 0)
			_exit(unshare(CLONE_NEWNET) == 0 ? 0 : errno);
		int st;
		waitpid(p, &st, 0);
		int e = WEXITSTATUS(st);
		report("unshare_net", e != 0, "%s", e ? en(e) : "succeeded");
	}
	if (want("clone_newuser")) {
		r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
		if (r == 0)
			_exit(0);
		int e = errno;
		if (r > 0)
			waitpid((pid_t)r, NULL, 0);
		syscall_check("clone_newuser", r < 0 ? -1 : 0, e);
	}
	if (want("keyctl")) {
		r = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0);
		syscall_check("keyctl", r, errno);
	}
	if (want("bpf")) {
		union bpf_attr a;
		memset(&a, 0, sizeof a);
		a.map_type = BPF_MAP_TYPE_ARRAY;
		a.key_size = 4;
		a.value_size = 4;
		a.max_entries = 1;
		r = syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof a);
		int e = errno;
		if (r >= 0)
			close((int)r);
		syscall_check("bpf", r, e);
	}
	if (want("perf_event_open")) {
		struct perf_event_attr a;
		memset(&a, 0, sizeof a);
		a.size = sizeof a;
		a.type = PERF_TYPE_SOFTWARE;
		a.config = PERF_COUNT_SW_TASK_CLOCK;
		a.exclude_kernel = 1;
		r = syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
		int e = errno;
		if (r >= 0)
			close((int)r);
		syscall_check("perf_event_open", r, e);
	}
	if (want("userfaultfd")) {
		r = syscall(SYS_userfaultfd, O_CLOEXEC);
		int e = errno;
		if (r >= 0)
			close((int)r);
		syscall_check("userfaultfd", r, e);
	}
	if (want("io_uring")) {
		struct io_uring_params p;
		memset(&p, 0, sizeof p);
		r = syscall(SYS_io_uring_setup, 1, &p);
		int e = errno;
		if (r >= 0)
			close((int)r);
		syscall_check("io_uring", r, e);
	}
	if (want("open_by_handle_at")) {
		struct {
			struct file_handle h;
			unsigned char data[128];
		} fh;
		int mid;
		fh.h.handle_bytes = 128;
		if (name_to_handle_at(AT_FDCWD, "/", &fh.h, &mid, 0) < 0) {
			fh.h.handle_bytes = 8;
			fh.h.handle_type = 1;
			memset(fh.data, 0, 8);
		}
		int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		r = syscall(SYS_open_by_handle_at, root, &fh.h, O_RDONLY);
		int e = errno;
		if (r >= 0)
			close((int)r);
		close(root);
		syscall_check("open_by_handle_at", r, e);
	}
	if (want("init_module")) {
		r = syscall(SYS_init_module, NULL, 0, "");
		syscall_check("init_module", r, errno);
	}
	if (want("reboot")) {
		r = syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
			    LINUX_REBOOT_CMD_CAD_OFF, NULL);
		syscall_check("reboot", r, errno);
	}
	if (want("settimeofday")) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		r = clock_settime(CLOCK_REALTIME, &ts);
		syscall_check("settimeofday", r, errno);
	}
	if (want("mknod_block")) {
		r = mknod("/tmp/.bwk-probe-blk", S_IFBLK | 0600, makedev(7, 0));
		int e = errno;
		if (r == 0)
			unlink("/tmp/.bwk-probe-blk");
		syscall_check("mknod_block", r, e);
	}
	if (want("raw_socket")) {
		r = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
		int e = errno;
		if (r >= 0)
			close((int)r);
		report("raw_socket", r < 0, "%s", r < 0 ? en(e) : "created");
	}
	if (want("af_alg_socket")) {
		r = socket(38 /* AF_ALG */, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		int e = errno;
		if (r >= 0)
			close((int)r);
		long r2 = syscall(SYS_socket, 0x100000000l | 38, SOCK_SEQPACKET, 0);
		int e2 = errno;
		if (r2 >= 0)
			close((int)r2);
		report("af_alg_socket", r < 0 && r2 < 0, "%s / upper-bit alias %s",
		       r < 0 ? en(e) : "created", r2 < 0 ? en(e2) : "created");
	}
	if (want("chroot")) {
		r = chroot("/");
		syscall_check("chroot", r, errno);
	}
	if (want("tiocsti"))
		check_tiocsti();
	if (want("write_sysrq_trigger")) {
		const char *p[] = {"/proc/sysrq-trigger", NULL};
		check_open_write("write_sysrq_trigger", p);
	}
	if (want("write_proc_sys")) {
		const char *p[] = {"/proc/sys/kernel/hostname", "/proc/sys/vm/drop_caches", NULL};
		check_open_write("write_proc_sys", p);
	}
	if (want("write_sys")) {
		const char *p[] = {"/sys/kernel/uevent_helper", "/sys/kernel/profiling",
				   "/sys/kernel/mm/transparent_hugepage/enabled",
				   "/sys/power/state", NULL};
		check_open_write("write_sys", p);
	}
	if (want("read_kcore"))
		check_kcore();
	if (want("write_rootfs")) {
		int fd = open("/.bwk-probe-write", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		int e = errno;
		if (fd >= 0) {
			close(fd);
			unlink("/.bwk-probe-write");
		}
		report("write_rootfs", fd < 0, "%s", fd < 0 ? en(e) : "created /.bwk-probe-write");
	}
	if (want("host_processes"))
		check_host_procs();
	if (want("docker_socket")) {
		const char *socks[] = {"/var/run/docker.sock", "/run/docker.sock",
				       "/run/containerd/containerd.sock"};
		const char *seen = NULL;
		for (size_t i = 0; i < 3; i++)
			if (access(socks[i], F_OK) == 0)
				seen = socks[i];
		report("docker_socket", !seen, "%s", seen ? seen : "absent");
	}
	if (want("leaked_fd"))
		check_fds();
	if (want("host_env")) {
		const char *v = env_name[0] ? getenv(env_name) : NULL;
		report("host_env", !v, "%s", v ? "host variable visible" : "absent");
	}
	if (want("host_loopback"))
		check_loopback();
	if (want("fork_bomb"))
		check_fork_bomb();
	if (want("disk_fill_tmp"))
		check_disk_fill();
	if (want("memory_hog"))
		check_memory_hog();
	return 0;
}
