//! One module per spike flow.

pub mod federation;
pub mod m2m;
pub mod obo;
