//! Safe Rust bindings for libadain_dcs: depth-preserving real-time arbitrary style transfer
//! (AdaIN-DCS).  No dependencies beyond std and the raw declarations in [`sys`]
//! (the `adain-dcs-sys` crate).
//!
//! ```no_run
//! use adain_dcs::{Context, Image, Model, StylizeParams};
//! # fn main() -> adain_dcs::Result<()> {
//! let model = Model::load("bundle/")?;                   // Send + Sync: share it
//! let style = model.style(&Image::read("style.jpg")?)?;  // Send + Sync: share it
//! let mut ctx = Context::new(&model)?;                   // one per thread / video stream
//! let content = Image::read("content.png")?;
//! let out = ctx.stylize(&content, &[&style], &StylizeParams::new().alpha(0.8))?;
//! out.write("out.png")?;
//! let depth = ctx.depth()?;                              // D of that call, 1 x H x W
//! # Ok(())
//! # }
//! ```
//!
//! Objects follow the C API: a [`Model`] is read-only once loaded and thread-safe without a lock;
//! a [`Style`] is encoded once per model and shared; a [`Context`] carries the per-thread state
//! (work buffers, depth range, last depth and strength maps, timings, video state, a progress
//! callback) and is `Send` but not `Sync`.  Styles and contexts keep their model alive.
//!
//! Images are planar `C x H x W` `f32` ([`Image`]), RGB in `[0,1]`, and sizes are always given
//! in the order channels, height, width, as in the C API.  Every fallible call returns
//! [`Result`]; an [`Error`] carries the library's [`Status`] and its one-line message.

/// The raw C declarations (the `adain-dcs-sys` crate).
pub use adain_dcs_sys as sys;

mod context;
mod error;
mod image;
mod log;
mod math;
mod model;

pub use context::{Context, ContextOptions, Depth, Stage, StylizeParams, Temporal, Timings};
pub use error::{Error, Result, Status};
pub use image::{FileFormat, Image, ImageInfo, ReadOptions, WriteOptions};
pub use log::{clear_log_callback, set_log_callback, LogLevel};
pub use math::*;
pub use model::{DepthKind, Device, Model, ModelInfo, ModelOptions, Precision, Style};

use std::ffi::{CStr, CString};

/// Version of the loaded library, e.g. "0.3.0".
pub fn version() -> String {
    // SAFETY: adn_version returns a static NUL-terminated string.
    unsafe { CStr::from_ptr(sys::adn_version()) }.to_string_lossy().into_owned()
}

/// `major * 10000 + minor * 100 + patch` of the loaded library.
pub fn version_number() -> i32 {
    // SAFETY: no arguments, no state.
    unsafe { sys::adn_version_number() }
}

/// Whether the loaded library has "torch", "cuda", "png" or "jpeg".
pub fn has_feature(name: &str) -> bool {
    match CString::new(name) {
        // SAFETY: a valid NUL-terminated string for the duration of the call.
        Ok(c) => unsafe { sys::adn_has_feature(c.as_ptr()) != 0 },
        Err(_) => false,
    }
}

/// Compile-time checks of the thread-safety promises (a `Sync` Context must not compile either:
/// see the `compile_fail` example on [`Context`]).
#[allow(dead_code)]
fn _thread_safety() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Model>();
    send_sync::<Style>();
    send::<Context>();
}
