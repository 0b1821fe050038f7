// Storage and information commands: AI.MODELSTORE/GET/DEL, AI.SCRIPTSET/STORE/GET/DEL,
// AI.INFO and AI.CONFIG (docs/protocol.md §3.3–3.4, §4.2).
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "backend_torch.h"
#include "cmd_util.h"
#include "config.h"
#include "worker_queue.h"

namespace eai {

namespace {

void reply_str(RedisModuleCtx *ctx, const std::string &s) { RM_ReplyWithStringBuffer(ctx, s.data(), s.size()); }
void reply_cstr(RedisModuleCtx *ctx, const char *s) { RM_ReplyWithStringBuffer(ctx, s, strlen(s)); }

// Parses an option value that must be a non-negative integer.
bool opt_value(RedisModuleString **argv, int argc, int i, long long *out) {
    return i < argc && arg_ll(argv[i], out) && *out >= 0;
}

// ---- loading off the main thread ---------------------------------------------------------
// MODELSTORE, SCRIPTSET and SCRIPTSTORE block the client and load or compile on a thread of its
// own (large guarded stack, worker_queue.h); the client gets an error if that takes longer than
// MODEL_LOAD_TIMEOUT, and the thread is left to finish on its own (docs/database.md).
constexpr long long kMaxLoadsInFlight = 16;
std::atomic<long long> g_loads_in_flight{0}, g_loads_timed_out{0};
// The thread of each load in progress, so that one past MODEL_LOAD_TIMEOUT can be lowered to
// the lowest CPU priority while it finishes on its own.
std::mutex g_load_mu;
std::unordered_map<RedisModuleBlockedClient *, pid_t> g_load_threads;

struct StoreJob {
    RedisModuleBlockedClient *bc = nullptr;
    std::vector<RedisModuleString *> chunks;  // the BLOB arguments, retained (models)
    std::unique_ptr<Model> model;
    std::unique_ptr<Script> script;
    std::string err;

    // On the release thread (release_later): the job may hold the last reference to a BLOB
    // argument of 100 MB and more, and the copy of a model that failed to load. The chunks are
    // released without the module lock: Redis has dropped its references to them by then, so
    // freeing them touches nothing it shares (its allocator and memory counter are thread-safe).
    // That ordering (a blocked client's private data freed before its arguments, both before the
    // module lock is released at the end of beforeSleep) was checked in Redis 7.0 and 7.2; the
    // module API itself promises nothing here, so re-check it when supporting a newer Redis.
    ~StoreJob() {
        for (RedisModuleString *c : chunks) RM_FreeString(nullptr, c);
        if (model) model_release(model.release());
        if (script) script_release(script.release());
    }

    void work() {
        if (model) {
            size_t total = 0;
            for (RedisModuleString *c : chunks) {
                size_t l;
                RM_StringPtrLen(c, &l);
                total += l;
            }
            try {
                model->blob.reserve(total);
                for (RedisModuleString *c : chunks) {
                    size_t l;
                    const char *p = RM_StringPtrLen(c, &l);
                    model->blob.append(p, l);
                }
                // The archive's directory is checked before libtorch reads it: libtorch sizes its
                // buffers from what the entries declare (the same check as for RDB/RESTORE values).
                std::string why;
                if (model->backend != Backend::TORCH)
                    ;
                else if (!torch_archive_sane(model->blob, &why))
                    err = "ERR the model is not a valid TorchScript archive: " + why;
                else
                    model->torch = torch_model_load(model->blob, model->device, &err);
            } catch (const std::bad_alloc &) {
                err = "ERR not enough memory to load the model";
            }
            return;
        }
        script->torch = torch_script_compile(script->source, script->device, &err);
        if (!script->torch) return;
        for (const auto &e : script->entry_points) {
            if (!torch_script_has_function(script->torch, e)) {
                err = "ERR entry point '" + e + "' is not a function of the script";
                return;
            }
        }
    }
};

// Stores the built value at argv[1] and replicates the command; on the main thread.
int finish_store(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, StoreJob *job, bool replicate_verbatim) {
    RedisModuleString *key = argv[1];
    if (job->model) {
        Model *m = job->model.get();
        if (m->backend == Backend::TORCH) queue_ensure(device_queue_name(m->device));
        m->infokey = arg_str(key);
        m->stats = std::make_shared<RunStats>();
        m->stats->backend = backend_name(m->backend);
        m->stats->device = m->device;
        m->stats->tag = m->tag;
        if (!set_typed(ctx, key, ModelType, m)) return RM_ReplyWithError(ctx, kWrongType);
        job->model.release();
        stats_register(m->infokey, m->stats, true);
    } else {
        Script *s = job->script.get();
        queue_ensure(device_queue_name(s->device));
        s->infokey = arg_str(key);
        s->stats = std::make_shared<RunStats>();
        s->stats->backend = "TORCH";
        s->stats->device = s->device;
        s->stats->tag = s->tag;
        if (!set_typed(ctx, key, ScriptType, s)) return RM_ReplyWithError(ctx, kWrongType);
        job->script.release();
        stats_register(s->infokey, s->stats, false);
    }
    if (replicate_verbatim) {
        RM_ReplicateVerbatim(ctx);
    } else {
        std::string cmd = arg_str(argv[0]);
        RM_Replicate(ctx, cmd.c_str(), "v", argv + 1, static_cast<size_t>(argc - 1));
    }
    return RM_ReplyWithSimpleString(ctx, "OK");
}

int Store_Reply(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    StoreJob *job = static_cast<StoreJob *>(RM_GetBlockedClientPrivateData(ctx));
    if (!job->err.empty()) return RM_ReplyWithError(ctx, job->err.c_str());
    return finish_store(ctx, argv, argc, job, false);
}

int Store_Timeout(RedisModuleCtx *ctx, RedisModuleString **, int) {
    g_loads_timed_out++;
    {
        std::lock_guard<std::mutex> lk(g_load_mu);
        auto it = g_load_threads.find(RM_GetBlockedClientHandle(ctx));
        if (it != g_load_threads.end()) setpriority(PRIO_PROCESS, static_cast<id_t>(it->second), 19);
    }
    std::string msg = "ERR loading took longer than MODEL_LOAD_TIMEOUT (" + std::to_string(g_config.model_load_timeout) +
                      " ms); the value was not stored";
    return RM_ReplyWithError(ctx, msg.c_str());
}

void Store_Free(RedisModuleCtx *, void *privdata) {
    StoreJob *job = static_cast<StoreJob *>(privdata);
    release_later([job] { delete job; });
}

// Loads or compiles on a thread and replies from Store_Reply. Where the client cannot be
// blocked (AOF loading, a replica applying its master's stream, MULTI, Lua) the value is
// stored now and built by its first run instead, with the same checks.
int start_store(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, std::unique_ptr<StoreJob> job) {
    if (RM_GetContextFlags(ctx) & (RM_CTX_FLAGS_LUA | RM_CTX_FLAGS_MULTI | RM_CTX_FLAGS_LOADING |
                                   RM_CTX_FLAGS_REPLICATED | RM_CTX_FLAGS_DENY_BLOCKING)) {
        if (job->model) {
            Model *m = job->model.get();
            for (RedisModuleString *c : job->chunks) {
                size_t l;
                const char *p = RM_StringPtrLen(c, &l);
                m->blob.append(p, l);
            }
            if (m->backend == Backend::TORCH) m->torch = torch_model_deferred(&m->blob, m->device);
        } else {
            job->script->torch = torch_script_deferred(&job->script->source, job->script->device);
        }
        int rc = finish_store(ctx, argv, argc, job.get(), true);
        StoreJob *done = job.release();
        release_later([done] { delete done; });
        return rc;
    }
    if (g_loads_in_flight.load() >= kMaxLoadsInFlight) {
        std::string msg = "ERR " + std::to_string(kMaxLoadsInFlight) +
                          " model or script loads are still running (some may have passed MODEL_LOAD_TIMEOUT); retry later";
        return RM_ReplyWithError(ctx, msg.c_str());
    }
    job->bc = RM_BlockClient(ctx, Store_Reply, Store_Timeout, Store_Free, g_config.model_load_timeout);
    if (!job->bc) return RM_ReplyWithError(ctx, "ERR could not block the client for loading");
    StoreJob *raw = job.release();
    g_loads_in_flight++;
    bool started = thread_start([raw] {
        {
            std::lock_guard<std::mutex> lk(g_load_mu);
            g_load_threads[raw->bc] = static_cast<pid_t>(syscall(SYS_gettid));
        }
        raw->work();
        {
            std::lock_guard<std::mutex> lk(g_load_mu);
            g_load_threads.erase(raw->bc);
        }
        g_loads_in_flight--;
        RM_UnblockClient(raw->bc, raw);
    });
    if (!started) {
        g_loads_in_flight--;
        raw->err = "ERR could not start a thread to load the value";
        RM_UnblockClient(raw->bc, raw);
    }
    return RM_OK;
}

}  // namespace

long long store_loads_running() { return g_loads_in_flight.load(); }
long long store_loads_timed_out() { return g_loads_timed_out.load(); }

namespace {

// AI.MODELSTORE key BACKEND DEVICE [TAG t] [BATCHSIZE n] [MINBATCHSIZE m] [MINBATCHTIMEOUT ms]
//               [INPUTS k n1..nk OUTPUTS k o1..ok] BLOB c1 [c2 …]
int ModelStore_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc < 6) return RM_WrongArity(ctx);
    auto m = std::make_unique<Model>();
    size_t blen;
    const char *bname = RM_StringPtrLen(argv[2], &blen);
    if (!backend_from_name(bname, blen, &m->backend)) return RM_ReplyWithError(ctx, "ERR unsupported backend");
    m->device = arg_str(argv[3]);
    if (device_queue_name(m->device).empty()) return RM_ReplyWithError(ctx, "ERR Invalid DEVICE");
    int i = 4;
    if (i < argc && arg_is(argv[i], "TAG")) {
        if (i + 1 >= argc) return RM_ReplyWithError(ctx, "ERR Insufficient arguments, missing model BLOB");
        m->tag = arg_str(argv[i + 1]);
        i += 2;
    }
    if (i < argc && arg_is(argv[i], "BATCHSIZE")) {
        if (!opt_value(argv, argc, i + 1, &m->batchsize)) return RM_ReplyWithError(ctx, "ERR Invalid argument for BATCHSIZE");
        i += 2;
    }
    if (i < argc && arg_is(argv[i], "MINBATCHSIZE")) {
        if (!opt_value(argv, argc, i + 1, &m->minbatchsize))
            return RM_ReplyWithError(ctx, "ERR Invalid argument for MINBATCHSIZE");
        if (m->batchsize == 0) return RM_ReplyWithError(ctx, "ERR MINBATCHSIZE specified without BATCHSIZE");
        i += 2;
    }
    if (i < argc && arg_is(argv[i], "MINBATCHTIMEOUT")) {
        if (!opt_value(argv, argc, i + 1, &m->minbatchtimeout))
            return RM_ReplyWithError(ctx, "ERR Invalid argument for MINBATCHTIMEOUT");
        if (m->minbatchsize == 0) return RM_ReplyWithError(ctx, "ERR MINBATCHTIMEOUT specified without MINBATCHSIZE");
        i += 2;
    }
    if (i >= argc) return RM_ReplyWithError(ctx, "ERR Insufficient arguments, missing model BLOB");
    if (m->backend == Backend::TF) {
        const char *what[2] = {"INPUTS", "OUTPUTS"};
        std::vector<std::string> *names[2] = {&m->inputs, &m->outputs};
        for (int s = 0; s < 2; s++) {
            if (i >= argc || !arg_is(argv[i], what[s]))
                return RM_ReplyWithError(ctx, s == 0 ? "ERR INPUTS not specified for TF" : "ERR OUTPUTS not specified for TF");
            long long n;
            if (i + 1 >= argc || !arg_ll(argv[i + 1], &n) || n <= 0)
                return RM_ReplyWithError(ctx, s == 0 ? "ERR Invalid argument for input_count" : "ERR Invalid argument for output_count");
            if (n > argc - (i + 2))
                return RM_ReplyWithError(ctx, s == 0 ? "ERR number of model inputs does not match the number of given arguments"
                                                     : "ERR number of model outputs does not match the number of given arguments");
            for (long long j = 0; j < n; j++) names[s]->push_back(arg_str(argv[i + 2 + j]));
            i += 2 + static_cast<int>(n);
        }
    } else if (arg_is(argv[i], "INPUTS")) {
        return RM_ReplyWithError(ctx, "ERR INPUTS argument should not be specified for this backend");
    }
    if (i >= argc || !arg_is(argv[i], "BLOB")) return RM_ReplyWithError(ctx, "ERR Invalid argument, expected BLOB");
    if (i + 1 >= argc) return RM_ReplyWithError(ctx, "ERR Insufficient arguments, missing model BLOB");
    if (!key_writable_as(ctx, argv[1], ModelType)) return RM_ReplyWithError(ctx, kWrongType);
    if (m->backend == Backend::TORCH) {
        std::string err;
        if (!torch_device_usable(m->device, &err)) return RM_ReplyWithError(ctx, err.c_str());
    }
    // TF, TFLITE and ONNX models are stored as bytes; AI.MODELEXECUTE reports that their
    // backend is not available (docs/database.md, "Backends").
    auto job = std::make_unique<StoreJob>();
    for (int j = i + 1; j < argc; j++) {
        RM_RetainString(nullptr, argv[j]);
        job->chunks.push_back(argv[j]);
    }
    job->model = std::move(m);
    return start_store(ctx, argv, argc, std::move(job));
}

void reply_model_blob(RedisModuleCtx *ctx, const Model *m) {
    size_t chunk = static_cast<size_t>(g_config.model_chunk_size);
    size_t len = m->blob.size();
    if (len < chunk) {
        reply_str(ctx, m->blob);
        return;
    }
    size_t n = len / chunk + 1;
    RM_ReplyWithArray(ctx, static_cast<long>(n));
    for (size_t i = 0; i < n; i++) {
        size_t off = i * chunk;
        size_t l = (i + 1 == n) ? len - off : chunk;
        RM_ReplyWithStringBuffer(ctx, m->blob.data() + off, l);
    }
}

void reply_names(RedisModuleCtx *ctx, const std::vector<std::string> &v) {
    RM_ReplyWithArray(ctx, static_cast<long>(v.size()));
    for (const auto &s : v) reply_str(ctx, s);
}

// AI.MODELGET key [META] [BLOB]
int ModelGet_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc < 2 || argc > 4) return RM_WrongArity(ctx);
    KeyState st;
    Model *m = static_cast<Model *>(get_typed(ctx, argv[1], ModelType, &st));
    if (st == KeyState::Empty) return RM_ReplyWithError(ctx, "ERR model key is empty");
    if (st == KeyState::WrongType) return RM_ReplyWithError(ctx, kWrongType);
    bool meta = false, blob = false;
    for (int i = 2; i < argc; i++) {
        if (arg_is(argv[i], "META")) meta = true;
        else if (arg_is(argv[i], "BLOB")) blob = true;
    }
    if (blob && !meta) {
        reply_model_blob(ctx, m);
        return RM_OK;
    }
    bool with_blob = !meta || blob;  // neither or both
    RM_ReplyWithArray(ctx, with_blob ? 18 : 16);
    reply_cstr(ctx, "backend");
    reply_cstr(ctx, backend_name(m->backend));
    reply_cstr(ctx, "device");
    reply_str(ctx, m->device);
    reply_cstr(ctx, "tag");
    reply_str(ctx, m->tag);
    reply_cstr(ctx, "batchsize");
    RM_ReplyWithLongLong(ctx, m->batchsize);
    reply_cstr(ctx, "minbatchsize");
    RM_ReplyWithLongLong(ctx, m->minbatchsize);
    reply_cstr(ctx, "inputs");
    reply_names(ctx, m->inputs);
    reply_cstr(ctx, "outputs");
    reply_names(ctx, m->outputs);
    reply_cstr(ctx, "minbatchtimeout");
    RM_ReplyWithLongLong(ctx, m->minbatchtimeout);
    if (with_blob) {
        reply_cstr(ctx, "blob");
        reply_model_blob(ctx, m);
    }
    return RM_OK;
}

// Deletes a key of `type`; shared by AI.MODELDEL and AI.SCRIPTDEL.
int delete_typed(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, RedisModuleType *type, const char *empty_err) {
    if (argc != 2) return RM_WrongArity(ctx);
    RedisModuleKey *k = static_cast<RedisModuleKey *>(RM_OpenKey(ctx, argv[1], RM_READ | RM_WRITE));
    if (!k) return RM_ReplyWithError(ctx, empty_err);
    int kt = RM_KeyType(k);
    if (kt == RM_KEYTYPE_EMPTY) {
        RM_CloseKey(k);
        return RM_ReplyWithError(ctx, empty_err);
    }
    if (kt != RM_KEYTYPE_MODULE || RM_ModuleTypeGetType(k) != type) {
        RM_CloseKey(k);
        return RM_ReplyWithError(ctx, kWrongType);
    }
    RM_DeleteKey(k);
    RM_CloseKey(k);
    RM_ReplicateVerbatim(ctx);
    return RM_ReplyWithSimpleString(ctx, "OK");
}

int ModelDel_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    return delete_typed(ctx, argv, argc, ModelType, "ERR model key is empty");
}
int ScriptDel_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    return delete_typed(ctx, argv, argc, ScriptType, "ERR script key is empty");
}

// Compiles and stores a script (shared by SCRIPTSET and SCRIPTSTORE).
int store_script(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, std::unique_ptr<Script> s) {
    if (!key_writable_as(ctx, argv[1], ScriptType)) return RM_ReplyWithError(ctx, kWrongType);
    std::string err;
    if (!torch_device_usable(s->device, &err)) return RM_ReplyWithError(ctx, err.c_str());
    auto job = std::make_unique<StoreJob>();
    job->script = std::move(s);
    return start_store(ctx, argv, argc, std::move(job));
}

// AI.SCRIPTSET key DEVICE [TAG t] SOURCE text
int ScriptSet_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc != 5 && argc != 7) return RM_WrongArity(ctx);
    auto s = std::make_unique<Script>();
    s->device = arg_str(argv[2]);
    if (device_queue_name(s->device).empty()) return RM_ReplyWithError(ctx, "ERR unsupported device");
    int i = 3;
    if (arg_is(argv[i], "TAG")) {
        s->tag = arg_str(argv[i + 1]);
        i += 2;
    }
    if (i + 1 >= argc || !arg_is(argv[i], "SOURCE") || i + 2 != argc)
        return RM_ReplyWithError(ctx, "ERR Insufficient arguments, missing script SOURCE");
    s->source = arg_str(argv[i + 1]);
    return store_script(ctx, argv, argc, std::move(s));
}

// AI.SCRIPTSTORE key DEVICE [TAG t] ENTRY_POINTS n e1..en SOURCE text
int ScriptStore_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc < 8) return RM_WrongArity(ctx);
    auto s = std::make_unique<Script>();
    s->device = arg_str(argv[2]);
    if (device_queue_name(s->device).empty()) return RM_ReplyWithError(ctx, "ERR unsupported device");
    int i = 3;
    if (arg_is(argv[i], "TAG")) {
        s->tag = arg_str(argv[i + 1]);
        i += 2;
    }
    if (i >= argc || !arg_is(argv[i], "ENTRY_POINTS"))
        return RM_ReplyWithError(ctx, "ERR Insufficient arguments, missing script entry points");
    long long n;
    if (i + 1 >= argc || !arg_ll(argv[i + 1], &n))
        return RM_ReplyWithError(ctx, "ERR Non numeric entry points number provided to AI.SCRIPTSTORE command");
    if (n <= 0 || n > argc - (i + 2))
        return RM_ReplyWithError(ctx, "ERR Invalid number of entry points provided to AI.SCRIPTSTORE command");
    for (long long j = 0; j < n; j++) s->entry_points.push_back(arg_str(argv[i + 2 + j]));
    i += 2 + static_cast<int>(n);
    if (i + 1 >= argc || !arg_is(argv[i], "SOURCE") || i + 2 != argc)
        return RM_ReplyWithError(ctx, "ERR Insufficient arguments, missing script SOURCE");
    s->source = arg_str(argv[i + 1]);
    return store_script(ctx, argv, argc, std::move(s));
}

// AI.SCRIPTGET key [META] [SOURCE]
int ScriptGet_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc < 2 || argc > 4) return RM_WrongArity(ctx);
    KeyState st;
    Script *s = static_cast<Script *>(get_typed(ctx, argv[1], ScriptType, &st));
    if (st == KeyState::Empty) return RM_ReplyWithError(ctx, "ERR script key is empty");
    if (st == KeyState::WrongType) return RM_ReplyWithError(ctx, kWrongType);
    bool meta = false, source = false;
    for (int i = 2; i < argc; i++) {
        if (arg_is(argv[i], "META")) meta = true;
        else if (arg_is(argv[i], "SOURCE")) source = true;
    }
    if (source && !meta) {
        reply_str(ctx, s->source);
        return RM_OK;
    }
    bool with_source = !meta || source;
    RM_ReplyWithArray(ctx, with_source ? 8 : 6);
    reply_cstr(ctx, "device");
    reply_str(ctx, s->device);
    reply_cstr(ctx, "tag");
    reply_str(ctx, s->tag);
    reply_cstr(ctx, "Entry Points");
    reply_names(ctx, s->entry_points);
    if (with_source) {
        reply_cstr(ctx, "source");
        reply_str(ctx, s->source);
    }
    return RM_OK;
}

// AI.INFO key [RESETSTAT]
int Info_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc < 2 || argc > 3) return RM_WrongArity(ctx);
    std::string key = arg_str(argv[1]);
    bool is_model = false;
    auto st = stats_lookup(key, &is_model);
    if (!st) return RM_ReplyWithError(ctx, "ERR cannot find run info for key");
    if (argc == 3 && arg_is(argv[2], "RESETSTAT")) {
        st->duration_us = st->samples = st->calls = st->errors = 0;
        return RM_ReplyWithSimpleString(ctx, "OK");
    }
    RM_ReplyWithArray(ctx, 18);
    reply_cstr(ctx, "key");
    reply_str(ctx, key);
    reply_cstr(ctx, "type");
    reply_cstr(ctx, is_model ? "MODEL" : "SCRIPT");
    reply_cstr(ctx, "backend");
    reply_str(ctx, st->backend);
    reply_cstr(ctx, "device");
    reply_str(ctx, st->device);
    reply_cstr(ctx, "tag");
    reply_str(ctx, st->tag);
    reply_cstr(ctx, "duration");
    RM_ReplyWithLongLong(ctx, st->duration_us);
    reply_cstr(ctx, "samples");
    RM_ReplyWithLongLong(ctx, is_model ? st->samples : -1);
    reply_cstr(ctx, "calls");
    RM_ReplyWithLongLong(ctx, st->calls);
    reply_cstr(ctx, "errors");
    RM_ReplyWithLongLong(ctx, st->errors);
    return RM_OK;
}

constexpr const char *kNoLibraryLoading =
    "this module never loads a shared library named by a client; TORCH is built in and TF, TFLITE and ONNX are not available";

// AI.CONFIG BACKENDSPATH p | LOADBACKEND b p | MODEL_CHUNK_SIZE n | GET BACKENDSPATH|MODEL_CHUNK_SIZE
int Config_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc < 2) return RM_WrongArity(ctx);
    if (arg_is(argv[1], "BACKENDSPATH")) {
        if (argc < 3) return RM_ReplyWithError(ctx, "ERR BACKENDSPATH: missing path argument");
        std::string msg = std::string("ERR BACKENDSPATH refused: ") + kNoLibraryLoading;
        return RM_ReplyWithError(ctx, msg.c_str());
    }
    if (arg_is(argv[1], "LOADBACKEND")) {
        if (argc < 4) return RM_ReplyWithError(ctx, "ERR LOADBACKEND: missing backend or path argument");
        size_t l;
        const char *b = RM_StringPtrLen(argv[2], &l);
        Backend be;
        if (!backend_from_name(b, l, &be)) return RM_ReplyWithError(ctx, "ERR unsupported backend");
        std::string msg = std::string("ERR LOADBACKEND refused: ") + kNoLibraryLoading;
        return RM_ReplyWithError(ctx, msg.c_str());
    }
    if (arg_is(argv[1], "MODEL_CHUNK_SIZE")) {
        if (argc < 3) return RM_ReplyWithError(ctx, "ERR MODEL_CHUNK_SIZE: missing chunk size");
        long long n;
        if (!arg_ll(argv[2], &n) || n <= 0) return RM_ReplyWithError(ctx, "ERR MODEL_CHUNK_SIZE: invalid chunk size");
        g_config.model_chunk_size = n;
        RM_ReplicateVerbatim(ctx);
        return RM_ReplyWithSimpleString(ctx, "OK");
    }
    if (arg_is(argv[1], "GET")) {
        if (argc < 3) return RM_ReplyWithError(ctx, "ERR GET: missing configuration name");
        if (arg_is(argv[2], "MODEL_CHUNK_SIZE")) return RM_ReplyWithLongLong(ctx, g_config.model_chunk_size);
        if (arg_is(argv[2], "BACKENDSPATH")) {
            reply_str(ctx, g_config.backendspath);
            return RM_OK;
        }
        return RM_ReplyWithNull(ctx);
    }
    return RM_ReplyWithError(ctx, "ERR unsupported subcommand");
}

}  // namespace

int register_store_commands(RedisModuleCtx *ctx) {
    struct {
        const char *name;
        RedisModuleCmdFunc f;
        const char *flags;
        int first;
    } cmds[] = {
        {"ai.modelstore", ModelStore_Command, "write deny-oom", 1},
        {"ai.modelget", ModelGet_Command, "readonly", 1},
        {"ai.modeldel", ModelDel_Command, "write", 1},
        {"ai.scriptset", ScriptSet_Command, "write deny-oom", 1},
        {"ai.scriptstore", ScriptStore_Command, "write deny-oom", 1},
        {"ai.scriptget", ScriptGet_Command, "readonly", 1},
        {"ai.scriptdel", ScriptDel_Command, "write", 1},
        {"ai.info", Info_Command, "readonly", 1},
        {"ai.config", Config_Command, "write", 0},
    };
    for (const auto &c : cmds) {
        if (RM_CreateCommand(ctx, c.name, c.f, c.flags, c.first, c.first, c.first) != RM_OK) return RM_ERR;
    }
    return RM_OK;
}

}  // namespace eai
