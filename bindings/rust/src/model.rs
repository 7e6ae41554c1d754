//! Models, encoded styles and stylization.
//!
//! Ownership mirrors the C rules without lifetimes in user code: a [`Style`] holds a shared
//! reference to its model's handle, so the C model is freed only after its last style (the C API
//! requires that order).  `adn_set_depth_range` must not run concurrently with `adn_stylize` on
//! the same model; a read-write lock inside the handle enforces that, so [`Model`] is `Send + Sync`
//! and several threads may stylize at once.
use std::path::Path;
use std::ptr::{self, NonNull};
use std::sync::{Arc, RwLock};

use crate::error::{check, to_i32, Error, Result, Status};
use crate::image::{path_to_c, Image};
use crate::sys;

struct ModelHandle {
    ptr: NonNull<sys::adn_model>,
    /// Read: stylize / style creation; write: depth range changes.
    lock: RwLock<()>,
}

// SAFETY: the C API lets any thread use a model; the lock serialises the one non-thread-safe call.
unsafe impl Send for ModelHandle {}
// SAFETY: as above.
unsafe impl Sync for ModelHandle {}

impl Drop for ModelHandle {
    fn drop(&mut self) {
        // SAFETY: the last reference is gone, so no style of this model is alive any more.
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
    /// CPU threads for torch; 0 = number of cores.
    pub threads: i32,
    /// Load depth.pt if the bundle has it.
    pub load_depth: bool,
    /// Freeze and optimise the TorchScript modules after loading.
    pub optimize: bool,
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions { device: Device::Auto, threads: 0, load_depth: true, optimize: true }
    }
}

/// `adn_model_info` in Rust terms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelInfo {
    pub feature_channels: i32,
    pub downsample: i32,
    pub depth_kind: DepthKind,
    /// The device actually used (Auto resolved).
    pub device: Device,
    pub depth_lo: f32,
    pub depth_hi: f32,
}

/// A loaded model bundle.  Cheap to clone (clones share one C model).
#[derive(Clone)]
pub struct Model {
    handle: Arc<ModelHandle>,
}

/// A style encoded once for a model (its feature statistics).
pub struct Style {
    ptr: NonNull<sys::adn_style>,
    model: Arc<ModelHandle>,
}

// SAFETY: a style is only read by the library after creation; it is freed only by Drop, which
// needs exclusive ownership.
unsafe impl Send for Style {}
// SAFETY: as above.
unsafe impl Sync for Style {}

impl Drop for Style {
    fn drop(&mut self) {
        // SAFETY: we own the handle; `model` is dropped after this, so the model outlives it.
        unsafe { sys::adn_style_free(self.ptr.as_ptr()) }
    }
}

/// Where the depth map comes from in [`StylizeParams::depth`].
#[derive(Debug, Clone, Copy)]
pub enum Depth<'a> {
    /// The model's depth module if it has one, otherwise none.
    Auto,
    /// The model's depth module (error if it has none).
    Network,
    /// R(D) = 1: plain AdaIN with trade-off alpha.
    None,
    /// A caller depth map (1 channel, any size; resized bilinearly).
    Map {
        map: &'a Image,
        /// Larger = nearer.
        is_disparity: bool,
        /// Value marking missing pixels (0 in Middlebury / Kinect files).
        invalid: Option<f32>,
    },
}

/// Options of one [`Model::stylize`] call, built by chaining.
#[derive(Debug, Clone)]
pub struct StylizeParams<'a> {
    alpha: f32,
    mask: Option<&'a Image>,
    weights: Option<&'a [f32]>,
    regions: Option<&'a Image>,
    depth: Depth<'a>,
    preserve_color: bool,
    return_depth: bool,
    return_strength: bool,
}

impl<'a> Default for StylizeParams<'a> {
    fn default() -> Self {
        StylizeParams {
            alpha: 1.0,
            mask: None,
            weights: None,
            regions: None,
            depth: Depth::Auto,
            preserve_color: false,
            return_depth: false,
            return_strength: false,
        }
    }
}

impl<'a> StylizeParams<'a> {
    /// The library defaults: alpha 1, automatic depth, nothing else.
    pub fn new() -> Self {
        Self::default()
    }

    /// Global strength in `[0,1]`.
    pub fn alpha(mut self, alpha: f32) -> Self {
        self.alpha = alpha;
        self
    }

    /// User mask M (1 x H x W at content size, values in `[0,1]`).
    pub fn mask(mut self, mask: &'a Image) -> Self {
        self.mask = Some(mask);
        self
    }

    /// Interpolation weights, one per style (normalised by the library).
    pub fn weights(mut self, weights: &'a [f32]) -> Self {
        self.weights = Some(weights);
        self
    }

    /// Region masks, K x H x W at content size (K = number of styles).
    pub fn regions(mut self, masks: &'a Image) -> Self {
        self.regions = Some(masks);
        self
    }

    pub fn depth(mut self, depth: Depth<'a>) -> Self {
        self.depth = depth;
        self
    }

    /// CORAL-match each style's colours to the content first.
    pub fn preserve_color(mut self, on: bool) -> Self {
        self.preserve_color = on;
        self
    }

    /// Also return D (1 x H x W, 0 = near) in [`Stylized::depth`].
    pub fn return_depth(mut self, on: bool) -> Self {
        self.return_depth = on;
        self
    }

    /// Also return S (1 x h x w at feature resolution) in [`Stylized::strength`].
    pub fn return_strength(mut self, on: bool) -> Self {
        self.return_strength = on;
        self
    }
}

/// The result of [`Model::stylize`].
#[derive(Debug, Clone)]
pub struct Stylized {
    /// 3 x H x W, not clamped.
    pub image: Image,
    pub depth: Option<Image>,
    pub strength: Option<Image>,
}

fn device_from_c(device: sys::adn_device, index: i32) -> Device {
    match device {
        sys::ADN_DEVICE_CPU => Device::Cpu,
        sys::ADN_DEVICE_CUDA => Device::Cuda(index),
        _ => Device::Auto,
    }
}

fn check_layout(image: &Image, channels: usize, height: usize, width: usize, what: &str) -> Result<()> {
    if image.channels() != channels || image.height() != height || image.width() != width {
        return Err(Error::invalid(format!(
            "{} must be {}x{}x{} (CxHxW), is {}x{}x{}",
            what,
            channels,
            height,
            width,
            image.channels(),
            image.height(),
            image.width()
        )));
    }
    Ok(())
}

impl Model {
    /// Loads a bundle directory with the default options.
    pub fn load(dir: impl AsRef<Path>) -> Result<Model> {
        Model::load_with(dir, &ModelOptions::default())
    }

    /// Loads and validates a bundle directory.
    pub fn load_with(dir: impl AsRef<Path>, options: &ModelOptions) -> Result<Model> {
        let c_dir = path_to_c(dir.as_ref())?;
        // SAFETY: returns a struct by value.
        let mut params = unsafe { sys::adn_model_default_params() };
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
        let mut raw: *mut sys::adn_model = ptr::null_mut();
        // SAFETY: valid path and params; raw receives the handle.
        check(unsafe { sys::adn_model_load(c_dir.as_ptr(), &params, &mut raw) })?;
        let ptr =
            NonNull::new(raw).ok_or_else(|| Error::new(Status::Internal, "adn_model_load returned NULL"))?;
        Ok(Model { handle: Arc::new(ModelHandle { ptr, lock: RwLock::new(()) }) })
    }

    fn read_lock(&self) -> std::sync::RwLockReadGuard<'_, ()> {
        // A panic while holding the lock leaves nothing half-done in C: ignore poisoning.
        self.handle.lock.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn info(&self) -> Result<ModelInfo> {
        let mut raw = sys::adn_model_info::default();
        {
            // Shared lock, as stylize: set_depth_range writes depth_lo / depth_hi under the write
            // lock, and reading them meanwhile would be a data race in C.
            let _shared = self.read_lock();
            // SAFETY: live handle, raw is writable, no depth range change runs.
            check(unsafe { sys::adn_model_get_info(self.handle.ptr.as_ptr(), &mut raw) })?;
        }
        let depth_kind = match raw.depth_kind {
            sys::ADN_DEPTH_KIND_DEPTH => DepthKind::Depth,
            sys::ADN_DEPTH_KIND_DISPARITY => DepthKind::Disparity,
            _ => DepthKind::None,
        };
        Ok(ModelInfo {
            feature_channels: raw.feature_channels,
            downsample: raw.downsample,
            depth_kind,
            device: device_from_c(raw.device, 0),
            depth_lo: raw.depth_lo,
            depth_hi: raw.depth_hi,
        })
    }

    /// Sets R(D) = lo + (hi - lo) D for later calls (waits for running stylize calls to finish).
    pub fn set_depth_range(&self, lo: f32, hi: f32) -> Result<()> {
        let _exclusive = self.handle.lock.write().unwrap_or_else(|e| e.into_inner());
        // SAFETY: live handle; no stylize runs while the write lock is held.
        check(unsafe { sys::adn_set_depth_range(self.handle.ptr.as_ptr(), lo, hi) })
    }

    /// Encodes a style image (3 x H x W RGB, any size) once.
    pub fn style(&self, image: &Image) -> Result<Style> {
        if image.channels() != 3 {
            return Err(Error::invalid(format!("style must have 3 channels, has {}", image.channels())));
        }
        let raw_image = image.raw();
        let mut raw: *mut sys::adn_style = ptr::null_mut();
        let _shared = self.read_lock();
        // SAFETY: live handle and image; raw receives the handle.
        check(unsafe { sys::adn_style_create(self.handle.ptr.as_ptr(), &raw_image, &mut raw) })?;
        let ptr = NonNull::new(raw)
            .ok_or_else(|| Error::new(Status::Internal, "adn_style_create returned NULL"))?;
        Ok(Style { ptr, model: Arc::clone(&self.handle) })
    }

    /// Renders `content` (3 x H x W RGB in `[0,1]`) in the style of `styles` (made with this model).
    pub fn stylize(
        &self,
        content: &Image,
        styles: &[&Style],
        params: &StylizeParams<'_>,
    ) -> Result<Stylized> {
        if styles.is_empty() {
            return Err(Error::invalid("at least one style is needed"));
        }
        if styles.iter().any(|s| !Arc::ptr_eq(&s.model, &self.handle)) {
            return Err(Error::invalid("a style was made with another model"));
        }
        let (h, w) = (content.height(), content.width());
        check_layout(content, 3, h, w, "content")?;
        let n_styles = to_i32(styles.len(), "n_styles")?;

        // Every pointer placed in `c` below stays valid until the call returns.
        let mask = params.mask.map(|m| check_layout(m, 1, h, w, "mask").map(|_| m.raw())).transpose()?;
        let regions = params
            .regions
            .map(|r| check_layout(r, styles.len(), h, w, "regions").map(|_| r.raw()))
            .transpose()?;
        if let Some(weights) = params.weights {
            if weights.len() != styles.len() {
                return Err(Error::invalid(format!(
                    "{} weights for {} style(s)",
                    weights.len(),
                    styles.len()
                )));
            }
        }
        // SAFETY: returns a struct by value.
        let mut c = unsafe { sys::adn_stylize_default_params() };
        c.alpha = params.alpha;
        c.mask = mask.as_ref().map_or(ptr::null(), |m| m as *const _);
        c.region_masks = regions.as_ref().map_or(ptr::null(), |r| r as *const _);
        c.style_weights = params.weights.map_or(ptr::null(), |wts| wts.as_ptr());
        c.preserve_color = params.preserve_color as i32;
        let depth_map;
        match params.depth {
            Depth::Auto => c.depth_source = sys::ADN_DEPTH_AUTO,
            Depth::Network => c.depth_source = sys::ADN_DEPTH_NETWORK,
            Depth::None => c.depth_source = sys::ADN_DEPTH_NONE,
            Depth::Map { map, is_disparity, invalid } => {
                if map.channels() != 1 {
                    return Err(Error::invalid(format!(
                        "depth map must have 1 channel, has {}",
                        map.channels()
                    )));
                }
                depth_map = map.raw();
                c.depth_source = sys::ADN_DEPTH_CALLER;
                c.depth = &depth_map;
                c.depth_is_disparity = is_disparity as i32;
                c.depth_has_invalid = invalid.is_some() as i32;
                c.depth_invalid_value = invalid.unwrap_or(0.0);
            }
        }
        let mut out_depth = sys::adn_image::default();
        let mut out_strength = sys::adn_image::default();
        if params.return_depth {
            c.out_depth = &mut out_depth;
        }
        if params.return_strength {
            c.out_strength = &mut out_strength;
        }
        let handles: Vec<*const sys::adn_style> = styles.iter().map(|s| s.ptr.as_ptr() as *const _).collect();
        let mut out = sys::adn_image::default();
        let status = {
            let _shared = self.read_lock();
            // SAFETY: all pointers refer to live buffers of the sizes stated; outputs are empty and
            // receive library allocations.
            unsafe {
                sys::adn_stylize(
                    self.handle.ptr.as_ptr(),
                    &content.raw(),
                    handles.as_ptr(),
                    n_styles,
                    &c,
                    &mut out,
                )
            }
        };
        let result = check(status);
        // SAFETY: each output is empty or a library allocation; take_library frees it.
        let (image, depth, strength) = unsafe {
            (
                Image::take_library(&mut out),
                Image::take_library(&mut out_depth),
                Image::take_library(&mut out_strength),
            )
        };
        result?;
        Ok(Stylized {
            image,
            depth: if params.return_depth { Some(depth) } else { None },
            strength: if params.return_strength { Some(strength) } else { None },
        })
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
}

#[cfg(test)]
#[path = "../tests/common/export.rs"]
mod analytic_export;

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    /// info() must wait while the write lock is held (what set_depth_range does), then report the
    /// range set under it.  Needs the private lock, hence a unit test.
    #[test]
    fn info_waits_for_a_depth_range_change_in_progress() {
        if !crate::has_feature("torch") {
            eprintln!("SKIP info_waits_for_a_depth_range_change_in_progress: no torch backend");
            return;
        }
        let out = std::env::temp_dir().join(format!("adn-rust-unit-analytic-{}", std::process::id()));
        if let Err(why) = analytic_export::export_analytic_to(&out) {
            eprintln!("SKIP info_waits_for_a_depth_range_change_in_progress: {}", why);
            return;
        }
        let options = ModelOptions { device: Device::Cpu, threads: 1, ..ModelOptions::default() };
        let model = Model::load_with(&out, &options).unwrap();
        let writer = model.handle.lock.write().unwrap();
        let (sender, receiver) = mpsc::channel();
        let reader = model.clone();
        let thread = std::thread::spawn(move || sender.send(reader.info()).unwrap());
        assert!(
            receiver.recv_timeout(Duration::from_millis(500)).is_err(),
            "info() read the model while the write lock was held"
        );
        // SAFETY: live handle; the write lock is held, as set_depth_range holds it.
        check(unsafe { sys::adn_set_depth_range(model.handle.ptr.as_ptr(), 0.25, 0.75) }).unwrap();
        drop(writer);
        let info = receiver.recv().unwrap().unwrap();
        assert_eq!((info.depth_lo, info.depth_hi), (0.25, 0.75));
        thread.join().unwrap();
        drop(model);
        let _ = std::fs::remove_dir_all(&out);
    }
}
