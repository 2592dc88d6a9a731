/* One descriptor passed over a unix socket with a message (SCM_RIGHTS): the container's pty
 * master to bulwark or an engine's console socket (tty.c), the seccomp listener from the
 * container's init to `create` and on to the agent (oci_seccomp_notify.c, oci_create.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "sandbox/sandbox_private.h"

typedef union one_fd_cmsg {
	char b[CMSG_SPACE(sizeof(int))];
	struct cmsghdr align;
} one_fd_cmsg;

ssize_t sbx_send_fd(int sock, const void *buf, size_t len, int fd)
{
	one_fd_cmsg u;
	memset(&u, 0, sizeof u);
	struct iovec iov = {(void *)buf, len};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof u.b};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	ssize_t n;
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n;
}

ssize_t sbx_recv_fd(int sock, void *buf, size_t len, int *fd)
{
	*fd = -1;
	one_fd_cmsg u;
	struct iovec iov = {buf, len};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof u.b};
	ssize_t n;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
	    c->cmsg_len == CMSG_LEN(sizeof(int)) && !(mh.msg_flags & MSG_CTRUNC))
		memcpy(fd, CMSG_DATA(c), sizeof *fd);
	return n;
}
