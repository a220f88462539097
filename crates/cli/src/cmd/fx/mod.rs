//! `genlab fx`: audio effects as tools. `tools` prints the tool schemas, `apply` runs a chain of
//! tool calls (a JSON file or raw model text) over a WAV file and prints the report, `estimate`
//! recovers a chain (search, learned models, hybrid; one pair or a folder), `dataset` and
//! `train` make learned estimators from the user's audio,
//! `render-demo` writes procedural dry sources and processed versions to listen to, and `mcp`
//! serves the effects to LLM agents over stdio (Model Context Protocol).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use genlab_core::fsx;
use genlab_fx::engine::chain::{Chain, RenderOptions};
use genlab_fx::engine::spec;
use genlab_fx::engine::wav::{self, SampleFormat};
use genlab_fx::estimate::analysis_window;
use genlab_fx::estimate::learned::{Method, Model, estimate as learned_estimate};
use genlab_fx::estimate::objective::{ChainObjective, FitOptions, Pair, fit_effect};
use genlab_fx::estimate::search::SearchOptions;
use genlab_fx::sources::procedural::{SOURCES, source};
use genlab_fx::tools::execute::{ExecuteOptions, execute_text};
use genlab_fx::tools::schema::{self, Dialect};
use genlab_fx::{AudioBuffer, Policy};

use crate::progress::Progress;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Print the effect tool schemas (OpenAI strict function calling, MCP tools/list, the
    /// in-text <tool_call> format for a system prompt, or a Markdown reference).
    Tools {
        /// openai | mcp | text | markdown.
        #[arg(long, default_value = "openai")]
        dialect: Dialect,
    },
    /// Apply a chain of tool calls to a WAV file; prints the report (what was clamped, levels,
    /// tail) as JSON.
    Apply(ApplyArgs),
    /// Estimate the effect chain that turns DRY into WET; prints {"chain": [...], "rationale": ...}
    ///
    /// By default the whole ordered chain is estimated by analysis-by-synthesis: detectors
    /// rank the likely effects from interpretable features (level, crest factor, dynamic range,
    /// tail energy, echo lags, band gains, stereo balance), then a greedy search inserts
    /// effects, fits their parameters on the step grid and compares orders, minimising the
    /// multi-resolution STFT distance; an extra effect is kept only if it lowers the distance
    /// by at least 5%. With --effect NAME only that effect's parameters are fitted.
    ///
    /// --method regression | toolcaller uses a model trained with `genlab fx train` (--model
    /// DIR); --method hybrid starts the search from the model's chain and never returns a
    /// chain that re-renders worse than it; --blind (tool-caller) needs only the wet file.
    /// --batch DIR estimates every ID.dry.wav / ID.wet.wav pair of DIR and writes a summary
    /// page (chains, rationales, spectrograms, audio players, presence F1 and exact order
    /// when ID.chain.json holds the truth) to --report OUT.
    Estimate(EstimateArgs),
    /// Generate (dry, wet, chain) pairs to train or test estimators, from your dry WAVs or the
    /// built-in sources: OUT/ID.dry.wav, OUT/ID.wet.wav, OUT/ID.chain.json, OUT/manifest.json
    ///
    /// Each pair is a window of a dry clip with a random chain of distinct effects (each
    /// parameter uniform on its step grid) rendered over it, tail included. Seeded: the same
    /// arguments write the same files.
    Dataset(DatasetArgs),
    /// Train a learned estimator (regression baseline or tool-caller) on a folder of pairs
    ///
    /// Reads DATA/ID.{dry,wet}.wav and DATA/ID.chain.json (as `genlab fx dataset` writes them),
    /// trains with checkpoints in OUT (Ctrl-C saves; rerun with --resume to continue) and
    /// writes the model to OUT, for `genlab fx estimate --method ... --model OUT`.
    Train(TrainArgs),
    /// Serve the effects to LLM agents over stdio with the Model Context Protocol
    ///
    /// Speaks MCP through the official Rust SDK, rmcp (JSON-RPC 2.0, one message per line on
    /// stdin/stdout; revisions 2024-11-05 to 2025-11-25, and the stateless 2026-07-28) until
    /// stdin closes. Tools:
    ///   apply_chain     run an ordered chain of effect tool calls over a WAV file
    ///   estimate_chain  the chain that turns a dry WAV into a wet one (search with a render
    ///                   budget; progress notifications)
    ///   list_effects    every effect's parameters (unit, range, step, default)
    ///   <effect>        one tool per effect (gain, reverb, ...; see `genlab fx tools`) over
    ///                   a WAV file
    /// Each returns the output path and a JSON report (adjusted arguments, levels, tail).
    /// Paths are local .wav files; relative paths resolve against the working directory.
    /// Resources: genlab-fx://effects and genlab-fx://effects/<name>, the effect reference
    /// in Markdown.
    ///
    /// Register it in an MCP client (Claude Desktop `claude_desktop_config.json`, Cursor
    /// `.cursor/mcp.json`, VS Code, ...) as a stdio server:
    ///
    ///   {
    ///     "mcpServers": {
    ///       "genlab-fx": { "command": "genlab", "args": ["fx", "mcp"] }
    ///     }
    ///   }
    ///
    /// (use the absolute path of the genlab binary if it is not on the client's PATH).
    /// Nothing but protocol messages is written to stdout; stderr is free for logs.
    #[command(verbatim_doc_comment)]
    Mcp,
    /// Write procedural dry sources (pluck, pad, drum, sweep) and processed versions to DIR.
    RenderDemo {
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Seed of the sources.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Seconds per source.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum FormatArg {
    /// 32-bit float (no clipping).
    Float32,
    /// 16-bit PCM.
    Pcm16,
}

#[derive(clap::Args, Debug)]
pub struct ApplyArgs {
    /// Input WAV (16/24/32-bit PCM or 32/64-bit float, any channel count).
    #[arg(long = "in")]
    input: PathBuf,
    /// Chain file: a JSON list of tool calls (or any text holding them).
    #[arg(long, conflicts_with = "calls", required_unless_present = "calls")]
    chain: Option<PathBuf>,
    /// Tool calls as text, e.g. model output with <tool_call> blocks.
    #[arg(long)]
    calls: Option<String>,
    /// Output WAV.
    #[arg(long)]
    out: PathBuf,
    /// What to do with out-of-range or off-grid arguments: reject | clamp | snap.
    #[arg(long, default_value = "clamp")]
    policy: Policy,
    /// Keep the input length (cut reverb/delay tails).
    #[arg(long)]
    no_tail: bool,
    /// Scale the output to the input's RMS level.
    #[arg(long)]
    match_loudness: bool,
    /// Output sample format.
    #[arg(long, value_enum, default_value = "float32")]
    format: FormatArg,
    /// Processing block size in samples (the output does not depend on it).
    #[arg(long, default_value_t = 512)]
    block_size: usize,
}

#[derive(clap::Args, Debug)]
pub struct EstimateArgs {
    /// The unprocessed WAV (not needed with --blind).
    #[arg(long, required_unless_present_any = ["blind", "batch"])]
    dry: Option<PathBuf>,
    /// The processed WAV (same sample rate and channels).
    #[arg(long, required_unless_present = "batch")]
    wet: Option<PathBuf>,
    /// search (analysis-by-synthesis) | regression | toolcaller | hybrid (a trained model's
    /// chain refined by the search; never returned worse than the model's own chain).
    #[arg(long, default_value = "search")]
    method: String,
    /// Trained model directory (from `genlab fx train`), for every method but search.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Estimate from the wet file alone (no dry reference; tool-caller models only).
    #[arg(long)]
    blind: bool,
    /// Estimate every pair ID.dry.wav / ID.wet.wav in DIR (ID.chain.json, when present, is
    /// the truth to score against) and write a summary page to --report.
    #[arg(long, conflicts_with_all = ["dry", "wet", "effect"], requires = "report")]
    batch: Option<PathBuf>,
    /// Output directory of the batch summary (index.html, summary.json, spectrograms, audio).
    #[arg(long)]
    report: Option<PathBuf>,
    /// Fit only this effect's parameters (see `genlab fx tools`) instead of a whole chain.
    #[arg(long)]
    effect: Option<String>,
    /// Analyse only the first SECONDS of the dry file (each candidate is re-rendered); when
    /// the dry file is not cut, up to 0.5 s of the wet file after its end (tails) is kept.
    #[arg(long, default_value_t = 2.0)]
    max_seconds: f64,
    /// Maximum coordinate-search passes over the parameters (--effect mode).
    #[arg(long, default_value_t = 4)]
    passes: usize,
    /// Longest chain to estimate (search and hybrid; LLM2Fx-Tools-style chains have 1–4).
    #[arg(long, default_value_t = 4)]
    max_effects: usize,
    /// Most candidate renders (search and hybrid).
    #[arg(long, default_value_t = 800)]
    budget: usize,
}

pub fn run(command: Command, mut progress: Progress) -> anyhow::Result<ExitCode> {
    match command {
        Command::Tools { dialect } => {
            print!("{}", schema::render(dialect));
            if matches!(dialect, Dialect::OpenAi | Dialect::Mcp) {
                println!();
            }
        }
        Command::Apply(args) => apply(args)?,
        Command::Estimate(args) => estimate(args, &mut progress)?,
        Command::Dataset(args) => learned::dataset(args, progress)?,
        Command::Train(args) => learned::train(args, progress)?,
        Command::RenderDemo { out, seed, seconds } => render_demo(&out, seed, seconds, &progress)?,
        Command::Mcp => {
            genlab_fx::tools::mcp::serve(std::io::stdin().lock(), std::io::stdout().lock())
                .context("MCP stdio transport")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn apply(args: ApplyArgs) -> anyhow::Result<()> {
    let text = match (&args.chain, &args.calls) {
        (Some(path), _) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read chain file {}", path.display()))?,
        (None, Some(text)) => text.clone(),
        (None, None) => bail!("give --chain FILE or --calls TEXT"),
    };
    let input = wav::read(&args.input)?;
    let options = ExecuteOptions {
        policy: args.policy,
        render: RenderOptions {
            block_size: args.block_size.max(1),
            pad_tail: !args.no_tail,
        },
        match_loudness: args.match_loudness,
    };
    let started = Instant::now();
    let done = execute_text(&input, &text, options)?;
    let render_seconds = started.elapsed().as_secs_f64();
    let format = match args.format {
        FormatArg::Float32 => SampleFormat::Float32,
        FormatArg::Pcm16 => SampleFormat::Pcm16,
    };
    let clipped = wav::write(&args.out, &done.audio, format)?;
    let mut report = serde_json::to_value(&done.report)?;
    if let Some(map) = report.as_object_mut() {
        map.insert("output_file".into(), args.out.display().to_string().into());
        map.insert("samples_clipped_in_file".into(), clipped.into());
        map.insert("render_seconds".into(), render_seconds.into());
        map.insert(
            "realtime_factor".into(),
            (done.report.output_seconds / render_seconds.max(1e-9)).into(),
        );
    }
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

fn estimate(args: EstimateArgs, progress: &mut Progress) -> anyhow::Result<()> {
    if args.max_seconds.is_nan() || args.max_seconds <= 0.0 {
        bail!("--max-seconds must be positive");
    }
    if !(1..=9).contains(&args.max_effects) {
        bail!("--max-effects must be between 1 and 9");
    }
    let method: Method = args.method.parse()?;
    let model = match (&args.model, method) {
        (Some(dir), _) => Some(Model::load(dir)?),
        (None, Method::Search) => None,
        (None, _) => bail!(
            "--method {} needs --model DIR (train one with `genlab fx train`)",
            args.method
        ),
    };
    if args.blind && method != Method::ToolCaller {
        bail!("--blind works with --method toolcaller only (the other methods need the dry audio)");
    }
    if let Some(dir) = &args.batch {
        let report = args.report.clone().context("--batch needs --report DIR")?;
        return learned::batch(&args, method, model.as_ref(), dir, &report, progress);
    }
    let wet_path = args.wet.clone().context("--wet is required")?;
    let mut wet = wav::read(&wet_path)?;
    if args.blind {
        let started = Instant::now();
        let len = ((args.max_seconds * wet.sample_rate as f64) as usize).min(wet.len());
        for ch in &mut wet.channels {
            ch.truncate(len);
        }
        let found = learned_estimate(
            method,
            model.as_ref(),
            None,
            &wet,
            &SearchOptions::default(),
        )?;
        let out = serde_json::json!({
            "chain": found.chain.to_calls(),
            "rationale": found.rationale,
            "method": args.method,
            "blind": true,
            "seconds": started.elapsed().as_secs_f64(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let mut dry = wav::read(args.dry.as_ref().context("--dry is required")?)?;
    if let Some(name) = args.effect.clone() {
        return estimate_effect(args, &name, dry, wet);
    }
    if dry.sample_rate != wet.sample_rate || dry.n_channels() != wet.n_channels() {
        bail!(
            "dry ({} Hz, {} ch) and wet ({} Hz, {} ch) must have the same sample rate and channel count",
            dry.sample_rate,
            dry.n_channels(),
            wet.sample_rate,
            wet.n_channels()
        );
    }
    let max_tail_seconds = analysis_window(&mut dry, &mut wet, args.max_seconds);
    let options = SearchOptions {
        max_effects: args.max_effects,
        budget: args.budget.max(1),
        max_tail_seconds,
        ..SearchOptions::default()
    };
    let started = Instant::now();
    let found = learned_estimate(method, model.as_ref(), Some(&dry), &wet, &options)?;
    let pair = Pair::new(&dry, &wet, Some(max_tail_seconds))?;
    // One objective for both reported distances: the target's auraloss spectra once.
    let reported =
        ChainObjective::auraloss(&pair)?.distances(&[found.chain.clone(), Chain::default()])?;
    let mut out = serde_json::json!({
        "chain": found.chain.to_calls(),
        "rationale": found.rationale,
        "mrstft": reported[0],
        "mrstft_no_op": reported[1],
        "renders": found.renders,
        "method": args.method,
        "seconds": started.elapsed().as_secs_f64(),
    });
    if let Some((chain, d)) = &found.proposal {
        out["proposal"] = serde_json::json!({"chain": chain.to_calls(), "mrstft": d});
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

fn estimate_effect(
    args: EstimateArgs,
    name: &str,
    mut dry: AudioBuffer,
    mut wet: AudioBuffer,
) -> anyhow::Result<()> {
    let Some(spec) = spec::effect(name) else {
        bail!("unknown effect `{name}` (see `genlab fx tools --dialect text`)");
    };
    let len = ((args.max_seconds * dry.sample_rate as f64) as usize)
        .min(dry.len())
        .min(wet.len());
    for ch in dry.channels.iter_mut().chain(wet.channels.iter_mut()) {
        ch.truncate(len);
    }
    let started = Instant::now();
    let fit = fit_effect(
        &dry,
        &wet,
        spec,
        FitOptions {
            max_passes: args.passes.max(1),
        },
    )?;
    let rationale = format!(
        "fitted {} by coordinate search over its parameter grid on the first {:.2} s: \
         MRSTFT to the target {:.4} (dry vs target {:.4}) after {} renders in {} pass(es)",
        spec.name,
        len as f64 / dry.sample_rate as f64,
        fit.distance,
        fit.no_op_distance,
        fit.evaluations,
        fit.passes
    );
    let out = serde_json::json!({
        "chain": [fit.stage.to_call()],
        "rationale": rationale,
        "mrstft": fit.distance,
        "mrstft_no_op": fit.no_op_distance,
        "seconds": started.elapsed().as_secs_f64(),
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// Demo chains, written as the tool calls a model would emit.
const DEMOS: [(&str, &str); 5] = [
    (
        "room",
        r#"[{"name": "equalizer", "arguments": {"low_gain_db": -3, "low_cutoff_hz": 120, "low_q": 0.7, "mid_gain_db": 2, "mid_center_hz": 2500, "mid_q": 1.0, "high_gain_db": 0, "high_cutoff_hz": 8000, "high_q": 0.7}},
            {"name": "reverb", "arguments": {"room_size": 0.7, "damping": 0.4, "width": 0.9, "mix": 0.35}}]"#,
    ),
    (
        "echo",
        r#"[{"name": "delay", "arguments": {"delay_seconds": 0.3, "feedback": 0.45, "mix": 0.4}},
            {"name": "stereo_widener", "arguments": {"width": 1.4}}]"#,
    ),
    (
        "crunch",
        r#"[{"name": "distortion", "arguments": {"drive_db": 14}},
            {"name": "equalizer", "arguments": {"low_gain_db": 2, "low_cutoff_hz": 100, "low_q": 0.7, "mid_gain_db": -4, "mid_center_hz": 750, "mid_q": 1.5, "high_gain_db": -6, "high_cutoff_hz": 6000, "high_q": 0.7}},
            {"name": "gain", "arguments": {"gain_db": -8}}]"#,
    ),
    (
        "master",
        r#"[{"name": "compressor", "arguments": {"threshold_db": -25, "ratio": 4, "attack_ms": 10, "release_ms": 100, "makeup_db": 6}},
            {"name": "equalizer", "arguments": {"low_gain_db": 1, "low_cutoff_hz": 80, "low_q": 0.7, "mid_gain_db": 0, "mid_center_hz": 1000, "mid_q": 0.7, "high_gain_db": 2, "high_cutoff_hz": 10000, "high_q": 0.7}},
            {"name": "reverb", "arguments": {"room_size": 0.3, "damping": 0.5, "width": 0.8, "mix": 0.12}},
            {"name": "panner", "arguments": {"pan": 0.2}},
            {"name": "limiter", "arguments": {"threshold_db": -1, "release_ms": 50}}]"#,
    ),
    (
        "filter-sweep",
        r#"[{"name": "equalizer", "arguments": {"low_gain_db": -12, "low_cutoff_hz": 200, "low_q": 0.7, "mid_gain_db": 15, "mid_center_hz": [[0, 250], [3, 6000]], "mid_q": 4, "high_gain_db": -12, "high_cutoff_hz": 8000, "high_q": 0.7}},
            {"name": "gain", "arguments": {"gain_db": [[0, -20], [0.5, -6], [2.5, -6], [3, -20]]}}]"#,
    ),
];

fn render_demo(
    dir: &std::path::Path,
    seed: u64,
    seconds: f64,
    progress: &Progress,
) -> anyhow::Result<()> {
    if seconds.is_nan() || seconds <= 0.0 || seconds > 60.0 {
        bail!("--seconds must be in (0, 60], got {seconds}");
    }
    let sample_rate = 44100;
    for (name, calls) in DEMOS {
        fsx::atomic_write(
            &dir.join("chains").join(format!("{name}.json")),
            calls.as_bytes(),
        )?;
    }
    let mut written = 0;
    for name in SOURCES {
        let dry = source(name, sample_rate, seconds, seed).context("known source")?;
        let write = |version: &str, audio: &AudioBuffer| {
            let path = dir.join(format!("{name}.{version}.wav"));
            wav::write(&path, audio, SampleFormat::Pcm16)
        };
        write("dry", &dry)?;
        written += 1;
        for (demo, calls) in DEMOS {
            let options = ExecuteOptions {
                match_loudness: demo != "filter-sweep",
                ..ExecuteOptions::default()
            };
            let done = execute_text(&dry, calls, options)?;
            let mut audio = done.audio;
            // Keep the files playable in 16-bit: scale down rather than clip.
            let peak = audio.peak();
            if peak > 1.0 {
                for x in audio.channels.iter_mut().flatten() {
                    *x /= peak;
                }
            }
            write(demo, &audio)?;
            written += 1;
        }
        progress.say(&format!("{name}: dry + {} processed versions", DEMOS.len()));
    }
    println!(
        "wrote {written} WAV files ({} sources × (dry + {} chains), 44.1 kHz stereo, seed {seed}) and the chains under {}",
        SOURCES.len(),
        DEMOS.len(),
        dir.join("chains").display()
    );
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct DatasetArgs {
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    /// Directory of your dry WAV files (resampled to --sample-rate); without it, the built-in
    /// sources of --sources are used.
    #[arg(long)]
    dry: Option<PathBuf>,
    /// Built-in sources, comma-separated (pluck, pad, drum, sweep, tones, noise, arp, and when
    /// fetched music, sf2-piano, ...).
    #[arg(long, default_value = "pluck,pad,drum,tones,noise")]
    sources: String,
    /// Effects chains are drawn from, comma-separated (default: all nine).
    #[arg(long)]
    effects: Option<String>,
    /// Number of pairs.
    #[arg(long, default_value_t = 200)]
    pairs: usize,
    /// Shortest chain.
    #[arg(long, default_value_t = 1)]
    min_effects: usize,
    /// Longest chain.
    #[arg(long, default_value_t = 3)]
    max_effects: usize,
    /// Seconds of dry audio per pair.
    #[arg(long, default_value_t = 1.0)]
    seconds: f64,
    /// Sample rate of the pairs.
    #[arg(long, default_value_t = 16_000)]
    sample_rate: u32,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// regression (presence + parameters, fixed order) | toolcaller (autoregressive, ordered).
    #[arg(long)]
    method: String,
    /// Folder of pairs (from `genlab fx dataset`).
    #[arg(long)]
    data: PathBuf,
    /// Output directory: the model and its checkpoints.
    #[arg(long)]
    out: PathBuf,
    /// Optimisation steps (default: 2000 regression, 1500 tool-caller).
    #[arg(long)]
    steps: Option<u64>,
    /// Seed of initialisation and batches.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Continue the run checkpointed in --out.
    #[arg(long)]
    resume: bool,
}

mod learned;
