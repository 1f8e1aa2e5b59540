//! Enough samples, not a guess (`num_samples: auto`): LIME's neighbourhood is drawn in rounds
//! and the surrogate refitted after each, until every explained label is settled, or the
//! ceiling is reached. A label is settled when its posterior says its top-k features are stable
//! (the top k of a posterior draw with probability `stability`), or when each of its top-k
//! weights is known to within `relative_width` of its largest |weight|: features whose weights
//! are truly tied (e.g. many near zero) keep the top-k set uncertain at any sample size, and
//! the width target stops sampling once more rows would only narrow intervals that are already
//! small against the explanation's scale.
//!
//! Every round extends the same neighbourhood: the masks are the first rows of the ceiling's
//! masks (the samplers draw row by row from one seeded stream), and rows already predicted are
//! never predicted again, so an `auto` run that stops at `N` rows has exactly the masks,
//! predictions and explanation of a fixed `num_samples: N` run with the same seed. Round ends
//! fall on multiples of the batch size, so that the model sees the same batches too.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::explanation::Explanation;

/// When an adaptive explanation stops drawing samples. The ceiling is the sampler's
/// `num_samples`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdaptiveSampling {
    /// Rows added per round, the first round included (rounded up to a multiple of the batch
    /// size).
    pub round: usize,
    /// A label is settled when its top-k features (`stability_k` of the surrogate) are the
    /// top-k of a posterior draw with at least this probability, in (0, 1] ...
    pub stability: f64,
    /// ... or when each of its top-k weights' 95% credible half-width is at most this fraction
    /// of its largest |weight| (`None`: the stability target only).
    pub relative_width: Option<f64>,
    /// When given, every top-k half-width must also be at most this (absolute).
    pub half_width: Option<f64>,
}

impl Default for AdaptiveSampling {
    fn default() -> Self {
        AdaptiveSampling {
            round: 250,
            stability: 0.95,
            relative_width: Some(0.1),
            half_width: None,
        }
    }
}

/// The most rows an adaptive explanation draws unless told otherwise: the paper's count.
pub const DEFAULT_CEILING: usize = 5000;

/// A neighbourhood size as configs and flags give it: a number of rows, or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumSamples {
    /// Exactly this many rows (row 0 included).
    Fixed(usize),
    /// Rounds until the explanation is stable ([`AdaptiveSampling`]).
    Auto,
}

impl NumSamples {
    /// The stopping `rule` when this is `auto`; `None` for a fixed count.
    pub fn adaptive(self, rule: AdaptiveSampling) -> Option<AdaptiveSampling> {
        match self {
            NumSamples::Fixed(_) => None,
            NumSamples::Auto => Some(rule),
        }
    }

    /// The rows drawn at most: the fixed count, or `ceiling` for `auto`.
    pub fn ceiling(self, ceiling: usize) -> usize {
        match self {
            NumSamples::Fixed(n) => n,
            NumSamples::Auto => ceiling,
        }
    }
}

impl std::fmt::Display for NumSamples {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NumSamples::Fixed(n) => write!(f, "{n}"),
            NumSamples::Auto => f.write_str("auto"),
        }
    }
}

impl std::str::FromStr for NumSamples {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        match text {
            "auto" => Ok(NumSamples::Auto),
            number => number
                .parse()
                .map(NumSamples::Fixed)
                .map_err(|_| format!("`{number}` is neither a number of samples nor `auto`")),
        }
    }
}

impl Serialize for NumSamples {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        match self {
            NumSamples::Fixed(n) => serializer.serialize_u64(*n as u64),
            NumSamples::Auto => serializer.serialize_str("auto"),
        }
    }
}

impl<'de> Deserialize<'de> for NumSamples {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = NumSamples;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number of samples or `auto`")
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> std::result::Result<NumSamples, E> {
                usize::try_from(n)
                    .map(NumSamples::Fixed)
                    .map_err(|_| E::custom(format!("{n} samples is too many")))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> std::result::Result<NumSamples, E> {
                match u64::try_from(n) {
                    Ok(n) => self.visit_u64(n),
                    Err(_) => Err(E::custom(format!(
                        "{n} is negative; give a number of samples or `auto`"
                    ))),
                }
            }
            fn visit_str<E: serde::de::Error>(
                self,
                text: &str,
            ) -> std::result::Result<NumSamples, E> {
                text.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl AdaptiveSampling {
    /// The targets and the round on their own, against the `ceiling` (errors name the key).
    pub fn check(&self, ceiling: usize, posterior_draws: usize) -> Result<()> {
        if self.round < 3 {
            return Err(Error::param(
                "auto_round",
                format!("is {}; a round needs at least 3 rows", self.round),
            ));
        }
        if ceiling < self.round {
            return Err(Error::param(
                "max_samples",
                format!(
                    "is {ceiling}, below the first round of {} rows; raise max_samples or lower auto_round",
                    self.round
                ),
            ));
        }
        if !(self.stability > 0.0 && self.stability <= 1.0) {
            return Err(Error::param(
                "auto_stability",
                format!(
                    "is {}; it is a probability in (0, 1], e.g. 0.95",
                    self.stability
                ),
            ));
        }
        if posterior_draws == 0 {
            return Err(Error::param(
                "posterior_draws",
                "is 0, but num_samples: auto stops on the top-k stability probability, which needs posterior draws",
            ));
        }
        if let Some(r) = self.relative_width {
            if !(r.is_finite() && r > 0.0) {
                return Err(Error::param(
                    "auto_relative_width",
                    format!("is {r}; give a positive fraction of the largest |weight| (e.g. 0.1), or null for the stability target only"),
                ));
            }
        }
        match self.half_width {
            Some(h) if !(h.is_finite() && h > 0.0) => Err(Error::param(
                "auto_half_width",
                format!("is {h}; give a positive weight half-width (e.g. 0.01) or leave it out"),
            )),
            _ => Ok(()),
        }
    }

    /// The row counts after each round: multiples of the round (itself rounded up to a
    /// multiple of `batch_size`), the last one the `ceiling`.
    pub fn round_ends(&self, ceiling: usize, batch_size: usize) -> Vec<usize> {
        let batch = batch_size.max(1);
        let step = self.round.div_ceil(batch) * batch;
        let mut ends: Vec<usize> = (1..)
            .map(|r| r * step)
            .take_while(|&n| n < ceiling)
            .collect();
        ends.push(ceiling);
        ends
    }

    /// Whether `explanation` meets the targets: every label has a posterior and is settled
    /// (stable top-k, or top-k half-widths within `relative_width` of its largest |weight|),
    /// and, when asked, its top-k half-widths are at most `half_width`.
    pub fn is_met(&self, explanation: &Explanation) -> bool {
        explanation.labels.iter().all(|label| {
            let Some(u) = &label.fit.uncertainty else {
                return false;
            };
            let top = &u.half_widths[..u.k.min(u.half_widths.len())];
            // With at most k weights the top-k set is trivially stable: only widths settle it.
            let trivial = label.fit.weights.len() <= u.k;
            let stable = !trivial && u.top_k_stable.is_some_and(|p| p >= self.stability);
            let scale = label
                .fit
                .weights
                .iter()
                .map(|(_, w)| w.abs())
                .fold(0.0, f64::max);
            let narrow = self
                .relative_width
                .is_some_and(|r| scale > 0.0 && top.iter().all(|h| *h <= r * scale));
            let within = self.half_width.is_none_or(|h| top.iter().all(|w| *w <= h));
            (stable || narrow) && within
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_end_on_batch_multiples_and_at_the_ceiling() {
        let auto = AdaptiveSampling::default();
        assert_eq!(auto.round_ends(1000, 50), vec![250, 500, 750, 1000]);
        assert_eq!(auto.round_ends(1000, 64), vec![256, 512, 768, 1000]);
        assert_eq!(auto.round_ends(300, 64), vec![256, 300]);
        assert_eq!(auto.round_ends(256, 64), vec![256]);
    }

    #[test]
    fn bad_targets_name_their_key() {
        let auto = AdaptiveSampling::default();
        let error = |a: AdaptiveSampling, ceiling: usize, draws: usize| {
            a.check(ceiling, draws).unwrap_err().to_string()
        };
        assert!(error(auto.clone(), 100, 1000).contains("max_samples"));
        let bad = AdaptiveSampling {
            stability: 1.5,
            ..AdaptiveSampling::default()
        };
        assert!(error(bad, 5000, 1000).contains("auto_stability"));
        let bad = AdaptiveSampling {
            half_width: Some(-1.0),
            ..AdaptiveSampling::default()
        };
        assert!(error(bad, 5000, 1000).contains("auto_half_width"));
        let bad = AdaptiveSampling {
            relative_width: Some(0.0),
            ..AdaptiveSampling::default()
        };
        assert!(error(bad, 5000, 1000).contains("auto_relative_width"));
        assert!(error(auto.clone(), 5000, 0).contains("posterior_draws"));
        let bad = AdaptiveSampling {
            round: 1,
            ..AdaptiveSampling::default()
        };
        assert!(error(bad, 5000, 1000).contains("auto_round"));
        assert!(auto.check(5000, 1000).is_ok());
    }
}
