//! The `deputy` command.
fn main() {}
