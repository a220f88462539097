//! Tests of the tier-1 search ([`super`]).

use super::*;
use crate::engine::spec::effect;
use crate::estimate::objective::tests::wet;
use crate::sources::procedural::source;

#[test]
fn permutations_are_all_distinct_orders() {
    let p = permutations(3);
    assert_eq!(p.len(), 6);
    assert_eq!(p[0], vec![0, 1, 2]);
    let set: std::collections::HashSet<_> = p.iter().collect();
    assert_eq!(set.len(), 6);
    assert_eq!(permutations(1), vec![vec![0]]);
}

#[test]
fn commuting_effects_share_one_insertion_position_and_one_order() {
    let st = |n: &str| {
        let e = effect(n).unwrap();
        Stage::constant(e, &e.defaults())
    };
    let chain = Chain {
        stages: vec![
            st("compressor"),
            st("equalizer"),
            st("delay"),
            st("distortion"),
        ],
    };
    // A commuting effect: before the compressor, after the EQ–delay run, at the end.
    assert_eq!(insertion_positions(&chain, "gain"), vec![0, 3, 4]);
    assert_eq!(insertion_positions(&chain, "limiter"), vec![0, 1, 2, 3, 4]);
    assert_eq!(
        canonical_order(&[
            "distortion",
            "reverb",
            "gain",
            "limiter",
            "equalizer",
            "delay"
        ]),
        vec![
            "distortion",
            "gain",
            "reverb",
            "limiter",
            "delay",
            "equalizer"
        ]
    );
    // Rendering confirms the commutation the search relies on (to float rounding).
    let dry = source("pluck", 16000, 0.5, 1).unwrap();
    let a = Chain {
        stages: vec![st("equalizer"), st("reverb"), st("delay")],
    };
    let b = Chain {
        stages: vec![st("delay"), st("equalizer"), st("reverb")],
    };
    let (wa, wb) = (wet(&dry, &a), wet(&dry, &b));
    let diff = wa
        .channels
        .iter()
        .flatten()
        .zip(wb.channels.iter().flatten());
    assert!(diff.map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max) < 1e-4);
}

#[test]
fn several_starts_keep_the_lowest_and_a_prefix_render_is_exact() {
    let dry = source("drum", 16000, 0.5, 3).unwrap();
    let truth = Chain {
        stages: vec![
            Stage::constant(effect("distortion").unwrap(), &[12.0]),
            Stage::constant(effect("gain").unwrap(), &[-6.0]),
        ],
    };
    let w = wet(&dry, &truth);
    let wrong = Chain {
        stages: vec![Stage::constant(effect("delay").unwrap(), &[0.3, 0.3, 0.5])],
    };
    let options = SearchOptions::default();
    let found = search_from_any(&dry, &w, &[wrong, truth.clone()], &options).unwrap();
    let (start, _, _) = found.trace.started_from.clone().unwrap();
    assert_eq!(start, vec!["distortion", "gain"], "{:?}", found.trace);
    assert!(found.trace.distance < 1e-6, "{:?}", found.trace);
    // The objective's prefix renders give the same distances as whole renders.
    let pair = Pair::new(&dry, &w, Some(0.5)).unwrap();
    let mut shared = ChainObjective::new(&pair, &SEARCH_RESOLUTIONS).unwrap();
    let variants: Vec<Chain> = [-8.0, -6.0, -4.0]
        .iter()
        .map(|&g| {
            let mut c = truth.clone();
            c.stages[1] = Stage::constant(effect("gain").unwrap(), &[g]);
            c
        })
        .collect();
    let ds = shared.distances(&variants).unwrap();
    assert!(
        shared.stage_renders < 2 * variants.len(),
        "{}",
        shared.stage_renders
    );
    for (c, d) in variants.iter().zip(ds) {
        let mut alone = ChainObjective::new(&pair, &SEARCH_RESOLUTIONS).unwrap();
        assert_eq!(alone.distance(c).unwrap(), d);
    }
}

#[test]
fn recovers_a_single_gain_exactly() {
    let dry = source("pluck", 16000, 0.5, 1).unwrap();
    let truth = Chain {
        stages: vec![Stage::constant(effect("gain").unwrap(), &[-8.0])],
    };
    let found = search(&dry, &wet(&dry, &truth), &SearchOptions::default()).unwrap();
    assert_eq!(found.chain, truth, "{:?}", found.trace);
    assert!(found.trace.distance < 1e-6);
    let text = crate::estimate::rationale::explain(&found.trace);
    assert!(text.contains("gain"), "{text}");
}

#[test]
fn recovers_a_two_effect_chain_in_order() {
    // Distortion then delay on a drum loop: the echoes of a distorted signal differ from a
    // distorted echo, so the order is identifiable.
    let dry = source("drum", 16000, 1.0, 3).unwrap();
    let truth = Chain {
        stages: vec![
            Stage::constant(effect("distortion").unwrap(), &[16.0]),
            Stage::constant(effect("delay").unwrap(), &[0.25, 0.3, 0.5]),
        ],
    };
    let found = search(&dry, &wet(&dry, &truth), &SearchOptions::default()).unwrap();
    assert_eq!(
        names(&found.chain),
        vec!["distortion", "delay"],
        "{:?}",
        found.trace
    );
    assert!(
        found.trace.distance < 0.2 * found.trace.no_op,
        "{:?}",
        found.trace
    );
    assert!(found.trace.evaluations <= SearchOptions::default().budget + 5 + 6);
}

#[test]
fn an_identity_gives_the_empty_chain() {
    let dry = source("pad", 16000, 0.5, 1).unwrap();
    let found = search(&dry, &dry, &SearchOptions::default()).unwrap();
    assert!(found.chain.stages.is_empty(), "{:?}", found.chain);
}

#[test]
fn the_result_does_not_depend_on_the_thread_count() {
    let dry = source("pluck", 16000, 0.5, 2).unwrap();
    let truth = Chain {
        stages: vec![
            Stage::constant(
                effect("compressor").unwrap(),
                &[-25.0, 6.0, 5.0, 100.0, 0.0],
            ),
            Stage::constant(effect("reverb").unwrap(), &[0.5, 0.3, 0.8, 0.3]),
        ],
    };
    let w = wet(&dry, &truth);
    let options = SearchOptions {
        budget: 250,
        ..SearchOptions::default()
    };
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| search(&dry, &w, &options).unwrap())
    };
    let (one, two) = (run(1), run(2));
    assert_eq!(one.chain, two.chain);
    assert_eq!(one.trace, two.trace);
}
