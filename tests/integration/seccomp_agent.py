"""A small seccomp agent for the SCMP_ACT_NOTIFY tests (test_oci_seccomp_notify.py).

    seccomp_agent.py SOCKET LOG ERRNO

Listens on the unix socket SOCKET (SOCK_STREAM, as runtime-spec's listenerPath says), and for
each connection reads the container process state (JSON) with the fds that came along
(SCM_RIGHTS); it appends {"state": …, "nfds": N, "fd_kind": "<readlink of the fd>"} to LOG as
one JSON line. It then answers the notifications of every fd it holds: the first one of each
fd fails with ERRNO, the next ones continue (SECCOMP_USER_NOTIF_FLAG_CONTINUE); each answer is
logged as {"notif": NR, "answer": "errno"|"continue"}. Runs until killed."""
import array
import fcntl
import json
import os
import select
import socket
import struct
import sys

# linux/seccomp.h: struct seccomp_notif is 80 bytes (id, pid, flags, seccomp_data), the
# response 24 (id, val, error, flags); _IOWR('!', 0|1, size)
NOTIF_SIZE, RESP_SIZE = 80, 24
IOCTL_RECV = (3 << 30) | (NOTIF_SIZE << 16) | (ord("!") << 8) | 0
IOCTL_SEND = (3 << 30) | (RESP_SIZE << 16) | (ord("!") << 8) | 1
FLAG_CONTINUE = 1


def log(path, rec):
    with open(path, "a") as f:
        f.write(json.dumps(rec) + "\n")


def receive(conn):
    data, fds = b"", []
    while True:
        fds_buf = array.array("i")
        msg, anc, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(4 * fds_buf.itemsize))
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds_buf.frombytes(payload[:len(payload) - len(payload) % fds_buf.itemsize])
                fds.extend(fds_buf)
        if not msg:
            return data, fds
        data += msg


def answer(fd, first, logpath):
    buf = bytearray(NOTIF_SIZE)
    try:
        fcntl.ioctl(fd, IOCTL_RECV, buf)
    except OSError:  # the process is gone (ENOENT) or the filter with it
        return False
    nid, _pid, _flags, nr = struct.unpack_from("=QIIi", buf)
    if first:
        resp = struct.pack("=QqiI", nid, 0, -ERRNO, 0)
    else:
        resp = struct.pack("=QqiI", nid, 0, 0, FLAG_CONTINUE)
    try:
        fcntl.ioctl(fd, IOCTL_SEND, bytearray(resp))
    except OSError:
        pass
    log(logpath, {"notif": nr, "answer": "errno" if first else "continue"})
    return True


def main():
    global ERRNO
    sock_path, logpath, ERRNO = sys.argv[1], sys.argv[2], int(sys.argv[3])
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(4)
    seen = {}  # notify fd -> answered one already
    while True:
        r, _, _ = select.select([srv, *seen], [], [])
        for f in r:
            if f is srv:
                conn, _ = srv.accept()
                data, fds = receive(conn)
                conn.close()
                kind = os.readlink(f"/proc/self/fd/{fds[0]}") if fds else ""
                try:
                    state = json.loads(data)
                except ValueError:
                    state = {"unparsed": data.decode(errors="replace")}
                log(logpath, {"state": state, "nfds": len(fds), "fd_kind": kind})
                for fd in fds:
                    seen[fd] = False
            elif not answer(f, not seen[f], logpath):
                del seen[f]
                os.close(f)
            else:
                seen[f] = True


if __name__ == "__main__":
    main()
