// The trust model for TorchScript: which operators a stored model or script may use, and the
// checks that enforce it (docs/database.md, "Trust model"). Only backend_torch.cpp calls these.
#pragma once

#include <memory>
#include <string>

namespace caffe2::serialize {
class ReadAdapterInterface;
}  // namespace caffe2::serialize
namespace torch::jit {
struct Module;
struct CompilationUnit;
}  // namespace torch::jit

namespace eai {

// Installs the trust model once, at module load. Untrusted (the default): every operator of the
// deny list is replaced in libtorch's operator registry by one that refuses to run, so that no
// TorchScript, whatever path reaches it (__setstate__ during a load included), can use it.
// Trusted (TRUST_TORCHSCRIPT yes): nothing is replaced and the checks below accept everything.
void trust_install(bool trusted);
bool trust_is_trusted();
// The deny list as documentation: one "name: reason" line per entry.
std::string trust_deny_list();

// Reads an archive straight from `bytes` (no copy); `bytes` must outlive the reader.
std::shared_ptr<caffe2::serialize::ReadAdapterInterface> bytes_reader(const std::string &bytes);

// Checks the bytes of a TorchScript archive before libtorch loads them: the code records must
// pass source_nesting_ok and no record may name a TorchBind class (torch.classes.*).
bool trust_check_archive(const std::string &blob, std::string *err);
// Walks every graph of a loaded module (all functions and methods of its compilation unit,
// submodules and __setstate__ included) and the types of its attributes against the deny list.
bool trust_check_module(const torch::jit::Module &m, std::string *err);
// The same walk for the functions of a compiled script.
bool trust_check_unit(const torch::jit::CompilationUnit &cu, std::string *err);

// Refuses source text whose nesting (brackets, indentation, chains of unary operators, operands
// of one expression) could exhaust the TorchScript compiler's stack.
bool source_nesting_ok(const char *src, size_t len, std::string *err);

}  // namespace eai
