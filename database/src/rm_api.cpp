// Resolution of the Redis module API function pointers declared in rm_api.h.
#include "rm_api.h"

extern "C" {

#define RM_DEFINE_PTR(ret, name, args) ret(*RM_##name) args = nullptr;
RM_API_LIST(RM_DEFINE_PTR)
#undef RM_DEFINE_PTR

int rm_api_init(RedisModuleCtx *ctx, const char *name, int ver) {
    // The server stores its GetApi function as the first member of every module context.
    typedef int (*GetApiFn)(const char *, void *);
    GetApiFn get_api = reinterpret_cast<GetApiFn>(*reinterpret_cast<void **>(ctx));
    if (get_api == nullptr) return RM_ERR;
    int missing = 0;
#define RM_RESOLVE(ret, fname, args)                                                   \
    if (get_api("RedisModule_" #fname, reinterpret_cast<void *>(&RM_##fname)) != RM_OK || \
        RM_##fname == nullptr)                                                         \
        missing++;
    RM_API_LIST(RM_RESOLVE)
#undef RM_RESOLVE
    if (missing) return RM_ERR;
    if (RM_IsModuleNameBusy(name)) return RM_ERR;
    RM_SetModuleAttribs(ctx, name, ver, RM_APIVER_1);
    return RM_OK;
}

}  // extern "C"
