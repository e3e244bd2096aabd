//! Persistence: the SQLite store and the encryption of values at rest.

pub mod crypto;
pub mod sqlite;

pub use crypto::DataKey;
pub use sqlite::Store;
