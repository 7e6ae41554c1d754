//! Owned planar images and PNG / JPEG files.
use std::ffi::CString;
use std::path::Path;
use std::ptr;

use crate::error::{check, to_i32, Error, Result};
use crate::sys;

/// A planar `C x H x W` float image owned by Rust: channel `c`, row `y`, column `x` is at
/// `data[(c * height + y) * width + x]`.  Colour images are RGB in `[0,1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    channels: usize,
    width: usize,
    height: usize,
    data: Vec<f32>,
}

/// Which codec a file used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Unknown,
    Png,
    Jpeg,
}

/// What an image file stores (`adn_image_info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    pub format: FileFormat,
    pub width: i32,
    pub height: i32,
    /// 8 or 16.
    pub bit_depth: i32,
    /// Channels in the file (1..4; CMYK JPEG reports 4).
    pub file_channels: i32,
    pub has_alpha: bool,
}

/// Options of [`Image::read_with`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions {
    /// Refuse images with more pixels (None: the library default, 2^28).
    pub max_pixels: Option<u64>,
    /// One channel: colour files become luma.
    pub gray: bool,
    /// Keep the stored integers (0..255 / 0..65535) instead of scaling to `[0,1]` (depth maps).
    pub raw_values: bool,
}

/// Options of [`Image::write_with`] (None: library defaults, JPEG quality 95, PNG 8-bit).
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOptions {
    pub jpeg_quality: Option<i32>,
    pub png_bit_depth: Option<i32>,
}

pub(crate) fn path_to_c(path: &Path) -> Result<CString> {
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = path
        .to_str()
        .ok_or_else(|| Error::invalid(format!("path {:?} is not valid UTF-8", path)))?
        .as_bytes()
        .to_vec();
    CString::new(bytes).map_err(|_| Error::invalid(format!("path {:?} contains a NUL byte", path)))
}

impl Image {
    /// A zero-filled image.  Sizes must be >= 1.
    pub fn new(channels: usize, width: usize, height: usize) -> Result<Image> {
        let count = Self::count(channels, width, height)?;
        Ok(Image { channels, width, height, data: vec![0.0; count] })
    }

    /// Wraps planar data of exactly `channels * height * width` values.
    pub fn from_vec(channels: usize, width: usize, height: usize, data: Vec<f32>) -> Result<Image> {
        let count = Self::count(channels, width, height)?;
        if data.len() != count {
            return Err(Error::invalid(format!(
                "{} values given for a {}x{}x{} (CxHxW) image, which needs {}",
                data.len(),
                channels,
                height,
                width,
                count
            )));
        }
        Ok(Image { channels, width, height, data })
    }

    fn count(channels: usize, width: usize, height: usize) -> Result<usize> {
        if channels < 1 || width < 1 || height < 1 {
            return Err(Error::invalid(format!(
                "invalid image size {}x{}x{} (CxHxW)",
                channels, height, width
            )));
        }
        to_i32(width, "width")?;
        to_i32(height, "height")?;
        to_i32(channels, "channels")?;
        channels
            .checked_mul(width)
            .and_then(|v| v.checked_mul(height))
            .ok_or_else(|| Error::invalid("image size overflows"))
    }

    /// Converts interleaved 8-bit pixels (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA; rows packed) to
    /// RGB in `[0,1]` with the library's conversion.  Alpha is dropped.
    pub fn from_interleaved_u8(pixels: &[u8], width: usize, height: usize, channels: usize) -> Result<Image> {
        let needed = Self::count(channels, width, height)?;
        if pixels.len() != needed {
            return Err(Error::invalid(format!(
                "{} bytes given for {}x{} pixels with {} channel(s), which need {}",
                pixels.len(),
                width,
                height,
                channels,
                needed
            )));
        }
        let src = sys::adn_image_u8 {
            data: pixels.as_ptr() as *mut u8, // read only: the parameter is const in C
            width: to_i32(width, "width")?,
            height: to_i32(height, "height")?,
            channels: to_i32(channels, "channels")?,
            stride: width * channels,
        };
        let mut rgb = sys::adn_image::default();
        // SAFETY: src describes `pixels` exactly; rgb is empty and receives a library allocation.
        check(unsafe { sys::adn_image_from_u8(&src, &mut rgb, ptr::null_mut()) })?;
        // SAFETY: rgb was just filled by the library.
        Ok(unsafe { Image::take_library(&mut rgb) })
    }

    /// Interleaved 8-bit pixels (H x W x C, C = 1 or 3), clamped to `[0,1]` and rounded by the library.
    pub fn to_interleaved_u8(&self) -> Result<Vec<u8>> {
        let raw = self.raw();
        let mut dst = sys::adn_image_u8::default();
        // SAFETY: raw points at self.data, valid for the call; dst receives a malloc'd buffer.
        check(unsafe { sys::adn_image_to_u8(&raw, ptr::null(), &mut dst) })?;
        let row = if dst.stride != 0 { dst.stride } else { dst.width as usize * dst.channels as usize };
        let packed = dst.width as usize * dst.channels as usize;
        let mut out = Vec::with_capacity(packed * dst.height as usize);
        for y in 0..dst.height as usize {
            // SAFETY: the library allocated height rows of `row` bytes.
            let line = unsafe { std::slice::from_raw_parts(dst.data.add(y * row), packed) };
            out.extend_from_slice(line);
        }
        // SAFETY: dst came from adn_image_to_u8.
        unsafe { sys::adn_u8_free(&mut dst) };
        Ok(out)
    }

    /// Reads a PNG or JPEG as RGB in `[0,1]`.
    pub fn read(path: impl AsRef<Path>) -> Result<Image> {
        Image::read_with(path, &ReadOptions::default()).map(|(image, _, _)| image)
    }

    /// Reads a PNG or JPEG: (pixels, alpha if the file has it, file info).
    pub fn read_with(
        path: impl AsRef<Path>,
        options: &ReadOptions,
    ) -> Result<(Image, Option<Image>, ImageInfo)> {
        let c_path = path_to_c(path.as_ref())?;
        // SAFETY: returns a struct by value.
        let mut params = unsafe { sys::adn_read_default_params() };
        if let Some(max) = options.max_pixels {
            params.max_pixels = max;
        }
        params.mode = if options.gray { sys::ADN_PIXELS_GRAY } else { sys::ADN_PIXELS_RGB };
        params.raw_values = options.raw_values as i32;
        let mut pixels = sys::adn_image::default();
        let mut alpha = sys::adn_image::default();
        let mut info = sys::adn_image_info::default();
        // SAFETY: every pointer is valid for the call; the images are empty and receive allocations.
        check(unsafe { sys::adn_image_read(c_path.as_ptr(), &params, &mut pixels, &mut alpha, &mut info) })?;
        // SAFETY: both were filled (or left empty) by the library.
        let image = unsafe { Image::take_library(&mut pixels) };
        let alpha =
            if alpha.data.is_null() { None } else { Some(unsafe { Image::take_library(&mut alpha) }) };
        let format = match info.format {
            sys::ADN_FORMAT_PNG => FileFormat::Png,
            sys::ADN_FORMAT_JPEG => FileFormat::Jpeg,
            _ => FileFormat::Unknown,
        };
        let info = ImageInfo {
            format,
            width: info.width,
            height: info.height,
            bit_depth: info.bit_depth,
            file_channels: info.file_channels,
            has_alpha: info.has_alpha != 0,
        };
        Ok((image, alpha, info))
    }

    /// Writes a 1- or 3-channel image to PNG or JPEG (by extension), values clamped to `[0,1]`.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        self.write_with(path, None, &WriteOptions::default())
    }

    /// Writes with an optional alpha channel (1 x H x W) and codec options.
    pub fn write_with(
        &self,
        path: impl AsRef<Path>,
        alpha: Option<&Image>,
        options: &WriteOptions,
    ) -> Result<()> {
        let c_path = path_to_c(path.as_ref())?;
        // SAFETY: returns a struct by value.
        let mut params = unsafe { sys::adn_write_default_params() };
        if let Some(q) = options.jpeg_quality {
            params.jpeg_quality = q;
        }
        if let Some(bits) = options.png_bit_depth {
            params.png_bit_depth = bits;
        }
        let pixels = self.raw();
        let alpha_raw = alpha.map(Image::raw);
        let alpha_ptr = alpha_raw.as_ref().map_or(ptr::null(), |a| a as *const sys::adn_image);
        // SAFETY: the images point at live Rust buffers of the sizes they state.
        check(unsafe { sys::adn_image_write(c_path.as_ptr(), &pixels, alpha_ptr, &params) })
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    /// Planar data, `C x H x W`.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }

    /// The value at channel c, row y, column x.
    pub fn get(&self, c: usize, y: usize, x: usize) -> f32 {
        self.data[(c * self.height + y) * self.width + x]
    }

    /// The C view of this image.  The library only reads through it where the parameter is const.
    pub(crate) fn raw(&self) -> sys::adn_image {
        sys::adn_image {
            data: self.data.as_ptr() as *mut f32,
            width: self.width as i32,
            height: self.height as i32,
            channels: self.channels as i32,
        }
    }

    /// A writable C view, for outputs the library fills in place.
    pub(crate) fn raw_mut(&mut self) -> sys::adn_image {
        sys::adn_image {
            data: self.data.as_mut_ptr(),
            width: self.width as i32,
            height: self.height as i32,
            channels: self.channels as i32,
        }
    }

    /// Copies a library-allocated image into Rust memory and frees the original.
    ///
    /// # Safety
    /// `raw` must be empty or hold a buffer allocated by libadain_dcs of the sizes it states.
    pub(crate) unsafe fn take_library(raw: &mut sys::adn_image) -> Image {
        let (c, w, h) = (raw.channels.max(0) as usize, raw.width.max(0) as usize, raw.height.max(0) as usize);
        let data = if raw.data.is_null() {
            Vec::new()
        } else {
            std::slice::from_raw_parts(raw.data, c * w * h).to_vec()
        };
        sys::adn_image_free(raw);
        Image { channels: c, width: w, height: h, data }
    }
}
