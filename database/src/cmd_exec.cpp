// Execution commands: AI.MODELEXECUTE, AI.SCRIPTRUN, AI.SCRIPTEXECUTE (docs/protocol.md §3.3, §4.2).
//
// The command is parsed and its inputs are fetched on the main thread; the client is then
// blocked and the run goes to the worker queue of the model's device. The worker only
// touches the job (never the keyspace); the reply callback, on the main thread, writes the
// outputs, updates the stats and replies. The free callback releases everything.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <unordered_map>

#include "backend_torch.h"
#include "cmd_exec.h"
#include "cmd_util.h"
#include "worker_queue.h"

namespace eai {

// Whether what this command propagates goes anywhere: the server propagates writes to the
// append-only file when it is on, and to replicas when it has any or keeps a replication
// backlog for them (one has been connected). Otherwise the copy of an output made for
// AI.TENSORSET below would be built only to be dropped.
bool writes_propagated(RedisModuleCtx *ctx) {
    if (RM_GetContextFlags(ctx) & RM_CTX_FLAGS_AOF) return true;
    RedisModuleServerInfoData *info = RM_GetServerInfo(ctx, "replication");
    if (!info) return true;
    int err_replicas = 0, err_backlog = 0;
    unsigned long long replicas = RM_ServerInfoGetFieldUnsigned(info, "connected_slaves", &err_replicas);
    unsigned long long backlog = RM_ServerInfoGetFieldUnsigned(info, "repl_backlog_active", &err_backlog);
    RM_FreeServerInfo(ctx, info);
    return err_replicas || err_backlog || replicas > 0 || backlog > 0;
}

// Replicates an output as AI.TENSORSET key TYPE dims BLOB bytes (the caller asks
// writes_propagated() once per reply, and calls this only when anything receives it).
void replicate_tensor(RedisModuleCtx *ctx, RedisModuleString *key, const Tensor *t) {
    std::vector<RedisModuleString *> a;
    a.push_back(key);
    auto add = [&](const char *p, size_t n) { a.push_back(RM_CreateString(nullptr, p, n)); };
    const char *tn = dtype_name(t->dtype);
    add(tn, strlen(tn));
    for (int64_t d : t->dims) {
        std::string s = std::to_string(d);
        add(s.data(), s.size());
    }
    add("BLOB", 4);
    add(t->data ? t->data : "", t->nbytes);
    RM_Replicate(ctx, "AI.TENSORSET", "v", a.data(), a.size());
    for (size_t i = 1; i < a.size(); i++) RM_FreeString(nullptr, a[i]);
}

// ---- AI.SCRIPTEXECUTE key fn [KEYS n k…] [INPUTS n i…] [ARGS n a…] [OUTPUTS n o…] [TIMEOUT ms] ----
// Parses the sections; on error sets *err and returns false.
bool parse_scriptexecute(RedisModuleString **argv, int argc, ScriptExecArgs *a, std::string *err) {
    int i = 3;
    if (i >= argc || !(arg_is(argv[i], "KEYS") || arg_is(argv[i], "INPUTS"))) {
        *err = "ERR KEYS or INPUTS scope must be provided first for AI.SCRIPTEXECUTE command";
        return false;
    }
    bool seen[4] = {false, false, false, false};
    const char *names[4] = {"KEYS", "INPUTS", "ARGS", "OUTPUTS"};
    std::vector<int> *lists[4] = {&a->keys, &a->inputs, &a->args, &a->outputs};
    while (i < argc) {
        if (arg_is(argv[i], "TIMEOUT")) {
            long long t;
            if (i + 1 >= argc) {
                *err = "ERR No value provided for TIMEOUT";
                return false;
            }
            if (!arg_ll(argv[i + 1], &t) || t <= 0) {
                *err = "ERR Invalid value for TIMEOUT";
                return false;
            }
            a->timeout = t;
            i += 2;
            continue;
        }
        int s = -1;
        for (int k = 0; k < 4; k++)
            if (arg_is(argv[i], names[k])) s = k;
        if (s < 0) {
            *err = "ERR Invalid argument: " + arg_str(argv[i]);
            return false;
        }
        if (seen[s]) {
            *err = std::string("ERR Already encountered a ") + names[s] + " scope in AI.SCRIPTEXECUTE";
            return false;
        }
        seen[s] = true;
        long long n;
        if (i + 1 >= argc || !arg_ll(argv[i + 1], &n) || n <= 0) {
            *err = std::string("ERR Invalid argument for ") + names[s] + " count";
            return false;
        }
        if (n > argc - (i + 2)) {
            *err = std::string("ERR number of ") + names[s] +
                   " to AI.SCRIPTEXECUTE command does not match the number of given arguments";
            return false;
        }
        for (long long j = 0; j < n; j++) lists[s]->push_back(i + 2 + static_cast<int>(j));
        i += 2 + static_cast<int>(n);
    }
    return true;
}

// ---- batching (ModelRequest) --------------------------------------------------------------------
const void *ModelRequest::batch_group() const {
    if (!batch_model || batch_model->batchsize <= 0 || batch_inputs.empty()) return nullptr;
    for (const Tensor *t : batch_inputs)
        if (t->dims.empty() || t->dims[0] != batch_inputs[0]->dims[0]) return nullptr;
    return batch_model;
}

bool ModelRequest::batch_fits(const QueueTask &other) const {
    // Only ModelRequests have a batch group, and the worker compares groups first.
    const auto *o = static_cast<const ModelRequest *>(&other);
    if (o->batch_model != batch_model || o->batch_inputs.size() != batch_inputs.size() ||
        o->batch_outputs != batch_outputs)
        return false;
    for (size_t k = 0; k < batch_inputs.size(); k++) {
        const Tensor *a = batch_inputs[k], *b = o->batch_inputs[k];
        if (a->dtype != b->dtype || a->dims.size() != b->dims.size() || a->dims.empty()) return false;
        if (!std::equal(a->dims.begin() + 1, a->dims.end(), b->dims.begin() + 1)) return false;
    }
    return true;
}

long long ModelRequest::batch_rows() const {
    return batch_inputs.empty() || batch_inputs[0]->dims.empty() ? 0 : batch_inputs[0]->dims[0];
}
long long ModelRequest::batch_limit() const { return batch_model ? batch_model->batchsize : 0; }
long long ModelRequest::batch_min() const { return batch_model ? batch_model->minbatchsize : 0; }
long long ModelRequest::batch_wait_ms() const { return batch_model ? batch_model->minbatchtimeout : 0; }

void ModelRequest::run_batch(const std::vector<QueueTask *> &others) {
    std::vector<ModelRequest *> jobs{this};
    for (QueueTask *t : others) jobs.push_back(static_cast<ModelRequest *>(t));
    for (ModelRequest *j : jobs) j->batch_prepare();
    auto t0 = std::chrono::steady_clock::now();
    std::vector<const std::vector<Tensor *> *> ins;
    for (ModelRequest *j : jobs) ins.push_back(&j->batch_inputs);
    std::vector<std::vector<Tensor *>> outs;
    std::string e;
    torch_model_run_batch(batch_model->torch, ins, &outs, &e);
    long long us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
    auto counted = std::make_shared<bool>(false);
    outs.resize(jobs.size());
    for (size_t k = 0; k < jobs.size(); k++)
        jobs[k]->batch_done(e.empty() ? std::move(outs[k]) : std::vector<Tensor *>{}, e, us, counted);
}

// ---- blocked clients' requests withdrawn when their client disconnects -----------------------
namespace {
// The blocked clients whose request is not answered yet (main thread only).
std::unordered_map<RedisModuleBlockedClient *, std::weak_ptr<QueueTask>> g_pending;

void Blocked_Disconnected(RedisModuleCtx *, RedisModuleBlockedClient *bc) {
    auto it = g_pending.find(bc);
    if (it == g_pending.end()) return;
    std::shared_ptr<QueueTask> task = it->second.lock();
    g_pending.erase(it);
    if (!task) return;
    int expect = QueueTask::QUEUED;  // a run in progress finishes and replies to no one
    if (task->state.compare_exchange_strong(expect, QueueTask::EXPIRED)) task->expire(false);
}
}  // namespace

void blocked_withdraw_on_disconnect(RedisModuleBlockedClient *bc, const std::shared_ptr<QueueTask> &task) {
    g_pending[bc] = task;
    RM_SetDisconnectCallback(bc, Blocked_Disconnected);
}

void blocked_forget(RedisModuleBlockedClient *bc) { g_pending.erase(bc); }

namespace {

struct ExecJob final : ModelRequest, std::enable_shared_from_this<ExecJob> {
    RedisModuleBlockedClient *bc = nullptr;
    Model *model = nullptr;
    Script *script = nullptr;
    std::string fn;
    std::vector<Tensor *> inputs;
    std::vector<std::string> keys, args;  // SCRIPTEXECUTE only
    std::vector<RedisModuleString *> outkeys;
    // Filled by the worker (read by the reply only after complete()):
    std::vector<Tensor *> outputs;
    std::string err;
    long long duration_us = 0;
    // Set by expire() (read by the reply only after expire()):
    bool timed_out = false;
    // Shared by the tasks of one batch: the forward call and its duration are counted once, by
    // the first of them to reply (AI.INFO "calls"); null for a run of one request.
    std::shared_ptr<bool> call_counted;

    ~ExecJob() override {
        MainThreadLock lock;  // the last owner may be a worker whose run was abandoned
        if (model) model_release(model);
        if (script) script_release(script);
        for (Tensor *t : inputs) tensor_release(t);
        for (Tensor *t : outputs)
            if (t) tensor_release(t);
        for (RedisModuleString *s : outkeys) RM_FreeString(nullptr, s);
    }

    void run() override {
        auto t0 = std::chrono::steady_clock::now();
        if (model) torch_model_run(model->torch, inputs, &outputs, &err);
        else torch_script_run(script->torch, fn, inputs, keys, args, &outputs, &err);
        duration_us =
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
    }
    void complete() override { unblock(); }

    void batch_done(std::vector<Tensor *> outs, const std::string &e, long long us,
                    const std::shared_ptr<bool> &counted) override {
        duration_us = us;
        call_counted = counted;
        if (!e.empty()) err = e;
        else outputs = std::move(outs);
    }
    void expire(bool) override {
        timed_out = true;
        unblock();
    }
    // Hands the reply side its own reference (freed by Exec_Free).
    void unblock() { RM_UnblockClient(bc, new std::shared_ptr<ExecJob>(shared_from_this())); }
};

ExecJob *job_of(void *privdata) { return static_cast<std::shared_ptr<ExecJob> *>(privdata)->get(); }

int Exec_Reply(RedisModuleCtx *ctx, RedisModuleString **, int) {
    ExecJob *job = job_of(RM_GetBlockedClientPrivateData(ctx));
    RunStats *st = job->model ? job->model->stats.get() : job->script->stats.get();
    if (job->timed_out) return RM_ReplyWithSimpleString(ctx, "TIMEDOUT");
    bool counts_call = !job->call_counted || !*job->call_counted;
    if (job->call_counted) *job->call_counted = true;
    if (counts_call) st->calls++;
    if (job->err.empty() && job->outputs.size() != job->outkeys.size()) {
        job->err = job->model ? "ERR Model did not generate the expected number of outputs"
                              : "ERR Function did not generate the expected number of outputs";
    }
    if (!job->err.empty()) {
        st->errors++;
        return RM_ReplyWithError(ctx, job->err.c_str());
    }
    bool propagated = writes_propagated(ctx);
    for (size_t i = 0; i < job->outkeys.size(); i++) {
        if (!set_typed(ctx, job->outkeys[i], TensorType, job->outputs[i])) {
            st->errors++;
            return RM_ReplyWithError(ctx, kWrongType);
        }
        Tensor *t = job->outputs[i];
        job->outputs[i] = nullptr;  // now owned by the keyspace
        if (propagated) replicate_tensor(ctx, job->outkeys[i], t);
    }
    if (counts_call) st->duration_us += job->duration_us;
    if (job->model && !job->inputs.empty() && !job->inputs[0]->dims.empty())
        st->samples += job->inputs[0]->dims[0];
    return RM_ReplyWithSimpleString(ctx, "OK");
}

void Exec_Free(RedisModuleCtx *, void *privdata) {
    auto *job = static_cast<std::shared_ptr<ExecJob> *>(privdata);
    blocked_forget((*job)->bc);
    delete job;
}

// Fetches the input tensors and checks the output keys; replies and returns false on error.
bool gather(RedisModuleCtx *ctx, ExecJob *job, RedisModuleString **in, int nin, RedisModuleString **out, int nout) {
    for (int i = 0; i < nin; i++) {
        KeyState st;
        Tensor *t = static_cast<Tensor *>(get_typed(ctx, in[i], TensorType, &st));
        if (st == KeyState::Empty) {
            RM_ReplyWithError(ctx, "ERR tensor key is empty or in a different shard");
            return false;
        }
        if (st == KeyState::WrongType) {
            RM_ReplyWithError(ctx, kWrongType);
            return false;
        }
        job->inputs.push_back(tensor_retain(t));
    }
    for (int i = 0; i < nout; i++) {
        if (!key_writable_as(ctx, out[i], TensorType)) {
            RM_ReplyWithError(ctx, kWrongType);
            return false;
        }
    }
    for (int i = 0; i < nout; i++) {
        RM_RetainString(nullptr, out[i]);
        job->outkeys.push_back(out[i]);
    }
    return true;
}

// Blocks the client and queues the job on `device`.
int dispatch(RedisModuleCtx *ctx, std::shared_ptr<ExecJob> job, const std::string &device, long long timeout_ms) {
    std::string queue = device_queue_name(device), err;
    if (!queue_available(queue, &err)) return RM_ReplyWithError(ctx, err.c_str());
    job->bc = RM_BlockClient(ctx, Exec_Reply, nullptr, Exec_Free, 0);
    if (!job->bc) return RM_ReplyWithError(ctx, "ERR could not block the client for execution");
    blocked_withdraw_on_disconnect(job->bc, job);
    queue_submit(queue, std::move(job), timeout_ms);
    return RM_OK;
}

// Parses the TIMEOUT value at argv[i+1]; replies and returns false on error.
bool parse_timeout(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, int i, long long *out) {
    if (i + 1 >= argc) {
        RM_ReplyWithError(ctx, "ERR No value provided for TIMEOUT");
        return false;
    }
    if (!arg_ll(argv[i + 1], out) || *out <= 0) {
        RM_ReplyWithError(ctx, "ERR Invalid value for TIMEOUT");
        return false;
    }
    return true;
}

// ---- AI.MODELEXECUTE key INPUTS n i1..in OUTPUTS m o1..om [TIMEOUT ms] ----
void modelexecute_keys(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    RM_KeyAtPos(ctx, 1);
    long long n;
    if (argc < 4 || !arg_is(argv[2], "INPUTS") || !arg_ll(argv[3], &n) || n < 0) return;
    int i = 4;
    for (long long j = 0; j < n && i < argc; j++) RM_KeyAtPos(ctx, i++);
    if (i + 1 >= argc || !arg_is(argv[i], "OUTPUTS") || !arg_ll(argv[i + 1], &n) || n < 0) return;
    i += 2;
    for (long long j = 0; j < n && i < argc; j++) RM_KeyAtPos(ctx, i++);
}

int ModelExecute_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (RM_IsKeysPositionRequest(ctx)) {
        modelexecute_keys(ctx, argv, argc);
        return RM_OK;
    }
    if (argc < 8) return RM_ReplyWithError(ctx, "ERR wrong number of arguments for 'AI.MODELEXECUTE' command");
    if (in_transaction(ctx))
        return RM_ReplyWithError(ctx, "ERR Cannot run RedisAI command within a transaction or a LUA script");
    KeyState st;
    Model *m = static_cast<Model *>(get_typed(ctx, argv[1], ModelType, &st));
    if (st == KeyState::Empty) return RM_ReplyWithError(ctx, "ERR model key is empty");
    if (st == KeyState::WrongType) return RM_ReplyWithError(ctx, kWrongType);
    if (!arg_is(argv[2], "INPUTS")) return RM_ReplyWithError(ctx, "ERR INPUTS not specified");
    long long nin;
    if (!arg_ll(argv[3], &nin)) return RM_ReplyWithError(ctx, "ERR Invalid argument for input_count");
    if (nin <= 0) return RM_ReplyWithError(ctx, "ERR Input count must be a positive integer");
    if (m->torch && torch_model_num_inputs(m->torch) >= 0 && nin != torch_model_num_inputs(m->torch))
        return RM_ReplyWithError(ctx, "Number of keys given as INPUTS here does not match model definition");
    if (nin > argc - 4)
        return RM_ReplyWithError(ctx, "ERR number of input keys to AI.MODELEXECUTE command does not match the number of given arguments");
    int i = 4 + static_cast<int>(nin);
    if (i >= argc || !arg_is(argv[i], "OUTPUTS")) return RM_ReplyWithError(ctx, "ERR OUTPUTS not specified");
    long long nout;
    if (i + 1 >= argc || !arg_ll(argv[i + 1], &nout)) return RM_ReplyWithError(ctx, "ERR Invalid argument for output_count");
    if (nout <= 0) return RM_ReplyWithError(ctx, "ERR Output count must be a positive integer");
    if (nout > argc - (i + 2))
        return RM_ReplyWithError(ctx, "ERR number of output keys to AI.MODELEXECUTE command does not match the number of given arguments");
    int out_at = i + 2;
    i = out_at + static_cast<int>(nout);
    long long timeout = 0;
    while (i < argc) {
        if (arg_is(argv[i], "TIMEOUT")) {
            if (!parse_timeout(ctx, argv, argc, i, &timeout)) return RM_OK;
            i += 2;
        } else {
            std::string msg = "ERR Invalid argument: " + arg_str(argv[i]);
            return RM_ReplyWithError(ctx, msg.c_str());
        }
    }
    if (m->backend != Backend::TORCH) {
        std::string msg = std::string("ERR backend ") + backend_name(m->backend) +
                          " is not available in this database (only TORCH models run; the model is stored but cannot be executed)";
        return RM_ReplyWithError(ctx, msg.c_str());
    }
    if (!m->torch) {
        std::string msg = "ERR model could not be loaded: " + m->load_error;
        return RM_ReplyWithError(ctx, msg.c_str());
    }
    auto job = std::make_shared<ExecJob>();
    if (!gather(ctx, job.get(), argv + 4, static_cast<int>(nin), argv + out_at, static_cast<int>(nout))) return RM_OK;
    job->model = model_retain(m);
    job->batch_model = job->model;
    job->batch_inputs = job->inputs;
    job->batch_outputs = job->outkeys.size();
    return dispatch(ctx, std::move(job), m->device, timeout);
}

// ---- AI.SCRIPTRUN key fn [TIMEOUT ms] INPUTS i1 … [$ v1 …] OUTPUTS o1 … ----
void scriptrun_keys(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    RM_KeyAtPos(ctx, 1);
    int i = 3;
    if (i < argc && arg_is(argv[i], "TIMEOUT")) i += 2;
    bool after_inputs = false;
    for (; i < argc; i++) {
        if (!after_inputs) {
            if (arg_is(argv[i], "INPUTS")) after_inputs = true;
            continue;
        }
        if (arg_is(argv[i], "OUTPUTS") || arg_is(argv[i], "$")) continue;
        RM_KeyAtPos(ctx, i);
    }
}

Script *lookup_script(RedisModuleCtx *ctx, RedisModuleString *key) {
    KeyState st;
    Script *s = static_cast<Script *>(get_typed(ctx, key, ScriptType, &st));
    if (st == KeyState::Empty) RM_ReplyWithError(ctx, "ERR script key is empty");
    else if (st == KeyState::WrongType) RM_ReplyWithError(ctx, kWrongType);
    return s;
}

// Checks that a script can run `fn`; replies and returns false when it cannot.
bool script_runnable(RedisModuleCtx *ctx, Script *s, const std::string &fn) {
    if (!s->torch) {
        std::string msg = "ERR script could not be compiled: " + s->load_error;
        RM_ReplyWithError(ctx, msg.c_str());
        return false;
    }
    if (!torch_script_has_function(s->torch, fn)) {
        std::string msg = "Function does not exist: " + fn;
        RM_ReplyWithError(ctx, msg.c_str());
        return false;
    }
    return true;
}

int ScriptRun_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (RM_IsKeysPositionRequest(ctx)) {
        scriptrun_keys(ctx, argv, argc);
        return RM_OK;
    }
    if (argc < 4) return RM_WrongArity(ctx);
    if (in_transaction(ctx))
        return RM_ReplyWithError(ctx, "ERR Cannot run RedisAI command within a transaction or a LUA script");
    Script *s = lookup_script(ctx, argv[1]);
    if (!s) return RM_OK;
    std::string fn = arg_str(argv[2]);
    int i = 3;
    long long timeout = 0;
    if (arg_is(argv[i], "TIMEOUT")) {
        if (!parse_timeout(ctx, argv, argc, i, &timeout)) return RM_OK;
        i += 2;
    }
    std::vector<RedisModuleString *> in, out;
    bool seen_in = false, seen_out = false, seen_var = false;
    int section = 0;  // 0 none, 1 inputs, 2 outputs
    for (; i < argc; i++) {
        if (arg_is(argv[i], "INPUTS")) {
            if (seen_in) return RM_ReplyWithError(ctx, "ERR Already encountered an INPUTS section in SCRIPTRUN");
            seen_in = true;
            section = 1;
        } else if (arg_is(argv[i], "OUTPUTS")) {
            if (seen_out) return RM_ReplyWithError(ctx, "ERR Already encountered an OUTPUTS keyword in SCRIPTRUN");
            seen_out = true;
            section = 2;
        } else if (arg_is(argv[i], "$")) {
            if (section != 1)
                return RM_ReplyWithError(ctx, "ERR Encountered a variable size list of tensors outside of input section");
            if (seen_var) return RM_ReplyWithError(ctx, "ERR Already encountered a variable size list of tensors");
            seen_var = true;
        } else if (section == 1) {
            in.push_back(argv[i]);
        } else if (section == 2) {
            out.push_back(argv[i]);
        } else {
            return RM_ReplyWithError(ctx, "ERR Unrecongnized parameter to SCRIPTRUN");
        }
    }
    if (!script_runnable(ctx, s, fn)) return RM_OK;
    auto job = std::make_shared<ExecJob>();
    if (!gather(ctx, job.get(), in.data(), static_cast<int>(in.size()), out.data(), static_cast<int>(out.size()))) return RM_OK;
    job->script = script_retain(s);
    job->fn = fn;
    return dispatch(ctx, std::move(job), s->device, timeout);
}

int ScriptExecute_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (RM_IsKeysPositionRequest(ctx)) {
        RM_KeyAtPos(ctx, 1);
        ScriptExecArgs a;
        std::string err;
        if (parse_scriptexecute(argv, argc, &a, &err)) {
            for (int p : a.keys) RM_KeyAtPos(ctx, p);
            for (int p : a.inputs) RM_KeyAtPos(ctx, p);
            for (int p : a.outputs) RM_KeyAtPos(ctx, p);
        }
        return RM_OK;
    }
    if (argc < 5) return RM_WrongArity(ctx);
    if (in_transaction(ctx))
        return RM_ReplyWithError(ctx, "ERR Cannot run RedisAI command within a transaction or a LUA script");
    Script *s = lookup_script(ctx, argv[1]);
    if (!s) return RM_OK;
    std::string fn = arg_str(argv[2]);
    ScriptExecArgs a;
    std::string err;
    if (!parse_scriptexecute(argv, argc, &a, &err)) return RM_ReplyWithError(ctx, err.c_str());
    if (!script_runnable(ctx, s, fn)) return RM_OK;
    std::vector<RedisModuleString *> in, out;
    for (int p : a.inputs) in.push_back(argv[p]);
    for (int p : a.outputs) out.push_back(argv[p]);
    auto job = std::make_shared<ExecJob>();
    if (!gather(ctx, job.get(), in.data(), static_cast<int>(in.size()), out.data(), static_cast<int>(out.size()))) return RM_OK;
    for (int p : a.keys) job->keys.push_back(arg_str(argv[p]));
    for (int p : a.args) job->args.push_back(arg_str(argv[p]));
    job->script = script_retain(s);
    job->fn = fn;
    return dispatch(ctx, std::move(job), s->device, a.timeout);
}

}  // namespace

int register_exec_commands(RedisModuleCtx *ctx) {
    const char *flags = "write deny-oom getkeys-api";
    if (RM_CreateCommand(ctx, "ai.modelexecute", ModelExecute_Command, flags, 1, 1, 1) != RM_OK) return RM_ERR;
    if (RM_CreateCommand(ctx, "ai.scriptrun", ScriptRun_Command, flags, 1, 1, 1) != RM_OK) return RM_ERR;
    if (RM_CreateCommand(ctx, "ai.scriptexecute", ScriptExecute_Command, flags, 1, 1, 1) != RM_OK) return RM_ERR;
    return RM_OK;
}

}  // namespace eai
