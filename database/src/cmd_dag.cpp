// AI.DAGEXECUTE and AI.DAGEXECUTE_RO (RedisAI 1.2; docs/database.md, "DAG").
//
//   AI.DAGEXECUTE[_RO] [LOAD n k…] [PERSIST n k…] [ROUTING key] [TIMEOUT ms]
//                      |> op |> op …
//   op: AI.TENSORSET name TYPE dims… [BLOB b | VALUES v…] | AI.TENSORGET name [META] [BLOB|VALUES]
//       | AI.MODELEXECUTE key INPUTS n … OUTPUTS m … | AI.SCRIPTEXECUTE key fn [KEYS…] [INPUTS…]
//       [ARGS…] [OUTPUTS…]
//
// Tensor names in the ops are local to the DAG: LOAD copies keyspace tensors in (by reference),
// PERSIST writes named DAG tensors to the keyspace when every op succeeded. Everything is parsed
// and checked on the main thread; a DAG with a model or a script runs on one worker (the queue
// of its first model or script) and replies from the main thread, one reply per op; after a
// failed op the remaining ones reply NA.
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>

#include "backend_torch.h"
#include "cmd_exec.h"
#include "cmd_util.h"
#include "worker_queue.h"

namespace eai {

namespace {

enum class OpKind { TENSORSET, TENSORGET, MODEL, SCRIPT };

struct DagOp {
    OpKind kind;
    std::string name;              // TENSORSET / TENSORGET
    Tensor *tensor = nullptr;      // TENSORSET: the value; TENSORGET: the result
    bool meta = false, blob = false, values = false;  // TENSORGET format
    Model *model = nullptr;
    Script *script = nullptr;
    std::string fn;
    std::vector<std::string> inputs, outputs, keys, args;
    std::string err;               // set when the op failed
    bool ran = false;
    long long duration_us = 0;
    long long rows = 0;            // MODEL: the rows it ran on (first dimension of its first input)
};

struct DagJob final : ModelRequest, std::enable_shared_from_this<DagJob> {
    RedisModuleBlockedClient *bc = nullptr;
    std::vector<DagOp> ops;
    std::map<std::string, Tensor *> tensors;  // the DAG's own names
    std::vector<std::pair<std::string, RedisModuleString *>> persist;
    bool timed_out = false;
    // A DAG that may run in a batch (batchable()): the index of its one model op, and the flag
    // shared with the batch's other requests once it ran in one (its call is counted once).
    size_t model_op = 0;
    std::shared_ptr<bool> call_counted;

    ~DagJob() override {
        MainThreadLock lock;
        for (auto &op : ops) {
            if (op.tensor) tensor_release(op.tensor);
            if (op.model) model_release(op.model);
            if (op.script) script_release(op.script);
        }
        for (auto &kv : tensors) tensor_release(kv.second);
        for (auto &p : persist) RM_FreeString(nullptr, p.second);
    }

    void set(const std::string &name, Tensor *t) {  // takes a reference
        auto it = tensors.find(name);
        if (it != tensors.end()) {
            tensor_release(it->second);
            it->second = t;
        } else {
            tensors[name] = t;
        }
    }

    bool run_op(DagOp &op) {
        switch (op.kind) {
            case OpKind::TENSORSET: set(op.name, tensor_retain(op.tensor)); return true;
            case OpKind::TENSORGET: {
                auto it = tensors.find(op.name);
                if (it == tensors.end()) {
                    op.err = "ERR INPUT key cannot be found in DAG";
                    return false;
                }
                op.tensor = tensor_retain(it->second);
                return true;
            }
            default: break;
        }
        std::vector<Tensor *> in, out;
        for (const auto &n : op.inputs) {
            auto it = tensors.find(n);
            if (it == tensors.end()) {
                op.err = "ERR INPUT key cannot be found in DAG";
                return false;
            }
            in.push_back(it->second);
        }
        if (op.model && !in.empty() && !in[0]->dims.empty()) op.rows = in[0]->dims[0];
        queue_restart_clock();  // every model or script op has the whole MODEL_EXECUTION_TIMEOUT
        auto t0 = std::chrono::steady_clock::now();
        bool ok = op.model ? torch_model_run(op.model->torch, in, &out, &op.err)
                           : torch_script_run(op.script->torch, op.fn, in, op.keys, op.args, &out, &op.err);
        op.duration_us =
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
        op.ran = true;
        if (ok && out.size() != op.outputs.size()) {
            ok = false;
            op.err = op.model ? "ERR Model did not generate the expected number of outputs"
                              : "ERR Function did not generate the expected number of outputs";
        }
        if (!ok) {
            for (Tensor *t : out) tensor_release(t);
            return false;
        }
        for (size_t i = 0; i < out.size(); i++) set(op.outputs[i], out[i]);
        return true;
    }

    void run() override {
        for (auto &op : ops)
            if (!run_op(op)) break;
    }

    // On the main thread, once the ops are parsed: a DAG whose only model or script op is a
    // model op, with only AI.TENSORSET ops before it, has that op's inputs already (given by
    // those ops or LOADed): it batches with other requests for that model (ModelRequest).
    void batchable() {
        size_t runs = 0, at = 0;
        for (size_t i = 0; i < ops.size(); i++)
            if (ops[i].model || ops[i].script) {
                runs++;
                at = i;
            }
        if (runs != 1 || !ops[at].model || ops[at].model->batchsize <= 0) return;
        for (size_t j = 0; j < at; j++)
            if (ops[j].kind != OpKind::TENSORSET) return;
        std::vector<Tensor *> in;
        for (const auto &name : ops[at].inputs) {
            Tensor *t = nullptr;
            for (size_t j = at; j-- > 0;) {  // the last AI.TENSORSET of that name before the op
                if (ops[j].name == name) {
                    t = ops[j].tensor;
                    break;
                }
            }
            if (!t) {
                auto it = tensors.find(name);  // LOADed
                if (it == tensors.end()) return;
                t = it->second;
            }
            in.push_back(t);
        }
        model_op = at;
        batch_model = ops[at].model;
        batch_inputs = std::move(in);
        batch_outputs = ops[at].outputs.size();
    }
    void batch_prepare() override {
        for (size_t i = 0; i < model_op; i++) run_op(ops[i]);  // AI.TENSORSET ops: they cannot fail
    }
    void batch_done(std::vector<Tensor *> outs, const std::string &e, long long us,
                    const std::shared_ptr<bool> &counted) override {
        DagOp &op = ops[model_op];
        op.ran = true;
        op.duration_us = us;
        op.rows = batch_rows();
        batch_inputs.clear();  // a LOADed one may be released by the ops below
        call_counted = counted;
        if (e.empty() && outs.size() != op.outputs.size()) op.err = "ERR Model did not generate the expected number of outputs";
        else if (!e.empty()) op.err = e;
        if (!op.err.empty()) {
            for (Tensor *t : outs) tensor_release(t);
            return;
        }
        for (size_t i = 0; i < outs.size(); i++) set(op.outputs[i], outs[i]);
        for (size_t i = model_op + 1; i < ops.size(); i++)
            if (!run_op(ops[i])) break;
    }

    void complete() override { unblock(); }
    void expire(bool) override {
        timed_out = true;
        unblock();
    }
    void unblock() { RM_UnblockClient(bc, new std::shared_ptr<DagJob>(shared_from_this())); }
};

// ---- tensors given and returned inside a DAG (the rules of AI.TENSORSET / AI.TENSORGET) ----
constexpr size_t kMaxZeroFilled = 512ull * 1024 * 1024;

// argv[0] = AI.TENSORSET, argv[1] = name. Returns a new tensor or null with *err set.
Tensor *parse_tensorset(RedisModuleString **argv, int argc, std::string *err) {
    if (argc < 4) {
        *err = "ERR wrong number of arguments for 'AI.TENSORSET' command";
        return nullptr;
    }
    size_t tlen;
    const char *tname = RM_StringPtrLen(argv[2], &tlen);
    DType dt;
    if (!dtype_from_name(tname, tlen, &dt)) {
        *err = "ERR invalid data type";
        return nullptr;
    }
    std::vector<int64_t> dims;
    size_t count = 1;
    int i = 3;
    for (; i < argc; i++) {
        if (arg_is(argv[i], "BLOB") || arg_is(argv[i], "VALUES")) break;
        long long d;
        if (!arg_ll(argv[i], &d) || d <= 0) {
            *err = "ERR invalid or negative value found in tensor shape";
            return nullptr;
        }
        if (dims.size() >= 64 || count > (SIZE_MAX / 16) / static_cast<size_t>(d)) {
            *err = "ERR tensor shape is too large";
            return nullptr;
        }
        count *= static_cast<size_t>(d);
        dims.push_back(d);
    }
    size_t nbytes = count * dtype_size(dt);
    if (i == argc) {
        if (nbytes > kMaxZeroFilled) {
            *err = "ERR tensor shape is too large for a tensor without data (limit 512 MiB)";
            return nullptr;
        }
        return tensor_new_owned(dt, dims);
    }
    if (arg_is(argv[i], "BLOB")) {
        if (argc != i + 2) {
            *err = "ERR a single binary string should come after the BLOB argument in 'AI.TENSORSET' command";
            return nullptr;
        }
        size_t blen;
        const char *b = RM_StringPtrLen(argv[i + 1], &blen);
        if (blen != nbytes) {
            *err = "ERR data length does not match tensor shape and type";
            return nullptr;
        }
        Tensor *t = new Tensor();
        t->dtype = dt;
        t->dims = dims;
        RM_RetainString(nullptr, argv[i + 1]);
        t->held = argv[i + 1];
        t->data = b;
        t->nbytes = blen;
        return t;
    }
    if (static_cast<size_t>(argc - i - 1) != count) {
        *err = "ERR wrong number of values was given in 'AI.TENSORSET' command";
        return nullptr;
    }
    Tensor *t = tensor_new_owned(dt, dims);
    if (!t) {
        *err = "ERR tensor shape is too large";
        return nullptr;
    }
    for (size_t j = 0; j < count; j++) {
        if (!parse_value(argv[i + 1 + static_cast<int>(j)], dt, t->owned + j * dtype_size(dt))) {
            tensor_release(t);
            *err = "ERR invalid value";
            return nullptr;
        }
    }
    return t;
}

template <typename T>
T elem(const char *p) {
    T x;
    memcpy(&x, p, sizeof(T));
    return x;
}

void reply_tensor(RedisModuleCtx *ctx, const DagOp &op) {
    const Tensor *t = op.tensor;
    bool meta = op.meta, blob = op.blob, values = op.values;
    if (!meta && !blob && !values) meta = blob = true;
    auto reply_meta = [&] {
        RM_ReplyWithStringBuffer(ctx, "dtype", 5);
        const char *n = dtype_name(t->dtype);
        RM_ReplyWithStringBuffer(ctx, n, strlen(n));
        RM_ReplyWithStringBuffer(ctx, "shape", 5);
        RM_ReplyWithArray(ctx, static_cast<long>(t->dims.size()));
        for (int64_t d : t->dims) RM_ReplyWithLongLong(ctx, d);
    };
    auto reply_data = [&] {
        if (blob) {
            RM_ReplyWithStringBuffer(ctx, t->data ? t->data : "", t->nbytes);
            return;
        }
        size_t n = t->count(), es = dtype_size(t->dtype);
        RM_ReplyWithArray(ctx, static_cast<long>(n));
        for (size_t j = 0; j < n; j++) {
            const char *p = t->data + j * es;
            switch (t->dtype) {
                case DType::FLOAT: RM_ReplyWithDouble(ctx, elem<float>(p)); break;
                case DType::DOUBLE: RM_ReplyWithDouble(ctx, elem<double>(p)); break;
                case DType::INT8: RM_ReplyWithLongLong(ctx, elem<int8_t>(p)); break;
                case DType::INT16: RM_ReplyWithLongLong(ctx, elem<int16_t>(p)); break;
                case DType::INT32: RM_ReplyWithLongLong(ctx, elem<int32_t>(p)); break;
                case DType::INT64: RM_ReplyWithLongLong(ctx, elem<int64_t>(p)); break;
                case DType::UINT8: RM_ReplyWithLongLong(ctx, elem<uint8_t>(p)); break;
                case DType::UINT16: RM_ReplyWithLongLong(ctx, elem<uint16_t>(p)); break;
                case DType::BOOL: RM_ReplyWithLongLong(ctx, p[0] ? 1 : 0); break;
            }
        }
    };
    if (meta && (blob || values)) {
        RM_ReplyWithArray(ctx, 6);
        reply_meta();
        RM_ReplyWithStringBuffer(ctx, blob ? "blob" : "values", blob ? 4 : 6);
        reply_data();
    } else if (meta) {
        RM_ReplyWithArray(ctx, 4);
        reply_meta();
    } else {
        reply_data();
    }
}

// ---- parsing ----------------------------------------------------------------------------------
bool is_chain(RedisModuleString *s) { return arg_is(s, "|>"); }

struct Parsed {
    std::vector<int> load, persist;  // argument positions of keys
    int routing = -1;
    long long timeout = 0;
    std::vector<std::pair<int, int>> ops;  // [start, end) of each op
};

// Parses the arguments before the first |> and splits the ops; on error sets *err.
bool parse_dag(RedisModuleString **argv, int argc, bool ro, Parsed *p, std::string *err) {
    const char *cmd = ro ? "AI.DAGEXECUTE_RO" : "AI.DAGEXECUTE";
    if (argc < 2) {
        *err = std::string("ERR missing arguments for '") + cmd + "' command";
        return false;
    }
    int i = 1;
    bool have_load = false, have_persist = false;
    while (i < argc && !is_chain(argv[i])) {
        bool load = arg_is(argv[i], "LOAD"), persist = arg_is(argv[i], "PERSIST");
        if (load || persist) {
            const char *what = load ? "LOAD" : "PERSIST";
            if (persist && ro) {
                *err = "ERR PERSIST cannot be specified in a read-only DAG";
                return false;
            }
            if ((load && have_load) || (persist && have_persist)) {
                *err = std::string("ERR Already encountered ") + what + " keyword in DAG command";
                return false;
            }
            if (i + 2 >= argc) {
                *err = std::string("ERR missing arguments after ") + what + " keyword in DAG command";
                return false;
            }
            long long n;
            if (!arg_ll(argv[i + 1], &n) || n <= 0) {
                *err = std::string("ERR invalid or negative value found in number of keys to ") + what;
                return false;
            }
            bool fits = n <= argc - (i + 2);
            for (long long j = 0; fits && j < n; j++)
                if (is_chain(argv[i + 2 + j])) fits = false;
            if (!fits) {
                *err = load ? "ERR number of keys to LOAD into DAG does not match the number of given arguments"
                            : "ERR number of keys to PERSIST after DAG execution does not match the number of given arguments";
                return false;
            }
            auto &dst = load ? p->load : p->persist;
            for (long long j = 0; j < n; j++) dst.push_back(i + 2 + static_cast<int>(j));
            (load ? have_load : have_persist) = true;
            i += 2 + static_cast<int>(n);
        } else if (arg_is(argv[i], "ROUTING")) {
            if (i + 1 >= argc || is_chain(argv[i + 1])) {
                *err = "ERR Missing ROUTING value";
                return false;
            }
            p->routing = i + 1;
            i += 2;
        } else if (arg_is(argv[i], "TIMEOUT")) {
            if (i + 1 >= argc || is_chain(argv[i + 1])) {
                *err = "ERR No value provided for TIMEOUT";
                return false;
            }
            if (!arg_ll(argv[i + 1], &p->timeout) || p->timeout <= 0) {
                *err = "ERR Invalid value for TIMEOUT";
                return false;
            }
            i += 2;
        } else {
            *err = "ERR Invalid DAG command. Unexpected argument: " + arg_str(argv[i]);
            return false;
        }
    }
    if (!have_load && !have_persist && p->routing < 0) {
        *err = "ERR AI.DAGEXECUTE and AI.DAGEXECUTE_RO commands must contain at least one out of ROUTING, LOAD, PERSIST keywords";
        return false;
    }
    while (i < argc) {  // argv[i] is |>
        int start = ++i;
        while (i < argc && !is_chain(argv[i])) i++;
        p->ops.push_back({start, i});
    }
    if (p->ops.empty()) {
        *err = "ERR DAG is empty";
        return false;
    }
    return true;
}

// Reports the keyspace keys of a DAG (LOAD, PERSIST, ROUTING, models and scripts).
void dag_keys(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, bool ro) {
    Parsed p;
    std::string err;
    if (!parse_dag(argv, argc, ro, &p, &err)) return;
    for (int k : p.load) RM_KeyAtPos(ctx, k);
    for (int k : p.persist) RM_KeyAtPos(ctx, k);
    if (p.routing >= 0) RM_KeyAtPos(ctx, p.routing);
    for (auto [a, b] : p.ops)
        if (b - a >= 2 && (arg_is(argv[a], "AI.MODELEXECUTE") || arg_is(argv[a], "AI.SCRIPTEXECUTE")))
            RM_KeyAtPos(ctx, a + 1);
}

// Parses one op into `op`; on error sets *err.
bool parse_op(RedisModuleCtx *ctx, RedisModuleString **av, int ac, bool ro, DagOp *op, std::string *err) {
    if (ac == 0) {
        *err = "ERR Unsupported command within DAG";
        return false;
    }
    if (arg_is(av[0], "AI.TENSORSET")) {
        op->kind = OpKind::TENSORSET;
        if (ac < 3) {
            *err = "ERR wrong number of arguments for 'AI.TENSORSET' command";
            return false;
        }
        op->name = arg_str(av[1]);
        op->tensor = parse_tensorset(av, ac, err);
        return op->tensor != nullptr;
    }
    if (arg_is(av[0], "AI.TENSORGET")) {
        op->kind = OpKind::TENSORGET;
        if (ac < 2 || ac > 4) {
            *err = "ERR wrong number of arguments for 'AI.TENSORGET' command";
            return false;
        }
        op->name = arg_str(av[1]);
        for (int i = 2; i < ac; i++) {
            if (arg_is(av[i], "META")) op->meta = true;
            else if (arg_is(av[i], "BLOB")) op->blob = true;
            else if (arg_is(av[i], "VALUES")) op->values = true;
            else {
                *err = "ERR unsupported data format";
                return false;
            }
        }
        if (op->blob && op->values) {
            *err = "ERR both BLOB and VALUES specified";
            return false;
        }
        return true;
    }
    if (arg_is(av[0], "AI.MODELRUN") || arg_is(av[0], "AI.SCRIPTRUN")) {
        *err = "ERR Deprecated " + arg_str(av[0]) + " cannot be used in AI.DAGEXECUTE command";
        return false;
    }
    if (arg_is(av[0], "AI.MODELEXECUTE")) {
        op->kind = OpKind::MODEL;
        if (ac < 7) {
            *err = "ERR wrong number of arguments for 'AI.MODELEXECUTE' command";
            return false;
        }
        KeyState st;
        Model *m = static_cast<Model *>(get_typed(ctx, av[1], ModelType, &st));
        if (st != KeyState::Ok) {
            *err = st == KeyState::Empty ? "ERR model key is empty" : kWrongType;
            return false;
        }
        if (m->backend != Backend::TORCH || !m->torch) {
            *err = std::string("ERR backend ") + backend_name(m->backend) + " is not available in this database";
            return false;
        }
        long long nin, nout;
        if (!arg_is(av[2], "INPUTS") || !arg_ll(av[3], &nin) || nin <= 0 || nin > ac - 4) {
            *err = "ERR Invalid argument for input_count";
            return false;
        }
        int n = torch_model_num_inputs(m->torch);
        if (n >= 0 && nin != n) {
            *err = "Number of keys given as INPUTS here does not match model definition";
            return false;
        }
        int i = 4 + static_cast<int>(nin);
        if (i + 1 >= ac || !arg_is(av[i], "OUTPUTS") || !arg_ll(av[i + 1], &nout) || nout <= 0 ||
            nout != ac - (i + 2)) {
            *err = "ERR Invalid argument for output_count";
            return false;
        }
        for (int j = 4; j < 4 + nin; j++) op->inputs.push_back(arg_str(av[j]));
        for (int j = i + 2; j < ac; j++) op->outputs.push_back(arg_str(av[j]));
        op->model = model_retain(m);
        return true;
    }
    if (arg_is(av[0], "AI.SCRIPTEXECUTE")) {
        op->kind = OpKind::SCRIPT;
        if (ro) {
            *err = "ERR AI.SCRIPTEXECUTE command cannot be specified in a read-only DAG";
            return false;
        }
        if (ac < 5) {
            *err = "ERR wrong number of arguments for 'AI.SCRIPTEXECUTE' command";
            return false;
        }
        KeyState st;
        Script *s = static_cast<Script *>(get_typed(ctx, av[1], ScriptType, &st));
        if (st != KeyState::Ok) {
            *err = st == KeyState::Empty ? "ERR script key is empty" : kWrongType;
            return false;
        }
        ScriptExecArgs a;
        if (!parse_scriptexecute(av, ac, &a, err)) {
            *err = "ERR Invalid AI.SCRIPTEXECUTE command. " + (err->rfind("ERR ", 0) == 0 ? err->substr(4) : *err);
            return false;
        }
        if (a.timeout > 0) {
            *err = "ERR Invalid AI.SCRIPTEXECUTE command. TIMEOUT is given to the DAG, not to its ops";
            return false;
        }
        op->fn = arg_str(av[2]);
        if (!s->torch || !torch_script_has_function(s->torch, op->fn)) {
            *err = "Function does not exist: " + op->fn;
            return false;
        }
        for (int k : a.keys) op->keys.push_back(arg_str(av[k]));
        for (int k : a.inputs) op->inputs.push_back(arg_str(av[k]));
        for (int k : a.args) op->args.push_back(arg_str(av[k]));
        for (int k : a.outputs) op->outputs.push_back(arg_str(av[k]));
        op->script = script_retain(s);
        return true;
    }
    *err = "ERR Unsupported command within DAG";
    return false;
}

// ---- replies ----------------------------------------------------------------------------------
int reply_dag(RedisModuleCtx *ctx, DagJob *job) {
    if (job->timed_out) return RM_ReplyWithSimpleString(ctx, "TIMEDOUT");
    bool failed = false;
    for (size_t i = 0; i < job->ops.size(); i++) {
        DagOp &op = job->ops[i];
        RunStats *st = op.model ? op.model->stats.get() : op.script ? op.script->stats.get() : nullptr;
        if (st && op.ran) {
            // a forward call shared by a batch counts once, by the first of its requests to reply
            bool shared = job->call_counted && i == job->model_op;
            bool counts_call = !shared || !*job->call_counted;
            if (shared) *job->call_counted = true;
            if (counts_call) st->calls++;
            if (!op.err.empty()) st->errors++;
            else if (counts_call) st->duration_us += op.duration_us;
            if (op.model && op.err.empty()) st->samples += op.rows;  // as AI.MODELEXECUTE counts them
        }
        if (!op.err.empty()) failed = true;
    }
    if (!failed) {
        bool propagated = job->persist.empty() ? false : writes_propagated(ctx);
        for (auto &[name, key] : job->persist) {
            Tensor *t = job->tensors[name];
            if (!set_typed(ctx, key, TensorType, tensor_retain(t))) {
                tensor_release(t);
                return RM_ReplyWithError(ctx, kWrongType);
            }
            if (propagated) replicate_tensor(ctx, key, t);
        }
    }
    RM_ReplyWithArray(ctx, static_cast<long>(job->ops.size()));
    bool stopped = false;
    for (auto &op : job->ops) {
        if (stopped) {
            RM_ReplyWithSimpleString(ctx, "NA");
        } else if (!op.err.empty()) {
            RM_ReplyWithError(ctx, op.err.c_str());
            stopped = true;
        } else if (op.kind == OpKind::TENSORGET) {
            reply_tensor(ctx, op);
        } else {
            RM_ReplyWithSimpleString(ctx, "OK");
        }
    }
    return RM_OK;
}

DagJob *dag_of(void *privdata) { return static_cast<std::shared_ptr<DagJob> *>(privdata)->get(); }

int Dag_Reply(RedisModuleCtx *ctx, RedisModuleString **, int) {
    return reply_dag(ctx, dag_of(RM_GetBlockedClientPrivateData(ctx)));
}

void Dag_Free(RedisModuleCtx *, void *privdata) {
    auto *job = static_cast<std::shared_ptr<DagJob> *>(privdata);
    blocked_forget((*job)->bc);
    delete job;
}

int dag_command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc, bool ro) {
    if (RM_IsKeysPositionRequest(ctx)) {
        dag_keys(ctx, argv, argc, ro);
        return RM_OK;
    }
    if (in_transaction(ctx))
        return RM_ReplyWithError(ctx, "ERR Cannot run RedisAI command within a transaction or a LUA script");
    Parsed p;
    std::string err;
    if (!parse_dag(argv, argc, ro, &p, &err)) return RM_ReplyWithError(ctx, err.c_str());
    auto job = std::make_shared<DagJob>();
    std::set<std::string> known;
    for (int k : p.load) {
        KeyState st;
        Tensor *t = static_cast<Tensor *>(get_typed(ctx, argv[k], TensorType, &st));
        if (st == KeyState::Empty) return RM_ReplyWithError(ctx, "ERR tensor key is empty or in a different shard");
        if (st == KeyState::WrongType) return RM_ReplyWithError(ctx, kWrongType);
        std::string name = arg_str(argv[k]);
        job->set(name, tensor_retain(t));
        known.insert(name);
    }
    std::string device;
    job->ops.reserve(p.ops.size());
    for (auto [a, b] : p.ops) {
        job->ops.emplace_back();
        DagOp &op = job->ops.back();
        if (!parse_op(ctx, argv + a, b - a, ro, &op, &err)) return RM_ReplyWithError(ctx, err.c_str());
        if (op.kind == OpKind::TENSORGET && !known.count(op.name))
            return RM_ReplyWithError(ctx, "ERR INPUT key cannot be found in DAG");
        for (const auto &n : op.inputs)
            if (!known.count(n)) return RM_ReplyWithError(ctx, "ERR INPUT key cannot be found in DAG");
        if (op.kind == OpKind::TENSORSET) known.insert(op.name);
        for (const auto &n : op.outputs) known.insert(n);
        if (device.empty() && (op.model || op.script)) device = op.model ? op.model->device : op.script->device;
    }
    for (int k : p.persist) {
        std::string name = arg_str(argv[k]);
        if (!known.count(name)) return RM_ReplyWithError(ctx, "ERR PERSIST key cannot be found in DAG");
        if (!key_writable_as(ctx, argv[k], TensorType)) return RM_ReplyWithError(ctx, kWrongType);
        RM_RetainString(nullptr, argv[k]);
        job->persist.push_back({name, argv[k]});
    }
    if (device.empty()) {  // tensors only: nothing to run on a worker
        job->run();
        return reply_dag(ctx, job.get());
    }
    std::string queue = device_queue_name(device);
    if (!queue_available(queue, &err)) return RM_ReplyWithError(ctx, err.c_str());
    job->batchable();
    job->bc = RM_BlockClient(ctx, Dag_Reply, nullptr, Dag_Free, 0);
    if (!job->bc) return RM_ReplyWithError(ctx, "ERR could not block the client for execution");
    blocked_withdraw_on_disconnect(job->bc, job);
    queue_submit(queue, std::move(job), p.timeout);
    return RM_OK;
}

int DagExecute_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    return dag_command(ctx, argv, argc, false);
}
int DagExecuteRO_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    return dag_command(ctx, argv, argc, true);
}

}  // namespace

int register_dag_commands(RedisModuleCtx *ctx) {
    if (RM_CreateCommand(ctx, "ai.dagexecute", DagExecute_Command, "write deny-oom getkeys-api", 1, 1, 1) != RM_OK)
        return RM_ERR;
    if (RM_CreateCommand(ctx, "ai.dagexecute_ro", DagExecuteRO_Command, "readonly getkeys-api", 1, 1, 1) != RM_OK)
        return RM_ERR;
    return RM_OK;
}

}  // namespace eai
