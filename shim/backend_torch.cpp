// The libtorch backend: loads the TorchScript modules of a bundle (docs/MODELS.md) and runs them on
// CPU or CUDA.  This is the only C++ in the project.  Every entry point catches every exception and
// turns it into an adn_status with a one-line message; nothing C++ crosses lib/backend.h.
#include "backend.h"
#include "internal.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/csrc/jit/frontend/error_report.h>
#include <torch/script.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <vector>

namespace {

struct torch_state {
    torch::jit::Module encoder;
    torch::jit::Module decoder;
    std::optional<torch::jit::Module> depth;
    torch::Device device{torch::kCPU};
};

}  // namespace

// A tensor handed to lib/ (features or a raw depth map).  On CPU `host` is the tensor itself, so
// the C math edits the encoder's output in place; on CUDA it is a host copy made on demand.
struct adn_tensor {
    torch::Tensor value;  // on the model's device, contiguous float32 [1, C, H, W]
    torch::Tensor host;   // contiguous float32 CPU view or copy; undefined until host_view
};

namespace {

// The cause of a TorchScript interpreter error is its last line; the lines before are a
// traceback, which would push the cause out of the one-line message.
std::string last_line(const char *text) {
    std::string s(text ? text : "");
    size_t end = s.find_last_not_of(" \t\r\n");
    if (end == std::string::npos) return "unknown error";
    size_t newline = s.find_last_of("\r\n", end);
    size_t begin = newline == std::string::npos ? 0 : newline + 1;
    return s.substr(begin, end - begin + 1);
}

// The first non-empty line, for errors whose cause comes first (TorchScript compile errors).
std::string first_line(const char *text) {
    std::string s(text ? text : "");
    size_t begin = s.find_first_not_of(" \t\r\n");
    if (begin == std::string::npos) return "unknown error";
    size_t end = s.find_first_of("\r\n", begin);
    std::string line = s.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    while (!line.empty() && line.back() == ':') line.pop_back();
    return line;
}

bool says_out_of_memory(const std::string &message) {
    return message.find("out of memory") != std::string::npos || message.find("can't allocate memory") != std::string::npos;
}

adn_status fail_with(adn_status status_for_errors, const char *what, const char *text) {
    std::string cause = last_line(text);
    return adn_fail(says_out_of_memory(cause) ? ADN_ERR_OUT_OF_MEMORY : status_for_errors, "%s: %s", what, cause.c_str());
}

// Runs f and converts any exception into a status.  `status_for_errors` is what a torch error means
// at this call site (a bad model while loading, an internal failure while running).
template <class F>
adn_status guarded(adn_status status_for_errors, const char *what, F &&f) noexcept {
    try {
        try {
            return f();
        } catch (const torch::jit::ErrorReport &e) {
            return fail_with(status_for_errors, what, first_line(e.what()).c_str());
        } catch (const c10::OutOfMemoryError &e) {
            return adn_fail(ADN_ERR_OUT_OF_MEMORY, "%s: %s", what, last_line(e.what_without_backtrace()).c_str());
        } catch (const c10::Error &e) {
            return fail_with(status_for_errors, what, e.what_without_backtrace());
        } catch (const std::bad_alloc &) {
            return adn_fail(ADN_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
        } catch (const std::exception &e) {
            return fail_with(status_for_errors, what, e.what());
        }
    } catch (...) {
        // Also catches a throw from the handlers themselves (std::string can run out of memory).
        return adn_fail(ADN_ERR_INTERNAL, "%s: unknown exception", what);
    }
}

bool file_exists(const std::string &path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool dir_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

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

adn_status load_module(const std::string &dir, const char *file, const torch::Device &device, torch::jit::Module *out) {
    std::string path = dir + "/" + file;
    if (!file_exists(path)) return adn_fail(ADN_ERR_MODEL, "%s: file not found in bundle '%s'", file, dir.c_str());
    try {
        *out = torch::jit::load(path, device);
    } catch (const torch::jit::ErrorReport &e) {
        // Its text is the cause, then the source and a caret line: keep the cause.
        return adn_fail(ADN_ERR_MODEL, "%s: not a loadable TorchScript file: %s", file, first_line(e.what()).c_str());
    } catch (const c10::Error &e) {
        return adn_fail(ADN_ERR_MODEL, "%s: not a loadable TorchScript file: %s", file, e.what_without_backtrace());
    }
    out->eval();
    return ADN_OK;
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

void set_threads(int32_t n_threads) {
    int n = n_threads > 0 ? n_threads : (int)std::thread::hardware_concurrency();
    if (n < 1) n = 1;
    at::set_num_threads(n);  // libtorch defaults to 1 thread in some builds
}

torch::Tensor run(torch::jit::Module &m, const torch::Tensor &x) {
    std::vector<torch::jit::IValue> inputs{x};
    torch::jit::IValue y = m.forward(inputs);
    if (!y.isTensor()) throw std::runtime_error("module did not return a tensor");
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
    a->has_depth = b.depth.has_value();
    a->depth_kind[0] = a->depth_output[0] = '\0';
    if (b.depth) {
        string_attr(*b.depth, "adn_kind", a->depth_kind);
        string_attr(*b.depth, "adn_output", a->depth_output);
    }
}

adn_status load_bundle(torch_state *b, const char *bundle_dir, const adn_model_params &p, adn_bundle_attrs *attrs) {
    adn_status st;
    if (!dir_exists(bundle_dir)) return adn_fail(ADN_ERR_MODEL, "model bundle '%s' is not a directory", bundle_dir);
    if ((st = resolve_device(p, &b->device))) return st;
    set_threads(p.n_threads);
    std::string dir(bundle_dir);
    if ((st = load_module(dir, "encoder.pt", b->device, &b->encoder)) || (st = load_module(dir, "decoder.pt", b->device, &b->decoder)))
        return st;
    if (p.load_depth && file_exists(dir + "/depth.pt")) {
        torch::jit::Module depth;
        if ((st = load_module(dir, "depth.pt", b->device, &depth))) return st;
        b->depth = depth;
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

adn_status op_load(const char *bundle_dir, const adn_model_params *params, void **state, adn_bundle_attrs *attrs, adn_device *device,
                   int32_t *cuda_index) {
    *state = nullptr;
    torch_state *b = new (std::nothrow) torch_state();
    if (!b) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot allocate a model");
    adn_status st = guarded(ADN_ERR_MODEL, "loading model bundle", [&] { return load_bundle(b, bundle_dir, *params, attrs); });
    if (st) {
        delete b;
        return st;
    }
    *device = b->device.is_cuda() ? ADN_DEVICE_CUDA : ADN_DEVICE_CPU;
    *cuda_index = b->device.is_cuda() ? (int32_t)b->device.index() : -1;
    *state = b;
    return ADN_OK;
}

// Freezing inlines weights and attributes; optimize_for_inference then fuses ops for the device.
// Done after loading (a module saved after optimize_for_inference cannot be loaded back).
adn_status op_prepare(void *state, const adn_model_params *params) {
    torch_state *b = static_cast<torch_state *>(state);
    if (!params->optimize) return ADN_OK;
    return guarded(ADN_ERR_MODEL, "optimizing modules", [&] {
        b->encoder = torch::jit::optimize_for_inference(b->encoder);
        b->decoder = torch::jit::optimize_for_inference(b->decoder);
        if (b->depth) b->depth = torch::jit::optimize_for_inference(*b->depth);
        return ADN_OK;
    });
}

void op_free(void *state) { delete static_cast<torch_state *>(state); }

adn_status op_encode(void *state, const float *rgb, int32_t height, int32_t width, adn_tensor **features, adn_tensor_dims *dims) {
    torch_state *b = static_cast<torch_state *>(state);
    *features = nullptr;
    return guarded(ADN_ERR_INTERNAL, "encoder", [&] {
        c10::InferenceMode guard;
        torch::Tensor x = image_tensor(b, rgb, height, width);
        torch::Tensor f = run(b->encoder, x);
        if (f.scalar_type() != torch::kFloat32 || f.dim() != 4 || f.size(0) != 1)
            return adn_fail(ADN_ERR_MODEL, "encoder.pt: output %s %s for input [1,3,%d,%d], expected [1,C,h,w] float32", shape_of(f).c_str(),
                            c10::toString(f.scalar_type()), (int)height, (int)width);
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
        torch::Tensor d = run(*b->depth, image_tensor(b, rgb, height, width));
        if (!is_depth_map(d))
            return adn_fail(ADN_ERR_MODEL, "depth.pt: output %s %s, expected [1,1,h,w] or [1,h,w] float32 with h, w >= 1", shape_of(d).c_str(),
                            c10::toString(d.scalar_type()));
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
        torch::Tensor y = run(b->decoder, features->value);
        if (y.scalar_type() != torch::kFloat32 || !has_shape(y, {1, 3, expect_height, expect_width}))
            return adn_fail(ADN_ERR_MODEL, "decoder.pt: output %s %s for features %s, expected [1,3,%d,%d] float32", shape_of(y).c_str(),
                            c10::toString(y.scalar_type()), shape_of(features->value).c_str(), (int)expect_height, (int)expect_width);
        // The crop and the download in one copy, straight into the caller's buffer.
        torch::Tensor dst = torch::from_blob(out, {1, 3, out_height, out_width}, torch::kFloat32);
        dst.copy_(y.narrow(2, 0, out_height).narrow(3, 0, out_width));
        return ADN_OK;
    });
}

void op_tensor_free(adn_tensor *t) { delete t; }

const adn_backend_ops torch_ops = {
    "torch", ADN_TORCH_CUDA, op_load, op_prepare, op_free, op_encode, op_depth, op_host_view, op_commit, op_decode, op_tensor_free,
};

}  // namespace

extern "C" const adn_backend_ops *adn_torch_backend_ops(void) { return &torch_ops; }
