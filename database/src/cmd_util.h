// Small helpers shared by the command implementations: argument access and typed key lookup.
#pragma once

#include <strings.h>

#include <string>

#include "objects.h"

namespace eai {

constexpr const char *kWrongType = "WRONGTYPE Operation against a key holding the wrong kind of value";

inline std::string arg_str(RedisModuleString *s) {
    size_t len = 0;
    const char *p = RM_StringPtrLen(s, &len);
    return std::string(p, len);
}

// Case-insensitive comparison of an argument with a keyword.
inline bool arg_is(RedisModuleString *s, const char *word) {
    size_t len = 0;
    const char *p = RM_StringPtrLen(s, &len);
    size_t wl = strlen(word);
    return len == wl && strncasecmp(p, word, len) == 0;
}

// Parses a decimal integer argument; false when it is not one.
inline bool arg_ll(RedisModuleString *s, long long *out) {
    return RM_StringToLongLong(s, out) == RM_OK;
}

enum class KeyState { Ok, Empty, WrongType };

// Returns the value of `type` stored at `key` (read only), or null with the reason.
inline void *get_typed(RedisModuleCtx *ctx, RedisModuleString *key, RedisModuleType *type,
                       KeyState *state) {
    RedisModuleKey *k = static_cast<RedisModuleKey *>(RM_OpenKey(ctx, key, RM_READ));
    if (!k) {
        *state = KeyState::Empty;
        return nullptr;
    }
    int kt = RM_KeyType(k);
    void *v = nullptr;
    if (kt == RM_KEYTYPE_EMPTY) {
        *state = KeyState::Empty;
    } else if (kt != RM_KEYTYPE_MODULE || RM_ModuleTypeGetType(k) != type) {
        *state = KeyState::WrongType;
    } else {
        *state = KeyState::Ok;
        v = RM_ModuleTypeGetValue(k);
    }
    RM_CloseKey(k);
    return v;
}

// True when `key` is empty or holds a value of `type` (so it may be overwritten).
inline bool key_writable_as(RedisModuleCtx *ctx, RedisModuleString *key, RedisModuleType *type) {
    KeyState st;
    get_typed(ctx, key, type, &st);
    return st != KeyState::WrongType;
}

// Stores `value` at `key`, replacing a value of the same type. Returns false (and leaves
// ownership with the caller) when the key holds another type.
inline bool set_typed(RedisModuleCtx *ctx, RedisModuleString *key, RedisModuleType *type, void *value) {
    RedisModuleKey *k = static_cast<RedisModuleKey *>(RM_OpenKey(ctx, key, RM_READ | RM_WRITE));
    if (!k) return false;
    int kt = RM_KeyType(k);
    if (kt != RM_KEYTYPE_EMPTY && (kt != RM_KEYTYPE_MODULE || RM_ModuleTypeGetType(k) != type)) {
        RM_CloseKey(k);
        return false;
    }
    bool ok = RM_ModuleTypeSetValue(k, type, value) == RM_OK;
    RM_CloseKey(k);
    return ok;
}

// Execution commands are refused inside MULTI and Lua (a blocked client cannot reply there).
inline bool in_transaction(RedisModuleCtx *ctx) {
    return (RM_GetContextFlags(ctx) & (RM_CTX_FLAGS_MULTI | RM_CTX_FLAGS_LUA)) != 0;
}

// Command registration (one function per command family).
int register_tensor_commands(RedisModuleCtx *ctx);
int register_store_commands(RedisModuleCtx *ctx);
int register_exec_commands(RedisModuleCtx *ctx);
int register_dag_commands(RedisModuleCtx *ctx);
// Loads of MODELSTORE/SCRIPTSET/SCRIPTSTORE still running, and those past MODEL_LOAD_TIMEOUT (INFO).
long long store_loads_running();
long long store_loads_timed_out();

// Parses one AI.TENSORSET VALUES element of type t into dst (NaN and inf allowed for float
// types); false when it is not a valid value of the type. Shared by AI.TENSORSET and AI.DAGEXECUTE.
bool parse_value(RedisModuleString *s, DType t, char *dst);

}  // namespace eai
