/* Shared memory: the ring of ipcbench/transports/shm_ring.py over a segment Python mapped, and its waits.
 *
 * Layout (shm_ring.py): a 256-byte header of four int64 counters on their own cache lines (published at
 * byte 128*d, consumed at 128*d + 64, for direction d), then per direction `slots` slots of `size` bytes
 * rounded up to 64. The mutex variant adds SYNC_BYTES after both rings: per direction a process-shared
 * robust mutex and a condition variable, initialised once by the runner (sync_init).
 *
 * Waits, as in Python:
 *  - spin: poll the other side's counter; in ping-pong across cores one slot per direction and no flow
 *    control (the reply proves the request was consumed); on one shared core every poll yields the CPU.
 *  - sysv-sem / posix-sem: (filled, free) semaphores per direction, or only `filled` in lockstep.
 *  - mutex: the counters read and written under the direction's mutex; a side that must wait sleeps on
 *    the condition variable. At most one side waits per direction (a ring is never both full and empty).
 *  - hybrid: the semaphores of sem and the counters of spin, kept in step: the sender copies, publishes
 *    the counter and always posts; a waiting side polls the counter for at most spin_ns (0 on one shared
 *    core), then always takes the semaphore (without sleeping when the counter had moved).
 * Ordering: counters are stored with release and loaded with acquire semantics (plain moves on x86). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/sem.h>

#include "native.h"

_Static_assert(sizeof(pthread_mutex_t) <= SYNC_BLOCK / 2, "a mutex must fit half a sync block");
_Static_assert(sizeof(pthread_cond_t) <= SYNC_BLOCK / 2, "a condition variable must fit half a sync block");

size_t ring_stride(size_t size) { return (size + RING_ALIGN - 1) / RING_ALIGN * RING_ALIGN; }

size_t ring_bytes(size_t size, size_t slots) { return RING_HEADER + 2 * slots * ring_stride(size); }

static int64_t *published(channel_t *ch, int d) { return (int64_t *)(ch->segment + 128 * d); }
static int64_t *consumed(channel_t *ch, int d) { return (int64_t *)(ch->segment + 128 * d + 64); }

static unsigned char *slot(channel_t *ch, int d, int64_t index) {
    size_t i = (size_t)index & (ch->slots - 1);
    return ch->segment + RING_HEADER + ((size_t)d * ch->slots + i) * ch->stride;
}

static pthread_mutex_t *mutex_of(channel_t *ch, int d) {
    return (pthread_mutex_t *)(ch->segment + ring_bytes(ch->size, ch->slots) + d * SYNC_BLOCK);
}

static pthread_cond_t *cond_of(channel_t *ch, int d) {
    return (pthread_cond_t *)(ch->segment + ring_bytes(ch->size, ch->slots) + d * SYNC_BLOCK + SYNC_BLOCK / 2);
}

static void relax(channel_t *ch) {
    if (ch->same_core)
        sched_yield();
}

/* ---- spin ------------------------------------------------------------------------------------------- */

static int spin_send(channel_t *ch, const unsigned char *buf, status_t *st) {
    (void)st;
    if (ch->sent - ch->seen_consumed >= (int64_t)ch->slots) {
        ch->seen_consumed = __atomic_load_n(consumed(ch, ch->out), __ATOMIC_ACQUIRE);
        while (ch->sent - ch->seen_consumed >= (int64_t)ch->slots) {
            relax(ch);
            ch->seen_consumed = __atomic_load_n(consumed(ch, ch->out), __ATOMIC_ACQUIRE);
        }
    }
    memcpy(slot(ch, ch->out, ch->sent), buf, ch->size);
    __atomic_store_n(published(ch, ch->out), ++ch->sent, __ATOMIC_RELEASE);
    return 0;
}

static int spin_recv(channel_t *ch, unsigned char *buf, status_t *st) {
    (void)st;
    while (__atomic_load_n(published(ch, ch->into), __ATOMIC_ACQUIRE) <= ch->received)
        relax(ch);
    memcpy(buf, slot(ch, ch->into, ch->received), ch->size);
    __atomic_store_n(consumed(ch, ch->into), ++ch->received, __ATOMIC_RELEASE);
    return 0;
}

static int spin_lockstep_send(channel_t *ch, const unsigned char *buf, status_t *st) {
    (void)st;
    memcpy(slot(ch, ch->out, 0), buf, ch->size);
    __atomic_store_n(published(ch, ch->out), ++ch->sent, __ATOMIC_RELEASE);
    return 0;
}

static int spin_lockstep_recv(channel_t *ch, unsigned char *buf, status_t *st) {
    (void)st;
    ch->received++;
    while (__atomic_load_n(published(ch, ch->into), __ATOMIC_ACQUIRE) < ch->received)
        ;
    memcpy(buf, slot(ch, ch->into, 0), ch->size);
    return 0;
}

/* ---- semaphores ------------------------------------------------------------------------------------- */

/* Semaphore i of the channel: per direction (filled, free), or (filled) in lockstep. */
static int sem_index(channel_t *ch, int d, int free_slots) { return ch->lockstep ? d : 2 * d + free_slots; }

static int sem_op(channel_t *ch, int index, int delta, status_t *st) {
    if (ch->wait == WAIT_SYSV_SEM) {
        struct sembuf op = {0, (short)delta, 0};
        while (semop(ch->sysv_sems[index], &op, 1) < 0)
            if (errno != EINTR)
                return fail_os(st, "semop");
        return 0;
    }
    if (delta > 0)
        return sem_post(ch->posix_sems[index]) < 0 ? fail_os(st, "sem_post") : 0;
    while (sem_wait(ch->posix_sems[index]) < 0)
        if (errno != EINTR)
            return fail_os(st, "sem_wait");
    return 0;
}

static int sem_send(channel_t *ch, const unsigned char *buf, status_t *st) {
    if (!ch->lockstep && sem_op(ch, sem_index(ch, ch->out, 1), -1, st) < 0)
        return -1;
    memcpy(slot(ch, ch->out, ch->sent++), buf, ch->size);
    return sem_op(ch, sem_index(ch, ch->out, 0), +1, st);
}

static int sem_recv(channel_t *ch, unsigned char *buf, status_t *st) {
    if (sem_op(ch, sem_index(ch, ch->into, 0), -1, st) < 0)
        return -1;
    memcpy(buf, slot(ch, ch->into, ch->received++), ch->size);
    return ch->lockstep ? 0 : sem_op(ch, sem_index(ch, ch->into, 1), +1, st);
}

/* ---- hybrid: poll the counter for a bounded time, then take the semaphore ----------------------------- */

/* Poll until *counter reaches target or spin_ns has passed; the clock is read only once the first look
 * has failed (shm_ring._spin_until). */
static void poll_until(channel_t *ch, const int64_t *counter, int64_t target) {
    if (__atomic_load_n(counter, __ATOMIC_ACQUIRE) >= target || ch->spin_ns <= 0)
        return;
    int64_t deadline = now_ns() + ch->spin_ns;
    while (__atomic_load_n(counter, __ATOMIC_ACQUIRE) < target && now_ns() < deadline)
        ;
}

static int hybrid_send(channel_t *ch, const unsigned char *buf, status_t *st) {
    if (!ch->lockstep) {
        poll_until(ch, consumed(ch, ch->out), ch->sent - (int64_t)ch->slots + 1);
        if (sem_op(ch, sem_index(ch, ch->out, 1), -1, st) < 0)
            return -1;
    }
    memcpy(slot(ch, ch->out, ch->sent), buf, ch->size);
    __atomic_store_n(published(ch, ch->out), ++ch->sent, __ATOMIC_RELEASE);
    return sem_op(ch, sem_index(ch, ch->out, 0), +1, st);
}

static int hybrid_recv(channel_t *ch, unsigned char *buf, status_t *st) {
    poll_until(ch, published(ch, ch->into), ch->received + 1);
    if (sem_op(ch, sem_index(ch, ch->into, 0), -1, st) < 0)
        return -1;
    memcpy(buf, slot(ch, ch->into, ch->received), ch->size);
    ch->received++;
    if (ch->lockstep)
        return 0;
    __atomic_store_n(consumed(ch, ch->into), ch->received, __ATOMIC_RELEASE);
    return sem_op(ch, sem_index(ch, ch->into, 1), +1, st);
}

/* ---- mutex + condition variable --------------------------------------------------------------------- */

static int lock(channel_t *ch, int d, status_t *st) {
    int err = pthread_mutex_lock(mutex_of(ch, d));
    if (err == EOWNERDEAD) {
        pthread_mutex_consistent(mutex_of(ch, d));
        pthread_mutex_unlock(mutex_of(ch, d));
        return fail_with(st, ST_PEER, "the other process died holding the shared mutex (EOWNERDEAD)");
    }
    if (err != 0) {
        errno = err;
        return fail_os(st, "pthread_mutex_lock");
    }
    return 0;
}

/* Wait under the lock of direction d until `ready` holds; returns with the lock held, or -1 without. */
static int wait_until(channel_t *ch, int d, int (*ready)(channel_t *, int), status_t *st) {
    if (lock(ch, d, st) < 0)
        return -1;
    while (!ready(ch, d)) {
        int err = pthread_cond_wait(cond_of(ch, d), mutex_of(ch, d));
        if (err == EOWNERDEAD) {
            pthread_mutex_consistent(mutex_of(ch, d));
            pthread_mutex_unlock(mutex_of(ch, d));
            return fail_with(st, ST_PEER, "the other process died holding the shared mutex (EOWNERDEAD)");
        }
        if (err != 0) {
            pthread_mutex_unlock(mutex_of(ch, d));
            errno = err;
            return fail_os(st, "pthread_cond_wait");
        }
    }
    return 0;
}

static int has_room(channel_t *ch, int d) { return *published(ch, d) - *consumed(ch, d) < (int64_t)ch->slots; }
static int has_message(channel_t *ch, int d) {
    return *published(ch, d) > ch->received;
}

static int publish(channel_t *ch, int d, int64_t *counter, int64_t value, status_t *st) {
    if (lock(ch, d, st) < 0)
        return -1;
    *counter = value;
    pthread_cond_signal(cond_of(ch, d));
    pthread_mutex_unlock(mutex_of(ch, d));
    return 0;
}

static int mutex_send(channel_t *ch, const unsigned char *buf, status_t *st) {
    if (!ch->lockstep) {
        if (wait_until(ch, ch->out, has_room, st) < 0)
            return -1;
        pthread_mutex_unlock(mutex_of(ch, ch->out));
    }
    memcpy(slot(ch, ch->out, ch->sent), buf, ch->size);
    ch->sent++;
    return publish(ch, ch->out, published(ch, ch->out), ch->sent, st);
}

static int mutex_recv(channel_t *ch, unsigned char *buf, status_t *st) {
    if (wait_until(ch, ch->into, has_message, st) < 0)
        return -1;
    pthread_mutex_unlock(mutex_of(ch, ch->into));
    memcpy(buf, slot(ch, ch->into, ch->received), ch->size);
    ch->received++;
    return ch->lockstep ? 0 : publish(ch, ch->into, consumed(ch, ch->into), ch->received, st);
}

int sync_init(unsigned char *area, status_t *st) {
    pthread_mutexattr_t mattr;
    pthread_condattr_t cattr;
    int err = pthread_mutexattr_init(&mattr);
    err = err ? err : pthread_mutexattr_setpshared(&mattr, PTHREAD_PROCESS_SHARED);
    err = err ? err : pthread_mutexattr_setrobust(&mattr, PTHREAD_MUTEX_ROBUST);
    err = err ? err : pthread_condattr_init(&cattr);
    err = err ? err : pthread_condattr_setpshared(&cattr, PTHREAD_PROCESS_SHARED);
    for (int d = 0; d < 2 && !err; d++) {
        err = pthread_mutex_init((pthread_mutex_t *)(area + d * SYNC_BLOCK), &mattr);
        err = err ? err : pthread_cond_init((pthread_cond_t *)(area + d * SYNC_BLOCK + SYNC_BLOCK / 2), &cattr);
    }
    if (err) {
        errno = err;
        return fail_os(st, "pthread_mutex_init");
    }
    return 0;
}

/* ---- set-up ----------------------------------------------------------------------------------------- */

int shm_channel(channel_t *ch, unsigned char *segment, size_t segment_bytes, size_t slots, int out,
                int lockstep, int same_core, int wait, int64_t hybrid_spin_ns, status_t *st) {
    if (slots == 0 || (slots & (slots - 1)) != 0)
        return fail_with(st, ST_OS, "ring slots must be a power of two, got %zu", slots);
    size_t needed = ring_bytes(ch->size, slots) + (wait == WAIT_MUTEX ? SYNC_BYTES : 0);
    if (segment_bytes < needed)
        return fail_with(st, ST_OS, "the segment has %zu bytes, the ring needs %zu", segment_bytes, needed);
    ch->segment = segment;
    ch->slots = slots;
    ch->stride = ring_stride(ch->size);
    ch->out = out;
    ch->into = 1 - out;
    ch->lockstep = lockstep;
    ch->same_core = same_core;
    ch->wait = wait;
    int hybrid = hybrid_spin_ns >= 0;
    if (hybrid && wait != WAIT_SYSV_SEM && wait != WAIT_POSIX_SEM)
        return fail_with(st, ST_OS, "hybrid waits on semaphores (sysv-sem or posix-sem)");
    ch->spin_ns = same_core ? 0 : hybrid_spin_ns;  /* one shared core: the other side cannot move meanwhile */
    if (hybrid) {
        ch->send = hybrid_send;
        ch->recv = hybrid_recv;
    } else if (wait == WAIT_SPIN && lockstep && !same_core) {
        ch->send = spin_lockstep_send;
        ch->recv = spin_lockstep_recv;
    } else if (wait == WAIT_SPIN) {
        ch->send = spin_send;
        ch->recv = spin_recv;
    } else if (wait == WAIT_MUTEX) {
        ch->send = mutex_send;
        ch->recv = mutex_recv;
    } else {
        ch->send = sem_send;
        ch->recv = sem_recv;
    }
    return 0;
}

int shm_add_sysv_sem(channel_t *ch, int key, status_t *st) {
    if (ch->sems >= 4)
        return fail_with(st, ST_OS, "at most four semaphores per channel");
    int id = semget(key, 0, 0);
    if (id < 0)
        return fail_os(st, "semget");
    ch->sysv_sems[ch->sems++] = id;
    return 0;
}

int shm_add_posix_sem(channel_t *ch, const char *name, status_t *st) {
    if (ch->sems >= 4)
        return fail_with(st, ST_OS, "at most four semaphores per channel");
    sem_t *sem = sem_open(name, 0);
    if (sem == SEM_FAILED)
        return fail_os(st, "sem_open");
    ch->posix_sems[ch->sems++] = sem;
    return 0;
}

int shm_ready(channel_t *ch, status_t *st) {
    int wanted = ch->lockstep ? 2 : 4;
    if ((ch->wait == WAIT_SYSV_SEM || ch->wait == WAIT_POSIX_SEM) && ch->sems != wanted)
        return fail_with(st, ST_OS, "the sem variant needs %d semaphores here, got %d", wanted, ch->sems);
    return 0;
}
