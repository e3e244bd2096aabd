//! Server-side validation of restJson1 request bodies: required members, types, lengths,
//! patterns, enums and unions, collected into one `ValidationException`.

use serde_json::{Map, Value};

use crate::aws_error::{ApiError, ApiResult, FieldError, ValidationReason};
pub use crate::pattern::{Pattern, SESSION_URI_PREFIX};

/// The most tags a resource may carry (`TagsMap` max).
pub const MAX_TAGS: usize = 50;

/// Length and pattern constraints of a string member.
#[derive(Debug, Clone, Copy)]
pub struct StringRule {
    /// Minimum length in characters.
    pub min: usize,
    /// Maximum length in characters.
    pub max: usize,
    /// Optional pattern.
    pub pattern: Option<Pattern>,
}

impl StringRule {
    /// A rule with only lengths.
    pub const fn len(min: usize, max: usize) -> Self {
        Self {
            min,
            max,
            pattern: None,
        }
    }

    /// A rule with lengths and a pattern.
    pub const fn pattern(min: usize, max: usize, pattern: Pattern) -> Self {
        Self {
            min,
            max,
            pattern: Some(pattern),
        }
    }
}

/// A parsed request body whose members are read with validation; errors accumulate.
pub struct Body {
    members: Map<String, Value>,
    errors: Vec<FieldError>,
}

impl Body {
    /// Parses the raw body. An empty body counts as `{}`; anything but a JSON object is a
    /// `ValidationException` with reason `CannotParse`.
    pub fn parse(bytes: &[u8]) -> ApiResult<Self> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self {
                members: Map::new(),
                errors: Vec::new(),
            });
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(members)) => Ok(Self {
                members,
                errors: Vec::new(),
            }),
            _ => Err(ApiError::Validation {
                message: "Could not parse the request body as a JSON object".into(),
                reason: ValidationReason::CannotParse,
                fields: Vec::new(),
            }),
        }
    }

    fn fail(&mut self, name: &str, message: impl Into<String>) {
        self.errors.push(FieldError {
            name: name.into(),
            message: message.into(),
        });
    }

    /// A required string member.
    pub fn required_string(&mut self, name: &str, rule: StringRule) -> String {
        match self.optional_string(name, rule) {
            Some(value) => value,
            None => {
                if !self.errors.iter().any(|e| e.name == name) {
                    self.fail(name, "Member must not be null");
                }
                String::new()
            }
        }
    }

    /// An optional string member.
    pub fn optional_string(&mut self, name: &str, rule: StringRule) -> Option<String> {
        let value = match self.members.get(name) {
            None | Some(Value::Null) => return None,
            Some(Value::String(s)) => s.clone(),
            Some(_) => {
                self.fail(name, "Member must be a string");
                return None;
            }
        };
        self.check_string(name, &value, rule).then_some(value)
    }

    fn check_string(&mut self, name: &str, value: &str, rule: StringRule) -> bool {
        let len = value.chars().count();
        if len < rule.min {
            self.fail(
                name,
                format!(
                    "Member must have length greater than or equal to {}",
                    rule.min
                ),
            );
            return false;
        }
        if len > rule.max {
            self.fail(
                name,
                format!("Member must have length less than or equal to {}", rule.max),
            );
            return false;
        }
        if let Some(pattern) = rule.pattern
            && !pattern.matches(value)
        {
            self.fail(
                name,
                format!(
                    "Member must satisfy regular expression pattern: {}",
                    pattern.describe()
                ),
            );
            return false;
        }
        true
    }

    /// A string member restricted to `allowed` values.
    pub fn optional_enum(&mut self, name: &str, allowed: &[&str]) -> Option<String> {
        let value = self.optional_string(name, StringRule::len(0, 256))?;
        if allowed.contains(&value.as_str()) {
            Some(value)
        } else {
            self.fail(
                name,
                format!(
                    "Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                ),
            );
            None
        }
    }

    /// A required enum member.
    pub fn required_enum(&mut self, name: &str, allowed: &[&str]) -> String {
        let present = !matches!(self.members.get(name), None | Some(Value::Null));
        match self.optional_enum(name, allowed) {
            Some(value) => value,
            None => {
                if !present {
                    self.fail(name, "Member must not be null");
                }
                String::new()
            }
        }
    }

    /// An optional boolean member.
    pub fn optional_bool(&mut self, name: &str) -> Option<bool> {
        match self.members.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.fail(name, "Member must be a boolean");
                None
            }
        }
    }

    /// An optional integer member within `min..=max`.
    pub fn optional_int(&mut self, name: &str, min: i64, max: i64) -> Option<i64> {
        match self.members.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_i64() {
                Some(v) if (min..=max).contains(&v) => Some(v),
                _ => {
                    self.fail(
                        name,
                        format!("Member must be an integer between {min} and {max}"),
                    );
                    None
                }
            },
            Some(_) => {
                self.fail(name, "Member must be a number");
                None
            }
        }
    }

    /// A string list member (`None` when absent); `required` adds "must not be null".
    pub fn string_list(
        &mut self,
        name: &str,
        rule: StringRule,
        required: bool,
    ) -> Option<Vec<String>> {
        let items = match self.members.get(name) {
            None | Some(Value::Null) => {
                if required {
                    self.fail(name, "Member must not be null");
                }
                return None;
            }
            Some(Value::Array(items)) => items.clone(),
            Some(_) => {
                self.fail(name, "Member must be a list");
                return None;
            }
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let member = format!("{name}.{}", i + 1);
            match item {
                Value::String(s) if self.check_string(&member, s, rule) => out.push(s.clone()),
                Value::String(_) => {}
                _ => self.fail(&member, "Member must be a string"),
            }
        }
        Some(out)
    }

    /// A string-to-string map member.
    pub fn string_map(
        &mut self,
        name: &str,
        key: StringRule,
        value: StringRule,
    ) -> Vec<(String, String)> {
        let entries = match self.members.get(name) {
            None | Some(Value::Null) => return Vec::new(),
            Some(Value::Object(map)) => map.clone(),
            Some(_) => {
                self.fail(name, "Member must be a map");
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            let member = format!("{name}.{k}");
            let key_ok = self.check_string(&format!("{name}.key"), &k, key);
            match v {
                Value::String(s) if key_ok && self.check_string(&member, &s, value) => {
                    out.push((k, s))
                }
                Value::String(_) => {}
                _ => self.fail(&member, "Member must be a string"),
            }
        }
        out
    }

    /// A nested object member, validated with its own [`Body`] whose errors are prefixed.
    pub fn object(&mut self, name: &str) -> Option<Body> {
        match self.members.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::Object(map)) => Some(Body {
                members: map.clone(),
                errors: Vec::new(),
            }),
            Some(_) => {
                self.fail(name, "Member must be a structure");
                None
            }
        }
    }

    /// Merges a nested body's errors under `prefix`.
    pub fn absorb(&mut self, prefix: &str, nested: Body) {
        for e in nested.errors {
            self.errors.push(FieldError {
                name: format!("{prefix}.{}", e.name),
                message: e.message,
            });
        }
    }

    /// Whether member `name` is present (and not null).
    pub fn has(&self, name: &str) -> bool {
        !matches!(self.members.get(name), None | Some(Value::Null))
    }

    /// The `tags` member (`TagsMap`: at most 50 entries, keys 1-128 and values 0-256
    /// characters of the tag pattern).
    pub fn tags(&mut self) -> Vec<(String, String)> {
        let tags = self.string_map(
            "tags",
            StringRule::pattern(1, 128, Pattern::Tag),
            StringRule::pattern(0, 256, Pattern::Tag),
        );
        if tags.len() > MAX_TAGS {
            self.fail(
                "tags",
                format!("Member must have at most {MAX_TAGS} entries"),
            );
        }
        tags
    }

    /// Names of the members present (for unions).
    pub fn present_members(&self) -> Vec<String> {
        self.members
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Records a union violation unless exactly one of `members` is present.
    pub fn require_exactly_one(&mut self, union: &str, members: &[&str]) {
        let count = members
            .iter()
            .filter(|m| !matches!(self.members.get(**m), None | Some(Value::Null)))
            .count();
        if count != 1 {
            self.fail(
                union,
                format!(
                    "Member must have exactly one of the following members set: [{}]",
                    members.join(", ")
                ),
            );
        }
    }

    /// Records a custom field error.
    pub fn reject(&mut self, name: &str, message: impl Into<String>) {
        self.fail(name, message);
    }

    /// Ends validation: a `ValidationException` listing every failure, if any.
    pub fn finish(self) -> ApiResult<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::fields(self.errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_accumulate_into_one_validation_exception() {
        let mut body = Body::parse(br#"{"workloadName": 5, "userId": ""}"#).unwrap();
        body.required_string("workloadName", StringRule::len(3, 255));
        body.required_string("userId", StringRule::len(1, 128));
        body.required_string("missing", StringRule::len(1, 2));
        let err = body.finish().unwrap_err();
        assert!(
            err.message().starts_with("3 validation errors detected"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn non_objects_cannot_be_parsed() {
        assert!(Body::parse(b"[1,2]").is_err());
        assert!(Body::parse(b"{oops").is_err());
        assert!(Body::parse(b"").is_ok());
    }
}
