//! Loading both documents from a directory, files, strings or the embedded defaults, plus environment
//! overrides; and the [`Config`] that results.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::document::Document;
use crate::env::{self, EnvOverride};
use crate::limits::MAX_DOCUMENT_BYTES;
use crate::monitoring::MonitoringConfig;
use crate::parse::{DocumentModel, check_model, parse_document};
use crate::problem::{ConfigError, Origin, Problem, ProblemKind, Problems};
use crate::security::SecurityPolicies;

/// The whole configuration: both documents.
///
/// `Config::default()` equals the shipped files in `config/` (a test proves it).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Config {
    /// `security/security_policies.yaml`.
    pub security: SecurityPolicies,
    /// `monitoring/monitoring.yaml`.
    pub monitoring: MonitoringConfig,
}

impl Config {
    /// Loads `<dir>/security/security_policies.yaml` and `<dir>/monitoring/monitoring.yaml` (a missing
    /// file means that document's defaults) and applies `VANA_*` overrides from the process environment.
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<LoadedConfig, ConfigError> {
        ConfigLoader::new().dir(dir).process_env().load()
    }

    /// Checks a configuration built or changed in code; every problem is reported.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = check_model(&self.security);
        problems.extend(check_model(&self.monitoring));
        problems.into_result(())
    }
}

macro_rules! document_methods {
    ($model:ty) => {
        impl $model {
            /// Parses and validates this document from YAML text; keys left out take their defaults.
            pub fn from_yaml_str(yaml: &str) -> Result<Self, ConfigError> {
                parse_document(yaml.as_bytes(), &Origin::Text("<string>".into()), &[])
                    .map_err(ConfigError::Invalid)
            }

            /// Checks a value built or changed in code; every problem is reported.
            pub fn validate(&self) -> Result<(), ConfigError> {
                check_model(self).into_result(())
            }
        }
    };
}

document_methods!(SecurityPolicies);
document_methods!(MonitoringConfig);

/// Where one document of a [`LoadedConfig`] came from, and the overrides applied to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigSource {
    /// The document.
    pub document: Document,
    /// The file, string or embedded default it was read from.
    pub origin: Origin,
    /// Environment variables that overrode keys of it (names only).
    pub env_overrides: Vec<String>,
}

/// A loaded configuration and the sources it was built from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LoadedConfig {
    /// The configuration.
    pub config: Config,
    /// One entry per document.
    pub sources: Vec<ConfigSource>,
}

impl LoadedConfig {
    /// A configuration built in code, with the sources it stands for.
    pub fn new(config: Config, sources: Vec<ConfigSource>) -> Self {
        Self { config, sources }
    }

    /// The embedded defaults, as loaded from the compiled-in files.
    pub fn embedded() -> Self {
        let sources = Document::ALL
            .into_iter()
            .map(|document| ConfigSource {
                document,
                origin: Origin::Embedded(document),
                env_overrides: Vec::new(),
            })
            .collect();
        Self { config: Config::default(), sources }
    }
}

#[derive(Debug, Clone)]
enum Input {
    Embedded,
    /// A file; `optional` files that do not exist mean the embedded defaults.
    File {
        path: PathBuf,
        optional: bool,
    },
    Text {
        name: String,
        text: String,
    },
}

/// Builds a [`Config`] from files, strings, the embedded defaults and the environment.
///
/// ```
/// use vana_config::{ConfigLoader, Document};
///
/// let loaded = ConfigLoader::new()
///     .document_str(Document::Security, "mine.yaml", "rate_limiting:\n  default_limit: 500\n")
///     .env_vars([("VANA_MONITORING__LOGGING__LEVEL", "debug")])
///     .load()?;
/// assert_eq!(loaded.config.security.rate_limiting.default_limit, 500);
/// assert_eq!(loaded.config.security.rate_limiting.window_seconds, 60); // a default
/// assert_eq!(loaded.config.monitoring.logging.level, vana_config::LogLevel::Debug);
/// # Ok::<(), vana_config::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ConfigLoader {
    security: Input,
    monitoring: Input,
    /// Files given without saying which document they are.
    undetected: Vec<PathBuf>,
    /// Directories given: each must hold at least one document.
    dirs: Vec<PathBuf>,
    env: Vec<(OsString, OsString)>,
}

impl Default for ConfigLoader {
    fn default() -> Self {
        Self::new()
    }
}

impl ConfigLoader {
    /// Both documents from the embedded defaults, no environment overrides.
    pub fn new() -> Self {
        Self {
            security: Input::Embedded,
            monitoring: Input::Embedded,
            undetected: Vec::new(),
            dirs: Vec::new(),
            env: Vec::new(),
        }
    }

    fn input_mut(&mut self, document: Document) -> &mut Input {
        match document {
            Document::Security => &mut self.security,
            Document::Monitoring => &mut self.monitoring,
        }
    }

    /// Reads both documents from a configuration directory; a missing file means its defaults.
    ///
    /// [`load`](Self::load) fails with [`ConfigError::NotAConfigDir`] when `dir` does not exist or holds
    /// neither file: a mistyped path never means the defaults in silence.
    pub fn dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.dirs.push(dir.as_ref().to_owned());
        for document in Document::ALL {
            let path = dir.as_ref().join(document.path_in_dir());
            *self.input_mut(document) = Input::File { path, optional: true };
        }
        self
    }

    /// [`dir`](Self::dir) when `path` is a directory, [`file`](Self::file) otherwise.
    pub fn path(self, path: impl AsRef<Path>) -> Self {
        let path = path.as_ref();
        if path.is_dir() { self.dir(path) } else { self.file(path) }
    }

    /// Reads one document from a file; which one is told by the file name (`security_policies.yaml`,
    /// `monitoring.yaml`, or a name containing `security` or `monitoring`), else by its top-level keys.
    pub fn file(mut self, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        match Document::from_file_name(&path) {
            Some(document) => *self.input_mut(document) = Input::File { path, optional: false },
            None => self.undetected.push(path),
        }
        self
    }

    /// Reads `document` from a file.
    pub fn document_file(mut self, document: Document, path: impl Into<PathBuf>) -> Self {
        *self.input_mut(document) = Input::File { path: path.into(), optional: false };
        self
    }

    /// Reads `document` from a string; `name` stands for it in error messages.
    pub fn document_str(
        mut self,
        document: Document,
        name: impl Into<String>,
        yaml: impl Into<String>,
    ) -> Self {
        *self.input_mut(document) = Input::Text { name: name.into(), text: yaml.into() };
        self
    }

    /// Applies overrides from these variables (`VANA_<DOCUMENT>__<SECTION>__<KEY>`); others are ignored.
    pub fn env_vars<K: Into<OsString>, V: Into<OsString>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.env.extend(vars.into_iter().map(|(key, value)| (key.into(), value.into())));
        self
    }

    /// Applies overrides from the process environment.
    pub fn process_env(self) -> Self {
        self.env_vars(std::env::vars_os())
    }

    /// Reads, overrides and validates both documents; every problem of every source is reported.
    pub fn load(mut self) -> Result<LoadedConfig, ConfigError> {
        let (overrides, env_problems) = env::collect(std::mem::take(&mut self.env));
        let mut problems = Problems::from(env_problems);
        for dir in &self.dirs {
            check_config_dir(dir)?;
        }
        for path in std::mem::take(&mut self.undetected) {
            let bytes = read_capped(&path)?.unwrap_or_default();
            match detect_by_content(&bytes) {
                Some(document) => *self.input_mut(document) = Input::File { path, optional: false },
                None => problems.push(
                    Problem::new(
                        ProblemKind::InvalidValue,
                        Default::default(),
                        "cannot tell which configuration document this is; name it security_policies.yaml or monitoring.yaml",
                    )
                    .at(&Origin::File(path), None),
                ),
            }
        }
        let security = load_one::<SecurityPolicies>(&self.security, &overrides);
        let monitoring = load_one::<MonitoringConfig>(&self.monitoring, &overrides);
        match (security?, monitoring?) {
            ((Ok(security), security_source), (Ok(monitoring), monitoring_source)) if problems.is_empty() => {
                Ok(LoadedConfig {
                    config: Config { security, monitoring },
                    sources: vec![security_source, monitoring_source],
                })
            }
            ((security, _), (monitoring, _)) => {
                problems.extend(security.err().unwrap_or_default());
                problems.extend(monitoring.err().unwrap_or_default());
                Err(ConfigError::Invalid(problems))
            }
        }
    }
}

type Loaded<T> = (Result<T, Problems>, ConfigSource);

fn load_one<T: DocumentModel>(input: &Input, overrides: &[EnvOverride]) -> Result<Loaded<T>, ConfigError> {
    let document = T::DOCUMENT;
    let (origin, bytes) = match input {
        Input::Embedded => (Origin::Embedded(document), document.embedded_yaml().as_bytes().to_vec()),
        Input::Text { name, text } => (Origin::Text(name.clone()), text.clone().into_bytes()),
        Input::File { path, optional } => match read_capped(path)? {
            Some(bytes) => (Origin::File(path.clone()), bytes),
            None if *optional => (Origin::Embedded(document), document.embedded_yaml().as_bytes().to_vec()),
            None => {
                let source = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
                return Err(ConfigError::Io { path: path.clone(), source });
            }
        },
    };
    let env_overrides = overrides.iter().filter(|o| o.document == document).map(|o| o.var.clone()).collect();
    let parsed = parse_document::<T>(&bytes, &origin, overrides);
    Ok((parsed, ConfigSource { document, origin, env_overrides }))
}

/// `dir` exists and holds at least one document where [`ConfigLoader::dir`] looks.
fn check_config_dir(dir: &Path) -> Result<(), ConfigError> {
    let tried: Vec<PathBuf> = Document::ALL.iter().map(|document| dir.join(document.path_in_dir())).collect();
    let fail = |reason: String| {
        Err(ConfigError::NotAConfigDir { dir: dir.to_owned(), tried: tried.clone(), reason })
    };
    if !dir.is_dir() {
        return fail("no such directory".to_owned());
    }
    if tried.iter().any(|path| path.exists()) {
        return Ok(());
    }
    let flat: Vec<(String, &str)> = Document::ALL
        .iter()
        .filter_map(|document| {
            let name = Path::new(document.path_in_dir()).file_name()?;
            dir.join(name).is_file().then(|| (name.to_string_lossy().into_owned(), document.path_in_dir()))
        })
        .collect();
    if flat.is_empty() {
        return fail("it holds neither configuration document".to_owned());
    }
    let names: Vec<&str> = flat.iter().map(|(name, _)| name.as_str()).collect();
    let places: Vec<&str> = flat.iter().map(|(_, place)| *place).collect();
    fail(format!(
        "it holds {} at its top, where no file is looked for: move it to {} in it, or give the file itself",
        names.join(" and "),
        places.join(" and ")
    ))
}

/// Reads at most one byte past the document cap (so an oversized file is reported, not read whole);
/// `None` when the file does not exist.
fn read_capped(path: &Path) -> Result<Option<Vec<u8>>, ConfigError> {
    let io_error = |source| ConfigError::Io { path: path.to_owned(), source };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(io_error(error)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_DOCUMENT_BYTES as u64 + 1).read_to_end(&mut bytes).map_err(io_error)?;
    Ok(Some(bytes))
}

/// Which document has the most of these top-level keys.
fn detect_by_content(bytes: &[u8]) -> Option<Document> {
    let text = std::str::from_utf8(bytes).ok()?;
    let top_level_keys: Vec<&str> = text
        .lines()
        .filter(|line| line.chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
        .filter_map(|line| line.split(':').next())
        .collect();
    Document::ALL
        .into_iter()
        .map(|document| (document, document.sections().iter().filter(|s| top_level_keys.contains(s)).count()))
        .filter(|(_, hits)| *hits > 0)
        .max_by_key(|(_, hits)| *hits)
        .map(|(document, _)| document)
}
