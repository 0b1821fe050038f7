/* fortran_glue.c — small C helpers for the Fortran modules (blank-padded strings, arrays of
 * Fortran strings). Not part of the documented C API except where the header says so. */
#define _GNU_SOURCE
#include "elc_internal.h"

#include <stdlib.h>
#include <string.h>

/* Set the calling thread's last error from Fortran (msg: NUL-terminated). Returns code. */
int elc_f_set_error(int code, const char *msg)
{
    elc_err((elc_status)code, "%s", msg);
    return code;
}

static size_t trimmed(const char *s, size_t len)
{
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\0')) len--;
    return len;
}

/* Split a Fortran character array (n entries of len bytes, blank padded) into C strings. */
static char **fstrings(const char *buf, int len, int n)
{
    char **v = calloc((size_t)(n > 0 ? n : 1), sizeof *v);
    if (!v) return NULL;
    for (int i = 0; i < n; i++) {
        const char *s = buf + (size_t)i * (size_t)len;
        v[i] = strndup(s, trimmed(s, (size_t)len));
        if (!v[i]) {
            for (int k = 0; k < i; k++) free(v[k]);
            free(v);
            return NULL;
        }
    }
    return v;
}

static void free_fstrings(char **v, int n)
{
    if (!v) return;
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* run_model (fn empty) or run_script (fn non-empty) with Fortran string arrays. */
int elc_f_run(elc_client *c, const char *name, const char *fn, const char *in, int inlen, int nin,
              const char *out, int outlen, int nout)
{
    elc_err_clear();
    char **vi = fstrings(in, inlen, nin), **vo = fstrings(out, outlen, nout);
    elc_status st;
    if (!vi || !vo) st = elc_err(ELC_ERR_NOMEM, "out of memory");
    else if (fn && *fn)
        st = elc_run_script(c, name, fn, (const char *const *)vi, (size_t)nin, (const char *const *)vo, (size_t)nout);
    else
        st = elc_run_model(c, name, (const char *const *)vi, (size_t)nin, (const char *const *)vo, (size_t)nout);
    free_fstrings(vi, nin);
    free_fstrings(vo, nout);
    return (int)st;
}

/* i-th (0-based) string of a string field, blank padded into buf; *len gets its length. */
int elc_f_get_meta_string(const elc_dataset *ds, const char *field, int i, char *buf, int buflen,
                          int *len)
{
    const char *s;
    size_t l;
    elc_status st = elc_dataset_get_meta_string(ds, field, (size_t)i, &s, &l);
    if (st) return (int)st;
    *len = (int)l;
    size_t k = l < (size_t)buflen ? l : (size_t)buflen;
    memcpy(buf, s, k);
    if ((size_t)buflen > k) memset(buf + k, ' ', (size_t)buflen - k);
    return ELC_OK;
}
