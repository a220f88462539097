//! Weight matching of two random 64-32-32-10 MLPs, repeated (for callgrind / timing):
//! `cargo run --release -p genlab-weights --example match_profile -- [pairs]`.
use genlab_core::train::SeededRng;
use genlab_weights::matching::weight_matching;
use genlab_weights::{Mlp, MlpSpec};

fn main() {
    let pairs: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let widths = [64, 32, 32, 10];
    let spec = MlpSpec::new(&widths);
    let pspec = spec.perm_spec();
    let mut rng = SeededRng::new(1);
    let (a, b) = (
        Mlp::init(&widths, &mut rng).to_params(&spec),
        Mlp::init(&widths, &mut rng).to_params(&spec),
    );
    let started = std::time::Instant::now();
    let mut sweeps = 0;
    for _ in 0..pairs {
        let m = weight_matching(&pspec, &a, &b, 100, &mut SeededRng::new(42)).unwrap();
        sweeps += m.objective.len() - 1;
    }
    let s = started.elapsed().as_secs_f64();
    println!(
        "{pairs} pairs, {sweeps} sweeps, {:.1} pairs/s",
        pairs as f64 / s
    );
}
