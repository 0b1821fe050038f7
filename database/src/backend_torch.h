// The TorchScript backend: loads traced or scripted modules and compiles script sources with
// the libtorch of the installed torch wheel. Every function catches the C++ exceptions of
// libtorch and reports them through `err`; none of them throws.
#pragma once

#include <string>
#include <vector>

#include "objects.h"

namespace eai {

// Sets intra-op and inter-op thread counts. intra_op 0 shares libtorch's default (the
// number of cores) among the `workers` threads of a queue, so that concurrent runs do not
// oversubscribe the cores; inter_op 0 keeps libtorch's default.
void torch_configure_threads(long long intra_op, long long inter_op, long long workers);
std::string torch_version_string();
// Gives libtorch's CPU tensors their own jemalloc arena when the server runs on jemalloc
// (Debian's redis-server does); returns a line for the log. See backend_torch.cpp.
std::string torch_install_allocator();
// Called once at the start of every worker thread: applies the intra-op thread count to the
// thread (OpenMP keeps it per thread).
void torch_worker_thread_init();
// Checks that a device string can run here (CPU always; GPU only when CUDA is visible).
bool torch_device_usable(const std::string &device, std::string *err);

TorchModel *torch_model_load(const std::string &blob, const std::string &device, std::string *err);
void torch_model_free(TorchModel *m);
// Number of Tensor arguments of forward(), or -1 when the schema does not fix it.
int torch_model_num_inputs(const TorchModel *m);
// Runs forward() on the inputs; on success appends one new tensor per output.
bool torch_model_run(TorchModel *m, const std::vector<Tensor *> &inputs,
                     std::vector<Tensor *> *outputs, std::string *err);

TorchScript *torch_script_compile(const std::string &source, const std::string &device,
                                  std::string *err);
void torch_script_free(TorchScript *s);
bool torch_script_has_function(const TorchScript *s, const std::string &fn);
// Runs function `fn`. Functions of the form f(List[Tensor], List[str], List[str]) receive
// (inputs, keys, args); others receive the inputs positionally, a trailing List[Tensor]
// argument taking the rest.
bool torch_script_run(TorchScript *s, const std::string &fn, const std::vector<Tensor *> &inputs,
                      const std::vector<std::string> &keys, const std::vector<std::string> &args,
                      std::vector<Tensor *> *outputs, std::string *err);

}  // namespace eai
