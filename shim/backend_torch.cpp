// The libtorch backend: loads the TorchScript modules of a bundle (docs/MODELS.md) and runs them on
// CPU or CUDA.  This is the only C++ in the project.  Every entry point catches every exception and
// turns it into an adn_status with a one-line message; nothing C++ crosses lib/backend.h.
#include "backend.h"
#include "cpu.h"
#include "internal.h"
#include "large_block_allocator.h"

#include <ATen/Parallel.h>
#include <caffe2/serialize/read_adapter_interface.h>
#include <torch/cuda.h>
#include <torch/csrc/jit/frontend/error_report.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/script.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace {

struct torch_state {
    torch::jit::Module encoder;
    torch::jit::Module decoder;
    std::optional<torch::jit::Module> depth;
    torch::Device device{torch::kCPU};
    // adn_model_params.precision for the encoder and decoder (the depth network stays float32).
    // Below float32 the modules hold their weights in this type.  op_encode / op_decode convert at
    // the boundary, so lib/ only sees contiguous float32.
    c10::ScalarType dtype{torch::kFloat32};
};

}  // namespace

// A tensor handed to lib/ (features or a raw depth map).  On CPU `host` is the tensor itself, so
// the C math edits the encoder's output in place; on CUDA it is a host copy made on demand.
struct adn_tensor {
    torch::Tensor value;  // on the model's device, contiguous float32 [1, C, H, W]
    torch::Tensor host;   // contiguous float32 CPU view or copy; undefined until host_view
};

namespace {

// A module broke the bundle contract at run time (returned a tuple, say): ADN_ERR_MODEL wherever
// it happens, since no retry or other input can fix it.
struct contract_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string trimmed(const std::string &line) {
    size_t begin = line.find_first_not_of(" \t\r");
    if (begin == std::string::npos) return "";
    size_t end = line.find_last_not_of(" \t\r");
    return line.substr(begin, end - begin + 1);
}

// Lines of a TorchScript report that show where, not what: source excerpts, carets, headings.
bool is_context_line(const std::string &line) {
    static const char *const headings[] = {"File \"", "Traceback of TorchScript", "The following operation failed",
                                           "Serialized   File", "Exception raised from", "Compiled from code"};
    if (line.find("<--- HERE") != std::string::npos) return true;
    if (line.find_first_not_of("~^ ") == std::string::npos) return true;
    for (const char *h : headings)
        if (line.compare(0, std::strlen(h), h) == 0) return true;
    return false;
}

// The cause in a multi-line torch message, as one line.  A TorchScript runtime error is a
// traceback ending in the cause; a compile or deserialisation error starts with its cause, then
// shows the source with a caret line ("~~~ <--- HERE"), which must never stand for the cause.
std::string cause_of(const char *text) {
    std::vector<std::string> lines;
    std::string all(text ? text : ""), line;
    for (size_t begin = 0; begin <= all.size();) {
        size_t end = all.find('\n', begin);
        if (end == std::string::npos) end = all.size();
        line = trimmed(all.substr(begin, end - begin));
        if (!line.empty()) lines.push_back(line);
        begin = end + 1;
    }
    if (lines.empty()) return "unknown error";
    const bool traceback = all.find("Traceback of TorchScript") != std::string::npos;
    std::string cause = lines.front();
    if (traceback) {
        auto found = std::find_if(lines.rbegin(), lines.rend(), [](const std::string &l) { return !is_context_line(l); });
        if (found != lines.rend()) cause = *found;
    } else {
        auto found = std::find_if(lines.begin(), lines.end(), [](const std::string &l) { return !is_context_line(l); });
        if (found != lines.end()) cause = *found;
    }
    while (!cause.empty() && cause.back() == ':') cause.pop_back();
    return cause;
}

bool says_out_of_memory(const char *text) {
    std::string s(text ? text : "");
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return (char)std::tolower(c); });
    static const char *const signs[] = {"out of memory", "can't allocate memory", "not enough memory", "bad_alloc",
                                        "cannot allocate memory", "could not allocate memory"};
    for (const char *sign : signs)
        if (s.find(sign) != std::string::npos) return true;
    return false;
}

// `what` names the call site ("encoder", "encoder.pt"); `prefix` is put before the cause of a
// non-memory failure ("not a loadable TorchScript file: ").
adn_status fail_with(adn_status status_for_errors, const char *what, const char *prefix, const char *text) {
    std::string cause = cause_of(text);
    if (says_out_of_memory(text)) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "%s: out of memory: %s", what, cause.c_str());
    return adn_fail(status_for_errors, "%s: %s%s", what, prefix, cause.c_str());
}

// Runs f and converts any exception into a status.  `status_for_errors` is what a torch error means
// at this call site (a bad model while loading, an internal failure while running); running out
// of memory is ADN_ERR_OUT_OF_MEMORY everywhere, however torch wrapped it.
template <class F>
adn_status guarded(adn_status status_for_errors, const char *what, const char *prefix, F &&f) noexcept {
    try {
        try {
            return f();
        } catch (const contract_error &e) {
            return adn_fail(ADN_ERR_MODEL, "%s", e.what());
        } catch (const c10::OutOfMemoryError &e) {
            return adn_fail(ADN_ERR_OUT_OF_MEMORY, "%s: out of memory: %s", what, cause_of(e.what_without_backtrace()).c_str());
        } catch (const torch::jit::ErrorReport &e) {
            return fail_with(status_for_errors, what, prefix, e.what());
        } catch (const c10::Error &e) {
            return fail_with(status_for_errors, what, prefix, e.what_without_backtrace());
        } catch (const std::bad_alloc &) {
            return adn_fail(ADN_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
        } catch (const std::system_error &e) {
            // Threads or locks that cannot be made: resources, not a bad model.
            const int code = e.code().value();
            if (code == ENOMEM || code == EAGAIN) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "%s: out of resources: %s", what, e.what());
            return adn_fail(ADN_ERR_INTERNAL, "%s: %s", what, cause_of(e.what()).c_str());
        } catch (const std::exception &e) {
            return fail_with(status_for_errors, what, prefix, e.what());
        }
    } catch (...) {
        // Also catches a throw from the handlers themselves (std::string can run out of memory).
        return adn_fail(ADN_ERR_INTERNAL, "%s: unknown exception", what);
    }
}

template <class F>
adn_status guarded(adn_status status_for_errors, const char *what, F &&f) noexcept {
    return guarded(status_for_errors, what, "", std::forward<F>(f));
}

// torch's own names ("float64"), not the C++ enum's ("Double"): the contract says "float32".
const char *dtype_name(c10::ScalarType t) {
    switch (t) {
    case torch::kFloat32: return "float32";
    case torch::kFloat64: return "float64";
    case torch::kFloat16: return "float16";
    case torch::kBFloat16: return "bfloat16";
    case torch::kInt8: return "int8";
    case torch::kUInt8: return "uint8";
    case torch::kInt16: return "int16";
    case torch::kInt32: return "int32";
    case torch::kInt64: return "int64";
    case torch::kBool: return "bool";
    case torch::kComplexFloat: return "complex64";
    case torch::kComplexDouble: return "complex128";
    default: return c10::toString(t);
    }
}

// The bytes lib/ verified, as torch's reader sees a file.  Reads past the end return what there is
// (torch then reports a truncated archive) instead of reading outside the buffer.
class verified_bytes final : public caffe2::serialize::ReadAdapterInterface {
  public:
    explicit verified_bytes(const adn_module_bytes &b) : data_(b.data), size_(b.size) {}
    size_t size() const override { return size_; }
    size_t read(uint64_t pos, void *buf, size_t n, const char *) const override {
        if (pos >= size_) return 0;
        const size_t count = (size_t)std::min<uint64_t>(n, size_ - pos);
        std::memcpy(buf, data_ + pos, count);
        return count;
    }

  private:
    const uint8_t *data_;
    size_t size_;
};

std::string shape_of(const torch::Tensor &t) {
    std::string s = "[";
    for (int64_t i = 0; i < t.dim(); ++i) s += (i ? "," : "") + std::to_string(t.size(i));
    return s + "]";
}

// Copies a string attribute into out ("" where absent or not a string).
void string_attr(const torch::jit::Module &m, const char *name, char (&out)[32]) {
    out[0] = '\0';
    if (!m.hasattr(name) || !m.attr(name).isString()) return;
    std::snprintf(out, sizeof out, "%s", m.attr(name).toStringRef().c_str());
}

// An int attribute, or -1 where absent or not an int (lib/bundle.c says what is wrong).
int64_t int_attr(const torch::jit::Module &m, const char *name) {
    if (!m.hasattr(name) || !m.attr(name).isInt()) return -1;
    int64_t v = m.attr(name).toInt();
    return v < 0 ? 0 : v;
}

adn_status load_module(const adn_module_bytes &bytes, const torch::Device &device, torch::jit::Module *out) {
    return guarded(ADN_ERR_MODEL, bytes.name, "not a loadable TorchScript file: ", [&] {
        *out = torch::jit::load(std::make_shared<verified_bytes>(bytes), device);
        out->eval();
        return ADN_OK;
    });
}

adn_status resolve_device(const adn_model_params &p, torch::Device *device) {
    bool cuda = torch::cuda::is_available();
    switch (p.device) {
    case ADN_DEVICE_CPU:
        *device = torch::Device(torch::kCPU);
        return ADN_OK;
    case ADN_DEVICE_CUDA:
        if (!cuda) return adn_fail(ADN_ERR_DEVICE, "CUDA was requested but %s", ADN_TORCH_CUDA ? "no CUDA GPU is available" : "this libtorch was built without CUDA");
        if (p.cuda_device_index < 0 || p.cuda_device_index >= (int)torch::cuda::device_count())
            return adn_fail(ADN_ERR_DEVICE, "CUDA device %d does not exist (%d present)", (int)p.cuda_device_index, (int)torch::cuda::device_count());
        *device = torch::Device(torch::kCUDA, (c10::DeviceIndex)p.cuda_device_index);
        return ADN_OK;
    case ADN_DEVICE_AUTO:
        if (cuda && p.cuda_device_index >= 0 && p.cuda_device_index < (int)torch::cuda::device_count())
            *device = torch::Device(torch::kCUDA, (c10::DeviceIndex)p.cuda_device_index);
        else
            *device = torch::Device(torch::kCPU);
        return ADN_OK;
    }
    return adn_fail(ADN_ERR_INVALID_ARGUMENT, "unknown device %d", (int)p.device);
}

// libtorch's intra-op pool is process-wide, and resizing it while other threads run models (or
// under memory pressure: libgomp exit()s when it cannot make its threads) is not safe.  So it is
// sized once, by the first load; a later load asking for another size keeps it and says so.
void set_threads_once(int32_t n_threads) {
    static std::mutex lock;
    static int pool_size = 0;
    int n = n_threads > 0 ? n_threads : (int)std::thread::hardware_concurrency();
    if (n < 1) n = 1;
    std::lock_guard<std::mutex> hold(lock);
    if (pool_size == 0) {
        at::set_num_threads(n);  // libtorch defaults to 1 thread in some builds
        pool_size = n;
    } else if (n != pool_size) {
        adn_log(ADN_LOG_WARN, "n_threads = %d ignored: libtorch's CPU thread pool is process-wide and keeps the %d threads "
                "the first model load set", n, pool_size);
    }
}

std::string ivalue_kind(const torch::jit::IValue &v) {
    if (v.isTuple()) return "a tuple";
    if (v.isList()) return "a list";
    if (v.isGenericDict()) return "a dict";
    if (v.isNone()) return "None";
    if (v.isDouble() || v.isInt() || v.isBool()) return "a number";
    return v.tagKind(); // a std::string by value: returned as one, not as a pointer into it
}

torch::Tensor run(torch::jit::Module &m, const char *file, const torch::Tensor &x) {
    std::vector<torch::jit::IValue> inputs{x};
    torch::jit::IValue y = m.forward(inputs);
    if (!y.isTensor()) throw contract_error(std::string(file) + ": forward returned " + ivalue_kind(y) + ", expected one tensor");
    return y.toTensor();
}

bool has_shape(const torch::Tensor &t, std::initializer_list<int64_t> dims) {
    if (t.dim() != (int64_t)dims.size()) return false;
    int64_t i = 0;
    for (int64_t d : dims) {
        if (d >= 0 && t.size(i) != d) return false;
        ++i;
    }
    return true;
}

bool is_depth_map(const torch::Tensor &d) {
    return d.scalar_type() == torch::kFloat32 && (has_shape(d, {1, 1, -1, -1}) || has_shape(d, {1, -1, -1})) && d.size(-1) >= 1 &&
           d.size(-2) >= 1;
}

void read_attrs(const torch_state &b, adn_bundle_attrs *a) {
    string_attr(b.encoder, "adn_kind", a->encoder_kind);
    string_attr(b.decoder, "adn_kind", a->decoder_kind);
    a->encoder_channels = int_attr(b.encoder, "adn_channels");
    a->encoder_downsample = int_attr(b.encoder, "adn_downsample");
    a->decoder_channels = int_attr(b.decoder, "adn_channels");
    a->decoder_upsample = int_attr(b.decoder, "adn_upsample");
    a->encoder_receptive_field = int_attr(b.encoder, "adn_receptive_field");  // optional: -1 = absent
    a->decoder_receptive_field = int_attr(b.decoder, "adn_receptive_field");
    a->has_depth = b.depth.has_value();
    a->depth_kind[0] = a->depth_output[0] = '\0';
    if (b.depth) {
        string_attr(*b.depth, "adn_kind", a->depth_kind);
        string_attr(*b.depth, "adn_output", a->depth_output);
    }
}

adn_status load_bundle(torch_state *b, const adn_module_bytes *encoder, const adn_module_bytes *decoder,
                       const adn_module_bytes *depth, const adn_model_params &p, adn_bundle_attrs *attrs) {
    adn_status st;
    if ((st = resolve_device(p, &b->device))) return st;
    set_threads_once(p.n_threads);
    if ((st = load_module(*encoder, b->device, &b->encoder)) || (st = load_module(*decoder, b->device, &b->decoder))) return st;
    if (depth) {
        torch::jit::Module module;
        if ((st = load_module(*depth, b->device, &module))) return st;
        b->depth = module;
    }
    read_attrs(*b, attrs);  // before freezing, which may fold attributes away
    return ADN_OK;
}

// Wraps caller memory as a 1 x 3 x H x W tensor on the model's device (no copy on CPU; the modules
// never write to their input).
torch::Tensor image_tensor(const torch_state *b, const float *rgb, int32_t height, int32_t width) {
    torch::Tensor x = torch::from_blob(const_cast<float *>(rgb), {1, 3, height, width}, torch::kFloat32);
    return b->device.is_cpu() ? x : x.to(b->device);
}

adn_tensor_dims dims_of(const torch::Tensor &t) {
    return adn_tensor_dims{(int32_t)t.size(1), (int32_t)t.size(2), (int32_t)t.size(3)};
}

// ---- the operations table ----------------------------------------------------------------------

adn_status op_load(const adn_module_bytes *encoder, const adn_module_bytes *decoder, const adn_module_bytes *depth,
                   const adn_model_params *params, void **state, adn_bundle_attrs *attrs, adn_device *device, int32_t *cuda_index) {
    *state = nullptr;
    torch_state *b = new (std::nothrow) torch_state();
    if (!b) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot allocate a model");
    adn_status st = guarded(ADN_ERR_MODEL, "loading model bundle", [&] { return load_bundle(b, encoder, decoder, depth, *params, attrs); });
    if (st) {
        delete b;
        return st;
    }
    *device = b->device.is_cuda() ? ADN_DEVICE_CUDA : ADN_DEVICE_CPU;
    *cuda_index = b->device.is_cuda() ? (int32_t)b->device.index() : -1;
    *state = b;
    return ADN_OK;
}

// ---- precision (adn_model_params.precision; lib/model.c has checked it against the CPU) -------

c10::ScalarType scalar_type_of(adn_precision precision) {
    switch (precision) {
    case ADN_PRECISION_BF16: return torch::kBFloat16;
    case ADN_PRECISION_FP16: return torch::kFloat16;
    case ADN_PRECISION_FP32: break;
    }
    return torch::kFloat32;
}

// Padding ops with no bfloat16 / float16 kernel on CPU in libtorch 1.13: reflection and
// replication padding, which bundles exported before tools/adn_export/padding.py used.
bool pads_without_low_precision_kernel(const torch::jit::Node *node) {
    static const c10::Symbol pad = c10::Symbol::fromQualString("aten::pad");
    static const c10::Symbol reflection = c10::Symbol::fromQualString("aten::reflection_pad2d");
    static const c10::Symbol replication = c10::Symbol::fromQualString("aten::replication_pad2d");
    if (node->kind() == reflection || node->kind() == replication) return true;
    if (node->kind() != pad || node->inputs().size() < 3) return false;
    c10::optional<c10::IValue> mode = torch::jit::toIValue(node->input(2));
    return !(mode && mode->isString() && mode->toStringRef() == "constant");
}

bool block_pads_without_low_precision_kernel(const torch::jit::Block *block) {
    for (const torch::jit::Node *node : block->nodes()) {
        if (pads_without_low_precision_kernel(node)) return true;
        for (const torch::jit::Block *inner : node->blocks())
            if (block_pads_without_low_precision_kernel(inner)) return true;
    }
    return false;
}

// Every method of the module and its submodules (before freezing, calls are not inlined).
bool module_pads_without_low_precision_kernel(const torch::jit::Module &m) {
    for (const torch::jit::Module &sub : m.modules())
        for (const torch::jit::Method &method : sub.get_methods())
            if (block_pads_without_low_precision_kernel(method.graph()->block())) return true;
    return false;
}

// Weights of encoder and decoder in the model's precision; before freezing, which makes them
// constants of the graph.
adn_status apply_precision(torch_state *b, adn_precision precision) {
    b->dtype = scalar_type_of(precision);
    if (b->dtype == torch::kFloat32) return ADN_OK;
    const char *name = dtype_name(b->dtype);
    return guarded(ADN_ERR_MODEL, "converting the modules to the model's precision", [&] {
        const std::pair<torch::jit::Module *, const char *> modules[] = {{&b->encoder, "encoder.pt"}, {&b->decoder, "decoder.pt"}};
        for (const auto &m : modules) {
            if (b->device.is_cpu() && module_pads_without_low_precision_kernel(*m.first))
                return adn_fail(ADN_ERR_UNSUPPORTED, "%s: precision %s: the module pads with reflection_pad2d, which libtorch has no %s "
                                "kernel for on CPU; export the bundle again with this version's tools/adn-export (it pads by copies)",
                                m.second, name, name);
            m.first->to(b->dtype);
        }
        return ADN_OK;
    });
}

// Whether the encoder and decoder take and return channels_last tensors: on the CPU in every
// precision (weights too, and frozen without optimize_for_inference), where oneDNN convolves nhwc
// directly and the copy-based reflection padding stays in that layout, whereas
// optimize_for_inference's blocked layout has to leave and re-enter oneDNN around every padding
// op (docs/PERFORMANCE.md); on CUDA below float32 only.
bool uses_channels_last(const torch_state *b) { return b->device.is_cpu() || b->dtype != torch::kFloat32; }

// A float32 tensor as the encoder and decoder take it: in the model's precision, channels_last
// where the modules work in that layout.
torch::Tensor to_module_precision(const torch_state *b, const torch::Tensor &t) {
    if (!uses_channels_last(b)) return t.to(b->dtype);
    return t.to(b->dtype, /*non_blocking=*/false, /*copy=*/false, c10::MemoryFormat::ChannelsLast);
}

// adn-export --benchmark-zero-padding bundles load like any other; say what they are.
void warn_if_benchmark_only(const torch::jit::Module &m, const char *file) {
    if (m.hasattr("adn_padding") && m.attr("adn_padding").isString() && m.attr("adn_padding").toStringRef() == "zero")
        adn_log(ADN_LOG_WARN, "%s pads with zeros (adn-export --benchmark-zero-padding): its outputs are NOT the method's, "
                "it is for benchmarks only", file);
}

// Encoder and decoder weights in channels_last, so that no convolution reorders them per call.
void weights_to_channels_last(torch::jit::Module &m) {
    torch::NoGradGuard no_grad;
    for (torch::Tensor p : m.parameters())
        if (p.dim() == 4) p.set_data(p.contiguous(c10::MemoryFormat::ChannelsLast));
}

// Freezing inlines weights and attributes as constants.  On the CPU the encoder and decoder stay
// on channels_last dense tensors (see uses_channels_last); elsewhere, and for the depth
// network, optimize_for_inference fuses ops for the device.
void optimize_modules(torch_state *b) {
    if (b->device.is_cpu()) {
        b->encoder = torch::jit::freeze(b->encoder);
        b->decoder = torch::jit::freeze(b->decoder);
    } else {
        b->encoder = torch::jit::optimize_for_inference(b->encoder);
        b->decoder = torch::jit::optimize_for_inference(b->decoder);
    }
    if (b->depth) b->depth = torch::jit::optimize_for_inference(*b->depth);
}

// Precision and layout first, then freezing and fusion.  Done after loading (a module saved after
// optimize_for_inference cannot be loaded back).
adn_status op_prepare(void *state, const adn_model_params *params) {
    torch_state *b = static_cast<torch_state *>(state);
    warn_if_benchmark_only(b->encoder, "encoder.pt");
    warn_if_benchmark_only(b->decoder, "decoder.pt");
    adn_status st = apply_precision(b, params->precision);
    if (st) return st;
    st = guarded(ADN_ERR_MODEL, "converting the modules to channels_last", [&] {
        if (b->device.is_cpu()) {
            weights_to_channels_last(b->encoder);
            weights_to_channels_last(b->decoder);
        }
        return ADN_OK;
    });
    if (st || !params->optimize) return st;
    if (b->device.is_cpu() && !adn_shim::install_large_block_allocator())
        adn_log(ADN_LOG_DEBUG, "large CPU blocks stay on 4 KiB pages (no madvise, or the host installed its own allocator)");
    return guarded(ADN_ERR_MODEL, "optimizing modules", [&] {
        optimize_modules(b);
        return ADN_OK;
    });
}

// The model's modules go, and with them the reason to keep freed activation blocks for reuse.
void op_free(void *state) {
    delete static_cast<torch_state *>(state);
    adn_shim::release_cached_large_blocks();
}

adn_status op_encode(void *state, const float *rgb, int32_t height, int32_t width, adn_tensor **features, adn_tensor_dims *dims) {
    torch_state *b = static_cast<torch_state *>(state);
    *features = nullptr;
    return guarded(ADN_ERR_INTERNAL, "encoder", [&] {
        c10::InferenceMode guard;
        torch::Tensor x = image_tensor(b, rgb, height, width);
        torch::Tensor f = run(b->encoder, "encoder.pt", to_module_precision(b, x));
        if (f.scalar_type() != b->dtype || f.dim() != 4 || f.size(0) != 1)
            return adn_fail(ADN_ERR_MODEL, "encoder.pt: output %s %s for input [1,3,%d,%d], expected [1,C,h,w] %s", shape_of(f).c_str(),
                            dtype_name(f.scalar_type()), (int)height, (int)width, dtype_name(b->dtype));
        // AdaIN statistics and the blend are float32 in every precision, on contiguous features.
        f = f.to(torch::kFloat32, false, false, c10::MemoryFormat::Contiguous);
        // An encoder may return a view of its input (pixel_unshuffle of one 8x8 block is already
        // contiguous).  The features are edited in place and outlive the input buffer, so they
        // must own their memory.
        if (f.is_alias_of(x)) f = f.clone();
        auto t = std::make_unique<adn_tensor>();
        t->value = f.contiguous();
        *dims = dims_of(t->value);
        *features = t.release();  // nothing below can throw
        return ADN_OK;
    });
}

adn_status op_depth(void *state, const float *rgb, int32_t height, int32_t width, adn_tensor **map, adn_tensor_dims *dims) {
    torch_state *b = static_cast<torch_state *>(state);
    *map = nullptr;
    if (!b->depth) return adn_fail(ADN_ERR_MODEL, "this model bundle has no depth.pt");
    return guarded(ADN_ERR_INTERNAL, "depth network", [&] {
        c10::InferenceMode guard;
        torch::Tensor d = run(*b->depth, "depth.pt", image_tensor(b, rgb, height, width));
        if (!is_depth_map(d))
            return adn_fail(ADN_ERR_MODEL, "depth.pt: output %s %s, expected [1,1,h,w] or [1,h,w] float32 with h, w >= 1", shape_of(d).c_str(),
                            dtype_name(d.scalar_type()));
        auto t = std::make_unique<adn_tensor>();
        t->value = d.reshape({1, 1, d.size(-2), d.size(-1)}).contiguous();
        *dims = dims_of(t->value);
        *map = t.release();
        return ADN_OK;
    });
}

adn_status op_host_view(adn_tensor *t, float **data) {
    return guarded(ADN_ERR_INTERNAL, "copying a tensor to the host", [&] {
        if (!t->host.defined()) t->host = t->value.is_cpu() ? t->value : t->value.to(torch::kCPU).contiguous();
        *data = t->host.data_ptr<float>();
        return ADN_OK;
    });
}

adn_status op_commit(adn_tensor *t) {
    if (!t->host.defined() || t->value.is_cpu()) return ADN_OK;  // CPU: the view is the tensor
    return guarded(ADN_ERR_INTERNAL, "copying a tensor to the device", [&] {
        t->value.copy_(t->host);
        return ADN_OK;
    });
}

adn_status op_decode(void *state, adn_tensor *features, int32_t expect_height, int32_t expect_width, float *out, int32_t out_height,
                     int32_t out_width) {
    torch_state *b = static_cast<torch_state *>(state);
    return guarded(ADN_ERR_INTERNAL, "decoder", [&] {
        c10::InferenceMode guard;
        torch::Tensor y = run(b->decoder, "decoder.pt", to_module_precision(b, features->value));
        if (y.scalar_type() != b->dtype || !has_shape(y, {1, 3, expect_height, expect_width}))
            return adn_fail(ADN_ERR_MODEL, "decoder.pt: output %s %s for features %s, expected [1,3,%d,%d] %s", shape_of(y).c_str(),
                            dtype_name(y.scalar_type()), shape_of(features->value).c_str(), (int)expect_height, (int)expect_width,
                            dtype_name(b->dtype));
        // The crop, the download and (below float32) the conversion in one copy, straight into the
        // caller's buffer.
        torch::Tensor dst = torch::from_blob(out, {1, 3, out_height, out_width}, torch::kFloat32);
        dst.copy_(y.narrow(2, 0, out_height).narrow(3, 0, out_width));
        return ADN_OK;
    });
}

void op_tensor_free(adn_tensor *t) { delete t; }

// A feature tile for the tiled decoder (lib/tiling.c): a copy, so it owns its memory.
adn_status op_tensor_from_host(void *state, const float *data, int32_t channels, int32_t height, int32_t width, adn_tensor **out) {
    torch_state *b = static_cast<torch_state *>(state);
    *out = nullptr;
    return guarded(ADN_ERR_INTERNAL, "copying features to the model's device", [&] {
        torch::Tensor host = torch::from_blob(const_cast<float *>(data), {1, channels, height, width}, torch::kFloat32);
        auto t = std::make_unique<adn_tensor>();
        t->value = host.to(b->device, torch::kFloat32, /*non_blocking=*/false, /*copy=*/true);
        *out = t.release();
        return ADN_OK;
    });
}

const adn_backend_ops torch_ops = {
    "torch", ADN_TORCH_CUDA, op_load, op_prepare, op_free, op_encode, op_depth, op_host_view, op_commit, op_decode, op_tensor_free,
    op_tensor_from_host,
};

}  // namespace

extern "C" const adn_backend_ops *adn_torch_backend_ops(void) { return &torch_ops; }
