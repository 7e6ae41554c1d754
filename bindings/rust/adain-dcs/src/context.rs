//! Contexts: the per-thread / per-stream state of stylization.
//!
//! A [`Context`] holds the C context's work buffers, the depth range, the last depth and strength
//! maps, timings, temporal (video) state and a progress callback.  The C API allows one thread at
//! a time per context, so `Context` is `Send` (move it to another thread) but not `Sync` (no
//! `&Context` shared between threads), and every call that changes it takes `&mut self`.  Make one
//! per thread or per video stream; they can all share one [`Model`] and its [`Style`]s.
use std::any::Any;
use std::ops::ControlFlow;
use std::os::raw::{c_int, c_void};
use std::panic::{self, AssertUnwindSafe};
use std::ptr::{self, NonNull};

use crate::error::{check, to_i32, Error, Result, Status};
use crate::image::Image;
use crate::math::DepthNorm;
use crate::model::{Model, Style};
use crate::sys;

/// A stage of [`Context::stylize`] / [`Context::estimate_depth`], in order, as passed to the
/// progress callback before it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Padding and the encoder on the content.
    EncodeContent,
    /// Style statistics (re-encoding only with colour preservation).
    EncodeStyle,
    /// Depth network or caller map, normalisation, range map.
    Depth,
    /// AdaIN, masks, strength map, blend.
    AdainBlend,
    /// Decoder and crop into the output.
    Decode,
    /// A stage this binding does not know (a newer library).
    Unknown(i32),
}

impl Stage {
    fn from_c(stage: sys::adn_stage) -> Stage {
        match stage {
            sys::ADN_STAGE_ENCODE_CONTENT => Stage::EncodeContent,
            sys::ADN_STAGE_ENCODE_STYLE => Stage::EncodeStyle,
            sys::ADN_STAGE_DEPTH => Stage::Depth,
            sys::ADN_STAGE_ADAIN_BLEND => Stage::AdainBlend,
            sys::ADN_STAGE_DECODE => Stage::Decode,
            other => Stage::Unknown(other),
        }
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
    /// A caller depth map (1 channel, any size; resized bilinearly; with an invalid value it must
    /// have the content's size), read as `norm` says.
    Map { map: &'a Image, norm: DepthNorm },
}

impl<'a> Depth<'a> {
    /// A caller depth map with the default reading (larger = farther, no invalid value).
    pub fn map(map: &'a Image) -> Depth<'a> {
        Depth::Map { map, norm: DepthNorm::default() }
    }
}

/// Options of one [`Context::stylize`] call, built by chaining.
#[derive(Debug, Clone)]
pub struct StylizeParams<'a> {
    alpha: f32,
    mask: Option<&'a Image>,
    weights: Option<&'a [f32]>,
    regions: Option<&'a Image>,
    depth: Depth<'a>,
    preserve_color: bool,
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

    /// Interpolation weights, one per style (>= 0, normalised by the library).
    pub fn weights(mut self, weights: &'a [f32]) -> Self {
        self.weights = Some(weights);
        self
    }

    /// Region masks, K x H x W at content size (K = number of styles), summing to 1 per pixel.
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
}

/// Options of [`Context::with_options`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContextOptions {
    /// The initial depth range (lo, hi) of R(D) = lo + (hi - lo) D; default (0, 1).
    pub depth_range: (f32, f32),
    /// The most bytes one call's estimate may reach (`adn_context_params.memory_budget_bytes`):
    /// larger images run over tiles with the same result; 0 (default) = the library's default.
    pub memory_budget_bytes: u64,
}

impl Default for ContextOptions {
    fn default() -> Self {
        ContextOptions { depth_range: (0.0, 1.0), memory_budget_bytes: 0 }
    }
}

/// Wall-clock milliseconds of the stages of a context's last call (0 for stages it did not run).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    /// Re-encoding style images (colour preservation).
    pub style_encode_ms: f64,
    /// Padding and the encoder on the content.
    pub content_encode_ms: f64,
    /// Depth network, resize, normalisation, range map, 8x8 averages.
    pub depth_ms: f64,
    /// AdaIN / interpolation / regions, masks, strength map, blend.
    pub adain_blend_ms: f64,
    /// Decoder and crop.
    pub decode_ms: f64,
    /// The whole call.
    pub total_ms: f64,
}

/// Experimental (no compatibility promise, as in the C header): temporal smoothing for video,
/// applied by [`Context::stylize`] to the depth path only.  Both 0 (the default) = every frame
/// exact on its own.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Temporal {
    /// a in `[0,1)`: D'_t = a D'_{t-1} + (1 - a) D_t; 0 = off.
    pub depth_ema: f32,
    /// b in `[0,1)`: EMA of the raw depth's min and max used to normalise; 0 = off.
    pub range_ema: f32,
}

type ProgressFn = dyn FnMut(Stage) -> ControlFlow<()> + Send;

/// What the C progress callback reaches through its user_data: the closure, and the panic it
/// raised (kept to be resumed once the C call has returned, since unwinding through C is not
/// allowed).
struct ProgressSlot {
    callback: Option<Box<ProgressFn>>,
    panic: Option<Box<dyn Any + Send>>,
}

/// The C progress callback of every context.  Never unwinds: a panic of the closure is caught,
/// stored and answered with "cancel"; the Rust caller resumes it after the C call.
unsafe extern "C" fn progress_trampoline(stage: sys::adn_stage, user_data: *mut c_void) -> c_int {
    // SAFETY: user_data is the context's slot: allocated by Context::with_options, freed only in
    // its Drop, and reached by nothing else while a C call of that context runs (the Rust caller
    // holds `&mut Context` and does not touch the slot until the call returns).
    let slot = &mut *(user_data as *mut ProgressSlot);
    if slot.panic.is_some() {
        return 1; // already unwinding: stop
    }
    let callback = match slot.callback.as_mut() {
        Some(callback) => callback,
        None => return 0,
    };
    match panic::catch_unwind(AssertUnwindSafe(|| callback(Stage::from_c(stage)))) {
        Ok(ControlFlow::Continue(())) => 0,
        Ok(ControlFlow::Break(())) => 1,
        Err(payload) => {
            slot.panic = Some(payload);
            1
        }
    }
}

/// Per-thread / per-stream stylization state for one [`Model`] (see the module documentation).
///
/// `Send` but not `Sync`: the C API allows one thread at a time per context.  Moving one to
/// another thread compiles:
///
/// ```no_run
/// fn moved_between_threads<T: Send>() {}
/// moved_between_threads::<adain_dcs::Context>();
/// ```
///
/// and sharing one between threads does not (the same code with `Sync`, so the bound is the only
/// reason it fails):
///
/// ```compile_fail,E0277
/// fn shared_between_threads<T: Sync>() {}
/// shared_between_threads::<adain_dcs::Context>();
/// ```
///
/// It keeps its model alive (the C model is freed after its last context).
pub struct Context {
    ptr: NonNull<sys::adn_context>,
    /// Box::into_raw of the slot the C progress callback reaches; freed in Drop.
    progress: NonNull<ProgressSlot>,
    model: Model,
}

// SAFETY: the C context may move between threads as long as one thread at a time uses it, which
// `&mut self` (and the absence of Sync) guarantees; the progress closure is Send.
unsafe impl Send for Context {}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: we own both; the C context goes first, so no callback can reach the slot after.
        unsafe {
            sys::adn_context_free(self.ptr.as_ptr());
            drop(Box::from_raw(self.progress.as_ptr()));
        }
        // `model` is dropped after this: the model outlives the context.
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").field("ptr", &self.ptr).field("model", &self.model).finish()
    }
}

fn check_shape(image: &Image, channels: usize, height: usize, width: usize, what: &str) -> Result<()> {
    if image.shape() != (channels, height, width) {
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

impl Context {
    /// A context for `model` with the default options.
    pub fn new(model: &Model) -> Result<Context> {
        Context::with_options(model, &ContextOptions::default())
    }

    /// A context for `model`.  Allocates no image buffers yet: the first call at a size makes them
    /// and later calls at that size or smaller reuse them.
    pub fn with_options(model: &Model, options: &ContextOptions) -> Result<Context> {
        let slot = Box::into_raw(Box::new(ProgressSlot { callback: None, panic: None }));
        let mut params = sys::adn_context_default_params();
        params.depth_lo = options.depth_range.0;
        params.depth_hi = options.depth_range.1;
        params.memory_budget_bytes = options.memory_budget_bytes;
        params.progress = Some(progress_trampoline);
        params.progress_user_data = slot as *mut c_void;
        let mut raw: *mut sys::adn_context = ptr::null_mut();
        // SAFETY: live model handle (thread-safe); params valid for the call; raw receives the handle.
        let status = unsafe { sys::adn_context_create(model.handle.ptr.as_ptr(), &params, &mut raw) };
        let result = check(status);
        let ptr = match (result, NonNull::new(raw)) {
            (Ok(()), Some(ptr)) => ptr,
            (result, _) => {
                // SAFETY: no context refers to the slot.
                drop(unsafe { Box::from_raw(slot) });
                result?;
                return Err(Error::new(Status::Internal, "adn_context_create returned NULL"));
            }
        };
        // SAFETY: Box::into_raw never returns NULL.
        let progress = unsafe { NonNull::new_unchecked(slot) };
        Ok(Context { ptr, progress, model: model.clone() })
    }

    /// The model this context was made with.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Runs one C call on this context, then resumes a panic the progress closure raised in it.
    fn call(&mut self, f: impl FnOnce(*mut sys::adn_context) -> sys::adn_status) -> Result<()> {
        let status = f(self.ptr.as_ptr());
        let result = check(status); // reads this thread's message before anything else can
                                    // SAFETY: the C call has returned, so nothing else reaches the slot.
        if let Some(payload) = unsafe { (*self.progress.as_ptr()).panic.take() } {
            panic::resume_unwind(payload);
        }
        result
    }

    /// Sets R(D) = lo + (hi - lo) D for this context's later calls (lo, hi in `[0,1]`; lo > hi
    /// reverses the effect).
    pub fn set_depth_range(&mut self, lo: f32, hi: f32) -> Result<()> {
        // SAFETY: live context, used by this thread only (&mut self).
        self.call(|ctx| unsafe { sys::adn_set_depth_range(ctx, lo, hi) })
    }

    /// The depth range (lo, hi).
    pub fn depth_range(&self) -> Result<(f32, f32)> {
        let (mut lo, mut hi) = (0.0f32, 0.0f32);
        // SAFETY: live context; not Sync, so no other thread uses it during this &self call.
        check(unsafe { sys::adn_context_get_depth_range(self.ptr.as_ptr(), &mut lo, &mut hi) })?;
        Ok((lo, hi))
    }

    /// Forgets the temporal state (e.g. at a scene cut) and the last depth / strength maps.
    pub fn reset(&mut self) -> Result<()> {
        // SAFETY: live context, used by this thread only.
        self.call(|ctx| unsafe { sys::adn_context_reset(ctx) })
    }

    /// Calls `progress` before each [`Stage`] of later [`stylize`](Context::stylize) /
    /// [`estimate_depth`](Context::estimate_depth) calls, on the calling thread.  Returning
    /// `ControlFlow::Break(())` stops the call: it fails with [`Status::Cancelled`] and writes no
    /// output.  A panic in the closure also stops the call (it cannot unwind through C) and is
    /// resumed once the call has returned.  Replaces any earlier closure.
    pub fn set_progress<F>(&mut self, progress: F)
    where
        F: FnMut(Stage) -> ControlFlow<()> + Send + 'static,
    {
        // SAFETY: no C call runs (&mut self), so nothing else reaches the slot.
        unsafe { (*self.progress.as_ptr()).callback = Some(Box::new(progress)) };
    }

    /// Removes the progress closure.
    pub fn clear_progress(&mut self) {
        // SAFETY: as in set_progress.
        unsafe { (*self.progress.as_ptr()).callback = None };
    }

    /// Renders `content` (3 x H x W RGB in `[0,1]`) in the style of `styles` (made with this
    /// context's model) into a new 3 x H x W image (not clamped).  Afterwards the context holds
    /// this call's depth, strength and timings.
    pub fn stylize(
        &mut self,
        content: &Image,
        styles: &[&Style],
        params: &StylizeParams<'_>,
    ) -> Result<Image> {
        let mut out = Image::new(3, content.height(), content.width())?;
        self.stylize_into(content, styles, params, &mut out)?;
        Ok(out)
    }

    /// [`stylize`](Context::stylize) into an existing 3 x H x W image (e.g. the previous frame's),
    /// allocating nothing for the output.  `out` is written only when the whole call succeeds; on
    /// any error (including cancellation) it is left as it was.
    pub fn stylize_into(
        &mut self,
        content: &Image,
        styles: &[&Style],
        params: &StylizeParams<'_>,
        out: &mut Image,
    ) -> Result<()> {
        if styles.is_empty() {
            return Err(Error::invalid("at least one style is needed"));
        }
        if styles.iter().any(|s| !s.belongs_to(&self.model)) {
            return Err(Error::invalid("a style was made with another model than the context's"));
        }
        let (h, w) = (content.height(), content.width());
        check_shape(content, 3, h, w, "content")?;
        check_shape(out, 3, h, w, "out")?;
        let n_styles = to_i32(styles.len(), "n_styles")?;

        // Every pointer placed in `c` below stays valid until the call returns.
        let mask = params.mask.map(|m| check_shape(m, 1, h, w, "mask").map(|_| m.raw())).transpose()?;
        let regions = params
            .regions
            .map(|r| check_shape(r, styles.len(), h, w, "regions").map(|_| r.raw()))
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
        let mut c = sys::adn_stylize_default_params();
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
            Depth::Map { map, norm } => {
                if map.channels() != 1 {
                    return Err(Error::invalid(format!(
                        "depth map must have 1 channel, has {}",
                        map.channels()
                    )));
                }
                depth_map = map.raw();
                c.depth_source = sys::ADN_DEPTH_CALLER;
                c.depth = &depth_map;
                c.depth_norm = norm.to_c();
            }
        }
        let handles: Vec<*const sys::adn_style> = styles.iter().map(|s| s.ptr.as_ptr() as *const _).collect();
        let content_raw = content.raw();
        let mut out_raw = out.raw_mut();
        // SAFETY: all pointers refer to live buffers of the sizes stated (checked above); out has
        // data, so the library writes into it in place and allocates nothing.
        let result = self.call(|ctx| unsafe {
            sys::adn_stylize(ctx, &content_raw, handles.as_ptr(), n_styles, &c, &mut out_raw)
        });
        debug_assert!(out_raw.data == out.data_mut().as_mut_ptr(), "adn_stylize replaced a caller buffer");
        result
    }

    /// The normalised depth D (1 x H x W, 0 = near) of `rgb` (3 x H x W) from the model's depth
    /// network.  No stylization; the temporal state is neither used nor changed.
    pub fn estimate_depth(&mut self, rgb: &Image) -> Result<Image> {
        let mut out = Image::new(1, rgb.height(), rgb.width())?;
        self.estimate_depth_into(rgb, &mut out)?;
        Ok(out)
    }

    /// [`estimate_depth`](Context::estimate_depth) into an existing 1 x H x W image.
    pub fn estimate_depth_into(&mut self, rgb: &Image, out: &mut Image) -> Result<()> {
        check_shape(rgb, 3, rgb.height(), rgb.width(), "rgb")?;
        check_shape(out, 1, rgb.height(), rgb.width(), "out")?;
        let rgb_raw = rgb.raw();
        let mut out_raw = out.raw_mut();
        // SAFETY: live buffers of the sizes stated; out has data and is written in place.
        self.call(|ctx| unsafe { sys::adn_estimate_depth(ctx, &rgb_raw, &mut out_raw) })
    }

    /// D (1 x H x W, normalised, 0 = near, after temporal smoothing) of the last
    /// [`stylize`](Context::stylize).  [`Status::InvalidArgument`] if there was none, it used no
    /// depth, or it failed or was cancelled (a failed call never leaves half a result).
    pub fn depth(&self) -> Result<Image> {
        let mut raw = sys::adn_image::default();
        // SAFETY: live context (not Sync: this thread only); raw is empty and receives an
        // allocation, which take_library frees.
        check(unsafe { sys::adn_context_get_depth(self.ptr.as_ptr(), &mut raw) })?;
        // SAFETY: filled by the library.
        Ok(unsafe { Image::take_library(&mut raw) })
    }

    /// S (1 x h x w at feature resolution) of the last [`stylize`](Context::stylize), with the
    /// same failure rule as [`depth`](Context::depth).
    pub fn strength(&self) -> Result<Image> {
        let mut raw = sys::adn_image::default();
        // SAFETY: as in depth().
        check(unsafe { sys::adn_context_get_strength(self.ptr.as_ptr(), &mut raw) })?;
        // SAFETY: filled by the library.
        Ok(unsafe { Image::take_library(&mut raw) })
    }

    /// [`depth`](Context::depth) into an existing 1 x H x W image.
    pub fn depth_into(&self, out: &mut Image) -> Result<()> {
        let mut raw = out.raw_mut();
        // SAFETY: out is a live buffer of the size stated; the library checks it is 1 x H x W.
        check(unsafe { sys::adn_context_get_depth(self.ptr.as_ptr(), &mut raw) })
    }

    /// [`strength`](Context::strength) into an existing 1 x h x w image.
    pub fn strength_into(&self, out: &mut Image) -> Result<()> {
        let mut raw = out.raw_mut();
        // SAFETY: as in depth_into.
        check(unsafe { sys::adn_context_get_strength(self.ptr.as_ptr(), &mut raw) })
    }

    /// Stage timings of the last [`stylize`](Context::stylize) or
    /// [`estimate_depth`](Context::estimate_depth).
    pub fn timings(&self) -> Result<Timings> {
        let mut raw = sys::adn_timings::default();
        // SAFETY: live context; raw is writable with struct_size set.
        check(unsafe { sys::adn_context_get_timings(self.ptr.as_ptr(), &mut raw) })?;
        Ok(Timings {
            style_encode_ms: raw.style_encode_ms,
            content_encode_ms: raw.content_encode_ms,
            depth_ms: raw.depth_ms,
            adain_blend_ms: raw.adain_blend_ms,
            decode_ms: raw.decode_ms,
            total_ms: raw.total_ms,
        })
    }

    /// Experimental (the C header's `ADN_EXPERIMENTAL_API`; no compatibility promise): sets the
    /// temporal smoothing of later [`stylize`](Context::stylize) calls and restarts its state.
    pub fn set_temporal(&mut self, temporal: &Temporal) -> Result<()> {
        let mut params = sys::experimental::adn_temporal_default_params();
        params.depth_ema = temporal.depth_ema;
        params.range_ema = temporal.range_ema;
        // SAFETY: live context, this thread only; params valid for the call.
        self.call(|ctx| unsafe { sys::experimental::adn_context_set_temporal(ctx, &params) })
    }
}
