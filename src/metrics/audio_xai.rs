//! Faithfulness and shape metrics of audio-classifier explanations, as the L-MAC paper reports
//! them (Paissan, Ravanelli & Subakan, "Listenable Maps for Audio Classifiers", ICML 2024) and
//! speechbrain's ESC-50 interpretability recipe computes them.
//!
//! Pure formulas on plain slices: nothing here queries a model. The caller runs the classifier
//! and passes, per instance, the class probabilities on the original input `p = f(x)`, on the
//! masked-in input `p_in = f(x ⊙ m)` and on the masked-out input `p_out = f(x ⊙ (1 − m))`.
//! The class watched is the **original prediction** `c = argmax p` ([`predicted_class`], first
//! index on ties), not the label.
//!
//! Two families:
//! - **L-MAC faithfulness** ([`average_increase`], [`average_drop`], [`average_gain`],
//!   [`faithfulness_on_spectra`], [`input_fidelity`]; all at once: [`lmac_scores`]), per
//!   instance, transcribed from `recipes/ESC50/interpret/interpreter_brain.py`
//!   (`InterpreterBrain.on_stage_start`, speechbrain commit `9c826ef3`), with the arguments
//!   `train_lmac.py` passes. AD and AG come in two [`Definition`]s: as speechbrain implements
//!   them and as usually published. Aggregation is the plain mean over all instances
//!   ([`mean_over_instances`], [`LmacScores::mean`]); batches play no part.
//! - **Quantus Sparseness and Complexity** ([`sparseness_batch`], [`complexity_batch`]; one
//!   vector: [`sparseness`], [`complexity`]), exactly as Quantus 0.5.3 computes them with the
//!   recipe's arguments (`abs=True`, `normalise=True`, `normalise_by_max`): the whole batch is
//!   divided by its largest `|a|`, so a row's sparseness depends on the other rows.
//!
//! Reference numbers: `tests/fixtures/audio_xai_metrics/` (Quantus 0.5.3 itself, and a NumPy
//! transcription of the recipe); `tests/audio_xai_parity.rs` compares against them.

/// The epsilon of speechbrain's AD and AG denominators (`interpreter_brain.py`, module level
/// `eps = 1e-10`).
pub const LMAC_EPS: f64 = 1e-10;

/// What Quantus' Sparseness adds to every normalised attribution before the Gini index
/// (`sparseness.py`: `a += 0.0000001`).
pub(crate) const SPARSENESS_EPS: f64 = 1e-7;

// ---------------------------------------------------------------------------------------------
// L-MAC faithfulness metrics
// ---------------------------------------------------------------------------------------------

/// Which formula of Average Drop / Average Gain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Definition {
    /// As speechbrain's ESC-50 recipe implements it (the numbers the L-MAC paper reports): AD
    /// applies a second softmax to the probability vectors, and both carry `+ 1e-10` in the
    /// denominator.
    Speechbrain,
    /// As usually written (AD: Chattopadhyay et al. 2018, Grad-CAM++; AG: Zhang et al. 2023,
    /// Opti-CAM): on the probabilities, no epsilon.
    Published,
}

/// The predicted class `argmax p`: the first index of the largest entry (as `torch.argmax`
/// and `np.argmax`; a NaN counts as the largest, as there).
///
/// # Panics
/// If `p` is empty.
pub fn predicted_class(p: &[f64]) -> usize {
    assert!(!p.is_empty(), "predicted_class: empty probability vector");
    let mut best = 0;
    for (i, &v) in p.iter().enumerate() {
        if v.is_nan() {
            return i;
        }
        if v > p[best] {
            best = i;
        }
    }
    best
}

fn check_lengths(what: &str, p: &[f64], q: &[f64]) {
    assert!(
        p.len() == q.len(),
        "{what}: the probability vectors differ in length ({} vs {})",
        p.len(),
        q.len()
    );
}

/// Numerically stable softmax (`exp(v − max v) / Σ`), as `torch.softmax`.
fn softmax(v: &[f64]) -> Vec<f64> {
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = v.iter().map(|x| (x - max).exp()).collect();
    let total: f64 = e.iter().sum();
    e.into_iter().map(|x| x / total).collect()
}

/// **Average Increase, AI** (higher is better; per instance 0 or 100, mean in [0, 100],
/// percent): `100 · 1[p_c < p_in_c]`, `c = argmax p`. Strict: an unchanged probability is not
/// an increase. Source: speechbrain `interpreter_brain.py` `compute_AI`
/// (`(pc < oc).float() * 100`); Chattopadhyay et al. (2018), "Grad-CAM++" (as "Increase in
/// Confidence").
///
/// # Panics
/// If `p` is empty or the lengths differ.
pub fn average_increase(p: &[f64], p_in: &[f64]) -> f64 {
    check_lengths("average_increase", p, p_in);
    let c = predicted_class(p);
    if p[c] < p_in[c] {
        100.0
    } else {
        0.0
    }
}

/// **Average Drop, AD** (lower is better; [0, 100], percent), `c = argmax p`:
/// - [`Definition::Speechbrain`]: `100 · max(0, s(p)_c − s(p_in)_c) / (s(p)_c + 1e-10)` with
///   `s = softmax` applied **again** to the probability vectors. speechbrain's `compute_AD`
///   starts with `F.softmax` on both arguments, and `train_lmac.py` already passes
///   probabilities; the second softmax pulls every entry towards `1/K`, so this AD is smaller
///   than the published one and can be positive when `p_in_c = p_c` (the other entries moved).
/// - [`Definition::Published`]: `100 · max(0, p_c − p_in_c) / p_c` (Chattopadhyay et al.
///   2018, Grad-CAM++).
///
/// # Panics
/// If `p` is empty or the lengths differ.
pub fn average_drop(p: &[f64], p_in: &[f64], definition: Definition) -> f64 {
    check_lengths("average_drop", p, p_in);
    let c = predicted_class(p);
    match definition {
        Definition::Speechbrain => {
            let (sp, so) = (softmax(p), softmax(p_in));
            0f64.max(sp[c] - so[c]) / (sp[c] + LMAC_EPS) * 100.0
        }
        Definition::Published => 0f64.max(p[c] - p_in[c]) / p[c] * 100.0,
    }
}

/// **Average Gain, AG** (higher is better; [0, 100], percent), `c = argmax p`:
/// - [`Definition::Speechbrain`]: `100 · max(0, p_in_c − p_c) / (1 − p_c + 1e-10)` (no second
///   softmax here). At `p_c = 1` the numerator is 0, so AG = 0; just below 1 the epsilon
///   dominates (`p_c = 1 − 1e-12`, `p_in_c = 1`: AG ≈ 0.99, not 100). Source: speechbrain
///   `compute_AG`.
/// - [`Definition::Published`]: `100 · max(0, p_in_c − p_c) / (1 − p_c)` (Zhang et al. 2023,
///   Opti-CAM); **NaN** (undefined, 0/0) when `p_c = 1`.
///
/// # Panics
/// If `p` is empty or the lengths differ.
pub fn average_gain(p: &[f64], p_in: &[f64], definition: Definition) -> f64 {
    check_lengths("average_gain", p, p_in);
    let c = predicted_class(p);
    let gain = 0f64.max(p_in[c] - p[c]);
    match definition {
        Definition::Speechbrain => gain / (1.0 - p[c] + LMAC_EPS) * 100.0,
        Definition::Published if p[c] == 1.0 => f64::NAN,
        Definition::Published => gain / (1.0 - p[c]) * 100.0,
    }
}

/// **Faithfulness on spectra, FF** (higher is better; [−1, 1], probability, not percent):
/// `p_c − p_out_c`, `c = argmax p`: how much the prediction falls when the explanation's mask
/// is taken out (`x ⊙ (1 − m)`). Negative when removing the masked part raises the
/// probability. Source: speechbrain `compute_faithfulness`; reported as `faithfulness_mean`.
///
/// # Panics
/// If `p` is empty or the lengths differ.
pub fn faithfulness_on_spectra(p: &[f64], p_out: &[f64]) -> f64 {
    check_lengths("faithfulness_on_spectra", p, p_out);
    let c = predicted_class(p);
    p[c] - p_out[c]
}

/// **Input fidelity, Fid-In** (higher is better; per instance 0 or 1, mean in [0, 1], a
/// fraction, not percent): `1[argmax p_in = argmax p]`, whether the masked-in input keeps the
/// prediction. Source: speechbrain `compute_fidelity` (`topk(p_in, 1)` against `argmax p`).
/// A tie for the maximum of `p_in` takes its first index here; torch's `topk` leaves that
/// unspecified.
///
/// # Panics
/// If `p` is empty or the lengths differ.
pub fn input_fidelity(p: &[f64], p_in: &[f64]) -> f64 {
    check_lengths("input_fidelity", p, p_in);
    if predicted_class(p_in) == predicted_class(p) {
        1.0
    } else {
        0.0
    }
}

/// The L-MAC metrics of one instance (or their means, [`LmacScores::mean`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LmacScores {
    /// [`average_increase`], percent, ↑.
    pub average_increase: f64,
    /// [`average_drop`] with [`Definition::Speechbrain`], percent, ↓.
    pub average_drop: f64,
    /// [`average_drop`] with [`Definition::Published`], percent, ↓.
    pub average_drop_published: f64,
    /// [`average_gain`] with [`Definition::Speechbrain`], percent, ↑.
    pub average_gain: f64,
    /// [`average_gain`] with [`Definition::Published`], percent, ↑; NaN when `p_c = 1`.
    pub average_gain_published: f64,
    /// [`faithfulness_on_spectra`], probability, ↑.
    pub faithfulness_on_spectra: f64,
    /// [`input_fidelity`], 0/1, ↑.
    pub input_fidelity: f64,
}

/// Every L-MAC metric of one instance from `p = f(x)`, `p_in = f(x ⊙ m)` and
/// `p_out = f(x ⊙ (1 − m))`.
///
/// # Panics
/// If `p` is empty or the lengths differ.
pub fn lmac_scores(p: &[f64], p_in: &[f64], p_out: &[f64]) -> LmacScores {
    LmacScores {
        average_increase: average_increase(p, p_in),
        average_drop: average_drop(p, p_in, Definition::Speechbrain),
        average_drop_published: average_drop(p, p_in, Definition::Published),
        average_gain: average_gain(p, p_in, Definition::Speechbrain),
        average_gain_published: average_gain(p, p_in, Definition::Published),
        faithfulness_on_spectra: faithfulness_on_spectra(p, p_out),
        input_fidelity: input_fidelity(p, p_in),
    }
}

impl LmacScores {
    /// Each field's [`mean_over_instances`] (undefined, NaN, instances skipped per field).
    pub fn mean(scores: &[LmacScores]) -> LmacScores {
        let field = |f: fn(&LmacScores) -> f64| {
            mean_over_instances(&scores.iter().map(f).collect::<Vec<_>>())
        };
        LmacScores {
            average_increase: field(|s| s.average_increase),
            average_drop: field(|s| s.average_drop),
            average_drop_published: field(|s| s.average_drop_published),
            average_gain: field(|s| s.average_gain),
            average_gain_published: field(|s| s.average_gain_published),
            faithfulness_on_spectra: field(|s| s.faithfulness_on_spectra),
            input_fidelity: field(|s| s.input_fidelity),
        }
    }
}

/// How the L-MAC recipe aggregates a per-instance metric: the plain mean over **all instances**
/// of the evaluation set (speechbrain `on_stage_end`: `torch.Tensor(scores).mean()`), not a mean
/// of batch means. NaN values (undefined instances, such as the published AG at `p_c = 1`) are
/// skipped, as the fixture's reference does; NaN when nothing is left.
pub fn mean_over_instances(values: &[f64]) -> f64 {
    let defined: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if defined.is_empty() {
        return f64::NAN;
    }
    defined.iter().sum::<f64>() / defined.len() as f64
}

// ---------------------------------------------------------------------------------------------
// Quantus Sparseness and Complexity
// ---------------------------------------------------------------------------------------------

/// Why Quantus refuses a batch of attributions (`quantus/helpers/asserts.py::assert_attributions`,
/// checked on the raw batch in this order), and batches it cannot form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttributionError {
    /// Every value of the batch is 0 (also an empty batch or empty rows, as `np.all` of
    /// nothing is true).
    #[error(
        "the attributions are all zero (Quantus refuses such a batch: \"The elements in the \
         attribution vector are all equal to zero\"); recompute the explanations"
    )]
    AllZero,
    /// Every value of the batch is 1.
    #[error(
        "the attributions are all one (Quantus refuses such a batch: \"The elements in the \
         attribution vector are all equal to one\"); recompute the explanations"
    )]
    AllOne,
    /// Every value of the batch is the same.
    #[error(
        "the attributions all have the same value (Quantus refuses such a batch: \"The \
         attributions are uniformly distributed\"); recompute the explanations"
    )]
    Uniform,
    /// Every value of the batch is negative.
    #[error(
        "the attributions are all negative (Quantus refuses such a batch: \"Attributions \
         should not all be less than zero.\")"
    )]
    AllNegative,
    /// Rows of different lengths (Quantus needs one array shape).
    #[error("attribution row {row} has {len} values, row 0 has {expected}")]
    Ragged {
        /// The first row whose length differs.
        row: usize,
        /// Its length.
        len: usize,
        /// The length of row 0.
        expected: usize,
    },
}

impl From<AttributionError> for crate::error::Error {
    fn from(e: AttributionError) -> Self {
        crate::error::Error::input("attributions", e.to_string())
    }
}

/// Quantus' checks on the raw batch (`assert_attributions`, same order), after the shape.
fn check_attributions<R: AsRef<[f64]>>(batch: &[R]) -> Result<(), AttributionError> {
    if let Some(first) = batch.first() {
        let expected = first.as_ref().len();
        if let Some((row, r)) = batch
            .iter()
            .enumerate()
            .find(|(_, r)| r.as_ref().len() != expected)
        {
            return Err(AttributionError::Ragged {
                row,
                len: r.as_ref().len(),
                expected,
            });
        }
    }
    let values = || batch.iter().flat_map(|r| r.as_ref().iter().copied());
    if values().all(|v| v == 0.0) {
        return Err(AttributionError::AllZero);
    }
    if values().all(|v| v == 1.0) {
        return Err(AttributionError::AllOne);
    }
    // `len(set(a.tolist())) > 1`: one distinct value (0.0 and -0.0 are one; NaNs never equal).
    let first = values().next().unwrap_or(0.0);
    if values().all(|v| v == first) {
        return Err(AttributionError::Uniform);
    }
    if values().all(|v| v < 0.0) {
        return Err(AttributionError::AllNegative);
    }
    Ok(())
}

/// Quantus' preprocessing with the recipe's defaults (`base.py::general_preprocess`,
/// `normalise_by_max`): unless the batch is all zero, divide **every row by the largest `|a|`
/// of the whole batch**; then take `|a|`. No checks: [`sparseness_batch`] and
/// [`complexity_batch`] refuse what Quantus refuses first.
pub fn normalise_by_batch_max<R: AsRef<[f64]>>(batch: &[R]) -> Vec<Vec<f64>> {
    let max = batch
        .iter()
        .flat_map(|r| r.as_ref().iter())
        .fold(0.0f64, |m, v| m.max(v.abs()));
    batch
        .iter()
        .map(|r| {
            r.as_ref()
                .iter()
                .map(|&v| if max == 0.0 { v.abs() } else { (v / max).abs() })
                .collect()
        })
        .collect()
}

/// The Gini index of one preprocessed (non-negative) row as Quantus' Sparseness computes it:
/// `v = sort(a + 1e-7)` ascending, `G = Σ_{k=1..n} (2k − n − 1)·v_k / (n · Σ v)`. Summed here
/// in the equivalent form `Σ_{k ≤ n/2} (n + 1 − 2k)·(v_{n+1−k} − v_k)`, whose terms are all
/// non-negative (no cancellation; exactly 0 for equal values). 0 for an all-zero row; NaN for
/// an empty one.
pub fn gini_index(row: &[f64]) -> f64 {
    let mut v: Vec<f64> = row.iter().map(|a| a + SPARSENESS_EPS).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let numerator: f64 = (0..n / 2)
        .map(|i| (n - 1 - 2 * i) as f64 * (v[n - 1 - i] - v[i]))
        .sum();
    numerator / (n as f64 * v.iter().sum::<f64>())
}

/// The Shannon entropy (natural log) of one row as Quantus' Complexity computes it:
/// `q = |a| / Σ|a|`, then `scipy.stats.entropy(q)` (which renormalises `q` and takes
/// `0 · ln 0 = 0`): `−Σ q·ln q`. NaN for an all-zero or empty row (0/0).
pub fn entropy(row: &[f64]) -> f64 {
    let total: f64 = row.iter().map(|a| a.abs()).sum();
    let q: Vec<f64> = row.iter().map(|a| a.abs() / total).collect();
    let renormalised: f64 = q.iter().sum();
    let h: f64 = q
        .iter()
        .map(|x| x / renormalised)
        .filter(|x| *x > 0.0)
        .map(|x| -x * x.ln())
        .sum();
    if total == 0.0 || row.is_empty() {
        f64::NAN
    } else {
        // `+ 0.0` turns the -0.0 of a one-hot row into 0.0.
        h + 0.0
    }
}

/// **Sparseness, SPS** (higher is better: sparser; [0, 1), unitless), one value per row of a
/// batch of attribution maps (each flattened, all of one length): the Gini index
/// ([`gini_index`]) of the row after [`normalise_by_batch_max`], as Quantus 0.5.3
/// `Sparseness(abs=True, normalise=True)` computes it, the metric L-MAC reports. Source: Chalasani
/// et al. (2020), "Concise explanations of neural networks using adversarial training";
/// `quantus/metrics/complexity/sparseness.py`.
///
/// Not scale-invariant: the `+1e-7` comes after the batch-max division, so a row much smaller
/// than another row of its batch scores near 0; a batch of one is rescaled to max 1 and the
/// epsilon shifts it by about 1e-7 (one-hot of length 10: 0.8999991, not 0.9). An all-zero row
/// inside a batch scores 0. The recipe reports the mean of the rows ([`quantus_mean`]).
///
/// # Errors
/// What Quantus refuses, checked on the whole batch: all zero (also empty), all one, all of
/// one value, all negative; rows of different lengths.
pub fn sparseness_batch<R: AsRef<[f64]>>(batch: &[R]) -> Result<Vec<f64>, AttributionError> {
    check_attributions(batch)?;
    Ok(normalise_by_batch_max(batch)
        .iter()
        .map(|r| gini_index(r))
        .collect())
}

/// **Complexity, COMP** (lower is better; [0, ln n], nats), one value per row of a batch of
/// attribution maps (each flattened, all of one length): the entropy ([`entropy`]) of the row's
/// `|a|` share, as Quantus 0.5.3 `Complexity(abs=True, normalise=True)` computes it, the metric
/// L-MAC reports. 0 for a one-hot row, `ln n` for a constant one; scale-invariant, so the
/// batch normalisation does not change it. **NaN for an all-zero row** inside an accepted
/// batch (0/0, as Quantus). Source: Bhatt, Weller & Moura (2020), "Evaluating and aggregating
/// feature-based model explanations"; `quantus/metrics/complexity/complexity.py`. (Quantus
/// 0.6.0, not the pinned version, computes `−Σ q·ln(q + 1e-12)`, about n·1e-12 away.)
///
/// # Errors
/// As [`sparseness_batch`].
pub fn complexity_batch<R: AsRef<[f64]>>(batch: &[R]) -> Result<Vec<f64>, AttributionError> {
    check_attributions(batch)?;
    Ok(normalise_by_batch_max(batch)
        .iter()
        .map(|r| entropy(r))
        .collect())
}

/// [`sparseness_batch`] of one attribution map alone (a batch of one).
///
/// # Errors
/// As [`sparseness_batch`].
pub fn sparseness(attributions: &[f64]) -> Result<f64, AttributionError> {
    Ok(sparseness_batch(&[attributions])?[0])
}

/// [`complexity_batch`] of one attribution map alone (a batch of one).
///
/// # Errors
/// As [`sparseness_batch`].
pub fn complexity(attributions: &[f64]) -> Result<f64, AttributionError> {
    Ok(complexity_batch(&[attributions])?[0])
}

/// Quantus' `return_aggregate=True` (`np.mean` of the per-row scores): the plain mean, **NaN
/// if any row is NaN** (an all-zero row's complexity). speechbrain's recipe then averages these
/// batch means over batches (unweighted) and drops NaN COMP batches.
pub fn quantus_mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_hot_sparseness_is_one_minus_one_over_n_shifted_by_the_epsilon() {
        for n in [2usize, 3, 10, 100] {
            let mut a = vec![0.0; n];
            a[n / 2] = 3.5;
            // v = (ε, …, ε, 1 + ε): Σ(2k − n − 1)v_k = n − 1, Σv = 1 + nε.
            let expected = (1.0 - 1.0 / n as f64) / (1.0 + n as f64 * SPARSENESS_EPS);
            let got = sparseness(&a).unwrap();
            assert!(
                (got - expected).abs() < 1e-15,
                "n = {n}: {got} vs {expected}"
            );
            assert_eq!(complexity(&a).unwrap(), 0.0);
            assert!(complexity(&a).unwrap().is_sign_positive());
        }
    }

    #[test]
    fn equal_values_have_zero_gini_and_log_n_entropy() {
        for n in [2usize, 7, 64] {
            let row = vec![0.25; n];
            assert_eq!(gini_index(&row), 0.0);
            assert!((entropy(&row) - (n as f64).ln()).abs() < 1e-14);
        }
        // Inside a batch a constant row is accepted; alone it is refused.
        let batch = [vec![0.3; 8], (1..=8).map(f64::from).collect()];
        assert_eq!(sparseness_batch(&batch).unwrap()[0], 0.0);
        assert!((complexity_batch(&batch).unwrap()[0] - 8f64.ln()).abs() < 1e-14);
        assert_eq!(sparseness(&[0.3; 8]), Err(AttributionError::Uniform));
    }

    #[test]
    fn quantus_refusals_in_order() {
        assert_eq!(sparseness(&[0.0; 5]), Err(AttributionError::AllZero));
        assert_eq!(complexity(&[1.0; 5]), Err(AttributionError::AllOne));
        assert_eq!(complexity(&[-0.2; 3]), Err(AttributionError::Uniform));
        assert_eq!(
            sparseness(&[-0.1, -0.4]),
            Err(AttributionError::AllNegative)
        );
        assert_eq!(sparseness(&[]), Err(AttributionError::AllZero));
        let empty: [Vec<f64>; 0] = [];
        assert_eq!(complexity_batch(&empty), Err(AttributionError::AllZero));
        assert_eq!(
            sparseness_batch(&[vec![1.0, 0.0], vec![0.5]]),
            Err(AttributionError::Ragged {
                row: 1,
                len: 1,
                expected: 2
            })
        );
        // An all-zero row inside a mixed batch is scored: Gini 0, entropy NaN.
        let batch = [vec![0.0, 0.0, 0.0], vec![0.1, 0.5, 0.2]];
        assert_eq!(sparseness_batch(&batch).unwrap()[0], 0.0);
        let comp = complexity_batch(&batch).unwrap();
        assert!(comp[0].is_nan() && comp[1] > 0.0);
        assert!(quantus_mean(&comp).is_nan());
        let err: crate::error::Error = AttributionError::AllZero.into();
        assert!(err.to_string().contains("all zero"));
    }

    #[test]
    fn sparseness_depends_on_the_batch_and_complexity_does_not() {
        let small = vec![1e-9, 3e-9, 2e-9, 0.0];
        let large: Vec<f64> = small.iter().map(|v| v * 1e9).collect();
        let alone = sparseness(&small).unwrap();
        assert!((alone - sparseness(&large).unwrap()).abs() < 1e-12);
        let together = sparseness_batch(&[&small[..], &large[..]]).unwrap();
        assert!(together[0] < 0.1 * alone && (together[1] - alone).abs() < 1e-12);
        let comp = complexity_batch(&[&small[..], &large[..]]).unwrap();
        assert!((comp[0] - comp[1]).abs() < 1e-14);
        // Signs do not matter.
        let negated: Vec<f64> = small.iter().map(|v| -v).collect();
        let mixed = [vec![0.4, -0.9, 0.1], vec![-0.4, 0.9, -0.1]];
        let s = sparseness_batch(&mixed).unwrap();
        assert_eq!(s[0], s[1]);
        // All negative is refused; a -0.0 is not negative, so `-small` (with its zero) is not.
        assert!(complexity(&negated).is_ok());
        assert_eq!(
            complexity(&negated[..3]),
            Err(AttributionError::AllNegative)
        );
    }

    #[test]
    fn average_increase_is_strict() {
        let p = [0.6, 0.3, 0.1];
        assert_eq!(average_increase(&p, &[0.6, 0.1, 0.3]), 0.0);
        assert_eq!(average_increase(&p, &[0.6 + 1e-15, 0.1, 0.3]), 100.0);
        assert_eq!(average_increase(&p, &[0.5, 0.2, 0.3]), 0.0);
    }

    #[test]
    fn drop_gain_faithfulness_and_fidelity_on_known_cases() {
        let p = [0.5, 0.3, 0.2];
        // Drop to 0.25: half the confidence is lost.
        let p_in = [0.25, 0.5, 0.25];
        assert!((average_drop(&p, &p_in, Definition::Published) - 50.0).abs() < 1e-12);
        let sb = average_drop(&p, &p_in, Definition::Speechbrain);
        assert!(sb > 0.0 && sb < 50.0);
        assert_eq!(average_gain(&p, &p_in, Definition::Published), 0.0);
        assert_eq!(input_fidelity(&p, &p_in), 0.0);
        // Gain to 0.75: half of the headroom 1 − 0.5.
        let p_in = [0.75, 0.15, 0.1];
        assert!((average_gain(&p, &p_in, Definition::Published) - 50.0).abs() < 1e-12);
        assert!((average_gain(&p, &p_in, Definition::Speechbrain) - 50.0).abs() < 1e-7);
        assert_eq!(average_drop(&p, &p_in, Definition::Published), 0.0);
        assert_eq!(input_fidelity(&p, &p_in), 1.0);
        assert!((faithfulness_on_spectra(&p, &[0.1, 0.6, 0.3]) - 0.4).abs() < 1e-15);
        assert!(faithfulness_on_spectra(&p, &[0.7, 0.2, 0.1]) < 0.0);
        // p_c = 1: speechbrain's AG is 0, the published one undefined.
        let one = [1.0, 0.0, 0.0];
        assert_eq!(average_gain(&one, &one, Definition::Speechbrain), 0.0);
        assert!(average_gain(&one, &one, Definition::Published).is_nan());
        // Ties go to the first index.
        assert_eq!(predicted_class(&[0.4, 0.4, 0.2]), 0);
        assert_eq!(predicted_class(&[0.1, f64::NAN, 0.9]), 1);
    }

    #[test]
    fn means_are_over_instances_and_skip_undefined() {
        let a = lmac_scores(&[1.0, 0.0], &[0.9, 0.1], &[0.2, 0.8]);
        let b = lmac_scores(&[0.5, 0.5], &[0.75, 0.25], &[0.5, 0.5]);
        let m = LmacScores::mean(&[a, b]);
        assert!(a.average_gain_published.is_nan());
        assert_eq!(m.average_gain_published, b.average_gain_published);
        assert_eq!(m.average_increase, 50.0);
        assert_eq!(m.input_fidelity, 1.0);
        assert!((m.faithfulness_on_spectra - 0.4).abs() < 1e-15);
        assert!(mean_over_instances(&[f64::NAN]).is_nan());
        assert!(mean_over_instances(&[]).is_nan());
    }
}
