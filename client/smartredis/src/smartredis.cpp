// smartredis.cpp — SmartRedis's C++ API (Client, DataSet, ConfigOptions, LogContext, logging,
// exceptions) over the C API of this library: one client underneath.
#include "c_client.h"
#include "c_configoptions.h"
#include "c_dataset.h"
#include "c_logcontext.h"
#include "c_logger.h"
#include "client.h"
#include "configoptions.h"
#include "dataset.h"
#include "logcontext.h"
#include "logger.h"
#include "srexception.h"
#include "sr_internal.h"

#include <cstring>
#include <sstream>

namespace SmartRedis {

// ---- errors ------------------------------------------------------------------------------

void sr_throw_on_error(SRError code)
{
    if (code == SRNoError) return;
    std::string msg = SRGetLastError();
    std::string where = SRGetLastErrorLocation();
    const std::string file = where.empty() ? "unavailable" : where;
    switch (code) {
    case SRBadAllocError: throw BadAllocException(msg, file);
    case SRDatabaseError: throw DatabaseException(msg, file);
    case SRInternalError: throw InternalException(msg, file);
    case SRRuntimeError: throw RuntimeException(msg, file);
    case SRParameterError: throw ParameterException(msg, file);
    case SRTimeoutError: throw TimeoutException(msg, file);
    case SRKeyError: throw KeyException(msg, file);
    case SRTypeError: throw TypeException(msg, file);
    default: throw Exception(msg, file);
    }
}

#define SR_CHECK(call) sr_throw_on_error(call)

// ---- logging -----------------------------------------------------------------------------

void log_data(const std::string& context, SRLoggingLevel level, const std::string& data)
{
    log_data_noexcept_string(context.c_str(), context.size(), level, data.c_str(), data.size());
}

void log_warning(const std::string& context, SRLoggingLevel level, const std::string& data)
{
    log_warning_noexcept_string(context.c_str(), context.size(), level, data.c_str(), data.size());
}

void log_error(const std::string& context, SRLoggingLevel level, const std::string& data)
{
    log_error_noexcept_string(context.c_str(), context.size(), level, data.c_str(), data.size());
}

void SRObject::log_data(SRLoggingLevel level, const std::string& data) const
{
    log_data_noexcept(_c_context(), level, data.c_str(), data.size());
}

void SRObject::log_warning(SRLoggingLevel level, const std::string& data) const
{
    log_warning_noexcept(_c_context(), level, data.c_str(), data.size());
}

void SRObject::log_error(SRLoggingLevel level, const std::string& data) const
{
    log_error_noexcept(_c_context(), level, data.c_str(), data.size());
}

LogContext::LogContext(const std::string& context) : SRObject(context), _handle(nullptr)
{
    SR_CHECK(SmartRedisCLogContext(context.c_str(), context.size(), &_handle));
}

LogContext::LogContext(const LogContext& other) : SRObject(other._lname), _handle(nullptr)
{
    SR_CHECK(SmartRedisCLogContext(_lname.c_str(), _lname.size(), &_handle));
}

LogContext& LogContext::operator=(const LogContext& other)
{
    if (this != &other) {
        void* h = nullptr;
        SR_CHECK(SmartRedisCLogContext(other._lname.c_str(), other._lname.size(), &h));
        DeallocateLogContext(&_handle);
        _handle = h;
        _lname = other._lname;
    }
    return *this;
}

LogContext::~LogContext() { DeallocateLogContext(&_handle); }

// ---- ConfigOptions -----------------------------------------------------------------------

ConfigOptions::ConfigOptions(cfgSrc source, const std::string& string) : _handle(nullptr)
{
    if (source != cs_envt) throw ParameterException("Unknown ConfigOptions source", __FILE__, __LINE__);
    SR_CHECK(create_configoptions_from_environment(string.c_str(), string.size(), &_handle));
}

ConfigOptions::ConfigOptions(ConfigOptions&& other) noexcept : _handle(other._handle) { other._handle = nullptr; }

ConfigOptions& ConfigOptions::operator=(ConfigOptions&& other) noexcept
{
    if (this != &other) {
        DeallocateConfigOptions(&_handle);
        _handle = other._handle;
        other._handle = nullptr;
    }
    return *this;
}

ConfigOptions::~ConfigOptions() { DeallocateConfigOptions(&_handle); }

std::unique_ptr<ConfigOptions> ConfigOptions::create_from_environment(const std::string& db_suffix)
{
    return std::unique_ptr<ConfigOptions>(new ConfigOptions(cs_envt, db_suffix));
}

std::unique_ptr<ConfigOptions> ConfigOptions::create_from_environment(const char* db_suffix)
{
    return create_from_environment(std::string(db_suffix ? db_suffix : ""));
}

std::unique_ptr<ConfigOptions> ConfigOptions::clone()
{
    sr_config* c = static_cast<sr_config*>(_handle);
    std::unique_ptr<ConfigOptions> copy(new ConfigOptions(cs_envt, c ? c->suffix : ""));
    for (size_t i = 0; c && i < c->nov; i++) {
        const sr_option& o = c->ov[i];
        if (o.is_int) copy->override_integer_option(o.name, o.ival);
        else copy->override_string_option(o.name, o.sval);
    }
    return copy;
}

int64_t ConfigOptions::get_integer_option(const std::string& option_name)
{
    int64_t v = 0;
    SR_CHECK(::get_integer_option(_handle, option_name.c_str(), option_name.size(), &v));
    return v;
}

std::string ConfigOptions::get_string_option(const std::string& option_name)
{
    char* v = nullptr;
    size_t n = 0;
    SR_CHECK(::get_string_option(_handle, option_name.c_str(), option_name.size(), &v, &n));
    return std::string(v, n);
}

bool ConfigOptions::is_configured(const std::string& option_name)
{
    bool r = false;
    SR_CHECK(::is_configured(_handle, option_name.c_str(), option_name.size(), &r));
    return r;
}

void ConfigOptions::override_integer_option(const std::string& option_name, int64_t value)
{
    SR_CHECK(::override_integer_option(_handle, option_name.c_str(), option_name.size(), value));
}

void ConfigOptions::override_string_option(const std::string& option_name, const std::string& value)
{
    SR_CHECK(::override_string_option(_handle, option_name.c_str(), option_name.size(), value.c_str(),
                                      value.size()));
}

// ---- DataSet -----------------------------------------------------------------------------

DataSet::DataSet(const std::string& name) : SRObject(name), _handle(nullptr), _dsname(name)
{
    SR_CHECK(CDataSet(name.c_str(), name.size(), &_handle));
}

DataSet::DataSet(void* handle, int)
    : SRObject(elc_dataset_name(static_cast<sr_dataset*>(handle)->ds)), _handle(handle),
      _dsname(elc_dataset_name(static_cast<sr_dataset*>(handle)->ds))
{
}

DataSet DataSet::from_c_handle(void* handle)
{
    sr_dataset* d = static_cast<sr_dataset*>(handle);
    if (!d || d->obj.magic != SR_MAGIC_DATASET)
        throw ParameterException("The handle is not a DataSet", __FILE__, __LINE__);
    return DataSet(handle, 0);
}

DataSet::DataSet(const DataSet& dataset) : SRObject(dataset._lname), _handle(nullptr), _dsname(dataset._dsname)
{
    if (dataset._handle) {
        _handle = sr_dataset_clone(static_cast<const sr_dataset*>(dataset._handle));
        if (!_handle) throw BadAllocException("out of memory copying a DataSet", __FILE__, __LINE__);
    }
}

DataSet& DataSet::operator=(const DataSet& dataset)
{
    if (this != &dataset) {
        DataSet tmp(dataset);
        *this = std::move(tmp);
    }
    return *this;
}

DataSet::DataSet(DataSet&& dataset) noexcept
    : SRObject(dataset._lname), _handle(dataset._handle), _dsname(std::move(dataset._dsname))
{
    dataset._handle = nullptr;
}

DataSet& DataSet::operator=(DataSet&& dataset) noexcept
{
    if (this != &dataset) {
        DeallocateDataSet(&_handle);
        _handle = dataset._handle;
        dataset._handle = nullptr;
        _dsname = std::move(dataset._dsname);
        _lname = dataset._lname;
    }
    return *this;
}

DataSet::~DataSet() { DeallocateDataSet(&_handle); }

static void* live(void* h)
{
    if (!h) throw RuntimeException("The DataSet was moved from", __FILE__, __LINE__);
    return h;
}

void DataSet::add_tensor(const std::string& name, const void* data, const std::vector<size_t>& dims,
                         const SRTensorType type, const SRMemoryLayout mem_layout)
{
    SR_CHECK(::add_tensor(live(_handle), name.c_str(), name.size(), const_cast<void*>(data), dims.data(),
                          dims.size(), type, mem_layout));
}

void DataSet::add_meta_scalar(const std::string& name, const void* data, const SRMetaDataType type)
{
    SR_CHECK(::add_meta_scalar(live(_handle), name.c_str(), name.size(), data, type));
}

void DataSet::add_meta_string(const std::string& name, const std::string& data)
{
    SR_CHECK(::add_meta_string(live(_handle), name.c_str(), name.size(), data.c_str(), data.size()));
}

void DataSet::get_tensor(const std::string& name, void*& data, std::vector<size_t>& dims, SRTensorType& type,
                         const SRMemoryLayout mem_layout) const
{
    size_t* d = nullptr;
    size_t n = 0;
    get_tensor(name, data, d, n, type, mem_layout);
    dims.assign(d, d + n);
}

void DataSet::get_tensor(const std::string& name, void*& data, size_t*& dims, size_t& n_dims, SRTensorType& type,
                         const SRMemoryLayout mem_layout) const
{
    SR_CHECK(::get_dataset_tensor(live(_handle), name.c_str(), name.size(), &data, &dims, &n_dims, &type,
                                  mem_layout));
}

void DataSet::unpack_tensor(const std::string& name, void* data, const std::vector<size_t>& dims,
                            const SRTensorType type, const SRMemoryLayout mem_layout)
{
    SR_CHECK(::unpack_dataset_tensor(live(_handle), name.c_str(), name.size(), data, dims.data(), dims.size(),
                                     type, mem_layout));
}

void DataSet::get_meta_scalars(const std::string& name, void*& data, size_t& length, SRMetaDataType& type) const
{
    SR_CHECK(::get_meta_scalars(live(_handle), name.c_str(), name.size(), &length, &type, &data));
}

std::vector<std::string> DataSet::get_meta_strings(const std::string& name) const
{
    char** d = nullptr;
    size_t n = 0;
    size_t* l = nullptr;
    SRError st = ::get_meta_strings(live(_handle), name.c_str(), name.size(), &d, &n, &l);
    if (st == SRKeyError) return std::vector<std::string>();
    SR_CHECK(st);
    std::vector<std::string> v;
    for (size_t i = 0; i < n; i++) v.emplace_back(d[i], l[i]);
    return v;
}

void DataSet::get_meta_strings(const std::string& name, char**& data, size_t& n_strings, size_t*& lengths) const
{
    SR_CHECK(::get_meta_strings(live(_handle), name.c_str(), name.size(), &data, &n_strings, &lengths));
}

bool DataSet::has_field(const std::string& field_name) const
{
    elc_meta_type t;
    return elc_dataset_get_meta_type(static_cast<sr_dataset*>(live(_handle))->ds, field_name.c_str(), &t) == ELC_OK;
}

void DataSet::clear_field(const std::string& field_name)
{
    elc_dataset_clear_field(static_cast<sr_dataset*>(live(_handle))->ds, field_name.c_str());
}

void DataSet::set_name(std::string name)
{
    if (name.empty()) throw ParameterException("Name must be non-zero length", __FILE__, __LINE__);
    sr_throw_on_error(static_cast<SRError>(elc_dataset_set_name(static_cast<sr_dataset*>(live(_handle))->ds,
                                                                name.c_str())));
    _dsname = name;
}

static std::vector<std::string> to_vector(char** d, size_t n, size_t* l)
{
    std::vector<std::string> v;
    for (size_t i = 0; i < n; i++) v.emplace_back(d[i], l[i]);
    return v;
}

std::vector<std::string> DataSet::get_tensor_names() const
{
    char** d = nullptr;
    size_t n = 0;
    size_t* l = nullptr;
    get_tensor_names(d, n, l);
    return to_vector(d, n, l);
}

void DataSet::get_tensor_names(char**& data, size_t& n_strings, size_t*& lengths) const
{
    SR_CHECK(::get_tensor_names(live(_handle), &data, &n_strings, &lengths));
}

SRTensorType DataSet::get_tensor_type(const std::string& name) const
{
    SRTensorType t = SRTensorTypeInvalid;
    SR_CHECK(::get_tensor_type(live(_handle), name.c_str(), name.size(), &t));
    return t;
}

const std::vector<size_t> DataSet::get_tensor_dims(const std::string& name) const
{
    size_t buf[64];
    size_t* p = buf;
    size_t n = 64;
    SR_CHECK(::get_tensor_dims(live(_handle), name.c_str(), name.size(), &p, &n));
    return std::vector<size_t>(buf, buf + n);
}

std::vector<std::string> DataSet::get_metadata_field_names() const
{
    char** d = nullptr;
    size_t n = 0;
    size_t* l = nullptr;
    get_metadata_field_names(d, n, l);
    return to_vector(d, n, l);
}

void DataSet::get_metadata_field_names(char**& data, size_t& n_strings, size_t*& lengths) const
{
    SR_CHECK(::get_metadata_field_names(live(_handle), &data, &n_strings, &lengths));
}

SRMetaDataType DataSet::get_metadata_field_type(const std::string& name) const
{
    SRMetaDataType t = SRMetadataTypeInvalid;
    SR_CHECK(::get_metadata_field_type(live(_handle), name.c_str(), name.size(), &t));
    return t;
}

std::string DataSet::to_string() const
{
    return _handle ? std::string(dataset_to_string(_handle)) : "DataSet (moved from)";
}

// ---- Client ------------------------------------------------------------------------------

Client::Client(const char* logger_name) : SRObject(logger_name ? logger_name : "default"), _handle(nullptr)
{
    SR_CHECK(SimpleCreateClient(_lname.c_str(), _lname.size(), &_handle));
}

Client::Client(ConfigOptions* cfgopts, const std::string& logger_name) : SRObject(logger_name), _handle(nullptr)
{
    if (!cfgopts) throw ParameterException("cfgopts is NULL", __FILE__, __LINE__);
    SR_CHECK(CreateClient(cfgopts->c_handle(), logger_name.c_str(), logger_name.size(), &_handle));
}

Client::Client(bool cluster, const std::string& logger_name) : SRObject(logger_name), _handle(nullptr)
{
    SR_CHECK(SmartRedisCClient(cluster, logger_name.c_str(), logger_name.size(), &_handle));
}

Client::Client(Client&& client) noexcept : SRObject(client._lname), _handle(client._handle)
{
    client._handle = nullptr;
}

Client& Client::operator=(Client&& client) noexcept
{
    if (this != &client) {
        DeleteCClient(&_handle);
        _handle = client._handle;
        client._handle = nullptr;
        _lname = client._lname;
    }
    return *this;
}

Client::~Client() { DeleteCClient(&_handle); }

static void* live_client(void* h)
{
    if (!h) throw RuntimeException("The Client was moved from", __FILE__, __LINE__);
    return h;
}

#define H live_client(_handle)
#define S(s) (s).c_str(), (s).size()

void Client::put_dataset(DataSet& dataset) { SR_CHECK(::put_dataset(H, live(dataset._handle))); }

DataSet Client::get_dataset(const std::string& name)
{
    void* d = nullptr;
    SR_CHECK(::get_dataset(H, S(name), &d));
    return DataSet(d, 0);
}

void Client::rename_dataset(const std::string& old_name, const std::string& new_name)
{
    SR_CHECK(::rename_dataset(H, S(old_name), S(new_name)));
}

void Client::copy_dataset(const std::string& src_name, const std::string& dest_name)
{
    SR_CHECK(::copy_dataset(H, S(src_name), S(dest_name)));
}

void Client::delete_dataset(const std::string& name) { SR_CHECK(::delete_dataset(H, S(name))); }

void Client::put_tensor(const std::string& name, const void* data, const std::vector<size_t>& dims,
                        const SRTensorType type, const SRMemoryLayout mem_layout)
{
    SR_CHECK(::put_tensor(H, S(name), const_cast<void*>(data), dims.data(), dims.size(), type, mem_layout));
}

void Client::get_tensor(const std::string& name, void*& data, std::vector<size_t>& dims, SRTensorType& type,
                        const SRMemoryLayout mem_layout)
{
    size_t* d = nullptr;
    size_t n = 0;
    get_tensor(name, data, d, n, type, mem_layout);
    dims.assign(d, d + n);
}

void Client::get_tensor(const std::string& name, void*& data, size_t*& dims, size_t& n_dims, SRTensorType& type,
                        const SRMemoryLayout mem_layout)
{
    SR_CHECK(::get_tensor(H, S(name), &data, &dims, &n_dims, &type, mem_layout));
}

void Client::unpack_tensor(const std::string& name, void* data, const std::vector<size_t>& dims,
                           const SRTensorType type, const SRMemoryLayout mem_layout)
{
    SR_CHECK(::unpack_tensor(H, S(name), data, dims.data(), dims.size(), type, mem_layout));
}

void Client::rename_tensor(const std::string& old_name, const std::string& new_name)
{
    SR_CHECK(::rename_tensor(H, S(old_name), S(new_name)));
}

void Client::delete_tensor(const std::string& name) { SR_CHECK(::delete_tensor(H, S(name))); }

void Client::copy_tensor(const std::string& src_name, const std::string& dest_name)
{
    SR_CHECK(::copy_tensor(H, S(src_name), S(dest_name)));
}

// names as C arrays for the C API
struct CNames {
    std::vector<const char*> p;
    std::vector<size_t> l;
    explicit CNames(const std::vector<std::string>& v)
    {
        for (const auto& s : v) {
            p.push_back(s.c_str());
            l.push_back(s.size());
        }
    }
    const char** ptr() { return p.empty() ? nullptr : p.data(); }
    const size_t* len() { return l.empty() ? nullptr : l.data(); }
    size_t n() const { return p.size(); }
};

static void check_model_args(const std::string& name, const std::string& backend,
                             const std::vector<std::string>& inputs, const std::vector<std::string>& outputs)
{
    if (name.empty()) throw ParameterException("name is a required parameter of set_model.", __FILE__, __LINE__);
    if (backend.empty()) throw ParameterException("backend is a required parameter of set_model.", __FILE__, __LINE__);
    if (backend != "TF" && backend != "TFLITE") {
        if (!inputs.empty())
            throw ParameterException("INPUTS in the model set command is only valid for TF models", __FILE__, __LINE__);
        if (!outputs.empty())
            throw ParameterException("OUTPUTS in the model set command is only valid for TF models", __FILE__, __LINE__);
    }
    if (backend != "TF" && backend != "TFLITE" && backend != "TORCH" && backend != "ONNX")
        throw ParameterException(backend + " is not a valid backend.", __FILE__, __LINE__);
}

void Client::set_model_from_file(const std::string& name, const std::string& model_file, const std::string& backend,
                                 const std::string& device, int batch_size, int min_batch_size,
                                 int min_batch_timeout, const std::string& tag,
                                 const std::vector<std::string>& inputs, const std::vector<std::string>& outputs)
{
    if (model_file.empty()) throw ParameterException("model_file is a required parameter of set_model_from_file.", __FILE__, __LINE__);
    check_model_args(name, backend, inputs, outputs);
    CNames in(inputs), out(outputs);
    SR_CHECK(::set_model_from_file(H, S(name), S(model_file), S(backend), S(device), batch_size, min_batch_size,
                                   min_batch_timeout, S(tag), in.ptr(), in.len(), in.n(), out.ptr(), out.len(),
                                   out.n()));
}

void Client::set_model_from_file_multigpu(const std::string& name, const std::string& model_file,
                                          const std::string& backend, int first_gpu, int num_gpus, int batch_size,
                                          int min_batch_size, int min_batch_timeout, const std::string& tag,
                                          const std::vector<std::string>& inputs,
                                          const std::vector<std::string>& outputs)
{
    if (model_file.empty()) throw ParameterException("model_file is a required parameter of set_model_from_file.", __FILE__, __LINE__);
    check_model_args(name, backend, inputs, outputs);
    CNames in(inputs), out(outputs);
    SR_CHECK(::set_model_from_file_multigpu(H, S(name), S(model_file), S(backend), first_gpu, num_gpus, batch_size,
                                            min_batch_size, min_batch_timeout, S(tag), in.ptr(), in.len(), in.n(),
                                            out.ptr(), out.len(), out.n()));
}

void Client::set_model(const std::string& name, const std::string_view& model, const std::string& backend,
                       const std::string& device, int batch_size, int min_batch_size, int min_batch_timeout,
                       const std::string& tag, const std::vector<std::string>& inputs,
                       const std::vector<std::string>& outputs)
{
    check_model_args(name, backend, inputs, outputs);
    CNames in(inputs), out(outputs);
    SR_CHECK(::set_model(H, S(name), model.data(), model.size(), S(backend), S(device), batch_size, min_batch_size,
                         min_batch_timeout, S(tag), in.ptr(), in.len(), in.n(), out.ptr(), out.len(), out.n()));
}

void Client::set_model_multigpu(const std::string& name, const std::string_view& model, const std::string& backend,
                                int first_gpu, int num_gpus, int batch_size, int min_batch_size,
                                int min_batch_timeout, const std::string& tag,
                                const std::vector<std::string>& inputs, const std::vector<std::string>& outputs)
{
    check_model_args(name, backend, inputs, outputs);
    CNames in(inputs), out(outputs);
    SR_CHECK(::set_model_multigpu(H, S(name), model.data(), model.size(), S(backend), first_gpu, num_gpus,
                                  batch_size, min_batch_size, min_batch_timeout, S(tag), in.ptr(), in.len(), in.n(),
                                  out.ptr(), out.len(), out.n()));
}

std::string_view Client::get_model(const std::string& name)
{
    const char* m = nullptr;
    size_t n = 0;
    SR_CHECK(::get_model(H, S(name), &n, &m));
    return std::string_view(m, n);
}

void Client::set_script_from_file(const std::string& name, const std::string& device, const std::string& script_file)
{
    SR_CHECK(::set_script_from_file(H, S(name), S(device), S(script_file)));
}

void Client::set_script_from_file_multigpu(const std::string& name, const std::string& script_file, int first_gpu,
                                           int num_gpus)
{
    SR_CHECK(::set_script_from_file_multigpu(H, S(name), S(script_file), first_gpu, num_gpus));
}

void Client::set_script(const std::string& name, const std::string& device, const std::string_view& script)
{
    SR_CHECK(::set_script(H, S(name), S(device), script.data(), script.size()));
}

void Client::set_script_multigpu(const std::string& name, const std::string_view& script, int first_gpu,
                                 int num_gpus)
{
    SR_CHECK(::set_script_multigpu(H, S(name), script.data(), script.size(), first_gpu, num_gpus));
}

std::string_view Client::get_script(const std::string& name)
{
    const char* s = nullptr;
    size_t n = 0;
    SR_CHECK(::get_script(H, S(name), &s, &n));
    return std::string_view(s, n);
}

void Client::run_model(const std::string& name, const std::vector<std::string> inputs,
                       const std::vector<std::string> outputs)
{
    CNames in(inputs), out(outputs);
    SR_CHECK(::run_model(H, S(name), in.ptr(), in.len(), in.n(), out.ptr(), out.len(), out.n()));
}

void Client::run_model_multigpu(const std::string& name, const std::vector<std::string> inputs,
                                const std::vector<std::string> outputs, int offset, int first_gpu, int num_gpus)
{
    CNames in(inputs), out(outputs);
    SR_CHECK(::run_model_multigpu(H, S(name), in.ptr(), in.len(), in.n(), out.ptr(), out.len(), out.n(), offset,
                                  first_gpu, num_gpus));
}

void Client::run_script(const std::string& name, const std::string& function, const std::vector<std::string> inputs,
                        const std::vector<std::string> outputs)
{
    CNames in(inputs), out(outputs);
    SR_CHECK(::run_script(H, S(name), S(function), in.ptr(), in.len(), in.n(), out.ptr(), out.len(), out.n()));
}

void Client::run_script_multigpu(const std::string& name, const std::string& function,
                                 const std::vector<std::string> inputs, const std::vector<std::string> outputs,
                                 int offset, int first_gpu, int num_gpus)
{
    CNames in(inputs), out(outputs);
    SR_CHECK(::run_script_multigpu(H, S(name), S(function), in.ptr(), in.len(), in.n(), out.ptr(), out.len(),
                                   out.n(), offset, first_gpu, num_gpus));
}

void Client::delete_model(const std::string& name) { SR_CHECK(::delete_model(H, S(name))); }

void Client::delete_model_multigpu(const std::string& name, int first_gpu, int num_gpus)
{
    SR_CHECK(::delete_model_multigpu(H, S(name), first_gpu, num_gpus));
}

void Client::delete_script(const std::string& name) { SR_CHECK(::delete_script(H, S(name))); }

void Client::delete_script_multigpu(const std::string& name, int first_gpu, int num_gpus)
{
    SR_CHECK(::delete_script_multigpu(H, S(name), first_gpu, num_gpus));
}

bool Client::key_exists(const std::string& key)
{
    bool r = false;
    SR_CHECK(::key_exists(H, S(key), &r));
    return r;
}

bool Client::model_exists(const std::string& name)
{
    bool r = false;
    SR_CHECK(::model_exists(H, S(name), &r));
    return r;
}

bool Client::tensor_exists(const std::string& name)
{
    bool r = false;
    SR_CHECK(::tensor_exists(H, S(name), &r));
    return r;
}

bool Client::dataset_exists(const std::string& name)
{
    bool r = false;
    SR_CHECK(::dataset_exists(H, S(name), &r));
    return r;
}

bool Client::poll_key(const std::string& key, int poll_frequency_ms, int num_tries)
{
    bool r = false;
    SR_CHECK(::poll_key(H, S(key), poll_frequency_ms, num_tries, &r));
    return r;
}

bool Client::poll_tensor(const std::string& name, int poll_frequency_ms, int num_tries)
{
    bool r = false;
    SR_CHECK(::poll_tensor(H, S(name), poll_frequency_ms, num_tries, &r));
    return r;
}

bool Client::poll_dataset(const std::string& name, int poll_frequency_ms, int num_tries)
{
    bool r = false;
    SR_CHECK(::poll_dataset(H, S(name), poll_frequency_ms, num_tries, &r));
    return r;
}

bool Client::poll_model(const std::string& name, int poll_frequency_ms, int num_tries)
{
    bool r = false;
    SR_CHECK(::poll_model(H, S(name), poll_frequency_ms, num_tries, &r));
    return r;
}

void Client::set_data_source(std::string source_id) { SR_CHECK(::set_data_source(H, S(source_id))); }
void Client::use_tensor_ensemble_prefix(bool use_prefix) { SR_CHECK(::use_tensor_ensemble_prefix(H, use_prefix)); }
void Client::use_dataset_ensemble_prefix(bool use_prefix) { SR_CHECK(::use_dataset_ensemble_prefix(H, use_prefix)); }
void Client::use_model_ensemble_prefix(bool use_prefix) { SR_CHECK(::use_model_ensemble_prefix(H, use_prefix)); }
void Client::use_list_ensemble_prefix(bool use_prefix) { SR_CHECK(::use_list_ensemble_prefix(H, use_prefix)); }

static elc_client* core(void* h) { return static_cast<sr_client*>(h)->c; }

static void check_core(elc_status st) { sr_throw_on_error(static_cast<SRError>(st)); }

// "key:value" lines; "# Section" starts a section
parsed_reply_nested_map Client::get_db_node_info(const std::string address)
{
    char* text = nullptr;
    check_core(elc_db_node_info(core(H), address.c_str(), &text));
    parsed_reply_nested_map m;
    std::istringstream in(text);
    elc_free(text);
    std::string line, section;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        if (line[0] == '#') {
            section = line.substr(line.find_first_not_of("# "));
            m[section];
            continue;
        }
        size_t c = line.find(':');
        if (c == std::string::npos) continue;
        m[section][line.substr(0, c)] = line.substr(c + 1);
    }
    return m;
}

parsed_reply_map Client::get_db_cluster_info(const std::string address)
{
    char* text = nullptr;
    check_core(elc_db_cluster_info(core(H), address.c_str(), &text));
    parsed_reply_map m;
    std::istringstream in(text);
    elc_free(text);
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        size_t c = line.find(':');
        if (c != std::string::npos) m[line.substr(0, c)] = line.substr(c + 1);
    }
    return m;
}

static parsed_reply_map pairs_to_map(char** p, size_t n)
{
    parsed_reply_map m;
    for (size_t i = 0; i + 1 < n; i += 2) m[p[i]] = p[i + 1];
    elc_free_strings(p, n);
    return m;
}

parsed_reply_map Client::get_ai_info(const std::string& address, const std::string& key, bool reset_stat)
{
    char** p = nullptr;
    size_t n = 0;
    check_core(elc_ai_info(core(H), address.c_str(), key.c_str(), reset_stat, &p, &n));
    return pairs_to_map(p, n);
}

void Client::flush_db(const std::string address) { check_core(elc_flush_db(core(H), address.c_str())); }

std::unordered_map<std::string, std::string> Client::config_get(const std::string expression,
                                                                const std::string address)
{
    char** p = nullptr;
    size_t n = 0;
    check_core(elc_config_get(core(H), address.c_str(), expression.c_str(), &p, &n));
    return pairs_to_map(p, n);
}

void Client::config_set(const std::string config_param, const std::string value, const std::string address)
{
    check_core(elc_config_set(core(H), address.c_str(), config_param.c_str(), value.c_str()));
}

void Client::save(const std::string address) { check_core(elc_save(core(H), address.c_str())); }

void Client::append_to_list(const std::string& list_name, const DataSet& dataset)
{
    SR_CHECK(::append_to_list(H, S(list_name), live(dataset._handle)));
}

void Client::delete_list(const std::string& list_name) { SR_CHECK(::delete_list(H, S(list_name))); }

void Client::copy_list(const std::string& src_name, const std::string& dest_name)
{
    SR_CHECK(::copy_list(H, S(src_name), S(dest_name)));
}

void Client::rename_list(const std::string& src_name, const std::string& dest_name)
{
    SR_CHECK(::rename_list(H, S(src_name), S(dest_name)));
}

int Client::get_list_length(const std::string& list_name)
{
    int n = 0;
    SR_CHECK(::get_list_length(H, S(list_name), &n));
    return n;
}

bool Client::poll_list_length(const std::string& name, int list_length, int poll_frequency_ms, int num_tries)
{
    bool r = false;
    SR_CHECK(::poll_list_length(H, S(name), list_length, poll_frequency_ms, num_tries, &r));
    return r;
}

bool Client::poll_list_length_gte(const std::string& name, int list_length, int poll_frequency_ms, int num_tries)
{
    bool r = false;
    SR_CHECK(::poll_list_length_gte(H, S(name), list_length, poll_frequency_ms, num_tries, &r));
    return r;
}

bool Client::poll_list_length_lte(const std::string& name, int list_length, int poll_frequency_ms, int num_tries)
{
    bool r = false;
    SR_CHECK(::poll_list_length_lte(H, S(name), list_length, poll_frequency_ms, num_tries, &r));
    return r;
}

std::vector<DataSet> Client::get_dataset_list_range(const std::string& list_name, int start_index, int end_index)
{
    if (list_name.empty())
        throw ParameterException("The list name must have length greater than zero", __FILE__, __LINE__);
    elc_dataset** ds = nullptr;
    size_t n = 0;
    check_core(elc_get_dataset_list_range(core(H), list_name.c_str(), start_index, end_index, &ds, &n));
    std::vector<DataSet> v;
    v.reserve(n);
    size_t i = 0;
    try {
        for (; i < n; i++) {
            sr_dataset* d = sr_dataset_wrap(ds[i]);
            if (!d) throw BadAllocException("out of memory", __FILE__, __LINE__);
            v.push_back(DataSet(d, 0));
        }
    } catch (...) {
        for (; i < n; i++) elc_dataset_destroy(ds[i]);
        elc_free(ds);
        throw;
    }
    elc_free(ds);
    return v;
}

std::vector<DataSet> Client::get_datasets_from_list(const std::string& list_name)
{
    return get_dataset_list_range(list_name, 0, -1);
}

void Client::set_model_chunk_size(int chunk_size) { check_core(elc_set_model_chunk_size(core(H), chunk_size)); }

std::string Client::to_string() const { return _handle ? client_to_string(_handle) : "Client (moved from)"; }

}  // namespace SmartRedis
