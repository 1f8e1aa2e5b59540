//! Explanation metrics. Each is a small named unit whose doc comment gives its definition,
//! direction, range and source; [`catalogue`] lists them for configs and tables, and
//! `Metric::parse` turns a config name (some take a number: `comprehensiveness_at_5`) into
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

use std::collections::BTreeSet;

use crate::error::Result;
use crate::explanation::LabelExplanation;
use crate::features::{Feature, Modality};
use crate::lyrics::LyricFeatures;
use crate::model::attention::AttentionMap;
use crate::seeds::UnitSeeds;
use audio_xai::LmacScores;
use fidelity::{Curve, Spaces};

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

/// One row of the metric table: its catalogue entry and the metric its name makes (with the
/// number in its `{k}` or `{p}`, when it has one).
struct Row {
    info: MetricInfo,
    make: fn(Option<usize>) -> Metric,
}

macro_rules! row {
    ($name:expr, $better:ident, $truth:expr, $description:expr, $make:expr) => {
        Row {
            info: MetricInfo {
                name: $name,
                better: Better::$better,
                description: $description,
                needs_ground_truth: $truth,
            },
            make: $make,
        }
    };
}

/// Steps of `deletion_auc` and `insertion_auc` when the name gives none.
pub(crate) const DEFAULT_STEPS: usize = 10;

/// The number a `{k}` or `{p}` name always has (the parser supplies it).
fn n(k: Option<usize>) -> usize {
    k.unwrap_or(1)
}

use attention::Agreement;
use attention::AttentionSource::{FirstToken, Rollout};
use fidelity::LmacMask;

/// **The metric table**, the one place each metric is named: its name (a `{k}` takes a count,
/// a `{p}` a percentage in 1..=100), direction, whether it needs planted truth, description and
/// range, and the [`Metric`] the name makes. The catalogue, `Metric::parse` and
/// `Metric::info` all read it.
static TABLE: &[Row] = &[
    row!("score", Higher, false, "surrogate weighted R² on the neighbourhood (fidelity), (-inf, 1]", |_| Metric::Score),
    row!("local_error", Lower, false, "|f(x) - g(x)| for the predicted label on the instance, [0, 1]", |_| Metric::LocalError),
    row!("deletion_auc", Lower, false, "area under p(label) as the instance's audio components and words are removed, the explained ones first by signed weight (10 steps; deletion_auc_{k}: k steps), [0, 1]", |_| Metric::DeletionAuc(DEFAULT_STEPS, Space::Union)),
    row!("insertion_auc", Higher, false, "area under p(label) as the instance's audio components and words are added to an empty input, the explained ones first by signed weight (10 steps; insertion_auc_{k}: k steps), [0, 1]", |_| Metric::InsertionAuc(DEFAULT_STEPS, Space::Union)),
    row!("deletion_auc_{k}", Lower, false, "deletion_auc with k steps, [0, 1]", |k| Metric::DeletionAuc(n(k), Space::Union)),
    row!("insertion_auc_{k}", Higher, false, "insertion_auc with k steps, [0, 1]", |k| Metric::InsertionAuc(n(k), Space::Union)),
    row!("comprehensiveness_at_{k}", Higher, false, "p(x) - p(x without its top k features) (ERASER at one k, not the AOPC average), [-1, 1]", |k| Metric::Comprehensiveness(n(k), Space::Union)),
    row!("sufficiency_at_{k}", Lower, false, "p(x) - p(only its top k features: every other component and word removed) (ERASER at one k, not the AOPC average), [-1, 1]", |k| Metric::Sufficiency(n(k), Space::Union)),
    row!("faithfulness_correlation", Higher, false, "Pearson correlation of summed weights and probability drops over 50 random subsets of the instance's features (Bhatt et al.), [-1, 1]", |_| Metric::FaithfulnessCorrelation(Space::Union)),
    row!("deletion_auc_within", Lower, false, "deletion AUC over the explainer's own features only (the other modality stays whole), [0, 1]", |_| Metric::DeletionAuc(DEFAULT_STEPS, Space::Within)),
    row!("insertion_auc_within", Higher, false, "insertion AUC over the explainer's own features only (the other modality stays whole), [0, 1]", |_| Metric::InsertionAuc(DEFAULT_STEPS, Space::Within)),
    row!("deletion_auc_within_{k}", Lower, false, "deletion_auc_within with k steps, [0, 1]", |k| Metric::DeletionAuc(n(k), Space::Within)),
    row!("insertion_auc_within_{k}", Higher, false, "insertion_auc_within with k steps, [0, 1]", |k| Metric::InsertionAuc(n(k), Space::Within)),
    row!("comprehensiveness_within_at_{k}", Higher, false, "comprehensiveness over the explainer's own features only, [-1, 1]", |k| Metric::Comprehensiveness(n(k), Space::Within)),
    row!("sufficiency_within_at_{k}", Lower, false, "sufficiency over the explainer's own features only (the other modality stays whole), [-1, 1]", |k| Metric::Sufficiency(n(k), Space::Within)),
    row!("faithfulness_correlation_within", Higher, false, "faithfulness correlation over the explainer's own features only, [-1, 1]", |_| Metric::FaithfulnessCorrelation(Space::Within)),
    row!("average_increase", Higher, false, "L-MAC AI: 100 if p_c rises when only the positively weighted features are kept (all else removed), else 0; its mean is the share of instances, [0, 100]", |_| Metric::Lmac(Lmac::AverageIncrease, LmacMask::Positive)),
    row!("average_drop", Lower, false, "L-MAC AD: 100 max(0, p_c(x) - p_c(only the positively weighted features)) / p_c(x), [0, 100]", |_| Metric::Lmac(Lmac::AverageDrop, LmacMask::Positive)),
    row!("average_gain", Higher, false, "L-MAC AG: 100 max(0, p_c(only the positively weighted features) - p_c(x)) / (1 - p_c(x)), [0, 100]", |_| Metric::Lmac(Lmac::AverageGain, LmacMask::Positive)),
    row!("faithfulness_on_spectra", Higher, false, "L-MAC FF: p_c(x) - p_c(x without the positively weighted features), [-1, 1]", |_| Metric::Lmac(Lmac::FaithfulnessOnSpectra, LmacMask::Positive)),
    row!("input_fidelity", Higher, false, "L-MAC Fid-In: 1 if the prediction stays the same when only the positively weighted features are kept, else 0, [0, 1]", |_| Metric::Lmac(Lmac::InputFidelity, LmacMask::Positive)),
    row!("average_increase_top_{p}", Higher, false, "L-MAC AI with the top p % of the union space as the mask (same size for every explainer), [0, 100]", |p| Metric::Lmac(Lmac::AverageIncrease, LmacMask::TopPercent(n(p)))),
    row!("average_drop_top_{p}", Lower, false, "L-MAC AD with the top p % of the union space as the mask, [0, 100]", |p| Metric::Lmac(Lmac::AverageDrop, LmacMask::TopPercent(n(p)))),
    row!("average_gain_top_{p}", Higher, false, "L-MAC AG with the top p % of the union space as the mask, [0, 100]", |p| Metric::Lmac(Lmac::AverageGain, LmacMask::TopPercent(n(p)))),
    row!("faithfulness_on_spectra_top_{p}", Higher, false, "L-MAC FF with the top p % of the union space as the mask, [-1, 1]", |p| Metric::Lmac(Lmac::FaithfulnessOnSpectra, LmacMask::TopPercent(n(p)))),
    row!("input_fidelity_top_{p}", Higher, false, "L-MAC Fid-In with the top p % of the union space as the mask, [0, 1]", |p| Metric::Lmac(Lmac::InputFidelity, LmacMask::TopPercent(n(p)))),
    row!("comprehensiveness_top_{p}", Higher, false, "p(x) - p(x without the top p % of the union space), the same number of features for every explainer, [-1, 1]", |p| Metric::ComprehensivenessTop(n(p))),
    row!("sufficiency_top_{p}", Lower, false, "p(x) - p(only the top p % of the union space), [-1, 1]", |p| Metric::SufficiencyTop(n(p))),
    row!("positive_mask_fraction", Neither, false, "share of the union space weighted positively: the mask size of the positive-mask L-MAC metrics, [0, 1] (descriptive)", |_| Metric::PositiveMaskFraction),
    row!("samples_used", Neither, false, "rows of the neighbourhood the surrogate was fitted on: num_samples, or where num_samples: auto stopped (descriptive: the explanation's cost)", |_| Metric::SamplesUsed),
    row!("posterior_top_k_stable", Higher, false, "posterior probability that the surrogate's top-k features (k = 5) are the top k of a draw, from 1000 seeded posterior draws, [0, 1]; NaN for explainers without a posterior (lime_separate, random, the oracles)", |_| Metric::PosteriorTopKStable),
    row!("posterior_half_width", Lower, false, "mean 95% credible half-width of the surrogate's top-k weights (k = 5); NaN for explainers without a posterior", |_| Metric::PosteriorHalfWidth),
    row!("explained_fraction", Neither, false, "share of the union space the explainer gives any non-zero weight (descriptive: a unimodal explainer covers at most its modality), [0, 1]", |_| Metric::ExplainedFraction),
    row!("modality_share_audio", Neither, false, "share of total |weight| on audio components, [0, 1] (descriptive)", |_| Metric::ModalityShareAudio),
    row!("complexity", Lower, false, "entropy of normalised |weights| over the union space (0 for features the explainer did not weigh), base = its size (Quantus Complexity / ln D), [0, 1]; NaN for an all-zero explanation", |_| Metric::Complexity),
    row!("sparseness", Higher, false, "Gini index of |weights| over the union space (0 for features the explainer did not weigh; Quantus Sparseness), [0, 1); NaN for an all-zero explanation", |_| Metric::Sparseness),
    row!("precision_at_k_audio", Higher, true, "planted audio components among the top k audio features (k = number planted; precision_at_{k}_audio: fixed k), [0, 1]", |_| Metric::PrecisionAtK(Modality::Audio, None)),
    row!("precision_at_k_lyrics", Higher, true, "planted words among the top k lyric features (k = number planted; precision_at_{k}_lyrics: fixed k), [0, 1]", |_| Metric::PrecisionAtK(Modality::Lyrics, None)),
    row!("precision_at_{k}_audio", Higher, true, "planted audio components among the top k audio features (a fixed k), [0, 1]", |k| Metric::PrecisionAtK(Modality::Audio, Some(n(k)))),
    row!("precision_at_{k}_lyrics", Higher, true, "planted words among the top k lyric features (a fixed k), [0, 1]", |k| Metric::PrecisionAtK(Modality::Lyrics, Some(n(k)))),
    row!("recall_at_{k}_audio", Higher, true, "share of the planted audio components found among the top k audio features, [0, 1]", |k| Metric::RecallAtK(Modality::Audio, n(k))),
    row!("recall_at_{k}_lyrics", Higher, true, "share of the planted words found among the top k lyric features, [0, 1]", |k| Metric::RecallAtK(Modality::Lyrics, n(k))),
    row!("auroc_audio", Higher, true, "AUROC of |weight| separating planted from other audio components, [0, 1]", |_| Metric::Auroc(Modality::Audio)),
    row!("auroc_lyrics", Higher, true, "AUROC of |weight| separating planted from other words, [0, 1]", |_| Metric::Auroc(Modality::Lyrics)),
    row!("attention_spearman_audio", Higher, false, "Spearman rho between |weight| and last-layer first-token attention per time segment, [-1, 1]", |_| Metric::Attention(FirstToken, Agreement::Spearman, Modality::Audio)),
    row!("attention_spearman_lyrics", Higher, false, "Spearman rho between |weight| and last-layer first-token attention per word, [-1, 1]", |_| Metric::Attention(FirstToken, Agreement::Spearman, Modality::Lyrics)),
    row!("attention_kendall_audio", Higher, false, "Kendall tau-b between |weight| and first-token attention per time segment, [-1, 1]", |_| Metric::Attention(FirstToken, Agreement::Kendall, Modality::Audio)),
    row!("attention_kendall_lyrics", Higher, false, "Kendall tau-b between |weight| and first-token attention per word, [-1, 1]", |_| Metric::Attention(FirstToken, Agreement::Kendall, Modality::Lyrics)),
    row!("attention_overlap_at_{k}_audio", Higher, false, "overlap of the top-k segments by |weight| and by first-token attention, [0, 1]", |k| Metric::Attention(FirstToken, Agreement::OverlapAtK(n(k)), Modality::Audio)),
    row!("attention_overlap_at_{k}_lyrics", Higher, false, "overlap of the top-k words by |weight| and by first-token attention, [0, 1]", |k| Metric::Attention(FirstToken, Agreement::OverlapAtK(n(k)), Modality::Lyrics)),
    row!("rollout_spearman_audio", Higher, false, "Spearman rho between |weight| and attention rollout per time segment (square maps only), [-1, 1]", |_| Metric::Attention(Rollout, Agreement::Spearman, Modality::Audio)),
    row!("rollout_spearman_lyrics", Higher, false, "Spearman rho between |weight| and attention rollout per word (square maps only), [-1, 1]", |_| Metric::Attention(Rollout, Agreement::Spearman, Modality::Lyrics)),
    row!("rollout_kendall_audio", Higher, false, "Kendall tau-b between |weight| and attention rollout per time segment, [-1, 1]", |_| Metric::Attention(Rollout, Agreement::Kendall, Modality::Audio)),
    row!("rollout_kendall_lyrics", Higher, false, "Kendall tau-b between |weight| and attention rollout per word, [-1, 1]", |_| Metric::Attention(Rollout, Agreement::Kendall, Modality::Lyrics)),
    row!("noise_jaccard_at_{k}", Higher, false, "robustness: top-k Jaccard between the explanations of the instance and of a copy with noise at 30 dB SNR, [0, 1]", |k| Metric::Robustness(Perturbation::Noise, Change::JaccardAtK(n(k)))),
    row!("noise_weight_change", Lower, false, "robustness: relative L2 change of the weights under noise at 30 dB SNR, [0, inf)", |_| Metric::Robustness(Perturbation::Noise, Change::Weights)),
    row!("edit_jaccard_at_{k}", Higher, false, "robustness: top-k Jaccard between the explanations of the instance and of a copy with one word deleted, [0, 1]", |k| Metric::Robustness(Perturbation::Edit, Change::JaccardAtK(n(k)))),
    row!("edit_weight_change", Lower, false, "robustness: relative L2 change of the weights when one word is deleted, [0, inf)", |_| Metric::Robustness(Perturbation::Edit, Change::Weights)),
    row!("jaccard_at_{k}", Higher, false, "stability: mean pairwise Jaccard of the top-k |weight| sets across repeats, [0, 1]", |k| Metric::JaccardAtK(n(k))),
    row!("kendall_tau", Higher, false, "stability: mean pairwise Kendall tau-b of the weights across repeats, [-1, 1]", |_| Metric::KendallTau),
    row!("spearman_rho", Higher, false, "stability: mean pairwise Spearman rho of the weights across repeats, [-1, 1]", |_| Metric::SpearmanRho),
    row!("vsi", Higher, false, "stability: variables stability index (Visani et al.), share of shared selected features across repeats, [0, 1]", |_| Metric::Vsi),
    row!("csi", Higher, false, "stability: coefficients stability index (Visani et al.), share of overlapping 95% coefficient intervals across repeats, [0, 1]", |_| Metric::Csi),
];

/// Every metric the runner can compute.
pub fn catalogue() -> impl Iterator<Item = &'static MetricInfo> {
    TABLE.iter().map(|r| &r.info)
}

impl Row {
    /// The metric `name` makes by this row's pattern, if it matches.
    fn parse(&self, name: &str) -> Option<Metric> {
        let pattern = self.info.name;
        let Some((prefix, rest)) = pattern.split_once('{') else {
            return (name == pattern).then(|| (self.make)(None));
        };
        let (placeholder, suffix) = rest.split_once('}')?;
        let number: usize = name
            .strip_prefix(prefix)?
            .strip_suffix(suffix)?
            .parse()
            .ok()?;
        let in_range = number > 0 && (placeholder != "p" || number <= 100);
        in_range.then(|| (self.make)(Some(number)))
    }
}

/// A metric parsed from its config name.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Metric {
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
    /// Share of the union space with any weight.
    ExplainedFraction,
    /// Rows the surrogate was fitted on.
    SamplesUsed,
    /// The posterior's top-k stability probability.
    PosteriorTopKStable,
    /// The mean 95% half-width of the top-k weights.
    PosteriorHalfWidth,
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
pub(crate) enum Lmac {
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
pub(crate) enum Perturbation {
    /// Gaussian noise on every source at [`NOISE_SNR_DB`] below the mixture.
    Noise,
    /// One word occurrence deleted from the lyrics (chosen by the unit's seed).
    Edit,
}

/// How robustness compares the two explanations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// Top-k Jaccard of the feature names.
    JaccardAtK(usize),
    /// Relative L2 change of the weights.
    Weights,
}

/// Signal-to-noise ratio of the `noise_*` robustness metrics, in dB.
pub(crate) const NOISE_SNR_DB: f64 = 30.0;

/// Where a metric is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// From one explanation alone.
    Explanation,
    /// From one explanation and new model queries on the explained instance.
    Model,
    /// Across the repeats of one instance (one value per instance, explainer and cell).
    Repeats,
}

impl Metric {
    /// Parses a config name by the metric table; `None` for unknown names.
    pub fn parse(name: &str) -> Option<Metric> {
        TABLE.iter().find_map(|row| row.parse(name))
    }

    /// The number its name carries (`k` steps or features, `p` percent), if any.
    fn number(self) -> Option<usize> {
        match self {
            Metric::DeletionAuc(k, _)
            | Metric::InsertionAuc(k, _)
            | Metric::Comprehensiveness(k, _)
            | Metric::Sufficiency(k, _)
            | Metric::ComprehensivenessTop(k)
            | Metric::SufficiencyTop(k)
            | Metric::RecallAtK(_, k)
            | Metric::JaccardAtK(k)
            | Metric::Lmac(_, LmacMask::TopPercent(k))
            | Metric::Attention(_, Agreement::OverlapAtK(k), _)
            | Metric::Robustness(_, Change::JaccardAtK(k)) => Some(k),
            Metric::PrecisionAtK(_, k) => k,
            _ => None,
        }
    }

    /// Where it is computed.
    pub(crate) fn scope(self) -> Scope {
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

    /// Its row of the metric table. Every metric a name can make has one (tested), so there
    /// is no fallback.
    pub fn info(self) -> &'static MetricInfo {
        let number = self.number();
        TABLE
            .iter()
            .find(|row| (row.make)(number) == self)
            .map(|row| &row.info)
            .expect("every metric has a row in the metric table")
    }
}

/// The catalogue entry of the metric called `name`.
pub fn info(name: &str) -> Option<&'static MetricInfo> {
    Metric::parse(name).map(Metric::info)
}

/// A run's metrics, parsed once: each config name with its [`Metric`], in config order.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct MetricSet(Vec<(String, Metric)>);

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
    pub(crate) fn wants_attention(&self) -> bool {
        self.0
            .iter()
            .any(|(_, m)| matches!(m, Metric::Attention(..)))
    }

    /// Whether any metric compares with attention rollout.
    pub(crate) fn wants_rollout(&self) -> bool {
        self.0.iter().any(|(_, m)| {
            matches!(
                m,
                Metric::Attention(attention::AttentionSource::Rollout, _, _)
            )
        })
    }

    /// Whether any metric re-explains a copy perturbed by `perturbation`.
    pub(crate) fn wants_robustness(&self, perturbation: Perturbation) -> bool {
        self.0
            .iter()
            .any(|(_, m)| matches!(m, Metric::Robustness(p, _) if *p == perturbation))
    }

    /// Whether `metric` is among them.
    pub fn contains(&self, metric: Metric) -> bool {
        self.0.iter().any(|(_, m)| *m == metric)
    }
}

// -------------------------------------------------------------------------------------------
// Computing a metric of one explanation
// -------------------------------------------------------------------------------------------

/// An explanation's weights by feature name.
pub(crate) type NamedWeights = Vec<(String, f64)>;

/// What the metrics of one explanation may look at.
#[derive(Clone, Copy)]
pub(crate) struct MetricContext<'a> {
    /// Where curve metrics leave their curves.
    pub curves: &'a std::cell::RefCell<Vec<(String, Curve)>>,
    /// The predicted label's weights by feature name.
    pub original: &'a [(String, f64)],
    /// The same for the explanations of perturbed copies (`None`: the perturbation does not
    /// apply, e.g. an edit of empty lyrics).
    pub robustness: &'a [(Perturbation, Option<NamedWeights>)],
    /// The explanation of the predicted label.
    pub label: &'a LabelExplanation,
    /// Rows of the neighbourhood the explanation was fitted on.
    pub samples: usize,
    /// The explanation's features.
    pub features: &'a [Feature],
    /// The planted features of the instance, when known.
    pub planted: Option<&'a BTreeSet<String>>,
    /// The fidelity probes, orders and weights of both feature spaces.
    pub spaces: &'a Spaces<'a>,
    /// The L-MAC scores per mask, computed the first time one is asked for.
    pub lmac: &'a std::cell::RefCell<Vec<(LmacMask, LmacScores)>>,
    /// The unit's seeds by purpose.
    pub seeds: UnitSeeds,
    /// The model's attention maps of the instance (none when it has none).
    pub attention: &'a [AttentionMap],
    /// The instance's lyric features.
    pub lyrics: &'a LyricFeatures,
}

impl Metric {
    /// Its value for the explanation of the predicted label in `context` (metrics of one
    /// explanation; some query the model again); `None` for metrics across repeats, which
    /// [`stability`] computes from every repeat. `name` labels the curves it leaves.
    pub fn value(self, name: &str, context: &MetricContext) -> Result<Option<f64>> {
        let metric = self;
        let MetricContext {
            curves,
            original,
            robustness,
            label,
            samples,
            features,
            planted,
            spaces,
            lmac,
            seeds,
            attention: attention_maps,
            lyrics,
        } = *context;
        let weights = &label.fit.weights;
        let empty = BTreeSet::new();
        let planted = planted.unwrap_or(&empty);
        let lmac = |mask: LmacMask| -> Result<LmacScores> {
            if let Some((_, scores)) = lmac.borrow().iter().find(|(m, _)| *m == mask) {
                return Ok(*scores);
            }
            let scores = fidelity::lmac(spaces, mask)?;
            lmac.borrow_mut().push((mask, scores));
            Ok(scores)
        };
        let union = |f: fn(&[f64]) -> f64| f(spaces.get(Space::Union).2);
        let ties = seeds.ties;
        Ok(Some(match metric {
            Metric::Score => label.fit.score,
            Metric::LocalError => (label.model_output - label.fit.local_pred).abs(),
            Metric::ModalityShareAudio => shape::modality_share_audio(weights, features),
            Metric::Complexity => union(shape::complexity),
            Metric::Sparseness => union(shape::sparseness),
            Metric::PositiveMaskFraction => fidelity::positive_mask_fraction(spaces),
            Metric::ExplainedFraction => fidelity::explained_fraction(spaces),
            Metric::SamplesUsed => samples as f64,
            Metric::PosteriorTopKStable | Metric::PosteriorHalfWidth => {
                posterior_figure(metric, label)
            }
            Metric::PrecisionAtK(m, None) => {
                ground_truth::precision_at_k(weights, features, m, planted, ties)
            }
            Metric::PrecisionAtK(m, Some(k)) => {
                ground_truth::precision_at_fixed_k(weights, features, m, planted, k, ties)
            }
            Metric::RecallAtK(m, k) => {
                ground_truth::recall_at_k(weights, features, m, planted, k, ties)
            }
            Metric::Auroc(m) => ground_truth::auroc(weights, features, m, planted),
            Metric::DeletionAuc(steps, space) => {
                let (probe, order, _) = spaces.get(space);
                let (auc, curve) = fidelity::deletion(probe, order, steps)?;
                curves.borrow_mut().push((name.to_string(), curve));
                auc
            }
            Metric::InsertionAuc(steps, space) => {
                let (probe, order, _) = spaces.get(space);
                let (auc, curve) = fidelity::insertion(probe, order, steps)?;
                curves.borrow_mut().push((name.to_string(), curve));
                auc
            }
            Metric::Comprehensiveness(k, space) => {
                let (probe, order, _) = spaces.get(space);
                fidelity::comprehensiveness(probe, order, k)?
            }
            Metric::Sufficiency(k, space) => {
                let (probe, order, _) = spaces.get(space);
                fidelity::sufficiency(probe, order, k)?
            }
            Metric::ComprehensivenessTop(p) => {
                let (probe, order, dense) = spaces.get(Space::Union);
                fidelity::comprehensiveness(probe, order, fidelity::top_count(dense.len(), p))?
            }
            Metric::SufficiencyTop(p) => {
                let (probe, order, dense) = spaces.get(Space::Union);
                fidelity::sufficiency(probe, order, fidelity::top_count(dense.len(), p))?
            }
            Metric::FaithfulnessCorrelation(space) => {
                let (probe, _, dense) = spaces.get(space);
                fidelity::faithfulness_correlation(probe, dense, seeds.faithfulness)?
            }
            Metric::Lmac(which, mask) => {
                let scores = lmac(mask)?;
                match which {
                    Lmac::AverageIncrease => scores.average_increase,
                    Lmac::AverageDrop => scores.average_drop_published,
                    Lmac::AverageGain => scores.average_gain_published,
                    Lmac::FaithfulnessOnSpectra => scores.faithfulness_on_spectra,
                    Lmac::InputFidelity => scores.input_fidelity,
                }
            }
            Metric::Attention(source, how, modality) => attention::agreement(
                attention::unit_masses(attention_maps, source, modality, weights, features, lyrics),
                how,
            ),
            Metric::Robustness(perturbation, change) => {
                match robustness
                    .iter()
                    .find(|(p, _)| *p == perturbation)
                    .and_then(|(_, w)| w.as_ref())
                {
                    None => f64::NAN,
                    Some(perturbed) => match change {
                        Change::JaccardAtK(k) => {
                            stability::robustness_jaccard(original, perturbed, k, ties)
                        }
                        Change::Weights => stability::relative_weight_change(original, perturbed),
                    },
                }
            }
            Metric::JaccardAtK(_)
            | Metric::KendallTau
            | Metric::SpearmanRho
            | Metric::Vsi
            | Metric::Csi => return Ok(None),
        }))
    }
}

/// The posterior's top-k stability or mean top-k half-width of `label`'s surrogate (NaN
/// without a posterior).
fn posterior_figure(metric: Metric, label: &LabelExplanation) -> f64 {
    let Some(u) = &label.fit.uncertainty else {
        return f64::NAN;
    };
    match metric {
        Metric::PosteriorTopKStable => u.top_k_stable.unwrap_or(f64::NAN),
        _ => {
            let top = &u.half_widths[..u.k.min(u.half_widths.len())];
            top.iter().sum::<f64>() / top.len() as f64
        }
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
        // Every row's name parses to a metric whose row is that row (numbers: 3).
        for m in catalogue() {
            let name = m.name.replace("{k}", "3").replace("{p}", "3");
            let metric = Metric::parse(&name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(metric.info().name, m.name, "{name}");
        }
        assert_eq!(
            Metric::parse("deletion_auc_20"),
            Some(Metric::DeletionAuc(20, Space::Union))
        );
        assert_eq!(
            Metric::parse("insertion_auc_within_7"),
            Some(Metric::InsertionAuc(7, Space::Within))
        );
        // Every catalogue name without a number parses.
        for m in catalogue() {
            if !m.name.contains("{k}") && !m.name.contains("{p}") {
                assert!(Metric::parse(m.name).is_some(), "{}", m.name);
            }
        }
    }
}
