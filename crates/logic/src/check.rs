//! The model checker: bottom-up labelling. For every distinct subformula ψ (in the post-order
//! of [`Dag`]) and every sort `s`, one pass computes the truth of ψ at every world of `s`:
//!
//! ```text
//! [[p]]_s(w)        = V_s(w, p)
//! [[¬φ]]_s(w)       = ¬[[φ]]_s(w);   [[φ∧ψ]], [[φ∨ψ]] pointwise
//! [[◇_s≥k φ]]_s(w)  = |{u : (w,u) ∈ R_s, [[φ]]_s(u)}| ≥ k
//! [[◇_j≥k φ]]_s(w)  = [[◇_j≥k φ]]_j(F_{s→j}(w))        (j ≠ s, the fibring map)
//! ```
//!
//! Each table costs O(|W_s| + |R_s|), so the whole labelling costs O(|φ| · |M|), linear in the
//! size of the model times the number of subformulas. The counting loop stops at `k`.

use genlab_core::{Error, Result};

use crate::formula::{Dag, Formula, Node};
use crate::model::Model;

/// Truth of every subformula at every world of every sort: `tables[i][s][w]`.
pub type Tables = Vec<Vec<Vec<bool>>>;

/// Checks that `model` interprets everything `dag` mentions.
fn validate(model: &Model, dag: &Dag) -> Result<()> {
    for node in &dag.nodes {
        match node {
            Node::Atom(p) => {
                for s in 0..model.sorts() {
                    model.graph(s).atom(p).map_err(|e| {
                        Error::InvalidInput(if model.sorts() == 1 {
                            e.to_string()
                        } else {
                            format!("sort {s}: {e}")
                        })
                    })?;
                }
            }
            Node::Dia { modality, .. } if *modality >= model.sorts() => {
                return Err(Error::InvalidInput(format!(
                    "the formula uses modality {modality} (◇_{modality}) but the model has {} sort{}",
                    model.sorts(),
                    if model.sorts() == 1 { "" } else { "s" }
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Labels every world of every sort with the truth of every subformula.
pub fn check(model: &Model, dag: &Dag) -> Result<Tables> {
    validate(model, dag)?;
    let sorts = model.sorts();
    let mut tables: Tables = Vec::with_capacity(dag.len());
    for node in &dag.nodes {
        let per_sort: Vec<Vec<bool>> = match node {
            Node::Dia {
                modality: j,
                grade,
                body,
            } => {
                let own = count_at_least(model, *j, &tables[*body][*j], *grade);
                (0..sorts)
                    .map(|s| {
                        if s == *j {
                            own.clone()
                        } else {
                            model.map(s, *j).iter().map(|&t| own[t as usize]).collect()
                        }
                    })
                    .collect()
            }
            _ => (0..sorts)
                .map(|s| local(model, s, node, &tables))
                .collect::<Result<_>>()?,
        };
        tables.push(per_sort);
    }
    Ok(tables)
}

/// The truth of `f` at every world of sort `sort`.
pub fn truth(model: &Model, f: &Formula, sort: usize) -> Result<Vec<bool>> {
    if sort >= model.sorts() {
        return Err(Error::InvalidInput(format!(
            "sort {sort} does not exist; the model has {} sort(s)",
            model.sorts()
        )));
    }
    let dag = Dag::new(f);
    let mut tables = check(model, &dag)?;
    Ok(std::mem::take(&mut tables[dag.root()][sort]))
}

/// A non-modal connective at sort `s`.
fn local(model: &Model, s: usize, node: &Node, tables: &Tables) -> Result<Vec<bool>> {
    let n = model.graph(s).nodes();
    Ok(match node {
        Node::Top => vec![true; n],
        Node::Bot => vec![false; n],
        Node::Atom(p) => model.graph(s).atom(p)?.to_vec(),
        Node::Not(a) => tables[*a][s].iter().map(|x| !x).collect(),
        Node::And(a, b) => zip(&tables[*a][s], &tables[*b][s], |x, y| x && y),
        Node::Or(a, b) => zip(&tables[*a][s], &tables[*b][s], |x, y| x || y),
        Node::Dia { .. } => unreachable!("diamonds are handled by `check`"),
    })
}

fn zip(a: &[bool], b: &[bool], f: impl Fn(bool, bool) -> bool) -> Vec<bool> {
    a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect()
}

/// `|{u ∈ R_j(w) : body(u)}| ≥ k` for every world `w` of sort `j`.
fn count_at_least(model: &Model, j: usize, body: &[bool], k: u32) -> Vec<bool> {
    let g = model.graph(j);
    (0..g.nodes())
        .map(|w| {
            let mut c = 0u32;
            for &u in g.neighbours(w) {
                if body[u as usize] {
                    c += 1;
                    if c >= k {
                        return true;
                    }
                }
            }
            false
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::graph::Graph;
    use crate::parse::parse;
    use crate::random::{random_formula, random_model};
    use genlab_core::train::SeededRng;

    /// The definition of satisfaction, read literally: a naive recursive oracle.
    pub(crate) fn holds(m: &Model, f: &Formula, s: usize, w: usize) -> bool {
        match f {
            Formula::Top => true,
            Formula::Bot => false,
            Formula::Atom(p) => m.graph(s).atom(p).unwrap()[w],
            Formula::Not(a) => !holds(m, a, s, w),
            Formula::And(a, b) => holds(m, a, s, w) && holds(m, b, s, w),
            Formula::Or(a, b) => holds(m, a, s, w) || holds(m, b, s, w),
            Formula::Dia {
                modality,
                grade,
                body,
            } => {
                if *modality != s {
                    let t = m.map(s, *modality)[w] as usize;
                    return holds(m, f, *modality, t);
                }
                let count = m
                    .graph(s)
                    .neighbours(w)
                    .iter()
                    .filter(|&&u| holds(m, body, s, u as usize))
                    .count();
                count >= *grade as usize
            }
        }
    }

    fn star(leaves_with_p: usize, leaves: usize) -> Model {
        // Centre 0 joined to leaves 1..=leaves; the first `leaves_with_p` leaves satisfy p.
        let labels: Vec<Vec<usize>> = (0..=leaves)
            .map(|v| {
                if v >= 1 && v <= leaves_with_p {
                    vec![0]
                } else {
                    vec![]
                }
            })
            .collect();
        let edges: Vec<(usize, usize)> = (1..=leaves).map(|v| (0, v)).collect();
        Model::single(
            Graph::new(
                vec!["p".into(), "q".into()],
                leaves + 1,
                &labels,
                &edges,
                false,
            )
            .unwrap(),
        )
    }

    #[test]
    fn truth_tables_of_the_connectives() {
        // Four nodes carrying the four (p, q) combinations, no edges.
        let labels = vec![vec![], vec![1], vec![0], vec![0, 1]];
        let m = Model::single(
            Graph::new(vec!["p".into(), "q".into()], 4, &labels, &[], false).unwrap(),
        );
        let t = |s: &str| truth(&m, &parse(s).unwrap(), 0).unwrap();
        assert_eq!(t("p"), [false, false, true, true]);
        assert_eq!(t("q"), [false, true, false, true]);
        assert_eq!(t("!p"), [true, true, false, false]);
        assert_eq!(t("p & q"), [false, false, false, true]);
        assert_eq!(t("p | q"), [false, true, true, true]);
        assert_eq!(t("true"), [true; 4]);
        assert_eq!(t("false"), [false; 4]);
        assert_eq!(t("<> true"), [false; 4], "no successors");
    }

    #[test]
    fn graded_diamond_at_k_minus_one_k_and_k_plus_one() {
        for k in 1..=4u32 {
            for have in [k - 1, k, k + 1] {
                let m = star(have as usize, 6);
                let f = Formula::dia(0, k, Formula::atom("p"));
                let t = truth(&m, &f, 0).unwrap();
                assert_eq!(t[0], have >= k, "k={k} with {have} p-neighbours");
                // Each leaf sees only the centre, which is not p.
                assert!(t[1..].iter().all(|x| !x));
                // ◇≥k ⊤ is "degree ≥ k".
                let deg = truth(&m, &Formula::dia(0, k, Formula::Top), 0).unwrap();
                assert_eq!(deg[0], 6 >= k);
                assert_eq!(deg[1], k == 1);
            }
        }
    }

    #[test]
    fn unknown_atoms_and_modalities_are_refused() {
        let m = star(1, 2);
        let e = truth(&m, &parse("r").unwrap(), 0).unwrap_err().to_string();
        assert!(e.contains("`r`") && e.contains("[p, q]"), "{e}");
        let e = truth(&m, &parse("<1> p").unwrap(), 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("modality 1"), "{e}");
    }

    #[test]
    fn agrees_with_the_naive_oracle_on_random_fibred_models() {
        let mut rng = SeededRng::new(11);
        for trial in 0..200 {
            let sorts = 1 + trial % 3;
            let m = random_model(rng.rng(), sorts, (1, 12), &["p", "q", "r"], None);
            let f = random_formula(rng.rng(), &["p", "q", "r"], 3, 3, sorts);
            for s in 0..sorts {
                let t = truth(&m, &f, s).unwrap();
                for (w, &x) in t.iter().enumerate() {
                    assert_eq!(x, holds(&m, &f, s, w), "{f} at sort {s} world {w}");
                }
            }
        }
    }
}
