//! The human-readable rationale of a tier-1 estimate: what the detectors saw (score and reason
//! of each detected effect), how much each growth step lowered the MRSTFT, why the search
//! stopped, how the chosen order compared with the alternatives, and what pruning removed.
//! It is built only from the search [`Trace`], so it states the measured numbers.

use std::fmt::Write;

use crate::estimate::detect::DETECTED;
use crate::estimate::search::Trace;

fn percent(before: f64, after: f64) -> f64 {
    if before > 0.0 {
        100.0 * (after - before) / before
    } else {
        0.0
    }
}

/// The rationale of a search.
pub fn explain(trace: &Trace) -> String {
    let mut text = String::new();
    let mut detected: Vec<_> = trace
        .detections
        .iter()
        .filter(|d| d.score >= DETECTED)
        .collect();
    detected.sort_by(|a, b| b.score.total_cmp(&a.score));
    if detected.is_empty() {
        text.push_str("No detector fired strongly");
    } else {
        text.push_str("Detected ");
        let parts: Vec<String> = detected
            .iter()
            .map(|d| format!("{} (score {:.2}: {})", d.effect.name, d.score, d.reason))
            .collect();
        text.push_str(&parts.join("; "));
    }
    let _ = write!(
        text,
        ". Tried {}. Starting from the unprocessed input (MRSTFT {:.3})",
        if trace.tried.is_empty() {
            "nothing".to_string()
        } else {
            trace.tried.join(", ")
        },
        trace.no_op
    );
    if let Some((start, given, refitted)) = &trace.started_from {
        let _ = write!(
            text,
            "; the proposed chain [{}] scored {given:.3}, {refitted:.3} after re-fitting its parameters",
            start.join(" → ")
        );
    }
    for g in &trace.grown {
        let _ = write!(
            text,
            ", adding {} at position {} lowered it to {:.3} ({:+.0}%)",
            g.effect,
            g.position + 1,
            g.after,
            percent(g.before, g.after)
        );
    }
    text.push('.');
    if let Some((effect, reached, needed)) = trace.rejected {
        let _ = write!(
            text,
            " Stopped: the best next effect, {effect}, reached {reached:.3}, not below {needed:.3} \
             (each extra effect must lower the distance by {:.0}%).",
            100.0 * trace.penalty
        );
    }
    if trace.orders_tried > 0
        && let Some((order, d)) = &trace.best_other_order
    {
        let _ = write!(
            text,
            " Order: {} other order(s) compared; the best alternative [{}] scored {:.3}{}.",
            trace.orders_tried,
            order.join(" → "),
            d,
            if trace.reordered {
                " and was adopted"
            } else {
                ", so the grown order was kept"
            }
        );
    }
    for (effect, d) in &trace.pruned {
        let _ = write!(
            text,
            " Dropped {effect}: without it the distance is {d:.3}, within {:.0}%.",
            100.0 * trace.penalty
        );
    }
    if let Some(c) = &trace.confirmed {
        let _ = write!(
            text,
            " (Searched at {} Hz.) Confirmed at {} Hz: the unprocessed input scores {:.3} and \
             the searched chain {:.3}{}; {} local parameter step(s){}.",
            c.search_rate,
            c.rate,
            c.no_op,
            c.before,
            if c.added_equalizer {
                "; an equalizer for the band above the search rate's Nyquist frequency was added"
            } else {
                ""
            },
            c.steps,
            if c.pruned.is_empty() {
                String::new()
            } else {
                format!(", then dropped {}", c.pruned.join(", "))
            }
        );
    }
    let _ = write!(
        text,
        " Final MRSTFT {:.3} after {} renders{}.",
        trace.distance,
        trace.evaluations,
        if trace.budget_exhausted {
            " (render budget exhausted)"
        } else {
            ""
        }
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::spec::effect;
    use crate::estimate::search::Growth;

    #[test]
    fn states_each_step_with_its_numbers() {
        let trace = Trace {
            detections: vec![crate::estimate::detect::Detection {
                effect: effect("reverb").unwrap(),
                score: 0.9,
                reason: "energy after the dry end".into(),
                start: vec![0.5, 0.5, 0.9, 0.3],
            }],
            tried: vec!["reverb", "gain"],
            no_op: 1.0,
            grown: vec![Growth {
                effect: "reverb",
                position: 0,
                before: 1.0,
                after: 0.25,
            }],
            rejected: Some(("gain", 0.249, 0.2374)),
            orders_tried: 0,
            best_other_order: None,
            reordered: false,
            pruned: vec![],
            distance: 0.25,
            evaluations: 42,
            penalty: 0.05,
            budget_exhausted: false,
            confirmed: None,
            started_from: None,
        };
        let text = explain(&trace);
        assert!(text.contains("reverb (score 0.90"), "{text}");
        assert!(text.contains("lowered it to 0.250 (-75%)"), "{text}");
        assert!(
            text.contains("gain, reached 0.249, not below 0.237"),
            "{text}"
        );
        assert!(text.contains("after 42 renders."), "{text}");
    }
}
