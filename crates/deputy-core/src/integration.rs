//! What a credential is for: the downstream [`Integration`] and the [`Operation`] on it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A downstream system an agent needs a credential for.
///
/// The five built-in integrations have fixed names; anything else is a
/// [`Integration::Custom`] integration named in the decision table.
///
/// ```
/// use deputy_core::Integration;
/// let github: Integration = "github".parse().unwrap();
/// assert_eq!(github, Integration::Github);
/// let custom: Integration = "pagerduty".parse().unwrap();
/// assert_eq!(custom.to_string(), "pagerduty");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Integration {
    /// GitHub (repositories, pull requests, issues).
    Github,
    /// Linear (issues, comments).
    Linear,
    /// Jira (issues, comments).
    Jira,
    /// Slack (messages).
    Slack,
    /// AWS-native targets in the same identity ecosystem (Identity Center).
    AwsNative,
    /// Any other integration, by its validated name.
    Custom(CustomName),
}

impl Integration {
    /// The built-in integrations, in a stable order.
    pub const BUILT_IN: [Integration; 5] = [
        Integration::Github,
        Integration::Linear,
        Integration::Jira,
        Integration::Slack,
        Integration::AwsNative,
    ];

    /// The integration's canonical name, as written in policies and spans.
    pub fn name(&self) -> &str {
        match self {
            Integration::Custom(name) => name.as_str(),
            built_in => built_in.built_in_name().unwrap_or_default(),
        }
    }

    /// The name of a built-in integration, as a `'static` string (for callers that keep it
    /// without copying); `None` for a custom one.
    ///
    /// ```
    /// use deputy_core::Integration;
    /// assert_eq!(Integration::Linear.built_in_name(), Some("linear"));
    /// let custom: Integration = "pagerduty".parse().unwrap();
    /// assert_eq!(custom.built_in_name(), None);
    /// ```
    pub fn built_in_name(&self) -> Option<&'static str> {
        Some(match self {
            Integration::Github => "github",
            Integration::Linear => "linear",
            Integration::Jira => "jira",
            Integration::Slack => "slack",
            Integration::AwsNative => "aws-native",
            Integration::Custom(_) => return None,
        })
    }
}

impl fmt::Display for Integration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a string is not an integration name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid integration name {name:?}: use 1-64 characters of a-z, 0-9 and '-', starting with a letter"
)]
pub struct InvalidIntegration {
    /// The rejected input.
    pub name: String,
}

impl FromStr for Integration {
    type Err = InvalidIntegration;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "github" => Integration::Github,
            "linear" => Integration::Linear,
            "jira" => Integration::Jira,
            "slack" => Integration::Slack,
            "aws-native" => Integration::AwsNative,
            other => Integration::Custom(CustomName::new(other)?),
        })
    }
}

impl Serialize for Integration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Integration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The validated name of a custom integration (`[a-z][a-z0-9-]{0,63}`).
///
/// ```
/// use deputy_core::integration::CustomName;
/// assert!(CustomName::new("pager-duty").is_ok());
/// assert!(CustomName::new("Pager Duty").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomName(String);

impl CustomName {
    /// Validates a custom integration name.
    pub fn new(name: &str) -> Result<Self, InvalidIntegration> {
        let mut chars = name.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if first_ok && rest_ok && name.len() <= 64 {
            Ok(CustomName(name.to_owned()))
        } else {
            Err(InvalidIntegration {
                name: name.to_owned(),
            })
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the agent will do with the credential.
///
/// ```
/// use deputy_core::Operation;
/// assert_eq!("write".parse::<Operation>().unwrap(), Operation::Write);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Reading only.
    Read,
    /// Any change to the downstream system.
    Write,
}

impl Operation {
    /// Both operations, in a stable order.
    pub const ALL: [Operation; 2] = [Operation::Read, Operation::Write];

    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Read => "read",
            Operation::Write => "write",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a string is not an operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid operation {0:?}: expected \"read\" or \"write\"")]
pub struct InvalidOperation(pub String);

impl FromStr for Operation {
    type Err = InvalidOperation;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read" => Ok(Operation::Read),
            "write" => Ok(Operation::Write),
            other => Err(InvalidOperation(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_names_round_trip() {
        for integration in Integration::BUILT_IN {
            let parsed: Integration = integration.name().parse().unwrap();
            assert_eq!(parsed, integration);
            assert!(!matches!(parsed, Integration::Custom(_)));
        }
    }

    #[test]
    fn custom_names_are_validated() {
        assert!(matches!(
            "pagerduty".parse::<Integration>(),
            Ok(Integration::Custom(_))
        ));
        for bad in ["", "1abc", "Abc", "a b", "a_b", &"a".repeat(65)] {
            let err = bad.parse::<Integration>().unwrap_err();
            assert_eq!(err.name, bad);
        }
    }

    #[test]
    fn operation_parses_and_rejects() {
        assert_eq!("read".parse::<Operation>().unwrap(), Operation::Read);
        assert!(
            "delete"
                .parse::<Operation>()
                .unwrap_err()
                .to_string()
                .contains("delete")
        );
    }
}
