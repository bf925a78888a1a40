/* The hot loops of both workloads, written once over the channel interface (see workloads.py for the
 * protocol; the sync pipe, barrier and acknowledgements stay in Python, outside the timed loops).
 *
 * pingpong: the initiator stamps message seq, reads CLOCK_MONOTONIC, sends it, receives the echo, reads
 * the clock again and stores the round trip into the preallocated samples; then compares the echo in full
 * (outside the timed interval). The peer echoes every message unchanged without looking at it.
 * stream: the sender sends count messages back to back; the receiver checks each one, in full when
 * seq % every == 0 or it is the last of the call, else only its sequence numbers: the Python rule.
 * oneway (workloads/oneway.py, the same wire layout): lockstep like pingpong, each leg timed on its own. The
 * sender stores CLOCK_MONOTONIC at STAMP_AT just before the send; the receiver reads the clock once the
 * message is whole and its leading sequence number checked, stores the leg, then checks the message in full
 * (outside both legs). The peer's reply is the received message restamped.
 * openloop (workloads/openloop.py): the sender sends message i not before start + i * interval, sleeping
 * while that is more than spin_ns away and spinning on the clock for the rest (sched_yield between reads when
 * both sides share one CPU), never skipping, and stores each actual send time; the receiver stores the clock
 * once a message is whole and its sequence checked, then checks it in full, as stream's receiver does. */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#include "native.h"

int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int loop_exchange(channel_t *ch, payload_t *p, unsigned char *received, int64_t first, int64_t count,
                  int64_t *samples, status_t *st) {
    for (int64_t index = 0; index < count; index++) {
        int64_t seq = first + index;
        unsigned char *outgoing = payload_message(p, seq);
        int64_t sent_at = now_ns();
        if (ch->send(ch, outgoing, st) < 0 || ch->recv(ch, received, st) < 0)
            return -1;
        int64_t round_trip_ns = now_ns() - sent_at;
        if (samples != NULL)
            samples[index] = round_trip_ns;
        if (memcmp(received, outgoing, p->size) != 0)
            return payload_diagnose(p, seq, received, st);
    }
    return 0;
}

int loop_echo(channel_t *ch, unsigned char *buffer, int64_t count, status_t *st) {
    for (int64_t index = 0; index < count; index++)
        if (ch->recv(ch, buffer, st) < 0 || ch->send(ch, buffer, st) < 0)
            return -1;
    return 0;
}

int loop_send(channel_t *ch, payload_t *p, int64_t first, int64_t count, status_t *st) {
    for (int64_t seq = first; seq < first + count; seq++)
        if (ch->send(ch, payload_message(p, seq), st) < 0)
            return -1;
    return 0;
}

int loop_receive(channel_t *ch, payload_t *p, unsigned char *received, int64_t first, int64_t count,
                 int64_t every, status_t *st) {
    int64_t last = first + count - 1;
    for (int64_t seq = first; seq <= last; seq++) {
        if (ch->recv(ch, received, st) < 0)
            return -1;
        int full = seq % every == 0 || seq == last;
        if ((full ? payload_verify(p, seq, received, st) : payload_verify_seq(p, seq, received, st)) < 0)
            return -1;
    }
    return 0;
}

static void stamp(unsigned char *message, int64_t at) {
    memcpy(message + STAMP_AT, &at, sizeof at);
}

/* The leg of a message just received with its sequence number checked: now minus the sender's stamp. */
static int arrived(payload_t *p, int64_t seq, const unsigned char *message, int64_t *leg, status_t *st) {
    if (payload_load(message) != seq)
        return payload_diagnose(p, seq, message, st);
    int64_t now = now_ns();
    if (leg != NULL)
        *leg = now - payload_load(message + STAMP_AT);
    return 0;
}

int loop_oneway_initiator(channel_t *ch, payload_t *p, unsigned char *received, int64_t first, int64_t count,
                          int64_t *back, status_t *st) {
    for (int64_t index = 0; index < count; index++) {
        int64_t seq = first + index;
        unsigned char *outgoing = payload_message(p, seq);
        stamp(outgoing, now_ns());
        if (ch->send(ch, outgoing, st) < 0 || ch->recv(ch, received, st) < 0)
            return -1;
        if (arrived(p, seq, received, back == NULL ? NULL : back + index, st) < 0 ||
            payload_verify_stamped(p, seq, received, st) == NULL)
            return -1;
    }
    return 0;
}

int loop_oneway_peer(channel_t *ch, payload_t *p, unsigned char *buffer, int64_t first, int64_t count,
                     int64_t *forward, status_t *st) {
    for (int64_t index = 0; index < count; index++) {
        int64_t seq = first + index;
        if (ch->recv(ch, buffer, st) < 0 || arrived(p, seq, buffer, forward == NULL ? NULL : forward + index, st) < 0)
            return -1;
        unsigned char *expected = payload_verify_stamped(p, seq, buffer, st);
        if (expected == NULL)
            return -1;
        int64_t sent_at = now_ns();
        stamp(buffer, sent_at);
        if (ch->send(ch, buffer, st) < 0)
            return -1;
        /* The initiator's copy of this window ends up holding the reply's stamp (it checks the reply
         * with it): ours must too, or the overlapping windows drift apart. */
        stamp(expected, sent_at);
    }
    return 0;
}

/* Sleep until `until` on CLOCK_MONOTONIC (absolute, so a signal only resumes the sleep). */
static void sleep_until(int64_t until) {
    struct timespec ts = {.tv_sec = until / 1000000000, .tv_nsec = until % 1000000000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

int loop_openloop_send(channel_t *ch, payload_t *p, const openloop_schedule_t *s, int64_t first, int64_t count,
                       int64_t *sends, status_t *st) {
    for (int64_t index = 0; index < count; index++) {
        int64_t intended = s->start + index * s->interval, now = now_ns();
        if (intended - now > s->spin_ns) {
            sleep_until(intended - s->spin_ns);
            now = now_ns();
        }
        while (now < intended) {
            if (s->relax)
                sched_yield();
            now = now_ns();
        }
        if (ch->send(ch, payload_message(p, first + index), st) < 0)
            return -1;
        if (sends != NULL)
            sends[index] = now;
    }
    return 0;
}

int loop_openloop_receive(channel_t *ch, payload_t *p, unsigned char *received, int64_t first, int64_t count,
                          int64_t *arrivals, status_t *st) {
    for (int64_t index = 0; index < count; index++) {
        int64_t seq = first + index;
        if (ch->recv(ch, received, st) < 0)
            return -1;
        if (payload_load(received) != seq)
            return payload_diagnose(p, seq, received, st);
        if (arrivals != NULL)
            arrivals[index] = now_ns();
        if (payload_verify(p, seq, received, st) < 0)
            return -1;
    }
    return 0;
}
