//! The data phase of `repro weights`: the cached digits zoo, its canonicalisation (every
//! training network weight-matched to network 0), the loss barrier of one pair before and after
//! matching, and the held-out networks' novelty distances (the scale a generated network's
//! distance is judged against).

use std::time::Instant;

use genlab_core::Result;
use genlab_core::experiment::ReproOptions;
use genlab_core::train::Observer;
use rayon::prelude::*;

use super::Sizes;
use crate::barrier::{Path, path};
use crate::eval::{self, Scores};
use crate::matching::align_mlp;
use crate::mlp::Mlp;
use crate::spec::MlpSpec;
use crate::zoo::{Digits, Zoo, load_or_train};

/// Seed of the permutation order of weight matching (the reference fixes 42).
pub(super) const MATCH_SEED: u64 = 42;

/// Everything the arms share.
pub(super) struct Setup {
    pub data: Digits,
    pub spec: MlpSpec,
    pub zoo: Zoo,
    /// The training zoo's flattened weights as trained.
    pub raw: Vec<Vec<f32>>,
    /// The same networks weight-matched to network 0.
    pub aligned: Vec<Vec<f32>>,
    /// Test scores of the training zoo.
    pub zoo_scores: Scores,
    /// Novelty distances of the held-out trained networks.
    pub heldout_novelty: Vec<f64>,
    /// Interpolation from net 0 to net 1, before and after matching net 1 onto net 0.
    pub path_before: Path,
    pub path_after: Path,
    /// Mean distance of zoo networks 1.. to network 0, before and after weight matching.
    pub distance: (f64, f64),
    /// Whether the zoo came from the cache, and the wall seconds of this phase.
    pub cached: bool,
    pub seconds: f64,
}

/// Builds the [`Setup`].
pub(super) fn run(
    opts: &ReproOptions,
    sizes: &Sizes,
    observer: &mut dyn Observer,
) -> Result<Setup> {
    let started = Instant::now();
    let data = Digits::load();
    observer.message("loading or training the digits zoo");
    let (zoo, cached) = load_or_train(&sizes.zoo(), &data, &opts.cache_dir, observer)?;
    let spec = MlpSpec::new(sizes.widths);
    let train = zoo.train_nets();
    let reference = &train[0];
    observer.message("aligning the zoo to network 0 (weight matching)");
    let matched: Vec<(Mlp, f64)> = train
        .par_iter()
        .map(|net| Ok((align_mlp(&spec, reference, net, 100, MATCH_SEED)?.0, 0.0)))
        .collect::<crate::WResult<_>>()?;
    let aligned: Vec<Vec<f32>> = matched.iter().map(|(m, _)| m.flat()).collect();
    let raw: Vec<Vec<f32>> = train.iter().map(Mlp::flat).collect();
    let mean_distance = |set: &[Vec<f32>]| {
        set[1..]
            .iter()
            .map(|x| eval::distance(&set[0], x))
            .sum::<f64>()
            / (set.len() - 1).max(1) as f64
    };
    let distance = (mean_distance(&raw), mean_distance(&aligned));
    let (x, y) = (&data.x_test, &data.y_test);
    let path_before = path(&train[0], &train[1], x, y, sizes.path_points);
    let path_after = path(&train[0], &matched[1].0, x, y, sizes.path_points);
    let zoo_scores = eval::score(train, &data);
    let heldout_novelty =
        eval::novelty(&spec, reference, &aligned, zoo.heldout_nets(), MATCH_SEED)?;
    Ok(Setup {
        data,
        spec,
        zoo,
        raw,
        aligned,
        zoo_scores,
        heldout_novelty,
        path_before,
        path_after,
        distance,
        cached,
        seconds: started.elapsed().as_secs_f64(),
    })
}
