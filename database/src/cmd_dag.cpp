#include <cstring>
#include "cmd_util.h"
namespace eai {
int register_dag_commands(RedisModuleCtx *) { return RM_OK; }
}
