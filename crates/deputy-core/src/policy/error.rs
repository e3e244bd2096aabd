//! Why a policy file was refused: every problem, each with its line.

use std::fmt;

/// A policy that could not be loaded.
///
/// The `Display` form lists each problem as `file:line: problem`, ready to print.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The file is not valid TOML, or has an unknown key or a wrong type.
    #[error("{source_name}:{line}:{column}: {message}")]
    Syntax {
        /// Where the policy came from (a path, or `<built-in>`).
        source_name: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// The file parsed but its rules are inconsistent.
    #[error("{source_name}: {} problem(s) in the decision table:\n{}", problems.len(), ProblemList(source_name, problems))]
    Invalid {
        /// Where the policy came from.
        source_name: String,
        /// Every problem found, in file order.
        problems: Vec<Problem>,
    },
}

/// One problem in a policy, at a line when one can be named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line of the rule (or key) at fault.
    pub line: Option<usize>,
    /// What is wrong, in words that say how to fix it.
    pub message: String,
}

struct ProblemList<'a>(&'a str, &'a [Problem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.1.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match problem.line {
                Some(line) => write!(f, "  {}:{line}: {}", self.0, problem.message)?,
                None => write!(f, "  {}: {}", self.0, problem.message)?,
            }
        }
        Ok(())
    }
}

/// 1-based line and column of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}
