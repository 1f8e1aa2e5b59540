//! Execution providers: where ONNX Runtime runs a model's graphs.
//!
//! `execution_providers: [cuda, cpu]` (model.yaml, or the `--execution-providers` flag and the
//! `execution_providers` config key) lists them in order of preference. The first one the loaded
//! ONNX Runtime library has is used; falling back from a preferred provider prints one warning.
//! A list without `cpu` is strict: when none of its providers is available, loading fails
//! (exit 2) and says what to install. The CPU-only `onnxruntime` wheel has no CUDA; the
//! `onnxruntime-gpu` wheel (or `ORT_DYLIB_PATH` pointing at its library) has.

use std::path::Path;

use ort::environment::Environment;
use ort::ep::ExecutionProvider as _;
use ort::session::builder::SessionBuilder;
use ort::session::Session;

use super::spec::{ExecutionProvider, GraphOptimization, ModelSpec};
use crate::error::{Error, Result};

/// The providers ONNX Runtime reports as compiled in, for messages.
fn available_names() -> String {
    let mut names = vec!["CPUExecutionProvider"];
    if ort::ep::CUDA::is_available().unwrap_or(false) {
        names.push("CUDAExecutionProvider");
    }
    names.join(", ")
}

/// Whether the loaded ONNX Runtime library has `provider`.
fn is_available(provider: ExecutionProvider) -> bool {
    match provider {
        ExecutionProvider::Cpu => true,
        ExecutionProvider::Cuda => ort::ep::CUDA::is_available().unwrap_or(false),
    }
}

/// The first provider of the spec's list (default `[cpu]`) that the library has; prints a
/// warning when it is not the first one listed, and fails when none is.
pub(crate) fn choose_provider(spec: &ModelSpec, spec_path: &Path) -> Result<ExecutionProvider> {
    let list = spec
        .execution_providers
        .clone()
        .unwrap_or_else(|| vec![ExecutionProvider::Cpu]);
    let chosen = list.iter().copied().find(|p| is_available(*p));
    match chosen {
        Some(p) if Some(&p) != list.first() => {
            let skipped: Vec<&str> = list
                .iter()
                .take_while(|q| **q != p)
                .map(|q| q.name())
                .collect();
            eprintln!(
                "warning: {}: execution provider {} not available in this ONNX Runtime (it has {}); running on {}",
                spec_path.display(),
                skipped.join(", "),
                available_names(),
                p.name()
            );
            Ok(p)
        }
        Some(p) => Ok(p),
        None => {
            let asked: Vec<&str> = list.iter().map(|p| p.name()).collect();
            Err(Error::in_file(
                spec_path,
                format!(
                    "`execution_providers`: {} was asked for strictly, but the ONNX Runtime library at {} has only {}; install onnxruntime-gpu (`.venv/bin/pip install onnxruntime-gpu=={}`, with CUDA and cuDNN) or point ORT_DYLIB_PATH at a CUDA build, or add `cpu` to the list to fall back",
                    asked.join(", "),
                    super::runtime::ORT_VERSION,
                    super::runtime::find_library()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|m| m),
                    available_names()
                ),
            ))
        }
    }
}

/// How every session of a model is built (from model.yaml and the load options).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SessionSettings {
    /// Where to run.
    pub provider: ExecutionProvider,
    /// Intra-op threads (`None`: ONNX Runtime's choice).
    pub threads: Option<usize>,
    /// The CPU memory arena on or off.
    pub cpu_arena: bool,
    /// Graph optimisation level (`None`: ONNX Runtime's default, all).
    pub optimization: Option<GraphOptimization>,
}

/// A session builder for one graph with `settings`.
pub(crate) fn session_builder(
    env: &Environment,
    settings: SessionSettings,
    graph: &Path,
) -> Result<SessionBuilder> {
    let SessionSettings {
        provider,
        threads,
        cpu_arena,
        optimization,
    } = settings;
    let fail = |e: &dyn std::fmt::Display| {
        Error::in_file(graph, format!("ONNX Runtime could not load the model: {e}"))
    };
    // Idle intra-op threads sleep instead of spinning, so they do not take the cores that
    // prepare the next batch while this one runs.
    let mut builder = Session::builder(env)
        .map_err(|e| fail(&e))?
        .with_intra_op_spinning(false)
        .map_err(|e| fail(&e))?;
    if let Some(n) = threads {
        builder = builder.with_intra_threads(n).map_err(|e| fail(&e))?;
    }
    if let Some(level) = optimization {
        use ort::session::builder::GraphOptimizationLevel as Level;
        let level = match level {
            GraphOptimization::Disable => Level::Disable,
            GraphOptimization::Basic => Level::Level1,
            GraphOptimization::Extended => Level::Level2,
            GraphOptimization::All => Level::All,
        };
        builder = builder
            .with_optimization_level(level)
            .map_err(|e| fail(&e))?;
    }
    // Without the arena, memory freed after a run goes back to the allocator instead of being
    // kept for the next run; the memory pattern (pre-planned buffers per input shape) goes too.
    builder = builder
        .with_memory_pattern(cpu_arena)
        .map_err(|e| fail(&e))?;
    let cpu = ort::ep::CPU::default()
        .with_arena_allocator(cpu_arena)
        .build();
    builder = match provider {
        ExecutionProvider::Cuda => builder
            .with_execution_providers([ort::ep::CUDA::default().build().error_on_failure(), cpu]),
        ExecutionProvider::Cpu => builder.with_execution_providers([cpu]),
    }
    .map_err(|e| fail(&e))?;
    Ok(builder)
}
