/* ipcref: a minimal, independent C ping-pong and stream loop over each IPC mechanism.
 *
 * It shares no code with ipcbench's extension: its own objects (IPC_PRIVATE or unlinked at once, so a
 * crash leaves nothing behind but at worst two SysV objects of this process), its own fork, pinning,
 * timing and payload check. It does the same work per message as ipcbench: the sender stamps a sequence
 * number at both ends of a message taken from one of seven windows into a random buffer, the receiver
 * copies it out and compares every byte; ping-pong times each round trip with CLOCK_MONOTONIC and reports
 * the median; stream times first send to the receiver's acknowledgement on a side pipe.
 *
 *   ipcref MECHANISM pingpong|stream SIZE COUNT CPU_INITIATOR CPU_PEER
 *   MECHANISM: pipe fifo unix tcp sysv-shm/sem sysv-shm/spin sysv-shm/mutex posix-shm/sem posix-shm/spin
 *              posix-shm/mutex sysv-mq posix-mq
 * Prints one JSON line. */
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
static size_t size, slots = 1;
static int fds[2][2];            /* per direction: read end, write end (or one socket per side) */
static int sock[2];
static int msq[2];
static mqd_t mq[2];
static unsigned char *shm;       /* [pub0, cons0, pub1, cons1] counters, rings, then sync objects */
static int semset = -1;
static sem_t *psem;              /* 4 unnamed process-shared semaphores in the segment */
static int lockstep;
static long mtype_buf_pad;
static unsigned char *stage;
static int64_t sent_n, recv_n;

static volatile int64_t *ctr(int i) { return (volatile int64_t *)(shm + 64 * i); }
static unsigned char *ring(int dir, int64_t i) {
    size_t stride = (size + 63) & ~(size_t)63;
    return shm + 256 + (dir * slots + (size_t)(i & (int64_t)(slots - 1))) * stride;
}
static size_t ring_end(void) { return 256 + 2 * slots * ((size + 63) & ~(size_t)63); }
static pthread_mutex_t *mtx(int d) { return (pthread_mutex_t *)(shm + ring_end() + 128 * d); }
static pthread_cond_t *cnd(int d) { return (pthread_cond_t *)(shm + ring_end() + 128 * d + 64); }

static void sysv_sem(int n, int delta) {
    struct sembuf op = {(unsigned short)n, (short)delta, 0};
    while (semop(semset, &op, 1) < 0)
        if (errno != EINTR) die("semop");
}
static void sem_p(int n, int delta) {
    if (waitk == W_SYSVSEM) { sysv_sem(n, delta); return; }
    if (delta > 0) sem_post(&psem[n]);
    else while (sem_wait(&psem[n]) < 0) if (errno != EINTR) die("sem_wait");
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
        pthread_mutex_lock(mtx(d));
        while (!lockstep && *ctr(2 * d) - *ctr(2 * d + 1) >= (int64_t)slots) pthread_cond_wait(cnd(d), mtx(d));
        pthread_mutex_unlock(mtx(d));
        memcpy(ring(d, sent_n), m, size);
        pthread_mutex_lock(mtx(d));
        *ctr(2 * d) = ++sent_n;
        pthread_cond_signal(cnd(d));
        pthread_mutex_unlock(mtx(d));
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
        __atomic_store_n(ctr(2 * d + 1), ++recv_n, __ATOMIC_RELEASE);
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

static int cmp64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) < 0) die("sched_setaffinity");
}

static void setup(const char *mech, int stream) {
    char name[64];
    lockstep = !stream;
    if (stream) {
        size_t fits = (256 << 10) / size;
        fits = fits < 2 ? 2 : fits > 64 ? 64 : fits;
        while (fits & (fits - 1)) fits &= fits - 1;
        slots = fits;
    }
    if (!strcmp(mech, "pipe")) {
        kind = K_FD;
        if (pipe(fds[0]) || pipe(fds[1])) die("pipe");
    } else if (!strcmp(mech, "fifo")) {
        kind = K_FD;
        char dir[] = "/tmp/ipcref-XXXXXX";
        if (!mkdtemp(dir)) die("mkdtemp");
        for (int d = 0; d < 2; d++) {
            snprintf(name, sizeof name, "%s/f%d", dir, d);
            if (mkfifo(name, 0600)) die("mkfifo");
            fds[d][0] = open(name, O_RDWR);  /* Linux: O_RDWR opens a FIFO without waiting for a writer */
            fds[d][1] = open(name, O_WRONLY);
            unlink(name);
        }
        rmdir(dir);
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
        stage = malloc(sizeof(long) + size);
        for (int d = 0; d < 2; d++) {
            if (mech[0] == 's') {
                kind = K_SYSVMQ;
                if ((msq[d] = msgget(IPC_PRIVATE, IPC_CREAT | 0600)) < 0) die("msgget");
            } else {
                kind = K_POSIXMQ;
                struct mq_attr at = {.mq_maxmsg = slots > 10 ? 10 : (long)slots, .mq_msgsize = (long)size};
                snprintf(name, sizeof name, "/ipcref-%d-%d", getpid(), d);
                if ((mq[d] = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &at)) == (mqd_t)-1) die("mq_open");
                mq_unlink(name);
            }
        }
    } else {
        kind = K_SHM;
        const char *v = strchr(mech, '/');
        if (!v) { fprintf(stderr, "unknown mechanism %s\n", mech); exit(2); }
        v++;
        waitk = !strcmp(v, "spin") ? W_SPIN : !strcmp(v, "mutex") ? W_MUTEX : mech[0] == 's' ? W_SYSVSEM : W_POSIXSEM;
        size_t bytes = ring_end() + 256 + 4 * sizeof(sem_t);
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
        psem = (sem_t *)(shm + ring_end() + 256);
        if (waitk == W_SYSVSEM) {
            if ((semset = semget(IPC_PRIVATE, 4, IPC_CREAT | 0600)) < 0) die("semget");
            unsigned short init[4] = {0, (unsigned short)slots, 0, (unsigned short)slots};
            semctl(semset, 0, SETALL, init);
        } else if (waitk == W_POSIXSEM) {
            for (int d = 0; d < 2; d++) { sem_init(&psem[2 * d], 1, 0); sem_init(&psem[2 * d + 1], 1, (unsigned)slots); }
        } else if (waitk == W_MUTEX) {
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
}

int main(int argc, char **argv) {
    if (argc != 7) { fprintf(stderr, "usage: ipcref MECHANISM pingpong|stream SIZE COUNT CPU_A CPU_B\n"); return 2; }
    const char *mech = argv[1];
    int stream = !strcmp(argv[2], "stream");
    size = strtoul(argv[3], NULL, 10);
    int64_t count = atoll(argv[4]), warm = count / 10 > 1000 ? 1000 : count / 10 + 2;
    int cpu_a = atoi(argv[5]), cpu_b = atoi(argv[6]);
    if (size < 16) { fprintf(stderr, "size must be at least 16\n"); return 2; }
    (void)mtype_buf_pad;
    setup(mech, stream);
    int ack[2];
    if (pipe(ack)) die("pipe");
    unsigned char *base = malloc(size + 7), *buf = malloc(size);
    srand(12345);
    for (size_t i = 0; i < size + 7; i++) base[i] = (unsigned char)rand();
    pid_t peer = fork();
    if (peer == 0) {  /* the peer: echo (ping-pong) or receive and check (stream), then acknowledge */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        pin(cpu_b);
        int64_t total = warm + count;
        for (int64_t s = 0; s < total; s++) {
            get(0, buf);
            if (!stream) { put(1, buf); continue; }
            if (memcmp(buf, msg_of(base, s), size)) { fprintf(stderr, "stream message %lld differs\n", (long long)s); _exit(3); }
            if (s == warm - 1 || s == total - 1)
                if (write(ack[1], &s, 8) != 8) _exit(4);
        }
        _exit(0);
    }
    pin(cpu_a);
    int64_t *rtt = malloc(sizeof(int64_t) * (size_t)count), got, start = 0, elapsed;
    for (int64_t s = 0; s < warm + count; s++) {
        if (s == warm) {
            if (stream && read(ack[0], &got, 8) != 8) die("ack");
            start = now();
        }
        unsigned char *m = msg_of(base, s);
        if (stream) { put(0, m); continue; }
        int64_t t0 = now();
        put(0, m);
        get(1, buf);
        int64_t t1 = now();
        if (s >= warm) rtt[s - warm] = t1 - t0;
        if (memcmp(buf, m, size)) { fprintf(stderr, "echo %lld differs\n", (long long)s); return 3; }
    }
    if (stream && read(ack[0], &got, 8) != 8) die("ack");
    elapsed = now() - start;
    int status;
    waitpid(peer, &status, 0);
    if (semset >= 0) semctl(semset, 0, IPC_RMID);
    for (int d = 0; d < 2; d++) if (kind == K_SYSVMQ) msgctl(msq[d], IPC_RMID, NULL);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) { fprintf(stderr, "peer failed\n"); return 3; }
    double p50 = 0;
    if (!stream) { qsort(rtt, (size_t)count, sizeof *rtt, cmp64); p50 = (double)rtt[count / 2]; }
    printf("{\"mechanism\": \"%s\", \"workload\": \"%s\", \"size\": %zu, \"messages\": %lld, \"p50_ns\": %.0f, "
           "\"bytes_per_s\": %.1f}\n", mech, argv[2], size, (long long)count, p50,
           (double)count * (double)size * 1e9 / (double)elapsed);
    return 0;
}
