// srtest.cpp — exercises the SmartRedis 0.6.1 C++ API (client.h, dataset.h, configoptions.h,
// logger.h, logcontext.h) against a real database; test_client_smartredis.py compares the
// results with the genuine SmartRedis Python client. Written in SmartRedis's API only.
//
//   srtest_cpp write TAG      tensors, a dataset, a list
//   srtest_cpp read TAG       what the Python client wrote (same layout as write)
//   srtest_cpp ops TAG        copies, renames, lists, DataSet copy/move, exceptions
//   srtest_cpp admin ADDR MODEL  config_get/set, info, cluster info, AI.INFO, save, flush_db
//   srtest_cpp config SFX     ConfigOptions and Client(ConfigOptions*)
//   srtest_cpp compat TAG     what SmartRedis's own programs rely on: one-dim unpacks into
//                             contiguous memory, log_data(&client, ...)
// Prints OK on success (admin also prints key=value lines the test compares).
// <iostream>, <fstream> and <sstream> are not included here: client.h brings them in, as
// SmartRedis's does, and codes written for SmartRedis count on that.
#include "client.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "configoptions.h"
#include "dataset.h"
#include "logcontext.h"
#include "logger.h"
#include "srexception.h"

using namespace SmartRedis;

#define EXPECT(cond, msg)                                                           \
    do {                                                                            \
        if (!(cond)) {                                                              \
            std::cout << "FAIL line " << __LINE__ << ": " #cond ": " << msg << "\n"; \
            std::exit(1);                                                           \
        }                                                                           \
    } while (0)

// the statement must throw exactly E
#define THROWS(stmt, E)                                                             \
    do {                                                                            \
        bool thrown_ = false;                                                       \
        try {                                                                       \
            stmt;                                                                   \
        } catch (E & e_) {                                                          \
            thrown_ = true;                                                         \
            EXPECT(std::strlen(e_.what()) > 0, "empty message");                   \
        } catch (std::exception & e_) {                                             \
            EXPECT(false, "threw another exception: " << e_.what());               \
        }                                                                           \
        EXPECT(thrown_, #stmt " did not throw " #E);                               \
    } while (0)

static DataSet make_dataset(const std::string& name)
{
    DataSet ds(name);
    std::vector<int32_t> a = {1, -2, 3, -4};
    std::vector<double> b = {0.5, 1.5, 2.5, 3.5, 4.5};
    ds.add_tensor("a", a.data(), {2, 2}, SRTensorTypeInt32, SRMemLayoutContiguous);
    ds.add_tensor("b", b.data(), {5}, SRTensorTypeDouble, SRMemLayoutContiguous);
    double md[2] = {1.5, 2.5};
    int64_t mi64 = int64_t(1) << 40;
    uint32_t mu32 = 4000000000u;
    ds.add_meta_scalar("md", &md[0], SRMetadataTypeDouble);
    ds.add_meta_scalar("md", &md[1], SRMetadataTypeDouble);
    ds.add_meta_scalar("mi64", &mi64, SRMetadataTypeInt64);
    ds.add_meta_scalar("mu32", &mu32, SRMetadataTypeUint32);
    ds.add_meta_string("ms", "alpha");
    ds.add_meta_string("ms", "beta");
    return ds;
}

static void check_dataset(const DataSet& ds)
{
    void* data;
    std::vector<size_t> dims;
    SRTensorType t;
    ds.get_tensor("a", data, dims, t, SRMemLayoutContiguous);
    EXPECT(t == SRTensorTypeInt32 && dims == std::vector<size_t>({2, 2}), "tensor a");
    int32_t* a = static_cast<int32_t*>(data);
    EXPECT(a[0] == 1 && a[1] == -2 && a[2] == 3 && a[3] == -4, "values of a");
    EXPECT(ds.get_tensor_dims("b") == std::vector<size_t>({5}), "dims of b");
    EXPECT(ds.get_tensor_type("b") == SRTensorTypeDouble, "type of b");
    size_t n;
    SRMetaDataType mt;
    ds.get_meta_scalars("md", data, n, mt);
    EXPECT(mt == SRMetadataTypeDouble && n == 2 && static_cast<double*>(data)[1] == 2.5, "md");
    ds.get_meta_scalars("mi64", data, n, mt);
    EXPECT(mt == SRMetadataTypeInt64 && static_cast<int64_t*>(data)[0] == int64_t(1) << 40, "mi64");
    ds.get_meta_scalars("mu32", data, n, mt);
    EXPECT(mt == SRMetadataTypeUint32 && static_cast<uint32_t*>(data)[0] == 4000000000u, "mu32");
    EXPECT(ds.get_meta_strings("ms") == std::vector<std::string>({"alpha", "beta"}), "ms");
    EXPECT(ds.get_metadata_field_type("ms") == SRMetadataTypeString, "type of ms");
    EXPECT(ds.get_metadata_field_names().size() == 4, "field names");
    EXPECT(ds.get_tensor_names().size() == 2, "tensor names");
    EXPECT(ds.has_field("md") && !ds.has_field("nope"), "has_field");
}

static int cmd_write(const std::string& tag)
{
    Client c("srtest_cpp");
    std::vector<float> f = {1, 2, 3, 4, 5, 6};
    c.put_tensor(tag + "_f", f.data(), {2, 3}, SRTensorTypeFloat, SRMemLayoutContiguous);
    std::vector<int16_t> g = {1, 2, 3, 4, 5, 6};  // Fortran order: element (i, j) = g[i + 2 j]
    c.put_tensor(tag + "_g", g.data(), {2, 3}, SRTensorTypeInt16, SRMemLayoutFortranContiguous);
    DataSet ds = make_dataset(tag + "_ds");
    c.put_dataset(ds);
    for (int i = 0; i < 3; i++) {
        DataSet d(tag + "_l" + std::to_string(i));
        int64_t x = i;
        d.add_tensor("x", &x, {1}, SRTensorTypeInt64, SRMemLayoutContiguous);
        c.put_dataset(d);
        c.append_to_list(tag + "_list", d);
    }
    std::cout << "OK" << std::endl;
    return 0;
}

static int cmd_read(const std::string& tag)
{
    Client c("srtest_cpp");
    std::vector<float> f(6);
    c.unpack_tensor(tag + "_f", f.data(), {2, 3}, SRTensorTypeFloat, SRMemLayoutContiguous);
    for (int i = 0; i < 6; i++) EXPECT(f[i] == i + 1, "f[" << i << "] = " << f[i]);
    void* data;
    std::vector<size_t> dims;
    SRTensorType t;
    c.get_tensor(tag + "_g", data, dims, t, SRMemLayoutFortranContiguous);
    EXPECT(t == SRTensorTypeInt16 && dims == std::vector<size_t>({2, 3}), "g");
    for (int i = 0; i < 6; i++) EXPECT(static_cast<int16_t*>(data)[i] == i + 1, "g[" << i << "]");
    DataSet ds = c.get_dataset(tag + "_ds");
    check_dataset(ds);
    std::vector<DataSet> v = c.get_datasets_from_list(tag + "_list");
    EXPECT(v.size() == 3, v.size() << " datasets");
    for (size_t i = 0; i < v.size(); i++) {
        int64_t x;
        v[i].unpack_tensor("x", &x, {1}, SRTensorTypeInt64, SRMemLayoutContiguous);
        EXPECT(x == int64_t(i), "entry " << i);
    }
    EXPECT(c.get_dataset_list_range(tag + "_list", 1, 5).size() == 2, "range 1..5");
    EXPECT(c.get_dataset_list_range(tag + "_list", 2, 1).empty(), "range 2..1");
    std::cout << "OK" << std::endl;
    return 0;
}

static int cmd_ops(const std::string& tag)
{
    Client c("srtest_cpp");
    std::vector<double> v = {1, 2, 3};
    c.put_tensor(tag + "_a", v.data(), {3}, SRTensorTypeDouble, SRMemLayoutContiguous);
    c.copy_tensor(tag + "_a", tag + "_b");
    c.rename_tensor(tag + "_b", tag + "_c");
    EXPECT(!c.tensor_exists(tag + "_b") && c.tensor_exists(tag + "_c"), "rename");
    EXPECT(c.poll_tensor(tag + "_c", 10, 2) && !c.poll_key(tag + "_b", 10, 2), "polls");
    // exceptions of the right class
    std::vector<double> w(3);
    THROWS(c.unpack_tensor(tag + "_nothere", w.data(), {3}, SRTensorTypeDouble, SRMemLayoutContiguous), Exception);
    THROWS(c.get_dataset(tag + "_nods"), KeyException);
    THROWS(c.unpack_tensor(tag + "_c", w.data(), {3}, SRTensorTypeFloat, SRMemLayoutContiguous), TypeException);
    THROWS(c.copy_list(tag + "_nolist", tag + "_x"), RuntimeException);
    THROWS(c.poll_list_length(tag + "_l", -1, 10, 1), ParameterException);
    THROWS(c.set_model("m", "xx", "TORCH", "CPU", 0, 0, 0, "", {"in"}), ParameterException);
    THROWS(c.set_model("m", "xx", "NOPE", "CPU"), ParameterException);
    try {
        c.get_dataset(tag + "_nods");
    } catch (Exception& e) {
        EXPECT(e.to_error_code() == SRKeyError, "error code");
        EXPECT(std::string(e.what()).find("does not exist") != std::string::npos, e.what());
        EXPECT(std::strlen(e.where()) > 0, "where");
        EXPECT(std::string(SRGetLastError()) == e.what(), "SRGetLastError");
    }
    // DataSet value semantics
    DataSet ds = make_dataset(tag + "_ds");
    DataSet copy(ds);
    double extra = 9;
    copy.add_meta_scalar("md", &extra, SRMetadataTypeDouble);
    void* data;
    size_t n;
    SRMetaDataType mt;
    ds.get_meta_scalars("md", data, n, mt);
    EXPECT(n == 2, "the original changed with its copy");
    copy.get_meta_scalars("md", data, n, mt);
    EXPECT(n == 3, "the copy did not change");
    DataSet assigned("other");
    assigned = copy;
    EXPECT(assigned.get_name() == tag + "_ds", "copy assignment name");
    DataSet moved(std::move(assigned));
    moved.get_meta_scalars("md", data, n, mt);
    EXPECT(n == 3, "moved dataset");
    THROWS(assigned.get_tensor_names(), RuntimeException);
    std::vector<DataSet> vec;
    for (int i = 0; i < 4; i++) vec.push_back(make_dataset(tag + "_v" + std::to_string(i)));  // reallocations move
    for (auto& d : vec) c.put_dataset(d);
    moved.set_name(tag + "_renamed");
    c.put_dataset(moved);
    EXPECT(c.dataset_exists(tag + "_renamed"), "set_name");
    moved.clear_field("md");
    EXPECT(!moved.has_field("md"), "clear_field");
    c.put_dataset(ds);
    c.copy_dataset(tag + "_ds", tag + "_ds2");
    c.rename_dataset(tag + "_ds2", tag + "_ds3");
    EXPECT(!c.dataset_exists(tag + "_ds2") && c.poll_dataset(tag + "_ds3", 10, 2), "dataset rename");
    check_dataset(c.get_dataset(tag + "_ds3"));
    c.delete_dataset(tag + "_ds3");
    EXPECT(!c.dataset_exists(tag + "_ds3"), "delete_dataset");
    for (int i = 0; i < 4; i++) c.append_to_list(tag + "_list", vec[i]);
    EXPECT(c.get_list_length(tag + "_list") == 4, "list length");
    EXPECT(c.poll_list_length(tag + "_list", 4, 10, 2) && c.poll_list_length_gte(tag + "_list", 3, 10, 2) &&
               c.poll_list_length_lte(tag + "_list", 4, 10, 2) && !c.poll_list_length_lte(tag + "_list", 3, 10, 2),
           "list polls");
    c.copy_list(tag + "_list", tag + "_list2");
    c.rename_list(tag + "_list2", tag + "_list3");
    EXPECT(c.get_list_length(tag + "_list2") == 0 && c.get_list_length(tag + "_list3") == 4, "list rename");
    std::vector<DataSet> r = c.get_dataset_list_range(tag + "_list3", -3, -2);
    EXPECT(r.size() == 2 && r[0].get_name() == tag + "_v1", "range -3..-2: " << r.size());
    c.delete_list(tag + "_list3");
    EXPECT(c.get_list_length(tag + "_list3") == 0, "delete_list");
    // moving a client
    Client c2(std::move(c));
    EXPECT(c2.tensor_exists(tag + "_c"), "moved client");
    THROWS(c.tensor_exists(tag + "_c"), RuntimeException);
    // logging through objects, functions and log contexts
    LogContext lc("cppctx");
    lc.log_data(LLInfo, "context line");
    ds.log_warning(LLInfo, "dataset line");
    c2.log_error(LLInfo, "client line");
    log_data("cppfn", LLInfo, "function line");
    std::ostringstream os;
    os << c2 << ds;
    EXPECT(os.str().find("Client") != std::string::npos, "operator<<");
    std::cout << "OK" << std::endl;
    return 0;
}

static int cmd_admin(const std::string& addr, const std::string& model_path)
{
    Client c("srtest_cpp");
    auto cfg = c.config_get("maxmemory*", addr);
    for (auto& kv : cfg) std::cout << "config " << kv.first << "=" << kv.second << "\n";
    c.config_set("maxmemory-policy", "allkeys-lru", addr);
    EXPECT(c.config_get("maxmemory-policy", addr)["maxmemory-policy"] == "allkeys-lru", "config_set");
    c.config_set("maxmemory-policy", "noeviction", addr);
    auto info = c.get_db_node_info(addr);
    std::cout << "info redis_version=" << info["Server"]["redis_version"] << "\n";
    std::cout << "info tcp_port=" << info["Server"]["tcp_port"] << "\n";
    if (std::getenv("SR_DB_TYPE") && std::string(std::getenv("SR_DB_TYPE")) == "Clustered") {
        auto ci = c.get_db_cluster_info(addr);
        std::cout << "cluster cluster_state=" << ci["cluster_state"] << "\n";
        std::cout << "cluster cluster_known_nodes=" << ci["cluster_known_nodes"] << "\n";
    } else {
        THROWS(c.get_db_cluster_info(addr), RuntimeException);
    }
    THROWS(c.flush_db("127.0.0.1:1"), RuntimeException);
    std::ifstream mf(model_path, std::ios::binary);
    std::string model((std::istreambuf_iterator<char>(mf)), std::istreambuf_iterator<char>());
    c.set_model("admin_model", model, "TORCH", "CPU");
    EXPECT(c.get_model("admin_model") == model, "get_model");
    std::vector<float> in = {1, 2, 3, 4};
    c.put_tensor("admin_in", in.data(), {1, 4}, SRTensorTypeFloat, SRMemLayoutContiguous);
    c.run_model("admin_model", {"admin_in"}, {"admin_out"});
    c.run_model("admin_model", {"admin_in"}, {"admin_out"});
    // AI.INFO on the node holding the model (every shard in a cluster)
    auto ai = c.get_ai_info(addr, "admin_model", false);
    std::cout << "ai type=" << ai["type"] << "\n";
    std::cout << "ai backend=" << ai["backend"] << "\n";
    std::cout << "ai device=" << ai["device"] << "\n";
    c.get_ai_info(addr, "admin_model", true);
    c.set_script("admin_script", "CPU", "def f(x):\n    return x\n");
    EXPECT(c.get_script("admin_script") == "def f(x):\n    return x\n", "get_script");
    c.set_model_chunk_size(1024 * 1024);
    c.save(addr);
    c.flush_db(addr);
    std::cout << "OK" << std::endl;
    return 0;
}

static int cmd_config(const std::string& sfx)
{
    auto cfg = ConfigOptions::create_from_environment(sfx);
    EXPECT(cfg->get_integer_option("SRTEST_INT") == 42, "integer option");
    EXPECT(cfg->get_string_option("SRTEST_STR") == "hello", "string option");
    EXPECT(cfg->is_configured("SRTEST_INT") && !cfg->is_configured("SRTEST_NONE"), "is_configured");
    THROWS(cfg->get_string_option("SRTEST_NONE"), KeyException);
    cfg->override_integer_option("SRTEST_INT", 5);
    auto copy = cfg->clone();
    EXPECT(copy->get_integer_option("SRTEST_INT") == 5, "clone keeps overrides");
    cfg->override_string_option("SRTEST_STR", "changed");
    EXPECT(copy->get_string_option("SRTEST_STR") == "hello", "clone is independent");
    Client c(cfg.get(), "cfg_cpp");
    std::vector<double> v = {1, 2};
    c.put_tensor("srtest_cpp_cfg", v.data(), {2}, SRTensorTypeDouble, SRMemLayoutContiguous);
    const char* type = std::getenv("SR_DB_TYPE");
    Client old(type && std::string(type) == "Clustered", "old_cpp");
    EXPECT(old.tensor_exists("srtest_cpp_cfg"), "deprecated constructor");
    std::cout << "OK" << std::endl;
    return 0;
}

static int cmd_compat(const std::string& tag)
{
    Client c("compat_cpp");
    std::vector<double> v(30);
    for (size_t i = 0; i < v.size(); i++) v[i] = 0.25 * i - 1.0;
    c.put_tensor(tag + "_t", v.data(), {3, 2, 5}, SRTensorTypeDouble, SRMemLayoutContiguous);
    // SmartRedis describes contiguous memory by its length alone
    std::vector<double> got(30, 0.0);
    c.unpack_tensor(tag + "_t", got.data(), {30}, SRTensorTypeDouble, SRMemLayoutContiguous);
    EXPECT(got == v, "unpack_tensor into {30}");
    THROWS(c.unpack_tensor(tag + "_t", got.data(), {29}, SRTensorTypeDouble, SRMemLayoutContiguous),
           ParameterException);
    DataSet ds(tag + "_ds");
    ds.add_tensor("t", v.data(), {3, 2, 5}, SRTensorTypeDouble, SRMemLayoutContiguous);
    c.put_dataset(ds);
    DataSet back = c.get_dataset(tag + "_ds");
    std::fill(got.begin(), got.end(), 0.0);
    back.unpack_tensor("t", got.data(), {30}, SRTensorTypeDouble, SRMemLayoutContiguous);
    EXPECT(got == v, "DataSet::unpack_tensor into {30}");
    THROWS(back.unpack_tensor("t", got.data(), {31}, SRTensorTypeDouble, SRMemLayoutContiguous),
           ParameterException);
    // a Fortran-ordered dataset tensor comes out in row-major order
    std::vector<double> f = {1, 4, 2, 5, 3, 6};    // column-major (2,3) of [[1,2,3],[4,5,6]]
    DataSet dsf(tag + "_dsf");
    dsf.add_tensor("f", f.data(), {2, 3}, SRTensorTypeDouble, SRMemLayoutFortranContiguous);
    std::vector<double> fr(6, 0.0);
    dsf.unpack_tensor("f", fr.data(), {6}, SRTensorTypeDouble, SRMemLayoutContiguous);
    EXPECT((fr == std::vector<double>{1, 2, 3, 4, 5, 6}), "Fortran dataset tensor into {6}");
    // logging against an object (SmartRedis's log_data(const SRObject*, ...))
    log_data(&c, LLInfo, "compat client line");
    log_warning(&ds, LLInfo, "compat dataset line");
    std::cout << "OK" << std::endl;
    return 0;
}

int main(int argc, char** argv)
{
    std::vector<std::string> a(argv + 1, argv + argc);
    try {
        if (a.size() >= 2 && a[0] == "write") return cmd_write(a[1]);
        if (a.size() >= 2 && a[0] == "read") return cmd_read(a[1]);
        if (a.size() >= 2 && a[0] == "ops") return cmd_ops(a[1]);
        if (a.size() >= 3 && a[0] == "admin") return cmd_admin(a[1], a[2]);
        if (a.size() >= 2 && a[0] == "config") return cmd_config(a[1]);
        if (a.size() >= 2 && a[0] == "compat") return cmd_compat(a[1]);
    } catch (Exception& e) {
        std::cout << "FAIL: " << e.exception_class() << ": " << e.what() << " (" << e.where() << ")\n";
        return 1;
    }
    std::cerr << "usage: srtest_cpp write|read|ops|admin|config|compat ...\n";
    return 2;
}
