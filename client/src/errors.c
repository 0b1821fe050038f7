/* errors.c — the thread-local last error and small utilities (sleeping, polling, clocks,
 * string joining, hash slots and shard prefixes). */
#define _GNU_SOURCE
#include "elc_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------------ */
/* errors                                                                                     */
/* ------------------------------------------------------------------------------------------ */

static _Thread_local char g_err[2048];

elc_status elc_err(elc_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_err, sizeof g_err, fmt, ap);
    va_end(ap);
    return st;
}

void elc_err_clear(void) { g_err[0] = '\0'; }

const char *elc_last_error(void) { return g_err; }

size_t elc_last_error_copy(char *buf, size_t buflen)
{
    size_t n = strlen(g_err);
    if (buflen > 0) {
        size_t k = n < buflen - 1 ? n : buflen - 1;
        memcpy(buf, g_err, k);
        buf[k] = '\0';
    }
    return n;
}

void elc_f_last_error(char *buf, int buflen)
{
    size_t n = strlen(g_err);
    if (buflen <= 0) return;
    size_t k = n < (size_t)buflen ? n : (size_t)buflen;
    memcpy(buf, g_err, k);
    memset(buf + k, ' ', (size_t)buflen - k);
}

void elc_free(void *p) { free(p); }

/* ------------------------------------------------------------------------------------------ */
/* small utilities                                                                            */
/* ------------------------------------------------------------------------------------------ */

void elc_sleep_ms(long ms)
{
    if (ms <= 0) return;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

elc_status elc_poll_exists(elc_client *c, elc_status (*probe)(elc_client *, const char *, bool *),
                           const char *name, int poll_ms, int tries, bool *exists)
{
    if (exists) *exists = false;   /* a NULL is the probe's to report */
    if (tries < 1) tries = 1;
    for (int i = 0; i < tries; i++) {
        elc_status st = probe(c, name, exists);
        if (st || *exists) return st;
        if (i + 1 < tries) elc_sleep_ms(poll_ms);
    }
    return ELC_OK;
}

double elc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double elc_thread_cpu_seconds(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return -1.0;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int64_t elc_thread_minor_faults(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_THREAD, &ru) != 0) return -1;
    return (int64_t)ru.ru_minflt;
}

char *elc_strcat3(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = malloc(la + lb + lc + 1);
    if (!s) return NULL;
    memcpy(s, a, la);
    memcpy(s + la, b, lb);
    memcpy(s + la + lb, c, lc);
    s[la + lb + lc] = '\0';
    return s;
}

/* CRC16-CCITT (XMODEM), as Redis Cluster uses it. */
uint16_t elc_crc16(const char *buf, size_t len)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)((unsigned char)buf[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc;
}

int elc_key_slot(const char *key, size_t len)
{
    size_t s, e;
    for (s = 0; s < len; s++)
        if (key[s] == '{') break;
    if (s < len) {
        for (e = s + 1; e < len; e++)
            if (key[e] == '}') break;
        if (e < len && e != s + 1) return elc_crc16(key + s + 1, e - s - 1) & 16383;
    }
    return elc_crc16(key, len) & 16383;
}

/* The 2- or 3-byte string p with crc16(p) % 16384 == slot and no braces (docs/protocol.md §2.5). */
void elc_shard_prefix(int slot, char *out, size_t *len)
{
    const uint64_t poly = 69665; /* 0x11021 */
    uint64_t r = (uint64_t)slot;
    for (int i = 0; i < 16; i++)
        if (r & (1ULL << i)) r ^= poly << i;
    int nbits = 16;
    for (;;) {
        size_t n = (size_t)(nbits + 7) / 8;
        uint64_t v = r >> 16;
        int bad = 0;
        for (size_t k = 0; k < n; k++) {
            unsigned char ch = (unsigned char)(v >> (8 * k));
            if (ch == '{' || ch == '}') bad = 1;
        }
        if (!bad || nbits >= 24) {
            for (size_t k = 0; k < n; k++) out[k] = (char)(unsigned char)(v >> (8 * (n - 1 - k)));
            *len = n;
            return;
        }
        /* apply the XOR step at the next bit position */
        int i = nbits;
        if (r & (1ULL << i)) r ^= poly << i;
        nbits++;
        /* r>>16 now may use one more bit: keep the bit count at least i-15 */
        (void)i;
    }
}
