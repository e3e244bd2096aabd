//! The dated go/no-go record a spike writes: each check with its outcome and evidence.

use serde::{Deserialize, Serialize};

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The check ran and held.
    Pass,
    /// The check ran and did not hold.
    Fail,
    /// The check could not run (no consent in time, dry run, an earlier step failed).
    Skipped,
}

/// One check: what was checked, how it came out, and evidence (never a token or secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// The check's id, e.g. `par_request_uri_stays_at_vault`.
    pub name: String,
    /// Its outcome.
    pub status: Status,
    /// What was seen.
    pub evidence: String,
}

/// The overall verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// Every check passed.
    #[serde(rename = "GO")]
    Go,
    /// Nothing failed, but some checks were skipped (e.g. no human consent click).
    #[serde(rename = "GO-LIKELY")]
    GoLikely,
    /// A check failed.
    #[serde(rename = "NO-GO")]
    NoGo,
}

/// The record of one spike run.
///
/// ```
/// use phase0::record::{Check, SpikeRecord, Status, Verdict};
/// let mut r = SpikeRecord::new("m2m", "endpoint", "http://127.0.0.1:8787");
/// r.push("token_issued", Status::Pass, "an access token came back");
/// assert_eq!(r.finish(), Verdict::Go);
/// r.push("consent", Status::Skipped, "no consent in time");
/// assert_eq!(r.finish(), Verdict::GoLikely);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpikeRecord {
    /// UTC date and time of the run (RFC 3339).
    pub date: String,
    /// `region` or `endpoint`.
    pub target_kind: String,
    /// The region or the endpoint URL.
    pub target: String,
    /// `user_federation`, `on_behalf_of` or `m2m`.
    pub flow: String,
    /// Whether this was a dry run (no calls made).
    pub dry_run: bool,
    /// Every check, in order.
    pub checks: Vec<Check>,
    /// The overall verdict.
    pub verdict: Verdict,
}

impl SpikeRecord {
    /// An empty record for a run starting now.
    pub fn new(flow: &str, target_kind: &str, target: &str) -> Self {
        SpikeRecord {
            date: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            target_kind: target_kind.to_owned(),
            target: target.to_owned(),
            flow: flow.to_owned(),
            dry_run: false,
            checks: Vec::new(),
            verdict: Verdict::NoGo,
        }
    }

    /// Adds a check.
    pub fn push(&mut self, name: &str, status: Status, evidence: impl Into<String>) {
        self.checks.push(Check {
            name: name.to_owned(),
            status,
            evidence: evidence.into(),
        });
    }

    /// Computes (and stores) the verdict: any failure is NO-GO, any skip GO-LIKELY.
    pub fn finish(&mut self) -> Verdict {
        let any = |s: Status| self.checks.iter().any(|c| c.status == s);
        self.verdict = if any(Status::Fail) || self.checks.is_empty() {
            Verdict::NoGo
        } else if any(Status::Skipped) {
            Verdict::GoLikely
        } else {
            Verdict::Go
        };
        self.verdict
    }
}
