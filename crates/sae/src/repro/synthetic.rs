//! The synthetic part: per seed a fresh ground-truth dictionary (crate::synthetic), every arm
//! trained on the same stream from the same initialisation seed, measured on held-out samples
//! against the ground truth; γ* tuned on a seed of its own first.

use genlab_core::Result;
use genlab_core::report::Arms;
use genlab_core::train::{Observer, SeededRng};

use super::Sizes;
use super::setup::{BASELINE, CHUNK, Measured, gamma_arm, timed_train};
use crate::codes::Codes;
use crate::eval::evaluate_rows;
use crate::metrics::{absorption, composite_fraction, meta_sae_ev, recovery};
use crate::sae::Sae;
use crate::synthetic::{GroundTruth, SyntheticSpec, SyntheticStream};
use crate::train::{Arch, TrainConfig};

/// The OrtSAE γ sweep.
pub const GAMMAS: [f32; 3] = [0.3, 1.0, 3.0];
/// Peak learning rate of every arm.
pub const LR: f64 = 3e-3;
/// Mean L0 of every arm.
pub const K: usize = 8;
/// Dictionary size.
pub const WIDTH: usize = 512;
/// Meta-SAE learning rate.
pub const META_LR: f64 = 2e-3;

/// The arms trained on every evaluation seed: name, architecture, γ.
pub fn arms() -> Vec<(String, Arch, f32)> {
    let mut arms = vec![(BASELINE.to_string(), Arch::BatchTopK, 0.0)];
    arms.extend(GAMMAS.iter().map(|&g| (gamma_arm(g), Arch::OrtSae, g)));
    arms.push(("ReLU (L0-steered)".into(), Arch::Relu, 0.0));
    arms.push(("Matryoshka".into(), Arch::Matryoshka, 0.0));
    arms
}

/// The training configuration of one synthetic arm.
pub fn config(arch: Arch, k: usize, gamma: f32, sizes: &Sizes, seed: u64) -> TrainConfig {
    TrainConfig {
        arch,
        width: WIDTH,
        k,
        steps: sizes.steps,
        batch: sizes.batch,
        lr: Some(LR),
        warmup: sizes.steps / 20,
        l1: 0.3,
        l0_control: true,
        ortho_gamma: gamma,
        ortho_chunk: CHUNK,
        dead_after_tokens: (sizes.steps / 10).max(20) * sizes.batch as u64,
        threshold_beta: 0.99,
        threshold_start: sizes.steps / 2,
        seed,
        log_every: (sizes.steps / 20).max(1),
        ..TrainConfig::default()
    }
}

/// One seed's ground truth, held-out set, and seeds for the data stream and the initialisation.
struct Setting {
    gt: GroundTruth,
    eval_x: Vec<f32>,
    eval_truth: Codes,
    data_seed: u64,
    init_seed: u64,
}

impl Setting {
    fn new(seed: u64, eval_n: usize) -> Result<Setting> {
        let mut rng = SeededRng::new(seed);
        let spec = SyntheticSpec {
            seed: draw_seed(&mut rng),
            ..SyntheticSpec::default()
        };
        let gt = GroundTruth::new(&spec)?;
        let (eval_x, eval_truth) = gt.sample(eval_n, &mut rng.fork());
        Ok(Setting {
            gt,
            eval_x,
            eval_truth,
            data_seed: draw_seed(&mut rng),
            init_seed: draw_seed(&mut rng),
        })
    }

    /// Trains one arm on this seed's stream and measures it (`meta_steps` of meta-SAE).
    fn run(
        &self,
        (arch, k, gamma): (Arch, usize, f32),
        sizes: &Sizes,
        meta_steps: u64,
        observer: &mut dyn Observer,
    ) -> Result<Measured> {
        let cfg = config(arch, k, gamma, sizes, self.init_seed);
        let mut stream = SyntheticStream::new(&self.gt, self.data_seed);
        let (trained, seconds) = timed_train(&mut stream, &cfg, observer)?;
        let sae = &trained.sae;
        let e = evaluate_rows(sae, &self.eval_x);
        let codes = e.codes.clone();
        let mut m = Measured::new(e, seconds);
        let train_dead = trained.history.series("dead_fraction");
        m.insert(
            "train_dead_fraction",
            train_dead.last().map_or(f64::NAN, |p| p.1),
        );
        self.measure_ground_truth(sae, &codes, &mut m);
        m.insert(
            "meta_sae_ev",
            meta_sae_ev(&sae.w_dec, sae.d, meta_steps, META_LR, cfg.seed ^ 0x3e7a)?,
        );
        m.insert(
            "composite_fraction",
            composite_fraction(&sae.w_dec, &self.gt.dict, sae.d),
        );
        Ok(m)
    }

    /// Recovery of the ground-truth features and absorption of the parents.
    fn measure_ground_truth(&self, sae: &Sae, codes: &Codes, m: &mut Measured) {
        let (gt, d) = (&self.gt, sae.d);
        let rec = recovery(&gt.dict, &sae.w_dec, d, 0.9);
        let parent_latents: Vec<usize> = gt
            .parents
            .iter()
            .map(|&p| rec.matched[p].unwrap_or(0))
            .collect();
        let child_latents: Vec<Vec<usize>> = gt
            .children
            .iter()
            .map(|kids| kids.iter().filter_map(|&c| rec.matched[c]).collect())
            .collect();
        let absorbed = |carriers| {
            absorption(
                &sae.w_dec,
                d,
                |i| gt.feature(i),
                &gt.parents,
                &parent_latents,
                carriers,
                &self.eval_truth,
                codes,
            )
        };
        let own_children = absorbed(Some(&child_latents));
        let any = absorbed(None);
        m.insert("gt_recovered", rec.recovered as f64);
        m.insert("gt_mean_best_cos", rec.mean_best);
        m.insert("absorption_partial", own_children.partial);
        m.insert("absorption_full", own_children.full);
        m.insert("absorption_partial_any", any.partial);
        m.insert("absorption_full_any", any.full);
    }
}

/// A fresh seed from `rng`.
fn draw_seed(rng: &mut SeededRng) -> u64 {
    rand::RngCore::next_u64(rng.rng())
}

/// The γ choice on the tuning seed.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// The tuning seed.
    pub seed: u64,
    /// The chosen γ.
    pub gamma_star: f32,
    /// Per arm (BatchTopK, then each γ): EV, absorption, mean max-cos, and whether its EV is
    /// within 5% of BatchTopK's (`None` for BatchTopK).
    pub rows: Vec<(String, f64, f64, f64, Option<bool>)>,
}

/// γ* on `seed`: the lowest absorption among the γ whose EV is within 5% of BatchTopK's (the
/// smallest γ if none is, and the verdict will say so).
pub fn tune_gamma(seed: u64, sizes: &Sizes, observer: &mut dyn Observer) -> Result<Tuning> {
    let setting = Setting::new(seed, sizes.eval_n)?;
    let row = |name: String, m: &Measured, eligible| {
        let v = |k: &str| m.metrics[k];
        (
            name,
            v("ev"),
            v("absorption_partial"),
            v("mean_maxcos"),
            eligible,
        )
    };
    observer.message(&format!("tuning seed {seed}: {BASELINE}"));
    let base = setting.run((Arch::BatchTopK, K, 0.0), sizes, 1, observer)?;
    let mut rows = vec![row(BASELINE.to_string(), &base, None)];
    let mut best: Option<(f32, f64)> = None;
    for &g in &GAMMAS {
        observer.message(&format!("tuning seed {seed}: OrtSAE γ = {g}"));
        let t = setting.run((Arch::OrtSae, K, g), sizes, 1, observer)?;
        let eligible = t.metrics["ev"] >= 0.95 * base.metrics["ev"];
        let absorption = t.metrics["absorption_partial"];
        if eligible && best.is_none_or(|(_, a)| absorption < a) {
            best = Some((g, absorption));
        }
        rows.push(row(gamma_arm(g), &t, Some(eligible)));
    }
    Ok(Tuning {
        seed,
        gamma_star: best.map_or(GAMMAS[0], |b| b.0),
        rows,
    })
}

/// Every arm on every evaluation seed, and the EV-vs-L0 sweep.
#[derive(Debug, Clone, Default)]
pub struct Runs {
    /// Per seed: the seed and its arms' metrics.
    pub per_seed: Vec<(u64, Arms)>,
    /// The first seed's max-cos values per arm.
    pub first_maxcos: Vec<(String, Vec<f32>)>,
    /// The sweep on the first seed: arm name, k, L0, EV.
    pub sweep: Vec<(String, usize, f64, f64)>,
}

/// Trains and measures [`arms`] on every seed; on the first seed also the sweep over
/// `sizes.sweep_ks` (BatchTopK and OrtSAE at γ*).
pub fn run_seeds(
    seeds: &[u64],
    gamma_star: f32,
    sizes: &Sizes,
    observer: &mut dyn Observer,
) -> Result<Runs> {
    let mut runs = Runs::default();
    for (i, &seed) in seeds.iter().enumerate() {
        let setting = Setting::new(seed, sizes.eval_n)?;
        let mut arms_of_seed = Arms::new();
        for (name, arch, gamma) in arms() {
            observer.message(&format!("seed {seed}: {name}"));
            let m = setting.run((arch, K, gamma), sizes, sizes.meta_steps, observer)?;
            if i == 0 {
                runs.first_maxcos.push((name.clone(), m.maxcos));
            }
            arms_of_seed.insert(name, m.metrics);
        }
        runs.per_seed.push((seed, arms_of_seed));
        if i > 0 {
            continue;
        }
        for &k in sizes.sweep_ks {
            for (name, arch, gamma) in [
                (BASELINE.to_string(), Arch::BatchTopK, 0.0),
                (gamma_arm(gamma_star), Arch::OrtSae, gamma_star),
            ] {
                observer.message(&format!("seed {seed}: {name} at k = {k} (EV-vs-L0 sweep)"));
                let m = setting.run((arch, k, gamma), sizes, 1, observer)?;
                runs.sweep.push((name, k, m.metrics["l0"], m.metrics["ev"]));
            }
        }
    }
    Ok(runs)
}
