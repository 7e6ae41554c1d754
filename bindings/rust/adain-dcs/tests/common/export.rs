//! Making the analytic bundle with `tools/adn-export --analytic` (std only, no crate paths).
#![allow(dead_code)]
use std::path::{Path, PathBuf};
use std::process::Command;

/// Root of the project checkout (ADN_SOURCE_DIR, else three levels above this crate,
/// bindings/rust/adain-dcs).
pub fn source_dir() -> PathBuf {
    match std::env::var_os("ADN_SOURCE_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.."),
    }
}

/// Exports the analytic bundle into `out` with the torch interpreter (ADN_PYTHON_TORCH, else
/// /usr/bin/python3).  Err says why it cannot be made here (no tool, no torch); any other failure
/// of the tool panics, since that is a real defect.
pub fn export_analytic_to(out: &Path) -> Result<PathBuf, String> {
    let tool = source_dir().join("tools/adn-export");
    if !tool.exists() {
        return Err(format!("{} not found", tool.display()));
    }
    let python = std::env::var("ADN_PYTHON_TORCH")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/usr/bin/python3".to_string());
    let run = Command::new(&python)
        .arg(&tool)
        .arg("--analytic")
        .arg("--out")
        .arg(out)
        .output()
        .map_err(|e| format!("cannot run {}: {}", python, e))?;
    if !run.status.success() {
        let stderr = String::from_utf8_lossy(&run.stderr);
        if stderr.contains("No module named 'torch'") {
            return Err(format!("{} has no torch", python));
        }
        panic!("adn-export --analytic failed:\n{}", stderr);
    }
    Ok(out.to_path_buf())
}
