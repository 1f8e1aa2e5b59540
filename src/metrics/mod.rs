//! Explanation metrics. Each is a small named unit whose doc comment gives its definition,
//! direction, range and source; [`catalogue`] lists them for configs and tables, and
//! [`Metric::parse`] turns a config name (some take a number: `comprehensiveness_at_5`) into
//! the metric.
//!
//! Three scopes: metrics of one explanation ([`shape`], [`ground_truth`], the surrogate's
//! score), metrics that query the model again on the explained instance ([`fidelity`]), and
//! metrics across the repeats of one instance ([`stability`]).

pub mod attention;
pub mod audio_xai;
pub mod fidelity;
pub mod ground_truth;
pub mod ranking;
pub mod shape;
pub mod stability;

use crate::features::Modality;

/// Which way a metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Higher is better (↑).
    Higher,
    /// Lower is better (↓).
    Lower,
    /// Neither: a descriptive metric (no bold, no significance mark, no "better" in tables).
    Neither,
}

/// A metric's name, which way it is better, and a one-line description with its range.
pub struct MetricInfo {
    /// Name used in configs and tables; `{k}` stands for a number (`precision_at_{k}_audio`).
    pub name: &'static str,
    /// Which way it is better.
    pub better: Better,
    /// Definition and range.
    pub description: &'static str,
    /// Whether it needs planted ground truth.
    pub needs_ground_truth: bool,
}

macro_rules! metric {
    ($name:expr, $better:ident, $truth:expr, $description:expr) => {
        MetricInfo {
            name: $name,
            better: Better::$better,
            description: $description,
            needs_ground_truth: $truth,
        }
    };
}

/// Every metric the runner can compute.
pub fn catalogue() -> &'static [MetricInfo] {
    &[
        metric!("score", Higher, false, "surrogate weighted R² on the neighbourhood (fidelity), (-inf, 1]"),
        metric!("local_error", Lower, false, "|f(x) - g(x)| for the predicted label on the instance, [0, 1]"),
        metric!("deletion_auc", Lower, false, "area under p(label) as the instance's audio components and words are removed, the explained ones first by signed weight (10 steps; deletion_auc_{k}: k steps), [0, 1]"),
        metric!("insertion_auc", Higher, false, "area under p(label) as the instance's audio components and words are added to an empty input, the explained ones first by signed weight (10 steps; insertion_auc_{k}: k steps), [0, 1]"),
        metric!("comprehensiveness_at_{k}", Higher, false, "p(x) - p(x without its top k features) (ERASER at one k, not the AOPC average), [-1, 1]"),
        metric!("sufficiency_at_{k}", Lower, false, "p(x) - p(only its top k features: every other component and word removed) (ERASER at one k, not the AOPC average), [-1, 1]"),
        metric!("faithfulness_correlation", Higher, false, "Pearson correlation of summed weights and probability drops over 50 random subsets of the instance's features (Bhatt et al.), [-1, 1]"),
        metric!("deletion_auc_within", Lower, false, "deletion AUC over the explainer's own features only (the other modality stays whole), [0, 1]"),
        metric!("insertion_auc_within", Higher, false, "insertion AUC over the explainer's own features only (the other modality stays whole), [0, 1]"),
        metric!("comprehensiveness_within_at_{k}", Higher, false, "comprehensiveness over the explainer's own features only, [-1, 1]"),
        metric!("sufficiency_within_at_{k}", Lower, false, "sufficiency over the explainer's own features only (the other modality stays whole), [-1, 1]"),
        metric!("faithfulness_correlation_within", Higher, false, "faithfulness correlation over the explainer's own features only, [-1, 1]"),
        metric!("average_increase", Higher, false, "L-MAC AI: 100 if p_c rises when only the positively weighted features are kept (all else removed), else 0; its mean is the share of instances, [0, 100]"),
        metric!("average_drop", Lower, false, "L-MAC AD: 100 max(0, p_c(x) - p_c(only the positively weighted features)) / p_c(x), [0, 100]"),
        metric!("average_gain", Higher, false, "L-MAC AG: 100 max(0, p_c(only the positively weighted features) - p_c(x)) / (1 - p_c(x)), [0, 100]"),
        metric!("faithfulness_on_spectra", Higher, false, "L-MAC FF: p_c(x) - p_c(x without the positively weighted features), [-1, 1]"),
        metric!("input_fidelity", Higher, false, "L-MAC Fid-In: 1 if the prediction stays the same when only the positively weighted features are kept, else 0, [0, 1]"),
        metric!("average_increase_top_{p}", Higher, false, "L-MAC AI with the top p % of the union space as the mask (same size for every explainer), [0, 100]"),
        metric!("average_drop_top_{p}", Lower, false, "L-MAC AD with the top p % of the union space as the mask, [0, 100]"),
        metric!("average_gain_top_{p}", Higher, false, "L-MAC AG with the top p % of the union space as the mask, [0, 100]"),
        metric!("faithfulness_on_spectra_top_{p}", Higher, false, "L-MAC FF with the top p % of the union space as the mask, [-1, 1]"),
        metric!("input_fidelity_top_{p}", Higher, false, "L-MAC Fid-In with the top p % of the union space as the mask, [0, 1]"),
        metric!("comprehensiveness_top_{p}", Higher, false, "p(x) - p(x without the top p % of the union space), the same number of features for every explainer, [-1, 1]"),
        metric!("sufficiency_top_{p}", Lower, false, "p(x) - p(only the top p % of the union space), [-1, 1]"),
        metric!("positive_mask_fraction", Neither, false, "share of the union space weighted positively: the mask size of the positive-mask L-MAC metrics, [0, 1] (descriptive)"),
        metric!("modality_share_audio", Neither, false, "share of total |weight| on audio components, [0, 1] (descriptive)"),
        metric!("complexity", Lower, false, "entropy of normalised |weights| over the union space (0 for features the explainer did not weigh), base = its size (Quantus Complexity / ln D), [0, 1]; NaN for an all-zero explanation"),
        metric!("sparseness", Higher, false, "Gini index of |weights| over the union space (0 for features the explainer did not weigh; Quantus Sparseness), [0, 1); NaN for an all-zero explanation"),
        metric!("precision_at_k_audio", Higher, true, "planted audio components among the top k audio features (k = number planted; precision_at_{k}_audio: fixed k), [0, 1]"),
        metric!("precision_at_k_lyrics", Higher, true, "planted words among the top k lyric features (k = number planted; precision_at_{k}_lyrics: fixed k), [0, 1]"),
        metric!("recall_at_{k}_audio", Higher, true, "share of the planted audio components found among the top k audio features, [0, 1]"),
        metric!("recall_at_{k}_lyrics", Higher, true, "share of the planted words found among the top k lyric features, [0, 1]"),
        metric!("auroc_audio", Higher, true, "AUROC of |weight| separating planted from other audio components, [0, 1]"),
        metric!("auroc_lyrics", Higher, true, "AUROC of |weight| separating planted from other words, [0, 1]"),
        metric!("attention_spearman_audio", Higher, false, "Spearman rho between |weight| and last-layer first-token attention per time segment, [-1, 1]"),
        metric!("attention_spearman_lyrics", Higher, false, "Spearman rho between |weight| and last-layer first-token attention per word, [-1, 1]"),
        metric!("attention_kendall_audio", Higher, false, "Kendall tau-b between |weight| and first-token attention per time segment, [-1, 1]"),
        metric!("attention_kendall_lyrics", Higher, false, "Kendall tau-b between |weight| and first-token attention per word, [-1, 1]"),
        metric!("attention_overlap_at_{k}_audio", Higher, false, "overlap of the top-k segments by |weight| and by first-token attention, [0, 1]"),
        metric!("attention_overlap_at_{k}_lyrics", Higher, false, "overlap of the top-k words by |weight| and by first-token attention, [0, 1]"),
        metric!("rollout_spearman_audio", Higher, false, "Spearman rho between |weight| and attention rollout per time segment (square maps only), [-1, 1]"),
        metric!("rollout_spearman_lyrics", Higher, false, "Spearman rho between |weight| and attention rollout per word (square maps only), [-1, 1]"),
        metric!("rollout_kendall_audio", Higher, false, "Kendall tau-b between |weight| and attention rollout per time segment, [-1, 1]"),
        metric!("rollout_kendall_lyrics", Higher, false, "Kendall tau-b between |weight| and attention rollout per word, [-1, 1]"),
        metric!("noise_jaccard_at_{k}", Higher, false, "robustness: top-k Jaccard between the explanations of the instance and of a copy with noise at 30 dB SNR, [0, 1]"),
        metric!("noise_weight_change", Lower, false, "robustness: relative L2 change of the weights under noise at 30 dB SNR, [0, inf)"),
        metric!("edit_jaccard_at_{k}", Higher, false, "robustness: top-k Jaccard between the explanations of the instance and of a copy with one word deleted, [0, 1]"),
        metric!("edit_weight_change", Lower, false, "robustness: relative L2 change of the weights when one word is deleted, [0, inf)"),
        metric!("jaccard_at_{k}", Higher, false, "stability: mean pairwise Jaccard of the top-k |weight| sets across repeats, [0, 1]"),
        metric!("kendall_tau", Higher, false, "stability: mean pairwise Kendall tau-b of the weights across repeats, [-1, 1]"),
        metric!("spearman_rho", Higher, false, "stability: mean pairwise Spearman rho of the weights across repeats, [-1, 1]"),
        metric!("vsi", Higher, false, "stability: variables stability index (Visani et al.), share of shared selected features across repeats, [0, 1]"),
        metric!("csi", Higher, false, "stability: coefficients stability index (Visani et al.), share of overlapping 95% coefficient intervals across repeats, [0, 1]"),
    ]
}

/// A metric parsed from its config name.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// Surrogate weighted R².
    Score,
    /// |f(x) − g(x)|.
    LocalError,
    /// Deletion AUC with this many steps.
    DeletionAuc(usize, Space),
    /// Insertion AUC with this many steps.
    InsertionAuc(usize, Space),
    /// Comprehensiveness at k.
    Comprehensiveness(usize, Space),
    /// Sufficiency at k.
    Sufficiency(usize, Space),
    /// Faithfulness correlation.
    FaithfulnessCorrelation(Space),
    /// One of the L-MAC audio faithfulness metrics, with its mask.
    Lmac(Lmac, fidelity::LmacMask),
    /// Comprehensiveness with the top p % of the union space.
    ComprehensivenessTop(usize),
    /// Sufficiency with the top p % of the union space.
    SufficiencyTop(usize),
    /// Share of the union space weighted positively.
    PositiveMaskFraction,
    /// Share of |weight| on audio.
    ModalityShareAudio,
    /// Entropy of |weights|.
    Complexity,
    /// Gini index of |weights|.
    Sparseness,
    /// Precision at k (`None`: k = number planted).
    PrecisionAtK(Modality, Option<usize>),
    /// Recall at k.
    RecallAtK(Modality, usize),
    /// AUROC against planted features.
    Auroc(Modality),
    /// Agreement with the model's attention.
    Attention(attention::AttentionSource, attention::Agreement, Modality),
    /// Robustness to a small perturbation of the instance.
    Robustness(Perturbation, Change),
    /// Mean pairwise top-k Jaccard across repeats.
    JaccardAtK(usize),
    /// Mean pairwise Kendall tau-b across repeats.
    KendallTau,
    /// Mean pairwise Spearman rho across repeats.
    SpearmanRho,
    /// Variables stability index.
    Vsi,
    /// Coefficients stability index.
    Csi,
}

/// Which features a fidelity metric switches on and off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Space {
    /// Every audio component and word of the instance, whatever the explainer perturbed, each
    /// with the explainer's weight (0 where it gave none), ranked by
    /// [`fidelity::fidelity_order`]. One space and one rule for every explainer, so their
    /// values compare.
    Union,
    /// Only the explainer's own features; the other modality stays whole (`_within` names).
    Within,
}

/// The L-MAC audio faithfulness metrics (Paissan et al. 2024), on the mask "the explanation's
/// positively weighted features" over the union of the instance's features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lmac {
    /// AI: whether keeping only the mask raises the predicted class's probability.
    AverageIncrease,
    /// AD: the relative drop of the predicted class's probability when only the mask is kept.
    AverageDrop,
    /// AG: the relative gain when only the mask is kept.
    AverageGain,
    /// FF: the drop when the mask is removed.
    FaithfulnessOnSpectra,
    /// Fid-In: whether keeping only the mask keeps the prediction.
    InputFidelity,
}

/// The small perturbations robustness metrics apply to the instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Perturbation {
    /// Gaussian noise on every source at [`NOISE_SNR_DB`] below the mixture.
    Noise,
    /// One word occurrence deleted from the lyrics (chosen by the unit's seed).
    Edit,
}

/// How robustness compares the two explanations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Top-k Jaccard of the feature names.
    JaccardAtK(usize),
    /// Relative L2 change of the weights.
    Weights,
}

/// Signal-to-noise ratio of the `noise_*` robustness metrics, in dB.
pub const NOISE_SNR_DB: f64 = 30.0;

/// Where a metric is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// From one explanation alone.
    Explanation,
    /// From one explanation and new model queries on the explained instance.
    Model,
    /// Across the repeats of one instance (one value per instance, explainer and cell).
    Repeats,
}

impl Metric {
    /// Parses a config name; `None` for unknown names.
    pub fn parse(name: &str) -> Option<Metric> {
        let number = |prefix: &str, suffix: &str| -> Option<usize> {
            name.strip_prefix(prefix)?
                .strip_suffix(suffix)?
                .parse()
                .ok()
                .filter(|k: &usize| *k > 0)
        };
        let percent = |prefix: &str| number(prefix, "").filter(|p| *p <= 100);
        let modality = |s: &str| match s {
            "audio" => Some(Modality::Audio),
            "lyrics" => Some(Modality::Lyrics),
            _ => None,
        };
        Some(match name {
            "score" => Metric::Score,
            "local_error" => Metric::LocalError,
            "deletion_auc" => Metric::DeletionAuc(10, Space::Union),
            "insertion_auc" => Metric::InsertionAuc(10, Space::Union),
            "faithfulness_correlation" => Metric::FaithfulnessCorrelation(Space::Union),
            "deletion_auc_within" => Metric::DeletionAuc(10, Space::Within),
            "insertion_auc_within" => Metric::InsertionAuc(10, Space::Within),
            "faithfulness_correlation_within" => Metric::FaithfulnessCorrelation(Space::Within),
            "average_increase" => Metric::Lmac(Lmac::AverageIncrease, fidelity::LmacMask::Positive),
            "average_drop" => Metric::Lmac(Lmac::AverageDrop, fidelity::LmacMask::Positive),
            "average_gain" => Metric::Lmac(Lmac::AverageGain, fidelity::LmacMask::Positive),
            "faithfulness_on_spectra" => {
                Metric::Lmac(Lmac::FaithfulnessOnSpectra, fidelity::LmacMask::Positive)
            }
            "input_fidelity" => Metric::Lmac(Lmac::InputFidelity, fidelity::LmacMask::Positive),
            "positive_mask_fraction" => Metric::PositiveMaskFraction,
            "modality_share_audio" => Metric::ModalityShareAudio,
            "complexity" => Metric::Complexity,
            "sparseness" => Metric::Sparseness,
            "precision_at_k_audio" => Metric::PrecisionAtK(Modality::Audio, None),
            "precision_at_k_lyrics" => Metric::PrecisionAtK(Modality::Lyrics, None),
            "auroc_audio" => Metric::Auroc(Modality::Audio),
            "auroc_lyrics" => Metric::Auroc(Modality::Lyrics),
            "kendall_tau" => Metric::KendallTau,
            "spearman_rho" => Metric::SpearmanRho,
            "vsi" => Metric::Vsi,
            "noise_weight_change" => Metric::Robustness(Perturbation::Noise, Change::Weights),
            "edit_weight_change" => Metric::Robustness(Perturbation::Edit, Change::Weights),
            "csi" => Metric::Csi,
            _ => {
                if let Some(k) = number("deletion_auc_within_", "") {
                    Metric::DeletionAuc(k, Space::Within)
                } else if let Some(k) = number("insertion_auc_within_", "") {
                    Metric::InsertionAuc(k, Space::Within)
                } else if let Some(k) = number("deletion_auc_", "") {
                    Metric::DeletionAuc(k, Space::Union)
                } else if let Some(k) = number("insertion_auc_", "") {
                    Metric::InsertionAuc(k, Space::Union)
                } else if let Some(p) = percent("comprehensiveness_top_") {
                    Metric::ComprehensivenessTop(p)
                } else if let Some(p) = percent("sufficiency_top_") {
                    Metric::SufficiencyTop(p)
                } else if let Some(p) = percent("average_increase_top_") {
                    Metric::Lmac(Lmac::AverageIncrease, fidelity::LmacMask::TopPercent(p))
                } else if let Some(p) = percent("average_drop_top_") {
                    Metric::Lmac(Lmac::AverageDrop, fidelity::LmacMask::TopPercent(p))
                } else if let Some(p) = percent("average_gain_top_") {
                    Metric::Lmac(Lmac::AverageGain, fidelity::LmacMask::TopPercent(p))
                } else if let Some(p) = percent("faithfulness_on_spectra_top_") {
                    Metric::Lmac(
                        Lmac::FaithfulnessOnSpectra,
                        fidelity::LmacMask::TopPercent(p),
                    )
                } else if let Some(p) = percent("input_fidelity_top_") {
                    Metric::Lmac(Lmac::InputFidelity, fidelity::LmacMask::TopPercent(p))
                } else if let Some(k) = number("comprehensiveness_at_", "") {
                    Metric::Comprehensiveness(k, Space::Union)
                } else if let Some(k) = number("sufficiency_at_", "") {
                    Metric::Sufficiency(k, Space::Union)
                } else if let Some(k) = number("comprehensiveness_within_at_", "") {
                    Metric::Comprehensiveness(k, Space::Within)
                } else if let Some(k) = number("sufficiency_within_at_", "") {
                    Metric::Sufficiency(k, Space::Within)
                } else if let Some(k) = number("noise_jaccard_at_", "") {
                    Metric::Robustness(Perturbation::Noise, Change::JaccardAtK(k))
                } else if let Some(k) = number("edit_jaccard_at_", "") {
                    Metric::Robustness(Perturbation::Edit, Change::JaccardAtK(k))
                } else if let Some(k) = number("jaccard_at_", "") {
                    Metric::JaccardAtK(k)
                } else {
                    let (rest, m) = name.rsplit_once('_')?;
                    let m = modality(m)?;
                    use attention::{Agreement, AttentionSource};
                    let attention = |source, how| Metric::Attention(source, how, m);
                    if rest == "attention_spearman" {
                        attention(AttentionSource::FirstToken, Agreement::Spearman)
                    } else if rest == "attention_kendall" {
                        attention(AttentionSource::FirstToken, Agreement::Kendall)
                    } else if rest == "rollout_spearman" {
                        attention(AttentionSource::Rollout, Agreement::Spearman)
                    } else if rest == "rollout_kendall" {
                        attention(AttentionSource::Rollout, Agreement::Kendall)
                    } else if let Some(k) = number_of(rest, "attention_overlap_at_") {
                        attention(AttentionSource::FirstToken, Agreement::OverlapAtK(k))
                    } else if let Some(k) = number_of(rest, "precision_at_") {
                        Metric::PrecisionAtK(m, Some(k))
                    } else if let Some(k) = number_of(rest, "recall_at_") {
                        Metric::RecallAtK(m, k)
                    } else {
                        return None;
                    }
                }
            }
        })
    }

    /// Where it is computed.
    pub fn scope(self) -> Scope {
        match self {
            Metric::DeletionAuc(..)
            | Metric::InsertionAuc(..)
            | Metric::Comprehensiveness(..)
            | Metric::Sufficiency(..)
            | Metric::FaithfulnessCorrelation(_)
            | Metric::Lmac(..)
            | Metric::ComprehensivenessTop(_)
            | Metric::SufficiencyTop(_)
            | Metric::Robustness(..) => Scope::Model,
            Metric::JaccardAtK(_)
            | Metric::KendallTau
            | Metric::SpearmanRho
            | Metric::Vsi
            | Metric::Csi => Scope::Repeats,
            _ => Scope::Explanation,
        }
    }

    /// Whether its value depends on which modality an explainer covers, so that only
    /// explainers of the same modality compare on it: the `_within` fidelity metrics (each
    /// explainer's own features), `sparseness` and `complexity` (an explanation silent on a
    /// whole modality is sparser by construction).
    pub fn depends_on_modality(self) -> bool {
        matches!(
            self,
            Metric::DeletionAuc(_, Space::Within)
                | Metric::InsertionAuc(_, Space::Within)
                | Metric::Comprehensiveness(_, Space::Within)
                | Metric::Sufficiency(_, Space::Within)
                | Metric::FaithfulnessCorrelation(Space::Within)
                | Metric::Sparseness
                | Metric::Complexity
        )
    }

    /// Its catalogue entry.
    pub fn info(self) -> &'static MetricInfo {
        let template = match self {
            Metric::Score => "score",
            Metric::LocalError => "local_error",
            Metric::DeletionAuc(_, Space::Union) => "deletion_auc",
            Metric::InsertionAuc(_, Space::Union) => "insertion_auc",
            Metric::Comprehensiveness(_, Space::Union) => "comprehensiveness_at_{k}",
            Metric::Sufficiency(_, Space::Union) => "sufficiency_at_{k}",
            Metric::FaithfulnessCorrelation(Space::Union) => "faithfulness_correlation",
            Metric::DeletionAuc(_, Space::Within) => "deletion_auc_within",
            Metric::InsertionAuc(_, Space::Within) => "insertion_auc_within",
            Metric::Comprehensiveness(_, Space::Within) => "comprehensiveness_within_at_{k}",
            Metric::Sufficiency(_, Space::Within) => "sufficiency_within_at_{k}",
            Metric::FaithfulnessCorrelation(Space::Within) => "faithfulness_correlation_within",
            Metric::Lmac(which, fidelity::LmacMask::Positive) => match which {
                Lmac::AverageIncrease => "average_increase",
                Lmac::AverageDrop => "average_drop",
                Lmac::AverageGain => "average_gain",
                Lmac::FaithfulnessOnSpectra => "faithfulness_on_spectra",
                Lmac::InputFidelity => "input_fidelity",
            },
            Metric::Lmac(which, fidelity::LmacMask::TopPercent(_)) => match which {
                Lmac::AverageIncrease => "average_increase_top_{p}",
                Lmac::AverageDrop => "average_drop_top_{p}",
                Lmac::AverageGain => "average_gain_top_{p}",
                Lmac::FaithfulnessOnSpectra => "faithfulness_on_spectra_top_{p}",
                Lmac::InputFidelity => "input_fidelity_top_{p}",
            },
            Metric::ComprehensivenessTop(_) => "comprehensiveness_top_{p}",
            Metric::SufficiencyTop(_) => "sufficiency_top_{p}",
            Metric::PositiveMaskFraction => "positive_mask_fraction",
            Metric::ModalityShareAudio => "modality_share_audio",
            Metric::Complexity => "complexity",
            Metric::Sparseness => "sparseness",
            Metric::PrecisionAtK(Modality::Lyrics, _) => "precision_at_k_lyrics",
            Metric::PrecisionAtK(_, _) => "precision_at_k_audio",
            Metric::RecallAtK(Modality::Lyrics, _) => "recall_at_{k}_lyrics",
            Metric::RecallAtK(_, _) => "recall_at_{k}_audio",
            Metric::Auroc(Modality::Lyrics) => "auroc_lyrics",
            Metric::Auroc(_) => "auroc_audio",
            Metric::Attention(source, how, m) => {
                use attention::{Agreement, AttentionSource};
                let lyrics = m == Modality::Lyrics;
                match (source, how, lyrics) {
                    (AttentionSource::Rollout, Agreement::Kendall, false) => {
                        "rollout_kendall_audio"
                    }
                    (AttentionSource::Rollout, Agreement::Kendall, true) => {
                        "rollout_kendall_lyrics"
                    }
                    (AttentionSource::Rollout, _, false) => "rollout_spearman_audio",
                    (AttentionSource::Rollout, _, true) => "rollout_spearman_lyrics",
                    (_, Agreement::Kendall, false) => "attention_kendall_audio",
                    (_, Agreement::Kendall, true) => "attention_kendall_lyrics",
                    (_, Agreement::OverlapAtK(_), false) => "attention_overlap_at_{k}_audio",
                    (_, Agreement::OverlapAtK(_), true) => "attention_overlap_at_{k}_lyrics",
                    (_, _, false) => "attention_spearman_audio",
                    (_, _, true) => "attention_spearman_lyrics",
                }
            }
            Metric::Robustness(Perturbation::Noise, Change::Weights) => "noise_weight_change",
            Metric::Robustness(Perturbation::Noise, _) => "noise_jaccard_at_{k}",
            Metric::Robustness(Perturbation::Edit, Change::Weights) => "edit_weight_change",
            Metric::Robustness(Perturbation::Edit, _) => "edit_jaccard_at_{k}",
            Metric::JaccardAtK(_) => "jaccard_at_{k}",
            Metric::KendallTau => "kendall_tau",
            Metric::SpearmanRho => "spearman_rho",
            Metric::Vsi => "vsi",
            Metric::Csi => "csi",
        };
        catalogue()
            .iter()
            .find(|m| m.name == template)
            .unwrap_or(&catalogue()[0])
    }
}

fn number_of(text: &str, prefix: &str) -> Option<usize> {
    text.strip_prefix(prefix)?.parse().ok().filter(|k| *k > 0)
}

/// The catalogue entry of the metric called `name`.
pub fn info(name: &str) -> Option<&'static MetricInfo> {
    Metric::parse(name).map(Metric::info)
}

/// A run's metrics, parsed once: each config name with its [`Metric`], in config order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricSet(Vec<(String, Metric)>);

impl MetricSet {
    /// Parses `names`; an unknown name is returned as the error.
    pub fn parse(names: &[String]) -> std::result::Result<MetricSet, String> {
        names
            .iter()
            .map(|n| {
                Metric::parse(n)
                    .map(|m| (n.clone(), m))
                    .ok_or_else(|| n.clone())
            })
            .collect::<std::result::Result<_, _>>()
            .map(MetricSet)
    }

    /// `(name, metric)` in config order.
    pub fn iter(&self) -> impl Iterator<Item = &(String, Metric)> {
        self.0.iter()
    }

    /// Whether any metric compares with the model's attention.
    pub fn wants_attention(&self) -> bool {
        self.0
            .iter()
            .any(|(_, m)| matches!(m, Metric::Attention(..)))
    }

    /// Whether any metric compares with attention rollout.
    pub fn wants_rollout(&self) -> bool {
        self.0.iter().any(|(_, m)| {
            matches!(
                m,
                Metric::Attention(attention::AttentionSource::Rollout, _, _)
            )
        })
    }

    /// Whether any metric re-explains a copy perturbed by `perturbation`.
    pub fn wants_robustness(&self, perturbation: Perturbation) -> bool {
        self.0
            .iter()
            .any(|(_, m)| matches!(m, Metric::Robustness(p, _) if *p == perturbation))
    }

    /// Whether `metric` is among them.
    pub fn contains(&self, metric: Metric) -> bool {
        self.0.iter().any(|(_, m)| *m == metric)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_with_their_numbers() {
        assert_eq!(
            Metric::parse("comprehensiveness_at_5"),
            Some(Metric::Comprehensiveness(5, Space::Union))
        );
        assert_eq!(
            Metric::parse("sufficiency_within_at_3"),
            Some(Metric::Sufficiency(3, Space::Within))
        );
        assert_eq!(
            Metric::parse("deletion_auc_within_20"),
            Some(Metric::DeletionAuc(20, Space::Within))
        );
        assert_eq!(
            Metric::parse("average_drop"),
            Some(Metric::Lmac(
                Lmac::AverageDrop,
                fidelity::LmacMask::Positive
            ))
        );
        assert_eq!(
            Metric::parse("recall_at_10_lyrics"),
            Some(Metric::RecallAtK(Modality::Lyrics, 10))
        );
        assert_eq!(
            Metric::parse("precision_at_3_audio"),
            Some(Metric::PrecisionAtK(Modality::Audio, Some(3)))
        );
        assert_eq!(
            Metric::parse("deletion_auc_20"),
            Some(Metric::DeletionAuc(20, Space::Union))
        );
        assert_eq!(Metric::parse("jaccard_at_0"), None);
        assert_eq!(Metric::parse("recall_at_5_drums"), None);
        assert_eq!(Metric::parse("scor"), None);
        assert_eq!(info("sufficiency_at_2").unwrap().better, Better::Lower);
        assert_eq!(
            info("modality_share_audio").unwrap().better,
            Better::Neither
        );
        assert_eq!(
            Metric::parse("average_drop_top_10"),
            Some(Metric::Lmac(
                Lmac::AverageDrop,
                fidelity::LmacMask::TopPercent(10)
            ))
        );
        assert_eq!(
            Metric::parse("comprehensiveness_top_20"),
            Some(Metric::ComprehensivenessTop(20))
        );
        assert_eq!(Metric::parse("sufficiency_top_101"), None);
        assert_eq!(
            info("input_fidelity_top_20").unwrap().name,
            "input_fidelity_top_{p}"
        );
        assert_eq!(Metric::parse("vsi").unwrap().scope(), Scope::Repeats);
        assert_eq!(
            Metric::parse("attention_overlap_at_3_lyrics"),
            Some(Metric::Attention(
                attention::AttentionSource::FirstToken,
                attention::Agreement::OverlapAtK(3),
                Modality::Lyrics
            ))
        );
        assert_eq!(
            info("rollout_kendall_audio").unwrap().name,
            "rollout_kendall_audio"
        );
        // Every catalogue name without a number parses.
        for m in catalogue() {
            if !m.name.contains("{k}") && !m.name.contains("{p}") {
                assert!(Metric::parse(m.name).is_some(), "{}", m.name);
            }
        }
    }
}
