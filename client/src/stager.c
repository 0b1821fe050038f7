/* stager.c — asynchronous snapshot staging: a bounded queue of datasets and one background
 * thread that sends each with put_dataset + append_to_list pipelined, reconnecting and
 * resending on connection loss.
 *
 * Deferred blocks (elc_dataset_add_block3_deferred) are copied from the caller's arrays by the
 * background thread before it sends anything else, transposed to row-major on the way (one
 * pass from the caller's array to the bytes that go on the wire), so that the caller's thread
 * does not copy. elc_stager_fence returns once no queued dataset still needs the caller's
 * arrays: it copies itself the blocks the thread has not reached (it is busy sending) and
 * waits for those it is copying. The copies are claimed one tensor at a time under the lock,
 * so that the thread and a fence can share the work of one snapshot. */
#define _GNU_SOURCE
#include "elc_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct st_item {
    elc_dataset *ds;
    char *list;
    size_t bytes;
    double t_submit;
    size_t pending; /* deferred blocks not yet copied (claimed ones included) */
    size_t copying; /* ... of which a thread is copying now: the item must stay */
    struct st_item *next;
} st_item;

struct elc_stager {
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_space, cv_idle, cv_copied;
    st_item *head, *tail;
    size_t max_bytes;
    elc_stager_policy policy;
    int stop, busy;
    int down; /* the last item failed for want of a connection */
    elc_client *client;
    pthread_t thread;
    elc_stager_stats stats;
    double lat_sum;
    unsigned long long failed_reported; /* failures a flush has already returned */
    size_t pending; /* deferred blocks of all queued items not yet copied; read without the
                       lock by elc_stager_fence (atomics) to return at once when nothing is */
    char err[2048];
};

static void item_free(st_item *it)
{
    if (!it) return;
    elc_dataset_destroy(it->ds);
    free(it->list);
    free(it);
}

/* With s->mu held: claim the oldest queued deferred block nobody is copying, copy it (the lock
 * released meanwhile; transposed to row-major on the way for the sending thread, a plain copy
 * for a fence, which the caller waits for) and mark it copied; returns 0 when there was none. */
static int copy_one_pending(elc_stager *s, uint64_t *counter, int transpose)
{
    for (st_item *it = s->head; it; it = it->next) {
        if (it->pending == it->copying) continue;
        size_t nt = elc_dataset_num_tensors(it->ds);
        for (size_t i = 0; i < nt; i++) {
            if (elc_dataset_tensor_deferred(it->ds, i) != ELC_DEFER_PENDING) continue;
            elc_dataset_tensor_set_deferred(it->ds, i, ELC_DEFER_COPYING);
            it->copying++;
            pthread_mutex_unlock(&s->mu);
            elc_dataset_copy_deferred(it->ds, i, transpose);
            pthread_mutex_lock(&s->mu);
            elc_dataset_tensor_set_deferred(it->ds, i, ELC_DEFER_NONE);
            it->copying--;
            it->pending--;
            __atomic_store_n(&s->pending, s->pending - 1, __ATOMIC_RELEASE);
            (*counter)++;
            pthread_cond_broadcast(&s->cv_copied);
            return 1;
        }
    }
    return 0;
}

static void *stager_main(void *arg)
{
    elc_stager *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->head && !s->stop) pthread_cond_wait(&s->cv_work, &s->mu);
        if (!s->head) break;
        /* the caller's arrays first: copy every deferred block queued before sending more */
        if (copy_one_pending(s, &s->stats.copied_by_sender, 1)) continue;
        if (s->head->pending) { /* a fence is copying the head's last blocks */
            pthread_cond_wait(&s->cv_copied, &s->mu);
            continue;
        }
        st_item *it = s->head;
        s->head = it->next;
        if (!s->head) s->tail = NULL;
        s->stats.queued--;
        s->stats.queued_bytes -= it->bytes;
        s->busy = 1;
        pthread_cond_broadcast(&s->cv_space);
        pthread_mutex_unlock(&s->mu);

        /* the solver's next snapshot will want buffers of these sizes again: keep them ready
         * (pages written) from this core rather than let the solver's copy fault them in */
        elc_dataset_keep_buffers_ready(it->ds);
        unsigned long long r0 = s->client->retries;
        /* while the database is known to be gone, one attempt per item: a backlog fails fast
         * instead of waiting SR_CMD_TIMEOUT for each item; the first success resets this */
        s->client->single_attempt = s->down;
        elc_status st = it->list ? elc_put_dataset_and_append(s->client, it->ds, it->list)
                                 : elc_put_dataset(s->client, it->ds);
        double lat = elc_now() - it->t_submit;
        unsigned long long dr = s->client->retries - r0;
        char msg[1024];
        if (st) snprintf(msg, sizeof msg, "%s", elc_last_error());
        __atomic_store_n(&s->down, st != ELC_OK && s->client->io_gave_up, __ATOMIC_RELAXED);

        pthread_mutex_lock(&s->mu);
        s->stats.retries += dr;
        if (st == ELC_OK) {
            s->stats.sent++;
            s->stats.bytes += it->bytes;
            s->lat_sum += lat;
            if (lat > s->stats.max_latency_s) s->stats.max_latency_s = lat;
            s->stats.mean_latency_s = s->lat_sum / (double)s->stats.sent;
        } else {
            s->stats.failed++;
            snprintf(s->err, sizeof s->err, "sending dataset %s failed: %s", elc_dataset_name(it->ds), msg);
        }
        s->busy = 0;
        if (!s->head) pthread_cond_broadcast(&s->cv_idle);
        pthread_mutex_unlock(&s->mu);
        item_free(it);
        pthread_mutex_lock(&s->mu);
    }
    s->busy = 0;
    pthread_cond_broadcast(&s->cv_idle);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* EDDYLEARN_STAGER_CPUS (a list such as "1" or "2-3,6"): the cores the sending thread may run
 * on, so that it can keep off the solver's core. Unset or unparsable: the thread keeps the
 * process's cores. Returns 1 when the thread was pinned. */
static int pin_sender(pthread_t th)
{
    const char *spec = getenv("EDDYLEARN_STAGER_CPUS");
    if (!spec || !*spec) return 0;
    cpu_set_t set;
    CPU_ZERO(&set);
    const char *p = spec;
    while (*p) {
        char *end;
        long a = strtol(p, &end, 10), b;
        if (end == p || a < 0 || a >= CPU_SETSIZE) return 0;
        b = a;
        if (*end == '-') {
            p = end + 1;
            b = strtol(p, &end, 10);
            if (end == p || b < a || b >= CPU_SETSIZE) return 0;
        }
        for (long c = a; c <= b; c++) CPU_SET((int)c, &set);
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return 0;
    }
    return pthread_setaffinity_np(th, sizeof set, &set) == 0;
}

elc_status elc_stager_create(elc_stager **out, size_t max_queue_bytes, elc_stager_policy policy,
                             const char *address, const char *suffix)
{
    elc_err_clear();
    if (!out) return elc_err(ELC_ERR_PARAMETER, "elc_stager_create: out is NULL");
    *out = NULL;
    if (policy != ELC_POLICY_BLOCK && policy != ELC_POLICY_DROP_OLDEST)
        return elc_err(ELC_ERR_PARAMETER, "Unknown stager policy %d (0 block, 1 drop_oldest)", (int)policy);
    elc_stager *s = calloc(1, sizeof *s);
    if (!s) return elc_err(ELC_ERR_NOMEM, "out of memory");
    elc_status st = elc_client_create_at(&s->client, address, -1, suffix);
    if (st) { free(s); return st; }
    s->max_bytes = max_queue_bytes;
    s->policy = policy;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv_work, NULL);
    pthread_cond_init(&s->cv_space, NULL);
    pthread_cond_init(&s->cv_idle, NULL);
    pthread_cond_init(&s->cv_copied, NULL);
    int rc = pthread_create(&s->thread, NULL, stager_main, s);
    if (rc) {
        elc_client_destroy(s->client);
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv_work);
        pthread_cond_destroy(&s->cv_space);
        pthread_cond_destroy(&s->cv_idle);
        pthread_cond_destroy(&s->cv_copied);
        free(s);
        return elc_err(ELC_ERR_INTERNAL, "cannot start the staging thread: %s", strerror(rc));
    }
    pin_sender(s->thread);
    *out = s;
    return ELC_OK;
}

elc_status elc_stager_submit(elc_stager *s, elc_dataset *ds, const char *list)
{
    elc_err_clear();
    if (!s) { elc_dataset_destroy(ds); return elc_err(ELC_ERR_PARAMETER, "stager is NULL"); }
    if (!ds) return elc_err(ELC_ERR_PARAMETER, "dataset is NULL");
    st_item *it = calloc(1, sizeof *it);
    if (!it) { elc_dataset_destroy(ds); return elc_err(ELC_ERR_NOMEM, "out of memory"); }
    it->ds = ds;
    it->bytes = elc_dataset_nbytes(ds);
    if (elc_dataset_has_deferred(ds))
        for (size_t i = 0; i < elc_dataset_num_tensors(ds); i++)
            if (elc_dataset_tensor_deferred(ds, i) == ELC_DEFER_PENDING) it->pending++;
    it->t_submit = elc_now();
    if (list && *list && !(it->list = strdup(list))) {
        item_free(it);
        return elc_err(ELC_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_lock(&s->mu);
    s->stats.submitted++;
    if (s->stop) {
        pthread_mutex_unlock(&s->mu);
        item_free(it);
        return elc_err(ELC_ERR_RUNTIME, "the stager is shutting down");
    }
    st_item *dropped = NULL;
    if (s->max_bytes > 0) {
        if (it->bytes > s->max_bytes && s->policy == ELC_POLICY_DROP_OLDEST) {
            s->stats.dropped++;
            pthread_mutex_unlock(&s->mu);
            item_free(it);
            return ELC_OK;
        }
        for (;;) {
            size_t limit = it->bytes > s->max_bytes ? 0 : s->max_bytes - it->bytes;
            if (s->stats.queued_bytes <= limit && !(it->bytes > s->max_bytes && s->head)) break;
            if (s->policy == ELC_POLICY_DROP_OLDEST && s->head) {
                st_item *old = s->head;
                if (old->copying) { /* a block of it is being copied: wait for that copy */
                    pthread_cond_wait(&s->cv_copied, &s->mu);
                    continue;
                }
                if (old->pending) {
                    __atomic_store_n(&s->pending, s->pending - old->pending, __ATOMIC_RELEASE);
                    pthread_cond_broadcast(&s->cv_copied);
                }
                s->head = old->next;
                if (!s->head) s->tail = NULL;
                s->stats.queued--;
                s->stats.queued_bytes -= old->bytes;
                s->stats.dropped++;
                old->next = dropped;
                dropped = old;
                continue;
            }
            if (s->policy == ELC_POLICY_DROP_OLDEST) break; /* queue empty: it fits now */
            /* the queue is full, an item has already given up after SR_CMD_TIMEOUT and the
             * database still refuses connections: space would come back only one failed item at
             * a time, so the item fails now instead of the caller waiting for it (counted, and
             * reported again by the next flush). A shorter outage (a restart) is waited out. */
            if (__atomic_load_n(&s->down, __ATOMIC_RELAXED) &&
                __atomic_load_n(&s->client->unreachable, __ATOMIC_RELAXED)) {
                s->stats.failed++;
                snprintf(s->err, sizeof s->err, "dataset %s not staged: the queue is full and the database "
                         "cannot be reached", elc_dataset_name(it->ds));
                elc_status st = elc_err(ELC_ERR_DATABASE, "%s (%llu items failed so far)", s->err,
                                        (unsigned long long)s->stats.failed);
                pthread_mutex_unlock(&s->mu);
                item_free(it);
                return st;
            }
            /* woken by the sender when space frees; rechecked every 100 ms for a dead database */
            struct timespec dl;
            clock_gettime(CLOCK_REALTIME, &dl);
            dl.tv_nsec += 100000000L;
            if (dl.tv_nsec >= 1000000000L) { dl.tv_sec++; dl.tv_nsec -= 1000000000L; }
            pthread_cond_timedwait(&s->cv_space, &s->mu, &dl);
            if (s->stop) {
                pthread_mutex_unlock(&s->mu);
                item_free(it);
                return elc_err(ELC_ERR_RUNTIME, "the stager is shutting down");
            }
        }
    }
    if (s->tail) s->tail->next = it;
    else s->head = it;
    s->tail = it;
    s->stats.queued++;
    s->stats.queued_bytes += it->bytes;
    __atomic_store_n(&s->pending, s->pending + it->pending, __ATOMIC_RELEASE);
    if (s->stats.queued_bytes > s->stats.high_water_bytes) s->stats.high_water_bytes = s->stats.queued_bytes;
    if (s->stats.queued > s->stats.high_water_items) s->stats.high_water_items = s->stats.queued;
    pthread_cond_signal(&s->cv_work);
    pthread_mutex_unlock(&s->mu);
    while (dropped) {
        st_item *n = dropped->next;
        item_free(dropped);
        dropped = n;
    }
    return ELC_OK;
}

elc_status elc_stager_flush(elc_stager *s, double timeout_s)
{
    elc_err_clear();
    if (!s) return elc_err(ELC_ERR_PARAMETER, "stager is NULL");
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    if (timeout_s >= 0) {
        double t = (double)dl.tv_sec + 1e-9 * (double)dl.tv_nsec + timeout_s;
        dl.tv_sec = (time_t)t;
        dl.tv_nsec = (long)((t - (double)dl.tv_sec) * 1e9);
    }
    elc_status st = ELC_OK;
    pthread_mutex_lock(&s->mu);
    while (s->head || s->busy) {
        if (timeout_s < 0) {
            pthread_cond_wait(&s->cv_idle, &s->mu);
        } else if (pthread_cond_timedwait(&s->cv_idle, &s->mu, &dl) == ETIMEDOUT) {
            if (s->head || s->busy)
                st = elc_err(ELC_ERR_TIMEOUT, "stager flush timed out after %.1f s with %llu items queued",
                             timeout_s, (unsigned long long)s->stats.queued + (unsigned long long)s->busy);
            break;
        }
    }
    /* items that failed since the last flush make this flush fail: a caller that flushes
     * learns that data was lost, not only the one who reads the counters */
    if (st == ELC_OK && s->stats.failed > s->failed_reported)
        st = elc_err(ELC_ERR_DATABASE, "%llu of the items staged since the last flush failed (%llu failed "
                     "of %llu submitted in all); the last: %s",
                     s->stats.failed - s->failed_reported, (unsigned long long)s->stats.failed,
                     (unsigned long long)s->stats.submitted, s->err);
    s->failed_reported = s->stats.failed;
    pthread_mutex_unlock(&s->mu);
    return st;
}

elc_status elc_stager_fence(elc_stager *s)
{
    if (!s) return elc_err(ELC_ERR_PARAMETER, "stager is NULL");
    if (__atomic_load_n(&s->pending, __ATOMIC_ACQUIRE) == 0) return ELC_OK;
    pthread_mutex_lock(&s->mu);
    while (s->pending) {
        if (copy_one_pending(s, &s->stats.copied_by_fence, 0)) continue;
        pthread_cond_wait(&s->cv_copied, &s->mu); /* the rest is being copied by the thread */
    }
    pthread_mutex_unlock(&s->mu);
    return ELC_OK;
}

elc_status elc_stager_stats_get(elc_stager *s, elc_stager_stats *stats)
{
    if (!s || !stats) return elc_err(ELC_ERR_PARAMETER, "stager or stats is NULL");
    pthread_mutex_lock(&s->mu);
    *stats = s->stats;
    pthread_mutex_unlock(&s->mu);
    return ELC_OK;
}

size_t elc_stager_last_error(elc_stager *s, char *buf, size_t buflen)
{
    if (!s) return 0;
    pthread_mutex_lock(&s->mu);
    size_t n = strlen(s->err);
    if (buf && buflen > 0) {
        size_t k = n < buflen - 1 ? n : buflen - 1;
        memcpy(buf, s->err, k);
        buf[k] = '\0';
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

elc_status elc_stager_destroy(elc_stager *s)
{
    if (!s) return ELC_OK;
    elc_status st = elc_stager_flush(s, -1.0);
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_broadcast(&s->cv_work);
    pthread_cond_broadcast(&s->cv_space);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    while (s->head) {
        st_item *n = s->head->next;
        item_free(s->head);
        s->head = n;
    }
    elc_client_destroy(s->client);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv_work);
    pthread_cond_destroy(&s->cv_space);
    pthread_cond_destroy(&s->cv_idle);
    pthread_cond_destroy(&s->cv_copied);
    free(s);
    return st;
}

/* Fortran-callable: copy the stager's last error, blank-padded. */
void elc_f_stager_last_error(elc_stager *s, char *buf, int buflen)
{
    if (buflen <= 0) return;
    char tmp[2048];
    size_t n = elc_stager_last_error(s, tmp, sizeof tmp);
    if (n >= sizeof tmp) n = sizeof tmp - 1;
    size_t k = n < (size_t)buflen ? n : (size_t)buflen;
    memcpy(buf, tmp, k);
    memset(buf + k, ' ', (size_t)buflen - k);
}
