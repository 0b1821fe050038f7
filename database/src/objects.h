// The three values this module keeps in the keyspace (tensor, model, script), shared by
// reference count between the keyspace and the worker threads.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "rm_api.h"

namespace eai {

// Most dimensions of a tensor: the one limit of AI.TENSORSET, of model and script outputs and
// of the RDB/RESTORE load, so that nothing stored is ever refused when it is loaded again.
constexpr size_t kMaxDims = 64;

enum class DType { FLOAT, DOUBLE, INT8, INT16, INT32, INT64, UINT8, UINT16, BOOL };

// Parses a dtype name (case-insensitive); returns false when it is not one we support.
bool dtype_from_name(const char *s, size_t len, DType *out);
const char *dtype_name(DType t);
size_t dtype_size(DType t);
bool dtype_is_float(DType t);

// A dense row-major tensor. The bytes live either in a retained client argument (no copy
// on AI.TENSORSET … BLOB) or in a buffer owned by the tensor.
struct Tensor {
    std::atomic<int> refs{1};
    DType dtype = DType::FLOAT;
    std::vector<int64_t> dims;
    RedisModuleString *held = nullptr;  // released with RM_FreeString
    char *owned = nullptr;              // released with RM_Free
    void *ext = nullptr;                // another owner of the bytes (a libtorch tensor) ...
    void (*ext_free)(void *) = nullptr; // ... and how to release it
    const char *data = nullptr;
    size_t nbytes = 0;

    size_t count() const;
};

// Creates a tensor that owns a buffer of the right size, zero-filled unless `zero` is false
// (nullptr if too large or with more than kMaxDims dimensions or a negative one).
Tensor *tensor_new_owned(DType t, const std::vector<int64_t> &dims, bool zero = true);
Tensor *tensor_retain(Tensor *t);
void tensor_release(Tensor *t);

// Run statistics of a model or script, reported by AI.INFO.
struct RunStats {
    std::string backend, device, tag;  // what AI.INFO reports besides the counters
    long long duration_us = 0;
    long long samples = 0;
    long long calls = 0;
    long long errors = 0;
};

enum class Backend { TF = 0, TFLITE = 1, TORCH = 2, ONNX = 3 };
bool backend_from_name(const char *s, size_t len, Backend *out);
const char *backend_name(Backend b);

struct TorchModel;   // defined by the torch backend
struct TorchScript;  // defined by the torch backend

struct Model {
    std::atomic<int> refs{1};
    Backend backend = Backend::TORCH;
    std::string device;  // as given by the client
    std::string tag;
    long long batchsize = 0, minbatchsize = 0, minbatchtimeout = 0;
    std::vector<std::string> inputs, outputs;
    std::string blob;             // the bytes the client stored
    TorchModel *torch = nullptr;  // compiled module, TORCH only
    std::string load_error;       // why torch is null for a TORCH model loaded from RDB
    std::string infokey;          // key under which the stats were registered
    std::shared_ptr<RunStats> stats;
};
Model *model_retain(Model *m);
// Checks the zip directory of a TorchScript archive before libtorch reads it: every entry's
// declared size must fit the archive (libtorch allocates what an entry declares). False, with
// the reason, for an archive that would make libtorch allocate more than it can hold.
bool torch_archive_sane(const std::string &blob, std::string *why);
void model_release(Model *m);

struct Script {
    std::atomic<int> refs{1};
    std::string device;
    std::string tag;
    std::string source;
    std::vector<std::string> entry_points;
    TorchScript *torch = nullptr;
    std::string load_error;
    std::string infokey;
    std::shared_ptr<RunStats> stats;
};
Script *script_retain(Script *s);
void script_release(Script *s);

// Stats registry keyed by the binary key name (AI.INFO). Thread-safe.
void stats_register(const std::string &key, const std::shared_ptr<RunStats> &st, bool is_model);
std::shared_ptr<RunStats> stats_lookup(const std::string &key, bool *is_model);
void stats_unregister(const std::string &key, const RunStats *st);

// Module data types; registered at load.
extern RedisModuleType *TensorType;
extern RedisModuleType *ModelType;
extern RedisModuleType *ScriptType;
// Registers the types, declares that their loaders handle I/O errors, and subscribes to the
// events that keep the stats registry and the start-up load consistent (RENAME, load end).
int register_types(RedisModuleCtx *ctx);

// Device strings: normalised queue name ("CPU", "GPU:0", …) or empty when invalid.
std::string device_queue_name(const std::string &dev);

}  // namespace eai
