//! Part 2, Fashion-MNIST with the small CNN: every arm on every seed (a seeded subset of the
//! training images), the verdict parts (Hydra's RankMe of z > SupCon's, Hydra's linear probe
//! > SimCLR's), the spectra, a PCA projection and the gate-overlap class dendrogram.

use genlab_core::Result;
use genlab_core::data::{Cache, Points, Split, fashion_mnist};
use genlab_core::experiment::{ReportBuilder, ReproOptions};
use genlab_core::report::{Table, Verdict};
use genlab_core::train::{Observer, SeededRng};

use super::arms::{ARMS, Measured, run_arm};
use super::verdict::{arm, method_vs};
use super::{Sizes, figures, record_arms};
use crate::metrics::gates;
use crate::train::TrainConfig;

/// The Fashion-MNIST class names, by label.
pub const CLASS_NAMES: [&str; 10] = [
    "T-shirt/top",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
];

/// `n` rows of `points` drawn without replacement with `seed`.
fn subset(points: &Points, n: usize, seed: u64) -> Points {
    let idx = SeededRng::new(seed).permutation(points.len());
    points.select(&idx[..n.min(points.len())])
}

/// Runs the part; returns its verdict parts.
pub(super) fn run(
    opts: &ReproOptions,
    sizes: &Sizes,
    seeds: &[u64],
    report: &mut ReportBuilder,
    observer: &mut dyn Observer,
) -> Result<Vec<Verdict>> {
    let cache = Cache::at(&opts.cache_dir);
    let full_train = fashion_mnist(&cache, Split::Train)?;
    let full_test = fashion_mnist(&cache, Split::Test)?;
    let test = subset(&full_test, sizes.fashion_test, 12345);
    let mut per_seed: Vec<Vec<Measured>> = Vec::new();
    for &seed in seeds {
        let train = subset(&full_train, sizes.fashion_train, seed);
        let mut arms = Vec::new();
        for a in &ARMS {
            observer.message(&format!("fashion-mnist: seed {seed}, {}", a.name));
            let config = TrainConfig {
                objective: a.objective,
                seed,
                ..sizes.images
            };
            arms.push(run_arm(&train, &test, &config, observer)?);
        }
        per_seed.push(arms);
    }
    record_arms(report, "fashion", &per_seed, &[]);
    let parts = vec![
        method_vs("fashion", &per_seed, "rankme_z", "hydra", "supcon")?,
        method_vs("fashion", &per_seed, "probe", "hydra", "simclr")?,
    ];
    let first = &per_seed[0];
    figures::spectra(
        report,
        "fashion_spectra.svg",
        "Fashion-MNIST: spectra of z",
        first,
    )?;
    figures::bars(
        report,
        "fashion_probe.svg",
        "Fashion-MNIST: linear-probe accuracy (mean ± std over seeds)",
        &per_seed,
        "probe",
        "Ridge linear-probe test accuracy on the frozen CNN representations per arm.",
    )?;
    let hydra = &first[arm("hydra")];
    let (h_test, _) = hydra.model.embed(&test)?;
    figures::projection(
        report,
        "fashion_pca_hydra.svg",
        "Fashion-MNIST: Hydra representations (PCA)",
        &h_test,
        &CLASS_NAMES,
    )?;
    let (h_sup, _) = first[arm("supcon")].model.embed(&test)?;
    figures::projection(
        report,
        "fashion_pca_supcon.svg",
        "Fashion-MNIST: SupCon representations (PCA)",
        &h_sup,
        &CLASS_NAMES,
    )?;
    if let Some(g) = hydra.model.pair_gates() {
        let overlap = gates::gate_overlap(&g, 10);
        let merges = figures::dendrogram(
            report,
            &opts.dir,
            "fashion_dendrogram.svg",
            &overlap,
            &CLASS_NAMES,
        )?;
        let name = |id: usize| {
            if id < 10 {
                CLASS_NAMES[id].to_string()
            } else {
                format!("#{}", id - 10 + 1)
            }
        };
        report.table(Table {
            title: "Fashion-MNIST gate-overlap dendrogram merges (Hydra, seed 0)".into(),
            columns: ["merge", "clusters", "height (1 − overlap)", "size"]
                .map(String::from)
                .to_vec(),
            rows: merges
                .iter()
                .enumerate()
                .map(|(k, m)| {
                    vec![
                        format!("#{}", k + 1),
                        format!("{} + {}", name(m.a), name(m.b)),
                        format!("{:.4}", m.height),
                        m.size.to_string(),
                    ]
                })
                .collect(),
        });
    }
    Ok(parts)
}
