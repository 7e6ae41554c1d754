//! The library's log messages as a Rust closure (`adn_set_log_callback`).
use std::ffi::CStr;
use std::os::raw::{c_char, c_void};
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex, RwLock};

use crate::sys;

/// Severity of a log message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    fn from_c(level: sys::adn_log_level) -> LogLevel {
        match level {
            sys::ADN_LOG_DEBUG => LogLevel::Debug,
            sys::ADN_LOG_INFO => LogLevel::Info,
            sys::ADN_LOG_WARN => LogLevel::Warn,
            _ => LogLevel::Error,
        }
    }

    fn to_c(self) -> sys::adn_log_level {
        match self {
            LogLevel::Debug => sys::ADN_LOG_DEBUG,
            LogLevel::Info => sys::ADN_LOG_INFO,
            LogLevel::Warn => sys::ADN_LOG_WARN,
            LogLevel::Error => sys::ADN_LOG_ERROR,
        }
    }
}

type LogFn = dyn Fn(LogLevel, &str) + Send + Sync;

/// The closure the C callback forwards to.  Read (and the Arc cloned) on every message, so that a
/// replacement never frees a closure another thread is running.
static LOGGER: RwLock<Option<Arc<LogFn>>> = RwLock::new(None);
/// Serialises set / clear: the C setter is not thread-safe with respect to itself.
static SETTER: Mutex<()> = Mutex::new(());

unsafe extern "C" fn log_trampoline(level: sys::adn_log_level, message: *const c_char, _user: *mut c_void) {
    let logger = match LOGGER.read() {
        Ok(guard) => guard.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    };
    if let (Some(logger), false) = (logger, message.is_null()) {
        // SAFETY: the library passes a NUL-terminated message valid during the call.
        let text = CStr::from_ptr(message).to_string_lossy();
        // A panic must not unwind into C, and there is no Rust caller to hand it to (messages
        // come from any thread, inside any call): it is dropped.
        let _ = panic::catch_unwind(AssertUnwindSafe(|| logger(LogLevel::from_c(level), &text)));
    }
}

/// Sends the library's messages at `min_level` and above to `logger`, process-wide, from
/// whichever thread the library runs on (hence `Send + Sync`).  Replaces an earlier logger.  A
/// panic inside `logger` is caught and dropped (it cannot unwind through C).
///
/// The C library reads its callback without synchronisation, so, as its header asks, set the
/// logger at start-up, before other threads call into the library; this wrapper itself is safe to
/// call from any thread.
pub fn set_log_callback<F>(min_level: LogLevel, logger: F)
where
    F: Fn(LogLevel, &str) + Send + Sync + 'static,
{
    let _serial = SETTER.lock().unwrap_or_else(|e| e.into_inner());
    *LOGGER.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(logger));
    // SAFETY: a valid callback that never unwinds; it needs no user data.
    unsafe { sys::adn_set_log_callback(Some(log_trampoline), std::ptr::null_mut(), min_level.to_c()) };
}

/// Restores the library's default (silence).
pub fn clear_log_callback() {
    let _serial = SETTER.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: NULL restores the default.
    unsafe { sys::adn_set_log_callback(None, std::ptr::null_mut(), sys::ADN_LOG_INFO) };
    *LOGGER.write().unwrap_or_else(|e| e.into_inner()) = None;
}
