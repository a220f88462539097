//! `genlab logic`: model-check graded modal formulas on graphs, compile them into exact GNNs,
//! decompile networks back into formulas, verify a network against a formula on random graphs,
//! and benchmark the checker.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use genlab_logic::check::check;
use genlab_logic::compile::compile;
use genlab_logic::decompile::{Options, decompile};
use genlab_logic::formula::Dag;
use genlab_logic::parse::parse;
use genlab_logic::verify::{Models, bench, verify};
use genlab_logic::{Gnn, Model};

use crate::progress::Progress;

/// The formula syntax, shown under every command that reads a formula.
const SYNTAX: &str = "\
Formula syntax (ASCII or Unicode; ∨ binds loosest, then ∧, then the prefix operators):
  p, q_1, ...        atomic propositions (node labels)
  true, false        ⊤, ⊥
  !φ   ~φ   ¬φ       negation
  φ & ψ    φ ∧ ψ     conjunction
  φ | ψ    φ ∨ ψ     disjunction
  <>=k φ             ◇≥k φ: at least k neighbours satisfy φ (also dia>=k φ, ◇≥k φ)
  <> φ               ◇ φ = ◇≥1 φ
  <i>=k φ            ◇_i≥k φ: the diamond of sort/relation i of a fibred model (dia_i>=k, ◇_i≥k)
  ( φ )              grouping
Example: '<>=2 (p & !q) | <1> r'

Graph files: .json {\"nodes\": 3, \"props\": [\"p\"], \"labels\": [[\"p\"], [], []],
\"edges\": [[0, 1], [1, 2]], \"directed\": false}; a fibred model .json {\"sorts\": [GRAPH, ...],
\"maps\": [{\"from\": 0, \"to\": 1, \"map\": [...]}, ...]}; any other extension is an edge list
with lines `nodes N`, `props p q`, `directed`, `V: p q` (labels) and `U V` (edges).";

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Model-check a formula: the truth value at every node, as JSON on stdout.
    #[command(after_help = SYNTAX)]
    Check(CheckArgs),
    /// Compile a formula into an exact GNN (integer weights, truncated ReLU, one layer per
    /// subformula level); fibred diamonds become fibred child networks.
    #[command(after_help = SYNTAX)]
    Compile(CompileArgs),
    /// Decompile a network into a formula (printed on stdout). Supported: integer weights,
    /// truncated ReLU, sum aggregation, 0/1 atom inputs (fibres allowed). Neurons summing
    /// several neighbour counts need --max-degree (the formula then holds on graphs of
    /// degree ≤ Δ only).
    Decompile(DecompileArgs),
    /// Compare a network with a formula on every node of random graphs; exits with status 1
    /// when they disagree anywhere.
    #[command(after_help = SYNTAX)]
    Verify(VerifyArgs),
    /// Parse a formula and print it back (ASCII and Unicode), with its size and modal depth.
    #[command(after_help = SYNTAX)]
    Parse(ParseArgs),
    /// Model-checking throughput (node·subformula evaluations per second) on random graphs.
    Bench(BenchArgs),
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Graph or fibred model (.json, or an edge list).
    #[arg(long)]
    graph: PathBuf,
    /// The formula.
    #[arg(long)]
    formula: String,
    /// Sort at which to report truth values (fibred models).
    #[arg(long, default_value_t = 0)]
    sort: usize,
    /// Also report every subformula's truth values.
    #[arg(long)]
    subformulas: bool,
}

#[derive(clap::Args, Debug)]
pub struct CompileArgs {
    /// The formula.
    #[arg(long)]
    formula: String,
    /// Output network file (JSON).
    #[arg(long)]
    out: PathBuf,
    /// Sort whose relation the root network aggregates over.
    #[arg(long, default_value_t = 0)]
    sort: usize,
}

#[derive(clap::Args, Debug)]
pub struct DecompileArgs {
    /// Network file (JSON, as written by `genlab logic compile`).
    #[arg(long)]
    net: PathBuf,
    /// Degree bound Δ for non-uniform decompilation.
    #[arg(long)]
    max_degree: Option<usize>,
}

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// Network file.
    #[arg(long)]
    net: PathBuf,
    /// The formula the network should compute.
    #[arg(long)]
    formula: String,
    /// Number of random graphs (or fibred models).
    #[arg(long, default_value_t = 100)]
    graphs: usize,
    /// Smallest number of nodes per graph.
    #[arg(long, default_value_t = 1)]
    min_nodes: usize,
    /// Largest number of nodes per graph (at most 10^7).
    #[arg(long, default_value_t = 200)]
    max_nodes: usize,
    /// Draw graphs of maximum degree ≤ Δ (for non-uniform formulas) instead of
    /// Erdős–Rényi / power-law / grid graphs.
    #[arg(long)]
    max_degree: Option<usize>,
    /// Seed of the random graphs.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(clap::Args, Debug)]
pub struct ParseArgs {
    /// The formula.
    #[arg(long)]
    formula: String,
}

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Graph sizes (nodes), comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1000,10000,100000,1000000"
    )]
    nodes: Vec<usize>,
    /// Formula sizes (distinct subformulas), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "4,16,64")]
    subformulas: Vec<usize>,
    /// Repeat each measurement for at least this many seconds.
    #[arg(long, default_value_t = 0.2)]
    seconds: f64,
    /// Seed of the random graphs.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn run(command: Command, mut progress: Progress) -> anyhow::Result<ExitCode> {
    match command {
        Command::Check(a) => check_command(a),
        Command::Compile(a) => compile_command(a),
        Command::Decompile(a) => decompile_command(a, &mut progress),
        Command::Verify(a) => verify_command(a, &mut progress),
        Command::Parse(a) => parse_command(a),
        Command::Bench(a) => bench_command(a, &mut progress),
    }
}

fn check_command(a: CheckArgs) -> anyhow::Result<ExitCode> {
    let model = Model::load(&a.graph)?;
    let f = parse(&a.formula)?;
    if a.sort >= model.sorts() {
        bail!(
            "--sort {} does not exist: {} has {} sort(s)",
            a.sort,
            a.graph.display(),
            model.sorts()
        );
    }
    let dag = Dag::new(&f);
    let tables = check(&model, &dag)?;
    let root = &tables[dag.root()][a.sort];
    let mut out = serde_json::json!({
        "formula": f.to_string(),
        "size": f.size(),
        "modal_depth": f.depth(),
        "sort": a.sort,
        "nodes": root.len(),
        "true_nodes": root.iter().filter(|&&x| x).count(),
        "truth": root,
    });
    if a.subformulas {
        out["subformulas"] = (0..dag.len())
            .map(|i| serde_json::json!({"formula": dag.formula(i).to_string(), "truth": tables[i][a.sort]}))
            .collect();
    }
    println!("{out}");
    Ok(ExitCode::SUCCESS)
}

fn compile_command(a: CompileArgs) -> anyhow::Result<ExitCode> {
    let f = parse(&a.formula)?;
    let net = compile(&f, a.sort)?;
    net.save(&a.out)?;
    println!(
        "compiled `{f}` (size {}, modal depth {}) into {} layers, {} neurons, {} non-zero parameters{}: {}",
        f.size(),
        f.depth(),
        net.layers().len(),
        net.neurons(),
        net.parameters(),
        if net.is_fibred() { " (fibred)" } else { "" },
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn decompile_command(a: DecompileArgs, progress: &mut Progress) -> anyhow::Result<ExitCode> {
    let net = Gnn::load(&a.net)?;
    let d = decompile(
        &net,
        &Options {
            max_degree: a.max_degree,
            ..Options::default()
        },
    )?;
    println!("{}", d.formula);
    let (size, depth) = (d.formula.size(), d.formula.depth());
    progress.say(&match d.degree_bound {
        None => format!(
            "uniform: equivalent to the network on every graph (size {size}, modal depth {depth})"
        ),
        Some(delta) => format!(
            "non-uniform: equivalent to the network on graphs of maximum degree ≤ {delta} (size {size}, modal depth {depth})"
        ),
    });
    Ok(ExitCode::SUCCESS)
}

fn verify_command(a: VerifyArgs, progress: &mut Progress) -> anyhow::Result<ExitCode> {
    if a.min_nodes == 0 || a.min_nodes > a.max_nodes || a.max_nodes > 10_000_000 {
        bail!(
            "need 1 ≤ --min-nodes ≤ --max-nodes ≤ 10^7 (got {} and {})",
            a.min_nodes,
            a.max_nodes
        );
    }
    let net = Gnn::load(&a.net)?;
    let f = parse(&a.formula)?;
    let spec = Models {
        count: a.graphs,
        nodes: (a.min_nodes, a.max_nodes),
        max_degree: a.max_degree,
        seed: a.seed,
    };
    progress.set_prefix("logic verify");
    let (agreement, timing) = verify(&net, &f, &spec, progress)
        .with_context(|| format!("verifying {} against `{f}`", a.net.display()))?;
    println!(
        "{} graphs, {} nodes: {} disagreements (network {:.3e} nodes/s, checker {:.3e} nodes/s)",
        agreement.models,
        agreement.worlds,
        agreement.disagreements,
        agreement.worlds as f64 / timing.network.max(1e-9),
        agreement.worlds as f64 / timing.checker.max(1e-9)
    );
    if let Some(c) = agreement.first {
        println!(
            "first disagreement: graph {} (seed {}), node {}: network says {}, formula says {}",
            c.model, a.seed, c.world, c.network, !c.network
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_command(a: ParseArgs) -> anyhow::Result<ExitCode> {
    let f = parse(&a.formula)?;
    println!("{f}");
    println!("{}", f.unicode());
    println!(
        "size {}, modal depth {}, distinct subformulas {}",
        f.size(),
        f.depth(),
        Dag::new(&f).len()
    );
    Ok(ExitCode::SUCCESS)
}

fn bench_command(a: BenchArgs, progress: &mut Progress) -> anyhow::Result<ExitCode> {
    if a.nodes.iter().any(|&n| n == 0 || n > 10_000_000) || a.subformulas.contains(&0) {
        bail!("--nodes must lie in 1..=10^7 and --subformulas must be ≥ 1");
    }
    progress.set_prefix("logic bench");
    let rows = bench(&a.nodes, &a.subformulas, a.seconds, a.seed, progress)?;
    println!(
        "{:>9} {:>10} {:>4} {:>11} {:>14}",
        "nodes", "arcs", "|φ|", "seconds", "evals/s"
    );
    for r in rows {
        println!(
            "{:>9} {:>10} {:>4} {:>11.3e} {:>14.3e}",
            r.nodes, r.arcs, r.subformulas, r.seconds, r.evals_per_second
        );
    }
    Ok(ExitCode::SUCCESS)
}
