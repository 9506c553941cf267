//! Where settings come from, and refusing to start on anything doubtful (fail closed): the
//! environment name `GD_ENV` (one of [`Environment`]; an unknown name is an error, not a
//! silent fallback to the defaults), the directory holding `{GD_ENV}.toml` (`GD_CONFIG_DIR`,
//! else `config/` beside the binary, else `config/` in the working directory), and secrets,
//! which come only from the environment and are refused when they are all whitespace.

use super::ConfigError;
use secrecy::SecretString;
use std::path::{Path, PathBuf};

/// The deployment environment, `GD_ENV`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Environment {
    /// A developer's machine (the default): `local.toml` if found, human-readable logs.
    #[default]
    Local,
    /// Test and benchmark runs: `test.toml` if found, else the defaults.
    Test,
    /// Production: `production.toml` must be found; a signing key and Redis are required.
    Production,
}

impl Environment {
    /// Every accepted name.
    pub const NAMES: [&'static str; 3] = ["local", "test", "production"];

    /// `GD_ENV`'s value (unset: local).
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for any other name, listing the accepted ones.
    pub fn parse(raw: Option<&str>) -> Result<Self, ConfigError> {
        match raw {
            None | Some("local") => Ok(Self::Local),
            Some("test") => Ok(Self::Test),
            Some("production") => Ok(Self::Production),
            Some(other) => Err(ConfigError::Invalid {
                key: "GD_ENV",
                reason: format!("{other:?} is not an environment; use one of {}", Self::NAMES.join(", ")),
            }),
        }
    }

    /// The name, as in `GD_ENV` and the file name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Test => "test",
            Self::Production => "production",
        }
    }

    /// Whether starting without `{name}.toml` is an error.
    #[must_use]
    pub fn requires_file(self) -> bool {
        self == Self::Production
    }
}

/// The `{env}.toml` to layer over the defaults: in `explicit` (`GD_CONFIG_DIR`) only when it is
/// given, else the first of `candidates` that has it. `None` when there is none and `env` does
/// not require one.
///
/// # Errors
/// [`ConfigError::Invalid`] when `GD_CONFIG_DIR` is not a directory, or when `env` requires the
/// file and it is nowhere (the message lists where it looked).
pub fn env_file(
    env: Environment,
    explicit: Option<&Path>,
    candidates: &[PathBuf],
) -> Result<Option<PathBuf>, ConfigError> {
    let name = format!("{}.toml", env.as_str());
    let dirs: Vec<&Path> = match explicit {
        Some(dir) if !dir.is_dir() => {
            return Err(ConfigError::Invalid {
                key: "GD_CONFIG_DIR",
                reason: format!("{} is not a directory", dir.display()),
            });
        }
        Some(dir) => vec![dir],
        None => candidates.iter().map(PathBuf::as_path).collect(),
    };
    if let Some(found) = dirs.iter().map(|d| d.join(&name)).find(|f| f.is_file()) {
        return Ok(Some(found));
    }
    if env.requires_file() {
        let looked: Vec<String> = dirs.iter().map(|d| d.join(&name).display().to_string()).collect();
        return Err(ConfigError::Invalid {
            key: "GD_ENV",
            reason: format!(
                "GD_ENV={} needs {name}, and it is not at {} (set GD_CONFIG_DIR to the directory holding it)",
                env.as_str(),
                looked.join(" nor ")
            ),
        });
    }
    Ok(None)
}

/// Where to look for `{env}.toml` without `GD_CONFIG_DIR`: `config/` beside the binary (the
/// container's `/app/config`), then `config/` in the working directory (`cargo run`).
#[must_use]
pub fn default_dirs() -> Vec<PathBuf> {
    let beside_binary = std::env::current_exe().ok().and_then(|exe| exe.parent().map(|d| d.join("config")));
    beside_binary.into_iter().chain(std::iter::once(PathBuf::from("config"))).collect()
}

/// A secret from the environment variable `var`: unset or empty is `None`; a value that is
/// all whitespace (a mangled template, a stray newline) is refused rather than used as a key.
///
/// # Errors
/// [`ConfigError::Invalid`] naming `var`.
pub fn secret(var: &'static str, raw: Option<String>) -> Result<Option<SecretString>, ConfigError> {
    match raw {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) if v.trim().is_empty() => {
            Err(ConfigError::Invalid { key: var, reason: "is only whitespace; set the real secret or unset it".into() })
        }
        Some(v) => Ok(Some(SecretString::from(v))),
    }
}

/// [`secret`] of the process environment's `var`.
///
/// # Errors
/// As [`secret`].
pub fn secret_from_env(var: &'static str) -> Result<Option<SecretString>, ConfigError> {
    secret(var, std::env::var(var).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_environments_are_accepted() {
        assert_eq!(Environment::parse(None).unwrap(), Environment::Local);
        assert_eq!(Environment::parse(Some("production")).unwrap(), Environment::Production);
        let err = Environment::parse(Some("prod")).unwrap_err().to_string();
        assert!(err.contains("GD_ENV") && err.contains("\"prod\"") && err.contains("production"), "{err}");
    }

    #[test]
    fn the_environment_file_is_found_beside_the_binary_or_where_told() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        std::fs::write(b.path().join("production.toml"), "").unwrap();
        let candidates = [a.path().to_path_buf(), b.path().to_path_buf()];
        let found = env_file(Environment::Production, None, &candidates).unwrap();
        assert_eq!(found, Some(b.path().join("production.toml")));
        assert_eq!(env_file(Environment::Local, None, &candidates).unwrap(), None, "local needs no file");
        let err = env_file(Environment::Production, Some(a.path()), &candidates).unwrap_err().to_string();
        assert!(err.contains("GD_CONFIG_DIR") && err.contains("production.toml"), "{err}");
        let err = env_file(Environment::Local, Some(&a.path().join("missing")), &[]).unwrap_err().to_string();
        assert!(err.contains("is not a directory"), "{err}");
    }

    #[test]
    fn whitespace_secrets_are_refused_and_empty_ones_are_unset() {
        assert!(secret("GD_X", None).unwrap().is_none());
        assert!(secret("GD_X", Some(String::new())).unwrap().is_none());
        assert!(secret("GD_X", Some(" \t\n ".into())).unwrap_err().to_string().contains("GD_X"));
        assert!(secret("GD_X", Some(" padded ".into())).unwrap().is_some());
    }
}
