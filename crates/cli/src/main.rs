//! `genlab`: reproduce ML papers on a laptop CPU, and use their methods on your own data.
//!
//! This binary only parses arguments, calls the library crates, and renders what they return;
//! errors are printed here as one line and turned into a non-zero exit code.
#![warn(missing_docs)]

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

// Every command's printing goes through `stdio`, which handles a closed or full stream once
// (std's macros panic). Defined before the modules so that they shadow std's in all of them.
macro_rules! print {
    ($($arg:tt)*) => { $crate::stdio::out(format_args!($($arg)*)) };
}
macro_rules! println {
    () => { $crate::stdio::out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::stdio::out(format_args!("{}\n", format_args!($($arg)*))) };
}
#[allow(unused_macros)] // for the family commands that print without a newline
macro_rules! eprint {
    ($($arg:tt)*) => { $crate::stdio::err(format_args!($($arg)*)) };
}
macro_rules! eprintln {
    () => { $crate::stdio::err(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::stdio::err(format_args!("{}\n", format_args!($($arg)*))) };
}

mod cmd;
mod families;
mod progress;
mod stdio;

// mimalloc: burn allocates a fresh buffer per op, and glibc hands memory back to the kernel and
// faults it in again every step (15–20% of a small-MLP step; shared/research/perf-gap.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

unsafe extern "C" {
    /// mimalloc's `mi_option_set` (in the C library the `mimalloc` crate links).
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// `mi_option_purge_delay`: the 16th entry of `mi_option_e` in mimalloc v2 and v3 alike.
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

/// mimalloc hands freed pages back to the kernel after 10 ms, and the next op's fresh buffer
/// faults them in again, zeroed: 9–24% of the LM and slots benchmark profiles
/// (bench/README.md). Keeping them (-1: never purge) changes no result, only the peak memory
/// that stays mapped.
fn keep_freed_pages() {
    // SAFETY: sets a plain integer option; mimalloc reads it on its next purge.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

/// genlab: recent ML research methods as fast, tested, offline software.
///
/// Start with `genlab list`, then `genlab repro all --quick` (seconds) or `genlab repro all`
/// (minutes). Results go to ./out/index.html.
#[derive(Parser, Debug)]
#[command(name = "genlab", version, about, long_about = None)]
struct Cli {
    /// CPU threads for tensor work (default: $GENLAB_THREADS, else all cores; recorded in every
    /// report; results do not depend on it).
    #[arg(long, global = true)]
    threads: Option<usize>,
    /// No progress bars.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List every family with its experiments (and their claims), benchmarks and datasets.
    List(cmd::list::Args),
    /// Run an experiment (or `all`) and write OUT/<name>/report.json and OUT/index.html.
    Repro(cmd::repro::Args),
    /// Rebuild OUT/index.html from the report.json files under OUT.
    Report(cmd::report::Args),
    /// Fetch or list registry datasets (cached under $GENLAB_DATA or ~/.cache/genlab).
    #[command(subcommand)]
    Data(cmd::data::Command),
    /// Train and sample diffusion / flow-matching models on your own points.
    #[command(subcommand)]
    Flow(cmd::flow::Command),
    /// Consistency mid-training: distil an EDM model into a 1–2-step sampler.
    #[command(subcommand)]
    Cmt(cmd::cmt::Command),
    /// Masked discrete diffusion with classifier-free guidance: train on token sequences, sample
    /// with the standard or the column-normalised rule.
    #[command(subcommand)]
    Guidance(cmd::guidance::Command),
    /// Sparse autoencoders (BatchTopK, OrtSAE, ...): train on activation vectors, evaluate; SAELens
    /// layout.
    #[command(subcommand)]
    Sae(cmd::sae::Command),
    /// Audio effects as LLM-callable tools: list schemas, apply a chain of tool calls to a WAV.
    #[command(subcommand)]
    Fx(cmd::fx::Command),
    /// Graded modal logic and GNNs: model-check, compile a formula to a GNN, decompile, verify.
    #[command(subcommand)]
    Logic(cmd::logic::Command),
    /// Data attribution (TRAK, D-TRAK, Concept-TRAK) and LDS: featurise, score, gather shards.
    #[command(subcommand, alias = "attribute")]
    Attribution(cmd::attribution::Command),
    /// Conditional GANs (projection, AC-GAN, SAN, SONA discriminators): train on a labelled CSV, sample a class.
    #[command(subcommand)]
    Gan(cmd::gan::Command),
    /// Object-centric slots (CODA): learn slots on a folder of images, segment images into object masks.
    #[command(subcommand)]
    Slots(cmd::slots::Command),
    /// Contrastive learning (SimCLR, SupCon, Hydra pair gates): train on labelled vectors or Fashion-MNIST, embed.
    #[command(subcommand)]
    Contrastive(cmd::contrastive::Command),
    /// Networks as data: align two networks (Re-Basin), train a zoo, train a flow over weights, generate networks.
    #[command(subcommand)]
    Weights(cmd::weights::Command),
    /// Region-prompted image–text embeddings (VIRTUE): train, query an image region against captions, index and search.
    #[command(subcommand)]
    Embed(cmd::embed::Command),
    /// Camera-controlled generation with a static 3D memory (3DScenePrompt): render synthetic worlds, generate frames.
    #[command(subcommand)]
    Scene(cmd::scene::Command),
    /// Align network B's hidden units onto network A's (Git Re-Basin weight matching) and report
    /// the loss barrier before and after; the same as `genlab weights rebasin`.
    Rebasin(cmd::weights::RebasinArgs),
    /// Measure training throughput (steps/s) of a family's models.
    Bench(cmd::bench::Args),
}

fn main() -> ExitCode {
    keep_freed_pages();
    // The registry is the source of truth for what each family command is about.
    let mut command = Cli::command().after_help(families::help());
    for f in families::FAMILIES {
        command = command.mut_subcommand(f.name, |c| c.about(f.summary));
    }
    let matches = match command.try_get_matches() {
        Ok(matches) => matches,
        // --help, --version, and a command without its subcommand: clap prints the help.
        Err(e)
            if !e.use_stderr()
                || e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand =>
        {
            e.exit()
        }
        Err(e) => {
            eprintln!("genlab: {}", stdio::parse_error_line(&e));
            return ExitCode::from(2);
        }
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match run(cli) {
        Ok(code) => code,
        Err(err) if stdio::broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("genlab: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let threads = cmd::threads::resolve(cli.threads)?;
    genlab_core::device::set_threads(threads)?;
    let progress = progress::Progress::new(cli.quiet);
    match cli.command {
        Command::List(args) => cmd::list::run(args),
        Command::Repro(args) => cmd::repro::run(args, threads, progress),
        Command::Report(args) => cmd::report::run(args),
        Command::Data(c) => cmd::data::run(c),
        Command::Flow(c) => cmd::flow::run(c, progress),
        Command::Cmt(c) => cmd::cmt::run(c, progress),
        Command::Guidance(c) => cmd::guidance::run(c, progress),
        Command::Sae(c) => cmd::sae::run(c, progress),
        Command::Logic(c) => cmd::logic::run(c, progress),
        Command::Fx(c) => cmd::fx::run(c, progress),
        Command::Attribution(c) => cmd::attribution::run(c, progress),
        Command::Gan(c) => cmd::gan::run(c, progress),
        Command::Slots(c) => cmd::slots::run(c, progress),
        Command::Contrastive(c) => cmd::contrastive::run(c, progress),
        Command::Weights(c) => cmd::weights::run(c, progress),
        Command::Embed(c) => cmd::embed::run(c, progress),
        Command::Scene(c) => cmd::scene::run(c, progress),
        Command::Rebasin(args) => cmd::weights::run(cmd::weights::Command::Rebasin(args), progress),
        Command::Bench(args) => cmd::bench::run(args, threads),
    }
}
