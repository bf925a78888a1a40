/* ipcbench._native: the Python face of the native tier.
 *
 * A Channel borrows the raw handles of a Python endpoint (fds, queue ids or names, the mapped segment and
 * its semaphores) and runs the workloads' hot loops over them in C. Each loop call takes its buffers from
 * Python first, releases the GIL around the loop only, takes it back and turns a failure into the
 * exception Python's tier raises for the same fault: OSError (errno and its text), PayloadError or
 * PeerError from ipcbench.errors. The Channel keeps the segment's buffer exported until close(), so the
 * mapping cannot vanish under a loop; close() it before the Python endpoint. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdlib.h>
#include <string.h>

#include "native.h"

typedef struct {
    PyObject_HEAD
    channel_t ch;
    Py_buffer segment;     /* the mapped segment (shared memory only) */
    int has_segment, open;
    unsigned char *scratch; /* the receiver's own buffer */
} ChannelObject;

static PyObject *payload_error, *peer_error;

static PyObject *raise_status(const status_t *st) {
    if (st->code == ST_OS && st->err != 0) {
        PyObject *args = Py_BuildValue("(is)", st->err, st->text);
        if (args != NULL) {
            PyErr_SetObject(PyExc_OSError, args);
            Py_DECREF(args);
        }
    } else {
        PyObject *type = st->code == ST_PAYLOAD ? payload_error : st->code == ST_PEER ? peer_error : PyExc_ValueError;
        PyErr_SetString(type, st->text);
    }
    return NULL;
}

static void channel_close_object(ChannelObject *self) {
    if (self->open) {
        channel_release(&self->ch);
        self->open = 0;
    }
    if (self->has_segment) {
        PyBuffer_Release(&self->segment);
        self->has_segment = 0;
    }
    free(self->scratch);
    self->scratch = NULL;
}

static void channel_dealloc(ChannelObject *self) {
    channel_close_object(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *channel_close(ChannelObject *self, PyObject *unused) {
    (void)unused;
    channel_close_object(self);
    Py_RETURN_NONE;
}

static int usable(ChannelObject *self) {
    if (!self->open)
        PyErr_SetString(PyExc_ValueError, "the native channel is closed");
    return self->open;
}

/* The payload buffer (size + PATTERNS bytes, writable): the one Python's Payload built from the seed. */
static int get_payload(ChannelObject *self, PyObject *base, Py_buffer *view, payload_t *p) {
    if (PyObject_GetBuffer(base, view, PyBUF_WRITABLE) < 0)
        return -1;
    if ((size_t)view->len != self->ch.size + PATTERNS) {
        PyErr_Format(PyExc_ValueError, "the payload buffer must hold %zu bytes", self->ch.size + PATTERNS);
        PyBuffer_Release(view);
        return -1;
    }
    p->base = view->buf;
    p->size = self->ch.size;
    return 0;
}

/* The optional samples buffer of a timed loop: int64 entries for count messages, or None (warm-up). */
static int get_samples(PyObject *obj, long long count, Py_buffer *samples) {
    if (obj == Py_None)
        return 0;
    if (PyObject_GetBuffer(obj, samples, PyBUF_WRITABLE) < 0)
        return -1;
    if (samples->len < count * (Py_ssize_t)sizeof(int64_t)) {
        PyErr_SetString(PyExc_ValueError, "the samples buffer is too small for count messages");
        PyBuffer_Release(samples);
        return -1;
    }
    return 0;
}

typedef int (*timed_loop)(channel_t *ch, payload_t *p, unsigned char *received, int64_t first, int64_t count,
                          int64_t *samples, status_t *st);

/* exchange, oneway_initiate and oneway_answer: a loop over the payload buffer timing each message into
 * samples (an int64 buffer of count entries, or None for warm-up). */
static PyObject *timed_call(ChannelObject *self, PyObject *args, timed_loop loop, size_t min_size) {
    PyObject *base, *samples_obj;
    long long first, count;
    if (!PyArg_ParseTuple(args, "OLLO", &base, &first, &count, &samples_obj) || !usable(self))
        return NULL;
    if (self->ch.size < min_size) {
        PyErr_Format(PyExc_ValueError, "a stamped message must hold at least %zu bytes", min_size);
        return NULL;
    }
    Py_buffer view, samples = {0};
    payload_t p;
    if (get_payload(self, base, &view, &p) < 0)
        return NULL;
    if (get_samples(samples_obj, count, &samples) < 0) {
        PyBuffer_Release(&view);
        return NULL;
    }
    status_t st = {0};
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = loop(&self->ch, &p, self->scratch, first, count, samples.buf, &st);
    Py_END_ALLOW_THREADS
    if (samples.obj != NULL)
        PyBuffer_Release(&samples);
    PyBuffer_Release(&view);
    if (rc < 0)
        return raise_status(&st);
    Py_RETURN_NONE;
}

static PyObject *channel_exchange(ChannelObject *self, PyObject *args) {
    return timed_call(self, args, loop_exchange, 2 * SEQ_BYTES);
}

static PyObject *channel_oneway_initiate(ChannelObject *self, PyObject *args) {
    return timed_call(self, args, loop_oneway_initiator, STAMPED_MIN);
}

static PyObject *channel_oneway_answer(ChannelObject *self, PyObject *args) {
    return timed_call(self, args, loop_oneway_peer, STAMPED_MIN);
}

static PyObject *channel_openloop_receive(ChannelObject *self, PyObject *args) {
    return timed_call(self, args, loop_openloop_receive, 2 * SEQ_BYTES);
}

static PyObject *channel_openloop_send(ChannelObject *self, PyObject *args) {
    PyObject *base, *sends_obj;
    long long first, count, start, interval, spin_ns;
    int relax;
    if (!PyArg_ParseTuple(args, "OLLLLLOp", &base, &first, &count, &start, &interval, &spin_ns, &sends_obj,
                          &relax) ||
        !usable(self))
        return NULL;
    Py_buffer view, sends = {0};
    payload_t p;
    if (get_payload(self, base, &view, &p) < 0)
        return NULL;
    if (get_samples(sends_obj, count, &sends) < 0) {
        PyBuffer_Release(&view);
        return NULL;
    }
    openloop_schedule_t schedule = {.start = start, .interval = interval, .spin_ns = spin_ns, .relax = relax};
    status_t st = {0};
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = loop_openloop_send(&self->ch, &p, &schedule, first, count, sends.buf, &st);
    Py_END_ALLOW_THREADS
    if (sends.obj != NULL)
        PyBuffer_Release(&sends);
    PyBuffer_Release(&view);
    if (rc < 0)
        return raise_status(&st);
    Py_RETURN_NONE;
}

static PyObject *channel_echo(ChannelObject *self, PyObject *args) {
    long long count;
    if (!PyArg_ParseTuple(args, "L", &count) || !usable(self))
        return NULL;
    status_t st = {0};
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = loop_echo(&self->ch, self->scratch, count, &st);
    Py_END_ALLOW_THREADS
    if (rc < 0)
        return raise_status(&st);
    Py_RETURN_NONE;
}

/* send_messages (every < 0) and receive_messages: the stream's two halves over the payload buffer. */
static PyObject *stream_loop(ChannelObject *self, PyObject *base, long long first, long long count, long long every) {
    Py_buffer view;
    payload_t p;
    if (!usable(self) || get_payload(self, base, &view, &p) < 0)
        return NULL;
    status_t st = {0};
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = every < 0 ? loop_send(&self->ch, &p, first, count, &st)
                   : loop_receive(&self->ch, &p, self->scratch, first, count, every, &st);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (rc < 0)
        return raise_status(&st);
    Py_RETURN_NONE;
}

static PyObject *channel_send_messages(ChannelObject *self, PyObject *args) {
    PyObject *base;
    long long first, count;
    if (!PyArg_ParseTuple(args, "OLL", &base, &first, &count))
        return NULL;
    return stream_loop(self, base, first, count, -1);
}

static PyObject *channel_receive_messages(ChannelObject *self, PyObject *args) {
    PyObject *base;
    long long first, count, every;
    if (!PyArg_ParseTuple(args, "OLLL", &base, &first, &count, &every))
        return NULL;
    if (every < 1) {
        PyErr_SetString(PyExc_ValueError, "every must be at least 1");
        return NULL;
    }
    return stream_loop(self, base, first, count, every);
}

static const char *const FAULT_NAMES[] = {"", "corrupt", "drop", "duplicate", "reorder", "hang", "crash", "garbage"};

static PyObject *channel_set_fault(ChannelObject *self, PyObject *args) {
    const char *kind;
    long long seq;
    if (!PyArg_ParseTuple(args, "sL", &kind, &seq) || !usable(self))
        return NULL;
    for (int k = FAULT_CORRUPT; k <= FAULT_GARBAGE; k++) {
        if (strcmp(kind, FAULT_NAMES[k]) == 0) {
            status_t st = {0};
            if (fault_set(&self->ch, k, seq, &st) < 0)
                return raise_status(&st);
            Py_RETURN_NONE;
        }
    }
    PyErr_Format(PyExc_ValueError, "unknown fault kind %s", kind);
    return NULL;
}

static PyMethodDef channel_methods[] = {
    {"exchange", (PyCFunction)channel_exchange, METH_VARARGS,
     "exchange(payload, first, count, samples): ping-pong round trips, each timed into samples (or None)"},
    {"oneway_initiate", (PyCFunction)channel_oneway_initiate, METH_VARARGS,
     "oneway_initiate(payload, first, count, back): stamped messages out, replies in, the way back timed"},
    {"oneway_answer", (PyCFunction)channel_oneway_answer, METH_VARARGS,
     "oneway_answer(payload, first, count, forward): stamped messages in (forward leg timed), restamped back"},
    {"openloop_send", (PyCFunction)channel_openloop_send, METH_VARARGS,
     "openloop_send(payload, first, count, start, interval, spin_ns, sends, relax): message i sent at "
     "start + i * interval (never skipped), each actual send time into sends (or None)"},
    {"openloop_receive", (PyCFunction)channel_openloop_receive, METH_VARARGS,
     "openloop_receive(payload, first, count, arrivals): each arrival timed once its sequence is checked, "
     "then checked in full"},
    {"echo", (PyCFunction)channel_echo, METH_VARARGS, "echo(count): receive and send back count messages"},
    {"send_messages", (PyCFunction)channel_send_messages, METH_VARARGS,
     "send_messages(payload, first, count): send messages first .. first+count-1 back to back"},
    {"receive_messages", (PyCFunction)channel_receive_messages, METH_VARARGS,
     "receive_messages(payload, first, count, every): receive and check them (in full every `every`)"},
    {"set_fault", (PyCFunction)channel_set_fault, METH_VARARGS,
     "set_fault(kind, seq): test only; make the send with index seq misbehave"},
    {"close", (PyCFunction)channel_close, METH_NOARGS, "release what the channel opened; idempotent"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ChannelType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ipcbench._native.Channel",
    .tp_basicsize = sizeof(ChannelObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "One process's end of a kernel mechanism, over handles a Python endpoint exposes.",
    .tp_dealloc = (destructor)channel_dealloc,
    .tp_methods = channel_methods,
};

static ChannelObject *new_channel(Py_ssize_t size) {
    if (size < 2 * SEQ_BYTES) {
        PyErr_Format(PyExc_ValueError, "a message must hold two sequence numbers (%d bytes)", 2 * SEQ_BYTES);
        return NULL;
    }
    ChannelObject *self = PyObject_New(ChannelObject, &ChannelType);
    if (self == NULL)
        return NULL;
    channel_init(&self->ch, (size_t)size);
    self->has_segment = 0;
    self->open = 1;
    /* The receiver's buffer starts on a cache line, as the ring's slots do: glibc's malloc puts a large
     * block 16 bytes past a page, and a kernel copy into a buffer so placed (read, recv, mq_receive) cost
     * some 40% more CPU per 1 MiB message on the AMD VMs here than into an aligned one. */
    if (posix_memalign((void **)&self->scratch, RING_ALIGN, (size_t)size) != 0)
        self->scratch = NULL;
    if (self->scratch == NULL) {
        Py_DECREF(self);
        return (ChannelObject *)PyErr_NoMemory();
    }
    return self;
}

static PyObject *finish(ChannelObject *self, int rc, const status_t *st) {
    if (rc < 0) {
        Py_DECREF(self);
        return raise_status(st);
    }
    return (PyObject *)self;
}

static PyObject *make_fd_channel(PyObject *module, PyObject *args) {
    (void)module;
    Py_ssize_t size;
    int read_fd, write_fd, is_socket;
    if (!PyArg_ParseTuple(args, "niip", &size, &read_fd, &write_fd, &is_socket))
        return NULL;
    ChannelObject *self = new_channel(size);
    if (self != NULL)
        fd_channel(&self->ch, read_fd, write_fd, is_socket);
    return (PyObject *)self;
}

static PyObject *make_sysv_mq_channel(PyObject *module, PyObject *args) {
    (void)module;
    Py_ssize_t size;
    int out_qid, in_qid;
    if (!PyArg_ParseTuple(args, "nii", &size, &out_qid, &in_qid))
        return NULL;
    ChannelObject *self = new_channel(size);
    if (self == NULL)
        return NULL;
    status_t st = {0};
    return finish(self, sysv_mq_channel(&self->ch, out_qid, in_qid, &st), &st);
}

static PyObject *make_posix_mq_channel(PyObject *module, PyObject *args) {
    (void)module;
    Py_ssize_t size;
    const char *out_name, *in_name;
    if (!PyArg_ParseTuple(args, "nss", &size, &out_name, &in_name))
        return NULL;
    ChannelObject *self = new_channel(size);
    if (self == NULL)
        return NULL;
    status_t st = {0};
    return finish(self, posix_mq_channel(&self->ch, out_name, in_name, &st), &st);
}

static const char *const WAIT_NAMES[] = {"spin", "sysv-sem", "posix-sem", "mutex"};

static int add_sems(ChannelObject *self, PyObject *sems, status_t *st) {
    PyObject *seq = PySequence_Fast(sems, "sems must be a sequence of SysV keys or POSIX names");
    if (seq == NULL)
        return -2;
    int rc = 0;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq) && rc == 0; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, i);
        if (self->ch.wait == WAIT_SYSV_SEM) {
            long key = PyLong_AsLong(item);
            rc = PyErr_Occurred() ? -2 : shm_add_sysv_sem(&self->ch, (int)key, st);
        } else {
            const char *name = PyUnicode_AsUTF8(item);
            rc = name == NULL ? -2 : shm_add_posix_sem(&self->ch, name, st);
        }
    }
    Py_DECREF(seq);
    return rc == 0 ? shm_ready(&self->ch, st) : rc;
}

static PyObject *make_shm_channel(PyObject *module, PyObject *args) {
    (void)module;
    Py_ssize_t size, slots;
    PyObject *segment, *sems;
    int out, lockstep, same_core;
    const char *wait_name;
    long long hybrid_spin_ns = -1;  /* >= 0: the hybrid variant over this sem wait (poll that long first) */
    if (!PyArg_ParseTuple(args, "nOnippsO|L", &size, &segment, &slots, &out, &lockstep, &same_core, &wait_name,
                          &sems, &hybrid_spin_ns))
        return NULL;
    int wait = -1;
    for (int w = 0; w < 4; w++)
        if (strcmp(wait_name, WAIT_NAMES[w]) == 0)
            wait = w;
    if (wait < 0 || (out != 0 && out != 1)) {
        PyErr_Format(PyExc_ValueError, "bad wait %s or direction %d", wait_name, out);
        return NULL;
    }
    ChannelObject *self = new_channel(size);
    if (self == NULL)
        return NULL;
    if (PyObject_GetBuffer(segment, &self->segment, PyBUF_WRITABLE) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    self->has_segment = 1;
    status_t st = {0};
    int rc = shm_channel(&self->ch, self->segment.buf, (size_t)self->segment.len, (size_t)slots, out, lockstep,
                         same_core, wait, (int64_t)hybrid_spin_ns, &st);
    if (rc == 0 && (wait == WAIT_SYSV_SEM || wait == WAIT_POSIX_SEM))
        rc = add_sems(self, sems, &st);
    if (rc == -2) {
        Py_DECREF(self);
        return NULL;
    }
    return finish(self, rc, &st);
}

static PyObject *init_sync(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer segment;
    Py_ssize_t offset;
    if (!PyArg_ParseTuple(args, "w*n", &segment, &offset))
        return NULL;
    if (offset < 0 || offset + SYNC_BYTES > segment.len) {
        PyBuffer_Release(&segment);
        PyErr_SetString(PyExc_ValueError, "the sync area does not fit in the segment");
        return NULL;
    }
    status_t st = {0};
    int rc = sync_init((unsigned char *)segment.buf + offset, &st);
    PyBuffer_Release(&segment);
    if (rc < 0)
        return raise_status(&st);
    Py_RETURN_NONE;
}

static PyObject *clock_ns(PyObject *module, PyObject *unused) {
    (void)module;
    (void)unused;
    return PyLong_FromLongLong(now_ns());
}

static PyMethodDef module_methods[] = {
    {"fd_channel", make_fd_channel, METH_VARARGS, "fd_channel(size, read_fd, write_fd, is_socket)"},
    {"sysv_mq_channel", make_sysv_mq_channel, METH_VARARGS, "sysv_mq_channel(size, out_qid, in_qid)"},
    {"posix_mq_channel", make_posix_mq_channel, METH_VARARGS, "posix_mq_channel(size, out_name, in_name)"},
    {"shm_channel", make_shm_channel, METH_VARARGS,
     "shm_channel(size, segment, slots, out, lockstep, same_core, wait, sems, hybrid_spin_ns=-1): "
     "hybrid_spin_ns >= 0 makes a sem wait hybrid (poll the counter that long, then take the semaphore)"},
    {"init_sync", init_sync, METH_VARARGS,
     "init_sync(segment, offset): process-shared robust mutexes and condition variables at offset"},
    {"clock_ns", clock_ns, METH_NOARGS, "CLOCK_MONOTONIC in nanoseconds, the clock the loops time with"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT, "ipcbench._native",
    "The native tier: the workloads' hot loops in C over the kernel objects Python created.", -1,
    module_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__native(void) {
    if (PyType_Ready(&ChannelType) < 0)
        return NULL;
    PyObject *errors = PyImport_ImportModule("ipcbench.errors");
    if (errors == NULL)
        return NULL;
    payload_error = PyObject_GetAttrString(errors, "PayloadError");
    peer_error = PyObject_GetAttrString(errors, "PeerError");
    Py_DECREF(errors);
    if (payload_error == NULL || peer_error == NULL)
        return NULL;
    PyObject *module = PyModule_Create(&native_module);
    if (module == NULL)
        return NULL;
    Py_INCREF(&ChannelType);
    if (PyModule_AddObject(module, "Channel", (PyObject *)&ChannelType) < 0 ||
        PyModule_AddIntConstant(module, "SYNC_BYTES", SYNC_BYTES) < 0 ||
        PyModule_AddIntConstant(module, "RING_HEADER", RING_HEADER) < 0 ||
        PyModule_AddIntConstant(module, "ABI", NATIVE_ABI) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
