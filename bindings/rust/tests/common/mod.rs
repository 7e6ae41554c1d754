//! Helpers shared by the integration tests.
#![allow(dead_code)]
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

/// Root of the project checkout (ADN_SOURCE_DIR, else two levels above this crate).
pub fn source_dir() -> PathBuf {
    match std::env::var_os("ADN_SOURCE_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."),
    }
}

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
    let tool = source_dir().join("tools/adn-export");
    if !tool.exists() {
        return Err(format!("{} not found", tool.display()));
    }
    let python = std::env::var("ADN_PYTHON_TORCH")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/usr/bin/python3".to_string());
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("analytic-{}", std::process::id()));
    let run = Command::new(&python)
        .arg(&tool)
        .arg("--analytic")
        .arg("--out")
        .arg(&out)
        .output()
        .map_err(|e| format!("cannot run {}: {}", python, e))?;
    if !run.status.success() {
        let stderr = String::from_utf8_lossy(&run.stderr);
        if stderr.contains("No module named 'torch'") {
            return Err(format!("{} has no torch", python));
        }
        panic!("adn-export --analytic failed:\n{}", stderr);
    }
    Ok(out)
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
