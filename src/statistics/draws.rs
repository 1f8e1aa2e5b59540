//! Random draws from the standard distributions the explainers need, from a ChaCha8 stream (the
//! documented generator), so that every draw is reproducible from its seed on any platform.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A standard normal draw (Box–Muller on two uniforms in (0, 1]).
pub(crate) fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A chi-square draw with `dof` degrees of freedom: twice a Gamma(dof/2, 1) draw by Marsaglia
/// and Tsang's method (a shape below 1 is raised by one and the draw scaled by `U^(1/shape)`).
pub(crate) fn chi_square(rng: &mut ChaCha8Rng, dof: usize) -> f64 {
    let shape = dof as f64 / 2.0;
    let a = if shape < 1.0 { shape + 1.0 } else { shape };
    let d = a - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    let gamma = loop {
        let x = standard_normal(rng);
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u: f64 = 1.0 - rng.random::<f64>();
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            break d * v;
        }
    };
    match shape < 1.0 {
        true => 2.0 * gamma * (1.0 - rng.random::<f64>()).powf(1.0 / shape),
        false => 2.0 * gamma,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn draws_have_their_distributions_moments() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let n = 200_000;
        let normals: Vec<f64> = (0..n).map(|_| standard_normal(&mut rng)).collect();
        let mean = normals.iter().sum::<f64>() / n as f64;
        let var = normals.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(
            mean.abs() < 0.01 && (var - 1.0).abs() < 0.01,
            "{mean} {var}"
        );
        for dof in [1usize, 3, 40] {
            let chi: Vec<f64> = (0..n).map(|_| chi_square(&mut rng, dof)).collect();
            let mean = chi.iter().sum::<f64>() / n as f64;
            let var = chi.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
            let k = dof as f64;
            assert!(
                (mean - k).abs() < 0.02 * k.max(1.0),
                "dof {dof}: mean {mean}"
            );
            assert!(
                (var - 2.0 * k).abs() < 0.05 * 2.0 * k,
                "dof {dof}: var {var}"
            );
        }
    }
}
