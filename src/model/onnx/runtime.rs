//! Finding and loading the ONNX Runtime shared library (`ort` with `load-dynamic`).
//!
//! The library is looked for in `ORT_DYLIB_PATH`, then in a project `.venv` (in the working
//! directory or one above it, then beside this crate's sources), then in the site-packages of
//! `python3`. `just setup` (or the two commands in [`INSTALL_HINT`]) installs it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use ort::environment::Environment;

use crate::error::{Error, Result};

/// The ONNX Runtime version, as a literal (the one place it is typed).
macro_rules! ort_version {
    () => {
        "1.31.1"
    };
}

/// The ONNX Runtime version the crate is built against.
pub(crate) const ORT_VERSION: &str = ort_version!();

/// How to install the runtime.
pub const INSTALL_HINT: &str = concat!(
    "python3 -m venv .venv && .venv/bin/pip install onnxruntime==",
    ort_version!(),
    " (or `just setup`), or set ORT_DYLIB_PATH to libonnxruntime.so"
);

static ENVIRONMENT: OnceLock<std::result::Result<Environment, String>> = OnceLock::new();

/// The process-wide ONNX Runtime environment, loading the library on first use.
pub fn environment() -> Result<&'static Environment> {
    ENVIRONMENT
        .get_or_init(|| {
            let path = find_library()?;
            let builder = ort::init_from(&path).map_err(|e| {
                format!(
                    "could not load ONNX Runtime from {}: {e}; install it with: {INSTALL_HINT}",
                    path.display()
                )
            })?;
            builder
                .with_name("musiclime")
                .build()
                .map_err(|e| format!("could not start ONNX Runtime from {}: {e}", path.display()))
        })
        .as_ref()
        .map_err(|m| Error::input("ONNX Runtime", m.clone()))
}

/// Where the shared library is, by the search order of this module.
pub(crate) fn find_library() -> std::result::Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!(
                "ORT_DYLIB_PATH is {} but no such file exists; point it at libonnxruntime.so, or unset it and install with: {INSTALL_HINT}",
                p.display()
            ))
        };
    }
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    roots.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    for root in roots {
        let lib = root.join(".venv").join("lib");
        if let Some(found) = search_site_packages(&lib) {
            return Ok(found);
        }
    }
    if let Some(found) = python_site_packages() {
        return Ok(found);
    }
    Err(format!("the ONNX Runtime library was not found (looked in ORT_DYLIB_PATH, ./.venv and python3's site-packages); install it with: {INSTALL_HINT}"))
}

/// `lib/python3.*/site-packages/onnxruntime/capi/libonnxruntime.so*` under `lib`.
fn search_site_packages(lib: &Path) -> Option<PathBuf> {
    let mut pythons: Vec<PathBuf> = std::fs::read_dir(lib)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("python"))
        })
        .collect();
    pythons.sort();
    pythons
        .iter()
        .find_map(|p| library_in(&p.join("site-packages").join("onnxruntime")))
}

/// The newest `libonnxruntime.so*` (or `.dylib`) in `package/capi`.
fn library_in(package: &Path) -> Option<PathBuf> {
    let mut libs: Vec<PathBuf> = std::fs::read_dir(package.join("capi"))
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                n.starts_with("libonnxruntime.so")
                    || n.starts_with("libonnxruntime.") && n.ends_with(".dylib")
            })
        })
        .collect();
    libs.sort();
    libs.pop()
}

fn python_site_packages() -> Option<PathBuf> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import importlib.util as u; s = u.find_spec('onnxruntime'); print(s.submodule_search_locations[0] if s else '')",
        ])
        .output()
        .ok()?;
    let dir = String::from_utf8(out.stdout).ok()?;
    let dir = dir.trim();
    if dir.is_empty() {
        return None;
    }
    library_in(Path::new(dir))
}
