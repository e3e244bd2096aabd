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

/// A key in the form the cache stores: one allocation, each field length-prefixed in a fixed
/// order, so no value can be mistaken for a separator and equal keys encode equally.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CompactKey(pub(super) Box<str>);

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

impl KeyFields<'_> {
    /// Encodes the key with one allocation (two when a list is not already sorted).
    pub(crate) fn compact(&self) -> CompactKey {
        let lists = [self.scopes, self.audiences, self.resources];
        let mut capacity = 64 + self.workload.len() + self.provider.len();
        capacity += self.user.map_or(0, str::len) + self.repo.map_or(0, str::len);
        capacity += self.task.map_or(0, str::len);
        capacity += lists
            .iter()
            .flat_map(|l| l.iter())
            .map(|s| s.len() + 4)
            .sum::<usize>();
        let mut out = String::with_capacity(capacity);
        let field = |out: &mut String, value: &str| {
            push_decimal(out, value.len());
            out.push(':');
            out.push_str(value);
        };
        field(&mut out, self.workload);
        field(&mut out, self.user.unwrap_or(""));
        field(&mut out, self.provider);
        field(&mut out, self.flow);
        for list in lists {
            if list.is_sorted_by(|a, b| a < b) {
                push_count(&mut out, list.len());
                list.iter().for_each(|item| field(&mut out, item));
            } else {
                let mut items: Vec<&str> = list.iter().map(String::as_str).collect();
                items.sort_unstable();
                items.dedup();
                push_count(&mut out, items.len());
                items.iter().for_each(|item| field(&mut out, item));
            }
        }
        field(&mut out, self.repo.unwrap_or(""));
        field(&mut out, self.task.unwrap_or(""));
        CompactKey(out.into_boxed_str())
    }
}

/// Appends a list's length as a field of its own (its decimal digits, length-prefixed).
fn push_count(out: &mut String, n: usize) {
    push_decimal(out, n.checked_ilog10().map_or(1, |d| d as usize + 1));
    out.push(':');
    push_decimal(out, n);
}

/// Appends `n` in decimal without going through the formatting machinery.
fn push_decimal(out: &mut String, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &digit in &digits[at..] {
        out.push(char::from(digit));
    }
}

/// The single fields of a compact key (lists are skipped), by position.
pub(super) fn compact_field(compact: &str, index: usize) -> Option<&str> {
    let mut rest = compact;
    let mut position = 0;
    let mut list_items = 0usize;
    while !rest.is_empty() {
        let (len, tail) = rest.split_once(':')?;
        let len: usize = len.parse().ok()?;
        let value = tail.get(..len)?;
        rest = &tail[len..];
        if list_items > 0 {
            list_items -= 1;
            continue;
        }
        if (4..=6).contains(&position) {
            list_items = value.parse().ok()?;
        } else if position == index {
            return Some(value);
        }
        position += 1;
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
        assert_eq!(&*fields.compact().0, "1:w0:1:p3:m2m1:21:a1:b1:01:00:0:");
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
}
