// The TorchScript backend: loads traced or scripted modules and compiles script sources with
// the libtorch of the installed torch wheel. Every function catches the C++ exceptions of
// libtorch and reports them through `err`; none of them throws.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "objects.h"

namespace eai {

// Sets intra-op and inter-op thread counts. intra_op 0 shares libtorch's default (the
// number of cores) among the `workers` threads of a queue, so that concurrent runs do not
// oversubscribe the cores; inter_op 0 keeps libtorch's default.
void torch_configure_threads(long long intra_op, long long inter_op, long long workers);
std::string torch_version_string();
// Gives libtorch's CPU tensors their own jemalloc arena when the server runs on jemalloc
// (Debian's redis-server does); returns a line for the log. See backend_torch.cpp.
std::string torch_install_allocator();
// Bytes of CPU memory libtorch holds through that arena (0 without jemalloc), for INFO.
long long torch_arena_bytes();
// Called once at the start of every worker thread: applies the intra-op thread count to the
// thread (OpenMP keeps it per thread).
void torch_worker_thread_init();
// Installs the trust model (trust.h) once, at module load.
void torch_install_trust(bool trusted);
// Checks that a device string can run here (CPU always; GPU only when CUDA is visible).
bool torch_device_usable(const std::string &device, std::string *err);

// Loads a model now, after the trust checks (trust.h); call on a worker thread with a large
// stack (worker_queue.h), never on Redis's main thread: __setstate__ runs TorchScript.
TorchModel *torch_model_load(const std::string &blob, const std::string &device, std::string *err);
// A model whose bytes are loaded (with the same checks) by the first torch_model_run, on a
// worker: used for values read from RDB and RESTORE, which the main thread must not load.
// `blob` must outlive the model (it is the Model's own copy of the bytes).
TorchModel *torch_model_deferred(const std::string *blob, const std::string &device);
void torch_model_free(TorchModel *m);
// Number of Tensor arguments of forward(), or -1 when the schema does not fix it or the model
// is not loaded yet.
int torch_model_num_inputs(const TorchModel *m);
// Runs forward() on the inputs (loading a deferred model first); on success appends one new
// tensor per output. Outputs keep libtorch's buffer (no copy); one larger than
// MODEL_OUTPUT_LIMIT, or an allocation that fails, is an error.
bool torch_model_run(TorchModel *m, const std::vector<Tensor *> &inputs,
                     std::vector<Tensor *> *outputs, std::string *err);

// A batch on the CPU runs in parts side by side, one per intra-op thread (docs/database.md,
// "Batching"), when it has kSplitMinRows rows or more per intra-op thread and a request for each:
// contiguous runs of its requests, each boundary where the rows so far come nearest to that
// part's share. Smaller batches run at once (smaller parts were not measured; on an Intel Xeon
// whose OpenMP threads sleep at once, two parts of 1024 rows of the learned SGS network took
// 0.28 ms against 0.31-0.34 ms for the merged call of 2048 rows, and with a brief spin before
// sleeping both took 0.27-0.30 ms; on an AMD EPYC they were no slower: docs/benchmarks.md);
// so does a batch whose largest part would have more than 1.25 times its share (its thread
// would take longer than the merged call).
// Writes the parts' first requests and the end to *bounds (parts + 1 entries) and returns the
// number of parts.
constexpr int64_t kSplitMinRows = 1024;
int torch_batch_parts(const std::vector<int64_t> &rows, int threads, std::vector<size_t> *bounds);
// Batches run in parts since load (INFO: batches_in_parts).
long long torch_batches_in_parts();

// Runs a batch of several requests (requests[j] are request j's inputs; all requests have as
// many, of the same dtypes and the same dimensions but the first): forward() once on their inputs
// concatenated along the first dimension, or once per part (torch_batch_parts) on each part's,
// the parts on the intra-op threads side by side; gives each request its own rows of every
// output in (*outputs)[j]. The inputs are copied once, into the merged tensors (as torch_model_run copies
// a single request's); the outputs are not copied: each request's part is a view of the batch's
// output, whose buffer lives until the last part is freed. An output without the batch's rows
// along its first dimension is an error (for every request).
bool torch_model_run_batch(TorchModel *m, const std::vector<const std::vector<Tensor *> *> &requests,
                           std::vector<std::vector<Tensor *>> *outputs, std::string *err);

// Compiles a script after the nesting check and walks its graphs (trust.h); call on a worker.
TorchScript *torch_script_compile(const std::string &source, const std::string &device,
                                  std::string *err);
// A script compiled by its first run (see torch_model_deferred).
TorchScript *torch_script_deferred(const std::string *source, const std::string &device);
void torch_script_free(TorchScript *s);
// True when the script defines `fn`, or is not compiled yet (its run then checks).
bool torch_script_has_function(const TorchScript *s, const std::string &fn);
// Runs function `fn`. Functions of the form f(List[Tensor], List[str], List[str]) receive
// (inputs, keys, args); others receive the inputs positionally, a trailing List[Tensor]
// argument taking the rest.
bool torch_script_run(TorchScript *s, const std::string &fn, const std::vector<Tensor *> &inputs,
                      const std::vector<std::string> &keys, const std::vector<std::string> &args,
                      std::vector<Tensor *> *outputs, std::string *err);

}  // namespace eai
