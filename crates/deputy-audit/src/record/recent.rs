//! Values parsed from recent spans' texts (user ids, actor-chain documents): the same text
//! seen again is cloned rather than parsed. The parsers are deterministic (the same text
//! always gives the same value), so a cached value is the value parsing would give.

/// How many values are kept: sets of [`WAYS`] slots (each text has one set, by a hash of it),
/// each set in most-recently-used order.
const SLOTS: usize = 512;
const WAYS: usize = 4;

/// Recently parsed values by their text.
#[derive(Debug)]
pub(crate) struct Recent<T> {
    slots: Vec<Option<(Box<str>, T)>>,
}

impl<T> Default for Recent<T> {
    fn default() -> Self {
        Recent { slots: Vec::new() }
    }
}

impl<T: Clone> Recent<T> {
    /// `parse(text)`, from the cache when `text` was parsed recently. Errors are not kept.
    pub(crate) fn parse<E>(
        &mut self,
        text: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, E> {
        self.parse_into(text, None, |_, _| {}, |text, _| parse(text))
    }

    /// Like [`Recent::parse`], reusing an `old` value no longer needed: a cached value is
    /// copied into it with `copy` (which must leave it equal to the cached one), and `parse`
    /// is given it.
    pub(crate) fn parse_into<E>(
        &mut self,
        text: &str,
        old: Option<T>,
        copy: impl FnOnce(&mut T, &T),
        parse: impl FnOnce(&str, Option<T>) -> Result<T, E>,
    ) -> Result<T, E> {
        if self.slots.is_empty() {
            self.slots.resize_with(SLOTS, || None);
        }
        let start = (hash(text.as_bytes()) % (SLOTS / WAYS) as u64) as usize * WAYS;
        let Some(set) = self.slots.get_mut(start..start + WAYS) else {
            return parse(text, old);
        };
        let hit = set
            .iter()
            .position(|slot| slot.as_ref().is_some_and(|(cached, _)| **cached == *text));
        if let Some(way) = hit {
            // The hit moves to the front of its set.
            set[..=way].rotate_right(1);
            if let Some((_, value)) = &set[0] {
                return Ok(match old {
                    Some(mut old) => {
                        copy(&mut old, value);
                        old
                    }
                    None => value.clone(),
                });
            }
        }
        let value = parse(text, old)?;
        // The least recently used value makes room at the front.
        set.rotate_right(1);
        set[0] = Some((text.into(), value.clone()));
        Ok(value)
    }
}

/// A cheap hash, eight bytes at a time, every input bit reaching every output bit (a collision
/// only costs a parse; the texts come from spans, so a flood of colliding texts only makes
/// parsing as slow as without the cache).
fn hash(bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    let mut h = 0xcbf2_9ce4_8422_2325_u64 ^ bytes.len() as u64;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = (h ^ u64::from_le_bytes(word)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut last = [0u8; 8];
    last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    h = (h ^ u64::from_le_bytes(last)).wrapping_mul(0x0100_0000_01b3);
    // splitmix64's finalizer.
    h = (h ^ (h >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
    h = (h ^ (h >> 33)).wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use deputy_core::UserId;

    use super::*;

    #[test]
    fn cached_and_parsed_values_are_the_same_and_errors_are_not_cached() {
        let mut users = Recent::default();
        for round in 0..3 {
            for i in 0..1500 {
                let text = format!("okta+user{i}");
                let parsed = users.parse(&text, UserId::parse);
                assert_eq!(parsed, UserId::parse(&text), "{round} {text}");
            }
        }
        let mut parses = 0;
        for _ in 0..2 {
            let result = users.parse("no-separator", |t| {
                parses += 1;
                UserId::parse(t)
            });
            assert_eq!(result, UserId::parse("no-separator"));
        }
        assert_eq!(parses, 2);
    }
}
