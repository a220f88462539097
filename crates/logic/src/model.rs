//! Fibred models (Gabbay 1999, as summarised in the method note §4.2): one Kripke model per
//! logic ("sort") of the fibred language, plus fibring maps `F_{i→j}` sending each world of
//! sort `i` to a world of sort `j` (the designated world of the pointed `L_j`-model that `F`
//! assigns; a class of pointed models is one graph here, since a disjoint union of models is a
//! model).
//!
//! Satisfaction at a world `w` of sort `i`: atoms and Booleans are evaluated locally; `◇ᵢ≥k φ`
//! counts `R_i`-successors of `w`; `◇ⱼ≥k φ` with `j ≠ i` holds iff it holds at `F_{i→j}(w)`
//! in sort `j`. A plain labelled graph is the one-sort model ([`Model::single`]); several
//! relations over the same nodes is the special case of equal graphs and identity maps.
//!
//! \[M\] The fibring paper (arXiv 2509.23912) defines its own "fibred models compatible with
//! fibred neural networks"; only its abstract and introduction could be read (see the crate
//! docs), so this is Gabbay's standard notion, not a transcription of the paper's definition.
//!
//! JSON: `{"sorts": [GRAPH, GRAPH], "maps": [{"from": 0, "to": 1, "map": [..]}, ..]}` with one
//! map for every ordered pair of distinct sorts; each GRAPH is the format of [`crate::graph`].

use std::path::Path;

use genlab_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::graph::{Graph, GraphError, GraphJson};

/// A fibred model that cannot be built as described, saying what to fix. Converts into
/// [`genlab_core::Error`]; file readers add the file's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// No sorts at all.
    #[error("a model needs at least one sort")]
    NoSorts,
    /// A map from a sort to itself, or from or to a sort that does not exist.
    #[error("fibring map {from}→{to}: sorts are 0..{} and a map joins two different sorts", sorts - 1)]
    MapEnds {
        /// Source sort.
        from: usize,
        /// Target sort.
        to: usize,
        /// How many sorts the model has.
        sorts: usize,
    },
    /// A map whose length is not the number of worlds of its source sort.
    #[error("fibring map {from}→{to} has {entries} entries but sort {from} has {worlds} worlds")]
    MapLength {
        /// Source sort.
        from: usize,
        /// Target sort.
        to: usize,
        /// Entries given.
        entries: usize,
        /// Worlds of the source sort.
        worlds: usize,
    },
    /// A map sending a world outside the target sort.
    #[error("fibring map {from}→{to} sends world {world} to {image}, but sort {to} has worlds 0..{}", worlds.saturating_sub(1))]
    MapTarget {
        /// Source sort.
        from: usize,
        /// Target sort.
        to: usize,
        /// The world of the source sort.
        world: usize,
        /// Where the map sends it.
        image: usize,
        /// Worlds of the target sort.
        worlds: usize,
    },
    /// The same map given twice.
    #[error("fibring map {from}→{to} is given twice")]
    DuplicateMap {
        /// Source sort.
        from: usize,
        /// Target sort.
        to: usize,
    },
    /// A pair of distinct sorts without a map.
    #[error("the fibring map {from}→{to} is missing (every ordered pair of sorts needs one)")]
    MissingMap {
        /// Source sort.
        from: usize,
        /// Target sort.
        to: usize,
    },
    /// One sort's graph is malformed.
    #[error("sort {sort}: {graph}")]
    Sort {
        /// The sort.
        sort: usize,
        /// What is wrong with its graph (part of the message, so not a separate cause).
        graph: GraphError,
    },
}

impl From<ModelError> for Error {
    fn from(e: ModelError) -> Error {
        genlab_core::Error::family(e)
    }
}

/// Sorts (one graph each) and the fibring maps between them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    sorts: Vec<Graph>,
    /// `maps[i * S + j]` is `F_{i→j}` (empty when `i == j`).
    maps: Vec<Vec<u32>>,
}

/// One fibring map in the JSON form.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapJson {
    /// Source sort.
    pub from: usize,
    /// Target sort.
    pub to: usize,
    /// `map[w]` is the world of sort `to` that world `w` of sort `from` is sent to.
    pub map: Vec<usize>,
}

/// The JSON form of a fibred model.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelJson {
    /// The graphs, one per sort.
    pub sorts: Vec<GraphJson>,
    /// The fibring maps.
    #[serde(default)]
    pub maps: Vec<MapJson>,
}

impl Model {
    /// The one-sort model of a plain graph.
    pub fn single(graph: Graph) -> Model {
        Model {
            sorts: vec![graph],
            maps: vec![Vec::new()],
        }
    }

    /// A fibred model; `maps` holds `(from, to, F_{from→to})` for every ordered pair of
    /// distinct sorts.
    pub fn new(
        sorts: Vec<Graph>,
        maps: Vec<(usize, usize, Vec<usize>)>,
    ) -> Result<Model, ModelError> {
        let s = sorts.len();
        if s == 0 {
            return Err(ModelError::NoSorts);
        }
        let mut table: Vec<Option<Vec<u32>>> = vec![None; s * s];
        for (from, to, map) in maps {
            if from >= s || to >= s || from == to {
                return Err(ModelError::MapEnds { from, to, sorts: s });
            }
            let (n_from, n_to) = (sorts[from].nodes(), sorts[to].nodes());
            if map.len() != n_from {
                return Err(ModelError::MapLength {
                    from,
                    to,
                    entries: map.len(),
                    worlds: n_from,
                });
            }
            if let Some((world, &image)) = map.iter().enumerate().find(|(_, t)| **t >= n_to) {
                return Err(ModelError::MapTarget {
                    from,
                    to,
                    world,
                    image,
                    worlds: n_to,
                });
            }
            if table[from * s + to].is_some() {
                return Err(ModelError::DuplicateMap { from, to });
            }
            table[from * s + to] = Some(map.into_iter().map(|t| t as u32).collect());
        }
        let mut maps = Vec::with_capacity(s * s);
        for (k, m) in table.into_iter().enumerate() {
            let (from, to) = (k / s, k % s);
            match m {
                Some(m) => maps.push(m),
                None if from == to => maps.push(Vec::new()),
                None => return Err(ModelError::MissingMap { from, to }),
            }
        }
        Ok(Model { sorts, maps })
    }

    /// Number of sorts.
    pub fn sorts(&self) -> usize {
        self.sorts.len()
    }

    /// The graph of sort `i`.
    pub fn graph(&self, i: usize) -> &Graph {
        &self.sorts[i]
    }

    /// `F_{from→to}` (only for `from ≠ to`).
    pub fn map(&self, from: usize, to: usize) -> &[u32] {
        &self.maps[from * self.sorts.len() + to]
    }

    /// Total number of worlds and arcs over all sorts (the `|M|` of the checker's cost).
    pub fn size(&self) -> usize {
        self.sorts.iter().map(|g| g.nodes() + g.arcs()).sum()
    }

    /// Largest out-degree over all sorts.
    pub fn max_degree(&self) -> usize {
        self.sorts.iter().map(Graph::max_degree).max().unwrap_or(0)
    }

    /// The JSON form.
    pub fn to_json(&self) -> ModelJson {
        let s = self.sorts.len();
        ModelJson {
            sorts: self.sorts.iter().map(Graph::to_json).collect(),
            maps: (0..s * s)
                .filter(|k| k / s != k % s)
                .map(|k| MapJson {
                    from: k / s,
                    to: k % s,
                    map: self.maps[k].iter().map(|&t| t as usize).collect(),
                })
                .collect(),
        }
    }

    /// Reads a model file: a fibred-model JSON (it has `"sorts"`), a graph JSON, or an edge list.
    pub fn load(path: &Path) -> Result<Model> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Model::parse(&text, path)
    }

    /// Parses the text of a model file; `source` names it in errors and picks the format.
    pub fn parse(text: &str, source: &Path) -> Result<Model> {
        if source.extension().is_none_or(|e| e != "json") {
            return Graph::parse_edge_list(text, source).map(Model::single);
        }
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            Error::parse(
                source,
                Some(e.line()),
                genlab_core::limits::shorten(&e.to_string()),
            )
        })?;
        if value.get("sorts").is_none() {
            return Graph::parse_json(text, source).map(Model::single);
        }
        let m: ModelJson = serde_json::from_str(text).map_err(|e| {
            Error::parse(
                source,
                Some(e.line()),
                genlab_core::limits::shorten(&e.to_string()),
            )
        })?;
        let sorts = m
            .sorts
            .iter()
            .enumerate()
            .map(|(sort, g)| Graph::from_json(g).map_err(|graph| ModelError::Sort { sort, graph }))
            .collect::<Result<Vec<_>, ModelError>>();
        let maps = m.maps.into_iter().map(|x| (x.from, x.to, x.map)).collect();
        sorts
            .and_then(|sorts| Model::new(sorts, maps))
            .map_err(|e| Error::parse(source, None, e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(n: usize) -> Graph {
        Graph::new(vec!["p".into()], n, &[], &[], false).unwrap()
    }

    #[test]
    fn maps_are_validated() {
        let ok = Model::new(
            vec![g(2), g(3)],
            vec![(0, 1, vec![2, 0]), (1, 0, vec![0, 1, 1])],
        );
        let m = ok.unwrap();
        assert_eq!(m.map(0, 1), &[2, 0]);
        assert_eq!(
            Model::parse(
                &serde_json::to_string(&m.to_json()).unwrap(),
                Path::new("m.json")
            )
            .unwrap(),
            m
        );
        let e = |maps| Model::new(vec![g(2), g(3)], maps).unwrap_err().to_string();
        assert!(e(vec![(0, 1, vec![2, 0])]).contains("1→0 is missing"));
        assert!(e(vec![(0, 1, vec![3, 0]), (1, 0, vec![0, 0, 0])]).contains("sends world 0 to 3"));
        assert!(e(vec![(0, 1, vec![0]), (1, 0, vec![0, 0, 0])]).contains("has 1 entries"));
        assert!(e(vec![(0, 0, vec![0, 0])]).contains("different sorts"));
        assert_eq!(
            Model::new(vec![g(2), g(3)], vec![(0, 1, vec![2, 0])]),
            Err(ModelError::MissingMap { from: 1, to: 0 })
        );
        let e = Model::parse(
            r#"{"sorts": [{"nodes": 1, "props": [], "edges": [[0, 4]]}]}"#,
            Path::new("m.json"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("m.json: sort 0: edge 0 (0, 4) is dangling"),
            "{e}"
        );
    }
}
