//! The top-level `exp` of a JWT payload, read in one pass without building anything.
//!
//! A cold resolve reads `exp` from every token the vault returns, and `serde_json` spent more
//! instructions skipping the other claims than the rest of deputy's own work on that path. This
//! scanner handles the payloads identity providers issue (plain keys, an integer or `null`
//! `exp`) and answers [`Scan::Unsure`] for anything else, which goes to `serde_json` as before.
//!
//! On valid JSON its answer is `serde_json`'s. On invalid JSON it may find an `exp` where
//! `serde_json` finds none; the caller only ever shortens a token's cache life with `exp`
//! (it is capped at the default lifetime), so that is never less safe.

use deputy_core::json_text::plain_len;

/// What the scan found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scan {
    /// A top-level `exp` with this integer value.
    Exp(u64),
    /// An object without an `exp`, or with `"exp": null`.
    NoExp,
    /// Something this scanner leaves to a full parser (escaped keys, a non-integer or repeated
    /// `exp`, a payload that is not one object, …).
    Unsure,
}

/// Scans `json` for its top-level `exp`.
pub(super) fn scan(json: &[u8]) -> Scan {
    members(json).unwrap_or(Scan::Unsure)
}

fn members(json: &[u8]) -> Option<Scan> {
    let mut at = skip_ws(json, 0);
    if json.get(at) != Some(&b'{') {
        return None;
    }
    at = skip_ws(json, at + 1);
    // `None` until an `exp` is seen, then its value (`None` for `null`).
    let mut exp: Option<Option<u64>> = None;
    if json.get(at) != Some(&b'}') {
        loop {
            let (key, after_key) = plain_key(json, at)?;
            at = skip_ws(json, after_key);
            if json.get(at) != Some(&b':') {
                return None;
            }
            at = skip_ws(json, at + 1);
            if key == b"exp" {
                if exp.is_some() {
                    return None;
                }
                let (value, after) = exp_value(json, at)?;
                exp = Some(value);
                at = after;
            } else {
                at = skip_value(json, at)?;
            }
            at = skip_ws(json, at);
            match json.get(at)? {
                b',' => at = skip_ws(json, at + 1),
                b'}' => break,
                _ => return None,
            }
        }
    }
    if skip_ws(json, at + 1) != json.len() {
        return None;
    }
    Some(match exp {
        Some(Some(n)) => Scan::Exp(n),
        _ => Scan::NoExp,
    })
}

/// A key without escapes, and the index after its closing quote.
fn plain_key(json: &[u8], at: usize) -> Option<(&[u8], usize)> {
    if json.get(at) != Some(&b'"') {
        return None;
    }
    let start = at + 1;
    let end = start + plain_len(json.get(start..)?);
    (*json.get(end)? == b'"').then(|| (&json[start..end], end + 1))
}

/// `exp`'s value when it is a plain unsigned integer or `null`.
fn exp_value(json: &[u8], at: usize) -> Option<(Option<u64>, usize)> {
    let rest = json.get(at..)?;
    if rest.starts_with(b"null") {
        return Some((None, at + 4));
    }
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || matches!(rest.get(digits), Some(b'.' | b'e' | b'E')) {
        return None;
    }
    // ASCII digits only, so the text is UTF-8; a value past `u64::MAX` fails to parse.
    let value = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    Some((Some(value), at + digits))
}

/// The index after the value starting at `at`.
fn skip_value(json: &[u8], at: usize) -> Option<usize> {
    match json.get(at)? {
        b'"' => skip_string(json, at),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = at;
            while let Some(&byte) = json.get(i) {
                match byte {
                    b'"' => {
                        i = skip_string(json, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            None
        }
        _ => {
            let len = json[at..]
                .iter()
                .position(|&b| matches!(b, b',' | b'}' | b']') || is_ws(b))
                .unwrap_or(json.len() - at);
            (len > 0).then_some(at + len)
        }
    }
}

/// The index after the string whose opening quote is at `at`. A raw control byte (invalid in
/// JSON strings) ends the scan: the parser decides.
fn skip_string(json: &[u8], at: usize) -> Option<usize> {
    let mut i = at + 1;
    loop {
        i += plain_len(json.get(i..)?);
        match json.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => return None,
        }
    }
}

fn is_ws(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

fn skip_ws(json: &[u8], at: usize) -> usize {
    at + json
        .get(at..)
        .map_or(0, |rest| rest.iter().take_while(|&&b| is_ws(b)).count())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `exp` as `serde_json` reads it: the answer the scanner must give, or leave to it.
    fn parsed(json: &[u8]) -> Option<u64> {
        super::super::parsed_exp(json)
    }

    struct Random(u64);

    impl Random {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len() as u64) as usize]
        }

        fn ws(&mut self) -> &'static str {
            ["", "", " ", "\n\t ", "\r\n"][self.below(5) as usize]
        }

        fn string(&mut self) -> String {
            let parts = [
                "exp",
                "\\\"exp\\\":1",
                "a",
                "\\\\",
                "\\u0065",
                "}",
                "{",
                "[",
                ",",
                ":",
                "é",
            ];
            let n = self.below(4);
            let body: String = (0..n).map(|_| self.pick(&parts)).collect();
            format!("\"{body}\"")
        }

        fn value(&mut self, depth: u32) -> String {
            let choice = if depth > 2 {
                self.below(5)
            } else {
                self.below(7)
            };
            match choice {
                0 => self.string(),
                1 => self
                    .pick(&["0", "-12", "3.5", "1e3", "170000000000"])
                    .to_owned(),
                2 => self.pick(&["true", "false", "null"]).to_owned(),
                3 | 4 => self.exp_like(),
                5 => {
                    let n = self.below(3);
                    let items: Vec<String> = (0..n).map(|_| self.value(depth + 1)).collect();
                    format!("[{}]", items.join(&format!("{},{}", self.ws(), self.ws())))
                }
                _ => self.object(depth + 1),
            }
        }

        fn exp_like(&mut self) -> String {
            self.pick(&[
                "1700000000",
                "0",
                "null",
                "18446744073709551615",
                "18446744073709551616",
                "1.5",
                "-1",
                "\"1700000000\"",
                "1e9",
            ])
            .to_owned()
        }

        fn object(&mut self, depth: u32) -> String {
            let n = self.below(5);
            let members: Vec<String> = (0..n)
                .map(|_| {
                    let key = match self.below(4) {
                        0 => "\"exp\"".to_owned(),
                        1 => self
                            .pick(&["\"\\u0065xp\"", "\"ex\"", "\"expx\"", "\"EXP\""])
                            .to_owned(),
                        _ => self.string(),
                    };
                    format!(
                        "{}{key}{}:{}{}",
                        self.ws(),
                        self.ws(),
                        self.ws(),
                        self.value(depth)
                    )
                })
                .collect();
            format!("{{{}{}}}", members.join(","), self.ws())
        }
    }

    #[test]
    fn agrees_with_serde_json_on_generated_payloads() {
        let mut random = Random(0x9e37_79b9_7f4a_7c15);
        let (mut found, mut absent) = (0, 0);
        for _ in 0..20_000 {
            let json = format!("{}{}{}", random.ws(), random.object(0), random.ws());
            let expected = parsed(json.as_bytes());
            match scan(json.as_bytes()) {
                Scan::Exp(n) => {
                    assert_eq!(Some(n), expected, "{json}");
                    found += 1;
                }
                Scan::NoExp => {
                    assert_eq!(None, expected, "{json}");
                    absent += 1;
                }
                Scan::Unsure => {}
            }
        }
        // Both answers of the fast path were exercised, not only the hand-over to the parser
        // (the generator makes escaped keys, odd `exp` values and duplicates on purpose).
        assert!(
            found > 250 && absent > 1_000,
            "{found} found, {absent} absent"
        );
    }

    #[test]
    fn on_damaged_payloads_it_never_contradicts_an_exp_serde_json_finds() {
        let mut random = Random(0x2545_f491_4f6c_dd1d);
        for _ in 0..20_000 {
            let mut json = random.object(0).into_bytes();
            // Damage: drop, duplicate or replace a byte.
            let at = random.below(json.len() as u64) as usize;
            match random.below(3) {
                0 => {
                    json.remove(at);
                }
                1 => json.insert(at, json[at]),
                _ => json[at] = b"{}[]\",:\\ 0"[random.below(10) as usize],
            }
            let expected = parsed(&json);
            match scan(&json) {
                // Invalid JSON may yield an `exp` serde_json would not read (it can only
                // shorten a cache life); a valid one must yield serde_json's.
                Scan::Exp(n) => assert!(expected.is_none_or(|e| e == n), "{json:?}"),
                Scan::NoExp => assert_eq!(expected, None, "{:?}", String::from_utf8_lossy(&json)),
                Scan::Unsure => {}
            }
        }
    }

    #[test]
    fn typical_claims_are_read_without_the_parser() {
        let claims = br#"{"sub":"okta|alice","aud":["api://linear"],"act":{"sub":"agent","exp":1},"scp":"read write","iat":1700000000,"exp":1700003600,"nested":[{"exp":5},"}"]}"#;
        assert_eq!(scan(claims), Scan::Exp(1_700_003_600));
        assert_eq!(scan(br#"{"a":"x\"}\",\"exp\":9","exp":5}"#), Scan::Exp(5));
        assert_eq!(scan(br#"{"a":["\\",{"exp":9}],"exp":5}"#), Scan::Exp(5));
        assert_eq!(scan(br#"{"sub":"x","exp":null}"#), Scan::NoExp);
        assert_eq!(scan(br#"{"sub":"x"}"#), Scan::NoExp);
        assert_eq!(scan(b"{}"), Scan::NoExp);
        assert_eq!(scan(br#"{"exp":1,"exp":2}"#), Scan::Unsure);
        assert_eq!(scan(br#"{"\u0065xp":1}"#), Scan::Unsure);
        assert_eq!(scan(br#"{"exp":1.5}"#), Scan::Unsure);
        assert_eq!(scan(br#"{"exp":1} x"#), Scan::Unsure);
        assert_eq!(scan(b"[1]"), Scan::Unsure);
        assert_eq!(scan(b""), Scan::Unsure);
    }
}
