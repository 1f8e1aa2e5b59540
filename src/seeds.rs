//! Seeds by purpose. Every random choice of a unit of work draws from its own stream, derived
//! from the run's seed, the instance, the repeat and the purpose, so that no two purposes share
//! random bits: the sampler's masks, the tie-break of the fidelity order, the faithfulness
//! subsets, the random explainer's weights and the robustness perturbations are independent,
//! and changing one (a new sampler, say) leaves the others exactly as they were.

use crate::fingerprint::fnv1a;

/// What a seed is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// The neighbourhood's masks.
    Sampler,
    /// The permutation that breaks ties (zeros included) in the fidelity order of one
    /// (instance, repeat), shared by every explainer.
    FidelityOrder,
    /// The random subsets of the faithfulness correlation.
    Faithfulness,
    /// The weights of the `random` explainer.
    RandomExplainer,
    /// The noise or the deleted word of the robustness metrics.
    Robustness,
    /// The permutation that breaks ties in top-k, ground-truth and robustness rankings of one
    /// instance (the same for every repeat, so that ties do not lower stability).
    Ties,
}

impl Purpose {
    fn tag(self) -> &'static [u8] {
        match self {
            Purpose::Sampler => b"sampler",
            Purpose::FidelityOrder => b"fidelity-order",
            Purpose::Faithfulness => b"faithfulness",
            Purpose::RandomExplainer => b"random-explainer",
            Purpose::Robustness => b"robustness",
            Purpose::Ties => b"ties",
        }
    }
}

/// The seed for `purpose` derived from `base`: FNV-1a 64 of `base` (little-endian), a 0xfe
/// separator and the purpose's name.
pub(crate) fn sub_seed(base: u64, purpose: Purpose) -> u64 {
    fnv1a(
        base.to_le_bytes()
            .into_iter()
            .chain([0xfe])
            .chain(purpose.tag().iter().copied()),
    )
}

/// Every seed one unit of work (an explainer explaining one instance in one repeat) uses.
/// Explainers and grid cells of one instance and repeat share them: a paired design.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnitSeeds {
    /// The unit's seed (stored with its record), from which the per-repeat purposes derive.
    pub unit: u64,
    /// The sampler's seed.
    pub sampler: u64,
    /// The tie-break permutation of the fidelity order (per instance and repeat).
    pub fidelity_order: u64,
    /// The faithfulness subsets.
    pub faithfulness: u64,
    /// The robustness perturbations.
    pub robustness: u64,
    /// The tie-break of top-k, ground-truth and robustness rankings (per instance: equal for
    /// every repeat).
    pub ties: u64,
}

impl UnitSeeds {
    /// The seeds of the unit whose seed is `unit`, of an instance whose repeat-independent
    /// seed is `instance`.
    pub fn new(unit: u64, instance: u64) -> Self {
        UnitSeeds {
            unit,
            sampler: sub_seed(unit, Purpose::Sampler),
            fidelity_order: sub_seed(unit, Purpose::FidelityOrder),
            faithfulness: sub_seed(unit, Purpose::Faithfulness),
            robustness: sub_seed(unit, Purpose::Robustness),
            ties: sub_seed(instance, Purpose::Ties),
        }
    }
}

/// Ranks of a seeded random permutation keyed by name: `tie_rank(seed, a) < tie_rank(seed, b)`
/// orders two names the same way in every explanation of an instance, whatever features each
/// explanation has (FNV-1a 64 of the seed and the name).
pub fn tie_rank(seed: u64, name: &str) -> u64 {
    fnv1a(
        seed.to_le_bytes()
            .into_iter()
            .chain([0xfd])
            .chain(name.bytes()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_get_different_streams_and_the_ties_seed_ignores_the_repeat() {
        let a = UnitSeeds::new(11, 5);
        let b = UnitSeeds::new(12, 5);
        let all = [
            a.sampler,
            a.fidelity_order,
            a.faithfulness,
            a.robustness,
            a.ties,
        ];
        for i in 0..all.len() {
            for j in i + 1..all.len() {
                assert_ne!(all[i], all[j]);
            }
        }
        assert_ne!(a.sampler, b.sampler);
        assert_ne!(a.fidelity_order, b.fidelity_order);
        assert_eq!(a.ties, b.ties);
        assert_ne!(
            sub_seed(1, Purpose::Sampler),
            sub_seed(1, Purpose::RandomExplainer)
        );
        assert_ne!(tie_rank(1, "drums0"), tie_rank(2, "drums0"));
    }
}
