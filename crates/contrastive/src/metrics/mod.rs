//! What the experiments measure on frozen features: linear-probe and k-NN accuracy
//! ([`probe`]), the singular-value spectrum, RankMe and the 1%-count ([`rank`]), gate overlap
//! vs the true sharing ([`gates`]) and the gate dendrogram ([`dendrogram`]).

pub mod dendrogram;
pub mod gates;
pub mod probe;
pub mod rank;
