pub mod data { pub mod points; pub use points::Points; }
pub mod device;
pub mod error;
pub mod fsx;
pub mod gradcheck;
pub mod tensor;
pub mod train;

pub use burn;
pub use error::{Error, Result};
