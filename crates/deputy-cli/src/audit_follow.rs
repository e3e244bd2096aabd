//! `deputy audit ingest --follow FILE`: reads a file as it grows, like `tail -F`. At the end
//! of the file it waits for more; a file truncated in place is read again from its start, and
//! a file replaced at its path (rotated) is reopened and read from the start of the new one.
//! The lines themselves are still read bounded ([`deputy_audit::pipeline::MAX_LINE_BYTES`]).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::Duration;

/// How long to wait at the end of the file before looking again.
const POLL: Duration = Duration::from_millis(100);

/// A file read as it grows; `read` returns 0 never, it waits instead.
///
/// ```text
/// let reader = std::io::BufReader::new(Follow::open("spans.jsonl".into())?);
/// ```
pub struct Follow {
    path: PathBuf,
    file: File,
    /// Bytes read from `file` so far.
    position: u64,
}

impl Follow {
    /// Opens `path`, reading from its start.
    pub fn open(path: PathBuf) -> io::Result<Self> {
        let file = File::open(&path)?;
        Ok(Follow {
            path,
            file,
            position: 0,
        })
    }

    /// At the end of the file: whether it was truncated or replaced, and if so, reads on from
    /// the start of what is there now.
    fn reopen_if_changed(&mut self) -> io::Result<()> {
        let open = self.file.metadata()?;
        if let Ok(at_path) = std::fs::metadata(&self.path)
            && !same_file(&open, &at_path)
            && let Ok(file) = File::open(&self.path)
        {
            self.file = file;
            self.position = 0;
            return Ok(());
        }
        if open.len() < self.position {
            self.file.seek(SeekFrom::Start(0))?;
            self.position = 0;
        }
        Ok(())
    }
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    true
}

impl Read for Follow {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let n = self.file.read(buf)?;
            if n > 0 {
                self.position += n as u64;
                return Ok(n);
            }
            self.reopen_if_changed()?;
            std::thread::sleep(POLL);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};

    use super::*;

    #[test]
    fn appended_truncated_and_rotated_files_are_followed() {
        let dir = std::env::temp_dir().join(format!("deputy-follow-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("spans.jsonl");
        std::fs::write(&path, "one\n").unwrap();
        let mut reader = BufReader::new(Follow::open(path.clone()).unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert_eq!(line, "one\n");

        let writer = {
            let path = path.clone();
            let dir = dir.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(300));
                let mut f = File::options().append(true).open(&path).unwrap();
                f.write_all(b"two\n").unwrap();
                std::thread::sleep(Duration::from_millis(500));
                // Truncated in place, then written again.
                std::fs::write(&path, "three\n").unwrap();
                std::thread::sleep(Duration::from_millis(500));
                // Rotated: a new file takes the path.
                let new = dir.join("spans.jsonl.new");
                std::fs::write(&new, "four\n").unwrap();
                std::fs::rename(&new, &path).unwrap();
            })
        };
        for expected in ["two\n", "three\n", "four\n"] {
            line.clear();
            reader.read_line(&mut line).unwrap();
            assert_eq!(line, expected);
        }
        writer.join().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
