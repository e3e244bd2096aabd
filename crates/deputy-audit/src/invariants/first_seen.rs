//! Which task and user each token fingerprint was first seen for, across all records: compact,
//! because it holds one entry per token ever issued (a 32-byte map entry, and the ids in one
//! shared text instead of an allocation each).

use std::collections::HashMap;
use std::collections::hash_map::Entry;

/// The fingerprints seen so far and their first owners.
#[derive(Debug, Default)]
pub(super) struct FirstSeen {
    /// Well-formed fingerprints by their 128 bits: 32-byte entries, so none straddles two
    /// cache lines (the map is too large for the caches; each lookup is a memory access).
    owners: HashMap<[u64; 2], Owner>,
    /// Any other fingerprint, by its text.
    other_owners: HashMap<Box<str>, Owner>,
    /// The task and user ids of every owner, back to back.
    text: String,
    /// While a document is read ([`FirstSeen::begin`]): the fingerprints first seen in it, and
    /// the length of `text` before it.
    journal: Option<(Vec<FingerprintKey>, usize)>,
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
    /// Starts remembering which fingerprints are new, so they can be forgotten again.
    pub(super) fn begin(&mut self) {
        let len = self.text.len();
        let (keys, mark) = self.journal.get_or_insert_with(|| (Vec::new(), 0));
        keys.clear();
        *mark = len;
    }

    /// Keeps what was seen since [`FirstSeen::begin`].
    pub(super) fn commit(&mut self) {
        if let Some((keys, _)) = &mut self.journal {
            keys.clear();
        }
    }

    /// Forgets the fingerprints first seen since [`FirstSeen::begin`].
    pub(super) fn rollback(&mut self) {
        if let Some((keys, mark)) = &mut self.journal {
            for key in keys.drain(..) {
                match key {
                    FingerprintKey::Bits(bits) => self.owners.remove(&bits),
                    FingerprintKey::Text(text) => self.other_owners.remove(&text),
                };
            }
            // Owners added since `begin` are at the end of the text.
            self.text.truncate(*mark);
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
        // Task and user ids are validated to a few hundred bytes at most.
        let len = |s: &str| u32::try_from(s.len()).unwrap_or(u32::MAX - 1);
        let owner = Owner {
            at: self.text.len(),
            task_len: len(task),
            user_len: user.map_or(u32::MAX, len),
        };
        let first = match FingerprintKey::of(fingerprint) {
            FingerprintKey::Bits(bits) => match self.owners.entry(bits) {
                Entry::Occupied(first) => Some(*first.get()),
                Entry::Vacant(slot) => {
                    slot.insert(owner);
                    if let Some((keys, _)) = &mut self.journal {
                        keys.push(FingerprintKey::Bits(bits));
                    }
                    None
                }
            },
            FingerprintKey::Text(text) => match self.other_owners.entry(text) {
                Entry::Occupied(first) => Some(*first.get()),
                Entry::Vacant(slot) => {
                    if let Some((keys, _)) = &mut self.journal {
                        keys.push(FingerprintKey::Text(slot.key().clone()));
                    }
                    slot.insert(owner);
                    None
                }
            },
        };
        let Some(Owner {
            at,
            task_len,
            user_len,
        }) = first
        else {
            self.text.push_str(task);
            self.text.push_str(user.unwrap_or(""));
            return None;
        };
        let task_end = at + task_len as usize;
        let text = |range: std::ops::Range<usize>| self.text.get(range).unwrap_or("");
        let user = (user_len != u32::MAX).then(|| text(task_end..task_end + user_len as usize));
        Some((text(at..task_end), user))
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
}
