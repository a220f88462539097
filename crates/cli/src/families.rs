//! The one list of families the CLI is driven by: `list`, `repro`, `bench`, `data` and the
//! `--help` summary all read it. Adding a family is one line here (plus its command file).

use genlab_core::data::{CORE_DATASETS, DatasetInfo};
use genlab_core::experiment::{Benchmark, Experiment, Family};

/// Every family, in the order `repro all` runs their experiments.
pub const FAMILIES: &[&Family] = &[
    &genlab_flow::FAMILY,
    &genlab_cmt::FAMILY,
    &genlab_guidance::FAMILY,
    &genlab_sae::FAMILY,
    &genlab_logic::FAMILY,
    &genlab_fx::FAMILY,
    &genlab_attribution::FAMILY,
    &genlab_gan::FAMILY,
    &genlab_slots::FAMILY,
    &genlab_contrastive::FAMILY,
    &genlab_weights::FAMILY,
    &genlab_embed::FAMILY,
    &genlab_scene::FAMILY,
];

/// Every experiment, in run order.
pub fn experiments() -> impl Iterator<Item = &'static Experiment> {
    FAMILIES.iter().flat_map(|f| f.experiments.iter())
}

/// The experiment called `name` (or an earlier name of it).
pub fn find_experiment(name: &str) -> Option<&'static Experiment> {
    let name = FAMILIES
        .iter()
        .flat_map(|f| f.aliases.iter())
        .find(|(old, _)| *old == name)
        .map_or(name, |(_, new)| *new);
    experiments().find(|e| e.info.name == name)
}

/// Every benchmark: the core's, then each family's, then the LM runtime's.
pub fn benchmarks() -> impl Iterator<Item = &'static Benchmark> {
    genlab_core::bench::BENCHMARKS
        .iter()
        .chain(FAMILIES.iter().flat_map(|f| f.benchmarks.iter()))
        .chain(genlab_lm::BENCHMARKS.iter())
}

/// Every registry dataset: the core's, then each family's.
pub fn datasets() -> Vec<&'static DatasetInfo> {
    CORE_DATASETS
        .iter()
        .chain(FAMILIES.iter().flat_map(|f| f.datasets.iter()))
        .collect()
}

/// `names` joined by commas, for error messages.
pub fn join<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join(", ")
}

/// The block under `genlab --help`: what `repro`, `bench` and `data` accept.
pub fn help() -> String {
    format!(
        "Experiments (genlab repro NAME|all): {}\nBenchmarks (genlab bench NAME): {}\n\
         Datasets (genlab data fetch NAME|all): {}\nMore: genlab list",
        join(experiments().map(|e| e.info.name)),
        join(benchmarks().map(|b| b.name)),
        join(datasets().into_iter().map(|d| d.name)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One name per family: every experiment starts with its family's name, and no two
    /// experiments, benchmarks, datasets or aliases share a name.
    #[test]
    fn names_are_unique_and_follow_their_family() {
        let mut seen = std::collections::BTreeSet::new();
        for f in FAMILIES {
            for e in f.experiments {
                assert!(
                    e.info.name.starts_with(f.name),
                    "{} in {}",
                    e.info.name,
                    f.name
                );
                assert!(seen.insert(e.info.name), "{}", e.info.name);
            }
            for (old, new) in f.aliases {
                assert!(seen.insert(old), "{old}");
                assert!(find_experiment(old).is_some_and(|e| e.info.name == *new));
            }
        }
        let benches: std::collections::BTreeSet<_> = benchmarks().map(|b| b.name).collect();
        assert_eq!(benches.len(), benchmarks().count());
        let data: std::collections::BTreeSet<_> = datasets().iter().map(|d| d.name).collect();
        assert_eq!(data.len(), datasets().len());
    }
}
