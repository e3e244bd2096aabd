//! Cache keys: the fields that distinguish one token from another and their compact encoding.

/// Everything that distinguishes one token from another. Lists are kept sorted and deduplicated
/// so that equal requests share an entry whatever order their scopes were written in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    workload: String,
    user: Option<String>,
    provider: String,
    flow: &'static str,
    scopes: Vec<String>,
    audiences: Vec<String>,
    resources: Vec<String>,
    repo: Option<String>,
    task: Option<String>,
}

impl CacheKey {
    /// A key for a workload's token from a provider with a flow; add the rest with the setters.
    ///
    /// ```
    /// use deputy::cache::CacheKey;
    /// let a = CacheKey::new("agent", "github", "user_federation").user("okta+alice").scopes(["repo", "read:org"]);
    /// let b = CacheKey::new("agent", "github", "user_federation").user("okta+alice").scopes(["read:org", "repo"]);
    /// assert_eq!(a, b);
    /// assert_ne!(a, b.clone().user("okta+bob"));
    /// ```
    pub fn new(workload: &str, provider: &str, flow: &'static str) -> Self {
        CacheKey {
            workload: workload.to_owned(),
            user: None,
            provider: provider.to_owned(),
            flow,
            scopes: Vec::new(),
            audiences: Vec::new(),
            resources: Vec::new(),
            repo: None,
            task: None,
        }
    }

    /// The user the token is for.
    pub fn user(mut self, user: &str) -> Self {
        self.user = Some(user.to_owned());
        self
    }

    /// The scopes requested.
    pub fn scopes<S: AsRef<str>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = sorted(scopes);
        self
    }

    /// The audiences requested.
    pub fn audiences<S: AsRef<str>>(mut self, audiences: impl IntoIterator<Item = S>) -> Self {
        self.audiences = sorted(audiences);
        self
    }

    /// The resources requested.
    pub fn resources<S: AsRef<str>>(mut self, resources: impl IntoIterator<Item = S>) -> Self {
        self.resources = sorted(resources);
        self
    }

    /// The repository the token is scoped to.
    pub fn repo(mut self, repo: &str) -> Self {
        self.repo = Some(repo.to_owned());
        self
    }

    /// The task the token belongs to, for tokens that must never serve another task.
    pub fn task(mut self, task: &str) -> Self {
        self.task = Some(task.to_owned());
        self
    }
}

/// The fields of a [`CacheKey`], in the fixed order of its compact form.
pub(super) const USER: usize = 1;
pub(super) const PROVIDER: usize = 2;
pub(super) const TASK: usize = 8;

impl CacheKey {
    /// The key as the cache stores it.
    pub(crate) fn compact(&self) -> CompactKey {
        KeyFields {
            workload: &self.workload,
            user: self.user.as_deref(),
            provider: &self.provider,
            flow: self.flow,
            scopes: &self.scopes,
            audiences: &self.audiences,
            resources: &self.resources,
            repo: self.repo.as_deref(),
            task: self.task.as_deref(),
        }
        .compact()
    }
}

/// A key in the form the cache stores: one allocation of exactly its length. Each field is
/// its length (LEB128) and its bytes, in a fixed order, and each list is its item count and its
/// items, so no value can be mistaken for another and equal keys encode equally.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CompactKey(pub(super) Box<[u8]>);

/// The fields of a key, borrowed: what the resolver encodes on every resolve without building
/// a [`CacheKey`] first. Lists need not be sorted; the encoding sorts and deduplicates them.
pub(crate) struct KeyFields<'a> {
    pub(crate) workload: &'a str,
    pub(crate) user: Option<&'a str>,
    pub(crate) provider: &'a str,
    pub(crate) flow: &'static str,
    pub(crate) scopes: &'a [String],
    pub(crate) audiences: &'a [String],
    pub(crate) resources: &'a [String],
    pub(crate) repo: Option<&'a str>,
    pub(crate) task: Option<&'a str>,
}

/// A list as it is encoded: borrowed when already sorted without duplicates, else re-sorted.
enum Items<'a> {
    Sorted(&'a [String]),
    Resorted(Vec<&'a str>),
}

impl<'a> Items<'a> {
    fn of(list: &'a [String]) -> Self {
        if list.is_sorted_by(|a, b| a < b) {
            return Items::Sorted(list);
        }
        let mut items: Vec<&str> = list.iter().map(String::as_str).collect();
        items.sort_unstable();
        items.dedup();
        Items::Resorted(items)
    }

    fn for_each(&self, mut f: impl FnMut(&str)) {
        match self {
            Items::Sorted(list) => list.iter().for_each(|item| f(item)),
            Items::Resorted(items) => items.iter().for_each(|item| f(item)),
        }
    }

    fn count(&self) -> usize {
        match self {
            Items::Sorted(list) => list.len(),
            Items::Resorted(items) => items.len(),
        }
    }
}

impl KeyFields<'_> {
    /// Encodes the key with one allocation (two when a list is not already sorted).
    pub(crate) fn compact(&self) -> CompactKey {
        let head = [
            self.workload,
            self.user.unwrap_or(""),
            self.provider,
            self.flow,
        ];
        let lists = [self.scopes, self.audiences, self.resources].map(Items::of);
        let tail = [self.repo.unwrap_or(""), self.task.unwrap_or("")];
        let field_len = |value: &str| encoded_len(value.len()) + value.len();
        let mut size: usize = head.iter().chain(&tail).map(|value| field_len(value)).sum();
        for items in &lists {
            size += encoded_len(items.count());
            items.for_each(|item| size += field_len(item));
        }
        let mut out = Vec::with_capacity(size);
        head.iter().for_each(|value| push_field(&mut out, value));
        for items in &lists {
            push_len(&mut out, items.count());
            items.for_each(|item| push_field(&mut out, item));
        }
        tail.iter().for_each(|value| push_field(&mut out, value));
        debug_assert_eq!(out.len(), size, "the measured size is the encoded size");
        CompactKey(out.into_boxed_slice())
    }
}

/// Appends a field: its length, then its bytes.
fn push_field(out: &mut Vec<u8>, value: &str) {
    push_len(out, value.len());
    out.extend_from_slice(value.as_bytes());
}

/// Appends `n` as LEB128: seven bits a byte, low bits first, the high bit set on all but the
/// last byte.
fn push_len(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n & 0x7f) as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// How many bytes [`push_len`] writes for `n`.
fn encoded_len(n: usize) -> usize {
    ((usize::BITS - (n | 1).leading_zeros()) as usize).div_ceil(7)
}

/// Reads a length written by [`push_len`] and returns it with the bytes after it.
fn read_len(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let mut n = 0usize;
    for (i, &byte) in bytes
        .iter()
        .enumerate()
        .take(usize::BITS.div_ceil(7) as usize)
    {
        n |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((n, &bytes[i + 1..]));
        }
    }
    None
}

/// The single fields of a compact key (lists are skipped), by position.
pub(super) fn compact_field(compact: &[u8], index: usize) -> Option<&str> {
    let mut rest = compact;
    for position in 0..=TASK {
        let (n, after) = read_len(rest)?;
        rest = after;
        if (4..=6).contains(&position) {
            for _ in 0..n {
                let (len, after) = read_len(rest)?;
                rest = after.get(len..)?;
            }
            continue;
        }
        let value = rest.get(..n)?;
        if position == index {
            return std::str::from_utf8(value).ok();
        }
        rest = &rest[n..];
    }
    None
}

/// The items as sorted, deduplicated owned strings.
pub(crate) fn sorted<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Vec<String> {
    let mut v: Vec<String> = items.into_iter().map(|s| s.as_ref().to_owned()).collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_keys_are_unambiguous_and_fields_are_recoverable() {
        let a = CacheKey::new("w", "p", "m2m").scopes(["a b", "c"]);
        let b = CacheKey::new("w", "p", "m2m").scopes(["a", "b c"]);
        assert_ne!(a.compact(), b.compact());
        let unsorted = ["b".to_owned(), "a".to_owned(), "b".to_owned()];
        let fields = KeyFields {
            workload: "w",
            user: None,
            provider: "p",
            flow: "m2m",
            scopes: &unsorted,
            audiences: &[],
            resources: &[],
            repo: None,
            task: None,
        };
        assert_eq!(
            fields.compact(),
            CacheKey::new("w", "p", "m2m").scopes(["a", "b"]).compact()
        );
        assert_eq!(
            &*fields.compact().0,
            b"\x01w\x00\x01p\x03m2m\x02\x01a\x01b\x00\x00\x00\x00"
        );
        let tricky = CacheKey::new("w", "p", "m2m")
            .user("3:x")
            .scopes(["1:"])
            .repo("o/r")
            .task("t-9");
        let compact = tricky.compact().0;
        assert_eq!(compact_field(&compact, USER), Some("3:x"));
        assert_eq!(compact_field(&compact, PROVIDER), Some("p"));
        assert_eq!(compact_field(&compact, TASK), Some("t-9"));
        assert_ne!(
            CacheKey::new("w", "p", "m2m").user("u").compact(),
            CacheKey::new("w", "p", "m2m").compact()
        );
    }

    #[test]
    fn long_fields_take_multi_byte_lengths_and_stay_recoverable() {
        for len in [0, 1, 127, 128, 300, 16_384, 70_000] {
            assert_eq!(encoded_len(len), {
                let mut out = Vec::new();
                push_len(&mut out, len);
                out.len()
            });
        }
        let long_user = "u".repeat(300);
        let many_scopes: Vec<String> = (0..200).map(|i| format!("scope-{i:03}")).collect();
        let key = CacheKey::new("w", "p", "m2m")
            .user(&long_user)
            .scopes(&many_scopes)
            .task("t");
        let compact = key.compact().0;
        assert_eq!(compact_field(&compact, USER), Some(long_user.as_str()));
        assert_eq!(compact_field(&compact, PROVIDER), Some("p"));
        assert_eq!(compact_field(&compact, TASK), Some("t"));
        // A truncated key yields no field rather than a wrong one.
        assert_eq!(compact_field(&compact[..compact.len() - 1], TASK), None);
        assert_eq!(read_len(&[0x80; 12]), None);
    }
}
