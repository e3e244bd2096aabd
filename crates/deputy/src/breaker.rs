//! A circuit breaker for the Token Vault: after a run of "unavailable" failures it stops
//! calling the vault for a cool-down, so callers fail fast (and the fallback, where policy
//! allows it, answers at once) instead of every task waiting out its own timeouts and retries.
//!
//! Closed → (`failure_threshold` consecutive unavailable failures) → open for `open_for` →
//! half-open: one probe call is let through; success closes the circuit, failure re-opens it.
//! Denials, validation errors and other answers from a healthy vault count as successes:
//! only a vault that cannot answer opens the circuit.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// When the circuit opens and for how long.
///
/// ```
/// use std::time::Duration;
/// use deputy::breaker::BreakerPolicy;
/// let policy = BreakerPolicy { failure_threshold: 3, open_for: Duration::from_secs(10) };
/// assert!(policy.failure_threshold > 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Consecutive unavailable failures that open the circuit.
    pub failure_threshold: u32,
    /// How long the circuit stays open before one probe call is allowed.
    pub open_for: Duration,
}

impl Default for BreakerPolicy {
    /// Five consecutive failures open the circuit for 30 seconds.
    fn default() -> Self {
        BreakerPolicy {
            failure_threshold: 5,
            open_for: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { since: Instant },
}

/// The circuit's state, shared by every clone of a [`TokenVault`](crate::vault::TokenVault).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
/// use deputy::breaker::{BreakerPolicy, CircuitBreaker};
/// let breaker = CircuitBreaker::new(BreakerPolicy { failure_threshold: 1, open_for: Duration::from_secs(60) });
/// assert!(breaker.admit().is_ok());
/// breaker.record(false);
/// assert!(breaker.admit().is_err(), "one failure opened the circuit");
/// # }
/// ```
#[derive(Debug)]
pub struct CircuitBreaker {
    policy: BreakerPolicy,
    state: Mutex<State>,
}

/// The circuit is open: the vault is not called for `retry_in` more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircuitOpen {
    /// Time left before a probe call is allowed.
    pub retry_in: Duration,
}

impl CircuitBreaker {
    /// A closed circuit.
    pub fn new(policy: BreakerPolicy) -> Self {
        CircuitBreaker {
            policy,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> BreakerPolicy {
        self.policy
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a plain value; a panic elsewhere cannot leave it half-written.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a call may go to the vault now. When the cool-down is over the first caller
    /// becomes the probe; others keep failing fast until the probe reports.
    pub fn admit(&self) -> Result<(), CircuitOpen> {
        let mut state = self.state();
        match *state {
            State::Closed { .. } => Ok(()),
            State::Open { until } => {
                let now = Instant::now();
                if now >= until {
                    *state = State::HalfOpen { since: now };
                    Ok(())
                } else {
                    Err(CircuitOpen {
                        retry_in: until - now,
                    })
                }
            }
            // A probe is in flight; if its caller gave up without reporting, probe again.
            State::HalfOpen { since } => {
                let now = Instant::now();
                if now >= since + self.policy.open_for {
                    *state = State::HalfOpen { since: now };
                    Ok(())
                } else {
                    Err(CircuitOpen {
                        retry_in: since + self.policy.open_for - now,
                    })
                }
            }
        }
    }

    /// Reports how an admitted call went: `healthy` is false only when the vault could not
    /// answer (network failure, timeout, 5xx).
    pub fn record(&self, healthy: bool) {
        let mut state = self.state();
        *state = match (*state, healthy) {
            (_, true) => State::Closed { failures: 0 },
            (State::Closed { failures }, false) if failures + 1 < self.policy.failure_threshold => {
                State::Closed {
                    failures: failures + 1,
                }
            }
            (State::Open { until }, false) => State::Open { until },
            (_, false) => State::Open {
                until: Instant::now() + self.policy.open_for,
            },
        };
    }

    /// Whether the circuit is open (calls fail fast) right now.
    pub fn is_open(&self) -> bool {
        matches!(*self.state(), State::Open { until } if Instant::now() < until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(threshold: u32) -> CircuitBreaker {
        CircuitBreaker::new(BreakerPolicy {
            failure_threshold: threshold,
            open_for: Duration::from_secs(30),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_the_threshold_and_probes_once_after_the_cool_down() {
        let b = breaker(3);
        for _ in 0..2 {
            assert!(b.admit().is_ok());
            b.record(false);
        }
        assert!(!b.is_open(), "two failures are below the threshold");
        assert!(b.admit().is_ok());
        b.record(false);
        let open = b.admit().unwrap_err();
        assert_eq!(open.retry_in, Duration::from_secs(30));

        tokio::time::advance(Duration::from_secs(31)).await;
        assert!(
            b.admit().is_ok(),
            "the first caller after the cool-down probes"
        );
        assert!(b.admit().is_err(), "others wait for the probe");
        b.record(true);
        assert!(b.admit().is_ok() && !b.is_open(), "a healthy probe closes");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_probe_reopens_and_a_success_resets_the_count() {
        let b = breaker(2);
        b.record(false);
        b.record(true);
        b.record(false);
        assert!(
            !b.is_open(),
            "a success in between resets the run of failures"
        );
        b.record(false);
        assert!(b.is_open());
        tokio::time::advance(Duration::from_secs(30)).await;
        assert!(b.admit().is_ok());
        b.record(false);
        assert_eq!(b.admit().unwrap_err().retry_in, Duration::from_secs(30));
    }
}
