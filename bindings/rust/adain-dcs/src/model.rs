//! Models and encoded styles.
//!
//! A C model is read-only once loaded and may be used from any number of threads without a lock,
//! so [`Model`] is `Send + Sync` and cheap to clone (clones share one C model).  Every [`Style`]
//! and [`Context`](crate::Context) holds a shared reference to the model's handle, so the C model
//! is freed only after its last style and context, the order the C API requires.
use std::ffi::CStr;
use std::path::Path;
use std::ptr::{self, NonNull};
use std::sync::Arc;

use crate::error::{check, Error, Result, Status};
use crate::image::{path_to_c, Image};
use crate::sys;

/// Owner of the C model; freed when the last [`Model`], [`Style`] or context referring to it goes.
pub(crate) struct ModelHandle {
    pub(crate) ptr: NonNull<sys::adn_model>,
}

// SAFETY: a loaded model is read-only and thread-safe in the C API (header: "share one among any
// number of threads, no lock needed"); it is freed only by Drop, once no reference is left.
unsafe impl Send for ModelHandle {}
// SAFETY: as above.
unsafe impl Sync for ModelHandle {}

impl Drop for ModelHandle {
    fn drop(&mut self) {
        // SAFETY: the last reference is gone, so no style or context of this model is alive.
        unsafe { sys::adn_model_free(self.ptr.as_ptr()) }
    }
}

/// Where the model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// CUDA if libtorch has it and a GPU is present, else CPU.
    Auto,
    Cpu,
    /// CUDA device with this index (fails with [`Status::Device`] without a usable GPU).
    Cuda(i32),
}

/// Arithmetic of the encoder and decoder (AdaIN statistics, strength and blend are always fp32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// Exact (the default).
    Fp32,
    /// CPU with AVX-512-BF16 or AMX (not implemented yet: [`Status::Unsupported`]).
    Bf16,
    /// CUDA (not implemented yet: [`Status::Unsupported`]).
    Fp16,
    /// A value this binding does not know (a newer library).
    Unknown(i32),
}

impl Precision {
    fn from_c(value: sys::adn_precision) -> Precision {
        match value {
            sys::ADN_PRECISION_FP32 => Precision::Fp32,
            sys::ADN_PRECISION_BF16 => Precision::Bf16,
            sys::ADN_PRECISION_FP16 => Precision::Fp16,
            other => Precision::Unknown(other),
        }
    }

    fn to_c(self) -> sys::adn_precision {
        match self {
            Precision::Fp32 => sys::ADN_PRECISION_FP32,
            Precision::Bf16 => sys::ADN_PRECISION_BF16,
            Precision::Fp16 => sys::ADN_PRECISION_FP16,
            Precision::Unknown(other) => other,
        }
    }
}

/// What the model's depth module outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepthKind {
    None,
    /// Larger = farther.
    Depth,
    /// Larger = nearer (MiDaS).
    Disparity,
}

/// Options of [`Model::load_with`].
#[derive(Debug, Clone, Copy)]
pub struct ModelOptions {
    pub device: Device,
    /// CPU threads for torch, 0..=1024; 0 = number of cores.  libtorch has one process-wide pool:
    /// the first model loaded in the process sizes it.
    pub threads: i32,
    /// Load depth.pt if the bundle has it.
    pub load_depth: bool,
    /// Freeze and optimise the TorchScript modules after loading.
    pub optimize: bool,
    pub precision: Precision,
    /// Also load a bundle without manifest.txt (made by hand) after a structural check of its
    /// files; by default such a bundle is refused.  A bundle is code: load only bundles you
    /// trust, and prefer sealing it with `adn-export --seal DIR`.
    pub trust_unsealed: bool,
}

impl Default for ModelOptions {
    /// The library defaults: automatic device, all cores, depth, optimised, fp32.
    fn default() -> Self {
        ModelOptions {
            device: Device::Auto,
            threads: 0,
            load_depth: true,
            optimize: true,
            precision: Precision::Fp32,
            trust_unsealed: false,
        }
    }
}

/// `adn_model_info` in Rust terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    /// Encoder output channels (512 for VGG, 192 for the analytic pair).
    pub feature_channels: i32,
    /// Encoder downsampling factor (8).
    pub downsample: i32,
    pub depth_kind: DepthKind,
    /// The device actually used: [`Device::Cpu`] or [`Device::Cuda`] with the GPU's index.
    pub device: Device,
    pub precision: Precision,
    /// The backend's name, e.g. "torch".
    pub backend: String,
}

/// A loaded model bundle (encoder, decoder, optional depth network).  `Send + Sync` and cheap to
/// clone; use it from any number of threads, each with its own [`Context`](crate::Context).
#[derive(Clone)]
pub struct Model {
    pub(crate) handle: Arc<ModelHandle>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model").field("ptr", &self.handle.ptr).finish()
    }
}

/// A style encoded once for a model (its feature statistics).  `Send + Sync`: share it among the
/// threads and contexts of its model.
pub struct Style {
    pub(crate) ptr: NonNull<sys::adn_style>,
    pub(crate) model: Arc<ModelHandle>,
}

// SAFETY: a style is only read by the library after creation (header: "Read-only: share it among
// threads and contexts"); it is freed only by Drop, which needs exclusive ownership, so no
// adn_stylize can be using it then.
unsafe impl Send for Style {}
// SAFETY: as above.
unsafe impl Sync for Style {}

impl Drop for Style {
    fn drop(&mut self) {
        // SAFETY: we own the handle; `model` is dropped after this, so the model outlives it.
        unsafe { sys::adn_style_free(self.ptr.as_ptr()) }
    }
}

impl std::fmt::Debug for Style {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Style").field("ptr", &self.ptr).finish()
    }
}

fn device_from_c(device: sys::adn_device, index: i32) -> Device {
    match device {
        sys::ADN_DEVICE_CPU => Device::Cpu,
        sys::ADN_DEVICE_CUDA => Device::Cuda(index),
        _ => Device::Auto,
    }
}

impl Model {
    /// Loads a bundle directory with the default options.
    pub fn load(dir: impl AsRef<Path>) -> Result<Model> {
        Model::load_with(dir, &ModelOptions::default())
    }

    /// Loads and validates a bundle directory (a probe forward of every module).
    pub fn load_with(dir: impl AsRef<Path>, options: &ModelOptions) -> Result<Model> {
        let c_dir = path_to_c(dir.as_ref())?;
        let mut params = sys::adn_model_default_params();
        let (device, index) = match options.device {
            Device::Auto => (sys::ADN_DEVICE_AUTO, 0),
            Device::Cpu => (sys::ADN_DEVICE_CPU, 0),
            Device::Cuda(i) => (sys::ADN_DEVICE_CUDA, i),
        };
        params.device = device;
        params.cuda_device_index = index;
        params.n_threads = options.threads;
        params.load_depth = options.load_depth as i32;
        params.optimize = options.optimize as i32;
        params.precision = options.precision.to_c();
        params.trust_unsealed = options.trust_unsealed as i32;
        let mut raw: *mut sys::adn_model = ptr::null_mut();
        // SAFETY: valid path and params; raw receives the handle.
        check(unsafe { sys::adn_model_load(c_dir.as_ptr(), &params, &mut raw) })?;
        let ptr =
            NonNull::new(raw).ok_or_else(|| Error::new(Status::Internal, "adn_model_load returned NULL"))?;
        Ok(Model { handle: Arc::new(ModelHandle { ptr }) })
    }

    /// What the bundle holds and where it runs.
    pub fn info(&self) -> Result<ModelInfo> {
        let mut raw = sys::adn_model_info::default();
        // SAFETY: live handle (read-only, thread-safe); raw is writable with struct_size set.
        check(unsafe { sys::adn_model_get_info(self.handle.ptr.as_ptr(), &mut raw) })?;
        let depth_kind = match raw.depth_kind {
            sys::ADN_DEPTH_KIND_DEPTH => DepthKind::Depth,
            sys::ADN_DEPTH_KIND_DISPARITY => DepthKind::Disparity,
            _ => DepthKind::None,
        };
        let backend = if raw.backend.is_null() {
            String::new()
        } else {
            // SAFETY: a static NUL-terminated name owned by the library.
            unsafe { CStr::from_ptr(raw.backend) }.to_string_lossy().into_owned()
        };
        Ok(ModelInfo {
            feature_channels: raw.feature_channels,
            downsample: raw.downsample,
            depth_kind,
            device: device_from_c(raw.device, raw.cuda_device_index),
            precision: Precision::from_c(raw.precision),
            backend,
        })
    }

    /// Encodes a style image (3 x H x W RGB, any size) once.  Thread-safe.
    pub fn style(&self, image: &Image) -> Result<Style> {
        if image.channels() != 3 {
            return Err(Error::invalid(format!("style must have 3 channels, has {}", image.channels())));
        }
        let raw_image = image.raw();
        let mut raw: *mut sys::adn_style = ptr::null_mut();
        // SAFETY: live handle and image; raw receives the handle.
        check(unsafe { sys::adn_style_create(self.handle.ptr.as_ptr(), &raw_image, &mut raw) })?;
        let ptr = NonNull::new(raw)
            .ok_or_else(|| Error::new(Status::Internal, "adn_style_create returned NULL"))?;
        Ok(Style { ptr, model: Arc::clone(&self.handle) })
    }

    /// A new [`Context`](crate::Context) for this model with the default options (same as
    /// `Context::new(self)`).
    pub fn context(&self) -> Result<crate::Context> {
        crate::Context::new(self)
    }

    /// Whether `other` is a handle to the same C model.
    pub fn same_as(&self, other: &Model) -> bool {
        Arc::ptr_eq(&self.handle, &other.handle)
    }
}

impl Style {
    /// The per-channel feature (mean, std).
    pub fn stats(&self) -> Result<(Vec<f32>, Vec<f32>)> {
        let mut channels = 0i32;
        // SAFETY: live handle; NULL mean/std ask for the channel count only.
        check(unsafe {
            sys::adn_style_get_stats(self.ptr.as_ptr(), ptr::null_mut(), ptr::null_mut(), &mut channels)
        })?;
        let n = channels.max(0) as usize;
        let (mut mean, mut std) = (vec![0.0f32; n], vec![0.0f32; n]);
        // SAFETY: buffers of `channels` floats.
        check(unsafe {
            sys::adn_style_get_stats(self.ptr.as_ptr(), mean.as_mut_ptr(), std.as_mut_ptr(), &mut channels)
        })?;
        Ok((mean, std))
    }

    /// Whether this style was made with `model`.
    pub fn belongs_to(&self, model: &Model) -> bool {
        Arc::ptr_eq(&self.model, &model.handle)
    }
}
