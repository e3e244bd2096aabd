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
/// ```
pub fn count_values(text: &str, stop_after: usize) -> usize {
    let mut count = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in text.as_bytes() {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
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
