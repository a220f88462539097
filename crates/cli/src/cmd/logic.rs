//! `genlab logic`: model-check graded modal formulas on graphs, compile them into exact GNNs,
//! decompile networks back into formulas, verify a network against a formula on random graphs,
//! learn a GNN from labelled graphs and extract its formula, and benchmark the checker.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use genlab_logic::check::{check, truth};
use genlab_logic::compile::compile;
use genlab_logic::decompile::{Options, decompile};
use genlab_logic::formula::Dag;
use genlab_logic::learn::data::load_dataset;
use genlab_logic::learn::{FitConfig, learn_labelled};
use genlab_logic::parse::parse;
use genlab_logic::verify::{Models, bench, verify};
use genlab_logic::{Formula, Gnn, Model};

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

Long formulas: --formula-file F (or --formula - for standard input); an argument holds at most
128 KiB, a file up to 2^24 tokens.

Graph files: .json {\"nodes\": 3, \"props\": [\"p\"], \"labels\": [[\"p\"], [], []],
\"edges\": [[0, 1], [1, 2]], \"directed\": false}; a fibred model .json {\"sorts\": [GRAPH, ...],
\"maps\": [{\"from\": 0, \"to\": 1, \"map\": [...]}, ...]}; any other extension is an edge list
with lines `nodes N`, `props p q`, `directed`, `V: p q` (labels) and `U V` (edges).";

/// The input formats of `genlab logic learn`.
const LEARN_FORMATS: &str = "\
Graph files (every regular file of --graphs DIR except dot-files, in file-name order; all must
declare the same props and be undirected):
  NAME.json   {\"nodes\": 3, \"props\": [\"p\", \"q\"], \"labels\": [[\"p\"], [], [\"q\"]],
               \"edges\": [[0, 1], [1, 2]]}          (labels: the atoms true at each node)
  any other   an edge list:   nodes 3 / props p q / 0: p / 2: q / 0 1 / 1 2   (one item a line,
              `#` starts a comment)
Labels file (--labels F), one line per graph file, `#` starts a comment:
  NAME.json: 1 0 0        the target class (0/1 or true/false) of each node, in node order
The network is trained on the disjoint union of the graphs, quantised to integer weights, and
decompiled; the formula is exact for the quantised network on graphs whose maximum degree is at
most the training graphs' (printed), and uniform (every graph) when no neuron needs the bound.";

/// Where a command reads its formula: `--formula TEXT`, `--formula -` (standard input) or
/// `--formula-file FILE`.
#[derive(clap::Args, Debug)]
#[group(required = true, multiple = false)]
pub struct FormulaInput {
    /// The formula, or `-` to read it from standard input.
    #[arg(long)]
    formula: Option<String>,
    /// A file holding the formula (line breaks are spaces), for formulas too long for an
    /// argument.
    #[arg(long, value_name = "FILE")]
    formula_file: Option<PathBuf>,
}

/// Largest formula text read from a file or standard input (256 MiB).
const MAX_FORMULA_BYTES: u64 = 256 << 20;

impl FormulaInput {
    /// Reads and parses the formula; a parse error in a file names the file, line and column.
    fn read(&self) -> anyhow::Result<Formula> {
        let (text, source) = match (&self.formula, &self.formula_file) {
            (Some(t), _) if t != "-" => return Ok(parse(t)?),
            (Some(_), _) => (
                read_bounded(std::io::stdin().lock(), "standard input")?,
                "<stdin>".to_string(),
            ),
            (None, Some(path)) => {
                let file = std::fs::File::open(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                (
                    read_bounded(file, &path.display().to_string())?,
                    path.display().to_string(),
                )
            }
            (None, None) => bail!("give --formula or --formula-file"),
        };
        parse(&text).map_err(|e| {
            let (line, col) = line_column(&text, e.column);
            anyhow!("{source}:{line}:{col}: {e}")
        })
    }
}

/// All of `r` as UTF-8, refusing more than [`MAX_FORMULA_BYTES`].
fn read_bounded(r: impl Read, what: &str) -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    r.take(MAX_FORMULA_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {what}"))?;
    if bytes.len() as u64 > MAX_FORMULA_BYTES {
        bail!(
            "{what} holds more than {} MiB; a formula may have at most 2^24 tokens",
            MAX_FORMULA_BYTES >> 20
        );
    }
    String::from_utf8(bytes).map_err(|e| {
        anyhow!(
            "{what} is not UTF-8 text (byte {})",
            e.utf8_error().valid_up_to()
        )
    })
}

/// The 1-based line and column of the 1-based character `column` of `text`.
fn line_column(text: &str, column: usize) -> (usize, usize) {
    let before: Vec<char> = text.chars().take(column.saturating_sub(1)).collect();
    let line = 1 + before.iter().filter(|&&c| c == '\n').count();
    let col = 1 + before.iter().rev().take_while(|&&c| c != '\n').count();
    (line, col)
}

/// A formula as output quotes it: whole up to 2000 characters, else its start and `…`.
fn shown(f: &Formula) -> String {
    let text = f.to_string();
    if text.chars().count() <= 2000 {
        text
    } else {
        let head: String = text.chars().take(2000).collect();
        format!("{head}…")
    }
}

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
    /// Train a GNN on your labelled graphs (node classification), quantise it to integer
    /// weights and print the formula it computes; --json for the numbers.
    #[command(after_help = LEARN_FORMATS)]
    Learn(LearnArgs),
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Graph or fibred model (.json, or an edge list).
    #[arg(long)]
    graph: PathBuf,
    #[command(flatten)]
    formula: FormulaInput,
    /// Sort at which to report truth values (fibred models).
    #[arg(long, default_value_t = 0)]
    sort: usize,
    /// Also report every subformula's truth values.
    #[arg(long)]
    subformulas: bool,
    /// Print JSON (formula, size, modal depth, the truth value at every node) instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct CompileArgs {
    #[command(flatten)]
    formula: FormulaInput,
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
    #[command(flatten)]
    formula: FormulaInput,
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
    #[command(flatten)]
    formula: FormulaInput,
}

#[derive(clap::Args, Debug)]
pub struct LearnArgs {
    /// Directory of graph files (format below).
    #[arg(long)]
    graphs: PathBuf,
    /// Labels file: one line `FILE: 0 1 …` per graph (format below).
    #[arg(long)]
    labels: PathBuf,
    /// Hidden units (0: one aggregate-combine layer; more: two layers, which can learn
    /// nested diamonds).
    #[arg(long, default_value_t = 0)]
    hidden: usize,
    /// Adam steps (full batch).
    #[arg(long, default_value_t = 1500)]
    steps: u64,
    /// Adam learning rate.
    #[arg(long, default_value_t = 0.1)]
    lr: f64,
    /// Seed (initialisation; recorded in --json).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Also write the quantised network (JSON, readable by `decompile` and `verify`).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print JSON (formula, degree bound, accuracies, settings) instead of the formula alone.
    #[arg(long)]
    json: bool,
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
        Command::Learn(a) => learn_command(a, &mut progress),
    }
}

fn check_command(a: CheckArgs) -> anyhow::Result<ExitCode> {
    let model = Model::load(&a.graph)?;
    let f = a.formula.read()?;
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
    if !a.json {
        let holds: Vec<String> = (0..root.len())
            .filter(|&v| root[v])
            .map(|v| v.to_string())
            .collect();
        println!(
            "`{}` (size {}, modal depth {}) holds at {} of {} nodes of sort {}:",
            shown(&f),
            f.size(),
            f.depth(),
            holds.len(),
            root.len(),
            a.sort
        );
        println!("{}", holds.join(" "));
        if a.subformulas {
            for i in 0..dag.len() {
                let t = &tables[i][a.sort];
                println!(
                    "{:>8} nodes  {}",
                    t.iter().filter(|&&x| x).count(),
                    shown(&dag.formula(i))
                );
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = serde_json::json!({
        "formula": shown(&f),
        "size": f.size(),
        "modal_depth": f.depth(),
        "sort": a.sort,
        "nodes": root.len(),
        "true_nodes": root.iter().filter(|&&x| x).count(),
        "truth": root,
    });
    if a.subformulas {
        out["subformulas"] = (0..dag.len())
            .map(|i| serde_json::json!({"formula": shown(&dag.formula(i)), "truth": tables[i][a.sort]}))
            .collect();
    }
    println!("{out}");
    Ok(ExitCode::SUCCESS)
}

fn compile_command(a: CompileArgs) -> anyhow::Result<ExitCode> {
    let f = a.formula.read()?;
    let net = compile(&f, a.sort)?;
    net.save(&a.out)?;
    println!(
        "compiled `{}` (size {}, modal depth {}) into {} layers, {} neurons, {} non-zero parameters{}: {}",
        shown(&f),
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
    let f = a.formula.read()?;
    let spec = Models {
        count: a.graphs,
        nodes: (a.min_nodes, a.max_nodes),
        max_degree: a.max_degree,
        seed: a.seed,
    };
    progress.set_prefix("logic verify");
    let (agreement, timing) = verify(&net, &f, &spec, progress)
        .with_context(|| format!("verifying {} against `{}`", a.net.display(), shown(&f)))?;
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
    let f = a.formula.read()?;
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

fn learn_command(a: LearnArgs, progress: &mut Progress) -> anyhow::Result<ExitCode> {
    if a.hidden > 64 || a.steps == 0 || !(a.lr.is_finite() && a.lr > 0.0) {
        bail!(
            "need --hidden ≤ 64, --steps ≥ 1 (at least one step) and a positive finite --lr (got {}, {}, {})",
            a.hidden,
            a.steps,
            a.lr
        );
    }
    let data = load_dataset(&a.graphs, &a.labels)?;
    let g = &data.graph;
    let atoms = g.props().to_vec();
    let positives = data.labels.iter().filter(|&&y| y).count();
    progress.say(&format!(
        "{} graphs, {} nodes ({positives} labelled 1), max degree {}, atoms [{}]",
        data.files.len(),
        g.nodes(),
        g.max_degree(),
        atoms.join(", ")
    ));
    progress.set_prefix("logic learn");
    let fit = FitConfig {
        atoms,
        hidden: a.hidden,
        steps: a.steps,
        lr: a.lr,
        seed: a.seed,
    };
    let learned = learn_labelled(g, &data.labels, &fit, progress)?;
    let delta = g.max_degree();
    let d = decompile(
        &learned.net,
        &Options {
            max_degree: Some(delta),
            ..Options::default()
        },
    )
    .context("decompiling the quantised network")?;
    let model = Model::single(g.clone());
    let formula_truth = truth(&model, &d.formula, 0)?;
    // The decompiler's guarantee, checked on the data: formula == quantised network.
    if formula_truth != learned.net.eval(&model)? {
        bail!(
            "internal error: the decompiled formula disagrees with the quantised network on the training graphs"
        );
    }
    let formula_acc = formula_truth
        .iter()
        .zip(&data.labels)
        .filter(|(a, b)| a == b)
        .count() as f64
        / g.nodes().max(1) as f64;
    if let Some(out) = &a.out {
        learned.net.save(out)?;
    }
    let (float_acc, quant_acc) = learned.train_accuracy;
    if a.json {
        let out = serde_json::json!({
            "formula": d.formula.to_string(),
            "size": d.formula.size(),
            "modal_depth": d.formula.depth(),
            "uniform": d.degree_bound.is_none(),
            "degree_bound": d.degree_bound,
            "graphs": data.files.len(),
            "nodes": g.nodes(),
            "positives": positives,
            "accuracy": {"float": float_acc, "quantised": quant_acc, "formula": formula_acc},
            "loss": learned.loss,
            "settings": fit,
            "network": a.out.as_ref().map(|p| p.display().to_string()),
        });
        println!("{out}");
    } else {
        println!("{}", d.formula);
        progress.say(&format!(
            "accuracy on the labels: float network {:.4}, quantised {:.4}, formula {:.4}; {}",
            float_acc,
            quant_acc,
            formula_acc,
            match d.degree_bound {
                None => "uniform: the formula equals the quantised network on every graph".to_string(),
                Some(b) => format!("non-uniform: the formula equals the quantised network on graphs of maximum degree ≤ {b}"),
            }
        ));
    }
    Ok(ExitCode::SUCCESS)
}
