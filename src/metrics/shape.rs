//! Metrics of an explanation's shape: how its weight splits between modalities and how
//! concentrated it is.

use crate::features::{Feature, Modality};

/// **Modality share** (descriptive): `Σ_{audio} |w| / Σ |w|`, in [0, 1]; NaN when every weight
/// is zero. The lyrics share is `1 -` this. Source: the paper's discussion of modality reliance.
pub(crate) fn modality_share_audio(weights: &[(usize, f64)], features: &[Feature]) -> f64 {
    let total: f64 = weights.iter().map(|(_, w)| w.abs()).sum();
    let audio: f64 = weights
        .iter()
        .filter(|(j, _)| features[*j].modality == Modality::Audio)
        .map(|(_, w)| w.abs())
        .sum();
    // `+ 0.0` turns the -0.0 of an empty float sum into 0.0.
    audio / total + 0.0
}

/// **Complexity** (lower is better): the entropy of `p_j = |w_j| / Σ|w|` with logarithm base
/// `D`, the number of `weights`, in [0, 1]: 0 when one feature carries everything, 1 when all
/// weigh the same. Given the union space's dense weights (0 for every feature the explainer did
/// not weigh), so that values compare across explainers. Source: Bhatt, Weller & Moura (2020),
/// "Evaluating and aggregating feature-based model explanations"; it equals Quantus'
/// `Complexity` divided by `ln D`. NaN when every weight is zero (an explanation that says
/// nothing is not "simple"); 0 for a single non-zero weight.
pub fn complexity(weights: &[f64]) -> f64 {
    let d = weights.len();
    let total: f64 = weights.iter().map(|w| w.abs()).sum();
    if total <= 0.0 || !total.is_finite() {
        return f64::NAN;
    }
    if d <= 1 {
        return 0.0;
    }
    let entropy: f64 = weights
        .iter()
        .map(|w| w.abs() / total)
        .filter(|p| *p > 0.0)
        .map(|p| -p * p.ln())
        .sum();
    entropy / (d as f64).ln()
}

/// **Sparseness** (higher is better, [0, 1)): the Gini index of the |weights| (0 when every
/// weight is equal, near 1 when one carries everything), computed as Quantus' `Sparseness`
/// computes it for one explanation (|w| normalised by the largest, then `+1e-7`; see
/// [`super::audio_xai::gini_index`]). Given the union space's dense weights (0 for features the
/// explainer did not weigh). Source: Chalasani et al. (2020), Quantus (Hedström et al. 2023).
/// NaN only for an all-zero explanation (Quantus also refuses all-negative or all-equal
/// attributions; on |w| over the union neither is a reason to drop an explanation).
pub fn sparseness(weights: &[f64]) -> f64 {
    let largest = weights.iter().fold(0.0f64, |m, w| m.max(w.abs()));
    if largest <= 0.0 || !largest.is_finite() {
        return f64::NAN;
    }
    let normalised: Vec<f64> = weights
        .iter()
        .map(|w| w.abs() / largest + super::audio_xai::SPARSENESS_EPS)
        .collect();
    super::audio_xai::gini_index(&normalised)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_and_complexity_on_known_cases() {
        let features = vec![
            Feature::named("drums0", Modality::Audio),
            Feature::named("fire", Modality::Lyrics),
            Feature::named("bass0", Modality::Audio),
        ];
        assert_eq!(
            modality_share_audio(&[(0, 0.3), (1, -0.1), (2, -0.1)], &features),
            0.8
        );
        assert!(modality_share_audio(&[(0, 0.0)], &features).is_nan());
        let lyrics_only = modality_share_audio(&[(1, 0.4)], &features);
        assert!(lyrics_only == 0.0 && lyrics_only.is_sign_positive());
        assert_eq!(complexity(&[1.0, 0.0, 0.0]), 0.0);
        assert!((complexity(&[0.5, -0.5, 0.5]) - 1.0).abs() < 1e-12);
        let middle = complexity(&[0.8, 0.1, 0.1]);
        assert!(middle > 0.0 && middle < 1.0);
    }

    #[test]
    fn an_all_zero_explanation_has_no_complexity_and_no_sparseness() {
        // It used to score 0, the best complexity there is.
        assert!(complexity(&[0.0, 0.0, 0.0]).is_nan());
        assert!(complexity(&[]).is_nan());
        assert!(sparseness(&[0.0, 0.0]).is_nan());
        assert!(sparseness(&[1.0, 0.0, 0.0]) > 0.6);
    }

    #[test]
    fn an_all_negative_explanation_has_a_sparseness() {
        // Quantus refuses all-negative attributions; over |w| it is as sparse as its mirror.
        let negative = sparseness(&[-1.0, 0.0, 0.0, -0.1]);
        assert!(negative.is_finite());
        assert_eq!(negative, sparseness(&[1.0, 0.0, 0.0, 0.1]));
        // the same explanation in a larger union space (more unexplained features) is sparser
        assert!(sparseness(&[1.0, 0.5, 0.0, 0.0, 0.0, 0.0]) > sparseness(&[1.0, 0.5]));
    }
}
