//! Dropping cached tokens before they expire: when a user signs out or revokes consent, or a
//! provider's credentials change. The next resolve goes to the vault again.

use deputy_core::UserId;

use super::Resolver;

impl Resolver {
    /// Drops every cached token of `user`, whichever way the user was proven (verified JWT,
    /// asserted user id, Runtime WAT).
    ///
    /// ```no_run
    /// # fn run(resolver: &deputy::Resolver) {
    /// let alice = deputy_core::UserId::parse("okta+alice").unwrap();
    /// resolver.forget_user(&alice);
    /// # }
    /// ```
    pub fn forget_user(&self, user: &UserId) {
        self.inner.cache.invalidate_user(user.as_str());
    }

    /// Drops every cached token from credential provider `provider`.
    ///
    /// ```no_run
    /// # fn run(resolver: &deputy::Resolver) {
    /// resolver.forget_provider("linear-service");
    /// # }
    /// ```
    pub fn forget_provider(&self, provider: &str) {
        self.inner.cache.invalidate_provider(provider);
    }
}
