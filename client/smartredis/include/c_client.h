/* c_client.h — the SmartRedis 0.6.1 C client API on the eddylearn client.
 *
 * Same function names, argument lists and SRError codes as SmartRedis 0.6.1. A client is an
 * opaque void* handle. Names are passed with their length (excluding any NUL). Every function
 * returns SRNoError on success; the message and location of the last error of the calling
 * thread are returned by SRGetLastError() and SRGetLastErrorLocation(). Memory that a get_*
 * function returns stays owned by the client and is valid until the client is deleted. */
#ifndef SMARTREDIS_C_CLIENT_H
#define SMARTREDIS_C_CLIENT_H

#include <stdlib.h>
#include <stdbool.h>
#include "client.h"
#include "sr_enums.h"
#include "srexception.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- construction ---- */
/* Client configured from the environment (SSDB, SR_DB_TYPE, ...). */
SRError SimpleCreateClient(const char* logger_name, const size_t logger_name_length,
                           void** new_client);
/* Client configured from a ConfigOptions object (create_configoptions_from_environment). */
SRError CreateClient(void* config_options, const char* logger_name,
                     const size_t logger_name_length, void** new_client);
/* Deprecated constructor: cluster given explicitly, address from SSDB. */
SRError SmartRedisCClient(bool cluster, const char* logger_name,
                          const size_t logger_name_length, void** new_client);
/* Destroy a client; *c_client is set to NULL. */
SRError DeleteCClient(void** c_client);

/* ---- datasets ---- */
SRError put_dataset(void* c_client, void* dataset);
SRError get_dataset(void* c_client, const char* name, const size_t name_length, void** dataset);
SRError rename_dataset(void* c_client, const char* old_name, const size_t old_name_length,
                       const char* new_name, const size_t new_name_length);
SRError copy_dataset(void* c_client, const char* src_name, const size_t src_name_length,
                     const char* dest_name, const size_t dest_name_length);
SRError delete_dataset(void* c_client, const char* name, const size_t name_length);

/* ---- tensors ---- */
SRError put_tensor(void* c_client, const char* name, const size_t name_length, void* data,
                   const size_t* dims, const size_t n_dims, SRTensorType type,
                   SRMemoryLayout mem_layout);
/* *data and *dims are owned by the client (valid until DeleteCClient). */
SRError get_tensor(void* c_client, const char* name, const size_t name_length, void** data,
                   size_t** dims, size_t* n_dims, SRTensorType* type,
                   SRMemoryLayout mem_layout);
SRError unpack_tensor(void* c_client, const char* name, const size_t name_length, void* result,
                      const size_t* dims, const size_t n_dims, SRTensorType type,
                      SRMemoryLayout mem_layout);
SRError rename_tensor(void* c_client, const char* old_name, const size_t old_name_length,
                      const char* new_name, const size_t new_name_length);
SRError delete_tensor(void* c_client, const char* name, const size_t name_length);
SRError copy_tensor(void* c_client, const char* src_name, const size_t src_name_length,
                    const char* dest_name, const size_t dest_name_length);

/* ---- models and scripts ---- */
/* true for the TF and TFLITE backends */
bool _isTensorFlow(const char* backend);
/* Parameter checks shared by the set_model functions; they record an SRParameterError
 * (SRGetLastError) instead of returning one. */
void _check_params_set_model(void* c_client, const char* name, const char* backend,
                             const char** inputs, const size_t* input_lengths,
                             const size_t n_inputs, const char** outputs,
                             const size_t* output_lengths, const size_t n_outputs);
SRError set_model_from_file(void* c_client, const char* name, const size_t name_length,
                            const char* model_file, const size_t model_file_length,
                            const char* backend, const size_t backend_length,
                            const char* device, const size_t device_length,
                            const int batch_size, const int min_batch_size,
                            const int min_batch_timeout, const char* tag,
                            const size_t tag_length, const char** inputs,
                            const size_t* input_lengths, const size_t n_inputs,
                            const char** outputs, const size_t* output_lengths,
                            const size_t n_outputs);
SRError set_model_from_file_multigpu(void* c_client, const char* name, const size_t name_length,
                                     const char* model_file, const size_t model_file_length,
                                     const char* backend, const size_t backend_length,
                                     const int first_gpu, const int num_gpus,
                                     const int batch_size, const int min_batch_size,
                                     const int min_batch_timeout, const char* tag,
                                     const size_t tag_length, const char** inputs,
                                     const size_t* input_lengths, const size_t n_inputs,
                                     const char** outputs, const size_t* output_lengths,
                                     const size_t n_outputs);
SRError set_model(void* c_client, const char* name, const size_t name_length,
                  const char* model, const size_t model_length, const char* backend,
                  const size_t backend_length, const char* device, const size_t device_length,
                  const int batch_size, const int min_batch_size, const int min_batch_timeout,
                  const char* tag, const size_t tag_length, const char** inputs,
                  const size_t* input_lengths, const size_t n_inputs, const char** outputs,
                  const size_t* output_lengths, const size_t n_outputs);
SRError set_model_multigpu(void* c_client, const char* name, const size_t name_length,
                           const char* model, const size_t model_length, const char* backend,
                           const size_t backend_length, const int first_gpu, const int num_gpus,
                           const int batch_size, const int min_batch_size,
                           const int min_batch_timeout, const char* tag,
                           const size_t tag_length, const char** inputs,
                           const size_t* input_lengths, const size_t n_inputs,
                           const char** outputs, const size_t* output_lengths,
                           const size_t n_outputs);
/* *model is owned by the client (valid until DeleteCClient). */
SRError get_model(void* c_client, const char* name, const size_t name_length,
                  size_t* model_length, const char** model);
SRError set_script_from_file(void* c_client, const char* name, const size_t name_length,
                             const char* device, const size_t device_length,
                             const char* script_file, const size_t script_file_length);
SRError set_script_from_file_multigpu(void* c_client, const char* name,
                                      const size_t name_length, const char* script_file,
                                      const size_t script_file_length, const int first_gpu,
                                      const int num_gpus);
SRError set_script(void* c_client, const char* name, const size_t name_length,
                   const char* device, const size_t device_length, const char* script,
                   const size_t script_length);
SRError set_script_multigpu(void* c_client, const char* name, const size_t name_length,
                            const char* script, const size_t script_length,
                            const int first_gpu, const int num_gpus);
/* *script is owned by the client (valid until DeleteCClient). */
SRError get_script(void* c_client, const char* name, const size_t name_length,
                   const char** script, size_t* script_length);
void _check_params_run_script(void* c_client, const char* name, const char* function,
                              const char** inputs, const size_t* input_lengths,
                              const size_t n_inputs, const char** outputs,
                              const size_t* output_lengths, const size_t n_outputs);
SRError run_script(void* c_client, const char* name, const size_t name_length,
                   const char* function, const size_t function_length, const char** inputs,
                   const size_t* input_lengths, const size_t n_inputs, const char** outputs,
                   const size_t* output_lengths, const size_t n_outputs);
SRError run_script_multigpu(void* c_client, const char* name, const size_t name_length,
                            const char* function, const size_t function_length,
                            const char** inputs, const size_t* input_lengths,
                            const size_t n_inputs, const char** outputs,
                            const size_t* output_lengths, const size_t n_outputs,
                            const int offset, const int first_gpu, const int num_gpus);
void _check_params_run_model(void* c_client, const char* name, const char** inputs,
                             const size_t* input_lengths, const size_t n_inputs,
                             const char** outputs, const size_t* output_lengths,
                             const size_t n_outputs);
SRError run_model(void* c_client, const char* name, const size_t name_length,
                  const char** inputs, const size_t* input_lengths, const size_t n_inputs,
                  const char** outputs, const size_t* output_lengths, const size_t n_outputs);
SRError run_model_multigpu(void* c_client, const char* name, const size_t name_length,
                           const char** inputs, const size_t* input_lengths,
                           const size_t n_inputs, const char** outputs,
                           const size_t* output_lengths, const size_t n_outputs,
                           const int offset, const int first_gpu, const int num_gpus);
SRError delete_model(void* c_client, const char* name, const size_t name_length);
SRError delete_model_multigpu(void* c_client, const char* name, const size_t name_length,
                              const int first_gpu, const int num_gpus);
SRError delete_script(void* c_client, const char* name, const size_t name_length);
SRError delete_script_multigpu(void* c_client, const char* name, const size_t name_length,
                               const int first_gpu, const int num_gpus);

/* ---- existence and polling ---- */
SRError key_exists(void* c_client, const char* key, const size_t key_length, bool* exists);
SRError tensor_exists(void* c_client, const char* name, const size_t name_length, bool* exists);
SRError model_exists(void* c_client, const char* name, const size_t name_length, bool* exists);
SRError dataset_exists(void* c_client, const char* name, const size_t name_length,
                       bool* exists);
SRError poll_key(void* c_client, const char* key, const size_t key_length,
                 const int poll_frequency_ms, const int num_tries, bool* exists);
SRError poll_model(void* c_client, const char* name, const size_t name_length,
                   const int poll_frequency_ms, const int num_tries, bool* exists);
SRError poll_tensor(void* c_client, const char* name, const size_t name_length,
                    const int poll_frequency_ms, const int num_tries, bool* exists);
SRError poll_dataset(void* c_client, const char* name, const size_t name_length,
                     const int poll_frequency_ms, const int num_tries, bool* exists);

/* ---- ensemble prefixes ---- */
SRError set_data_source(void* c_client, const char* source_id, const size_t source_id_length);
SRError use_tensor_ensemble_prefix(void* c_client, bool use_prefix);
SRError use_dataset_ensemble_prefix(void* c_client, bool use_prefix);
SRError use_model_ensemble_prefix(void* c_client, bool use_prefix);
SRError use_list_ensemble_prefix(void* c_client, bool use_prefix);

/* ---- aggregation lists ---- */
SRError append_to_list(void* c_client, const char* list_name, const size_t list_name_length,
                       const void* dataset);
SRError delete_list(void* c_client, const char* list_name, const size_t list_name_length);
SRError copy_list(void* c_client, const char* src_name, const size_t src_name_length,
                  const char* dest_name, const size_t dest_name_length);
SRError rename_list(void* c_client, const char* src_name, const size_t src_name_length,
                    const char* dest_name, const size_t dest_name_length);
SRError get_list_length(void* c_client, const char* list_name, const size_t list_name_length,
                        int* result_length);
/* poll_list_length: length == list_length; _gte: >=; _lte: <= */
SRError poll_list_length(void* c_client, const char* name, const size_t name_length,
                         int list_length, int poll_frequency_ms, int num_tries,
                         bool* poll_result);
SRError poll_list_length_gte(void* c_client, const char* name, const size_t name_length,
                             int list_length, int poll_frequency_ms, int num_tries,
                             bool* poll_result);
SRError poll_list_length_lte(void* c_client, const char* name, const size_t name_length,
                             int list_length, int poll_frequency_ms, int num_tries,
                             bool* poll_result);
/* *datasets: an array of dataset handles owned by the client (the datasets themselves are
 * released by the caller with DeallocateDataSet). */
SRError get_datasets_from_list(void* c_client, const char* list_name,
                               const size_t list_name_length, void*** datasets,
                               size_t* num_datasets);
/* Inclusive range, negative indices from the end (-1: last). */
SRError get_dataset_list_range(void* c_client, const char* list_name,
                               const size_t list_name_length, const int start_index,
                               const int end_index, void*** datasets, size_t* num_datasets);
/* Same, into a caller array of end-start+1 handles (the Fortran client's entry point). */
SRError _get_dataset_list_range_allocated(void* c_client, const char* list_name,
                                          const size_t list_name_length, const int start_index,
                                          const int end_index, void** datasets);

/* Text describing the client (owned by the client). */
const char* client_to_string(void* c_client);

#ifdef __cplusplus
}
#endif
#endif /* SMARTREDIS_C_CLIENT_H */
