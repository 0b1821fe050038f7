// Pieces of the execution commands that AI.DAGEXECUTE shares (cmd_exec.cpp).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "objects.h"
#include "worker_queue.h"

namespace eai {

// Whether the server propagates writes (an append-only file, replicas or a replication backlog):
// asked once per reply, before its outputs are replicated.
bool writes_propagated(RedisModuleCtx *ctx);
// Replicates a tensor written by a run as AI.TENSORSET key TYPE dims BLOB bytes.
void replicate_tensor(RedisModuleCtx *ctx, RedisModuleString *key, const Tensor *t);

// The sections of AI.SCRIPTEXECUTE key fn [KEYS n k…] [INPUTS n i…] [ARGS n a…] [OUTPUTS n o…]
// [TIMEOUT ms], as argument positions (argv[1] is the key, argv[2] the function).
struct ScriptExecArgs {
    std::vector<int> keys, inputs, args, outputs;
    long long timeout = 0;
};
// Parses the sections; on error sets *err and returns false.
bool parse_scriptexecute(RedisModuleString **argv, int argc, ScriptExecArgs *a, std::string *err);

// A client blocked on a queued request: if it disconnects before the request starts, the
// request is taken off the queue (expired, replying to no one) — a client-side timeout and a
// resend would otherwise leave it to run, and to take rows of a batch. Main thread only; the
// blocked client's free callback calls blocked_forget.
void blocked_withdraw_on_disconnect(RedisModuleBlockedClient *bc, const std::shared_ptr<QueueTask> &task);
void blocked_forget(RedisModuleBlockedClient *bc);

// A queued request that runs one model on inputs known when it is queued: AI.MODELEXECUTE, or an
// AI.DAGEXECUTE whose one model op takes tensors given before it (docs/database.md, "Batching").
// Requests for one model stored with BATCHSIZE > 0 batch together, whichever of the two
// commands sent them: their inputs merged along the first dimension into one forward call.
struct ModelRequest : QueueTask {
    // Set on the main thread before the request is queued; batch_model null: it runs alone.
    Model *batch_model = nullptr;         // a reference held by the request
    std::vector<Tensor *> batch_inputs;   // the forward's inputs (references held by the request)
    size_t batch_outputs = 0;             // the outputs it asks for

    // On the worker, for each request of a batch: before the merged forward call (a DAG's ops
    // before its model op)...
    virtual void batch_prepare() {}
    // ...and after it: this request's rows of every output (its own references now) or the
    // batch's error, the call's duration, and the flag that the batch's requests share so that
    // the call is counted once (AI.INFO calls and duration).
    virtual void batch_done(std::vector<Tensor *> outputs, const std::string &err, long long us,
                            const std::shared_ptr<bool> &counted) = 0;

    // Requests whose inputs agree in number, dtypes and every dimension but the first, asking
    // for as many outputs. A request whose inputs differ in their first dimension has no batch
    // dimension to merge along: it runs alone.
    const void *batch_group() const override;
    bool batch_fits(const QueueTask &other) const override;
    long long batch_rows() const override;
    long long batch_limit() const override;
    long long batch_min() const override;
    long long batch_wait_ms() const override;
    // One forward call on the merged inputs; each request gets its own rows of every output
    // (torch_model_run_batch).
    void run_batch(const std::vector<QueueTask *> &others) override;
};

}  // namespace eai
