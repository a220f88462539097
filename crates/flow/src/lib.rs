pub use genlab_core;
