//! `OUT/index.html`: one self-contained page (inline CSS, no script, no external resources).
//! A summary table answers "which claims hold, by how much, against what the paper reports";
//! a section per experiment then shows the claim, the verdict with its failing part named, our
//! effect beside the paper's, the key figure, the arms, the other tables and figures, the notes
//! and the configuration. Numbers are formatted by kind ([`super::format`]); wide arm tables
//! are turned and split so they fit the page.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use super::format::{cell, duration, mean_std, number};
use super::json::{Figure, Report, Table};
use super::plot::esc;
use super::verdict::Verdict;
use crate::error::{Error, Result};
use crate::fsx;

const STYLE: &str = "\
body{font:15px/1.45 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}\
h2{margin:0 0 .2em}h3{font-size:1.02em;margin:1.2em 0 .3em}a{color:#0b57a4}\
.scroll{overflow-x:auto;max-width:100%}\
table{border-collapse:collapse;margin:.3em 0;font-size:.92em}\
td,th{border:1px solid #ddd;padding:2px 6px;vertical-align:top;text-align:left}\
th{background:#f4f4f4;font-weight:600;max-width:14em;overflow-wrap:break-word}\
tbody th{background:#fafafa;font-weight:normal;white-space:nowrap}tbody th.long{white-space:normal;min-width:12em}\
td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}\
.sd,.quiet,.meta{color:#777}.meta{font-size:.85em;margin:0 0 .8em}\
.ok{color:#08702c}.no{color:#b00020}\
section{border-top:2px solid #ddd;margin-top:2.2em;padding-top:1em}\
.verdict{border-left:5px solid;padding:.4em .9em;margin:.8em 0;background:#fafafa}\
div.verdict{color:#222}.verdict.ok{border-color:#08702c}.verdict.no{border-color:#b00020}.verdict p{margin:.3em 0}td p{margin:.1em 0}\
.effects{display:grid;grid-template-columns:1fr 1fr;gap:.2em 1.5em;margin:.5em 0}\
.effects b{display:block;font-size:.8em;color:#555;text-transform:uppercase;letter-spacing:.04em}\
ul.parts{margin:.3em 0;padding-left:1.3em}ul.parts li{list-style:none;text-indent:-1.2em}\
li.fail{color:#b00020}li.pass{color:#555}\
figure{margin:.6em 0}figure img{max-width:100%;height:auto}figcaption{font-size:.85em;color:#444}\
.figs{display:flex;flex-wrap:wrap;gap:1em}.figs figure{flex:1 1 420px;max-width:640px}\
.figs img{width:100%}.groups{display:flex;flex-wrap:wrap;gap:0 1.2em;align-items:flex-start}\
pre{background:#f7f7f7;padding:.5em;overflow:auto;font-size:.8em}\
td.claim{min-width:16em}td.effect{min-width:9em}\
@media (max-width:900px){body{margin:1em auto}td.claim{min-width:9em}td.effect{min-width:6em}}";

/// Arm tables with more columns than this (after turning them so the longer side runs down)
/// are split into one table per set of arms that share their metrics.
const MAX_COLUMNS: usize = 8;
/// Row names longer than this (in characters) may wrap; shorter ones keep to one line.
const LONG_NAME: usize = 24;
/// More holding parts of a verdict than this are folded away under a summary line.
const SHOWN_PASSING_PARTS: usize = 4;

/// One experiment directory: its name and its report, or why it could not be read.
type Entry = (String, std::result::Result<Report, String>);

/// Writes `out_dir/index.html` from every `out_dir/*/report.json`; returns its path.
pub fn write_index(out_dir: &Path) -> Result<PathBuf> {
    let path = out_dir.join("index.html");
    fsx::atomic_write(&path, page(&load(out_dir)).as_bytes()).map_err(|e| match e {
        Error::Io { cause, .. } => Error::io(&path, cause),
        other => other,
    })?;
    Ok(path)
}

/// Every `out_dir/*/report.json`, sorted by directory name.
fn load(out_dir: &Path) -> Vec<Entry> {
    let mut entries: Vec<Entry> = std::fs::read_dir(out_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let path = e.path().join("report.json");
            path.exists().then(|| {
                let name = e.file_name().to_string_lossy().into_owned();
                (name, Report::load(&path).map_err(|err| err.to_string()))
            })
        })
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries
}

fn page(entries: &[Entry]) -> String {
    let mut h = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>genlab results</title><style>{STYLE}</style></head><body><h1>genlab results</h1>"
    );
    let reports: Vec<&Report> = entries.iter().filter_map(|e| e.1.as_ref().ok()).collect();
    let held = reports.iter().filter(|r| r.verdict.holds).count();
    let _ = write!(h, "<p>{held} of {} claims hold.</p>", reports.len());
    summary(&mut h, entries);
    for (name, r) in entries {
        if let Ok(r) = r {
            section(&mut h, name, r);
        }
    }
    h.push_str("</body></html>\n");
    h
}

fn summary(h: &mut String, entries: &[Entry]) {
    h.push_str(
        "<div class=\"scroll\"><table><thead><tr><th>experiment</th><th>claim</th><th>verdict</th>\
         <th>our effect</th><th>the paper's</th><th>run</th><th>seeds</th><th>wall time</th>\
         </tr></thead><tbody>",
    );
    for (name, r) in entries {
        match r {
            Ok(r) => {
                let _ = write!(
                    h,
                    "<tr><td><a href=\"#{0}\">{0}</a></td><td class=\"claim\">{1}</td>\
                     <td>{2}</td><td class=\"effect\">{3}</td><td class=\"effect\">{4}</td><td>{5}</td><td class=\"n\">{6}</td>\
                     <td class=\"n\">{7}</td></tr>",
                    esc(name),
                    esc(&r.claim),
                    mark(r.verdict.holds),
                    or_dash(&r.verdict.effect),
                    or_dash(&r.paper_effect),
                    if r.quick { "quick" } else { "full" },
                    r.seeds.len(),
                    duration(r.wall_seconds)
                );
            }
            Err(e) => {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td colspan=\"7\" class=\"no\">unreadable report: {}</td></tr>",
                    esc(name),
                    esc(e)
                );
            }
        }
    }
    h.push_str("</tbody></table></div>");
}

fn mark(holds: bool) -> &'static str {
    if holds {
        "<span class=\"ok\">✔ holds</span>"
    } else {
        "<span class=\"no\">✘ fails</span>"
    }
}

/// Escaped text, or a quiet dash when there is none (reports written before the field).
fn or_dash(text: &str) -> String {
    if text.is_empty() {
        "<span class=\"quiet\">—</span>".into()
    } else {
        esc(text)
    }
}

/// An escaped name that may wrap after `_`, `/` and `→` (metric and arm names are long words).
fn wrappable(name: &str) -> String {
    let mut out = String::new();
    for c in esc(name).chars() {
        out.push(c);
        if matches!(c, '_' | '/' | '→') {
            out.push_str("<wbr>");
        }
    }
    out
}

fn section(h: &mut String, name: &str, r: &Report) {
    let seeds: Vec<String> = r.seeds.iter().map(u64::to_string).collect();
    let _ = write!(
        h,
        "<section id=\"{0}\"><h2>{0}</h2><p class=\"meta\">{1}<br>{2} run · seed{3} {4} · \
         {5} thread(s) · {6} · genlab {7}</p><p><b>Claim.</b> {8}</p>",
        esc(name),
        esc(&r.paper),
        if r.quick { "quick" } else { "full" },
        if seeds.len() == 1 { "" } else { "s" },
        seeds.join(", "),
        r.threads,
        duration(r.wall_seconds),
        esc(&r.version),
        esc(&r.claim),
    );
    verdict(h, &r.verdict, &r.paper_effect);
    if !r.tried.is_empty() {
        h.push_str("<h3>What was tried</h3><ul>");
        r.tried.iter().for_each(|t| {
            let _ = write!(h, "<li>{}</li>", esc(t));
        });
        h.push_str("</ul>");
    }
    if let Some(key) = r.figures.first() {
        figure(h, name, key);
    }
    if !r.arms.is_empty() {
        h.push_str("<h3>Arms</h3>");
        arms_tables(h, &r.arms);
    }
    r.tables.iter().for_each(|t| table(h, t));
    if r.figures.len() > 1 {
        h.push_str("<div class=\"figs\">");
        r.figures[1..].iter().for_each(|f| figure(h, name, f));
        h.push_str("</div>");
    }
    if !r.notes.is_empty() {
        h.push_str("<h3>Notes</h3><ul>");
        r.notes.iter().for_each(|n| {
            let _ = write!(h, "<li>{}</li>", esc(n));
        });
        h.push_str("</ul>");
    }
    let config = serde_json::to_string_pretty(&r.config).unwrap_or_default();
    let _ = write!(
        h,
        "<details><summary>configuration</summary><pre>{}</pre></details></section>",
        esc(&config)
    );
}

/// The verdict: holds or not and on what (the failing part when it fails), our effect beside
/// the paper's, then the detail (an `all_of` detail as a list, failing parts first).
fn verdict(h: &mut String, v: &Verdict, paper_effect: &str) {
    let class = if v.holds { "ok" } else { "no" };
    let _ = write!(
        h,
        "<div class=\"verdict {class}\"><p><b class=\"{class}\">{}</b>",
        if v.holds {
            "✔ holds"
        } else {
            "✘ does not hold"
        }
    );
    if !v.metric.is_empty() {
        let arms = if v.method_arm.is_empty() || v.baseline_arm.is_empty() {
            String::new()
        } else {
            format!(": {} vs {}", esc(&v.method_arm), esc(&v.baseline_arm))
        };
        let _ = write!(
            h,
            " — {} <b>{}</b>{arms}",
            if v.holds { "on" } else { "fails on" },
            esc(&v.metric)
        );
    }
    let _ = write!(
        h,
        "</p><div class=\"effects\"><div><b>our effect</b>{}</div><div><b>the paper's</b>{}</div></div>",
        or_dash(&v.effect),
        or_dash(paper_effect)
    );
    detail(h, &v.detail);
    h.push_str("</div>");
}

/// A verdict detail: an `all_of` list (`name: [ok] …; [FAIL] …`) as a list with the failing
/// parts first and many holding parts folded; any other text as a paragraph.
fn detail(h: &mut String, text: &str) {
    let Some((name, parts)) = verdict_parts(text) else {
        let _ = write!(h, "<p>{}</p>", esc(text));
        return;
    };
    if !name.is_empty() {
        let _ = write!(h, "<p>{}:</p>", esc(name));
    }
    let item = |h: &mut String, ok: bool, body: &str| {
        let (class, sign) = if ok {
            ("pass", "✔ ok")
        } else {
            ("fail", "✘ FAIL")
        };
        // A nested `all_of` arrives flattened; its own marks read as signs.
        let body = esc(body).replace("[ok] ", "✔ ").replace("[FAIL] ", "✘ ");
        let _ = write!(h, "<li class=\"{class}\"><b>{sign}</b> {body}</li>");
    };
    let (passing, failing): (Vec<_>, Vec<_>) = parts.into_iter().partition(|p| p.0);
    h.push_str("<ul class=\"parts\">");
    failing.iter().for_each(|p| item(h, p.0, p.1));
    let folded = passing.len() > SHOWN_PASSING_PARTS;
    if folded {
        let _ = write!(
            h,
            "</ul><details><summary>{} parts hold</summary><ul class=\"parts\">",
            passing.len()
        );
    }
    passing.iter().for_each(|p| item(h, p.0, p.1));
    h.push_str(if folded { "</ul></details>" } else { "</ul>" });
}

/// Splits `name: [ok] a; [FAIL] b` (the detail [`super::all_of`] writes) into its name and
/// `(holds, text)` parts; `None` when the text has no such parts.
fn verdict_parts(text: &str) -> Option<(&str, Vec<(bool, &str)>)> {
    const MARKS: [(&str, bool); 2] = [("[ok] ", true), ("[FAIL] ", false)];
    let next = |s: &str, sep: &str| {
        MARKS
            .iter()
            .filter_map(|(m, _)| s.find(&format!("{sep}{m}")))
            .min()
    };
    let start = next(text, "")?;
    let name = text[..start].trim_end().trim_end_matches(':');
    let mut rest = &text[start..];
    let mut parts = Vec::new();
    while let Some((body, ok)) = MARKS
        .iter()
        .find_map(|(m, ok)| rest.strip_prefix(m).map(|b| (b, *ok)))
    {
        let end = next(body, "; ").unwrap_or(body.len());
        parts.push((ok, &body[..end]));
        rest = body[end..].strip_prefix("; ").unwrap_or("");
    }
    Some((name, parts))
}

fn figure(h: &mut String, name: &str, f: &Figure) {
    let _ = write!(
        h,
        "<figure><img src=\"{}/{}\" alt=\"{}\"><figcaption>{}</figcaption></figure>",
        esc(name),
        esc(&f.file),
        esc(&f.caption),
        esc(&f.caption)
    );
}

/// One arm's metrics.
type ArmRow<'a> = (&'a String, &'a BTreeMap<String, f64>);

/// The metrics of these arms, sorted; `m_std` is a companion of `m`, not a metric of its own.
fn metric_names<'a>(arms: &[ArmRow<'a>]) -> Vec<&'a String> {
    let mut names: Vec<&String> = arms
        .iter()
        .flat_map(|(_, values)| {
            values.keys().filter(|k| {
                k.strip_suffix("_std")
                    .is_none_or(|m| !values.contains_key(m))
            })
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The arms as one table, or, when that is too wide, one table per set of arms measured on
/// the same metrics (in order of first appearance), side by side where they fit.
fn arms_tables(h: &mut String, arms: &BTreeMap<String, BTreeMap<String, f64>>) {
    let all: Vec<ArmRow> = arms.iter().collect();
    if all.len().min(metric_names(&all).len()) <= MAX_COLUMNS {
        return arms_table(h, &all);
    }
    let mut groups: Vec<(Vec<&String>, Vec<ArmRow>)> = Vec::new();
    for arm in all {
        let key = metric_names(&[arm]);
        match groups.iter_mut().find(|g| g.0 == key) {
            Some(g) => g.1.push(arm),
            None => groups.push((key, vec![arm])),
        }
    }
    h.push_str("<div class=\"groups\">");
    groups.iter().for_each(|g| arms_table(h, &g.1));
    h.push_str("</div>");
}

/// One arms table, turned so that the longer side (arms or metrics) runs down the page.
fn arms_table(h: &mut String, arms: &[ArmRow]) {
    let metrics = metric_names(arms);
    let arm_names: Vec<&String> = arms.iter().map(|a| a.0).collect();
    let turned = metrics.len() > arms.len();
    let (corner, rows, cols) = if turned {
        ("metric", &metrics, &arm_names)
    } else {
        ("arm", &arm_names, &metrics)
    };
    let _ = write!(
        h,
        "<div class=\"scroll\"><table><thead><tr><th>{corner}</th>"
    );
    cols.iter().for_each(|c| {
        let _ = write!(h, "<th>{}</th>", wrappable(c));
    });
    h.push_str("</tr></thead><tbody>");
    for (i, row) in rows.iter().enumerate() {
        // Chromium breaks at <wbr> even in nowrap cells: short names get none.
        let _ = match row.chars().count() > LONG_NAME {
            true => write!(h, "<tr><th class=\"long\">{}</th>", wrappable(row)),
            false => write!(h, "<tr><th>{}</th>", esc(row)),
        };
        for j in 0..cols.len() {
            let (arm, metric) = if turned { (j, i) } else { (i, j) };
            let _ = write!(
                h,
                "<td class=\"n\">{}</td>",
                metric_cell(arms[arm].1, metrics[metric])
            );
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table></div>");
}

/// `m` of one arm as HTML: `mean ± std` (the spread quieter) when `m_std` is there, blank when
/// the arm has no `m`.
fn metric_cell(values: &BTreeMap<String, f64>, metric: &str) -> String {
    match (values.get(metric), values.get(&format!("{metric}_std"))) {
        (Some(m), Some(s)) => quiet_spread(&mean_std(*m, *s)),
        (Some(m), None) => number(*m),
        _ => String::new(),
    }
}

/// `a ± b` with `± b` in the quiet colour (a scientific `(a ± b)×10ᵉ` stays whole).
fn quiet_spread(text: &str) -> String {
    match text.split_once(" ± ") {
        Some((m, s)) if !m.starts_with('(') => format!("{m}<span class=\"sd\"> ± {s}</span>"),
        _ => text.into(),
    }
}

/// A family's table: numeric cells reformatted by kind and right-aligned, verdict details as
/// lists, other text as written.
fn table(h: &mut String, t: &Table) {
    let _ = write!(
        h,
        "<h3>{}</h3><div class=\"scroll\"><table><thead><tr>",
        esc(&t.title)
    );
    t.columns.iter().for_each(|c| {
        let _ = write!(h, "<th>{}</th>", wrappable(c));
    });
    h.push_str("</tr></thead><tbody>");
    for row in &t.rows {
        h.push_str("<tr>");
        for text in row {
            match cell(text) {
                Some(n) => {
                    let _ = write!(h, "<td class=\"n\">{}</td>", quiet_spread(&n));
                }
                None if verdict_parts(text).is_some() => {
                    h.push_str("<td>");
                    detail(h, text);
                    h.push_str("</td>");
                }
                None => {
                    let _ = write!(h, "<td>{}</td>", esc(text));
                }
            }
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table></div>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::all_of;

    fn part(holds: bool, metric: &str, detail: &str) -> Verdict {
        Verdict {
            holds,
            metric: metric.into(),
            method_arm: "method <b>".into(),
            baseline_arm: "base".into(),
            margin: if holds { 0.1 } else { -0.1 },
            effect: format!("{metric} effect"),
            detail: detail.into(),
        }
    }

    fn report(name: &str, verdict: Verdict) -> Report {
        let mut r = Report::new(name, "paper", "claim <script>alert(1)</script>", 1, verdict);
        r.paper_effect = "paper says 2×".into();
        r.arms.insert(
            "a".into(),
            BTreeMap::from([
                ("steps".into(), 2100.0),
                ("steps_std".into(), 173.2051),
                ("energy".into(), 0.0382764),
                ("lonely_std".into(), f64::NAN),
            ]),
        );
        r.figures = ["key.svg", "other.svg"]
            .map(|f| Figure {
                file: f.into(),
                caption: format!("caption of {f}"),
            })
            .to_vec();
        r.tables.push(Table {
            title: "per seed".into(),
            columns: vec!["seed".into(), "fd".into(), "verdict".into()],
            rows: vec![vec![
                "0".into(),
                "0.4649".into(),
                "seed 0: [ok] x; [FAIL] y".into(),
            ]],
        });
        r
    }

    fn index(reports: &[(&str, Report)]) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        for (name, r) in reports {
            r.save(&dir.path().join(name)).unwrap();
        }
        let html = std::fs::read_to_string(write_index(dir.path()).unwrap()).unwrap();
        (dir, html)
    }

    #[test]
    fn failing_part_of_all_of_is_named_and_marked() {
        let v = all_of(
            "both",
            vec![
                part(true, "ev", "ev within 5%"),
                part(false, "absorption", "absorption higher on seed 2"),
                part(true, "curves", "curves: [ok] unlocking early"),
            ],
        );
        let mut r = report("one", v);
        r.tried = vec!["lr 3e-3 <fast>: FVU 0.30".into()];
        let (_dir, html) = index(&[("one", r)]);
        // What was tried sits under the verdict, escaped.
        assert!(
            html.contains("<h3>What was tried</h3><ul><li>lr 3e-3 &lt;fast&gt;: FVU 0.30</li>")
        );
        assert!(html.find("What was tried").unwrap() < html.find("<h3>Arms</h3>").unwrap());
        assert!(html.contains("fails on <b>absorption</b>: method &lt;b&gt; vs base"));
        assert!(html.contains("<li class=\"fail\"><b>✘ FAIL</b> absorption higher on seed 2</li>"));
        assert!(html.contains("<li class=\"pass\"><b>✔ ok</b> ev within 5%</li>"));
        // The failing part comes first, and the effects sit side by side.
        assert!(html.find("absorption higher").unwrap() < html.find("ev within 5%").unwrap());
        assert!(html.contains(
            "<b>our effect</b>absorption effect</div><div><b>the paper's</b>paper says 2×"
        ));
        // A nested all_of arrives flattened: its marks read as signs.
        assert!(html.contains("<b>✔ ok</b> curves: ✔ unlocking early</li>"));
        // A per-seed table cell holding a verdict detail is a list too.
        assert!(html.contains("<li class=\"fail\"><b>✘ FAIL</b> y</li>"));
    }

    #[test]
    fn numbers_by_kind_and_page_order() {
        let (_dir, html) = index(&[("one", report("one", part(true, "m", "fine")))]);
        assert!(html.contains("<td class=\"n\">2100<span class=\"sd\"> ± 173</span></td>"));
        assert!(html.contains("<td class=\"n\">0.0383</td>"));
        assert!(html.contains("<td class=\"n\">0.465</td>")); // a family's "0.4649"
        assert!(html.contains("<th>lonely_std</th>")); // no `lonely`: a metric of its own, NaN
        assert!(html.contains("<td class=\"n\">—</td>"));
        assert!(!html.contains("<th>margin</th>"));
        let at = |s: &str| html.find(s).unwrap();
        assert!(at("Claim.") < at("✔ holds</b>"));
        assert!(at("one/key.svg") < at("<h3>Arms</h3>"));
        assert!(at("<h3>Arms</h3>") < at("<h3>per seed</h3>"));
        assert!(at("<h3>per seed</h3>") < at("one/other.svg"));
        assert!(at("one/other.svg") < at("<summary>configuration"));
    }

    #[test]
    fn unreadable_report_is_one_row_and_text_is_escaped() {
        let (dir, _) = index(&[("ok", report("ok", part(true, "m", "<i>fine</i>")))]);
        std::fs::create_dir(dir.path().join("bad")).unwrap();
        std::fs::write(dir.path().join("bad/report.json"), "{not json").unwrap();
        let html = std::fs::read_to_string(write_index(dir.path()).unwrap()).unwrap();
        let row = "<tr><td>bad</td><td colspan=\"7\" class=\"no\">unreadable report: ";
        let rest = &html[html.find(row).unwrap() + row.len()..];
        assert!(rest.find("</tr>").unwrap() < rest.find("<tr>").unwrap());
        assert!(!html.contains("id=\"bad\""));
        assert!(html.contains("1 of 1 claims hold."));
        assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"));
        assert!(!html.contains("<i>fine") && html.contains("&lt;i&gt;fine"));
    }

    #[test]
    fn wide_arm_tables_turn_and_split() {
        let wide: BTreeMap<String, f64> = (0..12)
            .map(|i| (format!("metric_{i:02}"), i as f64))
            .collect();
        let mut arms: BTreeMap<String, BTreeMap<String, f64>> =
            (0..3).map(|i| (format!("arm {i}"), wide.clone())).collect();
        let mut h = String::new();
        arms_tables(&mut h, &arms);
        assert!(
            h.starts_with("<div class=\"scroll\"><table><thead><tr><th>metric</th><th>arm 0</th>")
        );
        // Ten arms on twelve metrics, in two sets: split into one table per set.
        let narrow: BTreeMap<String, f64> = BTreeMap::from([("x".into(), 1.0)]);
        arms.extend((0..7).map(|i| (format!("other {i}"), narrow.clone())));
        let mut h = String::new();
        arms_tables(&mut h, &arms);
        assert_eq!(h.matches("<table>").count(), 2);
        assert!(h.starts_with("<div class=\"groups\">"));
        assert!(h.contains("<th>arm</th><th>x</th>"));
    }
}
