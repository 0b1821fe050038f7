// AI.TENSORSET and AI.TENSORGET (docs/protocol.md §3.1, §4.1).
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "cmd_util.h"

namespace eai {

namespace {

// NaN is a value like any other: VALUES accepts "nan" (any case, optional sign) as BLOB
// accepts its bytes; Redis's own number parser refuses it.
bool is_nan_word(RedisModuleString *s) {
    size_t len = 0;
    const char *p = RM_StringPtrLen(s, &len);
    if (len == 4 && (p[0] == '+' || p[0] == '-')) {
        p++;
        len--;
    }
    return len == 3 && strncasecmp(p, "nan", 3) == 0;
}

template <typename T>
bool store_int(long long v, char *dst) {
    if (v < static_cast<long long>(std::numeric_limits<T>::min()) ||
        v > static_cast<long long>(std::numeric_limits<T>::max()))
        return false;
    T x = static_cast<T>(v);
    memcpy(dst, &x, sizeof(T));
    return true;
}

}  // namespace

// Parses one VALUES element into dst; false when it is not a valid value of the type.
bool parse_value(RedisModuleString *s, DType t, char *dst) {
    if (dtype_is_float(t)) {
        double d;
        if (RM_StringToDouble(s, &d) != RM_OK) {
            if (!is_nan_word(s)) return false;
            d = std::numeric_limits<double>::quiet_NaN();
        }
        if (t == DType::FLOAT) {
            if (std::isfinite(d) && std::fabs(d) > std::numeric_limits<float>::max()) return false;
            float f = static_cast<float>(d);
            memcpy(dst, &f, 4);
        } else {
            memcpy(dst, &d, 8);
        }
        return true;
    }
    long long v;
    if (RM_StringToLongLong(s, &v) != RM_OK) return false;
    switch (t) {
        case DType::INT8: return store_int<int8_t>(v, dst);
        case DType::INT16: return store_int<int16_t>(v, dst);
        case DType::INT32: return store_int<int32_t>(v, dst);
        case DType::INT64: return store_int<int64_t>(v, dst);
        case DType::UINT8: return store_int<uint8_t>(v, dst);
        case DType::UINT16: return store_int<uint16_t>(v, dst);
        case DType::BOOL:
            if (v != 0 && v != 1) return false;
            *dst = static_cast<char>(v);
            return true;
        default: return false;
    }
}

namespace {

// Largest tensor created without data (zero-filled): keeps a typo from exhausting memory.
constexpr size_t kMaxZeroFilledBytes = 512ull * 1024 * 1024;

// Most elements in an AI.TENSORGET … VALUES reply (2^18 = 262,144). Each element becomes
// its own reply entry, formatted on the main thread (0.1-0.7 µs and about 24 bytes of output
// buffer per element: a 2^20-element reply held PING back 0.7 s on a busy 2-core machine), so
// larger tensors are refused with an error that points to BLOB.
constexpr size_t kMaxValuesReply = 1u << 18;

// AI.TENSORSET key TYPE d1 … dn [BLOB data | VALUES v1 … vN]
int TensorSet_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc < 4) return RM_WrongArity(ctx);
    size_t tlen;
    const char *tname = RM_StringPtrLen(argv[2], &tlen);
    DType dt;
    if (!dtype_from_name(tname, tlen, &dt)) {
        if (tlen == 6 && strncasecmp(tname, "STRING", 6) == 0)
            return RM_ReplyWithError(ctx, "ERR invalid data type (STRING tensors are not supported by this module)");
        return RM_ReplyWithError(ctx, "ERR invalid data type");
    }
    std::vector<int64_t> dims;
    int i = 3;
    size_t count = 1;
    bool overflow = false;
    for (; i < argc; i++) {
        if (arg_is(argv[i], "BLOB") || arg_is(argv[i], "VALUES")) break;
        long long d;
        if (!arg_ll(argv[i], &d) || d <= 0)
            return RM_ReplyWithError(ctx, "ERR invalid or negative value found in tensor shape");
        if (count > (SIZE_MAX / 16) / static_cast<size_t>(d)) overflow = true;
        else count *= static_cast<size_t>(d);
        dims.push_back(d);
        if (dims.size() > kMaxDims)
            return RM_ReplyWithError(ctx, "ERR a tensor has at most 64 dimensions");
    }
    if (overflow) return RM_ReplyWithError(ctx, "ERR tensor shape is too large");
    size_t nbytes = count * dtype_size(dt);

    Tensor *t = nullptr;
    if (i == argc) {
        if (nbytes > kMaxZeroFilledBytes)
            return RM_ReplyWithError(ctx, "ERR tensor shape is too large for a tensor without data (limit 512 MiB)");
        t = tensor_new_owned(dt, dims);
    } else if (arg_is(argv[i], "BLOB")) {
        if (argc != i + 2)
            return RM_ReplyWithError(
                ctx, "ERR a single binary string should come after the BLOB argument in 'AI.TENSORSET' command");
        size_t blen;
        const char *b = RM_StringPtrLen(argv[i + 1], &blen);
        if (blen != nbytes) return RM_ReplyWithError(ctx, "ERR data length does not match tensor shape and type");
        if (dt == DType::BOOL) {
            for (size_t j = 0; j < blen; j++)
                if (b[j] != 0 && b[j] != 1) return RM_ReplyWithError(ctx, "ERR BOOL tensor elements must be 0 or 1");
        }
        t = new Tensor();
        t->dtype = dt;
        t->dims = dims;
        // Zero copy: keep the client's argument alive instead of copying its bytes.
        RM_RetainString(nullptr, argv[i + 1]);
        t->held = argv[i + 1];
        t->data = b;
        t->nbytes = blen;
    } else {  // VALUES
        size_t nvalues = static_cast<size_t>(argc - i - 1);
        if (nvalues != count)
            return RM_ReplyWithError(ctx, "ERR wrong number of values was given in 'AI.TENSORSET' command");
        t = tensor_new_owned(dt, dims);
        size_t es = dtype_size(dt);
        for (size_t j = 0; j < nvalues; j++) {
            if (!parse_value(argv[i + 1 + j], dt, t->owned + j * es)) {
                tensor_release(t);
                return RM_ReplyWithError(ctx, "ERR invalid value");
            }
        }
    }
    if (!t) return RM_ReplyWithError(ctx, "ERR tensor shape is too large");
    if (!set_typed(ctx, argv[1], TensorType, t)) {
        tensor_release(t);
        return RM_ReplyWithError(ctx, kWrongType);
    }
    RM_ReplicateVerbatim(ctx);
    return RM_ReplyWithSimpleString(ctx, "OK");
}

void reply_meta(RedisModuleCtx *ctx, const Tensor *t) {
    RM_ReplyWithStringBuffer(ctx, "dtype", 5);
    const char *n = dtype_name(t->dtype);
    RM_ReplyWithStringBuffer(ctx, n, strlen(n));
    RM_ReplyWithStringBuffer(ctx, "shape", 5);
    RM_ReplyWithArray(ctx, static_cast<long>(t->dims.size()));
    for (int64_t d : t->dims) RM_ReplyWithLongLong(ctx, d);
}

template <typename T>
T load_elem(const char *p) {
    T x;
    memcpy(&x, p, sizeof(T));
    return x;
}

void reply_values(RedisModuleCtx *ctx, const Tensor *t) {
    size_t n = t->count();
    size_t es = dtype_size(t->dtype);
    RM_ReplyWithArray(ctx, static_cast<long>(n));
    for (size_t j = 0; j < n; j++) {
        const char *p = t->data + j * es;
        switch (t->dtype) {
            case DType::FLOAT: RM_ReplyWithDouble(ctx, load_elem<float>(p)); break;
            case DType::DOUBLE: RM_ReplyWithDouble(ctx, load_elem<double>(p)); break;
            case DType::INT8: RM_ReplyWithLongLong(ctx, load_elem<int8_t>(p)); break;
            case DType::INT16: RM_ReplyWithLongLong(ctx, load_elem<int16_t>(p)); break;
            case DType::INT32: RM_ReplyWithLongLong(ctx, load_elem<int32_t>(p)); break;
            case DType::INT64: RM_ReplyWithLongLong(ctx, load_elem<int64_t>(p)); break;
            case DType::UINT8: RM_ReplyWithLongLong(ctx, load_elem<uint8_t>(p)); break;
            case DType::UINT16: RM_ReplyWithLongLong(ctx, load_elem<uint16_t>(p)); break;
            case DType::BOOL: RM_ReplyWithLongLong(ctx, p[0] ? 1 : 0); break;
        }
    }
}

void reply_blob(RedisModuleCtx *ctx, const Tensor *t) {
    if (t->held) RM_ReplyWithString(ctx, t->held);
    else RM_ReplyWithStringBuffer(ctx, t->data ? t->data : "", t->nbytes);
}

// AI.TENSORGET key [META] [BLOB|VALUES]
int TensorGet_Command(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc < 2 || argc > 4) return RM_WrongArity(ctx);
    bool meta = false, blob = false, values = false;
    for (int i = 2; i < argc; i++) {
        if (arg_is(argv[i], "META")) meta = true;
        else if (arg_is(argv[i], "BLOB")) blob = true;
        else if (arg_is(argv[i], "VALUES")) values = true;
        else return RM_ReplyWithError(ctx, "ERR unsupported data format");
    }
    if (blob && values) return RM_ReplyWithError(ctx, "ERR both BLOB and VALUES specified");
    KeyState st;
    Tensor *t = static_cast<Tensor *>(get_typed(ctx, argv[1], TensorType, &st));
    if (st == KeyState::Empty) return RM_ReplyWithError(ctx, "ERR tensor key is empty or in a different shard");
    if (st == KeyState::WrongType) return RM_ReplyWithError(ctx, kWrongType);
    if (values && t->count() > kMaxValuesReply) {
        std::string msg = "ERR tensor has " + std::to_string(t->count()) + " elements, more than the " +
                          std::to_string(kMaxValuesReply) + " a VALUES reply may hold; use BLOB";
        return RM_ReplyWithError(ctx, msg.c_str());
    }
    if (!meta && !blob && !values) meta = blob = true;
    if (meta && (blob || values)) {
        RM_ReplyWithArray(ctx, 6);
        reply_meta(ctx, t);
        if (blob) {
            RM_ReplyWithStringBuffer(ctx, "blob", 4);
            reply_blob(ctx, t);
        } else {
            RM_ReplyWithStringBuffer(ctx, "values", 6);
            reply_values(ctx, t);
        }
    } else if (meta) {
        RM_ReplyWithArray(ctx, 4);
        reply_meta(ctx, t);
    } else if (blob) {
        reply_blob(ctx, t);
    } else {
        reply_values(ctx, t);
    }
    return RM_OK;
}

}  // namespace

int register_tensor_commands(RedisModuleCtx *ctx) {
    if (RM_CreateCommand(ctx, "ai.tensorset", TensorSet_Command, "write deny-oom", 1, 1, 1) != RM_OK) return RM_ERR;
    if (RM_CreateCommand(ctx, "ai.tensorget", TensorGet_Command, "readonly", 1, 1, 1) != RM_OK) return RM_ERR;
    return RM_OK;
}

}  // namespace eai
