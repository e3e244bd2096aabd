//! User ids parsed from recent spans: a user seen again is cloned rather than parsed (parsing
//! validates and formats the id anew).

use deputy_core::UserId;
use deputy_core::user::UserIdError;

/// How many user ids are kept (direct-mapped by a hash of the text).
const SLOTS: usize = 256;

/// Recently parsed user ids.
#[derive(Debug, Default)]
pub(crate) struct RecentUsers {
    slots: Vec<Option<UserId>>,
}

impl RecentUsers {
    /// `UserId::parse(text)`, from the cache when `text` was parsed recently (parsing the same
    /// text always gives the same id).
    pub(crate) fn parse(&mut self, text: &str) -> Result<UserId, UserIdError> {
        if self.slots.is_empty() {
            self.slots.resize(SLOTS, None);
        }
        // FNV-1a: cheap, and a collision only costs a parse.
        let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let slot = (hash % SLOTS as u64) as usize;
        if let Some(Some(user)) = self.slots.get(slot)
            && user.as_str() == text
        {
            return Ok(user.clone());
        }
        let user = UserId::parse(text)?;
        if let Some(cached) = self.slots.get_mut(slot) {
            *cached = Some(user.clone());
        }
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_and_parsed_ids_are_the_same_and_errors_are_not_cached() {
        let mut users = RecentUsers::default();
        for round in 0..3 {
            for i in 0..600 {
                let text = format!("okta+user{i}");
                assert_eq!(
                    users.parse(&text).unwrap(),
                    UserId::parse(&text).unwrap(),
                    "{round}"
                );
            }
        }
        assert_eq!(users.parse("no-separator"), UserId::parse("no-separator"));
        assert_eq!(users.parse("no-separator"), UserId::parse("no-separator"));
    }
}
