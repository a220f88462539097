//! Seeded random inputs for the verification harness and the tests: graphs (Erdős–Rényi,
//! preferential-attachment power-law, grids, bounded-degree), fibred models, formulas, and
//! integer AC-GNNs outside the compiler's image (for the decompiler).

use rand::Rng;
use rand::seq::IndexedRandom;

use crate::formula::Formula;
use crate::gnn::{Gnn, Layer, Neuron};
use crate::graph::Graph;
use crate::model::Model;

/// A family of random graphs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Family {
    /// G(n, m) with m = n · `avg_degree` / 2 uniformly drawn edges.
    ErdosRenyi {
        /// Expected degree.
        avg_degree: f64,
    },
    /// Preferential attachment (Barabási–Albert), each new node joining `attach` existing ones;
    /// its degree distribution has a power-law tail.
    PowerLaw {
        /// Edges per new node.
        attach: usize,
    },
    /// A ⌊√n⌋-wide 4-neighbour grid.
    Grid,
    /// Random edges, skipping any that would give a node more than `max_degree` neighbours.
    BoundedDegree {
        /// Δ.
        max_degree: usize,
    },
}

impl Family {
    /// Short name for tables.
    pub fn name(&self) -> String {
        match self {
            Family::ErdosRenyi { avg_degree } => format!("erdos-renyi(d={avg_degree})"),
            Family::PowerLaw { attach } => format!("power-law(m={attach})"),
            Family::Grid => "grid".into(),
            Family::BoundedDegree { max_degree } => format!("bounded(Δ={max_degree})"),
        }
    }
}

/// Edges of a random `family` graph on `n` nodes.
pub fn random_edges<R: Rng + ?Sized>(rng: &mut R, family: Family, n: usize) -> Vec<(usize, usize)> {
    if n < 2 {
        return Vec::new();
    }
    match family {
        Family::ErdosRenyi { avg_degree } => {
            let m = (n as f64 * avg_degree / 2.0).round() as usize;
            (0..m)
                .map(|_| {
                    let u = rng.random_range(0..n);
                    let v = (u + rng.random_range(1..n)) % n;
                    (u, v)
                })
                .collect()
        }
        Family::PowerLaw { attach } => {
            // `ends` lists every edge endpoint, so a uniform pick from it is degree-proportional.
            let mut ends: Vec<usize> = vec![0];
            let mut edges = Vec::new();
            for v in 1..n {
                for _ in 0..attach.min(v) {
                    let u = *ends.choose(rng).expect("non-empty");
                    edges.push((v, u));
                    ends.push(u);
                    ends.push(v);
                }
            }
            edges
        }
        Family::Grid => {
            let w = (n as f64).sqrt().floor().max(1.0) as usize;
            let mut edges = Vec::new();
            for v in 0..n {
                if (v + 1) % w != 0 && v + 1 < n {
                    edges.push((v, v + 1));
                }
                if v + w < n {
                    edges.push((v, v + w));
                }
            }
            edges
        }
        Family::BoundedDegree { max_degree } => {
            let mut degree = vec![0usize; n];
            let mut seen = std::collections::HashSet::new();
            let mut edges = Vec::new();
            for _ in 0..n * max_degree / 2 {
                let u = rng.random_range(0..n);
                let v = (u + rng.random_range(1..n)) % n;
                // A repeated pair is deduplicated by `Graph::new`, so it must not count twice.
                if degree[u] < max_degree
                    && degree[v] < max_degree
                    && seen.insert((u.min(v), u.max(v)))
                {
                    degree[u] += 1;
                    degree[v] += 1;
                    edges.push((u, v));
                }
            }
            edges
        }
    }
}

/// A random undirected `family` graph on `n` nodes; each atom holds at each node with
/// probability `density`.
pub fn random_graph<R: Rng + ?Sized>(
    rng: &mut R,
    family: Family,
    n: usize,
    atoms: &[&str],
    density: f64,
) -> Graph {
    let edges = random_edges(rng, family, n);
    let labels: Vec<Vec<usize>> = (0..n)
        .map(|_| {
            (0..atoms.len())
                .filter(|_| rng.random_bool(density))
                .collect()
        })
        .collect();
    let props = atoms.iter().map(|s| s.to_string()).collect();
    Graph::new(props, n, &labels, &edges, false).expect("generated graphs are well-formed")
}

/// One of the three standard families, picked uniformly.
pub fn random_family<R: Rng + ?Sized>(rng: &mut R) -> Family {
    match rng.random_range(0..3) {
        0 => Family::ErdosRenyi {
            avg_degree: rng.random_range(1.0..6.0),
        },
        1 => Family::PowerLaw {
            attach: rng.random_range(1..4),
        },
        _ => Family::Grid,
    }
}

/// A fibred model with `sorts` sorts of `nodes.0..=nodes.1` worlds each and random fibring
/// maps; each sort's graph comes from a random standard family, or from the bounded-degree
/// family when `max_degree` is given.
pub fn random_model<R: Rng + ?Sized>(
    rng: &mut R,
    sorts: usize,
    nodes: (usize, usize),
    atoms: &[&str],
    max_degree: Option<usize>,
) -> Model {
    let graphs: Vec<Graph> = (0..sorts)
        .map(|_| {
            let n = rng.random_range(nodes.0..=nodes.1.max(nodes.0));
            let family = match max_degree {
                Some(d) => Family::BoundedDegree { max_degree: d },
                None => random_family(rng),
            };
            random_graph(rng, family, n, atoms, 0.5)
        })
        .collect();
    let mut maps = Vec::new();
    for i in 0..sorts {
        for j in 0..sorts {
            if i != j {
                let to = graphs[j].nodes();
                let map = (0..graphs[i].nodes())
                    .map(|_| rng.random_range(0..to))
                    .collect();
                maps.push((i, j, map));
            }
        }
    }
    Model::new(graphs, maps).expect("generated models are well-formed")
}

/// A random formula of syntactic depth ≤ `depth` over `atoms`, grades in 1..=`max_grade`,
/// modalities in 0..`modalities`.
pub fn random_formula<R: Rng + ?Sized>(
    rng: &mut R,
    atoms: &[&str],
    depth: usize,
    max_grade: u32,
    modalities: usize,
) -> Formula {
    let leaf = |rng: &mut R| match rng.random_range(0..12) {
        0 => Formula::Top,
        1 => Formula::Bot,
        _ => Formula::atom(atoms.choose(rng).expect("at least one atom")),
    };
    if depth == 0 || rng.random_bool(0.15) {
        return leaf(rng);
    }
    let sub = |rng: &mut R| random_formula(rng, atoms, depth - 1, max_grade, modalities);
    match rng.random_range(0..5) {
        0 => !(sub(rng)),
        1 => Formula::and(sub(rng), sub(rng)),
        2 => Formula::or(sub(rng), sub(rng)),
        _ => Formula::dia(
            rng.random_range(0..modalities.max(1)),
            rng.random_range(1..=max_grade.max(1)),
            sub(rng),
        ),
    }
}

/// A random integer AC-GNN over `atoms` (sort 0, no fibres): `layers` layers of `width`
/// neurons, each with up to `terms` self and `terms` neighbour weights in −2..=2 and a bias
/// in −2..=2. Such networks are generally not the image of any formula under the compiler.
pub fn random_gnn<R: Rng + ?Sized>(
    rng: &mut R,
    atoms: &[&str],
    layers: usize,
    width: usize,
    terms: usize,
) -> Gnn {
    let mut prev = atoms.len();
    let mut out = Vec::new();
    for l in 0..layers {
        let w = if l + 1 == layers { 1 } else { width };
        let neurons = (0..w)
            .map(|_| {
                let pick = |rng: &mut R| -> Vec<(usize, i64)> {
                    let k = rng.random_range(0..=terms);
                    (0..k)
                        .map(|_| (rng.random_range(0..prev), rng.random_range(-2..=2)))
                        .collect()
                };
                Neuron {
                    c: pick(rng),
                    a: pick(rng),
                    b: rng.random_range(-2..=2),
                    fibre: None,
                }
            })
            .collect();
        out.push(Layer { neurons });
        prev = w;
    }
    Gnn::new(0, atoms.iter().map(|s| s.to_string()).collect(), out, 0)
        .expect("generated networks are well-formed")
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::train::SeededRng;

    #[test]
    fn families_have_their_shape() {
        let mut rng = SeededRng::new(3);
        let mut graph = |family, n| random_graph(rng.rng(), family, n, &["p"], 0.5);
        let grid = graph(Family::Grid, 12);
        // 3-wide grid of 12 nodes: 4 rows × 3 columns, 4·2 + 3·3 = 17 edges.
        assert_eq!(grid.arcs(), 2 * 17);
        let b = graph(Family::BoundedDegree { max_degree: 3 }, 200);
        assert!(b.max_degree() <= 3);
        let pl = graph(Family::PowerLaw { attach: 2 }, 2000);
        let er = graph(Family::ErdosRenyi { avg_degree: 4.0 }, 2000);
        assert!(
            pl.max_degree() > 3 * er.max_degree(),
            "hubs: {} vs {}",
            pl.max_degree(),
            er.max_degree()
        );
        let a = random_formula(SeededRng::new(5).rng(), &["p"], 4, 3, 2);
        let b = random_formula(SeededRng::new(5).rng(), &["p"], 4, 3, 2);
        assert_eq!(a, b, "same seed, same formula");
    }
}
