//! `genlab bench NAME`: training throughput of a family's models, with achieved GFLOP/s.
//! Compare with the identical PyTorch steps in bench/ (see bench/README.md).

use std::process::ExitCode;

use anyhow::bail;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// What to benchmark: `flow`.
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
    let results = match args.name.as_str() {
        "flow" => genlab_flow::bench::standard_benches()
            .into_iter()
            .map(|(name, config, batch)| {
                genlab_flow::bench::bench_train_step(&name, &config, batch, args.warmup, args.steps)
            })
            .collect::<Vec<_>>(),
        other => bail!("unknown benchmark `{other}` (known: flow)"),
    };
    if args.json {
        let rows: Vec<_> = results
            .iter()
            .map(|r| {
                serde_json::json!({
                    "name": r.name, "threads": threads, "steps_per_s": r.steps_per_second(),
                    "p10_steps_per_s": r.p10_steps_per_second(), "gflops": r.gflops(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!("threads: {threads}");
        println!(
            "{:48} {:>10} {:>10} {:>9}",
            "step", "steps/s", "p10", "GFLOP/s"
        );
        for r in &results {
            println!(
                "{:48} {:>10.2} {:>10.2} {:>9.1}",
                r.name,
                r.steps_per_second(),
                r.p10_steps_per_second(),
                r.gflops()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
