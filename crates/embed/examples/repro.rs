//! Scratch: run the repro without the CLI.
use genlab_core::experiment::ReproOptions;
struct Say;
impl genlab_core::train::Observer for Say {
    fn message(&mut self, t: &str) { eprintln!("{t}"); }
}
fn main() {
    let quick = std::env::args().nth(1).as_deref() == Some("quick");
    let dir = std::path::PathBuf::from(if quick { "/tmp/embed_repro_quick" } else { "/tmp/embed_repro_full" });
    std::fs::create_dir_all(&dir).unwrap();
    let opts = ReproOptions { quick, seed: 0, dir: dir.clone(), cache_dir: dir.clone() };
    let r = genlab_embed::repro::run(&opts, &mut Say).unwrap();
    std::fs::write(dir.join("report.json"), serde_json::to_string_pretty(&r).unwrap()).unwrap();
    println!("{:#?}", r.verdict);
}
