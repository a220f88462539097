//! `OUT/index.html`: one self-contained page (inline CSS, no script, no external resources)
//! with a summary of every experiment and a section per experiment.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use super::json::Report;
use super::plot::esc;
use crate::error::{Error, Result};
use crate::fsx;

const STYLE: &str = "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}\
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}.ok{color:#08702c;font-weight:bold}\
.no{color:#b00020;font-weight:bold}figure{display:inline-block;margin:.5em;vertical-align:top}\
figcaption{font-size:.85em;max-width:640px}section{border-top:2px solid #ddd;margin-top:2em}\
pre{background:#f7f7f7;padding:.5em;overflow:auto;font-size:.8em}";

/// Writes `out_dir/index.html` from every `out_dir/*/report.json`; returns its path.
pub fn write_index(out_dir: &Path) -> Result<PathBuf> {
    let mut entries: Vec<(String, std::result::Result<Report, String>)> = Vec::new();
    if let Ok(rd) = std::fs::read_dir(out_dir) {
        for e in rd.flatten() {
            let path = e.path().join("report.json");
            if path.exists() {
                let name = e.file_name().to_string_lossy().into_owned();
                entries.push((name, Report::load(&path).map_err(|err| err.to_string())));
            }
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut h = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>genlab results</title><style>{STYLE}</style></head><body><h1>genlab results</h1>"
    );
    h.push_str("<table><tr><th>experiment</th><th>claim</th><th>verdict</th><th>margin</th><th>run</th><th>wall time</th></tr>");
    for (name, r) in &entries {
        match r {
            Ok(r) => {
                let _ = write!(
                    h,
                    "<tr><td><a href=\"#{0}\">{0}</a></td><td style=\"text-align:left\">{1}</td><td>{2}</td><td>{3}</td><td>{4}</td><td>{5:.1} s</td></tr>",
                    esc(name),
                    esc(&r.claim),
                    mark(r.verdict.holds),
                    fmt(r.verdict.margin),
                    if r.quick { "quick" } else { "full" },
                    r.wall_seconds
                );
            }
            Err(e) => {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td colspan=\"5\" style=\"text-align:left\">unreadable report: {}</td></tr>",
                    esc(name),
                    esc(e)
                );
            }
        }
    }
    h.push_str("</table>");
    for (name, r) in &entries {
        if let Ok(r) = r {
            section(&mut h, name, r);
        }
    }
    h.push_str("</body></html>\n");
    let path = out_dir.join("index.html");
    fsx::atomic_write(&path, h.as_bytes()).map_err(|e| match e {
        Error::Io { source, .. } => Error::io(&path, source),
        other => other,
    })?;
    Ok(path)
}

fn mark(holds: bool) -> &'static str {
    if holds {
        "<span class=\"ok\">✔ holds</span>"
    } else {
        "<span class=\"no\">✘ does not hold</span>"
    }
}

fn fmt(x: f64) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    let a = x.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        format!("{x:.3e}")
    } else {
        format!("{x:.4}")
    }
}

fn section(h: &mut String, name: &str, r: &Report) {
    let _ = write!(
        h,
        "<section id=\"{0}\"><h2>{0}</h2><p><b>Paper:</b> {1}</p><p><b>Claim:</b> {2}</p><p><b>Verdict:</b> {3} — {4}</p>",
        esc(name),
        esc(&r.paper),
        esc(&r.claim),
        mark(r.verdict.holds),
        esc(&r.verdict.detail)
    );
    // Arms table: arms as rows, metrics (without their _std companions) as columns.
    let mut metrics: Vec<&String> = r
        .arms
        .values()
        .flat_map(|m| m.keys())
        .filter(|k| !k.ends_with("_std"))
        .collect();
    metrics.sort();
    metrics.dedup();
    h.push_str("<table><tr><th>arm</th>");
    metrics.iter().for_each(|m| {
        let _ = write!(h, "<th>{}</th>", esc(m));
    });
    h.push_str("</tr>");
    for (arm, values) in &r.arms {
        let _ = write!(h, "<tr><td>{}</td>", esc(arm));
        for m in &metrics {
            let cell = match (values.get(*m), values.get(&format!("{m}_std"))) {
                (Some(v), Some(s)) => format!("{} ± {}", fmt(*v), fmt(*s)),
                (Some(v), None) => fmt(*v),
                _ => String::new(),
            };
            let _ = write!(h, "<td>{cell}</td>");
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
    for t in &r.tables {
        let _ = write!(h, "<h3>{}</h3><table><tr>", esc(&t.title));
        t.columns.iter().for_each(|c| {
            let _ = write!(h, "<th>{}</th>", esc(c));
        });
        h.push_str("</tr>");
        for row in &t.rows {
            h.push_str("<tr>");
            row.iter().for_each(|c| {
                let _ = write!(h, "<td>{}</td>", esc(c));
            });
            h.push_str("</tr>");
        }
        h.push_str("</table>");
    }
    for f in &r.figures {
        let _ = write!(
            h,
            "<figure><img src=\"{}/{}\" alt=\"{}\"><figcaption>{}</figcaption></figure>",
            esc(name),
            esc(&f.file),
            esc(&f.caption),
            esc(&f.caption)
        );
    }
    if !r.notes.is_empty() {
        h.push_str("<ul>");
        r.notes.iter().for_each(|n| {
            let _ = write!(h, "<li>{}</li>", esc(n));
        });
        h.push_str("</ul>");
    }
    let seeds: Vec<String> = r.seeds.iter().map(u64::to_string).collect();
    let _ = write!(
        h,
        "<p>seed {} (seeds: {}), {} thread(s), {} run, {:.1} s, genlab {}</p>",
        r.seed,
        seeds.join(", "),
        r.threads,
        if r.quick { "quick" } else { "full" },
        r.wall_seconds,
        esc(&r.version)
    );
    let config = serde_json::to_string_pretty(&r.config).unwrap_or_default();
    let _ = write!(
        h,
        "<details><summary>configuration</summary><pre>{}</pre></details></section>",
        esc(&config)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Figure, Verdict};
    use std::collections::BTreeMap;

    fn report(name: &str, holds: bool) -> Report {
        let v = Verdict {
            holds,
            metric: "m".into(),
            method_arm: "a".into(),
            baseline_arm: "b".into(),
            margin: 0.5,
            detail: "why".into(),
        };
        let mut r = Report::new(name, "paper", "claim <script>alert(1)</script>", 1, v);
        r.arms.insert(
            "a".into(),
            BTreeMap::from([("m".into(), 1.0), ("m_std".into(), 0.1)]),
        );
        r.figures.push(Figure {
            file: "f.svg".into(),
            caption: "cap".into(),
        });
        r
    }

    #[test]
    fn index_lists_reports_and_escapes() {
        let dir = tempfile::tempdir().unwrap();
        report("one", true).save(&dir.path().join("one")).unwrap();
        report("two", false).save(&dir.path().join("two")).unwrap();
        std::fs::create_dir(dir.path().join("bad")).unwrap();
        std::fs::write(dir.path().join("bad/report.json"), "{not json").unwrap();
        let html = std::fs::read_to_string(write_index(dir.path()).unwrap()).unwrap();
        assert!(html.contains("id=\"one\"") && html.contains("id=\"two\""));
        assert!(html.contains("✔ holds") && html.contains("✘ does not hold"));
        assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"));
        assert!(html.contains("<img src=\"one/f.svg\""));
        assert!(html.contains("1.0000 ± 0.1000"));
        assert!(html.contains("unreadable report"));
    }
}
