//! Recovery of planted ground truth (synthetic data, planted models): does the explanation rank
//! the features that truly carry the evidence first?

use std::collections::BTreeSet;

use crate::features::{Feature, Modality};

/// The features of `modality` in the explanation, ordered by |weight| (largest first), with
/// whether each is planted. Features absent from the weights (not selected) count as weight 0;
/// ties (those zeros among them) go by the instance's tie-break permutation of feature names
/// seeded with `ties` ([`crate::seeds::tie_rank`]), the same for every explainer and repeat.
fn ranked(
    weights: &[(usize, f64)],
    features: &[Feature],
    modality: Modality,
    planted: &BTreeSet<String>,
    ties: u64,
) -> Vec<(f64, bool)> {
    let mut magnitude = vec![0.0; features.len()];
    for (j, w) in weights {
        magnitude[*j] = w.abs();
    }
    let mut out: Vec<(f64, u64, bool)> = features
        .iter()
        .enumerate()
        .filter(|(_, f)| f.modality == modality)
        .map(|(j, f)| {
            let rank = crate::seeds::tie_rank(ties, &f.name);
            (magnitude[j], rank, planted.contains(&f.name))
        })
        .collect();
    out.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    out.into_iter().map(|(m, _, p)| (m, p)).collect()
}

/// **Precision@k** (higher is better, [0, 1]): the share of planted features of `modality`
/// among its `k` features with the largest |weight|, with `k` the number of planted features
/// present. NaN when none is planted or the modality is absent. Source: the standard
/// ground-truth evaluation of attributions (e.g. Arras et al. 2022, CLEVR-XAI).
pub(crate) fn precision_at_k(
    weights: &[(usize, f64)],
    features: &[Feature],
    modality: Modality,
    planted: &BTreeSet<String>,
    ties: u64,
) -> f64 {
    let ranked = ranked(weights, features, modality, planted, ties);
    let k = planted_count(&ranked);
    if k == 0 {
        return f64::NAN;
    }
    hits_in_top(&ranked, k) as f64 / k as f64
}

/// **Precision@k** with a fixed `k` (higher is better, [0, 1]): the share of planted features
/// of `modality` among its `k` features with the largest |weight| (`k` capped at the number of
/// features of the modality). NaN when none is planted or the modality is absent.
pub(crate) fn precision_at_fixed_k(
    weights: &[(usize, f64)],
    features: &[Feature],
    modality: Modality,
    planted: &BTreeSet<String>,
    k: usize,
    ties: u64,
) -> f64 {
    let ranked = ranked(weights, features, modality, planted, ties);
    let k = k.min(ranked.len());
    if k == 0 || planted_count(&ranked) == 0 {
        return f64::NAN;
    }
    hits_in_top(&ranked, k) as f64 / k as f64
}

/// **Recall@k** (higher is better, [0, 1]): the share of the planted features of `modality`
/// found among its `k` features with the largest |weight|. NaN when none is planted or the
/// modality is absent. Source: as precision@k.
pub(crate) fn recall_at_k(
    weights: &[(usize, f64)],
    features: &[Feature],
    modality: Modality,
    planted: &BTreeSet<String>,
    k: usize,
    ties: u64,
) -> f64 {
    let ranked = ranked(weights, features, modality, planted, ties);
    let total = planted_count(&ranked);
    if total == 0 {
        return f64::NAN;
    }
    hits_in_top(&ranked, k) as f64 / total as f64
}

/// Number of planted features in a ranking.
fn planted_count(ranked: &[(f64, bool)]) -> usize {
    ranked.iter().filter(|(_, p)| *p).count()
}

/// Planted features among the first `k` of a ranking.
fn hits_in_top(ranked: &[(f64, bool)], k: usize) -> usize {
    ranked.iter().take(k).filter(|(_, p)| *p).count()
}

/// **AUROC** (higher is better, [0, 1]; 0.5 is chance): the probability that a planted feature
/// of `modality` has a larger |weight| than a non-planted one (ties count one half), i.e. the
/// Mann–Whitney statistic. NaN when either group is empty.
pub(crate) fn auroc(
    weights: &[(usize, f64)],
    features: &[Feature],
    modality: Modality,
    planted: &BTreeSet<String>,
) -> f64 {
    let ranked = ranked(weights, features, modality, planted, 0);
    let positives: Vec<f64> = ranked.iter().filter(|(_, p)| *p).map(|(w, _)| *w).collect();
    let negatives: Vec<f64> = ranked
        .iter()
        .filter(|(_, p)| !*p)
        .map(|(w, _)| *w)
        .collect();
    if positives.is_empty() || negatives.is_empty() {
        return f64::NAN;
    }
    let mut wins = 0.0;
    for p in &positives {
        for n in &negatives {
            wins += if p > n {
                1.0
            } else if p == n {
                0.5
            } else {
                0.0
            };
        }
    }
    wins / (positives.len() * negatives.len()) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (Vec<Feature>, BTreeSet<String>) {
        let features = vec![
            Feature::named("drums0", Modality::Audio),
            Feature::named("drums1", Modality::Audio),
            Feature::named("bass0", Modality::Audio),
            Feature::named("fire", Modality::Lyrics),
            Feature::named("the", Modality::Lyrics),
        ];
        let planted: BTreeSet<String> = ["drums1", "bass0", "fire"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        (features, planted)
    }

    #[test]
    fn recall_and_fixed_k_precision_count_the_planted_features_found() {
        let (features, planted) = setup();
        // Audio ranked: drums0 (0.5), drums1 (0.4), bass0 (0.1); planted: drums1, bass0.
        let w = [(0, 0.5), (1, 0.4), (2, 0.1)];
        assert_eq!(
            recall_at_k(&w, &features, Modality::Audio, &planted, 1, 0),
            0.0
        );
        assert_eq!(
            recall_at_k(&w, &features, Modality::Audio, &planted, 2, 0),
            0.5
        );
        assert_eq!(
            recall_at_k(&w, &features, Modality::Audio, &planted, 3, 0),
            1.0
        );
        assert_eq!(
            precision_at_fixed_k(&w, &features, Modality::Audio, &planted, 2, 0),
            0.5
        );
        assert_eq!(
            precision_at_fixed_k(&w, &features, Modality::Audio, &planted, 10, 0),
            2.0 / 3.0
        );
        assert!(recall_at_k(&w, &features, Modality::Lyrics, &BTreeSet::new(), 2, 0).is_nan());
    }

    #[test]
    fn perfect_partial_and_reversed_rankings() {
        let (features, planted) = setup();
        let perfect = [(2, 0.5), (1, -0.4), (3, 0.3), (0, 0.1), (4, 0.05)];
        assert_eq!(
            precision_at_k(&perfect, &features, Modality::Audio, &planted, 0),
            1.0
        );
        assert_eq!(
            precision_at_k(&perfect, &features, Modality::Lyrics, &planted, 0),
            1.0
        );
        assert_eq!(auroc(&perfect, &features, Modality::Audio, &planted), 1.0);
        let half = [(0, 0.5), (1, 0.4), (2, 0.1)];
        assert_eq!(
            precision_at_k(&half, &features, Modality::Audio, &planted, 0),
            0.5
        );
        assert_eq!(auroc(&half, &features, Modality::Audio, &planted), 0.0);
        let between = [(0, 0.2), (1, 0.4), (2, 0.1)];
        assert_eq!(auroc(&between, &features, Modality::Audio, &planted), 0.5);
        let reversed = [(0, 0.9), (4, 0.8), (3, 0.1)];
        assert_eq!(auroc(&reversed, &features, Modality::Lyrics, &planted), 0.0);
        // Features not selected count as weight 0 and tie with each other.
        assert_eq!(auroc(&[], &features, Modality::Audio, &planted), 0.5);
    }

    #[test]
    fn zero_weights_tie_by_the_seeded_permutation_not_by_index() {
        // No weights at all: every audio feature ties at 0. Index order would always rank
        // drums0 (not planted) first; the permutation makes precision@k chance on average.
        let (features, planted) = setup();
        let values: Vec<f64> = (0..400)
            .map(|seed| precision_at_k(&[], &features, Modality::Audio, &planted, seed))
            .collect();
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        assert!((mean - 2.0 / 3.0).abs() < 0.06, "{mean}");
        assert!(values.iter().any(|v| *v != values[0]));
    }

    #[test]
    fn nothing_planted_is_nan() {
        let (features, _) = setup();
        assert!(
            precision_at_k(&[(0, 1.0)], &features, Modality::Audio, &BTreeSet::new(), 0).is_nan()
        );
        assert!(auroc(&[(0, 1.0)], &features, Modality::Audio, &BTreeSet::new()).is_nan());
    }
}
