//! JSON tokens for the fast OTLP/JSON scanner: a position in one document, strings that
//! borrow from it, numbers, and skipping whole values.
//!
//! Everything here accepts only JSON that `serde_json` accepts, and gives up
//! ([`NotScanned`]) on anything else or on anything it leaves to `serde_json` (escaped object
//! keys, lone surrogates, nesting deeper than [`MAX_DEPTH`]).

use std::borrow::Cow;

use deputy_core::json_text::plain_len;

pub(crate) use scalars::Number;

mod scalars;

/// The fast scanner gave up on a document at byte `at`: the document is malformed, or uses
/// JSON the scanner leaves to `serde_json` (which then decodes it or reports the error).
///
/// ```
/// let broken = r#"{"resourceSpans":[{"scopeSpans":"#;
/// let gave_up = deputy_audit::otlp_json::scan_each(broken, |_| {}).unwrap_err();
/// assert!(gave_up.at <= broken.len());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the fast OTLP/JSON scanner left the document to serde_json at byte {at}")]
pub struct NotScanned {
    /// The byte offset where the scanner stopped.
    pub at: usize,
}

/// What scanning returns.
pub(crate) type Scan<T> = Result<T, NotScanned>;

/// The deepest nesting of arrays and objects the scanner follows (`serde_json` allows 128 for
/// typed values, and does not limit skipped ones); deeper documents go to `serde_json`.
pub(crate) const MAX_DEPTH: u32 = 100;

/// A position in one JSON document.
pub(crate) struct Cursor<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: u32,
    /// Strings of earlier spans, emptied, for the next escaped strings (no allocation each).
    spare: Vec<String>,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Cursor {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            depth: 0,
            spare: Vec::new(),
        }
    }

    /// Gives up at the current position.
    pub(crate) fn fail<T>(&self) -> Scan<T> {
        Err(NotScanned { at: self.pos })
    }

    /// The next byte after whitespace (not consumed).
    pub(crate) fn peek(&mut self) -> Option<u8> {
        while let Some(&b) = self.bytes.get(self.pos) {
            if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(b);
            }
            self.pos += 1;
        }
        None
    }

    /// Consumes `byte` after whitespace, or gives up.
    pub(crate) fn expect(&mut self, byte: u8) -> Scan<()> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            self.fail()
        }
    }

    /// Consumes `byte` after whitespace if it is next.
    pub(crate) fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        self.pos += usize::from(found);
        found
    }

    /// Only whitespace is left.
    pub(crate) fn end(&mut self) -> Scan<()> {
        match self.peek() {
            None => Ok(()),
            Some(_) => self.fail(),
        }
    }

    /// Enters an array or object (`open` is `[` or `{`).
    pub(crate) fn open(&mut self, open: u8) -> Scan<()> {
        self.expect(open)?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.fail();
        }
        Ok(())
    }

    /// After an element or member: `true` when another follows (a comma was eaten), `false`
    /// at the `close` bracket (eaten).
    pub(crate) fn next_or_close(&mut self, close: u8) -> Scan<bool> {
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                Ok(true)
            }
            Some(b) if b == close => {
                self.pos += 1;
                self.depth = self.depth.saturating_sub(1);
                Ok(false)
            }
            _ => self.fail(),
        }
    }

    /// Right after `open`: `true` when the array or object is empty (its `close` eaten).
    pub(crate) fn close_if_empty(&mut self, close: u8) -> bool {
        let empty = self.eat(close);
        self.depth = self.depth.saturating_sub(u32::from(empty));
        empty
    }

    /// An object key and its colon. Keys with escapes are left to `serde_json`.
    pub(crate) fn key(&mut self) -> Scan<&'a str> {
        self.expect(b'"')?;
        let start = self.pos;
        let end = self.plain_run(start);
        if self.bytes.get(end) != Some(&b'"') {
            return self.fail();
        }
        self.pos = end + 1;
        let key = self.slice(start, end)?;
        self.expect(b':')?;
        Ok(key)
    }

    /// An object key and its colon, as its index in `known` (`None` for any other key). Keys
    /// are compared as they are written first, which is how exporters write the ones deputy
    /// reads (a known key written with escapes is left to `serde_json`, as any escaped key).
    #[inline(always)]
    pub(crate) fn known_key(&mut self, known: &[&str]) -> Scan<Option<usize>> {
        self.peek();
        let rest = self.bytes.get(self.pos..).unwrap_or_default();
        if rest.first() == Some(&b'"') {
            for (i, name) in known.iter().enumerate() {
                let name = name.as_bytes();
                // The closing quote first: it rules out most other names. (Inlined into each
                // caller, whose names are constants, the comparison needs no call to memcmp.)
                if rest.get(name.len() + 1) == Some(&b'"') && rest.get(1..=name.len()) == Some(name)
                {
                    self.pos += name.len() + 2;
                    self.expect(b':')?;
                    return Ok(Some(i));
                }
            }
        }
        self.key().map(|_| None)
    }

    /// A string value: borrowed unless it has escapes. (Inlined: returned through memory, the
    /// value cost a store-forwarding stall in the scanner's hottest loop.)
    #[inline(always)]
    pub(crate) fn string(&mut self) -> Scan<Cow<'a, str>> {
        self.expect(b'"')?;
        let start = self.pos;
        let end = self.plain_run(start);
        match self.bytes.get(end) {
            Some(b'"') => {
                self.pos = end + 1;
                Ok(Cow::Borrowed(self.slice(start, end)?))
            }
            Some(b'\\') => self.escaped(start, end),
            _ => {
                self.pos = end;
                self.fail()
            }
        }
    }

    /// A string with escapes, `start..end` its plain beginning (out of line: rare).
    #[inline(never)]
    fn escaped(&mut self, start: usize, end: usize) -> Scan<Cow<'a, str>> {
        let mut owned = self.spare.pop().unwrap_or_default();
        owned.clear();
        owned.push_str(self.slice(start, end)?);
        self.pos = end;
        self.escaped_rest(&mut owned)?;
        Ok(Cow::Owned(owned))
    }

    /// Keeps an owned string that is no longer needed for a later escaped string.
    pub(crate) fn recycle(&mut self, text: Cow<'a, str>) {
        const KEPT: usize = 64;
        if let Cow::Owned(text) = text
            && text.capacity() > 0
            && self.spare.len() < KEPT
        {
            self.spare.push(text);
        }
    }

    /// The rest of a string from its first backslash, unescaped into `out`.
    fn escaped_rest(&mut self, out: &mut String) -> Scan<()> {
        loop {
            match self.bytes.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let decoded = self.escape()?;
                    out.push(decoded);
                }
                _ => return self.fail(),
            }
            let start = self.pos;
            let end = self.plain_run(start);
            out.push_str(self.slice(start, end)?);
            self.pos = end;
        }
    }

    /// One escape after its backslash. Lone surrogates are left to `serde_json`.
    #[inline(always)]
    fn escape(&mut self) -> Scan<char> {
        let Some(&kind) = self.bytes.get(self.pos) else {
            return self.fail();
        };
        self.pos += 1;
        let simple = match kind {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => return self.unicode_escape(),
            _ => return self.fail(),
        };
        Ok(simple)
    }

    #[inline(never)]
    fn unicode_escape(&mut self) -> Scan<char> {
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                    return self.fail();
                }
                self.pos += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return self.fail();
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => return self.fail(),
            _ => first,
        };
        match char::from_u32(code) {
            Some(c) => Ok(c),
            None => self.fail(),
        }
    }

    fn hex4(&mut self) -> Scan<u32> {
        let Some(digits) = self.bytes.get(self.pos..self.pos + 4) else {
            return self.fail();
        };
        let mut value = 0;
        for &d in digits {
            let Some(v) = char::from(d).to_digit(16) else {
                return self.fail();
            };
            value = value * 16 + v;
        }
        self.pos += 4;
        Ok(value)
    }

    /// Skips one value of any kind, checking it is JSON `serde_json` would skip.
    pub(crate) fn skip_value(&mut self) -> Scan<()> {
        match self.peek() {
            Some(b'"') => self.skip_string(),
            Some(b'-' | b'0'..=b'9') => self.number().map(drop),
            Some(b't') if self.literal("true") => Ok(()),
            Some(b'f') if self.literal("false") => Ok(()),
            Some(b'n') if self.literal("null") => Ok(()),
            Some(b'[') => {
                self.open(b'[')?;
                if self.close_if_empty(b']') {
                    return Ok(());
                }
                loop {
                    self.skip_value()?;
                    if !self.next_or_close(b']')? {
                        return Ok(());
                    }
                }
            }
            Some(b'{') => {
                self.open(b'{')?;
                if self.close_if_empty(b'}') {
                    return Ok(());
                }
                loop {
                    self.skip_string()?;
                    self.expect(b':')?;
                    self.skip_value()?;
                    if !self.next_or_close(b'}')? {
                        return Ok(());
                    }
                }
            }
            _ => self.fail(),
        }
    }

    /// Skips a string, checking its escapes as `serde_json` does when it skips one (any four
    /// hex digits after `\u`).
    fn skip_string(&mut self) -> Scan<()> {
        self.expect(b'"')?;
        loop {
            self.pos = self.plain_run(self.pos);
            match self.bytes.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.bytes.get(self.pos) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.pos += 1;
                        }
                        Some(b'u') => {
                            self.pos += 1;
                            self.hex4()?;
                        }
                        _ => return self.fail(),
                    }
                }
                _ => return self.fail(),
            }
        }
    }

    /// The end of the run of string bytes from `from` that need no attention: the index of
    /// the first `"`, `\` or control character (or the end of the text).
    #[inline]
    fn plain_run(&self, from: usize) -> usize {
        from + self.bytes.get(from..).map_or(0, plain_len)
    }

    /// `text[start..end]`, or giving up if that is not on character boundaries (it always is:
    /// both ends sit next to ASCII bytes).
    #[inline(always)]
    fn slice(&self, start: usize, end: usize) -> Scan<&'a str> {
        match self.text.get(start..end) {
            Some(s) => Ok(s),
            None => self.fail(),
        }
    }
}
