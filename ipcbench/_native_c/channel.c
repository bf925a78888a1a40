/* A channel's life: a blank state, and the release of what the channel itself opened.
 * Handles that Python owns (fds, mapped segments, SysV ids) are borrowed and never closed here. */
#include <stdlib.h>
#include <string.h>

#include "native.h"

void channel_init(channel_t *ch, size_t size) {
    memset(ch, 0, sizeof *ch);
    ch->size = size;
    ch->read_fd = ch->write_fd = -1;
    ch->out_qid = ch->in_qid = -1;
    ch->out_mq = ch->in_mq = (mqd_t)-1;
}

void channel_release(channel_t *ch) {
    if (ch->out_mq != (mqd_t)-1)
        mq_close(ch->out_mq);
    if (ch->in_mq != (mqd_t)-1)
        mq_close(ch->in_mq);
    ch->out_mq = ch->in_mq = (mqd_t)-1;
    if (ch->wait == WAIT_POSIX_SEM)
        for (int i = 0; i < ch->sems; i++)
            sem_close(ch->posix_sems[i]);
    ch->sems = 0;
    free(ch->staging_block);
    free(ch->fault_copy);
    ch->staging = ch->staging_block = ch->fault_copy = ch->held = NULL;
    ch->send = NULL;
    ch->recv = NULL;
}
