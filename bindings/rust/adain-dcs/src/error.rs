//! Status codes and the error type.
use std::ffi::CStr;
use std::fmt;

use crate::sys;

/// The C `adn_status` failure codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// NULL pointer, bad size, value out of range or size mismatch.
    InvalidArgument,
    /// An allocation failed (host or device).
    OutOfMemory,
    /// A file could not be opened, read, written or renamed.
    Io,
    /// Corrupt, truncated or unsupported file contents.
    Format,
    /// Image above the pixel limit.
    TooLarge,
    /// NaN or infinity in an input buffer.
    NonFinite,
    /// Model bundle missing, malformed or inconsistent.
    Model,
    /// Requested device (CUDA) not available.
    Device,
    /// Not compiled in (torch, PNG, JPEG), not implemented for this device / precision, or a
    /// newer struct field the library does not know.
    Unsupported,
    /// Unexpected failure inside a backend.
    Internal,
    /// The progress callback asked to stop; no output was written.
    Cancelled,
    /// A code this binding does not know (a newer library).
    Unknown(i32),
}

impl Status {
    /// The status for a non-zero C code.
    pub fn from_code(code: sys::adn_status) -> Status {
        match code {
            sys::ADN_ERR_INVALID_ARGUMENT => Status::InvalidArgument,
            sys::ADN_ERR_OUT_OF_MEMORY => Status::OutOfMemory,
            sys::ADN_ERR_IO => Status::Io,
            sys::ADN_ERR_FORMAT => Status::Format,
            sys::ADN_ERR_TOO_LARGE => Status::TooLarge,
            sys::ADN_ERR_NON_FINITE => Status::NonFinite,
            sys::ADN_ERR_MODEL => Status::Model,
            sys::ADN_ERR_DEVICE => Status::Device,
            sys::ADN_ERR_UNSUPPORTED => Status::Unsupported,
            sys::ADN_ERR_INTERNAL => Status::Internal,
            sys::ADN_ERR_CANCELLED => Status::Cancelled,
            other => Status::Unknown(other),
        }
    }

    /// The C code.
    pub fn code(self) -> sys::adn_status {
        match self {
            Status::InvalidArgument => sys::ADN_ERR_INVALID_ARGUMENT,
            Status::OutOfMemory => sys::ADN_ERR_OUT_OF_MEMORY,
            Status::Io => sys::ADN_ERR_IO,
            Status::Format => sys::ADN_ERR_FORMAT,
            Status::TooLarge => sys::ADN_ERR_TOO_LARGE,
            Status::NonFinite => sys::ADN_ERR_NON_FINITE,
            Status::Model => sys::ADN_ERR_MODEL,
            Status::Device => sys::ADN_ERR_DEVICE,
            Status::Unsupported => sys::ADN_ERR_UNSUPPORTED,
            Status::Internal => sys::ADN_ERR_INTERNAL,
            Status::Cancelled => sys::ADN_ERR_CANCELLED,
            Status::Unknown(code) => code,
        }
    }

    /// The library's English name, e.g. "invalid argument".
    pub fn name(self) -> String {
        // SAFETY: adn_status_str returns a static string for any code.
        unsafe { CStr::from_ptr(sys::adn_status_str(self.code())) }.to_string_lossy().into_owned()
    }
}

/// A failed call: the status and the library's one-line explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    status: Status,
    message: String,
}

/// `std::result::Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error with an explicit message (used for checks this binding makes before calling C).
    pub fn new(status: Status, message: impl Into<String>) -> Error {
        Error { status, message: message.into() }
    }

    /// The error for a C status code, with this thread's last library message.  Must be called on
    /// the thread that made the failing call, before any other library call.
    pub(crate) fn from_last(code: sys::adn_status) -> Error {
        // SAFETY: adn_last_error returns this thread's NUL-terminated message buffer.
        let message = unsafe { CStr::from_ptr(sys::adn_last_error()) }.to_string_lossy().into_owned();
        Error { status: Status::from_code(code), message }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error::new(Status::InvalidArgument, message)
    }

    /// What failed.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The library's one-line explanation (`adn_last_error`), or the binding's own.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            write!(f, "{}", self.status.name())
        } else {
            write!(f, "{}: {}", self.status.name(), self.message)
        }
    }
}

impl std::error::Error for Error {}

/// Ok for ADN_OK, else the error with the library's message.
pub(crate) fn check(code: sys::adn_status) -> Result<()> {
    if code == sys::ADN_OK {
        Ok(())
    } else {
        Err(Error::from_last(code))
    }
}

/// usize -> i32 for a C size argument.
pub(crate) fn to_i32(value: usize, what: &str) -> Result<i32> {
    if value > i32::MAX as usize {
        return Err(Error::new(Status::TooLarge, format!("{} = {} does not fit in int32", what, value)));
    }
    Ok(value as i32)
}

/// usize -> i64 for a C count argument.
pub(crate) fn to_i64(value: usize, what: &str) -> Result<i64> {
    if value as u64 > i64::MAX as u64 {
        return Err(Error::new(Status::TooLarge, format!("{} = {} does not fit in int64", what, value)));
    }
    Ok(value as i64)
}
