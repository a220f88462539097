//! The dashboard as one self-contained HTML page: an index of the latents sorted by density,
//! then one card per latent — density, a histogram (inline SVG), the top-activating contexts
//! and the contexts at activation quantiles with each token shaded by the latent's activation
//! on it (relative to the latent's max; the firing token outlined), and the promoted /
//! suppressed tokens of its decoder row. No scripts, no external resources.

use std::fmt::Write;

use super::{Dashboard, Example, LatentCard};

/// HTML-escapes `s`, showing whitespace tokens visibly (`␣` is not used: spaces are kept,
/// newlines become `↵`).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push('↵'),
            '\t' => out.push('⇥'),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:24px;max-width:1100px;color:#222}\
h1{font-size:22px}h2{font-size:18px;margin:0 0 6px}table{border-collapse:collapse}\
td,th{padding:2px 8px;text-align:left;border-bottom:1px solid #eee;font-size:13px}\
.card{border:1px solid #ccc;border-radius:6px;padding:12px 16px;margin:18px 0}\
.stats{color:#555;font-size:13px;margin-bottom:8px}.row{display:flex;gap:24px;flex-wrap:wrap}\
.ctx{font-family:ui-monospace,monospace;font-size:12.5px;white-space:pre;margin:1px 0}\
.ctx span{border-radius:2px}.ctx .f{outline:1.5px solid #c60}.act{color:#888;display:inline-block;width:96px}\
.tok{font-family:ui-monospace,monospace;font-size:12.5px}.pos{color:#1a7f37}.neg{color:#b42318}\
h3{font-size:14px;margin:10px 0 4px}";

/// The page.
pub fn render(d: &Dashboard) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>SAE latents — {model} layer {layer}</title><style>{STYLE}</style></head><body>",
        model = escape(&d.model),
        layer = d.layer
    );
    let _ = write!(
        h,
        "<h1>SAE latents: {model}, layer {layer}, width {w}</h1><p class=\"stats\">{n} latents on {t} tokens of {seqs} sequences of {corpus}. Shading: the latent's activation on each token relative to its maximum; the outlined token is the one the example is centred on. Promoted/suppressed: the decoder row through the final norm and unembedding, logits centred over the vocabulary.</p>",
        model = escape(&d.model),
        layer = d.layer,
        w = d.width,
        n = d.latents.len(),
        t = d.tokens,
        seqs = d.sequences,
        corpus = escape(&d.corpus)
    );
    h.push_str("<h2>Index (by density)</h2><table><tr><th>latent</th><th>density</th><th>max</th><th>top context token</th><th>promotes</th></tr>");
    for c in &d.latents {
        let focus = c
            .top
            .first()
            .map(|e| escape(&e.tokens[e.focus]))
            .unwrap_or_default();
        let promotes = c
            .promoted
            .iter()
            .take(3)
            .map(|(t, _)| format!("<span class=\"tok\">{}</span>", escape(t)))
            .collect::<Vec<_>>()
            .join(" · ");
        let _ = write!(
            h,
            "<tr><td><a href=\"#l{j}\">#{j}</a></td><td>{den:.5}</td><td>{max:.3}</td><td class=\"tok\">{focus}</td><td>{promotes}</td></tr>",
            j = c.latent,
            den = c.density,
            max = c.max
        );
    }
    h.push_str("</table>");
    for c in &d.latents {
        card(&mut h, c);
    }
    h.push_str("</body></html>\n");
    h
}

fn card(h: &mut String, c: &LatentCard) {
    let _ = write!(
        h,
        "<div class=\"card\" id=\"l{j}\"><h2>Latent #{j}</h2><div class=\"stats\">density {den:.5} ({fired} tokens) · max {max:.3} · mean when firing {mean:.3}</div><div class=\"row\"><div>",
        j = c.latent,
        den = c.density,
        fired = c.fired,
        max = c.max,
        mean = c.mean_active
    );
    histogram_svg(h, c);
    h.push_str("</div><div><h3>Promoted tokens</h3>");
    logit_list(h, &c.promoted, "pos");
    h.push_str("</div><div><h3>Suppressed tokens</h3>");
    logit_list(h, &c.suppressed, "neg");
    h.push_str("</div></div><h3>Top activations</h3>");
    if c.top.is_empty() {
        h.push_str("<p class=\"stats\">never fired on these tokens</p>");
    }
    for e in &c.top {
        context(h, e, c.max, "");
    }
    if !c.quantiles.is_empty() {
        h.push_str("<h3>At activation quantiles</h3>");
        for (q, e) in &c.quantiles {
            context(h, e, c.max, &format!("q{q:.1} "));
        }
    }
    h.push_str("</div>");
}

fn context(h: &mut String, e: &Example, max: f32, label: &str) {
    let _ = write!(
        h,
        "<div class=\"ctx\"><span class=\"act\">{label}{:.3}</span>",
        e.activation
    );
    for (i, (t, &a)) in e.tokens.iter().zip(&e.acts).enumerate() {
        let alpha = if max > 0.0 {
            (a / max).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let class = if i == e.focus { " class=\"f\"" } else { "" };
        let _ = write!(
            h,
            "<span{class} style=\"background:rgba(255,120,0,{alpha:.2})\" title=\"{a:.3}\">{}</span>",
            escape(t)
        );
    }
    h.push_str("</div>");
}

fn logit_list(h: &mut String, items: &[(String, f32)], class: &str) {
    h.push_str("<table>");
    for (t, v) in items {
        let _ = write!(
            h,
            "<tr><td class=\"tok\">{}</td><td class=\"{class}\">{v:+.3}</td></tr>",
            escape(t)
        );
    }
    h.push_str("</table>");
}

fn histogram_svg(h: &mut String, c: &LatentCard) {
    let (w, ht) = (360.0, 120.0);
    let peak = c.hist_counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let bar = w / c.hist_counts.len().max(1) as f64;
    let _ = write!(
        h,
        "<h3>Activation histogram</h3><svg width=\"{w}\" height=\"{}\" role=\"img\"><title>histogram of activations when firing</title>",
        ht + 18.0
    );
    for (i, &n) in c.hist_counts.iter().enumerate() {
        let bh = ht * n as f64 / peak;
        let _ = write!(
            h,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"#e8843c\"><title>{n}</title></rect>",
            i as f64 * bar,
            ht - bh,
            (bar - 1.0).max(1.0)
        );
    }
    let last = c.hist_edges.last().copied().unwrap_or(0.0);
    let _ = write!(
        h,
        "<text x=\"0\" y=\"{y}\" font-size=\"11\">0</text><text x=\"{w}\" y=\"{y}\" font-size=\"11\" text-anchor=\"end\">{last:.2}</text></svg>",
        y = ht + 14.0
    );
}
