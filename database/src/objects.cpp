// Tensor, model and script values: life cycle, stats registry, and the Redis data types
// (RDB save/load in RedisAI's v4 layout, AOF rewrite, memory usage, free).
#include "objects.h"

#include <strings.h>

#include <cstring>
#include <mutex>
#include <unordered_map>

#include "backend_torch.h"
#include "config.h"

namespace eai {

RedisModuleType *TensorType = nullptr;
RedisModuleType *ModelType = nullptr;
RedisModuleType *ScriptType = nullptr;

namespace {
struct DTypeInfo {
    DType t;
    const char *name;
    size_t size;
    uint64_t dl_code;  // DLPack type code: 0 int, 1 uint, 2 float, 6 bool
};
const DTypeInfo kDTypes[] = {
    {DType::FLOAT, "FLOAT", 4, 2},  {DType::DOUBLE, "DOUBLE", 8, 2}, {DType::INT8, "INT8", 1, 0},
    {DType::INT16, "INT16", 2, 0},  {DType::INT32, "INT32", 4, 0},   {DType::INT64, "INT64", 8, 0},
    {DType::UINT8, "UINT8", 1, 1},  {DType::UINT16, "UINT16", 2, 1}, {DType::BOOL, "BOOL", 1, 6},
};
const DTypeInfo &info(DType t) { return kDTypes[static_cast<int>(t)]; }
}  // namespace

bool dtype_from_name(const char *s, size_t len, DType *out) {
    for (const auto &d : kDTypes) {
        if (strlen(d.name) == len && strncasecmp(d.name, s, len) == 0) {
            *out = d.t;
            return true;
        }
    }
    return false;
}
const char *dtype_name(DType t) { return info(t).name; }
size_t dtype_size(DType t) { return info(t).size; }
bool dtype_is_float(DType t) { return t == DType::FLOAT || t == DType::DOUBLE; }

size_t Tensor::count() const {
    size_t n = 1;
    for (int64_t d : dims) n *= static_cast<size_t>(d);
    return n;
}

Tensor *tensor_new_owned(DType t, const std::vector<int64_t> &dims) {
    size_t n = dtype_size(t);
    for (int64_t d : dims) {
        if (d < 0) return nullptr;
        if (d != 0 && n > (SIZE_MAX / 2) / static_cast<size_t>(d)) return nullptr;
        n *= static_cast<size_t>(d);
    }
    Tensor *x = new Tensor();
    x->dtype = t;
    x->dims = dims;
    x->nbytes = n;
    x->owned = static_cast<char *>(RM_Alloc(n ? n : 1));
    if (n) memset(x->owned, 0, n);
    x->data = x->owned;
    return x;
}

Tensor *tensor_retain(Tensor *t) {
    t->refs.fetch_add(1, std::memory_order_relaxed);
    return t;
}

void tensor_release(Tensor *t) {
    if (!t || t->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    if (t->held) RM_FreeString(nullptr, t->held);
    if (t->owned) RM_Free(t->owned);
    if (t->ext_free) t->ext_free(t->ext);
    delete t;
}

Model *model_retain(Model *m) {
    m->refs.fetch_add(1, std::memory_order_relaxed);
    return m;
}
void model_release(Model *m) {
    if (!m || m->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    if (m->torch) torch_model_free(m->torch);
    delete m;
}
Script *script_retain(Script *s) {
    s->refs.fetch_add(1, std::memory_order_relaxed);
    return s;
}
void script_release(Script *s) {
    if (!s || s->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    if (s->torch) torch_script_free(s->torch);
    delete s;
}

static const struct {
    Backend b;
    const char *name;
} kBackends[] = {{Backend::TF, "TF"}, {Backend::TFLITE, "TFLITE"}, {Backend::TORCH, "TORCH"}, {Backend::ONNX, "ONNX"}};

bool backend_from_name(const char *s, size_t len, Backend *out) {
    for (const auto &b : kBackends) {
        if (strlen(b.name) == len && strncasecmp(b.name, s, len) == 0) {
            *out = b.b;
            return true;
        }
    }
    return false;
}
const char *backend_name(Backend b) { return kBackends[static_cast<int>(b)].name; }

std::string device_queue_name(const std::string &dev) {
    if (dev.size() < 3 || dev.size() >= 10) return "";
    std::string up;
    for (char c : dev) up += static_cast<char>((c >= 'a' && c <= 'z') ? c - 32 : c);
    if (up.compare(0, 3, "CPU") != 0 && up.compare(0, 3, "GPU") != 0) return "";
    if (up.size() == 3) return up;
    if (up[3] != ':' || up.size() == 4) return "";
    for (size_t i = 4; i < up.size(); i++)
        if (up[i] < '0' || up[i] > '9') return "";
    return up;
}

// ---- stats registry ----------------------------------------------------------------------
namespace {
struct StatsEntry {
    std::shared_ptr<RunStats> st;
    bool is_model;
};
std::mutex g_stats_mu;
std::unordered_map<std::string, StatsEntry> g_stats;
}  // namespace

void stats_register(const std::string &key, const std::shared_ptr<RunStats> &st, bool is_model) {
    std::lock_guard<std::mutex> lk(g_stats_mu);
    g_stats[key] = StatsEntry{st, is_model};
}
std::shared_ptr<RunStats> stats_lookup(const std::string &key, bool *is_model) {
    std::lock_guard<std::mutex> lk(g_stats_mu);
    auto it = g_stats.find(key);
    if (it == g_stats.end()) return nullptr;
    if (is_model) *is_model = it->second.is_model;
    return it->second.st;
}
void stats_unregister(const std::string &key, const RunStats *st) {
    std::lock_guard<std::mutex> lk(g_stats_mu);
    auto it = g_stats.find(key);
    if (it != g_stats.end() && it->second.st.get() == st) g_stats.erase(it);
}

// ---- RDB helpers -------------------------------------------------------------------------
namespace {
constexpr int kEncVer = 4;

// Loads a string buffer; strips one trailing NUL (RedisAI stores C strings with theirs).
bool load_cstr(RedisModuleIO *io, std::string *out) {
    size_t len = 0;
    char *p = RM_LoadStringBuffer(io, &len);
    if (RM_IsIOError(io) || !p) return false;
    if (len && p[len - 1] == '\0') len--;
    out->assign(p, len);
    RM_Free(p);
    return true;
}
bool load_raw(RedisModuleIO *io, std::string *out) {
    size_t len = 0;
    char *p = RM_LoadStringBuffer(io, &len);
    if (RM_IsIOError(io) || !p) return false;
    out->assign(p, len);
    RM_Free(p);
    return true;
}
void save_cstr(RedisModuleIO *io, const std::string &s) {
    std::string tmp = s;
    tmp.push_back('\0');
    RM_SaveStringBuffer(io, tmp.data(), tmp.size());
}

std::string key_of(RedisModuleIO *io) {
    const RedisModuleString *k = RM_GetKeyNameFromIO(io);
    if (!k) return std::string();
    size_t len = 0;
    const char *p = RM_StringPtrLen(k, &len);
    return std::string(p, len);
}

// Builds RedisModuleStrings for an AOF command.
struct ArgList {
    std::vector<RedisModuleString *> v;
    void add(const std::string &s) { v.push_back(RM_CreateString(nullptr, s.data(), s.size())); }
    void add(const char *p, size_t n) { v.push_back(RM_CreateString(nullptr, p, n)); }
    void add(long long x) { add(std::to_string(x)); }
    ~ArgList() {
        for (auto *s : v) RM_FreeString(nullptr, s);
    }
};

// ---- tensor type ----
void *tensor_rdb_load(RedisModuleIO *io, int encver) {
    if (encver != kEncVer) return nullptr;
    uint64_t code = RM_LoadUnsigned(io);
    uint64_t bits = RM_LoadUnsigned(io);
    int64_t ndims = RM_LoadSigned(io);
    if (RM_IsIOError(io) || ndims < 0 || ndims > 64) return nullptr;
    std::vector<int64_t> dims;
    for (int64_t i = 0; i < ndims; i++) dims.push_back(RM_LoadSigned(io));
    if (RM_IsIOError(io)) return nullptr;
    DType dt = DType::FLOAT;
    bool found = false;
    for (const auto &d : kDTypes) {
        if (d.dl_code == code && d.size * 8 == bits) {
            dt = d.t;
            found = true;
            break;
        }
    }
    if (!found) return nullptr;
    size_t len = 0;
    char *p = RM_LoadStringBuffer(io, &len);
    if (RM_IsIOError(io) || !p) return nullptr;
    Tensor *t = new Tensor();
    t->dtype = dt;
    t->dims = dims;
    t->owned = p;
    t->data = p;
    t->nbytes = len;
    if (t->count() * dtype_size(dt) != len) {
        tensor_release(t);
        return nullptr;
    }
    return t;
}

void tensor_rdb_save(RedisModuleIO *io, void *value) {
    Tensor *t = static_cast<Tensor *>(value);
    RM_SaveUnsigned(io, info(t->dtype).dl_code);
    RM_SaveUnsigned(io, info(t->dtype).size * 8);
    RM_SaveSigned(io, static_cast<int64_t>(t->dims.size()));
    for (int64_t d : t->dims) RM_SaveSigned(io, d);
    RM_SaveStringBuffer(io, t->data ? t->data : "", t->nbytes);
}

void tensor_aof_rewrite(RedisModuleIO *aof, RedisModuleString *key, void *value) {
    Tensor *t = static_cast<Tensor *>(value);
    ArgList a;
    a.v.push_back(key);
    a.add(std::string(dtype_name(t->dtype)));
    for (int64_t d : t->dims) a.add(static_cast<long long>(d));
    a.add("BLOB");
    a.add(t->data ? t->data : "", t->nbytes);
    RM_EmitAOF(aof, "AI.TENSORSET", "v", a.v.data() , a.v.size());
    a.v.erase(a.v.begin());  // the key is not ours to free
}

size_t tensor_mem_usage(const void *value) {
    const Tensor *t = static_cast<const Tensor *>(value);
    return sizeof(Tensor) + t->dims.size() * sizeof(int64_t) + t->nbytes;
}

void tensor_free(void *value) { tensor_release(static_cast<Tensor *>(value)); }

// ---- model type ----
void *model_rdb_load(RedisModuleIO *io, int encver) {
    if (encver != kEncVer) return nullptr;
    auto m = std::make_unique<Model>();
    uint64_t be = RM_LoadUnsigned(io);
    if (RM_IsIOError(io) || be > 3) return nullptr;
    m->backend = static_cast<Backend>(be);
    if (!load_cstr(io, &m->device) || !load_raw(io, &m->tag)) return nullptr;
    m->batchsize = static_cast<long long>(RM_LoadUnsigned(io));
    m->minbatchsize = static_cast<long long>(RM_LoadUnsigned(io));
    m->minbatchtimeout = static_cast<long long>(RM_LoadUnsigned(io));
    uint64_t nin = RM_LoadUnsigned(io);
    if (RM_IsIOError(io) || nin > 1000000) return nullptr;
    for (uint64_t i = 0; i < nin; i++) {
        std::string s;
        if (!load_cstr(io, &s)) return nullptr;
        m->inputs.push_back(s);
    }
    uint64_t nout = RM_LoadUnsigned(io);
    if (RM_IsIOError(io) || nout > 1000000) return nullptr;
    for (uint64_t i = 0; i < nout; i++) {
        std::string s;
        if (!load_cstr(io, &s)) return nullptr;
        m->outputs.push_back(s);
    }
    uint64_t total = RM_LoadUnsigned(io);
    uint64_t nchunks = RM_LoadUnsigned(io);
    if (RM_IsIOError(io)) return nullptr;
    m->blob.reserve(total);
    for (uint64_t i = 0; i < nchunks; i++) {
        std::string c;
        if (!load_raw(io, &c)) return nullptr;
        m->blob += c;
    }
    if (m->blob.size() != total) return nullptr;
    if (m->backend == Backend::TORCH) {
        m->torch = torch_model_deferred(&m->blob, m->device);  // loaded by a worker on first use
    }
    m->stats = std::make_shared<RunStats>();
    m->stats->backend = backend_name(m->backend);
    m->stats->device = m->device;
    m->stats->tag = m->tag;
    m->infokey = key_of(io);
    stats_register(m->infokey, m->stats, true);
    return m.release();
}

void model_rdb_save(RedisModuleIO *io, void *value) {
    Model *m = static_cast<Model *>(value);
    RM_SaveUnsigned(io, static_cast<uint64_t>(m->backend));
    save_cstr(io, m->device);
    RM_SaveStringBuffer(io, m->tag.data(), m->tag.size());
    RM_SaveUnsigned(io, static_cast<uint64_t>(m->batchsize));
    RM_SaveUnsigned(io, static_cast<uint64_t>(m->minbatchsize));
    RM_SaveUnsigned(io, static_cast<uint64_t>(m->minbatchtimeout));
    RM_SaveUnsigned(io, m->inputs.size());
    for (const auto &s : m->inputs) save_cstr(io, s);
    RM_SaveUnsigned(io, m->outputs.size());
    for (const auto &s : m->outputs) save_cstr(io, s);
    size_t chunk = static_cast<size_t>(g_config.model_chunk_size);
    size_t len = m->blob.size();
    size_t nchunks = len / chunk + 1;
    RM_SaveUnsigned(io, len);
    RM_SaveUnsigned(io, nchunks);
    for (size_t i = 0; i < nchunks; i++) {
        size_t off = i * chunk;
        size_t n = (i + 1 == nchunks) ? len - off : chunk;
        RM_SaveStringBuffer(io, m->blob.data() + off, n);
    }
}

void model_aof_rewrite(RedisModuleIO *aof, RedisModuleString *key, void *value) {
    Model *m = static_cast<Model *>(value);
    ArgList a;
    a.v.push_back(key);
    a.add(std::string(backend_name(m->backend)));
    a.add(m->device);
    a.add("TAG");
    a.add(m->tag);
    if (m->batchsize > 0) {
        a.add("BATCHSIZE");
        a.add(m->batchsize);
        if (m->minbatchsize > 0) {
            a.add("MINBATCHSIZE");
            a.add(m->minbatchsize);
            if (m->minbatchtimeout > 0) {
                a.add("MINBATCHTIMEOUT");
                a.add(m->minbatchtimeout);
            }
        }
    }
    if (m->backend == Backend::TF) {
        a.add("INPUTS");
        a.add(static_cast<long long>(m->inputs.size()));
        for (const auto &s : m->inputs) a.add(s);
        a.add("OUTPUTS");
        a.add(static_cast<long long>(m->outputs.size()));
        for (const auto &s : m->outputs) a.add(s);
    }
    a.add("BLOB");
    a.add(m->blob);
    RM_EmitAOF(aof, "AI.MODELSTORE", "v", a.v.data(), a.v.size());
    a.v.erase(a.v.begin());
}

size_t model_mem_usage(const void *value) {
    const Model *m = static_cast<const Model *>(value);
    return sizeof(Model) + m->blob.size() + m->device.size() + m->tag.size();
}

void model_free(void *value) {
    Model *m = static_cast<Model *>(value);
    if (m->stats) stats_unregister(m->infokey, m->stats.get());
    model_release(m);
}

// ---- script type ----
void *script_rdb_load(RedisModuleIO *io, int encver) {
    if (encver != kEncVer) return nullptr;
    auto s = std::make_unique<Script>();
    if (!load_cstr(io, &s->device) || !load_raw(io, &s->tag) || !load_cstr(io, &s->source))
        return nullptr;
    uint64_t n = RM_LoadUnsigned(io);
    if (RM_IsIOError(io) || n > 1000000) return nullptr;
    for (uint64_t i = 0; i < n; i++) {
        std::string e;
        if (!load_cstr(io, &e)) return nullptr;
        s->entry_points.push_back(e);
    }
    s->torch = torch_script_deferred(&s->source, s->device);  // compiled by a worker on first use
    s->stats = std::make_shared<RunStats>();
    s->stats->backend = "TORCH";
    s->stats->device = s->device;
    s->stats->tag = s->tag;
    s->infokey = key_of(io);
    stats_register(s->infokey, s->stats, false);
    return s.release();
}

void script_rdb_save(RedisModuleIO *io, void *value) {
    Script *s = static_cast<Script *>(value);
    save_cstr(io, s->device);
    RM_SaveStringBuffer(io, s->tag.data(), s->tag.size());
    save_cstr(io, s->source);
    RM_SaveUnsigned(io, s->entry_points.size());
    for (const auto &e : s->entry_points) save_cstr(io, e);
}

void script_aof_rewrite(RedisModuleIO *aof, RedisModuleString *key, void *value) {
    Script *s = static_cast<Script *>(value);
    ArgList a;
    a.v.push_back(key);
    a.add(s->device);
    a.add("TAG");
    a.add(s->tag);
    if (!s->entry_points.empty()) {
        a.add("ENTRY_POINTS");
        a.add(static_cast<long long>(s->entry_points.size()));
        for (const auto &e : s->entry_points) a.add(e);
    }
    a.add("SOURCE");
    a.add(s->source);
    RM_EmitAOF(aof, s->entry_points.empty() ? "AI.SCRIPTSET" : "AI.SCRIPTSTORE", "v", a.v.data(),
               a.v.size());
    a.v.erase(a.v.begin());
}

size_t script_mem_usage(const void *value) {
    const Script *s = static_cast<const Script *>(value);
    return sizeof(Script) + s->source.size() * 4 + s->device.size() + s->tag.size();
}

void script_free(void *value) {
    Script *s = static_cast<Script *>(value);
    if (s->stats) stats_unregister(s->infokey, s->stats.get());
    script_release(s);
}
}  // namespace

int register_types(RedisModuleCtx *ctx) {
    RedisModuleTypeMethods tm;
    memset(&tm, 0, sizeof(tm));
    tm.version = 1;
    tm.rdb_load = tensor_rdb_load;
    tm.rdb_save = tensor_rdb_save;
    tm.aof_rewrite = tensor_aof_rewrite;
    tm.mem_usage = tensor_mem_usage;
    tm.free = tensor_free;
    TensorType = RM_CreateDataType(ctx, "AI_TENSOR", kEncVer, &tm);
    tm.rdb_load = model_rdb_load;
    tm.rdb_save = model_rdb_save;
    tm.aof_rewrite = model_aof_rewrite;
    tm.mem_usage = model_mem_usage;
    tm.free = model_free;
    ModelType = RM_CreateDataType(ctx, "AI__MODEL", kEncVer, &tm);
    tm.rdb_load = script_rdb_load;
    tm.rdb_save = script_rdb_save;
    tm.aof_rewrite = script_aof_rewrite;
    tm.mem_usage = script_mem_usage;
    tm.free = script_free;
    ScriptType = RM_CreateDataType(ctx, "AI_SCRIPT", kEncVer, &tm);
    return (TensorType && ModelType && ScriptType) ? RM_OK : RM_ERR;
}

}  // namespace eai
