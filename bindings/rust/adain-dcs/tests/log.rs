//! The process-wide log callback (one test in its own binary: other tests' failures would log
//! into it).
mod common;

use std::sync::{Arc, Mutex};

use adain_dcs::LogLevel;
use common::{quiet_expected_panics, EXPECTED_PANIC};

#[test]
fn library_messages_reach_the_closure() {
    quiet_expected_panics();
    let seen: Arc<Mutex<Vec<(LogLevel, String)>>> = Arc::default();
    let sink = Arc::clone(&seen);
    adain_dcs::set_log_callback(LogLevel::Warn, move |level, message| {
        sink.lock().unwrap().push((level, message.to_string()));
    });
    let err = adain_dcs::depth_range_map(&[], 0.0, 1.0).unwrap_err(); // a failure logs an error
    {
        let seen = seen.lock().unwrap();
        assert!(
            seen.iter().any(|(level, m)| *level == LogLevel::Error && m == err.message()),
            "{:?} / {}",
            seen,
            err
        );
        assert!(seen.iter().all(|(level, _)| *level >= LogLevel::Warn), "below min_level: {:?}", seen);
    }

    // A panicking logger neither unwinds through C nor stops the call from returning its error.
    adain_dcs::set_log_callback(LogLevel::Debug, |_, message| {
        panic!("{} logger panicked on {}", EXPECTED_PANIC, message)
    });
    assert!(adain_dcs::depth_range_map(&[], 0.0, 1.0).is_err());

    // Replaced by a clear: nothing more arrives.
    adain_dcs::clear_log_callback();
    seen.lock().unwrap().clear();
    assert!(adain_dcs::depth_range_map(&[], 0.0, 1.0).is_err());
    assert!(seen.lock().unwrap().is_empty());
}
