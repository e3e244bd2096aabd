//! The scanner's scalar tokens: numbers (their text, checked against the JSON grammar) and
//! the literals `true`, `false` and `null`.

use super::{Cursor, Scan};

/// A number's text and whether it is a plain integer (no fraction, no exponent).
pub(crate) struct Number<'a> {
    pub(crate) text: &'a str,
    pub(crate) integer: bool,
}

impl<'a> Cursor<'a> {
    /// A number (JSON grammar); its text is left for the caller to convert.
    pub(crate) fn number(&mut self) -> Scan<Number<'a>> {
        self.peek();
        let start = self.pos;
        self.pos += usize::from(self.bytes.get(self.pos) == Some(&b'-'));
        match self.bytes.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return self.fail(),
        }
        let mut integer = true;
        if self.bytes.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            integer = false;
            self.required_digits()?;
        }
        if matches!(self.bytes.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            integer = false;
            self.pos += usize::from(matches!(self.bytes.get(self.pos), Some(b'+' | b'-')));
            self.required_digits()?;
        }
        if matches!(self.bytes.get(self.pos), Some(b'0'..=b'9')) {
            return self.fail(); // a second leading zero
        }
        Ok(Number {
            text: self.slice(start, self.pos)?,
            integer,
        })
    }

    fn digits(&mut self) {
        while matches!(self.bytes.get(self.pos), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
    }

    fn required_digits(&mut self) -> Scan<()> {
        let start = self.pos;
        self.digits();
        if self.pos == start {
            return self.fail();
        }
        Ok(())
    }

    /// A literal (`true`, `false`, `null`) if it is next.
    pub(crate) fn literal(&mut self, word: &str) -> bool {
        self.peek();
        let found = self
            .bytes
            .get(self.pos..)
            .is_some_and(|rest| rest.starts_with(word.as_bytes()));
        if found {
            self.pos += word.len();
        }
        found
    }
}
