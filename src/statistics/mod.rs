//! Pure statistics for instance-level summaries and paired comparisons of explainers.
//!
//! Everything here is a deterministic function of its arguments: no randomness, no
//! allocation beyond what a result needs, no dependency outside `std`.
//!
//! * Summaries: [`mean`], [`sample_std`], [`mean_ci_95`] (Student t interval).
//! * Distributions: [`normal_sf`] (upper tail of the standard normal) and [`t_quantile_975`]
//!   (two-sided 95 % Student t quantile), computed from special functions implemented here
//!   (log-gamma, the regularized incomplete beta function by Lentz's continued fraction, the
//!   normal Mills ratio by continued fraction), not from tables.
//! * Paired comparisons: [`wilcoxon_signed_rank`] reproduces
//!   `scipy.stats.wilcoxon(x, y, zero_method=.., correction=False, alternative='two-sided',
//!   method=..)` of SciPy 1.17.1 (including the choice `method='auto'` makes), [`rank_biserial`]
//!   is the matched-pairs rank-biserial correlation, and [`paired_comparison`] bundles them
//!   with the paired mean difference and its 95 % t interval.
//! * Multiplicity: [`holm`] gives Holm–Bonferroni adjusted p-values as
//!   `statsmodels.stats.multitest.multipletests(p, method='holm')[1]` does.
//!
//! The reference numbers (SciPy 1.17.1, statsmodels 0.15.0) live in
//! `tests/fixtures/statistics/`; `tests/statistics_parity.rs` compares against every one.

mod comparison;
mod correlation;
mod descriptive;
pub(crate) mod draws;
mod special;
mod wilcoxon;

pub use comparison::*;
pub(crate) use correlation::*;
pub use descriptive::*;
pub use special::*;
pub use wilcoxon::*;

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs()
    }

    #[test]
    fn ln_gamma_matches_factorials_and_half_integers() {
        let mut factorial = 1.0_f64;
        for n in 1..25 {
            assert!(
                (ln_gamma(n as f64) - factorial.ln()).abs() < 1e-13 * factorial.ln().max(1.0),
                "ln Γ({n})"
            );
            factorial *= n as f64;
        }
        let sqrt_pi = std::f64::consts::PI.sqrt();
        assert!(rel(ln_gamma(0.5), sqrt_pi.ln()) < 1e-14);
        assert!(rel(ln_gamma(1.5).exp(), sqrt_pi / 2.0) < 1e-14);
        assert!(ln_gamma(0.0).is_nan());
    }

    #[test]
    fn ln_beta_large_argument_is_consistent() {
        // B(a, 1/2) recursion: B(a + 1, b) = B(a, b)·a/(a + b), across the Stirling switch.
        for a in [8.0, 9.5, 9.75, 10.0, 50.0, 1e6] {
            let lhs = ln_beta(a + 1.0, 0.5);
            let rhs = ln_beta(a, 0.5) + (a / (a + 0.5)).ln();
            assert!((lhs - rhs).abs() < 1e-13, "a = {a}: {lhs} vs {rhs}");
        }
        assert!((ln_beta(1.0, 0.5) - 2.0_f64.ln()).abs() < 1e-14);
    }

    #[test]
    fn incomplete_beta_closed_forms() {
        // I_x(1, 1) = x; I_x(a, 1) = x^a; t with df = 1 is Cauchy.
        for x in [0.1, 0.3, 0.7, 0.95] {
            assert!(rel(incomplete_beta(1.0, 1.0, x, 1.0 - x), x) < 1e-14);
            assert!(rel(incomplete_beta(3.0, 1.0, x, 1.0 - x), x.powi(3)) < 1e-14);
        }
        for t in [0.5, 1.0, 3.0, 12.0] {
            let cauchy = 1.0 - 2.0 * f64::atan(t) / std::f64::consts::PI;
            assert!(rel(student_t_two_sided_tail(t, 1.0), cauchy) < 1e-13);
        }
    }

    #[test]
    fn t_quantile_limits() {
        let cauchy = (0.475 * std::f64::consts::PI).tan();
        assert!(rel(t_quantile_975(1), cauchy) < 1e-14);
        // df = 2 has a closed form: P(|T| > t) = 1 − t/sqrt(2 + t²).
        let t2 = t_quantile_975(2);
        assert!((1.0 - t2 / (2.0 + t2 * t2).sqrt() - 0.05).abs() < 1e-15);
        // References from mpmath (50 digits: findroot on betainc), either side of the switch
        // to the expansion and far out.
        for (df, reference) in [
            (1000, 1.962_339_080_826_408_5),
            (1001, 1.962_336_705_280_88),
            (10_000, 1.960_201_239_890_626_3),
            (1_000_000, 1.959_966_356_814_107),
            (1_000_000_000_000, 1.959_963_984_542_426_5),
            (usize::MAX, 1.959_963_984_540_054_2),
        ] {
            let q = t_quantile_975(df);
            assert!(rel(q, reference) < 2e-15, "df = {df}: {q} vs {reference}");
        }
        assert!(rel(normal_quantile_975(), 1.959_963_984_540_054_2) < 1e-15);
        assert!(t_quantile_975(0).is_nan());
        for df in (1..60).chain(990..1010) {
            assert!(t_quantile_975(df) > t_quantile_975(df + 1), "df = {df}");
        }
    }

    #[test]
    fn normal_sf_symmetry_and_known_values() {
        assert_eq!(normal_sf(0.0), 0.5);
        for z in [0.3, 1.0, 1.49, 1.51, 2.0, 5.0] {
            assert!((normal_sf(z) + normal_sf(-z) - 1.0).abs() < 1e-15);
        }
        assert!(rel(normal_sf(1.959963984540054), 0.025) < 1e-14);
        assert_eq!(normal_sf(50.0), 0.0);
        assert_eq!(normal_sf(f64::INFINITY), 0.0);
        assert_eq!(normal_sf(f64::NEG_INFINITY), 1.0);
        assert!(normal_sf(f64::NAN).is_nan());
    }

    #[test]
    fn summaries() {
        assert_eq!(mean(&[1.0, 2.0, 6.0]), 3.0);
        assert!(mean(&[]).is_nan());
        assert_eq!(sample_std(&[2.0, 4.0]), 2.0_f64.sqrt());
        assert!(sample_std(&[1.0]).is_nan());
        let ci = mean_ci_95(&[1.0, 1.0, 1.0]);
        assert_eq!((ci.mean, ci.std, ci.half_width), (1.0, 0.0, 0.0));
        let one = mean_ci_95(&[4.0]);
        assert_eq!(one.mean, 4.0);
        assert!(one.half_width.is_nan() && one.low().is_nan());
        let two = mean_ci_95(&[0.0, 2.0]);
        assert!(rel(two.half_width, t_quantile_975(1)) < 1e-15);
    }

    #[test]
    fn average_ranks_of_ties() {
        let (ranks, groups) = average_ranks(&[3.0, 1.0, 3.0, 2.0, 3.0]);
        assert_eq!(ranks, vec![4.0, 1.0, 4.0, 2.0, 4.0]);
        assert_eq!(groups, vec![1, 1, 3]);
    }

    #[test]
    fn exact_distribution_sums_to_one_and_is_symmetric() {
        let pmf = signed_rank_pmf(10);
        assert_eq!(pmf.len(), 56);
        assert!((pmf.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        for s in 0..pmf.len() {
            assert_eq!(pmf[s], pmf[pmf.len() - 1 - s]);
        }
        // All positive among n = 5: p = 2/32.
        let w = wilcoxon_signed_rank(
            &[1.0, 2.0, 3.0, 4.0, 5.0],
            ZeroMethod::Wilcox,
            WilcoxonMethod::Auto,
        )
        .unwrap();
        assert_eq!(
            (w.method, w.statistic, w.p_value),
            (WilcoxonPValue::Exact, 0.0, 0.0625)
        );
    }

    #[test]
    fn wilcoxon_symmetric_under_swapping() {
        let x = [1.5, 2.0, 0.25, 3.0, 2.0, 0.75, 1.0, 4.0];
        let y = [1.0, 2.5, 0.25, 1.0, 1.5, 1.25, 0.0, 1.0];
        for zm in [ZeroMethod::Wilcox, ZeroMethod::Pratt, ZeroMethod::Zsplit] {
            for m in [
                WilcoxonMethod::Auto,
                WilcoxonMethod::Exact,
                WilcoxonMethod::Asymptotic,
            ] {
                let a = paired_comparison(&x, &y, zm, m).unwrap();
                let b = paired_comparison(&y, &x, zm, m).unwrap();
                assert_eq!(a.wilcoxon.statistic, b.wilcoxon.statistic);
                if (zm, m) == (ZeroMethod::Pratt, WilcoxonMethod::Exact) {
                    // SciPy's quirk: ranks 1..n are centred on n(n+1)/4, but Pratt's rank
                    // sums are centred on [n(n+1)/2 − zero ranks]/2, so the p-values differ.
                    assert_eq!(
                        (a.wilcoxon.p_value, b.wilcoxon.p_value),
                        (25.0 / 128.0, 19.0 / 128.0)
                    );
                } else {
                    assert_eq!(a.wilcoxon.p_value, b.wilcoxon.p_value);
                }
                assert_eq!(a.wilcoxon.r_plus, b.wilcoxon.r_minus);
                assert_eq!(a.wilcoxon.method, b.wilcoxon.method);
                assert_eq!(a.mean_diff, -b.mean_diff);
                assert_eq!(a.ci_low, -b.ci_high);
                assert_eq!(a.rank_biserial, -b.rank_biserial);
            }
        }
    }

    #[test]
    fn rank_biserial_bounds_and_zeros() {
        assert_eq!(rank_biserial(&[1.0, 2.0, 0.5], ZeroMethod::Wilcox), 1.0);
        assert_eq!(rank_biserial(&[-1.0, -2.0], ZeroMethod::Wilcox), -1.0);
        assert_eq!(rank_biserial(&[1.0, -1.0], ZeroMethod::Wilcox), 0.0);
        assert!(rank_biserial(&[0.0, 0.0], ZeroMethod::Wilcox).is_nan());
        assert!(rank_biserial(&[0.0, 0.0], ZeroMethod::Pratt).is_nan());
        assert_eq!(rank_biserial(&[0.0, 0.0], ZeroMethod::Zsplit), 0.0);
        assert!(rank_biserial(&[], ZeroMethod::Wilcox).is_nan());
        assert!(rank_biserial(&[1.0, f64::NAN], ZeroMethod::Wilcox).is_nan());
    }

    #[test]
    fn wilcoxon_errors_name_the_problem() {
        let empty = wilcoxon_signed_rank(&[], ZeroMethod::Wilcox, WilcoxonMethod::Auto);
        assert!(empty.unwrap_err().to_string().contains("empty"));
        let nan = wilcoxon_signed_rank(&[1.0, f64::NAN], ZeroMethod::Wilcox, WilcoxonMethod::Auto);
        assert!(nan.unwrap_err().to_string().contains("difference 1 is NaN"));
        let single_zero = wilcoxon_signed_rank(&[0.0], ZeroMethod::Pratt, WilcoxonMethod::Auto);
        assert!(single_zero
            .unwrap_err()
            .to_string()
            .contains("at least two differences"));
        let mismatch = paired_comparison(
            &[1.0, 2.0],
            &[1.0],
            ZeroMethod::Wilcox,
            WilcoxonMethod::Auto,
        );
        assert!(mismatch
            .unwrap_err()
            .to_string()
            .contains("x has 2 values and y has 1"));
        let big = vec![1.0; 1001];
        assert!(wilcoxon_signed_rank(&big, ZeroMethod::Wilcox, WilcoxonMethod::Exact).is_err());
    }

    #[test]
    fn all_zero_differences_follow_scipy() {
        let zeros = [0.0; 5];
        let w =
            wilcoxon_signed_rank(&zeros, ZeroMethod::Wilcox, WilcoxonMethod::Asymptotic).unwrap();
        assert!(w.p_value.is_nan() && w.z.is_some_and(f64::is_nan));
        let w = wilcoxon_signed_rank(&zeros, ZeroMethod::Wilcox, WilcoxonMethod::Exact).unwrap();
        assert_eq!((w.count, w.p_value), (0, 1.0));
        let w = wilcoxon_signed_rank(&zeros, ZeroMethod::Pratt, WilcoxonMethod::Exact).unwrap();
        assert_eq!(w.p_value, 0.0625);
        let w = wilcoxon_signed_rank(&zeros, ZeroMethod::Zsplit, WilcoxonMethod::Auto).unwrap();
        assert_eq!((w.method, w.p_value), (WilcoxonPValue::Permutation, 1.0));
    }

    #[test]
    fn holm_invariants() {
        assert_eq!(holm(&[0.03]), vec![0.03]);
        assert!(holm(&[]).is_empty());
        assert_eq!(holm(&[0.01, 0.04, 0.03]), vec![0.03, 0.06, 0.06]);
        assert_eq!(holm(&[0.6, 0.9]), vec![1.0, 1.0]);
        let with_nan = holm(&[0.01, f64::NAN, 0.02]);
        assert!(with_nan[1].is_nan());
        assert_eq!((with_nan[0], with_nan[2]), (0.02, 0.02));
        // Order invariance.
        let p = [0.2, 0.01, 0.2, 0.05];
        let q = [0.05, 0.2, 0.01, 0.2];
        let (a, b) = (holm(&p), holm(&q));
        assert_eq!((a[0], a[1], a[2], a[3]), (b[1], b[2], b[3], b[0]));
    }
}
