/* eddylearn_client.h — native C client for the eddylearn database (SmartRedis 0.6.1 semantics).
 *
 * A small C11 library on hiredis that writes the same keys and bytes as SmartRedis 0.6.1, so the
 * genuine SmartRedis Python client reads what C/Fortran writes and the reverse (see
 * docs/client.md and the wire contract in docs/protocol.md).
 *
 * Conventions (hiredis style):
 *  - every call returns an elc_status; ELC_OK (0) is success;
 *  - the message of the last error of the calling thread is returned by elc_last_error();
 *  - nothing in the library calls abort(), exit() or prints on success;
 *  - ownership is stated at every function: "borrowed" pointers stay owned by the caller
 *    (the library copies what it keeps), "owned by the object" pointers live until the named
 *    object is destroyed, and "caller frees" results are released with the named function.
 *  - one elc_client must not be used by two threads at the same time; distinct clients may.
 *    The stager (elc_stager_*) is thread-safe.
 *
 * Status codes have the numeric values of SmartRedis's SRError enum.
 */
#ifndef EDDYLEARN_CLIENT_H
#define EDDYLEARN_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ELC_VERSION "0.1.0"

typedef enum elc_status {
    ELC_OK = 0,            /* SRNoError */
    ELC_ERR_NOMEM = 1,     /* SRBadAllocError */
    ELC_ERR_DATABASE = 2,  /* SRDatabaseError: I/O, connection, error reply from the server */
    ELC_ERR_INTERNAL = 3,  /* SRInternalError */
    ELC_ERR_RUNTIME = 4,   /* SRRuntimeError */
    ELC_ERR_PARAMETER = 5, /* SRParameterError: bad argument or environment variable */
    ELC_ERR_TIMEOUT = 6,   /* SRTimeoutError */
    ELC_ERR_KEY = 7,       /* SRKeyError: missing key, dataset, tensor or field */
    ELC_ERR_INVALID = 8,   /* SRInvalidError */
    ELC_ERR_TYPE = 9       /* SRTypeError: wrong dtype or rank on unpack */
} elc_status;

/* Tensor element types (the 8 RedisAI dtypes SmartRedis uses). */
typedef enum elc_dtype {
    ELC_DTYPE_INVALID = 0,
    ELC_DOUBLE = 1,
    ELC_FLOAT = 2,
    ELC_INT8 = 3,
    ELC_INT16 = 4,
    ELC_INT32 = 5,
    ELC_INT64 = 6,
    ELC_UINT8 = 7,
    ELC_UINT16 = 8
} elc_dtype;

/* Memory layout of user buffers. No layout ever goes on the wire: the database holds row-major
 * bytes for the dims as sent. ELC_LAYOUT_FORTRAN: the buffer is column-major; it is transposed
 * to row-major on put and back on get, and the dims keep their Fortran order (SmartRedis's
 * SRMemLayoutFortranContiguous). */
typedef enum elc_layout { ELC_LAYOUT_C = 0, ELC_LAYOUT_FORTRAN = 1, ELC_LAYOUT_FLAT = 2 } elc_layout;
/* ELC_LAYOUT_FLAT (unpack only): a row-major buffer described by one dim, its element count,
 * whatever the stored shape (SmartRedis's unpack into SRMemLayoutContiguous memory). */

/* Metadata types, with SmartRedis's byte-0 type ids (docs/protocol.md §2.3). */
typedef enum elc_meta_type {
    ELC_META_INVALID = 0,
    ELC_META_DOUBLE = 1,
    ELC_META_FLOAT = 2,
    ELC_META_INT32 = 3,
    ELC_META_INT64 = 4,
    ELC_META_UINT32 = 5,
    ELC_META_UINT64 = 6,
    ELC_META_STRING = 7
} elc_meta_type;

typedef struct elc_client elc_client;
typedef struct elc_dataset elc_dataset;
typedef struct elc_stager elc_stager;

/* ---------------------------------------------------------------------------------------- */
/* Errors and helpers                                                                        */
/* ---------------------------------------------------------------------------------------- */

/* Message of the last error raised in the calling thread ("" when none). Owned by the library,
 * valid until the next call of this library from the same thread. */
const char *elc_last_error(void);
/* Same, copied into buf (always NUL-terminated when buflen > 0); returns the full length. */
size_t elc_last_error_copy(char *buf, size_t buflen);
/* Size in bytes of one element of dtype (0 for an invalid dtype). */
size_t elc_dtype_size(elc_dtype dtype);
/* "DOUBLE", "FLOAT", ... (static string; "INVALID" for anything else). */
const char *elc_dtype_name(elc_dtype dtype);
/* Release memory that a "caller frees with elc_free" function returned. NULL is allowed. */
void elc_free(void *p);

/* ---------------------------------------------------------------------------------------- */
/* Client                                                                                    */
/* ---------------------------------------------------------------------------------------- */

/* Create a client and connect. cluster: 1 cluster, 0 standalone, -1 from SR_DB_TYPE (default
 * "Clustered"). suffix: NULL, or a suffix for the suffixed variables (SSDB_<suffix>, ...).
 * Reads SSDB, SR_DB_TYPE, SSKEYIN, SSKEYOUT, SR_CONN_TIMEOUT, SR_CONN_INTERVAL, SR_CMD_TIMEOUT,
 * SR_CMD_INTERVAL, SR_SOCKET_TIMEOUT (suffixed) and SR_MODEL_TIMEOUT. Connection attempts are
 * retried for SR_CONN_TIMEOUT seconds. On success *out is a new client the caller destroys with
 * elc_client_destroy(); on failure *out is NULL. */
elc_status elc_client_create(elc_client **out, int cluster, const char *suffix);
/* Same, with the address given explicitly instead of SSDB (same syntax as SSDB). */
elc_status elc_client_create_at(elc_client **out, const char *address, int cluster,
                                const char *suffix);
/* Every connection setting in one place. Fields left at their elc_client_options_init values
 * (NULL, 0; cluster -1) come from the environment (suffixed with suffix when set) or the
 * defaults, as for elc_client_create. Strings are borrowed (copied by the client). */
typedef struct elc_client_options {
    const char *address;        /* NULL: SSDB; same syntax as SSDB */
    int cluster;                /* 1 cluster, 0 standalone, -1: SR_DB_TYPE (default Clustered) */
    const char *suffix;         /* NULL, or the suffix of the suffixed variables (SSDB_<suffix>) */
    int conn_timeout_s;         /* SR_CONN_TIMEOUT: connection attempts go on this long */
    int conn_interval_ms;       /* SR_CONN_INTERVAL: pause between connection attempts */
    int cmd_timeout_s;          /* SR_CMD_TIMEOUT: a command is retried this long on I/O errors */
    int cmd_interval_ms;        /* SR_CMD_INTERVAL: pause between command retries */
    int socket_timeout_ms;      /* SR_SOCKET_TIMEOUT: one read or write waits this long */
    int conn_attempts;          /* > 0: this many connection attempts instead of the timeout's */
    const char *user;           /* NULL: EDDYLEARN_DB_USER */
    const char *password;       /* NULL: EDDYLEARN_DB_PASSWORD (none: no AUTH) */
    const char *key_out;        /* NULL: SSKEYOUT, the put prefix */
    const char *keys_in;        /* NULL: SSKEYIN, comma-separated get prefixes */
} elc_client_options;
/* Set every field to "from the environment". */
void elc_client_options_init(elc_client_options *o);
/* Create a client with the given options (NULL: all from the environment). */
elc_status elc_client_create_with(elc_client **out, const elc_client_options *o);
/* Close all connections and free the client. NULL is allowed. */
void elc_client_destroy(elc_client *c);
/* 1 when the client is in cluster mode. */
int elc_client_is_cluster(const elc_client *c);

/* Prefix switches (docs/protocol.md §2.1). Tensors, datasets, lists: on by default; models and
 * scripts: off. */
elc_status elc_use_tensor_ensemble_prefix(elc_client *c, bool use);
elc_status elc_use_dataset_ensemble_prefix(elc_client *c, bool use);
elc_status elc_use_list_ensemble_prefix(elc_client *c, bool use);
elc_status elc_use_model_ensemble_prefix(elc_client *c, bool use);
/* Select the get-prefix among the SSKEYIN entries (borrowed string). */
elc_status elc_set_data_source(elc_client *c, const char *source);

/* Tensors. data, dims and name are borrowed. dims has ndims entries (Fortran order for
 * ELC_LAYOUT_FORTRAN). */
elc_status elc_put_tensor(elc_client *c, const char *name, const void *data, const size_t *dims,
                          size_t ndims, elc_dtype dtype, elc_layout layout);
/* Fetch into a caller buffer whose dims, dtype and layout must match the stored tensor
 * (ELC_ERR_TYPE on a dtype mismatch, ELC_ERR_PARAMETER on a shape mismatch). */
elc_status elc_unpack_tensor(elc_client *c, const char *name, void *data, const size_t *dims,
                             size_t ndims, elc_dtype dtype, elc_layout layout);
/* Fetch a tensor of unknown shape. *data (row-major bytes) and *dims are new allocations the
 * caller frees with elc_free(). */
elc_status elc_get_tensor(elc_client *c, const char *name, void **data, size_t **dims,
                          size_t *ndims, elc_dtype *dtype);
elc_status elc_delete_tensor(elc_client *c, const char *name);
elc_status elc_tensor_exists(elc_client *c, const char *name, bool *exists);
/* Poll every poll_ms, at most num_tries times; *exists tells the outcome (not an error). */
elc_status elc_poll_tensor(elc_client *c, const char *name, int poll_ms, int num_tries,
                           bool *exists);
/* Raw keys: no prefix. */
elc_status elc_key_exists(elc_client *c, const char *key, bool *exists);
elc_status elc_poll_key(elc_client *c, const char *key, int poll_ms, int num_tries,
                        bool *exists);

/* Datasets. put_dataset sends DEL, HMSET, the AI.TENSORSETs and HSET .COMPLETE in one pipeline
 * round trip. The dataset stays owned by the caller. */
elc_status elc_put_dataset(elc_client *c, const elc_dataset *ds);
/* *out is a new dataset the caller destroys with elc_dataset_destroy(). ELC_ERR_KEY when the
 * dataset does not exist. */
elc_status elc_get_dataset(elc_client *c, const char *name, elc_dataset **out);
elc_status elc_delete_dataset(elc_client *c, const char *name);
elc_status elc_dataset_exists(elc_client *c, const char *name, bool *exists);
elc_status elc_poll_dataset(elc_client *c, const char *name, int poll_ms, int num_tries,
                            bool *exists);

/* Aggregation lists. */
elc_status elc_append_to_list(elc_client *c, const char *list, const elc_dataset *ds);
/* put_dataset followed by append_to_list, pipelined in one round trip per shard. */
elc_status elc_put_dataset_and_append(elc_client *c, const elc_dataset *ds, const char *list);
elc_status elc_get_list_length(elc_client *c, const char *list, long long *length);
elc_status elc_poll_list_length(elc_client *c, const char *list, long long length, int poll_ms,
                                int num_tries, bool *reached);
elc_status elc_delete_list(elc_client *c, const char *list);

/* Models and scripts. blob/source borrowed. backend: TF, TFLITE, TORCH, ONNX. device: CPU or
 * GPU[:n]. tag may be NULL or "". In cluster mode the model/script is stored on every shard
 * under its shard prefix (docs/protocol.md §2.5). */
elc_status elc_set_model(elc_client *c, const char *name, const void *blob, size_t blob_len,
                         const char *backend, const char *device, int batch_size,
                         int min_batch_size, int min_batch_timeout, const char *tag);
elc_status elc_set_model_from_file(elc_client *c, const char *name, const char *path,
                                   const char *backend, const char *device, int batch_size,
                                   int min_batch_size, int min_batch_timeout, const char *tag);
/* inputs/outputs: arrays of borrowed strings. */
elc_status elc_run_model(elc_client *c, const char *name, const char *const *inputs,
                         size_t n_inputs, const char *const *outputs, size_t n_outputs);
elc_status elc_delete_model(elc_client *c, const char *name);
elc_status elc_model_exists(elc_client *c, const char *name, bool *exists);
elc_status elc_poll_model(elc_client *c, const char *name, int poll_ms, int num_tries,
                          bool *exists);
elc_status elc_set_script(elc_client *c, const char *name, const char *device,
                          const char *source, size_t source_len);
elc_status elc_set_script_from_file(elc_client *c, const char *name, const char *device,
                                    const char *path);
elc_status elc_run_script(elc_client *c, const char *name, const char *function,
                          const char *const *inputs, size_t n_inputs,
                          const char *const *outputs, size_t n_outputs);
elc_status elc_delete_script(elc_client *c, const char *name);

/* Copies and renames (SmartRedis semantics). Source names take the get prefix, destination
 * names the put prefix. A tensor is copied with AI.TENSORGET + AI.TENSORSET (any shards);
 * rename is copy then delete. ELC_ERR_KEY (tensor) / ELC_ERR_RUNTIME (dataset, list) when the
 * source does not exist. */
elc_status elc_copy_tensor(elc_client *c, const char *src, const char *dest);
elc_status elc_rename_tensor(elc_client *c, const char *src, const char *dest);
elc_status elc_copy_dataset(elc_client *c, const char *src, const char *dest);
elc_status elc_rename_dataset(elc_client *c, const char *src, const char *dest);
/* The destination list is replaced by the source's entries; src == dest does nothing. */
elc_status elc_copy_list(elc_client *c, const char *src, const char *dest);
elc_status elc_rename_list(elc_client *c, const char *src, const char *dest);
/* Poll the list length with a comparison: cmp 0: ==, 1: >=, -1: <=. */
elc_status elc_poll_list_length_cmp(elc_client *c, const char *list, long long length, int cmp,
                                    int poll_ms, int num_tries, bool *reached);
/* Datasets listed at indices start..end (inclusive; negative from the end, LRANGE's rules) of an
 * aggregation list. *out is a new array of *n new datasets; the caller destroys each with
 * elc_dataset_destroy and the array with elc_free. An empty or missing list gives *n = 0. */
elc_status elc_get_dataset_list_range(elc_client *c, const char *list, long long start,
                                      long long end, elc_dataset ***out, size_t *n);

/* Models and scripts stored by name: the blob / source as stored (AI.MODELGET BLOB,
 * AI.SCRIPTGET SOURCE). *data is a new allocation the caller frees with elc_free. */
elc_status elc_get_model(elc_client *c, const char *name, char **data, size_t *len);
elc_status elc_get_script(elc_client *c, const char *name, char **data, size_t *len);
/* elc_set_model with the INPUTS/OUTPUTS node names of TF models (n_inputs/n_outputs may be 0). */
elc_status elc_set_model_io(elc_client *c, const char *name, const void *blob, size_t blob_len,
                            const char *backend, const char *device, int batch_size,
                            int min_batch_size, int min_batch_timeout, const char *tag,
                            const char *const *inputs, size_t n_inputs,
                            const char *const *outputs, size_t n_outputs);
/* Multi-GPU variants (SmartRedis's key scheme): one copy per GPU i, for i from first_gpu up to
 * num_gpus - 1, under "<name>.GPU:<i>" on device GPU:<i>, plus one under <name> on device GPU
 * (what get_model / get_script find). The run variants use GPU first_gpu + offset mod num_gpus.
 * On a database without GPUs the stores fail with the database's error. */
elc_status elc_set_model_multigpu(elc_client *c, const char *name, const void *blob,
                                  size_t blob_len, const char *backend, int first_gpu,
                                  int num_gpus, int batch_size, int min_batch_size,
                                  int min_batch_timeout, const char *tag,
                                  const char *const *inputs, size_t n_inputs,
                                  const char *const *outputs, size_t n_outputs);
elc_status elc_set_script_multigpu(elc_client *c, const char *name, const char *source,
                                   size_t source_len, int first_gpu, int num_gpus);
elc_status elc_run_model_multigpu(elc_client *c, const char *name, const char *const *inputs,
                                  size_t n_inputs, const char *const *outputs, size_t n_outputs,
                                  int offset, int first_gpu, int num_gpus);
elc_status elc_run_script_multigpu(elc_client *c, const char *name, const char *function,
                                   const char *const *inputs, size_t n_inputs,
                                   const char *const *outputs, size_t n_outputs, int offset,
                                   int first_gpu, int num_gpus);
elc_status elc_delete_model_multigpu(elc_client *c, const char *name, int first_gpu,
                                     int num_gpus);
elc_status elc_delete_script_multigpu(elc_client *c, const char *name, int first_gpu,
                                      int num_gpus);
/* AI.CONFIG MODEL_CHUNK_SIZE on every shard. */
elc_status elc_set_model_chunk_size(elc_client *c, long long chunk_size);

/* Server administration, sent to the database node at address ("host:port" as in SSDB or as
 * the cluster lists it; ELC_ERR_RUNTIME when the client has no such node). String results are
 * new allocations freed with elc_free; string arrays (key, value, key, value, ...) are freed
 * with elc_free_strings. */
elc_status elc_flush_db(elc_client *c, const char *address);
elc_status elc_save(elc_client *c, const char *address);
elc_status elc_config_set(elc_client *c, const char *address, const char *param,
                          const char *value);
elc_status elc_config_get(elc_client *c, const char *address, const char *expression,
                          char ***pairs, size_t *n_pairs);
/* INFO everything / CLUSTER INFO, as the text the server returns. */
elc_status elc_db_node_info(elc_client *c, const char *address, char **text);
elc_status elc_db_cluster_info(elc_client *c, const char *address, char **text);
/* AI.INFO for a model or script key (the shard prefix of that node is added in a cluster). */
elc_status elc_ai_info(elc_client *c, const char *address, const char *key, bool reset_stat,
                       char ***pairs, size_t *n_pairs);
void elc_free_strings(char **strings, size_t n);
/* Addresses ("host:port" or "unix://path") of the database nodes the client knows; the caller
 * frees with elc_free_strings. */
elc_status elc_node_addresses(elc_client *c, char ***addresses, size_t *n);

/* ---------------------------------------------------------------------------------------- */
/* Datasets (in memory)                                                                      */
/* ---------------------------------------------------------------------------------------- */

/* New empty dataset; name borrowed (copied). Caller destroys with elc_dataset_destroy(). */
elc_status elc_dataset_create(elc_dataset **out, const char *name);
void elc_dataset_destroy(elc_dataset *ds);
/* Name, owned by the dataset. */
const char *elc_dataset_name(const elc_dataset *ds);
/* Copy data into the dataset; replaces a tensor of the same name. A Fortran-layout tensor is
 * copied as is (a memcpy) and transposed to row-major later, when the dataset is sent (for a
 * stager: in its background thread) or the tensor is borrowed with elc_dataset_get_tensor. */
elc_status elc_dataset_add_tensor(elc_dataset *ds, const char *name, const void *data,
                                  const size_t *dims, size_t ndims, elc_dtype dtype,
                                  elc_layout layout);
/* Copy the block lo..lo+n-1 (0-based, per dimension) of a 3-D Fortran array of the given
 * extents (a solver's field with its halos) into the dataset as a Fortran-layout tensor of dims
 * n, in one pass: no intermediate array; transposed later, like elc_dataset_add_tensor. */
elc_status elc_dataset_add_block3(elc_dataset *ds, const char *name, const void *base,
                                  const size_t extent[3], const size_t lo[3], const size_t n[3],
                                  elc_dtype dtype);
/* As elc_dataset_add_block3, but the block is only registered, not copied: it is copied later,
 * straight from the array at base. Until then the caller must neither change nor free the
 * array's block. Submitted to a stager, the dataset's blocks are copied by the stager's thread
 * before it sends anything else (transposed to row-major on the way: one pass), and
 * elc_stager_fence returns once they are copied (copying those the thread has not reached):
 * call it before the array is written or freed. A dataset
 * kept by the caller is copied when it is first read, sent or copied (elc_dataset_get_tensor,
 * elc_put_dataset, ...). If a deferred copy cannot allocate its buffer, the dataset fails when
 * it is sent or read (ELC_ERR_NOMEM naming the tensor). */
elc_status elc_dataset_add_block3_deferred(elc_dataset *ds, const char *name, const void *base,
                                           const size_t extent[3], const size_t lo[3],
                                           const size_t n[3], elc_dtype dtype);
/* Keep `count` idle tensor buffers of nbytes ready (their pages already written), so that the
 * next elc_dataset_add_tensor/add_block3 of that size copies at memory speed: a solver calls it
 * once before its first snapshot (a stager's thread keeps them stocked from then on). Buffers
 * under 1 MiB are not kept; at most 16 buffers and 128 MiB in all (ELC_ERR_PARAMETER for more
 * than 16). */
elc_status elc_buffers_reserve(size_t nbytes, size_t count);
/* CPU time of the calling thread so far, in seconds (-1 when the system cannot tell). */
double elc_thread_cpu_seconds(void);
/* Minor page faults of the calling thread so far (-1 when the system cannot tell). */
int64_t elc_thread_minor_faults(void);
/* Append one scalar (value points at one element of the given type) to a metadata field. A
 * field keeps the type of its first value (ELC_ERR_TYPE otherwise). */
elc_status elc_dataset_add_meta_scalar(elc_dataset *ds, const char *field, const void *value,
                                       elc_meta_type type);
/* Append a string of len bytes (len may be (size_t)-1 for a NUL-terminated string). */
elc_status elc_dataset_add_meta_string(elc_dataset *ds, const char *field, const char *str,
                                       size_t len);
/* Copy a tensor out into a caller buffer with matching dtype, dims and layout. */
elc_status elc_dataset_unpack_tensor(const elc_dataset *ds, const char *name, void *data,
                                     const size_t *dims, size_t ndims, elc_dtype dtype,
                                     elc_layout layout);
/* Borrow a tensor: *data (row-major), *dims are owned by the dataset. */
elc_status elc_dataset_get_tensor(const elc_dataset *ds, const char *name, const void **data,
                                  const size_t **dims, size_t *ndims, elc_dtype *dtype);
/* Number of tensors and the i-th name (owned by the dataset). */
size_t elc_dataset_num_tensors(const elc_dataset *ds);
const char *elc_dataset_tensor_name(const elc_dataset *ds, size_t i);
/* Borrow the values of a scalar field: *values owned by the dataset, *count elements. */
elc_status elc_dataset_get_meta_scalars(const elc_dataset *ds, const char *field,
                                        const void **values, size_t *count,
                                        elc_meta_type *type);
/* Number of strings in a string field, and the i-th one (*str owned by the dataset and NOT
 * NUL-terminated: use *len). */
elc_status elc_dataset_get_meta_string_count(const elc_dataset *ds, const char *field,
                                             size_t *count);
elc_status elc_dataset_get_meta_string(const elc_dataset *ds, const char *field, size_t i,
                                       const char **str, size_t *len);
/* Type of a metadata field (ELC_META_INVALID, with ELC_ERR_KEY, when absent). */
elc_status elc_dataset_get_meta_type(const elc_dataset *ds, const char *field,
                                     elc_meta_type *type);
/* Number of metadata fields and the i-th field name (owned by the dataset). */
size_t elc_dataset_num_meta(const elc_dataset *ds);
const char *elc_dataset_meta_name(const elc_dataset *ds, size_t i);
/* Rename a dataset in memory (its key is formed from the name when it is sent). */
elc_status elc_dataset_set_name(elc_dataset *ds, const char *name);
/* Remove a metadata field; ELC_ERR_KEY when there is none of that name. */
elc_status elc_dataset_clear_field(elc_dataset *ds, const char *field);
/* Deep copy of src named name (NULL: src's name); caller destroys *out. */
elc_status elc_dataset_copy(const elc_dataset *src, const char *name, elc_dataset **out);
/* Total bytes of tensor data held (what the stager counts against its memory limit). */
size_t elc_dataset_nbytes(const elc_dataset *ds);

/* ---------------------------------------------------------------------------------------- */
/* Stager: asynchronous, bounded, thread-safe snapshot sending                               */
/* ---------------------------------------------------------------------------------------- */

typedef enum elc_stager_policy { ELC_POLICY_BLOCK = 0, ELC_POLICY_DROP_OLDEST = 1 } elc_stager_policy;

typedef struct elc_stager_stats {
    uint64_t submitted;      /* items handed to elc_stager_submit */
    uint64_t sent;           /* items written and acknowledged by the database */
    uint64_t bytes;          /* tensor bytes of the sent items */
    uint64_t retries;        /* resends after a lost connection */
    uint64_t dropped;        /* items discarded by drop_oldest (or too large for the queue) */
    uint64_t failed;         /* items given up after an error reply from the database */
    uint64_t queued;         /* items waiting now */
    uint64_t queued_bytes;   /* bytes waiting now */
    uint64_t high_water_bytes; /* highest queued_bytes seen */
    uint64_t high_water_items; /* highest queue length seen */
    double mean_latency_s;   /* mean time from submit to acknowledgement */
    double max_latency_s;    /* highest time from submit to acknowledgement */
    uint64_t copied_by_sender; /* deferred blocks copied by the stager's thread */
    uint64_t copied_by_fence;  /* deferred blocks copied by elc_stager_fence (the caller's thread) */
} elc_stager_stats;

/* Create a stager: a background thread with its own client (created as elc_client_create with
 * cluster = -1 and the given suffix, NULL for none; address: NULL means SSDB). The connection is
 * made before this returns: when it cannot be made within SR_CONN_TIMEOUT, *out is NULL and the
 * error says "cannot connect to the database at ... after N s". max_queue_bytes bounds the bytes
 * of queued tensor data (0: no bound). Caller destroys with elc_stager_destroy(). */
elc_status elc_stager_create(elc_stager **out, size_t max_queue_bytes, elc_stager_policy policy,
                             const char *address, const char *suffix);
/* Hand a dataset over: the stager takes ownership of ds in every case (also on error; it is
 * freed then). list may be NULL or "" (no aggregation list); it is copied. Returns at once,
 * unless the queue is full and the policy is block; with drop_oldest the oldest queued items
 * are freed and counted as dropped. An item larger than max_queue_bytes is sent when the queue
 * is empty (block) or dropped (drop_oldest). With block, a submit that finds the queue full
 * while the sender cannot reach the database does not wait: the item is counted as failed and
 * ELC_ERR_DATABASE is returned at once. */
elc_status elc_stager_submit(elc_stager *s, elc_dataset *ds, const char *list);
/* Wait until the queue is empty and nothing is in flight, at most timeout_s seconds
 * (negative: no limit). ELC_ERR_TIMEOUT when time ran out; ELC_ERR_DATABASE when items failed
 * since the previous flush (the message counts them and gives the last error). */
elc_status elc_stager_flush(elc_stager *s, double timeout_s);
/* Return once no dataset queued in s still needs the caller's arrays: its deferred blocks
 * (elc_dataset_add_block3_deferred) that the stager's thread has not yet copied are copied by
 * this call, those it is copying are waited for. Afterwards the caller may write or free the
 * arrays. Returns at once when nothing deferred is queued. */
elc_status elc_stager_fence(elc_stager *s);
/* Copy the counters into *stats. */
elc_status elc_stager_stats_get(elc_stager *s, elc_stager_stats *stats);
/* Last error met by the background thread, copied into buf; returns its full length. */
size_t elc_stager_last_error(elc_stager *s, char *buf, size_t buflen);
/* Flush everything, stop and join the thread, free the stager. NULL allowed. Returns the status
 * of the flush. If the database is gone for good, the item in flight is given up after
 * SR_CMD_TIMEOUT and counted failed; while no connection can be made, each following item gets
 * a single attempt (fails fast, counted failed) until one succeeds again. */
elc_status elc_stager_destroy(elc_stager *s);

/* ---------------------------------------------------------------------------------------- */
/* Inference: one model run every solver step, with a deadline (the learned SGS model)       */
/* ---------------------------------------------------------------------------------------- */

/* One request is one command, an AI.DAGEXECUTE_RO of AI.TENSORSET <base>.in, AI.MODELEXECUTE and
 * AI.TENSORGET <base>.out, whose tensors are the DAG's own (nothing is written to the keyspace;
 * the database batches such requests for a model stored with BATCHSIZE). start writes it to
 * the handle's own connection without waiting and finish reads the answer, so the caller
 * computes in between; a background thread makes the first request (it connects), those with
 * a metadata read, and the rest of one that the socket could not take at once. finish
 * waits no longer than timeout_ms after start. In cluster mode the names and the model copy
 * are those of shard (shard mod the number of shards), so a rank can keep its traffic on one
 * shard. No resend: a failed or late request is reported and the caller falls back. */
typedef struct elc_infer elc_infer;

#define ELC_INFER_MAX_NORM 64
/* What the metadata dataset (for example sgs_model.meta) said, when start asked for it. */
typedef struct elc_infer_meta {
    int found;                  /* the dataset exists */
    int64_t version;            /* field "version" (-1: none) */
    int caller_normalises;      /* 1: string field normalisation = "applied by the caller" and
                                   the tensors f_mean, f_std (n_in), l_mean, l_std (n_out) are
                                   valid; -1: announced but the tensors are missing or too long */
    size_t n_in, n_out;
    double f_mean[ELC_INFER_MAX_NORM], f_std[ELC_INFER_MAX_NORM];
    double l_mean[ELC_INFER_MAX_NORM], l_std[ELC_INFER_MAX_NORM];
    int float_inputs;           /* 1: string field input_dtype = "FLOAT": the model computes in
                                   single precision, so single-precision inputs lose nothing */
} elc_infer_meta;

typedef struct elc_infer_stats {
    uint64_t requests;          /* elc_infer_start calls */
    uint64_t answered;          /* finished with an output of the expected shape */
    uint64_t timeouts;          /* no answer by the deadline (or TIMEDOUT from the database) */
    uint64_t busy;              /* start refused: the previous (abandoned) request in flight */
    uint64_t unreachable;       /* no connection */
    uint64_t missing_model;     /* the model key was empty */
    uint64_t failures;          /* the model failed or returned the wrong shape */
    double mean_latency_s, max_latency_s;   /* start to answer, answered requests */
    uint64_t handed_over;       /* requests the background thread wrote, not start itself */
} elc_infer_stats;

/* address: NULL for SSDB. base: the key base of this caller's tensors (one per rank). */
elc_status elc_infer_create(elc_infer **out, const char *address, const char *base, int shard,
                            int timeout_ms);
/* Hand a request over and return at once: input (n, nin) doubles in the given layout (copied),
 * model key, and optionally the name of a metadata dataset to read first (NULL: none). With
 * model NULL only the metadata is read (finish with n = nout = 0). ELC_ERR_TIMEOUT at once
 * when the previous request is still in flight. */
elc_status elc_infer_start(elc_infer *f, const char *model, const char *meta, const double *in,
                           size_t n, size_t nin, elc_layout layout);
/* Wait for the answer, at most until timeout_ms after start, and copy the output (n, nout) into
 * out. meta (may be NULL) gets what the metadata read found. Status: ELC_OK; ELC_ERR_TIMEOUT (no
 * answer in time, or the database's TIMEDOUT); ELC_ERR_DATABASE (no connection); ELC_ERR_KEY (the
 * model is not stored); ELC_ERR_RUNTIME (the model failed; the message has the database's
 * error); ELC_ERR_TYPE (the output's shape or dtype is wrong). */
elc_status elc_infer_finish(elc_infer *f, double *out, size_t n, size_t nout, elc_layout layout,
                            elc_infer_meta *meta);
elc_status elc_infer_stats_get(elc_infer *f, elc_infer_stats *stats);
/* The type the inputs of the following requests are sent in: ELC_DOUBLE (the default) or
 * ELC_FLOAT (converted while copied; half the bytes each way, for a model that computes in
 * single precision: elc_infer_meta.float_inputs). The caller's arrays stay double. */
elc_status elc_infer_set_input_dtype(elc_infer *f, elc_dtype dtype);
/* Stop the thread (a request in flight ends within its socket timeout), close the connection
 * and free. NULL allowed. */
void elc_infer_destroy(elc_infer *f);

/* ---------------------------------------------------------------------------------------- */
/* Fortran-callable surface (bind(c) names; the Fortran modules eddylearn_client,            */
/* eddylearn_dataset and eddylearn_stager wrap these). Handles are opaque pointers.          */
/* ---------------------------------------------------------------------------------------- */

/* Copy the last error of the calling thread into buf (blank-padded to buflen, Fortran style). */
void elc_f_last_error(char *buf, int buflen);
/* Copy the stager's last background error into buf (blank-padded to buflen). */
void elc_f_stager_last_error(elc_stager *s, char *buf, int buflen);

#ifdef __cplusplus
}
#endif
#endif /* EDDYLEARN_CLIENT_H */
