/* Pipes, FIFOs and stream sockets: whole messages over byte streams.
 *
 * A byte stream has no message boundaries, so send writes until the whole message is out and receive
 * reads until the whole message is in (partial reads and writes handled, never ignored), as fdio.py does.
 * Sockets receive with MSG_WAITALL, as the Python endpoint does; end of file means the other side went
 * away, which Python reports as a PeerError. The fds belong to the Python endpoint: never closed here. */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "native.h"

static ssize_t write_some(channel_t *ch, const unsigned char *buf, size_t n) {
    return ch->is_socket ? send(ch->write_fd, buf, n, MSG_NOSIGNAL) : write(ch->write_fd, buf, n);
}

static ssize_t read_some(channel_t *ch, unsigned char *buf, size_t n) {
    return ch->is_socket ? recv(ch->read_fd, buf, n, MSG_WAITALL) : read(ch->read_fd, buf, n);
}

static int fd_send(channel_t *ch, const unsigned char *buf, status_t *st) {
    size_t done = 0;
    while (done < ch->size) {
        ssize_t n = write_some(ch, buf + done, ch->size - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fail_os(st, ch->is_socket ? "send" : "write");
        }
        done += (size_t)n;
    }
    return 0;
}

static int fd_recv(channel_t *ch, unsigned char *buf, status_t *st) {
    size_t done = 0;
    while (done < ch->size) {
        ssize_t n = read_some(ch, buf + done, ch->size - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fail_os(st, ch->is_socket ? "recv" : "read");
        }
        if (n == 0)
            return fail_with(st, ST_PEER, ch->is_socket ? "the other side closed the connection"
                                                        : "the other side closed the channel (end of file)");
        done += (size_t)n;
    }
    return 0;
}

void fd_channel(channel_t *ch, int read_fd, int write_fd, int is_socket) {
    ch->read_fd = read_fd;
    ch->write_fd = write_fd;
    ch->is_socket = is_socket;
    ch->send = fd_send;
    ch->recv = fd_recv;
}
