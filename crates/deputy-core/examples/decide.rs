//! The README's agent-code example, compiled and run by the test suite.

use deputy_core::policy::PolicyTable;
use deputy_core::{Integration, Operation, TaskContext, TaskId, Trigger, UserId};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let table = PolicyTable::built_in()?; // or PolicyTable::from_toml("policy.toml", &text)?
    let ctx = TaskContext::new(
        TaskId::new("01JDQ7ZK3M5V2X9B4N6P8R0T1W")?,
        Trigger::Webhook {
            asserted_user: Some(UserId::parse("cognito+8f1c")?),
        },
    )
    .with_repo("octo-org/infra".parse()?);

    let decision = table.decide(&ctx, &Integration::Github, Operation::Write)?;
    // user_federation, fail closed: a token only if the user consented, never a service token.
    println!(
        "{} via {:?} (rule {})",
        decision.flow, decision.provider, decision.rule_id
    );
    Ok(())
}
