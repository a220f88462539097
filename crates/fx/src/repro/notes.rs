//! The report's remarks: what the reference arms show, how tier 3 was trained, which sources
//! were held out, how many seeds the verdict rests on, and what is barely observable.

use genlab_core::report::{MIN_SEEDS, sig3};

use super::verdict::{MRSTFT, ORDER};
use super::{
    HYBRID, SCALES, SeedRun, Sizes, TEST_SOURCES, TIER1, TIER2, TIER3, TIER3_BEAMS, TIER3_GREEDY,
    TIER3_NO_PLAN, TRAIN_SOURCES,
};

/// The notes of a run whose base seed is `first` and whose verdict uses `seeds`.
pub(super) fn notes(
    first: &SeedRun,
    size: &Sizes,
    sources: &[String],
    seeds: &[u64],
) -> Vec<String> {
    let arms = &first.arms;
    let m = |arm: &str, metric: &str| sig3(arms[arm][metric]);
    let steps_per_second: Vec<String> = first
        .tier3
        .iter()
        .map(|t| format!("{}: {} steps/s", t.name, sig3(t.record.steps_per_second)))
        .collect();
    vec![
        format!(
            "The verdict compares `{TIER3}` (with its plan of the effect set before the calls) with the fixed-order regression baseline on the held-out N ≥ 2 pairs. For reference, tier 1 (analysis-by-synthesis, also order-aware) vs tier 2 on seed {}: exact order N ≥ 2 {} vs {}, MRSTFT N ≥ 2 {} vs {}.",
            first.seed,
            m(TIER1, ORDER),
            m(TIER2, ORDER),
            m(TIER1, MRSTFT),
            m(TIER2, MRSTFT),
        ),
        seeds_note(seeds),
        format!(
            "Reasoning before calling (plan vs no plan, seed {}): presence F1 {} vs {}, exact order N ≥ 2 {} vs {}, MRSTFT N ≥ 2 {} vs {}.",
            first.seed,
            m(TIER3, "f1"),
            m(TIER3_NO_PLAN, "f1"),
            m(TIER3, ORDER),
            m(TIER3_NO_PLAN, ORDER),
            m(TIER3, MRSTFT),
            m(TIER3_NO_PLAN, MRSTFT),
        ),
        format!(
            "Tier 3 is a small transformer (d_model 64, 4 heads, 1 encoder + 2 decoder layers) over 29 tool/parameter-bin tokens; its encoder reads 32 log-mel frames of dry, wet and their difference plus one token of tier 2's {} descriptors. It is trained on the same {} pairs as tier 2 ({} steps × {}, dry-dropout 0.3; {}); decoding is grammar-constrained (every output is a valid chain by construction), the most probable of {TIER3_BEAMS} beams. Greedy decoding of the same model (seed {}): exact order N ≥ 2 {}, MRSTFT N ≥ 2 {}.",
            crate::estimate::features::FEATURE_DIM,
            first.train_pairs,
            size.tool_caller_steps,
            size.tool_caller_batch,
            steps_per_second.join(", "),
            first.seed,
            m(TIER3_GREEDY, ORDER),
            m(TIER3_GREEDY, MRSTFT),
        ),
        format!(
            "The hybrid (tier 3's {TIER3_BEAMS} beams and the empty chain as tier 1's starting points, the best 2 by re-rendered MRSTFT refined with the budget split, never worse than the best start) vs tier 1 from the empty chain, seed {}: presence F1 {} vs {}, exact order N ≥ 2 {} vs {}, MRSTFT N ≥ 2 {} vs {}, seconds per pair {} vs {}.",
            first.seed,
            m(HYBRID, "f1"),
            m(TIER1, "f1"),
            m(HYBRID, ORDER),
            m(TIER1, ORDER),
            m(HYBRID, MRSTFT),
            m(TIER1, MRSTFT),
            m(HYBRID, "seconds"),
            m(TIER1, "seconds"),
        ),
        format!(
            "Test pairs use the {} sources, never seen in training{}; training uses {}. 16 kHz stereo, 1 s dry, 0.5 s of tail kept in every measurement.",
            sources.join(", "),
            if sources.len() > TEST_SOURCES.len() {
                " (music: recorded tracks, 8 kHz originals resampled; sf2-piano: TimGM6mb SoundFont)"
            } else {
                " (real-audio test sources skipped: run `genlab data fetch moh-music` and `genlab data fetch timgm6mb`)"
            },
            TRAIN_SOURCES.join(", "),
        ),
        "Tier 1 searches with cheaper STFT resolutions (50 % overlap: hops 512/1024/256) and reports with the auraloss ones; a render budget bounds its cost per pair (see config).".into(),
        "Sweep channels are identical, so a stereo widener alone does nothing on them (side = 0), and its constant level makes a compressor or limiter act almost as a fixed gain: such effects are present in the truth but barely observable, for every arm (see the by-source table; the arp source has dynamics and stereo spread).".into(),
    ]
}

fn seeds_note(seeds: &[u64]) -> String {
    let listed: Vec<String> = seeds.iter().map(u64::to_string).collect();
    let base = format!(
        "Seed {} measures every arm (the tables and figures); each seed draws its own training and test pairs and retrains tiers 2 and 3, and the verdict pairs them seed by seed (seeds {}).",
        seeds[0],
        listed.join(", ")
    );
    if seeds.len() < MIN_SEEDS {
        format!(
            "{base} With {} seed(s) the verdict cannot hold (at least {MIN_SEEDS} are needed); the full run uses {}.",
            seeds.len(),
            SCALES.full.seeds
        )
    } else {
        base
    }
}
