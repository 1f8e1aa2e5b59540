//! Explanation metrics. Each is a small named unit whose doc comment gives its definition,
//! direction, range and source; [`catalogue`] lists them for configs and tables.

pub mod ground_truth;
pub mod shape;

/// A metric's name, whether higher is better, and a one-line description with its range.
pub struct MetricInfo {
    /// Name used in configs and tables.
    pub name: &'static str,
    /// `true`: higher is better (↑); `false`: lower is better (↓).
    pub higher_is_better: bool,
    /// Definition and range.
    pub description: &'static str,
    /// Whether it needs planted ground truth.
    pub needs_ground_truth: bool,
}

/// Every metric the runner can compute.
pub fn catalogue() -> &'static [MetricInfo] {
    &[
        MetricInfo { name: "score", higher_is_better: true, description: "surrogate weighted R² on the neighbourhood (fidelity), (-inf, 1]", needs_ground_truth: false },
        MetricInfo { name: "local_error", higher_is_better: false, description: "|f(x) - g(x)| for the predicted label on the instance, [0, 1]", needs_ground_truth: false },
        MetricInfo { name: "modality_share_audio", higher_is_better: true, description: "share of total |weight| on audio components, [0, 1] (descriptive)", needs_ground_truth: false },
        MetricInfo { name: "complexity", higher_is_better: false, description: "entropy of normalised |weights|, base = number of features, [0, 1]", needs_ground_truth: false },
        MetricInfo { name: "precision_at_k_audio", higher_is_better: true, description: "planted audio components among the top k audio features (k = number planted), [0, 1]", needs_ground_truth: true },
        MetricInfo { name: "precision_at_k_lyrics", higher_is_better: true, description: "planted words among the top k lyric features (k = number planted), [0, 1]", needs_ground_truth: true },
        MetricInfo { name: "auroc_audio", higher_is_better: true, description: "AUROC of |weight| separating planted from other audio components, [0, 1]", needs_ground_truth: true },
        MetricInfo { name: "auroc_lyrics", higher_is_better: true, description: "AUROC of |weight| separating planted from other words, [0, 1]", needs_ground_truth: true },
    ]
}

/// The catalogue entry of `name`.
pub fn info(name: &str) -> Option<&'static MetricInfo> {
    catalogue().iter().find(|m| m.name == name)
}
