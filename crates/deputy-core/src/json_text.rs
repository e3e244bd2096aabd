//! JSON string content: finding the bytes that need attention (`"`, `\` and control
//! characters) eight bytes at a time, and writing a string with `serde_json`'s escapes. The
//! audit pipeline's OTLP/JSON scanner and record writer, the resolver's reading of a JWT's
//! `exp`, and the asserted chain's span attribute use them.

/// The length of the prefix of `bytes` with no `"`, `\` or byte below 0x20: the index of the
/// first such byte, or `bytes.len()`.
///
/// ```
/// use deputy_core::json_text::plain_len;
/// assert_eq!(plain_len(b"plain text, long enough for a word\"tail"), 34);
/// assert_eq!(plain_len(b"tab\there"), 3);
/// assert_eq!(plain_len("no escapes: é 日本".as_bytes()), "no escapes: é 日本".len());
/// ```
#[inline]
pub fn plain_len(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        // The high bit of each byte that is zero in `x`; exact for the lowest such byte (a
        // borrow can only mark bytes above it).
        let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
        // Likewise for each byte below 0x20.
        let control = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
        let found = zero(word ^ (ONES * u64::from(b'"')))
            | zero(word ^ (ONES * u64::from(b'\\')))
            | control;
        if found != 0 {
            return at + (found.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    at + chunks
        .remainder()
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .unwrap_or(chunks.remainder().len())
}

/// Appends `value` as a JSON string with `serde_json`'s escapes: `\"`, `\\`, the short forms
/// `\b \f \n \r \t`, `\u00XX` (lowercase hex) for the other control characters, and
/// everything else as it is.
///
/// ```
/// use deputy_core::json_text::push_string;
/// let mut out = Vec::new();
/// push_string(&mut out, "say \"hi\"\n\u{1}é");
/// assert_eq!(std::str::from_utf8(&out).unwrap(), r#""say \"hi\"\n\u0001é""#);
/// assert_eq!(out, serde_json::to_vec("say \"hi\"\n\u{1}é").unwrap());
/// ```
pub fn push_string(out: &mut Vec<u8>, value: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let mut rest = value.as_bytes();
    loop {
        let (head, tail) = rest.split_at(plain_len(rest));
        out.extend_from_slice(head);
        let Some((&b, tail)) = tail.split_first() else {
            break;
        };
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]),
        }
        rest = tail;
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_byte_needing_attention_at_every_offset() {
        for len in 0..40 {
            for special in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
                for at in 0..=len {
                    let mut bytes = vec![b'a'; len];
                    // Bytes that are near the special ones but plain.
                    for (i, b) in bytes.iter_mut().enumerate() {
                        *b = [b'a', b' ', b'#', b']', 0x7f, 0xc3, 0xff][i % 7];
                    }
                    if at < len {
                        bytes[at] = special;
                        // A second one later must not matter.
                        if at + 3 < len {
                            bytes[at + 3] = b'"';
                        }
                    }
                    assert_eq!(plain_len(&bytes), at, "{len} {special} {at}");
                }
            }
        }
    }
}
