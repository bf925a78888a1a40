/* ipcref: a minimal, independent C ping-pong and stream loop over each IPC mechanism.
 *
 * It shares no code with ipcbench's extension: its own objects (IPC_PRIVATE or unlinked at once; the SysV
 * semaphores and queues, which cannot be, are removed at exit, also after an error), its own fork, pinning,
 * timing and payload check. It does the same work per message as ipcbench: the sender stamps a sequence
 * number at both ends of a message taken from one of seven windows into a random buffer, the receiver
 * copies it out and compares every byte; ping-pong times each round trip with CLOCK_MONOTONIC and reports
 * the median; stream times first send to the receiver's acknowledgement on a side pipe, after WARMUP
 * messages that are acknowledged the same way. The kernel objects are the kinds ipcbench creates: one SysV
 * semaphore set per semaphore, POSIX named semaphores, a ring of SLOTS slots per direction after a header of
 * four counters on their own cache lines, one slot and no flow control in ping-pong.
 *
 * oneway is ping-pong with each leg timed on its own: the sender stores CLOCK_MONOTONIC in bytes 8..15 just
 * before sending, the receiver reads the clock once the message is whole and its leading sequence number
 * checked, then compares every byte with the stamp copied into its expected window; the peer replies with
 * the message restamped. p50_ns is then the forward leg's median (the peer's samples), back_p50_ns the way
 * back's.
 *
 *   ipcref MECHANISM pingpong|stream|oneway SIZE COUNT WARMUP SLOTS CPU_INITIATOR CPU_PEER [SPIN_NS]
 *   MECHANISM: pipe fifo unix tcp sysv-shm/sem sysv-shm/spin sysv-shm/mutex sysv-shm/hybrid posix-shm/sem
 *              posix-shm/spin posix-shm/mutex posix-shm/hybrid sysv-mq posix-mq
 *   SPIN_NS: hybrid only, how long a waiter polls the counter before it takes the semaphore (50000).
 *   SLOTS: messages in flight per direction in stream: the ring's slots (shared memory), the queue's
 *          mq_maxmsg (posix-mq); pipes, sockets and SysV queues hold what their kernel buffer holds.
 * Prints one JSON line, with the depth in force ("depth": slots, bytes of pipe buffer or SysV queue). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) { perror(what); exit(2); }

enum kind { K_FD, K_SOCK, K_SYSVMQ, K_POSIXMQ, K_SHM };
enum waitk { W_SPIN, W_SYSVSEM, W_POSIXSEM, W_MUTEX };

static enum kind kind;
static enum waitk waitk;
static int hybrid;               /* hybrid: the semaphores of sem plus spin's counters, polled first */
static int64_t spin_ns = 50000;  /* hybrid: how long a waiter polls the counter before it takes the semaphore */
static size_t size, slots = 1;
static int fds[2][2];            /* per direction: read end, write end */
static int sock[2];              /* the initiator's connected socket, the peer's */
static char fifo_dir[32], fifo_path[2][64];  /* FIFOs: opened by path after the fork, then removed */
static int msq[2] = {-1, -1};
static mqd_t mq[2];
static unsigned char *shm;       /* [pub0, cons0, pub1, cons1] counters, rings, then sync objects */
static int semid[4] = {-1, -1, -1, -1};  /* SysV: one set of one semaphore each, as sysv_ipc makes them */
static sem_t *psem[4];           /* POSIX named semaphores, unlinked at once */
static int lockstep;
static unsigned char *stage;
static int64_t sent_n, recv_n;
static pid_t owner;              /* the process that removes the SysV objects at exit */
static long depth;               /* what the JSON reports as the depth in force */

static void remove_objects(void) {
    if (getpid() != owner) return;
    for (int i = 0; i < 4; i++) if (semid[i] >= 0) semctl(semid[i], 0, IPC_RMID);
    for (int d = 0; d < 2; d++) if (kind == K_SYSVMQ && msq[d] >= 0) msgctl(msq[d], IPC_RMID, NULL);
    if (fifo_dir[0]) { unlink(fifo_path[0]); unlink(fifo_path[1]); rmdir(fifo_dir); }
}

static volatile int64_t *ctr(int i) { return (volatile int64_t *)(shm + 64 * i); }
static unsigned char *ring(int dir, int64_t i) {
    size_t stride = (size + 63) & ~(size_t)63;
    return shm + 256 + (dir * slots + (size_t)(i & (int64_t)(slots - 1))) * stride;
}
static size_t ring_end(void) { return 256 + 2 * slots * ((size + 63) & ~(size_t)63); }
static pthread_mutex_t *mtx(int d) { return (pthread_mutex_t *)(shm + ring_end() + 128 * d); }
static pthread_cond_t *cnd(int d) { return (pthread_cond_t *)(shm + ring_end() + 128 * d + 64); }

/* semaphore n: 2*d is direction d's "filled", 2*d+1 its "free" (unused in lockstep) */
static void sem_p(int n, int delta) {
    if (waitk == W_SYSVSEM) {
        struct sembuf op = {0, (short)delta, 0};
        while (semop(semid[n], &op, 1) < 0) if (errno != EINTR) die("semop");
        return;
    }
    if (delta > 0) sem_post(psem[n]);
    else while (sem_wait(psem[n]) < 0) if (errno != EINTR) die("sem_wait");
}

static int64_t now(void);

static void poll_until(volatile int64_t *counter, int64_t target) {
    if (__atomic_load_n(counter, __ATOMIC_ACQUIRE) >= target || spin_ns <= 0) return;
    int64_t deadline = now() + spin_ns;
    while (__atomic_load_n(counter, __ATOMIC_ACQUIRE) < target && now() < deadline) ;
}

static void put(int d, const unsigned char *m) {
    switch (kind) {
    case K_FD: case K_SOCK: {
        int fd = kind == K_FD ? fds[d][1] : sock[d];
        for (size_t done = 0; done < size;) {
            ssize_t n = kind == K_FD ? write(fd, m + done, size - done) : send(fd, m + done, size - done, 0);
            if (n < 0) { if (errno == EINTR) continue; die("write"); }
            done += (size_t)n;
        }
        return;
    }
    case K_SYSVMQ:
        *(long *)stage = 1;
        memcpy(stage + sizeof(long), m, size);
        while (msgsnd(msq[d], stage, size, 0) < 0) if (errno != EINTR) die("msgsnd");
        return;
    case K_POSIXMQ:
        while (mq_send(mq[d], (const char *)m, size, 0) < 0) if (errno != EINTR) die("mq_send");
        return;
    case K_SHM:
        break;
    }
    if (waitk == W_SPIN) {
        if (!lockstep) while (sent_n - *ctr(2 * d + 1) >= (int64_t)slots) ;
        memcpy(ring(d, sent_n), m, size);
        __atomic_store_n(ctr(2 * d), ++sent_n, __ATOMIC_RELEASE);
    } else if (waitk == W_MUTEX) {
        if (!lockstep) {
            pthread_mutex_lock(mtx(d));
            while (*ctr(2 * d) - *ctr(2 * d + 1) >= (int64_t)slots) pthread_cond_wait(cnd(d), mtx(d));
            pthread_mutex_unlock(mtx(d));
        }
        memcpy(ring(d, sent_n), m, size);
        pthread_mutex_lock(mtx(d));
        *ctr(2 * d) = ++sent_n;
        pthread_cond_signal(cnd(d));
        pthread_mutex_unlock(mtx(d));
    } else if (hybrid) {  /* poll, then always take; copy, publish, always post */
        if (!lockstep) {
            poll_until(ctr(2 * d + 1), sent_n - (int64_t)slots + 1);
            sem_p(2 * d + 1, -1);
        }
        memcpy(ring(d, sent_n), m, size);
        __atomic_store_n(ctr(2 * d), ++sent_n, __ATOMIC_RELEASE);
        sem_p(2 * d, +1);
    } else {
        if (!lockstep) sem_p(2 * d + 1, -1);
        memcpy(ring(d, sent_n++), m, size);
        sem_p(2 * d, +1);
    }
}

static void get(int d, unsigned char *m) {
    switch (kind) {
    case K_FD: case K_SOCK: {
        int fd = kind == K_FD ? fds[d][0] : sock[1 - d];
        for (size_t done = 0; done < size;) {
            ssize_t n = kind == K_FD ? read(fd, m + done, size - done) : recv(fd, m + done, size - done, MSG_WAITALL);
            if (n < 0) { if (errno == EINTR) continue; die("read"); }
            if (n == 0) { fprintf(stderr, "end of file\n"); exit(2); }
            done += (size_t)n;
        }
        return;
    }
    case K_SYSVMQ:
        while (msgrcv(msq[d], stage, size, 0, 0) < 0) if (errno != EINTR) die("msgrcv");
        memcpy(m, stage + sizeof(long), size);
        return;
    case K_POSIXMQ:
        while (mq_receive(mq[d], (char *)m, size, NULL) < 0) if (errno != EINTR) die("mq_receive");
        return;
    case K_SHM:
        break;
    }
    if (waitk == W_SPIN) {
        while (__atomic_load_n(ctr(2 * d), __ATOMIC_ACQUIRE) <= recv_n) ;
        memcpy(m, ring(d, recv_n), size);
        recv_n++;
        if (!lockstep) __atomic_store_n(ctr(2 * d + 1), recv_n, __ATOMIC_RELEASE);
    } else if (waitk == W_MUTEX) {
        pthread_mutex_lock(mtx(d));
        while (*ctr(2 * d) <= recv_n) pthread_cond_wait(cnd(d), mtx(d));
        pthread_mutex_unlock(mtx(d));
        memcpy(m, ring(d, recv_n), size);
        recv_n++;
        if (!lockstep) {
            pthread_mutex_lock(mtx(d));
            *ctr(2 * d + 1) = recv_n;
            pthread_cond_signal(cnd(d));
            pthread_mutex_unlock(mtx(d));
        }
    } else if (hybrid) {
        poll_until(ctr(2 * d), recv_n + 1);
        sem_p(2 * d, -1);
        memcpy(m, ring(d, recv_n++), size);
        if (!lockstep) {
            __atomic_store_n(ctr(2 * d + 1), recv_n, __ATOMIC_RELEASE);
            sem_p(2 * d + 1, +1);
        }
    } else {
        sem_p(2 * d, -1);
        memcpy(m, ring(d, recv_n++), size);
        if (!lockstep) sem_p(2 * d + 1, +1);
    }
}

/* ---- payload: window seq % 7 of a random buffer, seq stamped at both ends ---------------------------- */
static unsigned char *msg_of(unsigned char *base, int64_t seq) {
    unsigned char *w = base + seq % 7;
    memcpy(w, &seq, 8);
    memcpy(w + size - 8, &seq, 8);
    return w;
}

static int64_t now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int64_t cpu_now(void) {  /* this process's CPU time, as ipcbench's CpuMeter reads it */
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int cmp64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double median(int64_t *v, int64_t n) {
    qsort(v, (size_t)n, sizeof *v, cmp64);
    return (double)v[n / 2];
}

/* oneway: message s just received: its sequence number, then the clock (the leg), then every byte against
 * the expected window with the sender's stamp copied in. -1 on a bad message. */
static int arrive(unsigned char *base, int64_t s, const unsigned char *m, int64_t *leg) {
    int64_t head, stamp;
    memcpy(&head, m, 8);
    if (head != s) return -1;
    int64_t t = now();
    memcpy(&stamp, m + 8, 8);
    *leg = t - stamp;
    unsigned char *w = msg_of(base, s);
    memcpy(w + 8, m + 8, 8);
    return memcmp(m, w, size) ? -1 : 0;
}

static void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) < 0) die("sched_setaffinity");
}

static void sysv_sems(int n) {  /* n semaphores: filled (0) and, with flow control, free (slots) */
    for (int i = 0; i < 2 * n; i++) {
        int initial = n == 2 && i % 2 ? (int)slots : 0;
        if ((semid[n == 2 ? i : 2 * i] = semget(IPC_PRIVATE, 1, IPC_CREAT | IPC_EXCL | 0600)) < 0) die("semget");
        if (semctl(semid[n == 2 ? i : 2 * i], 0, SETVAL, initial) < 0) die("semctl");
    }
}

static void posix_sems(int n) {
    char name[64];
    for (int i = 0; i < 2 * n; i++) {
        int at = n == 2 ? i : 2 * i;
        snprintf(name, sizeof name, "/ipcref-%d-sem%d", getpid(), at);
        psem[at] = sem_open(name, O_CREAT | O_EXCL, 0600, n == 2 && i % 2 ? (unsigned)slots : 0u);
        if (psem[at] == SEM_FAILED) die("sem_open");
        sem_unlink(name);  /* the mapping survives, inherited by the peer */
    }
}

static void setup_shm(const char *mech) {
    char name[64];
    const char *v = strchr(mech, '/');
    if (!v) { fprintf(stderr, "unknown mechanism %s\n", mech); exit(2); }
    v++;
    if (slots & (slots - 1)) { fprintf(stderr, "ring slots must be a power of two\n"); exit(2); }
    waitk = !strcmp(v, "spin") ? W_SPIN : !strcmp(v, "mutex") ? W_MUTEX : mech[0] == 's' ? W_SYSVSEM : W_POSIXSEM;
    hybrid = !strcmp(v, "hybrid");
    size_t bytes = ring_end() + (waitk == W_MUTEX ? 256 : 0);
    if (mech[0] == 's') {
        int id = shmget(IPC_PRIVATE, bytes, IPC_CREAT | 0600);
        if (id < 0 || (shm = shmat(id, NULL, 0)) == (void *)-1) die("shmget");
        shmctl(id, IPC_RMID, NULL);  /* gone when both processes detach */
    } else {
        snprintf(name, sizeof name, "/ipcref-%d", getpid());
        int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
        if (fd < 0 || ftruncate(fd, (off_t)bytes)) die("shm_open");
        shm_unlink(name);
        if ((shm = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) die("mmap");
        close(fd);
    }
    memset(shm, 0, bytes);
    depth = (long)slots;
    if (waitk == W_SYSVSEM) sysv_sems(lockstep ? 1 : 2);
    else if (waitk == W_POSIXSEM) posix_sems(lockstep ? 1 : 2);
    else if (waitk == W_MUTEX) {
        pthread_mutexattr_t ma;
        pthread_condattr_t ca;
        pthread_mutexattr_init(&ma);
        pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
        pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
        pthread_condattr_init(&ca);
        pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
        for (int d = 0; d < 2; d++) { pthread_mutex_init(mtx(d), &ma); pthread_cond_init(cnd(d), &ca); }
    }
}

static void setup_queues(const char *mech) {
    char name[64];
    stage = (unsigned char *)aligned_alloc(64, 64 + (size + 63) / 64 * 64) + 64 - sizeof(long);  /* body on a line */
    for (int d = 0; d < 2; d++) {
        if (mech[0] == 's') {
            kind = K_SYSVMQ;
            if ((msq[d] = msgget(IPC_PRIVATE, IPC_CREAT | IPC_EXCL | 0600)) < 0) die("msgget");
            struct msqid_ds ds;
            if (msgctl(msq[d], IPC_STAT, &ds) < 0) die("msgctl");
            depth = (long)ds.msg_qbytes;  /* bytes: the kernel default, as sysv_ipc leaves it */
        } else {
            kind = K_POSIXMQ;
            struct mq_attr at = {.mq_maxmsg = (long)slots, .mq_msgsize = (long)size};
            snprintf(name, sizeof name, "/ipcref-%d-%d", getpid(), d);
            if ((mq[d] = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &at)) == (mqd_t)-1) die("mq_open");
            mq_unlink(name);
            depth = (long)slots;
        }
    }
}

/* After the fork, each process keeps only the ends it uses, as ipcbench's endpoints do (a FIFO is opened
 * by path, forward direction first on both sides, so the opens pair up; the initiator removes the paths
 * once both of its opens returned, which means the peer holds its ends too). */
static void own_ends(int initiator) {
    if (fifo_dir[0]) {
        int first = initiator ? 1 : 0;   /* forward: the initiator writes, the peer reads */
        fds[0][first] = open(fifo_path[0], initiator ? O_WRONLY : O_RDONLY);
        fds[1][1 - first] = open(fifo_path[1], initiator ? O_RDONLY : O_WRONLY);
        if (fds[0][first] < 0 || fds[1][1 - first] < 0) die("open fifo");
        if (initiator) { unlink(fifo_path[0]); unlink(fifo_path[1]); rmdir(fifo_dir); fifo_dir[0] = 0; }
    } else if (kind == K_FD) {
        close(initiator ? fds[0][0] : fds[0][1]);
        close(initiator ? fds[1][1] : fds[1][0]);
    } else if (kind == K_SOCK) {
        close(sock[initiator ? 1 : 0]);
    }
}

static void setup(const char *mech) {
    if (!strcmp(mech, "pipe")) {
        kind = K_FD;
        if (pipe(fds[0]) || pipe(fds[1])) die("pipe");
    } else if (!strcmp(mech, "fifo")) {
        kind = K_FD;
        strcpy(fifo_dir, "/tmp/ipcref-XXXXXX");
        if (!mkdtemp(fifo_dir)) die("mkdtemp");
        for (int d = 0; d < 2; d++) {
            snprintf(fifo_path[d], sizeof fifo_path[d], "%s/f%d", fifo_dir, d);
            if (mkfifo(fifo_path[d], 0600)) die("mkfifo");
        }
    } else if (!strcmp(mech, "unix")) {
        kind = K_SOCK;
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sock)) die("socketpair");
    } else if (!strcmp(mech, "tcp")) {
        kind = K_SOCK;
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof a;
        int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        if (bind(l, (void *)&a, sizeof a) || listen(l, 1) || getsockname(l, (void *)&a, &len)) die("tcp listen");
        sock[0] = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(sock[0], (void *)&a, sizeof a)) die("connect");
        sock[1] = accept(l, NULL, NULL);
        close(l);
        setsockopt(sock[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(sock[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    } else if (!strcmp(mech, "sysv-mq") || !strcmp(mech, "posix-mq")) {
        setup_queues(mech);
    } else {
        kind = K_SHM;
        setup_shm(mech);
    }
}

int main(int argc, char **argv) {
    if (argc != 9 && argc != 10) {
        fprintf(stderr, "usage: ipcref MECHANISM pingpong|stream|oneway SIZE COUNT WARMUP SLOTS CPU_A CPU_B [SPIN_NS]\n");
        return 2;
    }
    if (argc == 10) spin_ns = atoll(argv[9]);
    const char *mech = argv[1];
    int stream = !strcmp(argv[2], "stream"), oneway = !strcmp(argv[2], "oneway");
    size = strtoul(argv[3], NULL, 10);
    int64_t count = atoll(argv[4]), warm = atoll(argv[5]);
    slots = strtoul(argv[6], NULL, 10);
    int cpu_a = atoi(argv[7]), cpu_b = atoi(argv[8]);
    if (size < (oneway ? 24u : 16u) || count < 1 || warm < 1 || slots < 1) {
        fprintf(stderr, "size >= 16 (24 oneway), count >= 1, warmup >= 1 and slots >= 1, please\n");
        return 2;
    }
    lockstep = !stream;
    if (lockstep) slots = 1;  /* ping-pong: one slot per direction, no flow control */
    owner = getpid();
    atexit(remove_objects);
    setup(mech);
    int ack[2];
    if (pipe(ack)) die("pipe");
    /* The receiver's buffer on a cache line (as ipcbench's native tier has it): a kernel copy into a buffer
     * 16 bytes past a page, where malloc puts large blocks, costs markedly more CPU on AMD machines. */
    unsigned char *base = malloc(size + 7), *buf = aligned_alloc(64, (size + 63) / 64 * 64);
    srand(12345);
    for (size_t i = 0; i < size + 7; i++) base[i] = (unsigned char)rand();
    pid_t peer = fork();
    if (peer == 0) {  /* the peer: echo (ping-pong) or receive and check (stream), then acknowledge */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        own_ends(0);
        pin(cpu_b);
        int64_t total = warm + count, cpu0 = 0, *fwd = malloc(sizeof(int64_t) * (size_t)count), leg;
        for (int64_t s = 0; s < total; s++) {
            if (s == warm) cpu0 = cpu_now();  /* CPU time of the measured messages only, as ipcbench's */
            get(0, buf);
            if (oneway) {
                if (arrive(base, s, buf, &leg)) { fprintf(stderr, "oneway message %lld differs\n", (long long)s); _exit(3); }
                if (s >= warm) fwd[s - warm] = leg;
                int64_t t = now();
                memcpy(buf + 8, &t, 8);
                put(1, buf);
                memcpy(base + s % 7 + 8, &t, 8);  /* the initiator's window ends up holding this stamp too */
                continue;
            }
            if (!stream) { put(1, buf); continue; }
            if (memcmp(buf, msg_of(base, s), size)) { fprintf(stderr, "stream message %lld differs\n", (long long)s); _exit(3); }
            if (s == warm - 1)
                if (write(ack[1], &s, 8) != 8) _exit(4);
        }
        /* the last message's ack, the CPU time, the forward legs' median (oneway) */
        int64_t report[3] = {total - 1, cpu_now() - cpu0, oneway ? (int64_t)median(fwd, count) : 0};
        if (write(ack[1], report, sizeof report) != sizeof report) _exit(4);
        _exit(0);
    }
    own_ends(1);
    if (kind == K_FD) depth = fcntl(fds[0][1], F_GETPIPE_SZ);
    pin(cpu_a);
    int64_t *rtt = malloc(sizeof(int64_t) * (size_t)count), got, start = 0, elapsed, cpu0 = 0, report[3];
    for (int64_t s = 0; s < warm + count; s++) {
        if (s == warm) {
            if (stream && read(ack[0], &got, 8) != 8) die("ack");
            cpu0 = cpu_now();
            start = now();
        }
        unsigned char *m = msg_of(base, s);
        if (stream) { put(0, m); continue; }
        if (oneway) {  /* rtt holds the way back's legs */
            int64_t t = now(), leg;
            memcpy(m + 8, &t, 8);
            put(0, m);
            get(1, buf);
            if (arrive(base, s, buf, &leg)) { fprintf(stderr, "oneway reply %lld differs\n", (long long)s); return 3; }
            if (s >= warm) rtt[s - warm] = leg;
            continue;
        }
        int64_t t0 = now();
        put(0, m);
        get(1, buf);
        int64_t t1 = now();
        if (s >= warm) rtt[s - warm] = t1 - t0;
        if (memcmp(buf, m, size)) { fprintf(stderr, "echo %lld differs\n", (long long)s); return 3; }
    }
    if (stream && read(ack[0], report, sizeof report) != sizeof report) die("ack");
    elapsed = now() - start;
    int64_t cpu = cpu_now() - cpu0;
    if (!stream && read(ack[0], report, sizeof report) != sizeof report) die("ack");
    int status;
    waitpid(peer, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) { fprintf(stderr, "peer failed\n"); return 3; }
    double p50 = 0, back = 0;
    if (!stream) p50 = median(rtt, count);
    if (oneway) { back = p50; p50 = (double)report[2]; }
    printf("{\"mechanism\": \"%s\", \"workload\": \"%s\", \"size\": %zu, \"messages\": %lld, \"p50_ns\": %.0f, "
           "\"back_p50_ns\": %.0f, "
           "\"warmup\": %lld, \"bytes_per_s\": %.1f, \"depth\": %ld, "
           "\"cpu_ns_per_msg\": {\"initiator\": %.1f, \"peer\": %.1f}}\n", mech, argv[2], size, (long long)count,
           p50, back, (long long)warm, (double)count * (double)size * 1e9 / (double)elapsed, depth,
           (double)cpu / (double)count, (double)report[1] / (double)count);
    return 0;
}
