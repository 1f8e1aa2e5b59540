//! Metrics of an explanation's shape: how its weight splits between modalities and how
//! concentrated it is.

use crate::features::{Feature, Modality};

/// **Modality share** (descriptive): `Σ_{audio} |w| / Σ |w|`, in [0, 1]; NaN when every weight
/// is zero. The lyrics share is `1 -` this. Source: the paper's discussion of modality reliance.
pub fn modality_share_audio(weights: &[(usize, f64)], features: &[Feature]) -> f64 {
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
/// `d` (the number of weights), in [0, 1]: 0 when one feature carries everything, 1 when all
/// weigh the same. Source: Bhatt, Weller & Moura (2020), "Evaluating and aggregating
/// feature-based model explanations"; it equals Quantus' `Complexity` divided by `ln d`. NaN
/// when every weight is zero (an explanation that says nothing is not "simple"); 0 for a
/// single non-zero weight.
pub fn complexity(weights: &[(usize, f64)]) -> f64 {
    let d = weights.len();
    let total: f64 = weights.iter().map(|(_, w)| w.abs()).sum();
    if total <= 0.0 || !total.is_finite() {
        return f64::NAN;
    }
    if d <= 1 {
        return 0.0;
    }
    let entropy: f64 = weights
        .iter()
        .map(|(_, w)| w.abs() / total)
        .filter(|p| *p > 0.0)
        .map(|p| -p * p.ln())
        .sum();
    entropy / (d as f64).ln()
}

/// **Sparseness** (higher is better, [0, 1)): the Gini index of the |weights| (0 when every
/// weight is equal, near 1 when one carries everything), as Quantus' `Sparseness` computes it
/// for one explanation (normalised by its largest |weight|, then `+1e-7`; see
/// [`super::audio_xai::sparseness`]). Source: Chalasani et al. (2020), Quantus (Hedström et
/// al. 2023). NaN where Quantus refuses the explanation (all weights zero or equal).
pub fn sparseness(weights: &[(usize, f64)]) -> f64 {
    let values: Vec<f64> = weights.iter().map(|(_, w)| *w).collect();
    super::audio_xai::sparseness(&values).unwrap_or(f64::NAN)
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
        assert_eq!(complexity(&[(0, 1.0), (1, 0.0), (2, 0.0)]), 0.0);
        assert!((complexity(&[(0, 0.5), (1, -0.5), (2, 0.5)]) - 1.0).abs() < 1e-12);
        let middle = complexity(&[(0, 0.8), (1, 0.1), (2, 0.1)]);
        assert!(middle > 0.0 && middle < 1.0);
    }

    #[test]
    fn an_all_zero_explanation_has_no_complexity_and_no_sparseness() {
        // It used to score 0, the best complexity there is.
        assert!(complexity(&[(0, 0.0), (1, 0.0), (2, 0.0)]).is_nan());
        assert!(complexity(&[]).is_nan());
        assert!(sparseness(&[(0, 0.0), (1, 0.0)]).is_nan());
        assert!(sparseness(&[(0, 1.0), (1, 0.0), (2, 0.0)]) > 0.6);
    }
}
