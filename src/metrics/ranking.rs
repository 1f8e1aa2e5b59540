//! Threshold-free ranking metrics of scores against binary truth, as scikit-learn computes
//! them: ROC-AUC (`roc_auc_score`) and PR-AUC as average precision
//! (`average_precision_score`). Used for the per-tag quality of multi-label taggers.

/// Positions of `scores` grouped by equal score, highest score first.
fn groups_by_score(scores: &[f64]) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in order {
        match groups.last_mut() {
            Some(g) if scores[g[0]] == scores[i] => g.push(i),
            _ => groups.push(vec![i]),
        }
    }
    groups
}

/// Area under the ROC curve (trapezoidal over distinct thresholds, so tied scores count one
/// half); `None` when `truth` has no positive or no negative instance.
pub fn roc_auc(truth: &[bool], scores: &[f64]) -> Option<f64> {
    let positives = truth.iter().filter(|t| **t).count();
    let negatives = truth.len() - positives;
    if positives == 0 || negatives == 0 || truth.len() != scores.len() {
        return None;
    }
    let (mut tp, mut fp, mut area) = (0usize, 0usize, 0.0);
    for group in groups_by_score(scores) {
        let gp = group.iter().filter(|&&i| truth[i]).count();
        let gn = group.len() - gp;
        // trapezoid between (fp, tp) and (fp + gn, tp + gp)
        area += gn as f64 * (tp as f64 + gp as f64 / 2.0);
        tp += gp;
        fp += gn;
    }
    debug_assert_eq!((tp, fp), (positives, negatives));
    Some(area / (positives as f64 * negatives as f64))
}

/// Average precision: `Σ (Rₙ − Rₙ₋₁) Pₙ` over distinct thresholds, highest first; `None` when
/// `truth` has no positive instance.
pub fn average_precision(truth: &[bool], scores: &[f64]) -> Option<f64> {
    let positives = truth.iter().filter(|t| **t).count();
    if positives == 0 || truth.len() != scores.len() {
        return None;
    }
    let (mut tp, mut seen, mut ap, mut recall) = (0usize, 0usize, 0.0, 0.0);
    for group in groups_by_score(scores) {
        tp += group.iter().filter(|&&i| truth[i]).count();
        seen += group.len();
        let next_recall = tp as f64 / positives as f64;
        ap += (next_recall - recall) * (tp as f64 / seen as f64);
        recall = next_recall;
    }
    Some(ap)
}

/// The mean of the defined values (`None` when none is defined).
pub fn macro_mean(values: &[Option<f64>]) -> Option<f64> {
    let defined: Vec<f64> = values.iter().flatten().copied().collect();
    (!defined.is_empty()).then(|| defined.iter().sum::<f64>() / defined.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_reversed_and_undefined_rankings() {
        let truth = [true, false, true, false];
        assert_eq!(roc_auc(&truth, &[0.9, 0.1, 0.8, 0.2]), Some(1.0));
        assert_eq!(roc_auc(&truth, &[0.1, 0.9, 0.2, 0.8]), Some(0.0));
        assert_eq!(roc_auc(&truth, &[0.5; 4]), Some(0.5));
        assert_eq!(average_precision(&truth, &[0.9, 0.1, 0.8, 0.2]), Some(1.0));
        assert_eq!(roc_auc(&[true, true], &[0.1, 0.2]), None);
        assert_eq!(average_precision(&[false, false], &[0.1, 0.2]), None);
        assert_eq!(macro_mean(&[Some(1.0), None, Some(0.5)]), Some(0.75));
        assert_eq!(macro_mean(&[None]), None);
    }
}
