//! Finding the bytes of JSON string content that need attention: `"`, `\` and control
//! characters. The audit pipeline's OTLP/JSON scanner (reading) and record writer (escaping),
//! and the resolver's reading of a JWT's `exp`, skip everything else eight bytes at a time.

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
