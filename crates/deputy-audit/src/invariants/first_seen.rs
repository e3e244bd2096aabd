//! Which task and user each token fingerprint was first seen for, across recent records:
//! compact (a 32-byte map entry, and the ids in one shared text instead of an allocation each)
//! and bounded. Fingerprints are kept in two generations: when the current one holds
//! [`GENERATION`] fingerprints it becomes the previous one and the older previous one is
//! forgotten whole. So the last [`GENERATION`] fingerprints first seen are always remembered,
//! at most twice that many are held, and a long-running `deputy audit serve` does not grow
//! without limit. A token reused after more than [`GENERATION`] newer tokens were first seen
//! starts over as new (tokens live an hour or so; at a million new tokens an hour that is
//! still a full hour of memory, about 80 MB).

use std::collections::HashMap;

/// How many fingerprints one generation holds.
pub(super) const GENERATION: usize = 1 << 20;

/// The fingerprints seen recently and their first owners.
#[derive(Debug)]
pub(super) struct FirstSeen {
    /// The generation new fingerprints go to.
    current: Generation,
    /// The generation before it, still looked up.
    previous: Generation,
    /// How many fingerprints a generation holds before it is retired.
    capacity: usize,
    /// While a document is read ([`FirstSeen::begin`]): the fingerprints first seen in it, and
    /// the length of the current generation's text before it.
    journal: Option<(Vec<FingerprintKey>, usize)>,
}

impl Default for FirstSeen {
    fn default() -> Self {
        FirstSeen::with_capacity(GENERATION)
    }
}

/// One generation of fingerprints.
#[derive(Debug, Default)]
struct Generation {
    /// Well-formed fingerprints by their 128 bits: 32-byte entries, so none straddles two
    /// cache lines (the map is too large for the caches; each lookup is a memory access).
    owners: HashMap<[u64; 2], Owner>,
    /// Any other fingerprint, by its text.
    other_owners: HashMap<Box<str>, Owner>,
    /// The task and user ids of every owner, back to back.
    text: String,
}

impl Generation {
    fn len(&self) -> usize {
        self.owners.len() + self.other_owners.len()
    }

    fn get(&self, key: &FingerprintKey) -> Option<Owner> {
        match key {
            FingerprintKey::Bits(bits) => self.owners.get(bits).copied(),
            FingerprintKey::Text(text) => self.other_owners.get(text).copied(),
        }
    }

    /// The task and user of `owner`, in this generation's text.
    fn ids(&self, owner: Owner) -> (&str, Option<&str>) {
        let task_end = owner.at + owner.task_len as usize;
        let text = |range: std::ops::Range<usize>| self.text.get(range).unwrap_or("");
        let user = (owner.user_len != u32::MAX)
            .then(|| text(task_end..task_end + owner.user_len as usize));
        (text(owner.at..task_end), user)
    }
}

/// A fingerprint as a map key: its 128 bits when it is well formed (no allocation per record),
/// else its text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum FingerprintKey {
    Bits([u64; 2]),
    Text(Box<str>),
}

impl FingerprintKey {
    fn of(fingerprint: &str) -> Self {
        fingerprint
            .strip_prefix("sha256:")
            .and_then(|hex| Some([hex_u64(hex.get(..16)?)?, hex_u64(hex.get(16..)?)?]))
            .map_or_else(
                || FingerprintKey::Text(fingerprint.into()),
                FingerprintKey::Bits,
            )
    }
}

/// Exactly 16 hex digits (either case) as a `u64`, as `u64::from_str_radix(hex, 16)` reads
/// them when `hex` is 16 hex digits; `None` for anything else.
fn hex_u64(hex: &str) -> Option<u64> {
    let digits: &[u8; 16] = hex.as_bytes().try_into().ok()?;
    let mut value = 0u64;
    let mut bad = false;
    for &b in digits {
        let nibble = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => {
                bad = true;
                0
            }
        };
        value = value << 4 | u64::from(nibble);
    }
    (!bad).then_some(value)
}

/// Where an owner's ids are in [`FirstSeen::text`].
#[derive(Debug, Clone, Copy)]
struct Owner {
    at: usize,
    task_len: u32,
    /// `u32::MAX` when there is no user.
    user_len: u32,
}

impl FirstSeen {
    /// Generations of `capacity` fingerprints each.
    pub(super) fn with_capacity(capacity: usize) -> Self {
        FirstSeen {
            current: Generation::default(),
            previous: Generation::default(),
            capacity: capacity.max(1),
            journal: None,
        }
    }

    /// How many fingerprints are held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    /// Retires the current generation when it is full (never while a document is read, so
    /// the journal always refers to the current generation).
    fn rotate_if_full(&mut self) {
        if self.current.len() >= self.capacity {
            self.previous = std::mem::take(&mut self.current);
        }
    }

    /// Starts remembering which fingerprints are new, so they can be forgotten again.
    pub(super) fn begin(&mut self) {
        self.rotate_if_full();
        let len = self.current.text.len();
        let (keys, mark) = self.journal.get_or_insert_with(|| (Vec::new(), 0));
        keys.clear();
        *mark = len;
    }

    /// Keeps what was seen since [`FirstSeen::begin`].
    pub(super) fn commit(&mut self) {
        self.journal = None;
    }

    /// Forgets the fingerprints first seen since [`FirstSeen::begin`].
    pub(super) fn rollback(&mut self) {
        if let Some((keys, mark)) = self.journal.take() {
            for key in keys {
                match key {
                    FingerprintKey::Bits(bits) => self.current.owners.remove(&bits),
                    FingerprintKey::Text(text) => self.current.other_owners.remove(&text),
                };
            }
            // Owners added since `begin` are at the end of the text.
            self.current.text.truncate(mark);
        }
    }

    /// The task and user `fingerprint` was first seen for; `None` when it is new, after
    /// remembering `task` and `user` as its owners.
    pub(super) fn first_owner(
        &mut self,
        fingerprint: &str,
        task: &str,
        user: Option<&str>,
    ) -> Option<(&str, Option<&str>)> {
        if self.journal.is_none() {
            self.rotate_if_full();
        }
        let key = FingerprintKey::of(fingerprint);
        if let Some(owner) = self.current.get(&key) {
            return Some(self.current.ids(owner));
        }
        if let Some(owner) = self.previous.get(&key) {
            return Some(self.previous.ids(owner));
        }
        // Task and user ids are validated to a few hundred bytes at most.
        let len = |s: &str| u32::try_from(s.len()).unwrap_or(u32::MAX - 1);
        let owner = Owner {
            at: self.current.text.len(),
            task_len: len(task),
            user_len: user.map_or(u32::MAX, len),
        };
        if let Some((keys, _)) = &mut self.journal {
            keys.push(key.clone());
        }
        match key {
            FingerprintKey::Bits(bits) => self.current.owners.insert(bits, owner),
            FingerprintKey::Text(text) => self.current.other_owners.insert(text, owner),
        };
        self.current.text.push_str(task);
        self.current.text.push_str(user.unwrap_or(""));
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_are_remembered_and_forgotten_whole() {
        let mut seen = FirstSeen::default();
        let fp = |n: u32| format!("sha256:{n:032x}");
        assert_eq!(seen.first_owner(&fp(1), "t-1", Some("okta+a")), None);
        assert_eq!(seen.first_owner("not-hex", "t-2", None), None);
        seen.begin();
        assert_eq!(seen.first_owner(&fp(3), "t-3", Some("okta+c")), None);
        assert_eq!(
            seen.first_owner(&fp(3), "t-9", None),
            Some(("t-3", Some("okta+c")))
        );
        seen.rollback();
        // The document was dropped: fingerprint 3 is new again; the others are kept.
        assert_eq!(seen.first_owner(&fp(3), "t-4", None), None);
        assert_eq!(
            seen.first_owner(&fp(1), "t-x", None),
            Some(("t-1", Some("okta+a")))
        );
        assert_eq!(
            seen.first_owner("not-hex", "t-y", None),
            Some(("t-2", None))
        );
        assert_eq!(seen.first_owner(&fp(3), "t-z", None), Some(("t-4", None)));
        // Upper-case hex is the same 128 bits.
        assert_eq!(
            seen.first_owner("sha256:0000000000000000000000000000000A", "t", None),
            None
        );
        assert_eq!(
            seen.first_owner(&format!("sha256:{:032x}", 10), "u", None),
            Some(("t", None))
        );
    }

    #[test]
    fn hex_halves_read_as_from_str_radix_reads_them() {
        let cases = [
            "0123456789abcdef",
            "FEDCBA9876543210",
            "ffffffffffffffff",
            "0000000000000000",
            "+123456789abcdef",
            "0123456789abcdeg",
            "0123456789abcde",
            "0123456789abcdef0",
            " 123456789abcdef",
            "012345678é9abcd",
        ];
        for hex in cases {
            let expected = (hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| u64::from_str_radix(hex, 16).ok())
                .flatten();
            assert_eq!(hex_u64(hex), expected, "{hex}");
        }
        assert_eq!(std::mem::size_of::<([u64; 2], Owner)>(), 32);
    }

    #[test]
    fn memory_is_bounded_and_recent_fingerprints_are_remembered() {
        let mut seen = FirstSeen::with_capacity(100);
        let fp = |n: u32| format!("sha256:{n:032x}");
        for n in 0..10_000 {
            assert_eq!(seen.first_owner(&fp(n), "t", Some("okta+a")), None);
            assert!(seen.len() <= 200, "{}", seen.len());
            // The previous hundred are always still known.
            let back = n.saturating_sub(99);
            assert_eq!(
                seen.first_owner(&fp(back), "t-2", None),
                Some(("t", Some("okta+a"))),
                "{n}"
            );
        }
        assert!(seen.current.text.len() <= 100 * "tokta+a".len());
        // The oldest are forgotten: seen again, they are new.
        assert_eq!(seen.first_owner(&fp(0), "t-3", None), None);
    }
}
