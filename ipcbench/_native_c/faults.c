/* The test-only fault switch: make this channel's sender misbehave once, so tests can prove that the
 * unchanged receiver catches it (ipcbench/faults.py, same kinds and same counting: the fault strikes the
 * send with index `seq`, counting every send of the channel from the first warm-up message).
 * Setting a fault swaps the send function for faulty_send; a channel without one pays nothing. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "native.h"

static int faulty_send(channel_t *ch, const unsigned char *buf, status_t *st) {
    int64_t index = ch->sends++;
    if (ch->held != NULL) {  /* reorder: the held message goes out after its successor */
        if (ch->raw_send(ch, buf, st) < 0)
            return -1;
        const unsigned char *held = ch->held;
        ch->held = NULL;
        return ch->raw_send(ch, held, st);
    }
    if (index != ch->fault_seq)
        return ch->raw_send(ch, buf, st);
    switch (ch->fault_kind) {
    case FAULT_CORRUPT:
        memcpy(ch->fault_copy, buf, ch->size);
        ch->fault_copy[ch->size / 2] ^= 0xFF;
        return ch->raw_send(ch, ch->fault_copy, st);
    case FAULT_DROP:
        return 0;
    case FAULT_DUPLICATE:
        if (ch->raw_send(ch, buf, st) < 0)
            return -1;
        return ch->raw_send(ch, buf, st);
    case FAULT_REORDER:
        memcpy(ch->fault_copy, buf, ch->size);
        ch->held = ch->fault_copy;
        return 0;
    case FAULT_HANG:
        for (;;)
            pause();
    case FAULT_CRASH:
        _exit(3);
    default: /* FAULT_GARBAGE */
        for (size_t got = 0; got < ch->size;) {
            ssize_t n = getrandom(ch->fault_copy + got, ch->size - got, 0);
            if (n > 0)
                got += (size_t)n;
        }
        return ch->raw_send(ch, ch->fault_copy, st);
    }
}

int fault_set(channel_t *ch, int kind, int64_t seq, status_t *st) {
    if (kind <= FAULT_NONE || kind > FAULT_GARBAGE)
        return fail_with(st, ST_OS, "unknown fault kind %d", kind);
    if (ch->fault_copy == NULL && (ch->fault_copy = malloc(ch->size)) == NULL)
        return fail_os(st, "malloc");
    if (ch->raw_send == NULL)
        ch->raw_send = ch->send;
    ch->send = faulty_send;
    ch->fault_kind = kind;
    ch->fault_seq = seq;
    return 0;
}
