//! The diffusion side of the family: the Concept-TRAK toy data ([`shapes`]), the
//! class-conditional DDPM it trains ([`ddpm`]), and the output functions with their
//! featurisation ([`outputs`]).

pub mod ddpm;
pub mod outputs;
pub mod shapes;
