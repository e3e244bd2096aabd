//! Values parsed from recent spans' texts (user ids, actor-chain documents): the same text
//! seen again is cloned rather than parsed. The parsers are deterministic (the same text
//! always gives the same value), so a cached value is the value parsing would give.

/// How many values are kept (direct-mapped by a hash of the text).
const SLOTS: usize = 512;

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
        if self.slots.is_empty() {
            self.slots.resize_with(SLOTS, || None);
        }
        // FNV-1a: cheap, and a collision only costs a parse.
        let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let slot = (hash % SLOTS as u64) as usize;
        if let Some(Some((cached, value))) = self.slots.get(slot)
            && **cached == *text
        {
            return Ok(value.clone());
        }
        let value = parse(text)?;
        if let Some(cached) = self.slots.get_mut(slot) {
            *cached = Some((text.into(), value.clone()));
        }
        Ok(value)
    }
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
