//! A `tracing_subscriber::fmt` writer that keeps what was written, for tests that search logs.
//!
//! ```
//! use std::io::Write;
//! let captured = deputy_tests::captured::Captured::default();
//! let mut writer = captured.clone();
//! writer.write_all(b"hello").unwrap();
//! assert_eq!(captured.text(), "hello");
//! ```

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

/// What the writer was given so far. Clones share it.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Everything written so far, as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
