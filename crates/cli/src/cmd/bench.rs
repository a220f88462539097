//! `genlab bench NAME`: training throughput of a family's models, with achieved GFLOP/s.
//! Compare with the identical PyTorch steps in bench/ (see bench/README.md).

use std::process::ExitCode;

use anyhow::bail;
use genlab_core::bench::StepTimes;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// What to benchmark: `core` (the backend's two reference steps, B1 mlp784 and B2 flow2d,
    /// plus this CPU's measured FP32 peak), `flow` (the flow family's training steps),
    /// `guidance` (the masked-diffusion denoiser's training step and sampling forward) or `sae`
    /// (BatchTopK and OrtSAE training steps at d 576, m 4608, k 32, batch 4096, with vectors/s
    /// and each step's parts).
    name: String,
    /// Timed steps per model.
    #[arg(long, default_value_t = 50)]
    steps: usize,
    /// Untimed warm-up steps.
    #[arg(long, default_value_t = 5)]
    warmup: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, threads: usize) -> anyhow::Result<ExitCode> {
    if args.steps == 0 {
        bail!("--steps must be at least 1");
    }
    let results: Vec<StepTimes> = match args.name.as_str() {
        "core" => genlab_core::bench::REFERENCE_STEPS
            .iter()
            .filter_map(|n| genlab_core::bench::reference_step(n, args.warmup, args.steps))
            .collect(),
        "flow" => genlab_flow::bench::standard_benches()
            .into_iter()
            .map(|(name, config, batch)| {
                genlab_flow::bench::bench_train_step(&name, &config, batch, args.warmup, args.steps)
            })
            .collect(),
        "guidance" => vec![
            genlab_discrete::bench::bench_train_step(args.warmup, args.steps)?,
            genlab_discrete::bench::bench_denoise(args.warmup, args.steps)?,
        ],
        "sae" => {
            let mut rows = Vec::new();
            for arch in [genlab_sae::Arch::BatchTopK, genlab_sae::Arch::OrtSae] {
                rows.push(genlab_sae::bench::bench_train_step(
                    arch,
                    args.warmup,
                    args.steps,
                )?);
                rows.extend(genlab_sae::bench::bench_phases(
                    arch,
                    args.warmup,
                    args.steps,
                )?);
            }
            rows
        }
        other => bail!("unknown benchmark `{other}` (known: core, flow, guidance, sae)"),
    };
    // The measured peak puts achieved GFLOP/s in proportion (threads × single-thread peak).
    let peak = (args.name == "core")
        .then(|| genlab_core::bench::fp32_peak_gflops_per_thread() * threads as f64);
    if args.json {
        let rows: Vec<_> = results
            .iter()
            .map(|r| {
                serde_json::json!({
                    "name": r.name, "threads": threads, "steps_per_s": r.steps_per_second(),
                    "p10_steps_per_s": r.p10_steps_per_second(), "gflops": r.gflops(),
                    "peak_gflops": peak,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!("threads: {threads}");
        if let Some(p) = peak {
            println!("measured FP32 peak: {p:.1} GFLOP/s ({threads} thread(s) x FMA loop)");
        }
        println!(
            "{:48} {:>10} {:>10} {:>9} {:>8}",
            "step", "steps/s", "p10", "GFLOP/s", "% peak"
        );
        for r in &results {
            let share = peak
                .map(|p| format!("{:.0}%", 100.0 * r.gflops() / p))
                .unwrap_or_default();
            println!(
                "{:48} {:>10.2} {:>10.2} {:>9.1} {:>8}",
                r.name,
                r.steps_per_second(),
                r.p10_steps_per_second(),
                r.gflops(),
                share
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
