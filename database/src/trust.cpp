// The trust model for TorchScript (see trust.h and docs/database.md, "Trust model").
#include "trust.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/api/compilation_unit.h>
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/runtime/operator.h>

#include <cstring>
#include <sstream>
#include <stdexcept>
#include <unordered_set>

namespace eai {

namespace {

bool g_trusted = false;

// Operators with side effects outside the process's memory, or that read or write memory
// without bounds checks. An entry ending in "::" denies a whole namespace.
struct Denied {
    const char *name;
    const char *reason;
};
const Denied kDenyList[] = {
    {"aten::from_file", "reads, maps or creates a file"},
    {"aten::save", "writes a file"},
    {"prim::rpc_async", "calls another process over a socket (torch.distributed.rpc)"},
    {"prim::rpc_sync", "calls another process over a socket (torch.distributed.rpc)"},
    {"prim::rpc_remote", "calls another process over a socket (torch.distributed.rpc)"},
    {"c10d::", "process-group communication over sockets with other processes"},
    {"_c10d_functional::", "collective communication over sockets with other processes"},
    {"_c10d_functional_autograd::", "collective communication over sockets with other processes"},
    {"_dtensor::", "collective communication over sockets with other processes"},
    {"symm_mem::", "memory shared with other processes"},
    {"inductor::", "compiler-internal operators that reinterpret memory without bounds checks"},
    {"debugprims::", "debugging hooks that read tensors registered outside the model"},
};
// TorchBind classes (C++ objects such as the distributed stores, which open files and
// sockets) appear under this prefix in types and in the archive's pickles.
constexpr const char *kTorchBindPrefix = "__torch__.torch.classes.";
constexpr const char *kTorchBindMarker = "torch.classes";

const Denied *denied(const std::string &qual) {
    for (const auto &d : kDenyList) {
        size_t n = strlen(d.name);
        bool ns = n >= 2 && d.name[n - 1] == ':' && d.name[n - 2] == ':';
        if (ns ? qual.compare(0, n, d.name) == 0 : qual == d.name) return &d;
    }
    return nullptr;
}

std::string refusal(const std::string &what, const char *reason) {
    return "ERR TorchScript refused: it uses " + what + ", which " + reason +
           " (denied unless the module is loaded with TRUST_TORCHSCRIPT yes)";
}

// Walks graphs and types; every function and class is visited once. Classes reached through
// values (objects of TorchScript classes) have their methods walked too.
struct Walker {
    std::string *err;
    std::unordered_set<const void *> seen;

    bool type_ok(const c10::TypePtr &t) {
        if (!t) return true;
        if (t->kind() == c10::TypeKind::ClassType) {
            auto cls = t->expect<c10::ClassType>();
            if (cls->name() && cls->name()->qualifiedName().rfind(kTorchBindPrefix, 0) == 0) {
                *err = refusal("the TorchBind class " + cls->name()->qualifiedName(),
                               "is a C++ object outside the deny-list checks (stores open files and sockets)");
                return false;
            }
            if (!class_ok(cls)) return false;
        }
        if (t->kind() == c10::TypeKind::CapsuleType) {
            *err = refusal("a Capsule value", "holds an opaque C++ object");
            return false;
        }
        for (const auto &c : t->containedTypes())
            if (!type_ok(c)) return false;
        return true;
    }

    bool class_ok(const c10::ClassTypePtr &cls) {
        if (!seen.insert(cls.get()).second) return true;
        for (torch::jit::Function *f : cls->methods())
            if (!function_ok(f)) return false;
        for (size_t i = 0; i < cls->numAttributes(); i++)
            if (!type_ok(cls->getAttribute(i))) return false;
        return true;
    }

    bool node_ok(const torch::jit::Node *n, const std::string &fn) {
        std::string kind = n->kind().toQualString();
        if (const Denied *d = denied(kind)) {
            *err = refusal(kind + " (in " + fn + ")", d->reason);
            return false;
        }
        for (const torch::jit::Value *v : n->outputs())
            if (!type_ok(v->type())) return false;
        for (const torch::jit::Block *b : n->blocks())
            if (!block_ok(b, fn)) return false;
        return true;
    }

    bool block_ok(const torch::jit::Block *b, const std::string &fn) {
        for (const torch::jit::Value *v : b->inputs())
            if (!type_ok(v->type())) return false;
        for (const torch::jit::Node *n : b->nodes())
            if (!node_ok(n, fn)) return false;
        return true;
    }

    bool function_ok(torch::jit::Function *f) {
        if (!seen.insert(f).second) return true;
        torch::jit::GraphFunction *g = torch::jit::tryToGraphFunction(*f);
        if (!g) return true;  // builtin operators are checked where they are used
        g->ensure_defined();
        return block_ok(g->graph()->block(), f->qualname().qualifiedName());
    }
};

// Replaces every registered operator that matches the deny list by one that throws.
void replace_denied_operators() {
    for (const auto &op : torch::jit::getAllOperators()) {
        const c10::FunctionSchema &schema = op->schema();
        const Denied *d = denied(schema.name());
        if (!d) continue;
        std::ostringstream text;
        text << schema;
        std::string msg = refusal(schema.name(), d->reason);
        c10::FunctionSchema copy = schema;
        torch::jit::deregisterOperator(copy);
        try {
            torch::jit::registerOperator(torch::jit::Operator(
                text.str(), [msg](torch::jit::Stack &) { throw std::runtime_error(msg); },
                c10::AliasAnalysisKind::CONSERVATIVE));
        } catch (...) {
            // The operator stays removed: TorchScript that names it does not compile.
        }
    }
}

bool ends_with(const std::string &s, const char *suffix) {
    size_t n = strlen(suffix);
    return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

}  // namespace

namespace {
struct BytesReader final : caffe2::serialize::ReadAdapterInterface {
    explicit BytesReader(const std::string &b) : bytes(b) {}
    size_t size() const override { return bytes.size(); }
    size_t read(uint64_t pos, void *buf, size_t n, const char *) const override {
        if (pos >= bytes.size()) return 0;
        size_t k = std::min<size_t>(n, bytes.size() - pos);
        memcpy(buf, bytes.data() + pos, k);
        return k;
    }
    const std::string &bytes;
};
}  // namespace

std::shared_ptr<caffe2::serialize::ReadAdapterInterface> bytes_reader(const std::string &bytes) {
    return std::make_shared<BytesReader>(bytes);
}

void trust_install(bool trusted) {
    g_trusted = trusted;
    if (!trusted) replace_denied_operators();
}

bool trust_is_trusted() { return g_trusted; }

std::string trust_deny_list() {
    std::string s;
    for (const auto &d : kDenyList) s += std::string(d.name) + (d.name[strlen(d.name) - 1] == ':' ? "*" : "") + ": " + d.reason + "\n";
    s += std::string(kTorchBindPrefix) + "*: TorchBind C++ classes\n";
    return s;
}

bool trust_check_archive(const std::string &blob, std::string *err) {
    caffe2::serialize::PyTorchStreamReader reader(bytes_reader(blob));
    for (const std::string &name : reader.getAllRecords()) {
        bool code = ends_with(name, ".py");
        if (!code && !ends_with(name, ".pkl")) continue;
        auto [data, len] = reader.getRecord(name);
        const char *p = static_cast<const char *>(data.get());
        if (!g_trusted) {
            std::string_view view(p, len);
            if (view.find(kTorchBindMarker) != std::string_view::npos) {
                *err = refusal("a TorchBind class (torch.classes.*) in " + name,
                               "is a C++ object outside the deny-list checks (stores open files and sockets)");
                return false;
            }
        }
        if (code && !source_nesting_ok(p, len, err)) {
            *err += " (in " + name + ")";
            return false;
        }
    }
    return true;
}

bool trust_check_unit(const torch::jit::CompilationUnit &cu, std::string *err) {
    if (g_trusted) return true;
    Walker w{err, {}};
    for (torch::jit::Function *f : cu.get_functions())
        if (!w.function_ok(f)) return false;
    return true;
}

bool trust_check_module(const torch::jit::Module &m, std::string *err) {
    if (g_trusted) return true;
    Walker w{err, {}};
    for (torch::jit::Function *f : m._ivalue()->compilation_unit()->get_functions())
        if (!w.function_ok(f)) return false;
    if (!w.class_ok(m.type())) return false;
    for (const auto &a : m.named_attributes(/*recurse=*/true)) {
        if (a.value.isCustomClass() || a.value.isCapsule()) {
            *err = refusal("the attribute " + a.name, "holds a C++ object outside the deny-list checks");
            return false;
        }
        if (!w.type_ok(a.value.type())) return false;
    }
    return true;
}

// ---- nesting ------------------------------------------------------------------------------
namespace {
constexpr int kMaxBrackets = 100;         // open (, [ and { at once
constexpr int kMaxIndentLevels = 100;     // nested blocks
constexpr int kMaxUnaryChain = 100;       // consecutive unary operators: - - - x, not not x
constexpr int kMaxOperatorsPerLine = 2000;  // operators in one logical line (a+a+…, a**a**…)

bool word_char(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; }
}  // namespace

bool source_nesting_ok(const char *s, size_t n, std::string *err) {
    int depth = 0, unary = 0, ops = 0;
    std::vector<int> indents{0};
    bool line_start = true;
    auto fail = [&](const std::string &what, int limit) {
        *err = "ERR TorchScript source refused: " + what + " nested deeper than " + std::to_string(limit) +
               " (a limit that keeps the compiler's stack safe)";
        return false;
    };
    for (size_t i = 0; i < n;) {
        char c = s[i];
        if (line_start && depth == 0) {
            int w = 0;
            size_t j = i;
            while (j < n && (s[j] == ' ' || s[j] == '\t')) w += (s[j++] == '\t') ? 8 - (w % 8) : 1;
            line_start = false;
            if (j < n && s[j] != '\n' && s[j] != '\r' && s[j] != '#') {
                while (indents.back() > w) indents.pop_back();
                if (indents.back() < w) indents.push_back(w);
                if (static_cast<int>(indents.size()) - 1 > kMaxIndentLevels) return fail("blocks are", kMaxIndentLevels);
            }
            i = j;
            continue;
        }
        if (c == '\n') {
            if (depth == 0) {
                line_start = true;
                ops = 0;
            }
            unary = 0;
            i++;
            continue;
        }
        if (c == '#') {
            while (i < n && s[i] != '\n') i++;
            continue;
        }
        if (c == '\'' || c == '"') {  // string literal, possibly triple-quoted
            bool triple = i + 2 < n && s[i + 1] == c && s[i + 2] == c;
            size_t j = i + (triple ? 3 : 1);
            while (j < n) {
                if (s[j] == '\\') {
                    j += 2;
                    continue;
                }
                if (s[j] == c && (!triple || (j + 2 < n && s[j + 1] == c && s[j + 2] == c))) break;
                if (!triple && s[j] == '\n') break;
                j++;
            }
            i = std::min(n, j + (triple ? 3 : 1));
            unary = 0;
            continue;
        }
        if (c == '(' || c == '[' || c == '{') {
            if (++depth > kMaxBrackets) return fail("brackets are", kMaxBrackets);
            unary = 0;
            i++;
            continue;
        }
        if (c == ')' || c == ']' || c == '}') {
            if (depth > 0) depth--;
            unary = 0;
            i++;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\\') {
            i++;
            continue;
        }
        if (c == '-' || c == '+' || c == '~') {
            if (++unary > kMaxUnaryChain) return fail("unary operators are", kMaxUnaryChain);
            if (++ops > kMaxOperatorsPerLine) return fail("operators in one expression are", kMaxOperatorsPerLine);
            i++;
            continue;
        }
        if (strchr("*/%&|^<>=@", c)) {
            if (++ops > kMaxOperatorsPerLine) return fail("operators in one expression are", kMaxOperatorsPerLine);
            unary = 0;
            i++;
            continue;
        }
        if (word_char(c)) {
            size_t j = i;
            while (j < n && word_char(s[j])) j++;
            std::string_view w(s + i, j - i);
            if (w == "not") {
                if (++unary > kMaxUnaryChain) return fail("unary operators are", kMaxUnaryChain);
                if (++ops > kMaxOperatorsPerLine) return fail("operators in one expression are", kMaxOperatorsPerLine);
            } else {
                if (w == "and" || w == "or" || w == "if" || w == "else" || w == "lambda") {
                    if (++ops > kMaxOperatorsPerLine) return fail("operators in one expression are", kMaxOperatorsPerLine);
                }
                unary = 0;
            }
            i = j;
            continue;
        }
        unary = 0;
        i++;
    }
    return true;
}

}  // namespace eai
