//! What goes wrong in a configuration, where, and the crate's one error type.

use std::fmt;
use std::path::PathBuf;

use crate::document::Document;
use crate::key_path::KeyPath;

/// Where a piece of configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// A file on disk.
    File(PathBuf),
    /// The defaults compiled into the crate.
    Embedded(Document),
    /// An environment variable (its name; never its value).
    Env(String),
    /// A string handed to the loader, under the name the caller gave it.
    Text(String),
    /// A value built in code rather than parsed.
    Code,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::Embedded(document) => write!(f, "<embedded {}>", document.file_name()),
            Origin::Env(name) => write!(f, "env {name}"),
            Origin::Text(name) => f.write_str(name),
            Origin::Code => f.write_str("<config>"),
        }
    }
}

/// The kind of a [`Problem`], for callers that react to some kinds differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProblemKind {
    /// The text is not well-formed YAML.
    Syntax,
    /// The file is over [`MAX_DOCUMENT_BYTES`](crate::MAX_DOCUMENT_BYTES).
    TooLarge,
    /// The bytes are not UTF-8.
    NotUtf8,
    /// The document holds nothing.
    Empty,
    /// Nesting or alias expansion beyond the loader's caps.
    TooComplex,
    /// A key the schema does not know.
    UnknownKey,
    /// A required key is absent.
    MissingKey,
    /// A value of the wrong type (a list where a number belongs, say).
    InvalidType,
    /// A value of the right type that breaks a rule (a zero window, a bad regex, an unknown level...).
    InvalidValue,
    /// An environment variable that names no document.
    Environment,
}

/// One thing wrong with a configuration: where it is and what is wrong.
///
/// Renders as `file:line:col: key.path: message`; parts that are unknown are left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, variable or string the value came from.
    pub origin: Origin,
    /// The key path inside the document.
    pub path: KeyPath,
    /// 1-based line, when the origin is text and the position is known.
    pub line: Option<usize>,
    /// 1-based column (in characters), when known.
    pub column: Option<usize>,
    /// What kind of problem this is.
    pub kind: ProblemKind,
    /// What is wrong, in lower case, without the location.
    pub message: String,
}

impl Problem {
    /// A problem at `path`, with no origin or position yet.
    pub fn new(kind: ProblemKind, path: KeyPath, message: impl Into<String>) -> Self {
        Self { origin: Origin::Code, path, line: None, column: None, kind, message: message.into() }
    }

    pub(crate) fn with_position(mut self, (line, column): (usize, usize)) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }

    pub(crate) fn at(mut self, origin: &Origin, position: Option<(usize, usize)>) -> Self {
        self.origin = origin.clone();
        if let Some((line, column)) = position {
            self.line = Some(line);
            self.column = Some(column);
        }
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        if !self.path.is_root() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in one load, in document order per source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems(Vec<Problem>);

impl Problems {
    /// The problems, in the order they were found.
    pub fn iter(&self) -> std::slice::Iter<'_, Problem> {
        self.0.iter()
    }

    /// How many problems there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The problems as a vector.
    pub fn into_vec(self) -> Vec<Problem> {
        self.0
    }

    pub(crate) fn push(&mut self, problem: Problem) {
        self.0.push(problem);
    }

    pub(crate) fn extend(&mut self, other: Problems) {
        self.0.extend(other.0);
    }

    /// `Ok(value)` when there are no problems, the problems as an error otherwise.
    pub(crate) fn into_result<T>(self, value: T) -> Result<T, ConfigError> {
        if self.is_empty() { Ok(value) } else { Err(ConfigError::Invalid(self)) }
    }
}

impl From<Vec<Problem>> for Problems {
    fn from(problems: Vec<Problem>) -> Self {
        Self(problems)
    }
}

impl<'a> IntoIterator for &'a Problems {
    type Item = &'a Problem;
    type IntoIter = std::slice::Iter<'a, Problem>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, problem) in self.0.iter().enumerate() {
            if position > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// The error of every fallible operation in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The configuration was read but is not valid; every problem found is here.
    #[error("{0}")]
    Invalid(Problems),
    /// A configuration directory that does not exist, or holds neither document where it is looked for.
    #[error("{}: {reason}; looked for {}", dir.display(), tried.iter().map(|path| path.display().to_string()).collect::<Vec<_>>().join(" and "))]
    NotAConfigDir {
        /// The directory given.
        dir: PathBuf,
        /// The files looked for.
        tried: Vec<PathBuf>,
        /// What is wrong, and what to do.
        reason: String,
    },
}

impl ConfigError {
    /// The problems of an [`Invalid`](ConfigError::Invalid) error; empty for other errors.
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid(problems) => &problems.0,
            ConfigError::Io { .. } | ConfigError::NotAConfigDir { .. } => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_file_line_column_path_message() {
        let problem = Problem::new(
            ProblemKind::InvalidValue,
            KeyPath::parse("thresholds.memory_usage.warning"),
            "must be below critical",
        )
        .at(&Origin::File("config/monitoring/monitoring.yaml".into()), Some((12, 14)));
        assert_eq!(
            problem.to_string(),
            "config/monitoring/monitoring.yaml:12:14: thresholds.memory_usage.warning: must be below critical"
        );
    }

    #[test]
    fn leaves_out_what_is_unknown() {
        let problem = Problem::new(ProblemKind::Empty, KeyPath::root(), "the document is empty")
            .at(&Origin::Env("VANA_X".into()), None);
        assert_eq!(problem.to_string(), "env VANA_X: the document is empty");
    }
}
