//! The ONNX separators a run's explainers name (`factorization: {separator: PATH}`) and where
//! their stems are cached: `<output>/stems/<separator>-<fingerprint>/<instance>/`, a stems
//! directory per instance written the first time any unit needs it, so repeats, grid cells,
//! explainers and later runs with the same separator reuse it. The fingerprint covers the
//! separator.yaml's text and its graph's size, so another separator never reads these stems.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::config::{ExperimentConfig, FactorizationChoice};
use crate::error::{Error, Result};
use crate::fs::safe_file_name;
use crate::separator::{OnnxSeparator, SeparatorSpec};

/// An ONNX separator of the run: its separator.yaml and the directory its stems are cached in
/// (one subdirectory per instance).
pub(crate) struct SeparatorRef {
    /// The separator.yaml, resolved.
    pub yaml: PathBuf,
    /// `<output>/stems/<separator>-<fingerprint>`.
    pub cache: PathBuf,
}

/// The separators every explainer of every grid cell names, by their path in the config.
fn named(config: &ExperimentConfig) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for cell in config.grid_cells() {
        for explainer in &config.explainers {
            if let Ok(explainer) = explainer.with_cell(&cell) {
                if let FactorizationChoice::Separator { separator } = explainer.factorization {
                    if !paths.contains(&separator) {
                        paths.push(separator);
                    }
                }
            }
        }
    }
    paths
}

/// The run's separators (resolved against the config's directory) with their cache
/// directories.
pub(crate) fn separators(
    config: &ExperimentConfig,
    config_path: &Path,
) -> Result<BTreeMap<PathBuf, SeparatorRef>> {
    let base = config_path.parent().unwrap_or(Path::new(""));
    let root = config.output_dir().join("stems");
    named(config)
        .into_iter()
        .map(|written| {
            let yaml = base.join(&written);
            let text = std::fs::read(&yaml).map_err(|e| Error::io(&yaml, e))?;
            let spec = SeparatorSpec::load(&yaml)?;
            let graph = std::fs::metadata(&spec.onnx)
                .map_err(|e| Error::io(&spec.onnx, e))?
                .len();
            let print = crate::fingerprint::fnv1a(text.into_iter().chain(graph.to_le_bytes()));
            let name = yaml
                .parent()
                .and_then(|p| p.file_name())
                .map_or("separator".into(), |n| safe_file_name(&n.to_string_lossy()));
            let cache = root.join(format!("{name}-{:08x}", print as u32));
            Ok((written, SeparatorRef { yaml, cache }))
        })
        .collect()
}

/// Each named separator that does not load (its file, spec or graph), as a problem.
pub(crate) fn separator_problems(config: &ExperimentConfig, config_path: &Path) -> Vec<String> {
    let base = config_path.parent().unwrap_or(Path::new(""));
    named(config)
        .into_iter()
        .filter_map(|written| {
            OnnxSeparator::load(&base.join(&written))
                .err()
                .map(|e| format!("factorization: {{separator: {}}}: {e}", written.display()))
        })
        .collect()
}
