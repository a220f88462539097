//! The engine against pedalboard, sample by sample: `fixtures/pedalboard_golden.json` holds
//! pedalboard 0.9.26's output (written by `bench/pedalboard_golden.py`, never in CI) for every
//! effect the two share, at several settings, on 0.5 s of the benchmark's stereo test signal.
//! genlab renders the same tool calls on the same signal (computed from the same formula) and
//! must agree to float rounding at every stored sample. A definition that differs (genlab's
//! former reverb dry gain `1 - mix`, its look-ahead limiter or its linked compressor) misses
//! by 10⁻³ to 10⁻¹, so this test fails on any of them.

use genlab_fx::Policy;
use genlab_fx::bench::test_signal;
use genlab_fx::engine::chain::{RenderOptions, ToolCall, render};
use genlab_fx::tools::validate::validate;
use serde::Deserialize;

#[derive(Deserialize)]
struct Golden {
    pedalboard: String,
    sample_rate: u32,
    seconds: f64,
    indices: Vec<usize>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    call: ToolCall,
    samples: Vec<Vec<f32>>,
    rms: f64,
}

/// Largest difference allowed: a few ulp of the output (|y| ≤ 1), from `powf`/`tanhf`/`sinf`
/// rounding on near-ties and their propagation through recursive filters.
const TOLERANCE: f32 = 2e-6;

#[test]
fn every_shared_effect_matches_pedalboard_to_float_rounding() {
    let golden: Golden =
        serde_json::from_str(include_str!("fixtures/pedalboard_golden.json")).unwrap();
    let input = test_signal(golden.sample_rate, golden.seconds);
    let mut worst = Vec::new();
    for case in &golden.cases {
        let chain = validate(std::slice::from_ref(&case.call), Policy::Reject)
            .unwrap_or_else(|e| panic!("{:?}: {e}", case.call))
            .chain;
        let out = render(
            &chain,
            &input,
            RenderOptions {
                block_size: 512,
                pad_tail: false,
            },
        )
        .unwrap()
        .audio;
        let mut max = 0.0f32;
        for (ours, theirs) in out.channels.iter().zip(&case.samples) {
            for (&i, &want) in golden.indices.iter().zip(theirs) {
                max = max.max((ours[i] - want).abs());
            }
        }
        let rms = (out
            .channels
            .iter()
            .flatten()
            .map(|&v| (v as f64).powi(2))
            .sum::<f64>()
            / (out.len() * out.n_channels()) as f64)
            .sqrt();
        worst.push(format!(
            "{} {:?}: max |diff| {max:.2e}, RMS {rms:.6} vs {:.6}",
            case.call.name, case.call.arguments, case.rms
        ));
        assert!(
            max <= TOLERANCE && (rms - case.rms).abs() <= 1e-5 * case.rms.max(1e-3),
            "pedalboard {}: {}",
            golden.pedalboard,
            worst.last().unwrap()
        );
    }
    eprintln!("{}", worst.join("\n"));
}
