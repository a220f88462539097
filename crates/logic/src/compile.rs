//! Formula → GNN: the construction of Barceló et al. (ICLR 2020, Prop. 4.1's proof), extended
//! to fibred formulas.
//!
//! One feature per subformula; subformula ψ is computed at layer `h(ψ)` (its height: 1 for
//! atoms, constants and fibred diamonds, 1 + the children's maximum otherwise) and copied
//! forward by identity while a later subformula still reads it:
//!
//! ```text
//! p            C[p] = 1                      (copy the input bit)
//! ⊤ / ⊥        b = 1 / b = 0
//! ¬φ           C[φ] = −1, b = 1
//! φ ∧ ψ        C[φ] = C[ψ] = 1, b = −1
//! φ ∨ ψ        C[φ] = C[ψ] = 1, b = 0
//! ◇ₛ≥k φ       A[φ] = 1, b = 1 − k           (s = the network's own sort)
//! ◇ⱼ≥k φ, j≠s  b = 1, fibre = compile(◇ⱼ≥k φ, sort j)
//! copy ψ       C[ψ] = 1
//! ```
//!
//! With 0/1 inputs every neuron is 0/1, and by induction on ψ, neuron ψ at world v is 1 iff
//! `v ⊨ ψ`: e.g. σ(#{u ∈ N(v) : u ⊨ φ} + 1 − k) = 1 iff the count is ≥ k. A fibred diamond
//! becomes a neuron with constant activation 1 whose child network (on sort j) computes
//! `◇ⱼ≥k φ`; the child's output neuron is an aggregation, hence modal, so the fibre is
//! compatible and its injected value at `F_{s→j}(v)` is exactly the fibred semantics.

use std::collections::BTreeSet;

use genlab_core::Result;

use crate::formula::{Dag, Formula, Node};
use crate::gnn::{Gnn, Layer, Neuron};

/// The network computing `f` at every world of sort `sort`; fails only when the result exceeds
/// the network limits (e.g. fibred modalities alternating more than
/// [`crate::gnn::MAX_FIBRE_DEPTH`] times).
pub fn compile(f: &Formula, sort: usize) -> Result<Gnn> {
    let dag = Dag::new(f);
    let fibred = |i: usize| matches!(dag.nodes[i], Node::Dia { modality, .. } if modality != sort);
    // Subformulas this network computes itself: reachable from the root without entering the
    // body of a fibred diamond (that body belongs to the child network).
    let mut live = vec![false; dag.len()];
    live[dag.root()] = true;
    for i in (0..dag.len()).rev() {
        if !live[i] || fibred(i) {
            continue;
        }
        for c in children(&dag.nodes[i]) {
            live[c] = true;
        }
    }
    let mut height = vec![0usize; dag.len()];
    for i in 0..dag.len() {
        height[i] = if fibred(i) {
            1
        } else {
            1 + children(&dag.nodes[i])
                .into_iter()
                .map(|c| height[c])
                .max()
                .unwrap_or(0)
        };
    }
    // Last layer at which each subformula is read (by a parent at layer h(parent)).
    let mut last_use = vec![0usize; dag.len()];
    for i in (0..dag.len()).filter(|&i| live[i] && !fibred(i)) {
        for c in children(&dag.nodes[i]) {
            last_use[c] = last_use[c].max(height[i]);
        }
    }
    let inputs: Vec<String> = (0..dag.len())
        .filter(|&i| live[i])
        .filter_map(|i| match &dag.nodes[i] {
            Node::Atom(p) => Some(p.clone()),
            _ => None,
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let depth = height[dag.root()];
    // pos[i]: index of subformula i in the previous layer.
    let mut pos = vec![usize::MAX; dag.len()];
    let mut layers = Vec::with_capacity(depth);
    for l in 1..=depth {
        let members: Vec<usize> = (0..dag.len())
            .filter(|&i| {
                live[i] && (height[i] == l || (height[i] < l && last_use[i] > l))
                    || (i == dag.root() && l == depth)
            })
            .collect();
        let neurons = members
            .iter()
            .map(|&i| {
                if height[i] < l {
                    return Ok(copy(pos[i]));
                }
                neuron(&dag, i, sort, &pos, &inputs)
            })
            .collect::<Result<_>>()?;
        layers.push(Layer { neurons });
        pos = vec![usize::MAX; dag.len()];
        for (k, &i) in members.iter().enumerate() {
            pos[i] = k;
        }
    }
    let output = pos[dag.root()];
    Gnn::new(sort, inputs, layers, output)
}

fn children(n: &Node) -> Vec<usize> {
    match n {
        Node::Not(a) | Node::Dia { body: a, .. } => vec![*a],
        Node::And(a, b) | Node::Or(a, b) => vec![*a, *b],
        _ => vec![],
    }
}

fn copy(from: usize) -> Neuron {
    Neuron::plain(&[(from, 1)], &[], 0)
}

/// The neuron computing subformula `i` from the previous layer (`pos`) or the inputs.
fn neuron(dag: &Dag, i: usize, sort: usize, pos: &[usize], inputs: &[String]) -> Result<Neuron> {
    let mut n = Neuron::plain(&[], &[], 0);
    match &dag.nodes[i] {
        Node::Top => n.b = 1,
        Node::Bot => {}
        Node::Atom(p) => n.c = vec![(inputs.iter().position(|x| x == p).expect("collected"), 1)],
        Node::Not(a) => {
            n.c = vec![(pos[*a], -1)];
            n.b = 1;
        }
        Node::And(a, b) => {
            n.c = vec![(pos[*a], 1), (pos[*b], 1)];
            n.b = -1;
        }
        Node::Or(a, b) => n.c = vec![(pos[*a], 1), (pos[*b], 1)],
        Node::Dia {
            modality,
            grade,
            body,
        } => {
            if *modality == sort {
                n.a = vec![(pos[*body], 1)];
                n.b = 1 - *grade as i64;
            } else {
                n.b = 1;
                n.fibre = Some(Box::new(compile(&dag.formula(i), *modality)?));
            }
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::truth;
    use crate::model::Model;
    use crate::parse::parse;
    use crate::random::{Family, random_formula, random_graph, random_model};
    use genlab_core::train::SeededRng;
    use proptest::prelude::*;

    #[test]
    fn one_layer_per_level_and_the_textbook_weights() {
        let net = compile(&parse("<>=2 (p & !q)").unwrap(), 0).unwrap();
        // Heights: p, q = 1; ¬q = 2; p ∧ ¬q = 3; ◇≥2 = 4.
        assert_eq!(net.layers().len(), 4);
        assert_eq!(net.inputs(), ["p", "q"]);
        let last = &net.layers()[3].neurons;
        assert_eq!(last.len(), 1);
        assert_eq!((last[0].a.clone(), last[0].b), (vec![(0, 1)], -1));
        // Layer 1: p, q; layer 2: ¬q (weight, bias) and a copy of p; layer 3: ∧ (two
        // weights, bias); layer 4: ◇≥2 (weight, bias). q is not copied: nothing reads it later.
        assert_eq!(
            net.layers()
                .iter()
                .map(|l| l.neurons.len())
                .collect::<Vec<_>>(),
            [2, 2, 1, 1]
        );
        assert_eq!(net.parameters(), 2 + (2 + 1) + 3 + 2);
    }

    #[test]
    fn fibred_diamonds_become_fibres() {
        let net = compile(&parse("p & <1>=2 q").unwrap(), 0).unwrap();
        assert!(net.is_fibred());
        assert_eq!(net.max_sort(), 1);
        let m = random_model(SeededRng::new(1).rng(), 2, (1, 30), &["p", "q"], None);
        let f = parse("p & <1>=2 q").unwrap();
        assert_eq!(net.eval(&m).unwrap(), truth(&m, &f, 0).unwrap());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// compile(φ) evaluated on G equals the model checker on every node.
        #[test]
        fn compiled_network_equals_checker(seed in any::<u64>(), n in 1usize..40, depth in 0usize..5) {
            let mut rng = SeededRng::new(seed);
            let atoms = ["p", "q", "r"];
            let f = random_formula(rng.rng(), &atoms, depth, 3, 1);
            let family = crate::random::random_family(rng.rng());
            let g = Model::single(random_graph(rng.rng(), family, n, &atoms, 0.5));
            let net = compile(&f, 0).unwrap();
            prop_assert_eq!(net.eval(&g).unwrap(), truth(&g, &f, 0).unwrap(), "{}", f);
        }

        /// The same for fibred formulas on fibred models, from every sort.
        #[test]
        fn compiled_fibred_network_equals_checker(seed in any::<u64>(), sorts in 1usize..4, depth in 0usize..5) {
            let mut rng = SeededRng::new(seed);
            let atoms = ["p", "q"];
            let f = random_formula(rng.rng(), &atoms, depth, 3, sorts);
            let m = random_model(rng.rng(), sorts, (1, 25), &atoms, None);
            for s in 0..sorts {
                let net = compile(&f, s).unwrap();
                prop_assert_eq!(net.eval(&m).unwrap(), truth(&m, &f, s).unwrap(), "{} at sort {}", f, s);
            }
        }
    }

    #[test]
    fn too_many_fibre_alternations_are_an_error_not_a_panic() {
        let mut f = Formula::atom("p");
        for i in 0..40 {
            f = Formula::dia(i % 2, 1, f);
        }
        let e = compile(&f, 1).unwrap_err().to_string();
        assert!(e.contains("deeper than"), "{e}");
    }

    #[test]
    fn grid_corner_cases() {
        // ◇≥3 ⊤ on a grid: exactly the non-border nodes plus border non-corners (degree 3).
        let g = Model::single(random_graph(
            SeededRng::new(0).rng(),
            Family::Grid,
            16,
            &["p"],
            0.5,
        ));
        let f = parse("<>=3 true & !<>=4 true").unwrap();
        let t = compile(&f, 0).unwrap().eval(&g).unwrap();
        assert_eq!(
            t.iter().filter(|&&x| x).count(),
            8,
            "a 4×4 grid has 8 degree-3 nodes"
        );
    }
}
