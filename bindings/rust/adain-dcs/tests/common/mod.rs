//! Helpers shared by the integration tests.
#![allow(dead_code)]
use std::path::PathBuf;
use std::sync::Mutex;

mod export;
#[allow(unused_imports)]
pub use export::source_dir;

static BUNDLE: Mutex<Option<Result<PathBuf, String>>> = Mutex::new(None);

/// The analytic bundle, exported once per test binary with
/// `/usr/bin/python3 tools/adn-export --analytic --out DIR`; Err says why it is unavailable.
pub fn analytic_bundle() -> Result<PathBuf, String> {
    let mut cached = BUNDLE.lock().unwrap_or_else(|e| e.into_inner());
    if cached.is_none() {
        *cached = Some(export_analytic());
    }
    cached.as_ref().unwrap().clone()
}

fn export_analytic() -> Result<PathBuf, String> {
    if !adain_dcs::has_feature("torch") {
        return Err("the library has no torch backend".into());
    }
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("analytic-{}", std::process::id()));
    export::export_analytic_to(&out)
}

/// Deterministic pseudo-random floats in [0,1) (xorshift; no crates).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }

    pub fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.next()).collect()
    }
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// A random 3 x height x width RGB image in [0,1).
pub fn random_rgb(rng: &mut Rng, height: usize, width: usize) -> adain_dcs::Image {
    adain_dcs::Image::from_vec(3, height, width, rng.vec(3 * height * width)).unwrap()
}

/// Panic messages of tests that panic on purpose start with this.
pub const EXPECTED_PANIC: &str = "expected panic:";

/// Keeps the deliberate panics (messages starting with [`EXPECTED_PANIC`]) out of the log as
/// backtraces: they are shown as one line.  Every other panic goes to the default hook.
pub fn quiet_expected_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("");
            if message.starts_with(EXPECTED_PANIC) {
                eprintln!("({})", message);
            } else {
                default(info)
            }
        }));
    });
}
