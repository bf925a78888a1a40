/* The payload contract of ipcbench/payload.py, in C: the same windows, stamps and diagnoses.
 *
 * The sender's message seq is window seq % PATTERNS of the shared random buffer, stamped with seq at both
 * ends. The receiver stamps the same numbers into its own identical buffer in the same order (whether it
 * checks a message in full or only its sequence numbers: windows overlap), so a full check is one memcmp.
 * The diagnosis is worded exactly as the Python one, so a failed cell reads the same in both tiers. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "native.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the payload stamps little-endian sequence numbers with memcpy: port payload.c first"
#endif

int fail_os(status_t *st, const char *call) {
    int err = errno;
    st->code = ST_OS;
    st->err = err;
    snprintf(st->text, sizeof st->text, "%s: %s", call, strerror(err));
    return -1;
}

int fail_with(status_t *st, int code, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    st->code = code;
    st->err = 0;
    vsnprintf(st->text, sizeof st->text, fmt, args);
    va_end(args);
    return -1;
}

int64_t payload_load(const unsigned char *at) {
    int64_t value;
    memcpy(&value, at, sizeof value);
    return value;
}

unsigned char *payload_message(payload_t *p, int64_t seq) {
    unsigned char *window = p->base + seq % PATTERNS;
    memcpy(window, &seq, SEQ_BYTES);
    memcpy(window + p->size - SEQ_BYTES, &seq, SEQ_BYTES);
    return window;
}

int payload_verify(payload_t *p, int64_t seq, const unsigned char *received, status_t *st) {
    if (memcmp(received, payload_message(p, seq), p->size) != 0)
        return payload_diagnose(p, seq, received, st);
    return 0;
}

int payload_verify_seq(payload_t *p, int64_t seq, const unsigned char *received, status_t *st) {
    payload_message(p, seq);  /* keep this side's buffer in step with the sender's */
    if (payload_load(received) != seq || payload_load(received + p->size - SEQ_BYTES) != seq)
        return payload_diagnose(p, seq, received, st);
    return 0;
}

/* A message carrying a time stamp (oneway): the stamp is copied into the expected window first, so both
 * sides hold the same bytes (the windows overlap) and every other byte is compared, as Payload.verify_stamped
 * does. Returns the expected window (the peer restamps it with its reply's stamp), or NULL with st filled. */
unsigned char *payload_verify_stamped(payload_t *p, int64_t seq, const unsigned char *received, status_t *st) {
    unsigned char *expected = payload_message(p, seq);
    memcpy(expected + STAMP_AT, received + STAMP_AT, SEQ_BYTES);
    if (memcmp(received, expected, p->size) != 0) {
        payload_diagnose(p, seq, received, st);
        return NULL;
    }
    return expected;
}

int payload_diagnose(payload_t *p, int64_t seq, const unsigned char *received, status_t *st) {
    int64_t head = payload_load(received), tail = payload_load(received + p->size - SEQ_BYTES);
    long long s = (long long)seq, h = (long long)head, t = (long long)tail;
    if (head != tail)
        return fail_with(st, ST_PAYLOAD,
                         "message %lld: torn or truncated (sequence %lld at the start, %lld at the end)", s, h, t);
    if (head < seq)
        return fail_with(st, ST_PAYLOAD, "message %lld: got message %lld again (duplicated or stale)", s, h);
    if (head > seq)
        return fail_with(st, ST_PAYLOAD,
                         "message %lld: got message %lld instead (message %lld lost or reordered)", s, h, s);
    const unsigned char *expected = payload_message(p, seq);
    size_t offset = 0;
    while (offset < p->size && received[offset] == expected[offset])
        offset++;
    return fail_with(st, ST_PAYLOAD, "message %lld: content differs from the expected pattern at byte %zu of %zu",
                     s, offset, p->size);
}
