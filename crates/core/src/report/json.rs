//! `report.json`: what an experiment measured, its configuration, and its computed verdict.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::verdict::Verdict;
use crate::error::Result;
use crate::fsx;

/// arm → metric → value. A metric `m` measured over seeds may come with `m_std`.
pub type Arms = BTreeMap<String, BTreeMap<String, f64>>;

/// A figure file (relative to the report's directory) with its caption.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// File name, relative to the report directory.
    pub file: String,
    /// One-sentence caption.
    pub caption: String,
}

/// An extra table of numbers (e.g. metric vs steps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// Title.
    pub title: String,
    /// Column headers.
    pub columns: Vec<String>,
    /// Rows of cells, already formatted.
    pub rows: Vec<Vec<String>>,
}

/// Everything an experiment reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Experiment name.
    pub name: String,
    /// Paper(s) reproduced.
    pub paper: String,
    /// The claim under test.
    pub claim: String,
    /// The paper's effect size for the claim, shown beside the verdict's (ours).
    #[serde(default)]
    pub paper_effect: String,
    /// Base seed.
    pub seed: u64,
    /// Every seed that was run.
    pub seeds: Vec<u64>,
    /// Whether the quick configuration ran.
    pub quick: bool,
    /// CPU threads used.
    pub threads: usize,
    /// Full configuration of the run.
    pub config: serde_json::Value,
    /// Measured numbers per arm. Non-finite values are stored as `null`.
    #[serde(with = "finite_arms")]
    pub arms: Arms,
    /// The verdict, computed from `arms`.
    pub verdict: Verdict,
    /// Figures.
    pub figures: Vec<Figure>,
    /// Extra tables.
    pub tables: Vec<Table>,
    /// Remarks (e.g. what does not reproduce and why).
    pub notes: Vec<String>,
    /// What was tried to make a failing claim hold: the settings explored and why, each with
    /// its measured outcome. Shown under the verdict.
    #[serde(default)]
    pub tried: Vec<String>,
    /// Wall-clock time of the run.
    pub wall_seconds: f64,
    /// genlab version.
    pub version: String,
}

impl Report {
    /// A report with the given identity and verdict; the rest starts empty.
    pub fn new(name: &str, paper: &str, claim: &str, seed: u64, verdict: Verdict) -> Report {
        Report {
            name: name.into(),
            paper: paper.into(),
            claim: claim.into(),
            paper_effect: String::new(),
            seed,
            seeds: vec![seed],
            quick: false,
            threads: 0,
            config: serde_json::Value::Null,
            arms: Arms::new(),
            verdict,
            figures: vec![],
            tables: vec![],
            notes: vec![],
            tried: vec![],
            wall_seconds: 0.0,
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }

    /// Writes `dir/report.json` atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        fsx::write_json(&dir.join("report.json"), self)
    }

    /// Reads a `report.json`.
    pub fn load(path: &Path) -> Result<Report> {
        fsx::read_json(path)
    }
}

/// JSON has no NaN or infinity: such metrics are written as `null` and read back as NaN.
mod finite_arms {
    use super::Arms;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer>(arms: &Arms, s: S) -> Result<S::Ok, S::Error> {
        let safe: BTreeMap<&String, BTreeMap<&String, Option<f64>>> = arms
            .iter()
            .map(|(a, m)| {
                (
                    a,
                    m.iter()
                        .map(|(k, v)| (k, v.is_finite().then_some(*v)))
                        .collect(),
                )
            })
            .collect();
        safe.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arms, D::Error> {
        let raw: BTreeMap<String, BTreeMap<String, Option<f64>>> = BTreeMap::deserialize(d)?;
        Ok(raw
            .into_iter()
            .map(|(a, m)| {
                (
                    a,
                    m.into_iter()
                        .map(|(k, v)| (k, v.unwrap_or(f64::NAN)))
                        .collect(),
                )
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_nan() {
        let dir = tempfile::tempdir().unwrap();
        let v = Verdict {
            holds: false,
            metric: "m".into(),
            method_arm: "a".into(),
            baseline_arm: "b".into(),
            margin: -1.0,
            detail: "d".into(),
            ..Verdict::default()
        };
        let mut r = Report::new("x", "p", "c", 7, v);
        r.arms.insert(
            "a".into(),
            BTreeMap::from([("m".into(), f64::NAN), ("k".into(), 2.5)]),
        );
        r.save(dir.path()).unwrap();
        let text = std::fs::read_to_string(dir.path().join("report.json")).unwrap();
        assert!(text.contains("null"));
        let back = Report::load(&dir.path().join("report.json")).unwrap();
        assert!(back.arms["a"]["m"].is_nan());
        assert_eq!(back.arms["a"]["k"], 2.5);
        assert_eq!(back.seed, 7);
    }
}
