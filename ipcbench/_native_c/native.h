/* ipcbench._native: what the C files of the native tier share.
 *
 * A channel is one process's end of a kernel mechanism whose objects Python already created: two
 * function pointers (send and receive one whole message) over the raw handles the Python endpoint
 * exposes. The loops (loops.c) are written once over that interface, the payload contract (payload.c)
 * is the same as ipcbench/payload.py, and a test-only fault switch (faults.c) can wrap the send side.
 * No global state: everything a loop needs hangs off the channel it is given. Every function that can
 * fail returns -1 and fills a status_t, which module.c turns into a Python exception after it has taken
 * the GIL back. */
#ifndef IPCBENCH_NATIVE_H
#define IPCBENCH_NATIVE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <mqueue.h>
#include <semaphore.h>
#include <stddef.h>
#include <stdint.h>

/* What went wrong, in the terms Python reports it: an OSError (errno), a PayloadError or a PeerError. */
enum { ST_OK = 0, ST_OS = 1, ST_PAYLOAD = 2, ST_PEER = 3 };

typedef struct {
    int code;      /* ST_* */
    int err;       /* errno for ST_OS */
    char text[320];
} status_t;

int fail_os(status_t *st, const char *call);                   /* always -1 */
int fail_with(status_t *st, int code, const char *fmt, ...);   /* always -1 */

/* The payload: PATTERNS windows into one buffer of size + PATTERNS bytes, built by Python (the same
 * seed gives both sides the same bytes); sequence number little-endian at both ends of a message. */
#define PATTERNS 7
#define SEQ_BYTES 8
/* oneway: the sender's CLOCK_MONOTONIC reading right after the leading sequence number (payload.py's
 * STAMP_AT), so a stamped message holds at least STAMPED_MIN bytes. */
#define STAMP_AT SEQ_BYTES
#define STAMPED_MIN (3 * SEQ_BYTES)

typedef struct {
    unsigned char *base;
    size_t size;
} payload_t;

unsigned char *payload_message(payload_t *p, int64_t seq);
int payload_verify(payload_t *p, int64_t seq, const unsigned char *received, status_t *st);
int payload_verify_seq(payload_t *p, int64_t seq, const unsigned char *received, status_t *st);
int payload_diagnose(payload_t *p, int64_t seq, const unsigned char *received, status_t *st);
int64_t payload_load(const unsigned char *at);   /* a little-endian int64 at any alignment */
unsigned char *payload_verify_stamped(payload_t *p, int64_t seq, const unsigned char *received, status_t *st);

/* What the Python side expects of this build (ipcbench/native.py): 2 = the hybrid variant is here,
 * 3 = the oneway loops are here, 4 = the openloop loops are here. */
#define NATIVE_ABI 4

/* The ring in a shared segment: the layout of ipcbench/transports/shm_ring.py. */
#define RING_HEADER 256
#define RING_ALIGN 64
/* The mutex variant's synchronisation area after both rings: per direction a process-shared robust
 * mutex and a condition variable, each in its own 64-byte line. */
#define SYNC_BLOCK 128
#define SYNC_BYTES (2 * SYNC_BLOCK)

enum { WAIT_SPIN = 0, WAIT_SYSV_SEM = 1, WAIT_POSIX_SEM = 2, WAIT_MUTEX = 3 };
enum { FAULT_NONE = 0, FAULT_CORRUPT, FAULT_DROP, FAULT_DUPLICATE, FAULT_REORDER, FAULT_HANG,
       FAULT_CRASH, FAULT_GARBAGE };

typedef struct channel channel_t;
typedef int (*send_fn)(channel_t *ch, const unsigned char *buf, status_t *st);
typedef int (*recv_fn)(channel_t *ch, unsigned char *buf, status_t *st);

struct channel {
    send_fn send;
    recv_fn recv;
    size_t size;               /* bytes per message */
    /* fds: pipe, FIFO, stream socket */
    int read_fd, write_fd, is_socket;
    /* message queues */
    int out_qid, in_qid;
    mqd_t out_mq, in_mq;
    unsigned char *staging;    /* SysV: mtype + body, inside staging_block (freed by channel_release) */
    unsigned char *staging_block;
    /* shared memory */
    unsigned char *segment;
    size_t slots, stride;
    int out, into, wait, lockstep, same_core;
    int64_t sent, received, seen_consumed;
    int64_t spin_ns;           /* hybrid: how long a waiting side polls before it takes the semaphore */
    int sysv_sems[4];
    sem_t *posix_sems[4];
    int sems;
    /* test-only fault switch (faults.c) */
    send_fn raw_send;
    int fault_kind;
    int64_t fault_seq, sends;
    unsigned char *fault_copy, *held;
};

void channel_init(channel_t *ch, size_t size);
void channel_release(channel_t *ch);     /* closes what the channel itself opened, never Python's handles */
void fd_channel(channel_t *ch, int read_fd, int write_fd, int is_socket);
int sysv_mq_channel(channel_t *ch, int out_qid, int in_qid, status_t *st);
int posix_mq_channel(channel_t *ch, const char *out_name, const char *in_name, status_t *st);
/* hybrid_spin_ns < 0: the plain wait; >= 0: hybrid over the sem wait, polling that long first. */
int shm_channel(channel_t *ch, unsigned char *segment, size_t segment_bytes, size_t slots, int out,
                int lockstep, int same_core, int wait, int64_t hybrid_spin_ns, status_t *st);
int shm_add_sysv_sem(channel_t *ch, int key, status_t *st);
int shm_add_posix_sem(channel_t *ch, const char *name, status_t *st);
int shm_ready(channel_t *ch, status_t *st);
size_t ring_stride(size_t size);
size_t ring_bytes(size_t size, size_t slots);
int sync_init(unsigned char *area, status_t *st);
int fault_set(channel_t *ch, int kind, int64_t seq, status_t *st);

/* The loops: the initiator's and the peer's halves of each workload. */
int64_t now_ns(void);
int loop_exchange(channel_t *ch, payload_t *p, unsigned char *received, int64_t first, int64_t count,
                  int64_t *samples, status_t *st);
int loop_echo(channel_t *ch, unsigned char *buffer, int64_t count, status_t *st);
int loop_send(channel_t *ch, payload_t *p, int64_t first, int64_t count, status_t *st);
int loop_receive(channel_t *ch, payload_t *p, unsigned char *received, int64_t first, int64_t count,
                 int64_t every, status_t *st);
/* oneway: the initiator keeps the way back's legs, the peer the forward legs (samples may be NULL). */
int loop_oneway_initiator(channel_t *ch, payload_t *p, unsigned char *received, int64_t first, int64_t count,
                          int64_t *back, status_t *st);
int loop_oneway_peer(channel_t *ch, payload_t *p, unsigned char *buffer, int64_t first, int64_t count,
                     int64_t *forward, status_t *st);
/* openloop: message i is due at start + i * interval (ns, CLOCK_MONOTONIC); closer than spin_ns the sender
 * spins, calling sched_yield between clock reads when relax is set (one CPU for both sides). */
typedef struct {
    int64_t start, interval, spin_ns;
    int relax;
} openloop_schedule_t;
int loop_openloop_send(channel_t *ch, payload_t *p, const openloop_schedule_t *s, int64_t first, int64_t count,
                       int64_t *sends, status_t *st);
int loop_openloop_receive(channel_t *ch, payload_t *p, unsigned char *received, int64_t first, int64_t count,
                          int64_t *arrivals, status_t *st);

#endif
