// Tensor, model and script values: life cycle, stats registry, and the Redis data types
// (RDB save/load in RedisAI's v4 layout, AOF rewrite, memory usage, free).
#include "objects.h"

#include <strings.h>

#include <cstdio>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "backend_torch.h"
#include "config.h"
#include "worker_queue.h"

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

Tensor *tensor_new_owned(DType t, const std::vector<int64_t> &dims, bool zero) {
    if (dims.size() > kMaxDims) return nullptr;
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
    if (n && zero) memset(x->owned, 0, n);
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
// The last release of a model or script frees its bytes and libtorch's module on the release
// thread: for a large model that is milliseconds of returning pages, which the main thread (a
// DEL, a MODELSTORE over the key) or a worker holding the module lock would otherwise spend.
void model_release(Model *m) {
    if (!m || m->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    release_later([m] {
        if (m->torch) torch_model_free(m->torch);
        delete m;
    });
}
Script *script_retain(Script *s) {
    s->refs.fetch_add(1, std::memory_order_relaxed);
    return s;
}
void script_release(Script *s) {
    if (!s || s->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    release_later([s] {
        if (s->torch) torch_script_free(s->torch);
        delete s;
    });
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

// ---- model archives ----
namespace {
uint64_t le(const std::string &b, size_t off, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | static_cast<unsigned char>(b[off + i]);
    return v;
}

struct Crc32Table {
    uint32_t t[256];
    Crc32Table() {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
    }
};

uint32_t crc32(const char *p, size_t n) {
    static const Crc32Table tab;  // initialised once, thread-safely
    const uint32_t *table = tab.t;
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) c = table[(c ^ static_cast<unsigned char>(p[i])) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}
}  // namespace

// libtorch sizes the buffer of every record of a TorchScript archive (a zip file) from the
// uncompressed size its central directory declares, before it reads the record: a damaged or
// crafted archive of a few kB can make it allocate and touch gigabytes. This checks every
// entry's declared sizes against the archive itself (stored: equal to the compressed size;
// deflated: at most deflate's 1032:1 ratio), and the CRC-32 of every stored entry (libtorch
// does not check them, and its unpickler sizes strings from the pickled lengths), before
// libtorch sees the bytes.
bool torch_archive_sane(const std::string &b, std::string *why) {
    const size_t n = b.size();
    if (n < 22) return true;  // not a zip: libtorch refuses it with its own message
    size_t eocd = std::string::npos;
    size_t lo = n > 22 + 65535 ? n - 22 - 65535 : 0;
    for (size_t i = n - 22 + 1; i-- > lo;) {
        if (le(b, i, 4) == 0x06054b50) {
            eocd = i;
            break;
        }
    }
    if (eocd == std::string::npos) return true;
    uint64_t entries = le(b, eocd + 10, 2), cd_size = le(b, eocd + 12, 4), cd_off = le(b, eocd + 16, 4);
    if (entries == 0xFFFF || cd_size == 0xFFFFFFFF || cd_off == 0xFFFFFFFF) {  // zip64 locator
        if (eocd < 20 || le(b, eocd - 20, 4) != 0x07064b50) return (*why = "damaged zip64 directory", false);
        uint64_t z = le(b, eocd - 20 + 8, 8);
        if (z > n - 56 || le(b, z, 4) != 0x06064b50) return (*why = "damaged zip64 directory", false);
        entries = le(b, z + 32, 8);
        cd_size = le(b, z + 40, 8);
        cd_off = le(b, z + 48, 8);
    }
    if (cd_off > n || cd_size > n - cd_off) return (*why = "central directory outside the archive", false);
    size_t p = static_cast<size_t>(cd_off), end = static_cast<size_t>(cd_off + cd_size);
    for (uint64_t e = 0; e < entries; e++) {
        if (p + 46 > end || le(b, p, 4) != 0x02014b50) return (*why = "damaged central directory", false);
        uint64_t method = le(b, p + 10, 2), comp = le(b, p + 20, 4), uncomp = le(b, p + 24, 4);
        uint64_t off = le(b, p + 42, 4);
        size_t name = le(b, p + 28, 2), extra = le(b, p + 30, 2), comment = le(b, p + 32, 2);
        if (p + 46 + name + extra + comment > end) return (*why = "damaged central directory", false);
        size_t x = p + 46 + name, xend = x + extra;
        while (x + 4 <= xend) {  // zip64 extra field: the 64-bit values of the fields set to ~0
            size_t id = le(b, x, 2), len = le(b, x + 2, 2), q = x + 4;
            if (q + len > xend) break;
            if (id == 1) {
                if (uncomp == 0xFFFFFFFF && q + 8 <= x + 4 + len) uncomp = le(b, q, 8), q += 8;
                if (comp == 0xFFFFFFFF && q + 8 <= x + 4 + len) comp = le(b, q, 8), q += 8;
                if (off == 0xFFFFFFFF && q + 8 <= x + 4 + len) off = le(b, q, 8), q += 8;
            }
            x += 4 + len;
        }
        bool ok = comp <= n && off <= n &&
                  ((method == 0 && uncomp == comp) || (method == 8 && uncomp <= comp * 1032 + 1024));
        if (!ok) {
            *why = "archive entry " + std::to_string(e) + " declares " + std::to_string(uncomp) + " bytes from " +
                   std::to_string(comp) + " (method " + std::to_string(method) + ")";
            return false;
        }
        if (method == 0) {  // stored: the data follows the local header; check its CRC-32
            if (off > n - 30 || le(b, off, 4) != 0x04034b50) return (*why = "damaged local header", false);
            uint64_t data = off + 30 + le(b, off + 26, 2) + le(b, off + 28, 2);
            if (data > n || comp > n - data) return (*why = "archive entry outside the archive", false);
            if (crc32(b.data() + data, comp) != static_cast<uint32_t>(le(b, p + 16, 4))) {
                *why = "archive entry " + std::to_string(e) + " fails its CRC-32 check";
                return false;
            }
        }
        p += 46 + name + extra + comment;
    }
    return true;
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

// Printable form of a key for the log (binary bytes as \xNN, at most 200 characters).
std::string printable(const std::string &k) {
    std::string out;
    for (unsigned char c : k) {
        if (out.size() >= 200) return out + "...";
        if (c >= 32 && c < 127 && c != '\\') {
            out += static_cast<char>(c);
        } else {
            char b[5];
            snprintf(b, sizeof b, "\\x%02x", c);
            out += b;
        }
    }
    return out;
}

// ---- values refused at load ----
// A value whose bytes were all read but whose contents are invalid (a crafted or damaged RDB
// or RESTORE payload). RESTORE gets an error: the loader returns null. At start-up a null would
// make Redis stop loading the whole file, so the key gets an empty placeholder instead, and
// the placeholders are deleted, each with a warning in the log, when loading ends.
struct Dropped {
    int db;
    std::string key;
    void *value;
};
std::vector<Dropped> g_dropped;  // main thread only (loading and its end event)

bool loading_at_startup(RedisModuleIO *io) {
    RedisModuleCtx *c = RM_GetContextFromIO(io);
    return c && (RM_GetContextFlags(c) & RM_CTX_FLAGS_LOADING);
}

// Returns what the loader should return for a refused value; `make` builds the placeholder.
template <typename Make>
void *refuse(RedisModuleIO *io, const char *what, const std::string &why, Make make) {
    std::string key = key_of(io);
    RedisModuleCtx *c = RM_GetContextFromIO(io);
    if (!loading_at_startup(io)) {
        RM_Log(c, "warning", "refused to load %s '%s': %s", what, printable(key).c_str(), why.c_str());
        return nullptr;
    }
    RM_Log(c, "warning", "%s '%s' cannot be loaded (%s); the key is dropped when loading ends, the rest of the data loads",
           what, printable(key).c_str(), why.c_str());
    void *v = make();
    g_dropped.push_back(Dropped{RM_GetDbIdFromIO(io), key, v});
    return v;
}

// A read failed (truncated or corrupt stream). Nothing after it can be trusted, so the loader
// returns null: RESTORE replies with an error, a start-up load stops with Redis's own message
// instead of a panic (the module declares that it handles I/O errors).
void *io_failed(RedisModuleIO *io, const char *what) {
    RM_Log(RM_GetContextFromIO(io), "warning", "short read or corrupt data while loading %s '%s'", what,
           printable(key_of(io)).c_str());
    return nullptr;
}

void *placeholder_tensor() {
    Tensor *t = new Tensor();
    t->dims = {0};
    return t;
}
void *placeholder_model() {
    Model *m = new Model();
    m->backend = Backend::TF;  // never run: the key is deleted before clients are served
    m->stats = nullptr;
    return m;
}
void *placeholder_script() { return new Script(); }

// Deletes the placeholders of refused values once a load has ended.
void on_loading(RedisModuleCtx *ctx, RedisModuleEvent, uint64_t subevent, void *) {
    if (subevent != RM_SUBEVENT_LOADING_ENDED && subevent != RM_SUBEVENT_LOADING_FAILED) return;
    std::vector<Dropped> todo;
    todo.swap(g_dropped);
    for (const auto &d : todo) {
        if (RM_SelectDb(ctx, d.db) != RM_OK) continue;
        RedisModuleString *k = RM_CreateString(ctx, d.key.data(), d.key.size());
        RedisModuleKey *key = static_cast<RedisModuleKey *>(RM_OpenKey(ctx, k, RM_READ | RM_WRITE));
        if (key && RM_KeyType(key) == RM_KEYTYPE_MODULE && RM_ModuleTypeGetValue(key) == d.value) {
            RM_DeleteKey(key);
            RM_Log(ctx, "warning", "dropped key '%s' (db %d): its value could not be loaded", printable(d.key).c_str(), d.db);
        }
        if (key) RM_CloseKey(key);
        RM_FreeString(ctx, k);
    }
    RM_SelectDb(ctx, 0);
}

// Statistics follow RENAME: the value now lives under the new name.
int on_keyspace(RedisModuleCtx *ctx, int, const char *event, RedisModuleString *keyname) {
    if (strcmp(event, "rename_to") != 0) return RM_OK;
    RedisModuleKey *key = static_cast<RedisModuleKey *>(RM_OpenKey(ctx, keyname, RM_READ));
    if (!key) return RM_OK;
    if (RM_KeyType(key) == RM_KEYTYPE_MODULE) {
        RedisModuleType *type = RM_ModuleTypeGetType(key);
        size_t len = 0;
        const char *p = RM_StringPtrLen(keyname, &len);
        std::string name(p, len);
        if (type == ModelType) {
            Model *m = static_cast<Model *>(RM_ModuleTypeGetValue(key));
            if (m->stats) {
                stats_unregister(m->infokey, m->stats.get());
                m->infokey = name;
                stats_register(name, m->stats, true);
            }
        } else if (type == ScriptType) {
            Script *s = static_cast<Script *>(RM_ModuleTypeGetValue(key));
            if (s->stats) {
                stats_unregister(s->infokey, s->stats.get());
                s->infokey = name;
                stats_register(name, s->stats, false);
            }
        }
    }
    RM_CloseKey(key);
    return RM_OK;
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
// Every field is read as the layout says before anything is judged, so that a refused value
// leaves the stream at the start of the next one; counts never size an allocation.
void *tensor_rdb_load(RedisModuleIO *io, int encver) {
    if (encver != kEncVer) return io_failed(io, "tensor (unknown encoding version)");
    uint64_t code = RM_LoadUnsigned(io);
    uint64_t bits = RM_LoadUnsigned(io);
    int64_t ndims = RM_LoadSigned(io);
    if (RM_IsIOError(io)) return io_failed(io, "tensor");
    std::vector<int64_t> dims;
    bool negative = false;
    for (int64_t i = 0; i < ndims; i++) {
        int64_t d = RM_LoadSigned(io);
        if (RM_IsIOError(io)) return io_failed(io, "tensor");
        if (d < 0) negative = true;
        if (dims.size() <= kMaxDims) dims.push_back(d);
    }
    size_t len = 0;
    char *p = RM_LoadStringBuffer(io, &len);
    if (RM_IsIOError(io) || !p) return io_failed(io, "tensor");
    std::string why;
    DType dt = DType::FLOAT;
    bool found = false;
    for (const auto &d : kDTypes) {
        if (d.dl_code == code && d.size * 8 == bits) {
            dt = d.t;
            found = true;
            break;
        }
    }
    size_t expect = found ? dtype_size(dt) : 0;
    if (!found) {
        why = "unknown dtype (code " + std::to_string(code) + ", " + std::to_string(bits) + " bits)";
    } else if (ndims < 0 || static_cast<uint64_t>(ndims) > kMaxDims) {
        why = std::to_string(ndims) + " dimensions (0 to " + std::to_string(kMaxDims) + " allowed)";
    } else if (negative) {
        why = "a negative dimension";
    } else {
        for (int64_t d : dims) {
            if (d != 0 && expect > SIZE_MAX / static_cast<size_t>(d)) {
                why = "the shape overflows";
                break;
            }
            expect *= static_cast<size_t>(d);
        }
        if (why.empty() && expect != len)
            why = "data length " + std::to_string(len) + " does not match the shape and dtype (" +
                  std::to_string(expect) + " bytes)";
    }
    if (!why.empty()) {
        RM_Free(p);
        return refuse(io, "tensor", why, placeholder_tensor);
    }
    Tensor *t = new Tensor();
    t->dtype = dt;
    t->dims = dims;
    t->owned = p;
    t->data = p;
    t->nbytes = len;
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
    if (encver != kEncVer) return io_failed(io, "model (unknown encoding version)");
    auto m = std::make_unique<Model>();
    uint64_t be = RM_LoadUnsigned(io);
    if (RM_IsIOError(io)) return io_failed(io, "model");
    if (!load_cstr(io, &m->device) || !load_raw(io, &m->tag)) return io_failed(io, "model");
    uint64_t batch = RM_LoadUnsigned(io);
    uint64_t minbatch = RM_LoadUnsigned(io);
    uint64_t minbatchtimeout = RM_LoadUnsigned(io);
    uint64_t nin = RM_LoadUnsigned(io);
    if (RM_IsIOError(io)) return io_failed(io, "model");
    for (uint64_t i = 0; i < nin; i++) {
        std::string s;
        if (!load_cstr(io, &s)) return io_failed(io, "model");
        m->inputs.push_back(s);
    }
    uint64_t nout = RM_LoadUnsigned(io);
    if (RM_IsIOError(io)) return io_failed(io, "model");
    for (uint64_t i = 0; i < nout; i++) {
        std::string s;
        if (!load_cstr(io, &s)) return io_failed(io, "model");
        m->outputs.push_back(s);
    }
    uint64_t total = RM_LoadUnsigned(io);
    uint64_t nchunks = RM_LoadUnsigned(io);
    if (RM_IsIOError(io)) return io_failed(io, "model");
    // The chunks are kept as read and joined once their lengths add up to `total`: the
    // declared total never sizes an allocation (a crafted 2^62 would abort the server).
    std::vector<std::string> chunks;
    uint64_t sum = 0;
    bool too_long = false;
    for (uint64_t i = 0; i < nchunks; i++) {
        std::string c;
        if (!load_raw(io, &c)) return io_failed(io, "model");
        sum += c.size();
        if (sum > total) too_long = true;
        if (!too_long) chunks.push_back(std::move(c));
    }
    std::string why;
    if (be > 3) why = "unknown backend " + std::to_string(be);
    else if (device_queue_name(m->device).empty()) why = "unsupported device '" + printable(m->device) + "'";
    else if (batch > INT64_MAX || minbatch > INT64_MAX || minbatchtimeout > INT64_MAX) why = "batch settings out of range";
    else if (too_long || sum != total)
        why = "the chunks hold " + std::to_string(sum) + " bytes, not the declared " + std::to_string(total);
    if (!why.empty()) return refuse(io, "model", why, placeholder_model);
    m->backend = static_cast<Backend>(be);
    m->batchsize = static_cast<long long>(batch);
    m->minbatchsize = static_cast<long long>(minbatch);
    m->minbatchtimeout = static_cast<long long>(minbatchtimeout);
    if (chunks.size() == 1) {
        m->blob = std::move(chunks[0]);
    } else {
        m->blob.reserve(sum);
        for (auto &c : chunks) m->blob += c;
    }
    if (m->backend == Backend::TORCH) {
        // The archive's directory is checked here; libtorch reads it later, on a worker, at
        // the first run that uses the model.
        std::string why;
        if (torch_archive_sane(m->blob, &why))
            m->torch = torch_model_deferred(&m->blob, m->device);
        else
            m->load_error = "the model is not a valid TorchScript archive: " + why;
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

// MEMORY USAGE of a model: the stored bytes plus, for a loaded TorchScript module, an
// estimate of libtorch's copy of it (its parameters and code, about the size of the
// serialised file). Neither lives in Redis's allocator (see docs/database.md, Memory).
size_t model_mem_usage(const void *value) {
    const Model *m = static_cast<const Model *>(value);
    size_t names = m->device.size() + m->tag.size();
    for (const auto &s : m->inputs) names += s.size();
    for (const auto &s : m->outputs) names += s.size();
    return sizeof(Model) + m->blob.size() + (m->torch ? m->blob.size() : 0) + names;
}

void model_free(void *value) {
    Model *m = static_cast<Model *>(value);
    if (m->stats) stats_unregister(m->infokey, m->stats.get());
    model_release(m);
}

// ---- script type ----
void *script_rdb_load(RedisModuleIO *io, int encver) {
    if (encver != kEncVer) return io_failed(io, "script (unknown encoding version)");
    auto s = std::make_unique<Script>();
    if (!load_cstr(io, &s->device) || !load_raw(io, &s->tag) || !load_cstr(io, &s->source))
        return io_failed(io, "script");
    uint64_t n = RM_LoadUnsigned(io);
    if (RM_IsIOError(io)) return io_failed(io, "script");
    for (uint64_t i = 0; i < n; i++) {
        std::string e;
        if (!load_cstr(io, &e)) return io_failed(io, "script");
        s->entry_points.push_back(e);
    }
    if (device_queue_name(s->device).empty())
        return refuse(io, "script", "unsupported device '" + printable(s->device) + "'", placeholder_script);
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

// MEMORY USAGE of a script: its source plus an estimate of the compiled functions (three
// times the source: libtorch's graphs of small functions measure 2-4 times their text).
size_t script_mem_usage(const void *value) {
    const Script *s = static_cast<const Script *>(value);
    size_t names = s->device.size() + s->tag.size();
    for (const auto &e : s->entry_points) names += e.size();
    return sizeof(Script) + s->source.size() * 4 + names;
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
    if (!TensorType || !ModelType || !ScriptType) return RM_ERR;
    // Loaders check RM_IsIOError after every read: a short or corrupt RESTORE payload or RDB
    // value is refused instead of making Redis panic.
    RM_SetModuleOptions(ctx, RM_OPTIONS_HANDLE_IO_ERRORS);
    if (RM_SubscribeToKeyspaceEvents(ctx, RM_NOTIFY_GENERIC, on_keyspace) != RM_OK) return RM_ERR;
    RedisModuleEvent loading = {RM_EVENT_LOADING, 1};
    if (RM_SubscribeToServerEvent(ctx, loading, on_loading) != RM_OK) return RM_ERR;
    return RM_OK;
}

}  // namespace eai
