/* SysV and POSIX message queues: one queue per direction, one message per call.
 *
 * SysV messages carry a type word before the body, so both directions go through a staging buffer of
 * 8 + size bytes, the body on a cache line (type 1 on send, any type on receive, as sysv_ipc does). POSIX queues are opened here by
 * name (the names the Python endpoint exposes) and closed by channel_release; they are never unlinked
 * here: the runner's transport owns them. A message of the wrong length breaks the payload contract. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>

#include "native.h"

static int sysv_send(channel_t *ch, const unsigned char *buf, status_t *st) {
    long type = 1;
    memcpy(ch->staging, &type, sizeof type);
    memcpy(ch->staging + sizeof type, buf, ch->size);
    while (msgsnd(ch->out_qid, ch->staging, ch->size, 0) < 0)
        if (errno != EINTR)
            return fail_os(st, "msgsnd");
    return 0;
}

static int sysv_recv(channel_t *ch, unsigned char *buf, status_t *st) {
    ssize_t got;
    while ((got = msgrcv(ch->in_qid, ch->staging, ch->size, 0, 0)) < 0)
        if (errno != EINTR)
            return fail_os(st, "msgrcv");
    if ((size_t)got != ch->size)
        return fail_with(st, ST_PAYLOAD, "received a %zd-byte message, expected %zu bytes", got, ch->size);
    memcpy(buf, ch->staging + sizeof(long), ch->size);
    return 0;
}

int sysv_mq_channel(channel_t *ch, int out_qid, int in_qid, status_t *st) {
    /* The body (after the type word) starts on a cache line, as every other buffer a kernel copies into. */
    if (posix_memalign((void **)&ch->staging_block, RING_ALIGN, RING_ALIGN + ch->size) != 0)
        return fail_with(st, ST_OS, "posix_memalign: out of memory for a %zu-byte staging buffer", ch->size);
    ch->staging = ch->staging_block + RING_ALIGN - sizeof(long);
    ch->out_qid = out_qid;
    ch->in_qid = in_qid;
    ch->send = sysv_send;
    ch->recv = sysv_recv;
    return 0;
}

static int posix_send(channel_t *ch, const unsigned char *buf, status_t *st) {
    while (mq_send(ch->out_mq, (const char *)buf, ch->size, 0) < 0)
        if (errno != EINTR)
            return fail_os(st, "mq_send");
    return 0;
}

static int posix_recv(channel_t *ch, unsigned char *buf, status_t *st) {
    ssize_t got;
    /* The queue's mq_msgsize is exactly the message size: receive straight into the caller's buffer. */
    while ((got = mq_receive(ch->in_mq, (char *)buf, ch->size, NULL)) < 0)
        if (errno != EINTR)
            return fail_os(st, "mq_receive");
    if ((size_t)got != ch->size)
        return fail_with(st, ST_PAYLOAD, "received a %zd-byte message, expected %zu bytes", got, ch->size);
    return 0;
}

int posix_mq_channel(channel_t *ch, const char *out_name, const char *in_name, status_t *st) {
    ch->out_mq = mq_open(out_name, O_WRONLY);
    if (ch->out_mq == (mqd_t)-1)
        return fail_os(st, "mq_open");
    ch->in_mq = mq_open(in_name, O_RDONLY);
    if (ch->in_mq == (mqd_t)-1)
        return fail_os(st, "mq_open");
    ch->send = posix_send;
    ch->recv = posix_recv;
    return 0;
}
