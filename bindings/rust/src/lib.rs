//! Safe Rust bindings for libadain_dcs: depth-preserving real-time arbitrary style transfer
//! (AdaIN-DCS).  No dependencies beyond std; the raw C declarations are in [`sys`].
//!
//! ```no_run
//! use adain_dcs::{Image, Model, StylizeParams};
//! # fn main() -> adain_dcs::Result<()> {
//! let model = Model::load("bundle/")?;
//! let style = model.style(&Image::read("style.jpg")?)?;
//! let content = Image::read("content.png")?;
//! let out = model.stylize(&content, &[&style], &StylizeParams::new().alpha(0.8))?;
//! out.image.write("out.png")?;
//! # Ok(())
//! # }
//! ```
//!
//! Images are planar `C x H x W` `f32` ([`Image`]), RGB in `[0,1]`, as in the C API.
//! Every fallible call returns [`Result`]; an [`Error`] carries the library's [`Status`] and its
//! one-line message.

pub mod sys;

mod error;
mod image;
mod math;
mod model;

pub use error::{Error, Result, Status};
pub use image::{FileFormat, Image, ImageInfo, ReadOptions, WriteOptions};
pub use math::*;
pub use model::{Depth, DepthKind, Device, Model, ModelInfo, ModelOptions, Style, StylizeParams, Stylized};

use std::ffi::{CStr, CString};

/// Version of the loaded library, e.g. "0.1.0".
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
