/* client.h — SmartRedis 0.6.1 Client (C++) on the eddylearn client. Every method throws the
 * SmartRedis::Exception subclass of srexception.h that matches the failure. */
#ifndef SMARTREDIS_CLIENT_H
#define SMARTREDIS_CLIENT_H

#include <stdlib.h>
#include "sr_enums.h"
#include "srobject.h"
#include "dataset.h"
#include "configoptions.h"
#include "logger.h"
#include "srexception.h"

#ifdef __cplusplus
/* SmartRedis's client.h brings these standard headers in, and codes written for it use
 * std::cout, std::ifstream, std::this_thread, ... with no include of their own. */
#include <string.h>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace SmartRedis {

/* INFO sections: section -> (field -> value) */
typedef std::unordered_map<std::string, std::unordered_map<std::string, std::string>> parsed_reply_nested_map;
/* field -> value */
typedef std::unordered_map<std::string, std::string> parsed_reply_map;

class Client : public SRObject {
  public:
    Client(const char* logger_name);
    Client(const std::string& logger_name = "default") : Client(logger_name.c_str()) {}
    Client(ConfigOptions* cfgopts, const std::string& logger_name = "default");
    /* Deprecated: cluster given explicitly, the address from SSDB. */
    Client(bool cluster, const std::string& logger_name = "default");
    Client(const Client& client) = delete;
    Client(Client&& client) noexcept;
    Client& operator=(const Client& client) = delete;
    Client& operator=(Client&& client) noexcept;
    virtual ~Client();

    void put_dataset(DataSet& dataset);
    DataSet get_dataset(const std::string& name);
    void rename_dataset(const std::string& old_name, const std::string& new_name);
    void copy_dataset(const std::string& src_name, const std::string& dest_name);
    void delete_dataset(const std::string& name);

    void put_tensor(const std::string& name, const void* data, const std::vector<size_t>& dims,
                    const SRTensorType type, const SRMemoryLayout mem_layout);
    /* data (and dims) stay owned by the Client until it is destroyed */
    void get_tensor(const std::string& name, void*& data, std::vector<size_t>& dims,
                    SRTensorType& type, const SRMemoryLayout mem_layout);
    void get_tensor(const std::string& name, void*& data, size_t*& dims, size_t& n_dims,
                    SRTensorType& type, const SRMemoryLayout mem_layout);
    void unpack_tensor(const std::string& name, void* data, const std::vector<size_t>& dims,
                       const SRTensorType type, const SRMemoryLayout mem_layout);
    void rename_tensor(const std::string& old_name, const std::string& new_name);
    void delete_tensor(const std::string& name);
    void copy_tensor(const std::string& src_name, const std::string& dest_name);

    void set_model_from_file(const std::string& name, const std::string& model_file,
                             const std::string& backend, const std::string& device,
                             int batch_size = 0, int min_batch_size = 0, int min_batch_timeout = 0,
                             const std::string& tag = "",
                             const std::vector<std::string>& inputs = std::vector<std::string>(),
                             const std::vector<std::string>& outputs = std::vector<std::string>());
    void set_model_from_file_multigpu(const std::string& name, const std::string& model_file,
                                      const std::string& backend, int first_gpu, int num_gpus,
                                      int batch_size = 0, int min_batch_size = 0,
                                      int min_batch_timeout = 0, const std::string& tag = "",
                                      const std::vector<std::string>& inputs = std::vector<std::string>(),
                                      const std::vector<std::string>& outputs = std::vector<std::string>());
    void set_model(const std::string& name, const std::string_view& model,
                   const std::string& backend, const std::string& device, int batch_size = 0,
                   int min_batch_size = 0, int min_batch_timeout = 0, const std::string& tag = "",
                   const std::vector<std::string>& inputs = std::vector<std::string>(),
                   const std::vector<std::string>& outputs = std::vector<std::string>());
    void set_model_multigpu(const std::string& name, const std::string_view& model,
                            const std::string& backend, int first_gpu, int num_gpus,
                            int batch_size = 0, int min_batch_size = 0, int min_batch_timeout = 0,
                            const std::string& tag = "",
                            const std::vector<std::string>& inputs = std::vector<std::string>(),
                            const std::vector<std::string>& outputs = std::vector<std::string>());
    /* the view stays valid until the Client is destroyed */
    std::string_view get_model(const std::string& name);
    void set_script_from_file(const std::string& name, const std::string& device,
                              const std::string& script_file);
    void set_script_from_file_multigpu(const std::string& name, const std::string& script_file,
                                       int first_gpu, int num_gpus);
    void set_script(const std::string& name, const std::string& device,
                    const std::string_view& script);
    void set_script_multigpu(const std::string& name, const std::string_view& script,
                             int first_gpu, int num_gpus);
    std::string_view get_script(const std::string& name);
    void run_model(const std::string& name, const std::vector<std::string> inputs,
                   const std::vector<std::string> outputs);
    void run_model_multigpu(const std::string& name, const std::vector<std::string> inputs,
                            const std::vector<std::string> outputs, int offset, int first_gpu,
                            int num_gpus);
    void run_script(const std::string& name, const std::string& function,
                    const std::vector<std::string> inputs, const std::vector<std::string> outputs);
    void run_script_multigpu(const std::string& name, const std::string& function,
                             const std::vector<std::string> inputs,
                             const std::vector<std::string> outputs, int offset, int first_gpu,
                             int num_gpus);
    void delete_model(const std::string& name);
    void delete_model_multigpu(const std::string& name, int first_gpu, int num_gpus);
    void delete_script(const std::string& name);
    void delete_script_multigpu(const std::string& name, int first_gpu, int num_gpus);

    bool key_exists(const std::string& key);
    bool model_exists(const std::string& name);
    bool tensor_exists(const std::string& name);
    bool dataset_exists(const std::string& name);
    bool poll_key(const std::string& key, int poll_frequency_ms, int num_tries);
    bool poll_tensor(const std::string& name, int poll_frequency_ms, int num_tries);
    bool poll_dataset(const std::string& name, int poll_frequency_ms, int num_tries);
    bool poll_model(const std::string& name, int poll_frequency_ms, int num_tries);

    void set_data_source(std::string source_id);
    void use_tensor_ensemble_prefix(bool use_prefix);
    void use_dataset_ensemble_prefix(bool use_prefix);
    void use_model_ensemble_prefix(bool use_prefix);
    void use_list_ensemble_prefix(bool use_prefix);

    parsed_reply_nested_map get_db_node_info(const std::string address);
    parsed_reply_map get_db_cluster_info(const std::string address);
    parsed_reply_map get_ai_info(const std::string& address, const std::string& key,
                                 bool reset_stat);
    void flush_db(const std::string address);
    std::unordered_map<std::string, std::string> config_get(const std::string expression,
                                                            const std::string address);
    void config_set(const std::string config_param, const std::string value,
                    const std::string address);
    void save(const std::string address);

    void append_to_list(const std::string& list_name, const DataSet& dataset);
    void delete_list(const std::string& list_name);
    void copy_list(const std::string& src_name, const std::string& dest_name);
    void rename_list(const std::string& src_name, const std::string& dest_name);
    int get_list_length(const std::string& list_name);
    bool poll_list_length(const std::string& name, int list_length, int poll_frequency_ms,
                          int num_tries);
    bool poll_list_length_gte(const std::string& name, int list_length, int poll_frequency_ms,
                              int num_tries);
    bool poll_list_length_lte(const std::string& name, int list_length, int poll_frequency_ms,
                              int num_tries);
    std::vector<DataSet> get_datasets_from_list(const std::string& list_name);
    std::vector<DataSet> get_dataset_list_range(const std::string& list_name, int start_index,
                                                int end_index);
    void set_model_chunk_size(int chunk_size);
    std::string to_string() const;

    /* The C handle (c_client.h) this object wraps; owned by the Client. */
    void* c_handle() const { return _handle; }

  protected:
    const void* _c_context() const override { return _handle; }

  private:
    void* _handle;
};

inline std::ostream& operator<<(std::ostream& stream, const Client& client)
{
    stream << client.to_string();
    return stream;
}

}  // namespace SmartRedis
#endif /* __cplusplus */
#endif /* SMARTREDIS_CLIENT_H */
