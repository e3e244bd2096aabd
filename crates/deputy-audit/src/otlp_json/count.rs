//! Counts the values of a JSON document without decoding it, to refuse one whose decoding
//! would allocate too much before any of it is decoded.

/// An upper bound on the JSON values in `text` that decoding could allocate for: the `{`,
/// `[` and `,` outside strings (every array element and object member follows one of
/// them). Counting stops once past `stop_after`; the result is then `stop_after + 1`.
///
/// Three bytes (`{},`) become a span, and five (`null,`) an array element, so the body size
/// alone does not bound what decoding an OTLP/JSON request costs; this count does.
///
/// ```
/// use deputy_audit::otlp_json::count_values;
/// assert_eq!(count_values(r#"{"a":[1,2],"b":"{[,"}"#, 100), 4);
/// assert_eq!(count_values("[[[[[[", 3), 4);
/// assert_eq!(count_values(r#"["a\"[,", "\\", ",{"]"#, 100), 3);
/// assert_eq!(count_values(r#"[1,"unclosed,[,"#, 100), 2);
/// ```
pub fn count_values(text: &str, stop_after: usize) -> usize {
    let bytes = text.as_bytes();
    let mut count = 0usize;
    let mut at = 0usize;
    while let Some(&byte) = bytes.get(at) {
        at += 1;
        match byte {
            b'"' => match string_end(bytes, at) {
                Some(end) => at = end,
                None => return count,
            },
            b'{' | b'[' | b',' => {
                count += 1;
                if count > stop_after {
                    return count;
                }
            }
            _ => {}
        }
    }
    count
}

/// Where the string whose contents start at `from` ends (just past its closing quote), or
/// `None` when it is not closed. Jumps from `\` to `\` and `"` with `memchr` rather than
/// looking at every byte: most of an OTLP/JSON body is string contents.
fn string_end(bytes: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let rest = bytes.get(from..)?;
        let found = memchr::memchr2(b'"', b'\\', rest)?;
        if rest.get(found) == Some(&b'"') {
            return Some(from + found + 1);
        }
        // A backslash: the byte after it is escaped, whatever it is.
        from += found + 2;
    }
}
