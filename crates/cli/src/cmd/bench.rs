//! `genlab bench NAME`: training throughput of a family's models, with achieved GFLOP/s.
//! Compare with the identical PyTorch steps in bench/ (see bench/README.md).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use genlab_core::bench::StepTimes;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// What to benchmark: `core` (the backend's two reference steps, B1 mlp784 and B2 flow2d,
    /// plus this CPU's measured FP32 peak), `flow` (the flow family's training steps),
    /// `guidance` (the masked-diffusion denoiser's training step and sampling forward) or `sae`
    /// (BatchTopK and OrtSAE training steps at d 576, m 4608, k 32, batch 4096, with vectors/s
    /// and each step's parts), `fx` (real-time factor of every effect and a 5-effect chain on
    /// 30 s of 44.1 kHz stereo, blocks of 512 and whole-buffer; each step is one render, so
    /// `--steps 10 --warmup 2` is plenty).
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
    /// `fx` only: seconds of audio per render (default 30).
    #[arg(long)]
    seconds: Option<f64>,
    /// `fx` only: write the test input and each row's whole-buffer render as float WAVs here
    /// (`input.wav`, `ROW.wav`), for bench/pedalboard_fx.py's sample comparison.
    #[arg(long, value_name = "DIR")]
    write: Option<PathBuf>,
}

pub fn run(args: Args, threads: usize) -> anyhow::Result<ExitCode> {
    if args.steps == 0 {
        bail!("--steps must be at least 1");
    }
    if args.name == "fx" {
        return run_fx(&args, threads);
    }
    if args.seconds.is_some() || args.write.is_some() {
        bail!("--seconds and --write apply to `genlab bench fx` only");
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
        other => bail!("unknown benchmark `{other}` (known: core, flow, guidance, sae, fx)"),
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

/// `genlab bench fx`: real-time factor per row and block mode (genlab_fx::bench).
fn run_fx(args: &Args, threads: usize) -> anyhow::Result<ExitCode> {
    use genlab_fx::bench::{BLOCK, ROWS, SAMPLE_RATE, SECONDS, test_signal, time_row};
    use genlab_fx::wav::{self, SampleFormat};

    let seconds = args.seconds.unwrap_or(SECONDS);
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= 3600.0) {
        bail!("--seconds must be in (0, 3600], got {seconds}");
    }
    let input = test_signal(SAMPLE_RATE, seconds);
    if let Some(dir) = &args.write {
        std::fs::create_dir_all(dir)?;
        wav::write(&dir.join("input.wav"), &input, SampleFormat::Float32)?;
    }
    let mut timings = Vec::new();
    for row in ROWS {
        for block in [Some(BLOCK), None] {
            let (timing, output) = time_row(row, &input, block, args.warmup, args.steps)?;
            if let (Some(dir), None) = (&args.write, block) {
                let path = dir.join(format!("{}.wav", row.name));
                wav::write(&path, &output, SampleFormat::Float32)?;
            }
            timings.push(timing);
        }
    }
    if args.json {
        let rows: Vec<_> = timings
            .iter()
            .map(|t| {
                serde_json::json!({
                    "name": t.row, "block": t.block_label(), "threads": threads,
                    "sample_rate": SAMPLE_RATE, "audio_seconds": t.audio_seconds,
                    "renders": t.times.seconds.len(), "rtf": t.rtf(), "p10_rtf": t.p10_rtf(),
                    "ms_per_render": 1e3 / t.times.steps_per_second(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!(
            "fx: {seconds} s of {SAMPLE_RATE} Hz stereo per render, {} timed render(s) after {} \
             warm-up; effects run on one thread",
            args.steps, args.warmup
        );
        println!(
            "{:16} {:>6} {:>10} {:>10} {:>12}",
            "row", "block", "RTF", "p10 RTF", "ms/render"
        );
        for t in &timings {
            println!(
                "{:16} {:>6} {:>10.1} {:>10.1} {:>12.2}",
                t.row,
                t.block_label(),
                t.rtf(),
                t.p10_rtf(),
                1e3 / t.times.steps_per_second()
            );
        }
        if let Some(dir) = &args.write {
            println!(
                "wrote input.wav and one whole-buffer render per row to {}",
                dir.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
