// The libtorch backend: loads the TorchScript modules of a bundle (docs/MODELS.md) and runs them on
// CPU or CUDA.  This is the only C++ in the project.  Every entry point catches every exception and
// turns it into an adn_status with a one-line message; nothing C++ crosses lib/backend.h.
#include "backend.h"
#include "internal.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>
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

struct adn_backend {
    torch::jit::Module encoder;
    torch::jit::Module decoder;
    std::optional<torch::jit::Module> depth;
    torch::Device device{torch::kCPU};
    adn_backend_info info{};
};

struct adn_features {
    torch::Tensor on_device;  // encoder output (CPU: shares memory with `host`)
    torch::Tensor host;       // contiguous float32 CPU tensor the C math edits in place
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

// Reads an int attribute the bundle contract requires; returns false with a message if absent.
adn_status int_attr(const torch::jit::Module &m, const char *file, const char *name, int32_t *out) {
    if (!m.hasattr(name) || !m.attr(name).isInt())
        return adn_fail(ADN_ERR_MODEL, "%s: missing int attribute '%s' (see docs/MODELS.md)", file, name);
    int64_t v = m.attr(name).toInt();
    if (v < 1 || v > 65536) return adn_fail(ADN_ERR_MODEL, "%s: attribute '%s' = %lld is out of range", file, name, (long long)v);
    *out = (int32_t)v;
    return ADN_OK;
}

adn_status string_attr(const torch::jit::Module &m, const char *file, const char *name, std::string *out) {
    if (!m.hasattr(name) || !m.attr(name).isString())
        return adn_fail(ADN_ERR_MODEL, "%s: missing string attribute '%s' (see docs/MODELS.md)", file, name);
    *out = m.attr(name).toStringRef();
    return ADN_OK;
}

adn_status check_kind(const torch::jit::Module &m, const char *file, const char *expected) {
    std::string kind;
    adn_status st = string_attr(m, file, "adn_kind", &kind);
    if (st) return st;
    if (kind != expected)
        return adn_fail(ADN_ERR_MODEL, "%s: adn_kind is '%s', expected '%s'", file, kind.c_str(), expected);
    return ADN_OK;
}

adn_status load_module(const std::string &dir, const char *file, const torch::Device &device, torch::jit::Module *out) {
    std::string path = dir + "/" + file;
    if (!file_exists(path)) return adn_fail(ADN_ERR_MODEL, "%s: file not found in bundle '%s'", file, dir.c_str());
    try {
        *out = torch::jit::load(path, device);
    } catch (const c10::Error &e) {
        return adn_fail(ADN_ERR_MODEL, "%s: not a loadable TorchScript file: %s", file, e.what_without_backtrace());
    }
    out->eval();
    return ADN_OK;
}

// Freezing inlines weights and attributes; optimize_for_inference then fuses ops for the device.
// Done after loading (a module saved after optimize_for_inference cannot be loaded back).
void optimize_module(torch::jit::Module *m) {
    *m = torch::jit::optimize_for_inference(*m);
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

// A small forward pass of every module checks the shapes the contract promises, so a wrong bundle
// fails at load time with a precise message instead of inside adn_stylize.
adn_status probe(adn_backend *b) {
    c10::InferenceMode guard;
    const int64_t size = 2 * b->info.downsample;
    auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(b->device);
    torch::Tensor x = torch::rand({1, 3, size, size}, opts);
    torch::Tensor f;
    adn_status st = guarded(ADN_ERR_MODEL, "encoder.pt probe forward", [&] {
        f = run(b->encoder, x);
        return ADN_OK;
    });
    if (st) return st;
    if (f.scalar_type() != torch::kFloat32 || !has_shape(f, {1, -1, 2, 2}))
        return adn_fail(ADN_ERR_MODEL, "encoder.pt: output for input [1,3,%lld,%lld] is %s, expected [1,C,2,2] float32", (long long)size, (long long)size, shape_of(f).c_str());
    if (f.size(1) != b->info.channels)
        return adn_fail(ADN_ERR_MODEL, "encoder.pt: outputs %lld channels but declares adn_channels = %d", (long long)f.size(1), (int)b->info.channels);
    torch::Tensor y;
    st = guarded(ADN_ERR_MODEL, "decoder.pt probe forward", [&] {
        y = run(b->decoder, f);
        return ADN_OK;
    });
    if (st) return st;
    if (y.scalar_type() != torch::kFloat32 || !has_shape(y, {1, 3, size, size}))
        return adn_fail(ADN_ERR_MODEL, "decoder.pt: output for features %s is %s, expected [1,3,%lld,%lld] float32", shape_of(f).c_str(), shape_of(y).c_str(), (long long)size, (long long)size);
    if (b->depth) {
        torch::Tensor odd = torch::rand({1, 3, 19, 13}, opts);
        torch::Tensor d;
        st = guarded(ADN_ERR_MODEL, "depth.pt probe forward", [&] {
            d = run(*b->depth, odd);
            return ADN_OK;
        });
        if (st) return st;
        if (!is_depth_map(d))
            return adn_fail(ADN_ERR_MODEL, "depth.pt: output %s, expected [1,1,h,w] or [1,h,w] float32 with h, w >= 1", shape_of(d).c_str());
    }
    return ADN_OK;
}

adn_status read_contract(adn_backend *b) {
    adn_status st;
    int32_t dec_channels = 0, upsample = 0;
    if ((st = check_kind(b->encoder, "encoder.pt", "encoder")) || (st = check_kind(b->decoder, "decoder.pt", "decoder")) ||
        (st = int_attr(b->encoder, "encoder.pt", "adn_channels", &b->info.channels)) ||
        (st = int_attr(b->encoder, "encoder.pt", "adn_downsample", &b->info.downsample)) ||
        (st = int_attr(b->decoder, "decoder.pt", "adn_channels", &dec_channels)) ||
        (st = int_attr(b->decoder, "decoder.pt", "adn_upsample", &upsample)))
        return st;
    if (dec_channels != b->info.channels)
        return adn_fail(ADN_ERR_MODEL, "channel mismatch: encoder.pt outputs %d channels, decoder.pt takes %d", (int)b->info.channels, (int)dec_channels);
    if (upsample != b->info.downsample)
        return adn_fail(ADN_ERR_MODEL, "scale mismatch: encoder.pt downsamples by %d, decoder.pt upsamples by %d", (int)b->info.downsample, (int)upsample);
    b->info.depth_kind = ADN_DEPTH_KIND_NONE;
    if (b->depth) {
        std::string output;
        if ((st = check_kind(*b->depth, "depth.pt", "depth")) || (st = string_attr(*b->depth, "depth.pt", "adn_output", &output))) return st;
        if (output == "depth")
            b->info.depth_kind = ADN_DEPTH_KIND_DEPTH;
        else if (output == "disparity")
            b->info.depth_kind = ADN_DEPTH_KIND_DISPARITY;
        else
            return adn_fail(ADN_ERR_MODEL, "depth.pt: adn_output is '%s', expected 'depth' or 'disparity'", output.c_str());
    }
    return ADN_OK;
}

adn_status load_bundle(adn_backend *b, const char *bundle_dir, const adn_model_params &p) {
    adn_status st;
    if (!dir_exists(bundle_dir)) return adn_fail(ADN_ERR_MODEL, "model bundle '%s' is not a directory", bundle_dir);
    if ((st = resolve_device(p, &b->device))) return st;
    set_threads(p.n_threads);
    b->info.device = b->device.is_cuda() ? ADN_DEVICE_CUDA : ADN_DEVICE_CPU;
    std::string dir(bundle_dir);
    if ((st = load_module(dir, "encoder.pt", b->device, &b->encoder)) || (st = load_module(dir, "decoder.pt", b->device, &b->decoder)))
        return st;
    if (p.load_depth && file_exists(dir + "/depth.pt")) {
        torch::jit::Module depth;
        if ((st = load_module(dir, "depth.pt", b->device, &depth))) return st;
        b->depth = depth;
    }
    if ((st = read_contract(b))) return st;
    if (p.optimize) {
        st = guarded(ADN_ERR_MODEL, "optimizing modules", [&] {
            optimize_module(&b->encoder);
            optimize_module(&b->decoder);
            if (b->depth) optimize_module(&*b->depth);
            return ADN_OK;
        });
        if (st) return st;
    }
    // After optimizing, so a graph that only fails once frozen is caught here, not in adn_stylize.
    if ((st = probe(b))) return st;
    adn_log(ADN_LOG_INFO, "loaded bundle %s: %d channels, /%d, depth %s, on %s", bundle_dir, (int)b->info.channels, (int)b->info.downsample,
            b->info.depth_kind == ADN_DEPTH_KIND_NONE ? "none" : b->info.depth_kind == ADN_DEPTH_KIND_DEPTH ? "depth" : "disparity",
            b->device.str().c_str());
    return ADN_OK;
}

// Wraps caller memory as a 1 x 3 x H x W tensor on the model's device (no copy on CPU; the modules
// never write to their input).
torch::Tensor image_tensor(const adn_backend *b, const float *rgb, int32_t height, int32_t width) {
    torch::Tensor x = torch::from_blob(const_cast<float *>(rgb), {1, 3, height, width}, torch::kFloat32);
    return b->device.is_cpu() ? x : x.to(b->device);
}

}  // namespace

extern "C" {

int adn_backend_available(void) { return 1; }

int adn_backend_has_cuda(void) { return ADN_TORCH_CUDA; }

adn_status adn_backend_load(const char *bundle_dir, const adn_model_params *params, adn_backend **out, adn_backend_info *info) {
    *out = nullptr;
    adn_backend *b = new (std::nothrow) adn_backend();
    if (!b) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot allocate a model");
    adn_status st = guarded(ADN_ERR_MODEL, "loading model bundle", [&] { return load_bundle(b, bundle_dir, *params); });
    if (st) {
        delete b;
        return st;
    }
    *info = b->info;
    *out = b;
    return ADN_OK;
}

void adn_backend_free(adn_backend *backend) { delete backend; }

adn_status adn_backend_encode(adn_backend *b, const float *rgb, int32_t height, int32_t width, adn_features **features, float **data,
                              int32_t *feat_height, int32_t *feat_width) {
    *features = nullptr;
    return guarded(ADN_ERR_INTERNAL, "encoder", [&] {
        c10::InferenceMode guard;
        torch::Tensor x = image_tensor(b, rgb, height, width);
        torch::Tensor f = run(b->encoder, x);
        // An encoder may return a view of its input (pixel_unshuffle of one 8x8 block is already
        // contiguous).  The features are edited in place and outlive the input buffer, so they
        // must own their memory.
        if (f.is_alias_of(x)) f = f.clone();
        const int64_t h = height / b->info.downsample, w = width / b->info.downsample;
        if (f.scalar_type() != torch::kFloat32 || !has_shape(f, {1, b->info.channels, h, w}))
            return adn_fail(ADN_ERR_MODEL, "encoder.pt: output %s for input [1,3,%d,%d], expected [1,%d,%lld,%lld]", shape_of(f).c_str(), (int)height, (int)width,
                            (int)b->info.channels, (long long)h, (long long)w);
        auto feat = std::make_unique<adn_features>();
        feat->on_device = f.contiguous();
        feat->host = feat->on_device.is_cpu() ? feat->on_device : feat->on_device.to(torch::kCPU).contiguous();
        float *host_data = feat->host.data_ptr<float>();
        *features = feat.release();  // nothing below can throw
        *data = host_data;
        *feat_height = (int32_t)h;
        *feat_width = (int32_t)w;
        return ADN_OK;
    });
}

adn_status adn_backend_decode(adn_backend *b, adn_features *features, float *out) {
    return guarded(ADN_ERR_INTERNAL, "decoder", [&] {
        c10::InferenceMode guard;
        torch::Tensor f = b->device.is_cpu() ? features->host : features->host.to(b->device);
        torch::Tensor y = run(b->decoder, f);
        const int64_t height = f.size(2) * b->info.downsample, width = f.size(3) * b->info.downsample;
        if (y.scalar_type() != torch::kFloat32 || !has_shape(y, {1, 3, height, width}))
            return adn_fail(ADN_ERR_MODEL, "decoder.pt: output %s, expected [1,3,%lld,%lld]", shape_of(y).c_str(), (long long)height, (long long)width);
        torch::Tensor host = y.to(torch::kCPU).contiguous();
        std::memcpy(out, host.data_ptr<float>(), sizeof(float) * (size_t)host.numel());
        return ADN_OK;
    });
}

void adn_features_free(adn_features *features) { delete features; }

adn_status adn_backend_depth(adn_backend *b, const float *rgb, int32_t height, int32_t width, float **out, int32_t *out_height, int32_t *out_width) {
    *out = nullptr;
    if (!b->depth) return adn_fail(ADN_ERR_MODEL, "this model bundle has no depth.pt");
    return guarded(ADN_ERR_INTERNAL, "depth network", [&] {
        c10::InferenceMode guard;
        torch::Tensor d = run(*b->depth, image_tensor(b, rgb, height, width));
        if (!is_depth_map(d))
            return adn_fail(ADN_ERR_MODEL, "depth.pt: output %s, expected [1,1,h,w] or [1,h,w] float32 with h, w >= 1", shape_of(d).c_str());
        torch::Tensor host = d.reshape({d.size(-2), d.size(-1)}).to(torch::kCPU).contiguous();
        size_t count = (size_t)host.numel();
        float *buf = (float *)std::malloc(count * sizeof(float));
        if (!buf) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot allocate a %zu-pixel depth map", count);
        std::memcpy(buf, host.data_ptr<float>(), count * sizeof(float));
        *out = buf;
        *out_height = (int32_t)host.size(0);
        *out_width = (int32_t)host.size(1);
        return ADN_OK;
    });
}

}  // extern "C"
