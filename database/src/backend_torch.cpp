// TorchScript backend on libtorch (see backend_torch.h). This is the only file that includes
// torch headers, so the rest of the module builds quickly and stays independent of them.
#include "backend_torch.h"

#include <ATen/Parallel.h>
#include <c10/core/CPUAllocator.h>
#include <dlfcn.h>
#include <unistd.h>
#include <torch/cuda.h>
#include <torch/version.h>
#include <torch/jit.h>
#include <torch/script.h>
#include <caffe2/serialize/read_adapter_interface.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <sstream>

#include "config.h"
#include "trust.h"

namespace eai {

// A model or script is READY when built at store time. One read from RDB or RESTORE starts
// PENDING and is built by the first run that needs it (LOADING); a build that fails, or takes
// longer than MODEL_LOAD_TIMEOUT, leaves it FAILED with the reason, given to every later run.
enum class BuildState { READY, PENDING, LOADING, FAILED };

struct Deferred {
    std::mutex mu;
    std::condition_variable cv;
    BuildState state = BuildState::READY;
    const std::string *bytes = nullptr;  // the value's own copy of the blob or source
    std::string device;
    std::string error;
    std::chrono::steady_clock::time_point started;
};

struct TorchModel {
    torch::jit::Module module;
    c10::Device device{c10::kCPU};
    int num_inputs = -1;
    Deferred build;
};

struct TorchScript {
    std::shared_ptr<torch::jit::CompilationUnit> cu;
    c10::Device device{c10::kCPU};
    Deferred build;
};

namespace {

// A one-line summary of a libtorch message. Interpreter errors end with the Python-style
// "RuntimeError: …" line that says what went wrong; otherwise the lines are joined. At most
// 400 characters, so that replies stay short.
std::string summarize(const char *what) {
    std::string s(what ? what : "unknown error");
    std::vector<std::string> lines;
    size_t start = 0;
    while (start <= s.size()) {
        size_t nl = s.find('\n', start);
        std::string line = s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
        size_t a = line.find_first_not_of(" \t\r");
        size_t b = line.find_last_not_of(" \t\r");
        if (a != std::string::npos) lines.push_back(line.substr(a, b - a + 1));
        if (nl == std::string::npos) break;
        start = nl + 1;
    }
    std::string out;
    for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
        size_t colon = it->find("Error: ");
        if (colon != std::string::npos && colon < 40 && it->find(' ') > colon) {
            out = *it;
            break;
        }
    }
    if (out.empty()) {
        for (const auto &l : lines) {
            if (l.rfind("Traceback of TorchScript", 0) == 0) break;
            if (!out.empty()) out += ' ';
            out += l;
        }
    }
    if (out.empty()) out = "unknown libtorch error";
    if (out.size() > 400) out = out.substr(0, 397) + "...";
    return out;
}

std::string first_line(const char *what) { return summarize(what); }

// Torch message, without back-trace, as a single-line error text.
std::string torch_message(const c10::Error &e) { return summarize(e.what_without_backtrace()); }

bool parse_device(const std::string &dev, c10::Device *out, std::string *err) {
    std::string q = device_queue_name(dev);
    if (q.empty()) {
        *err = "ERR unsupported device";
        return false;
    }
    if (q.rfind("CPU", 0) == 0) {
        *out = c10::Device(c10::kCPU);
        return true;
    }
    int idx = 0;
    if (q.size() > 4) idx = std::atoi(q.c_str() + 4);
    bool have_cuda = false;
    try {
        have_cuda = torch::cuda::is_available();
    } catch (...) {
        have_cuda = false;
    }
    if (!have_cuda) {
        *err = "ERR GPU device " + q + " requested but torch sees no CUDA device (this torch build or machine has none)";
        return false;
    }
    if (idx >= static_cast<int>(torch::cuda::device_count())) {
        *err = "ERR GPU device " + q + " does not exist (torch sees " +
               std::to_string(torch::cuda::device_count()) + " CUDA devices)";
        return false;
    }
    *out = c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(idx));
    return true;
}

c10::ScalarType to_scalar(DType t) {
    switch (t) {
        case DType::FLOAT: return c10::kFloat;
        case DType::DOUBLE: return c10::kDouble;
        case DType::INT8: return c10::kChar;
        case DType::INT16: return c10::kShort;
        case DType::INT32: return c10::kInt;
        case DType::INT64: return c10::kLong;
        case DType::UINT8: return c10::kByte;
        case DType::UINT16: return c10::kUInt16;
        case DType::BOOL: return c10::kBool;
    }
    return c10::kFloat;
}

bool from_scalar(c10::ScalarType s, DType *out) {
    switch (s) {
        case c10::kFloat: *out = DType::FLOAT; return true;
        case c10::kDouble: *out = DType::DOUBLE; return true;
        case c10::kChar: *out = DType::INT8; return true;
        case c10::kShort: *out = DType::INT16; return true;
        case c10::kInt: *out = DType::INT32; return true;
        case c10::kLong: *out = DType::INT64; return true;
        case c10::kByte: *out = DType::UINT8; return true;
        case c10::kUInt16: *out = DType::UINT16; return true;
        case c10::kBool: *out = DType::BOOL; return true;
        default: return false;
    }
}

// Copies a keyspace tensor into a torch tensor on `device` (a copy, so that a model that
// works in place cannot change the stored value).
at::Tensor to_torch(const Tensor *t, const c10::Device &device) {
    auto opts = torch::TensorOptions().dtype(to_scalar(t->dtype));
    at::Tensor out = torch::empty(t->dims, opts);
    if (t->nbytes) std::memcpy(out.data_ptr(), t->data, t->nbytes);
    if (device.is_cuda()) out = out.to(device);
    return out;
}

// Hands `src` to a new keyspace tensor appended to outputs. `part_of_batch`: src is one
// request's rows of a batch's output, kept as a view of it (no copy; the batch's buffer lives
// until every request's part is freed).
bool from_torch(const at::Tensor &src, std::vector<Tensor *> *outputs, std::string *err, bool part_of_batch = false) {
    DType dt;
    if (!from_scalar(src.scalar_type(), &dt)) {
        *err = std::string("ERR model output has a dtype this database cannot store: ") +
               c10::toString(src.scalar_type());
        return false;
    }
    size_t nbytes = static_cast<size_t>(src.numel()) * src.element_size();
    if (g_config.model_output_limit > 0 && nbytes > static_cast<size_t>(g_config.model_output_limit)) {
        *err = "ERR output " + std::to_string(outputs->size()) + " is " + std::to_string(nbytes) +
               " bytes, more than MODEL_OUTPUT_LIMIT (" + std::to_string(g_config.model_output_limit) + " bytes)";
        return false;
    }
    at::Tensor c = src.to(c10::kCPU).contiguous();
    // The stored tensor keeps libtorch's buffer instead of a copy, unless the output is a small
    // view of a larger buffer, which it would keep alive.
    size_t storage = c.storage().nbytes();
    if (!part_of_batch && storage > nbytes + nbytes / 2 + 4096) c = c.clone();
    Tensor *t = new Tensor();
    t->dtype = dt;
    t->dims.assign(c.sizes().begin(), c.sizes().end());
    t->nbytes = nbytes;
    t->data = nbytes ? static_cast<const char *>(c.data_ptr()) : "";
    t->ext = new at::Tensor(std::move(c));
    t->ext_free = [](void *p) { delete static_cast<at::Tensor *>(p); };
    outputs->push_back(t);
    return true;
}

// Appends every tensor in an IValue (a tensor, or a tuple/list of them, nested) to out.
bool flatten_tensors(const c10::IValue &v, std::vector<at::Tensor> *out, std::string *err) {
    if (v.isTensor()) {
        out->push_back(v.toTensor());
        return true;
    }
    if (v.isTuple()) {
        for (const auto &e : v.toTupleRef().elements())
            if (!flatten_tensors(e, out, err)) return false;
        return true;
    }
    if (v.isTensorList()) {
        for (const at::Tensor &e : v.toTensorVector()) out->push_back(e);
        return true;
    }
    if (v.isList()) {
        for (const auto &e : v.toListRef())
            if (!flatten_tensors(e, out, err)) return false;
        return true;
    }
    *err = "ERR model or function returned something other than tensors";
    return false;
}

// Appends every tensor in an IValue to outputs, as keyspace tensors.
bool collect_outputs(const c10::IValue &v, std::vector<Tensor *> *outputs, std::string *err) {
    std::vector<at::Tensor> ts;
    if (!flatten_tensors(v, &ts, err)) return false;
    for (const at::Tensor &t : ts)
        if (!from_torch(t, outputs, err)) return false;
    return true;
}

void release_all(std::vector<Tensor *> *outputs, size_t from) {
    for (size_t i = from; i < outputs->size(); i++) tensor_release((*outputs)[i]);
    outputs->resize(from);
}

bool is_tensor_type(const c10::TypePtr &t) { return t->kind() == c10::TypeKind::TensorType; }
bool is_list_of(const c10::TypePtr &t, c10::TypeKind k) {
    return t->kind() == c10::TypeKind::ListType && t->containedTypes().size() == 1 &&
           t->containedTypes()[0]->kind() == k;
}

}  // namespace

namespace {
int g_intra_threads = 0;  // resolved at load: the configured value, or libtorch's default

// ---- CPU allocator ------------------------------------------------------------------------
// jemalloc (the allocator of Debian's redis-server, which replaces malloc in the whole
// process) serves requests above opt.oversize_threshold (8 MiB) from a "huge" arena that
// returns pages to the kernel on every free. libtorch allocates and frees activations of
// that size on every model run, so each run page-faults them in again: an MLP on 32³ points
// took 60 ms in the server against 7 ms in Python. Allocations from an explicitly created
// arena are never redirected to the huge arena, so libtorch's CPU allocator uses one.
using MallocxFn = void *(*)(size_t, int);
using DallocxFn = void (*)(void *, int);
using MallctlFn = int (*)(const char *, void *, size_t *, void *, size_t);
using SallocxFn = size_t (*)(const void *, int);
MallocxFn g_mallocx = nullptr;
DallocxFn g_dallocx = nullptr;
SallocxFn g_sallocx = nullptr;
// Bytes libtorch holds in the arena, and the most one allocation or all of them may take:
// jemalloc reserves address space without the kernel's overcommit check, so a request larger
// than the machine would otherwise succeed and be filled page by page until the OOM killer
// ends the server. One allocation is refused above the physical memory; all of them above
// BACKEND_MEMORY_LIMIT (MiB) when it is set.
std::atomic<long long> g_arena_bytes{0};
size_t g_alloc_cap = SIZE_MAX;
int g_alloc_flags = 0;
constexpr int kTcacheNone = 1 << 8;  // MALLOCX_TCACHE_NONE
constexpr int kLgAlign64 = 6;        // MALLOCX_LG_ALIGN(6): 64-byte alignment, as libtorch wants

void arena_free(void *p) {
    if (!p) return;
    g_arena_bytes -= static_cast<long long>(g_sallocx(p, 0));
    g_dallocx(p, kTcacheNone);
}

struct ArenaAllocator final : c10::Allocator {
    c10::DataPtr allocate(size_t n) override {
        size_t want = n ? n : 1;
        long long limit = g_config.backend_memory_limit << 20;
        TORCH_CHECK(want <= g_alloc_cap, "libtorch allocation of ", want,
                    " bytes refused: more than the physical memory of this machine");
        TORCH_CHECK(limit <= 0 || g_arena_bytes.load() + static_cast<long long>(want) <= limit,
                    "libtorch allocation of ", want, " bytes refused: libtorch would hold more than BACKEND_MEMORY_LIMIT (",
                    g_config.backend_memory_limit, " MiB)");
        void *p = g_mallocx(want, g_alloc_flags);
        TORCH_CHECK(p, "libtorch allocation of ", want, " bytes failed: out of memory");
        g_arena_bytes += static_cast<long long>(g_sallocx(p, 0));
        return {p, p, &arena_free, c10::Device(c10::kCPU)};
    }
    c10::DeleterFnPtr raw_deleter() const override { return &arena_free; }
    void copy_data(void *dest, const void *src, std::size_t count) const override {
        if (count) std::memcpy(dest, src, count);
    }
};

ArenaAllocator g_arena_allocator;
}  // namespace

std::string torch_install_allocator() {
    auto mallctl = reinterpret_cast<MallctlFn>(dlsym(RTLD_DEFAULT, "mallctl"));
    g_mallocx = reinterpret_cast<MallocxFn>(dlsym(RTLD_DEFAULT, "mallocx"));
    g_dallocx = reinterpret_cast<DallocxFn>(dlsym(RTLD_DEFAULT, "dallocx"));
    g_sallocx = reinterpret_cast<SallocxFn>(dlsym(RTLD_DEFAULT, "sallocx"));
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0) g_alloc_cap = static_cast<size_t>(pages) * static_cast<size_t>(page);
    if (!mallctl || !g_mallocx || !g_dallocx || !g_sallocx) return "allocator: not jemalloc, libtorch keeps its default CPU allocator";
    unsigned arena = 0;
    size_t len = sizeof(arena);
    if (mallctl("arenas.create", &arena, &len, nullptr, 0) != 0)
        return "allocator: jemalloc refused to create an arena, libtorch keeps its default CPU allocator";
    g_alloc_flags = ((static_cast<int>(arena) + 1) << 20) | kTcacheNone | kLgAlign64;  // MALLOCX_ARENA(arena)
    try {
        c10::SetCPUAllocator(&g_arena_allocator, /*priority=*/100);
    } catch (...) {
        return "allocator: could not install the arena allocator";
    }
    return "allocator: libtorch CPU tensors use jemalloc arena " + std::to_string(arena);
}

void torch_configure_threads(long long intra_op, long long inter_op, long long workers) {
    try {
        if (inter_op > 0) at::set_num_interop_threads(static_cast<int>(inter_op));
    } catch (...) {
    }
    try {
        int share = at::get_num_threads() / static_cast<int>(workers > 0 ? workers : 1);
        g_intra_threads = intra_op > 0 ? static_cast<int>(intra_op) : (share > 0 ? share : 1);
        at::set_num_threads(g_intra_threads);
    } catch (...) {
    }
}

void torch_install_trust(bool trusted) { trust_install(trusted); }

void torch_worker_thread_init() {
    try {
        if (g_intra_threads > 0) at::set_num_threads(g_intra_threads);
    } catch (...) {
    }
}

long long torch_arena_bytes() { return g_arena_bytes.load(); }

namespace {
std::atomic<long long> g_batches_in_parts{0};
}  // namespace

long long torch_batches_in_parts() { return g_batches_in_parts.load(); }

std::string torch_version_string() {
    return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
           std::to_string(TORCH_VERSION_PATCH);
}

bool torch_device_usable(const std::string &device, std::string *err) {
    c10::Device d(c10::kCPU);
    return parse_device(device, &d, err);
}

namespace {

bool load_into(TorchModel *m, const std::string &blob, std::string *err) {
    try {
        if (!trust_check_archive(blob, err)) return false;
        m->module = torch::jit::load(bytes_reader(blob), m->device);
        if (!trust_check_module(m->module, err)) return false;
        m->module.eval();
        auto fwd = m->module.find_method("forward");
        if (!fwd) {
            *err = "ERR TorchScript model has no forward method";
            return false;
        }
        const auto &args = fwd->function().getSchema().arguments();
        int n = 0;
        bool fixed = true;
        for (size_t i = 1; i < args.size(); i++) {  // argument 0 is self
            if (!is_tensor_type(args[i].type()) || args[i].default_value()) fixed = false;
            n++;
        }
        m->num_inputs = fixed ? n : -1;
    } catch (const c10::Error &e) {
        *err = "ERR could not load the TorchScript model: " + torch_message(e);
        return false;
    } catch (const std::exception &e) {
        *err = "ERR could not load the TorchScript model: " + first_line(e.what());
        return false;
    } catch (...) {
        *err = "ERR could not load the TorchScript model";
        return false;
    }
    return true;
}

bool compile_into(TorchScript *s, const std::string &source, std::string *err) {
    try {
        if (!source_nesting_ok(source.data(), source.size(), err)) return false;
        s->cu = torch::jit::compile(source);
        if (!s->cu || s->cu->get_functions().empty()) {
            *err = "ERR script defines no function";
            return false;
        }
        if (!trust_check_unit(*s->cu, err)) return false;
    } catch (const c10::Error &e) {
        *err = "ERR could not compile the TorchScript source: " + torch_message(e);
        return false;
    } catch (const std::exception &e) {
        *err = "ERR could not compile the TorchScript source: " + first_line(e.what());
        return false;
    } catch (...) {
        *err = "ERR could not compile the TorchScript source";
        return false;
    }
    return true;
}

// Builds a deferred value once; concurrent runs wait for the first one, at most until
// MODEL_LOAD_TIMEOUT after it started. `build` runs without the lock.
template <typename Build>
bool ensure_built(Deferred *d, const char *what, Build build, std::string *err) {
    using Clock = std::chrono::steady_clock;
    auto limit = std::chrono::milliseconds(g_config.model_load_timeout);
    auto too_slow = [&] {
        return std::string("ERR ") + what + " could not be loaded: loading took longer than MODEL_LOAD_TIMEOUT (" +
               std::to_string(g_config.model_load_timeout) + " ms)";
    };
    std::unique_lock<std::mutex> lk(d->mu);
    for (;;) {
        switch (d->state) {
            case BuildState::READY: return true;
            case BuildState::FAILED: *err = d->error; return false;
            case BuildState::PENDING: {
                d->state = BuildState::LOADING;
                d->started = Clock::now();
                lk.unlock();
                std::string e;
                bool ok = build(&e);
                lk.lock();
                if (d->state == BuildState::LOADING) {  // not given up by a waiter meanwhile
                    if (ok && Clock::now() - d->started > limit) {
                        ok = false;
                        e = too_slow();
                    }
                    if (!ok) {
                        std::string prefix = std::string("ERR ") + what + " could not be loaded: ";
                        d->error = e.rfind(prefix, 0) == 0 ? e : prefix + (e.rfind("ERR ", 0) == 0 ? e.substr(4) : e);
                    }
                    d->state = ok ? BuildState::READY : BuildState::FAILED;
                }
                d->cv.notify_all();
                continue;
            }
            case BuildState::LOADING:
                if (d->cv.wait_until(lk, d->started + limit) == std::cv_status::timeout &&
                    d->state == BuildState::LOADING) {
                    d->state = BuildState::FAILED;
                    d->error = too_slow();
                }
                continue;
        }
    }
}

}  // namespace

TorchModel *torch_model_load(const std::string &blob, const std::string &device, std::string *err) {
    auto m = std::make_unique<TorchModel>();
    if (!parse_device(device, &m->device, err)) return nullptr;
    if (!load_into(m.get(), blob, err)) return nullptr;
    return m.release();
}

TorchModel *torch_model_deferred(const std::string *blob, const std::string &device) {
    auto m = std::make_unique<TorchModel>();
    m->build.state = BuildState::PENDING;
    m->build.bytes = blob;
    m->build.device = device;
    return m.release();
}

void torch_model_free(TorchModel *m) {
    try {
        delete m;
    } catch (...) {
    }
}

int torch_model_num_inputs(const TorchModel *m) {
    if (!m) return -1;
    std::lock_guard<std::mutex> lk(const_cast<TorchModel *>(m)->build.mu);
    return m->build.state == BuildState::READY ? m->num_inputs : -1;
}

bool torch_model_run(TorchModel *m, const std::vector<Tensor *> &inputs,
                     std::vector<Tensor *> *outputs, std::string *err) {
    size_t start = outputs->size();
    auto build = [m](std::string *e) {
        return parse_device(m->build.device, &m->device, e) && load_into(m, *m->build.bytes, e);
    };
    if (!ensure_built(&m->build, "model", build, err)) return false;
    try {
        c10::InferenceMode guard;
        std::vector<c10::IValue> args;
        args.reserve(inputs.size());
        for (Tensor *t : inputs) args.emplace_back(to_torch(t, m->device));
        c10::IValue out = m->module.forward(std::move(args));
        if (!collect_outputs(out, outputs, err)) {
            release_all(outputs, start);
            return false;
        }
    } catch (const c10::Error &e) {
        release_all(outputs, start);
        *err = "ERR " + torch_message(e);
        return false;
    } catch (const std::exception &e) {
        release_all(outputs, start);
        *err = "ERR " + first_line(e.what());
        return false;
    } catch (...) {
        release_all(outputs, start);
        *err = "ERR model execution failed";
        return false;
    }
    return true;
}

// MKL's thread count of the calling thread (weak: a libtorch without MKL has none).
// MKL_Set_Num_Threads_Local is what mkl_service.h's mkl_set_num_threads_local stands for (the
// lower-case symbol is the Fortran one, which takes its argument by reference).
extern "C" int MKL_Set_Num_Threads_Local(int) __attribute__((weak));
// The OpenMP runtime libtorch runs its intra-op threads on (weak: a libtorch without OpenMP).
extern "C" void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags)
    __attribute__((weak));

namespace {

// Runs forward() once on requests [from, to) merged along the first dimension (the inputs copied
// once, into the merged tensors) and gives each of them its own rows of every output, as views
// of the part's output (no copy). On error sets *err and leaves those requests' outputs empty.
bool run_part(TorchModel *m, const std::vector<const std::vector<Tensor *> *> &requests, size_t from, size_t to,
              const std::vector<int64_t> &rows, std::vector<std::vector<Tensor *>> *outputs, std::string *err,
              bool one_thread = false) {
    // A part of a batch runs on its intra-op thread alone. libtorch's own loops see that they
    // are inside a parallel region; MKL would still plan its products for every intra-op thread
    // and then carry out that plan on this one thread, unless told this thread's count, which
    // is put back after (docs/database.md, "Batching"). OpenMP's own count is left alone: set
    // inside the region, it would stay with the worker thread after it.
    int mkl_before = 0;
    if (one_thread) {
        // libtorch's first-time set-up of a thread (on the first call into it from a new OpenMP
        // thread) sets MKL's count to the intra-op threads: it runs now, not after the call below
        (void)at::get_num_threads();
        if (MKL_Set_Num_Threads_Local) mkl_before = MKL_Set_Num_Threads_Local(1);
    }
    struct MklRestore {
        bool on;
        int before;
        ~MklRestore() {
            if (on && MKL_Set_Num_Threads_Local) MKL_Set_Num_Threads_Local(before);
        }
    } mkl_restore{one_thread, mkl_before};
    int64_t total = 0;
    for (size_t j = from; j < to; j++) total += rows[j];
    auto fail = [&](std::string msg) {
        for (size_t j = from; j < to; j++) release_all(&(*outputs)[j], 0);
        *err = std::move(msg);
        return false;
    };
    try {
        c10::InferenceMode guard;  // thread-local: also on the intra-op threads of a split batch
        std::vector<c10::IValue> args;
        for (size_t k = 0; k < requests[from]->size(); k++) {
            if (to - from == 1) {  // one request: its inputs as a run of it alone copies them
                args.emplace_back(to_torch((*requests[from])[k], m->device));
                continue;
            }
            const Tensor *first = (*requests[from])[k];
            std::vector<int64_t> dims = first->dims;
            dims[0] = total;
            at::Tensor merged = torch::empty(dims, torch::TensorOptions().dtype(to_scalar(first->dtype)));
            char *at = static_cast<char *>(merged.data_ptr());
            for (size_t j = from; j < to; j++) {
                const Tensor *t = (*requests[j])[k];
                if (t->nbytes) std::memcpy(at, t->data, t->nbytes);
                at += t->nbytes;
            }
            if (m->device.is_cuda()) merged = merged.to(m->device);
            args.emplace_back(std::move(merged));
        }
        c10::IValue out = m->module.forward(std::move(args));
        std::vector<at::Tensor> outs;
        std::string e;
        if (!flatten_tensors(out, &outs, &e)) return fail(e);
        for (size_t o = 0; o < outs.size(); o++) {
            if (outs[o].dim() == 0 || outs[o].size(0) != total)
                return fail("ERR the model's output " + std::to_string(o) + " does not have the batch's " +
                            std::to_string(total) +
                            " rows along its first dimension, so it cannot be split among the batched requests");
        }
        for (const at::Tensor &t : outs) {
            if (to - from == 1) {  // the whole output is the request's, as for a run of it alone
                if (!from_torch(t, &(*outputs)[from], &e)) return fail(e);
                continue;
            }
            at::Tensor c = t.to(c10::kCPU).contiguous();
            // as from_torch: not a small view of a larger buffer, which every part would keep
            size_t nbytes = static_cast<size_t>(c.numel()) * c.element_size();
            if (c.storage().nbytes() > nbytes + nbytes / 2 + 4096) c = c.clone();
            int64_t at = 0;
            for (size_t j = from; j < to; j++) {
                if (!from_torch(c.narrow(0, at, rows[j]), &(*outputs)[j], &e, true)) return fail(e);
                at += rows[j];
            }
        }
    } catch (const c10::Error &e) {
        return fail("ERR " + torch_message(e));
    } catch (const std::exception &e) {
        return fail("ERR " + first_line(e.what()));
    } catch (...) {
        return fail("ERR model execution failed");
    }
    return true;
}

}  // namespace

int torch_batch_parts(const std::vector<int64_t> &rows, int threads, std::vector<size_t> *bounds) {
    int64_t total = 0;
    for (int64_t r : rows) total += r;
    size_t n = rows.size();
    auto whole = [&]() {
        bounds->assign({0, n});
        return 1;
    };
    // one part per intra-op thread or none: with fewer parts than threads, a part's thread
    // would leave the others idle where the merged call uses them all
    if (threads < 2 || n < static_cast<size_t>(threads) || total / kSplitMinRows < threads) return whole();
    auto parts = static_cast<size_t>(threads);
    // contiguous runs of requests, each boundary where the rows so far come nearest to that
    // part's share, as long as every part gets a request
    std::vector<int64_t> before(n + 1, 0);  // before[j]: the rows of requests [0, j)
    for (size_t j = 0; j < n; j++) before[j + 1] = before[j] + rows[j];
    bounds->assign(1, 0);
    for (size_t made = 1; made < parts; made++) {
        // the share's end, times parts (exact in integers)
        int64_t target = total * static_cast<int64_t>(made);
        auto off = [&](size_t c) {
            int64_t d = before[c] * static_cast<int64_t>(parts) - target;
            return d < 0 ? -d : d;
        };
        size_t best = bounds->back() + 1, last = n - (parts - made);
        for (size_t c = best + 1; c <= last; c++)
            if (off(c) < off(best)) best = c;
        bounds->push_back(best);
    }
    bounds->push_back(n);
    // a part much larger than its share would run on one thread longer than the merged call
    // on all of them takes: such a batch runs at once
    int64_t largest = 0;
    for (size_t k = 0; k + 1 < bounds->size(); k++)
        largest = std::max(largest, before[(*bounds)[k + 1]] - before[(*bounds)[k]]);
    if (largest * static_cast<int64_t>(parts) * 4 > total * 5) return whole();
    return static_cast<int>(parts);
}

bool torch_model_run_batch(TorchModel *m, const std::vector<const std::vector<Tensor *> *> &requests,
                           std::vector<std::vector<Tensor *>> *outputs, std::string *err) {
    auto build = [m](std::string *e) {
        return parse_device(m->build.device, &m->device, e) && load_into(m, *m->build.bytes, e);
    };
    outputs->assign(requests.size(), {});
    if (!ensure_built(&m->build, "model", build, err)) return false;
    std::vector<int64_t> rows;
    for (const auto *r : requests) rows.push_back((*r)[0]->dims[0]);
    // every input of a request must have that request's rows (the merged tensors are sized so)
    for (size_t i = 0; i < requests.size(); i++)
        for (const Tensor *t : *requests[i])
            if (t->dims.empty() || t->dims[0] != rows[i]) {
                *err = "batched inputs of one request differ in their first dimension";
                return false;
            }
    // On the CPU, a batch runs in parts, one per intra-op thread, side by side (each part's
    // operations then run on its own thread): a batched model computes each request's rows
    // from that request's rows alone, whatever else is in its batch.
    std::vector<size_t> bounds;
    // (without libtorch's OpenMP runtime to run them on, the parts would run one after the
    // other: the batch runs at once)
    int parts = torch_batch_parts(rows, m->device.is_cuda() || !GOMP_parallel ? 1 : at::get_num_threads(), &bounds);
    std::vector<std::string> errs(static_cast<size_t>(parts));
    if (parts == 1) {
        run_part(m, requests, 0, requests.size(), rows, outputs, &errs[0]);
    } else {
        g_batches_in_parts++;
        // The parts go to the intra-op threads through libtorch's OpenMP runtime (this file is
        // not compiled with OpenMP, so at::parallel_for would run them one after the other):
        // each thread of the team takes the next part until none is left.
        struct Job {
            TorchModel *m;
            const std::vector<const std::vector<Tensor *> *> *requests;
            const std::vector<size_t> *bounds;
            const std::vector<int64_t> *rows;
            std::vector<std::vector<Tensor *>> *outputs;
            std::vector<std::string> *errs;
            int parts;
            std::atomic<int> next{0};
            std::atomic<bool> failed{false};
        } job{m, &requests, &bounds, &rows, outputs, &errs, parts};
        auto body = [](void *arg) {
            auto *j = static_cast<Job *>(arg);
            // nothing may leave an OpenMP region (it would end the server): run_part catches what
            // libtorch throws, and this what would be left (an allocation in the loop itself)
            try {
                for (int p; (p = j->next.fetch_add(1)) < j->parts;) {
                    auto k = static_cast<size_t>(p);
                    run_part(j->m, *j->requests, (*j->bounds)[k], (*j->bounds)[k + 1], *j->rows, j->outputs,
                             &(*j->errs)[k], true);
                }
            } catch (...) {
                // the parts not run keep empty outputs and no error: flag the batch as failed
                j->failed.store(true);
            }
        };
        // the team has the worker's intra-op threads (a count of 0: GOMP's default, as libtorch's
        // own regions ask, so that its thread pool is not resized)
        GOMP_parallel(body, &job, 0, 0);
        if (job.failed.load() && errs[0].empty()) errs[0] = "ERR model execution failed";
    }
    for (const std::string &e : errs) {
        if (e.empty()) continue;
        // one batch: a part that failed fails every request of it
        for (auto &outs : *outputs) release_all(&outs, 0);
        *err = e;
        return false;
    }
    return true;
}

TorchScript *torch_script_compile(const std::string &source, const std::string &device,
                                  std::string *err) {
    auto s = std::make_unique<TorchScript>();
    if (!parse_device(device, &s->device, err)) return nullptr;
    if (!compile_into(s.get(), source, err)) return nullptr;
    return s.release();
}

TorchScript *torch_script_deferred(const std::string *source, const std::string &device) {
    auto s = std::make_unique<TorchScript>();
    s->build.state = BuildState::PENDING;
    s->build.bytes = source;
    s->build.device = device;
    return s.release();
}

void torch_script_free(TorchScript *s) {
    try {
        delete s;
    } catch (...) {
    }
}

bool torch_script_has_function(const TorchScript *s, const std::string &fn) {
    if (!s) return false;
    {
        std::lock_guard<std::mutex> lk(const_cast<TorchScript *>(s)->build.mu);
        if (s->build.state != BuildState::READY) return true;  // checked by the run
    }
    if (!s->cu) return false;
    try {
        return s->cu->find_function(c10::QualifiedName(fn)) != nullptr;
    } catch (...) {
        return false;
    }
}

bool torch_script_run(TorchScript *s, const std::string &fn, const std::vector<Tensor *> &inputs,
                      const std::vector<std::string> &keys, const std::vector<std::string> &args,
                      std::vector<Tensor *> *outputs, std::string *err) {
    size_t start = outputs->size();
    auto build = [s](std::string *e) {
        return parse_device(s->build.device, &s->device, e) && compile_into(s, *s->build.bytes, e);
    };
    if (!ensure_built(&s->build, "script", build, err)) return false;
    try {
        torch::jit::Function *f = s->cu->find_function(c10::QualifiedName(fn));
        if (!f) {
            *err = "Function does not exist: " + fn;
            return false;
        }
        c10::InferenceMode guard;
        const auto &schema_args = f->getSchema().arguments();
        torch::jit::Stack stack;
        bool entry_style = schema_args.size() == 3 &&
                           is_list_of(schema_args[0].type(), c10::TypeKind::TensorType) &&
                           is_list_of(schema_args[1].type(), c10::TypeKind::StringType) &&
                           is_list_of(schema_args[2].type(), c10::TypeKind::StringType);
        if (entry_style) {
            c10::List<at::Tensor> ts;
            for (Tensor *t : inputs) ts.push_back(to_torch(t, s->device));
            c10::List<std::string> ks, as;
            for (const auto &k : keys) ks.push_back(k);
            for (const auto &a : args) as.push_back(a);
            stack.emplace_back(ts);
            stack.emplace_back(ks);
            stack.emplace_back(as);
        } else {
            size_t next = 0;
            for (size_t i = 0; i < schema_args.size(); i++) {
                const auto &ty = schema_args[i].type();
                if (is_tensor_type(ty)) {
                    if (next >= inputs.size()) {
                        *err = "Wrong number of inputs provided to function: " + fn;
                        return false;
                    }
                    stack.emplace_back(to_torch(inputs[next++], s->device));
                } else if (is_list_of(ty, c10::TypeKind::TensorType) && i + 1 == schema_args.size()) {
                    c10::List<at::Tensor> rest;
                    while (next < inputs.size()) rest.push_back(to_torch(inputs[next++], s->device));
                    stack.emplace_back(rest);
                } else {
                    *err = "Unsupported input type in function definition: " + fn;
                    return false;
                }
            }
        }
        c10::IValue out = (*f)(std::move(stack));
        if (!collect_outputs(out, outputs, err)) {
            release_all(outputs, start);
            return false;
        }
    } catch (const c10::Error &e) {
        release_all(outputs, start);
        *err = "ERR " + torch_message(e);
        return false;
    } catch (const std::exception &e) {
        release_all(outputs, start);
        *err = "ERR " + first_line(e.what());
        return false;
    } catch (...) {
        release_all(outputs, start);
        *err = "ERR script execution failed";
        return false;
    }
    return true;
}

}  // namespace eai
