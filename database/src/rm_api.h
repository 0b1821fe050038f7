// Declarations of the part of the Redis module API (Redis 7.0, API version 1) that this
// module uses. No Redis header is available on Debian, so the types and the functions are
// declared here from the public API documentation; every function is a pointer that
// rm_api_init() resolves through the server's RedisModule_GetApi at load time.
#pragma once

#include <stddef.h>
#include <stdint.h>

extern "C" {

#define RM_OK 0
#define RM_ERR 1
#define RM_APIVER_1 1

#define RM_READ (1 << 0)
#define RM_WRITE (1 << 1)

#define RM_KEYTYPE_EMPTY 0
#define RM_KEYTYPE_MODULE 6

#define RM_CTX_FLAGS_LUA (1 << 0)
#define RM_CTX_FLAGS_MULTI (1 << 1)
#define RM_CTX_FLAGS_AOF (1 << 6)
#define RM_CTX_FLAGS_REPLICATED (1 << 12)
#define RM_CTX_FLAGS_LOADING (1 << 13)
#define RM_CTX_FLAGS_DENY_BLOCKING (1 << 21)

typedef struct RedisModuleCtx RedisModuleCtx;
typedef struct RedisModuleKey RedisModuleKey;
typedef struct RedisModuleString RedisModuleString;
typedef struct RedisModuleIO RedisModuleIO;
typedef struct RedisModuleType RedisModuleType;
typedef struct RedisModuleBlockedClient RedisModuleBlockedClient;
typedef struct RedisModuleInfoCtx RedisModuleInfoCtx;
typedef struct RedisModuleDigest RedisModuleDigest;
typedef struct RedisModuleServerInfoData RedisModuleServerInfoData;

typedef int (*RedisModuleCmdFunc)(RedisModuleCtx *ctx, RedisModuleString **argv, int argc);
typedef void *(*RedisModuleTypeLoadFunc)(RedisModuleIO *rdb, int encver);
typedef void (*RedisModuleTypeSaveFunc)(RedisModuleIO *rdb, void *value);
typedef void (*RedisModuleTypeRewriteFunc)(RedisModuleIO *aof, RedisModuleString *key,
                                           void *value);
typedef size_t (*RedisModuleTypeMemUsageFunc)(const void *value);
typedef void (*RedisModuleTypeDigestFunc)(RedisModuleDigest *digest, void *value);
typedef void (*RedisModuleTypeFreeFunc)(void *value);
typedef void (*RedisModuleInfoFunc)(RedisModuleInfoCtx *ctx, int for_crash_report);

// Module options, keyspace notifications and server events (Redis 7.0).
#define RM_OPTIONS_HANDLE_IO_ERRORS (1 << 0)
#define RM_NOTIFY_GENERIC (1 << 2)
#define RM_EVENT_LOADING 3
#define RM_SUBEVENT_LOADING_ENDED 3
#define RM_SUBEVENT_LOADING_FAILED 4

typedef struct RedisModuleEvent {
    uint64_t id;
    uint64_t dataver;
} RedisModuleEvent;
typedef int (*RedisModuleNotificationFunc)(RedisModuleCtx *ctx, int type, const char *event,
                                           RedisModuleString *key);
typedef void (*RedisModuleEventCallback)(RedisModuleCtx *ctx, RedisModuleEvent eid,
                                         uint64_t subevent, void *data);

// Method table, version 1 layout (the server accepts older versions).
typedef struct RedisModuleTypeMethods {
    uint64_t version;
    RedisModuleTypeLoadFunc rdb_load;
    RedisModuleTypeSaveFunc rdb_save;
    RedisModuleTypeRewriteFunc aof_rewrite;
    RedisModuleTypeMemUsageFunc mem_usage;
    RedisModuleTypeDigestFunc digest;
    RedisModuleTypeFreeFunc free;
} RedisModuleTypeMethods;

// X-macro list: return type, name, parameter list.
#define RM_API_LIST(X)                                                                         \
    X(void, SetModuleAttribs, (RedisModuleCtx * ctx, const char *name, int ver, int apiver))   \
    X(int, IsModuleNameBusy, (const char *name))                                               \
    X(int, CreateCommand,                                                                      \
      (RedisModuleCtx * ctx, const char *name, RedisModuleCmdFunc f, const char *flags,        \
       int firstkey, int lastkey, int keystep))                                                \
    X(void *, Alloc, (size_t bytes))                                                           \
    X(void, Free, (void *ptr))                                                                 \
    X(const char *, StringPtrLen, (const RedisModuleString *str, size_t *len))                 \
    X(int, StringToLongLong, (const RedisModuleString *str, long long *ll))                    \
    X(int, StringToDouble, (const RedisModuleString *str, double *d))                          \
    X(RedisModuleString *, CreateString, (RedisModuleCtx * ctx, const char *ptr, size_t len))  \
    X(void, FreeString, (RedisModuleCtx * ctx, RedisModuleString *str))                        \
    X(void, RetainString, (RedisModuleCtx * ctx, RedisModuleString *str))                      \
    X(int, WrongArity, (RedisModuleCtx * ctx))                                                 \
    X(int, ReplyWithError, (RedisModuleCtx * ctx, const char *err))                            \
    X(int, ReplyWithSimpleString, (RedisModuleCtx * ctx, const char *msg))                     \
    X(int, ReplyWithLongLong, (RedisModuleCtx * ctx, long long ll))                            \
    X(int, ReplyWithArray, (RedisModuleCtx * ctx, long len))                                   \
    X(int, ReplyWithStringBuffer, (RedisModuleCtx * ctx, const char *buf, size_t len))         \
    X(int, ReplyWithString, (RedisModuleCtx * ctx, RedisModuleString *str))                    \
    X(int, ReplyWithDouble, (RedisModuleCtx * ctx, double d))                                  \
    X(int, ReplyWithNull, (RedisModuleCtx * ctx))                                              \
    X(void *, OpenKey, (RedisModuleCtx * ctx, RedisModuleString *keyname, int mode))           \
    X(void, CloseKey, (RedisModuleKey * kp))                                                   \
    X(int, KeyType, (RedisModuleKey * kp))                                                     \
    X(int, DeleteKey, (RedisModuleKey * kp))                                                   \
    X(RedisModuleType *, CreateDataType,                                                       \
      (RedisModuleCtx * ctx, const char *name, int encver, void *typemethods))                 \
    X(int, ModuleTypeSetValue, (RedisModuleKey * key, RedisModuleType *mt, void *value))       \
    X(RedisModuleType *, ModuleTypeGetType, (RedisModuleKey * key))                            \
    X(void *, ModuleTypeGetValue, (RedisModuleKey * key))                                      \
    X(void, SaveUnsigned, (RedisModuleIO * io, uint64_t value))                                \
    X(uint64_t, LoadUnsigned, (RedisModuleIO * io))                                            \
    X(void, SaveSigned, (RedisModuleIO * io, int64_t value))                                   \
    X(int64_t, LoadSigned, (RedisModuleIO * io))                                               \
    X(void, SaveStringBuffer, (RedisModuleIO * io, const char *str, size_t len))               \
    X(char *, LoadStringBuffer, (RedisModuleIO * io, size_t *lenptr))                          \
    X(int, IsIOError, (RedisModuleIO * io))                                                    \
    X(const RedisModuleString *, GetKeyNameFromIO, (RedisModuleIO * io))                       \
    X(void, EmitAOF, (RedisModuleIO * io, const char *cmdname, const char *fmt, ...))          \
    X(void, Log, (RedisModuleCtx * ctx, const char *level, const char *fmt, ...))              \
    X(RedisModuleBlockedClient *, BlockClient,                                                 \
      (RedisModuleCtx * ctx, RedisModuleCmdFunc reply_callback,                                \
       RedisModuleCmdFunc timeout_callback, void (*free_privdata)(RedisModuleCtx *, void *),   \
       long long timeout_ms))                                                                  \
    X(int, UnblockClient, (RedisModuleBlockedClient * bc, void *privdata))                     \
    X(void *, GetBlockedClientPrivateData, (RedisModuleCtx * ctx))                             \
    X(void, SetDisconnectCallback,                                                             \
      (RedisModuleBlockedClient * bc, void (*callback)(RedisModuleCtx *, RedisModuleBlockedClient *))) \
    X(int, IsKeysPositionRequest, (RedisModuleCtx * ctx))                                      \
    X(void, KeyAtPos, (RedisModuleCtx * ctx, int pos))                                         \
    X(int, GetContextFlags, (RedisModuleCtx * ctx))                                            \
    X(int, Replicate, (RedisModuleCtx * ctx, const char *cmdname, const char *fmt, ...))       \
    X(int, ReplicateVerbatim, (RedisModuleCtx * ctx))                                          \
    X(int, RegisterInfoFunc, (RedisModuleCtx * ctx, RedisModuleInfoFunc cb))                   \
    X(int, InfoAddSection, (RedisModuleInfoCtx * ctx, const char *name))                       \
    X(int, InfoAddFieldCString, (RedisModuleInfoCtx * ctx, const char *field,                  \
                                 const char *value))                                           \
    X(int, InfoAddFieldLongLong, (RedisModuleInfoCtx * ctx, const char *field, long long v))   \
    X(RedisModuleServerInfoData *, GetServerInfo, (RedisModuleCtx * ctx, const char *section)) \
    X(void, FreeServerInfo, (RedisModuleCtx * ctx, RedisModuleServerInfoData *data))           \
    X(unsigned long long, ServerInfoGetFieldUnsigned,                                          \
      (RedisModuleServerInfoData * data, const char *field, int *out_err))                     \
    X(RedisModuleCtx *, GetThreadSafeContext, (RedisModuleBlockedClient * bc))                 \
    X(void, ThreadSafeContextLock, (RedisModuleCtx * ctx))                                     \
    X(void, ThreadSafeContextUnlock, (RedisModuleCtx * ctx))                                   \
    X(int, ThreadSafeContextTryLock, (RedisModuleCtx * ctx))                                   \
    X(RedisModuleBlockedClient *, GetBlockedClientHandle, (RedisModuleCtx * ctx))              \
    X(void, SetModuleOptions, (RedisModuleCtx * ctx, int options))                             \
    X(RedisModuleCtx *, GetContextFromIO, (RedisModuleIO * io))                                \
    X(int, GetDbIdFromIO, (RedisModuleIO * io))                                                \
    X(int, SelectDb, (RedisModuleCtx * ctx, int newid))                                        \
    X(int, SubscribeToKeyspaceEvents,                                                          \
      (RedisModuleCtx * ctx, int types, RedisModuleNotificationFunc cb))                       \
    X(int, SubscribeToServerEvent,                                                             \
      (RedisModuleCtx * ctx, RedisModuleEvent event, RedisModuleEventCallback cb))

#define RM_DECLARE_PTR(ret, name, args) extern ret(*RM_##name) args;
RM_API_LIST(RM_DECLARE_PTR)
#undef RM_DECLARE_PTR

// Resolves every pointer above and registers the module name. Returns RM_OK or RM_ERR.
int rm_api_init(RedisModuleCtx *ctx, const char *name, int ver);

}  // extern "C"
