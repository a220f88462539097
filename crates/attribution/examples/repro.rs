//! Runs one of this family's experiments without the CLI (for development):
//! `cargo run --release -p genlab-attribution --example repro -- attribution-lds [--quick] [OUT]`.

use genlab_core::experiment::ReproOptions;
use genlab_core::train::Observer;

struct Print;
impl Observer for Print {
    fn start(&mut self, phase: &str, total: u64) {
        eprintln!("[start] {phase} ({total})");
    }
    fn message(&mut self, text: &str) {
        eprintln!("[msg] {text}");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = args.first().cloned().unwrap_or_else(|| "attribution-lds".into());
    let quick = args.iter().any(|a| a == "--quick");
    let out = args.iter().skip(1).find(|a| !a.starts_with("--")).cloned().unwrap_or_else(|| "/tmp/attr-out".into());
    let exp = genlab_attribution::FAMILY
        .experiments
        .iter()
        .find(|e| e.info.name == name)
        .expect("experiment");
    let dir = std::path::PathBuf::from(&out).join(&name);
    std::fs::create_dir_all(&dir).unwrap();
    let opts = ReproOptions { quick, seed: 0, dir: dir.clone(), cache_dir: dir };
    let started = std::time::Instant::now();
    let report = (exp.run)(&opts, &mut Print).expect("run");
    println!("{}", serde_json::to_string_pretty(&report.arms).unwrap());
    for t in &report.tables {
        println!("{}", t.title);
        for r in &t.rows {
            println!("  {}", r.join(" | "));
        }
    }
    println!("verdict holds={} {}\n{}", report.verdict.holds, report.verdict.effect, report.verdict.detail);
    println!("notes: {:?}", report.notes);
    println!("wall {:.1}s", started.elapsed().as_secs_f64());
}
