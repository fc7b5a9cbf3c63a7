//! Where a client's domain and token come from: arguments, the environment, a named profile of
//! the configuration file, or the older `~/.codeocean/credentials.json`.
//!
//! # Precedence
//!
//! Each of the two settings, the domain and the token, is taken from the first of these that
//! has it:
//!
//! 1. a value given to [`Resolver::domain`] / [`Resolver::token`] (the CLI's `--domain` and
//!    `--token` flags);
//! 2. the environment: `CODEOCEAN_DOMAIN`, `CODEOCEAN_TOKEN` (an empty variable counts as
//!    unset);
//! 3. a profile of the configuration file: the one named by [`Resolver::profile`] (the CLI's
//!    `--profile NAME`, or [`Client::from_profile`]), else by `CODEOCEAN_PROFILE`, else the
//!    file's `default`;
//! 4. only when no profile is chosen and neither setting came from 1 or 2:
//!    `~/.codeocean/credentials.json` (`{"domain": …, "token": …}`, the file of the older
//!    Python package `aind-codeocean-api`), both settings from it.
//!
//! A profile that is named (by argument, by `CODEOCEAN_PROFILE` or by `default`) but missing,
//! or a file that does not parse, is an [`ErrorKind::Config`] error, never silently skipped.
//!
//! # The configuration file
//!
//! `$XDG_CONFIG_HOME/codeocean/config.toml`, or `$HOME/.config/codeocean/config.toml` when
//! `XDG_CONFIG_HOME` is unset or not an absolute path ([`config_file`]):
//!
//! ```toml
//! default = "acme"
//!
//! [profiles.acme]
//! domain = "acmecorp.codeocean.com"
//! token_command = "pass show codeocean/acme"   # or: token = "…"
//!
//! [profiles.staging]
//! domain = "https://staging.acme.internal"
//! token = "…"
//! ```
//!
//! A profile has `domain` and at most one of `token` and `token_command`; other keys are
//! refused (a misspelt `tokne` would otherwise go unnoticed). `token_command` runs through the
//! platform's shell (`sh -c`, `cmd /C` on Windows) only when the token is needed from the
//! profile, with the terminal's stdin and stderr (a password manager may ask for a passphrase);
//! its stdout, trimmed, is the token. A command that fails or prints nothing is an error
//! naming the profile and the exit status, **never the command's output**, which may hold the
//! secret.
//!
//! # Files holding a token must be private
//!
//! On Unix a configuration file in which a profile has a `token`, and `credentials.json`, are
//! refused when group or others may read them (`mode & 0o077`), with an error naming the file
//! and the fix, `chmod 600 FILE`. A configuration file with `token_command` only needs no
//! such care.
//!
//! ```no_run
//! # fn example() -> codeocean::Result<()> {
//! use codeocean::profile::Resolver;
//!
//! // What `Client::from_profile("acme")` does, with the settings' sources shown.
//! let resolved = Resolver::new().profile("acme").resolve()?;
//! println!("domain from {}", resolved.domain_source().unwrap());
//! let client = resolved.builder()?.build()?;
//! # let _ = client;
//! # Ok(())
//! # }
//! ```

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::client::Token;
use crate::{Client, ClientBuilder, Error, ErrorKind, Result};

/// The environment variable naming the profile to use ([`Resolver::profile`] takes precedence).
pub const PROFILE_ENV: &str = "CODEOCEAN_PROFILE";
/// The environment variable of the domain.
pub const DOMAIN_ENV: &str = "CODEOCEAN_DOMAIN";
/// The environment variable of the token.
pub const TOKEN_ENV: &str = "CODEOCEAN_TOKEN";

/// Where a setting came from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// Given to the [`Resolver`] by the program (the CLI: its `--domain`/`--token` flag).
    Given,
    /// An environment variable (`CODEOCEAN_DOMAIN`, `CODEOCEAN_TOKEN`).
    Env(&'static str),
    /// A profile of the configuration file.
    Profile {
        /// The profile's name.
        name: String,
        /// The configuration file.
        file: PathBuf,
    },
    /// The output of a profile's `token_command`.
    TokenCommand {
        /// The profile's name.
        name: String,
        /// The configuration file.
        file: PathBuf,
    },
    /// `~/.codeocean/credentials.json`.
    Credentials(PathBuf),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Given => f.write_str("given"),
            Self::Env(var) => f.write_str(var),
            Self::Profile { name, file } => {
                write!(f, "profile `{name}` in {}", file.display())
            }
            Self::TokenCommand { name, file } => {
                write!(f, "token_command of profile `{name}` in {}", file.display())
            }
            Self::Credentials(file) => f.write_str(&file.display().to_string()),
        }
    }
}

/// How the token is had: a value, or a command still to run.
#[derive(Clone)]
enum TokenValue {
    Value(Token),
    Command(String),
}

/// Resolves a client's domain and token by the documented precedence (see the
/// [module](self)). [`Client::from_env`] is `Resolver::new().resolve()`, and
/// [`Client::from_profile`] is `Resolver::new().profile(name).resolve()`, each followed by
/// [`Resolution::builder`] and `build()`.
#[derive(Clone, Default)]
#[must_use = "a resolver does nothing until `.resolve()` is called"]
pub struct Resolver {
    profile: Option<String>,
    domain: Option<String>,
    token: Option<Token>,
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver")
            .field("profile", &self.profile)
            .field("domain", &self.domain)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// What [`Resolver::resolve`] found: the chosen profile, each setting with its source, and
/// the files it looked at. The token is never shown (`Debug` redacts it) and a
/// `token_command` has not run yet: [`builder`](Self::builder) runs it.
#[derive(Clone)]
pub struct Resolution {
    profile: Option<(String, PathBuf)>,
    config_file: Option<PathBuf>,
    credentials_file: Option<PathBuf>,
    domain: Option<(String, Source)>,
    token: Option<(TokenValue, Source)>,
}

impl fmt::Debug for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolution")
            .field("profile", &self.profile)
            .field("config_file", &self.config_file)
            .field("domain", &self.domain)
            .field("token", &self.token_source().map(|s| ("<redacted>", s)))
            .finish_non_exhaustive()
    }
}

impl Resolver {
    /// A resolver of the environment and the user's files, with nothing given.
    pub fn new() -> Self {
        Self::default()
    }

    /// Use this profile of the configuration file (over `CODEOCEAN_PROFILE` and the file's
    /// `default`); resolving fails when it does not exist.
    pub fn profile(mut self, name: impl Into<String>) -> Self {
        self.profile = Some(name.into());
        self
    }

    /// The domain, over every other source.
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// The token, over every other source.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Token(token.into()));
        self
    }

    /// Resolves from the process's environment (`CODEOCEAN_*`, `XDG_CONFIG_HOME`, `HOME`) and
    /// the files it points at. Settings that nothing configures are left unset: the error
    /// saying what to set comes from [`Resolution::builder`].
    pub fn resolve(&self) -> Result<Resolution> {
        self.resolve_in(&|name| std::env::var_os(name))
    }

    /// [`resolve`](Self::resolve) with `env` standing for the environment.
    fn resolve_in(&self, env: &dyn Fn(&str) -> Option<OsString>) -> Result<Resolution> {
        let text = |name: &'static str| {
            env(name)
                .and_then(|v| v.into_string().ok())
                .filter(|v| !v.is_empty())
        };
        let mut domain = match &self.domain {
            Some(d) => Some((d.clone(), Source::Given)),
            None => text(DOMAIN_ENV).map(|d| (d, Source::Env(DOMAIN_ENV))),
        };
        let mut token = match &self.token {
            Some(t) => Some((TokenValue::Value(t.clone()), Source::Given)),
            None => text(TOKEN_ENV).map(|t| (TokenValue::Value(Token(t)), Source::Env(TOKEN_ENV))),
        };
        let config_file = config_file_in(env);
        let credentials_file = home_in(env).map(|h| h.join(".codeocean").join("credentials.json"));
        let named = self.profile.clone().or_else(|| text(PROFILE_ENV));
        let mut profile = None;
        let file = match &config_file {
            Some(path) => read_config(path)?,
            None => None,
        };
        let chosen = match (&named, &file) {
            (Some(name), _) => Some(name.clone()),
            (None, Some(file)) => file.default.clone(),
            (None, None) => None,
        };
        if let Some(name) = chosen {
            let path = config_file.clone().unwrap_or_default();
            let Some(file) = &file else {
                return Err(config(format!(
                    "profile `{name}` was asked for, but there is no configuration file {}",
                    shown_path(config_file.as_deref())
                )));
            };
            let Some(p) = file.profiles.iter().find(|p| p.name == name) else {
                let known: Vec<&str> = file.profiles.iter().map(|p| p.name.as_str()).collect();
                let how = if named.is_some() {
                    ""
                } else {
                    " (its `default`)"
                };
                return Err(config(format!(
                    "no profile `{name}`{how} in {}; it has {}",
                    path.display(),
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known
                            .iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                )));
            };
            let source = || Source::Profile {
                name: name.clone(),
                file: path.clone(),
            };
            if domain.is_none() {
                domain = p.domain.clone().map(|d| (d, source()));
            }
            if token.is_none() {
                token = match (&p.token, &p.token_command) {
                    (Some(t), _) => Some((TokenValue::Value(Token(t.clone())), source())),
                    (None, Some(c)) => Some((
                        TokenValue::Command(c.clone()),
                        Source::TokenCommand {
                            name: name.clone(),
                            file: path.clone(),
                        },
                    )),
                    (None, None) => None,
                };
            }
            profile = Some((name, path));
        } else if domain.is_none()
            && token.is_none()
            && let Some(path) = &credentials_file
            && let Some((d, t)) = read_credentials(path)?
        {
            let source = Source::Credentials(path.clone());
            domain = Some((d, source.clone()));
            token = Some((TokenValue::Value(Token(t)), source));
        }
        Ok(Resolution {
            profile,
            config_file,
            credentials_file,
            domain,
            token,
        })
    }
}

impl Resolution {
    /// The profile chosen, if any.
    pub fn profile(&self) -> Option<&str> {
        self.profile.as_ref().map(|(n, _)| n.as_str())
    }

    /// The configuration file looked for (whether or not it exists); `None` when neither
    /// `XDG_CONFIG_HOME` nor `HOME` is set.
    pub fn config_file(&self) -> Option<&Path> {
        self.config_file.as_deref()
    }

    /// The `credentials.json` looked for (whether or not it exists, and whether or not it was
    /// read: see the [module](self) for when it is).
    pub fn credentials_file(&self) -> Option<&Path> {
        self.credentials_file.as_deref()
    }

    /// The domain, if something configures it.
    pub fn domain(&self) -> Option<&str> {
        self.domain.as_ref().map(|(d, _)| d.as_str())
    }

    /// Where the domain came from.
    pub fn domain_source(&self) -> Option<&Source> {
        self.domain.as_ref().map(|(_, s)| s)
    }

    /// Where the token comes from (the token itself is never handed out).
    pub fn token_source(&self) -> Option<&Source> {
        self.token.as_ref().map(|(_, s)| s)
    }

    /// A client builder with this domain and token (running the profile's `token_command`
    /// now, when the token comes from one), to adjust further. An [`ErrorKind::Config`] error
    /// says what to set when the domain or the token is missing, and names the profile when
    /// its command fails.
    pub fn builder(&self) -> Result<ClientBuilder> {
        let Some((domain, _)) = &self.domain else {
            return Err(config(self.missing("domain", DOMAIN_ENV)));
        };
        let token = match &self.token {
            None => return Err(config(self.missing("token", TOKEN_ENV))),
            Some((TokenValue::Value(t), _)) => t.0.clone(),
            Some((TokenValue::Command(command), source)) => {
                let Source::TokenCommand { name, file } = source else {
                    unreachable!("a command token comes from a profile")
                };
                run_token_command(command, name, file)?
            }
        };
        Ok(Client::builder().domain(domain.clone()).token(token))
    }

    /// What to set when `what` is missing.
    fn missing(&self, what: &str, var: &str) -> String {
        match &self.profile {
            Some((name, file)) => format!(
                "no {what}: profile `{name}` in {} has none, and {var} is not set",
                file.display()
            ),
            None => format!(
                "no {what}: set {var}, choose a profile of {} ({PROFILE_ENV}, or its `default`), \
                 or write {}",
                shown_path(self.config_file.as_deref()),
                shown_path(self.credentials_file.as_deref())
            ),
        }
    }
}

impl Client {
    /// A client for the profile `name` of the configuration file, by the precedence of the
    /// [`profile`](crate::profile) module: `CODEOCEAN_DOMAIN` and `CODEOCEAN_TOKEN` still
    /// override its settings, and `CODEOCEAN_CA_CERT` is trusted as by
    /// [`from_env`](Self::from_env). An [`ErrorKind::Config`] error when the file or the
    /// profile is missing or unreadable, or its `token_command` fails.
    pub fn from_profile(name: &str) -> Result<Client> {
        Self::builder_from_profile(name)?.build()
    }

    /// [`from_profile`](Self::from_profile)'s builder, to adjust further.
    pub fn builder_from_profile(name: &str) -> Result<ClientBuilder> {
        let builder = Resolver::new().profile(name).resolve()?.builder()?;
        Ok(crate::client::with_env_ca(builder))
    }
}

/// `cannot …` as a configuration error.
fn config(detail: String) -> Error {
    Error::new(ErrorKind::Config, "configuring the client", detail)
}

/// A path for a message, or what stands for none.
fn shown_path(path: Option<&Path>) -> String {
    match path {
        Some(p) => p.display().to_string(),
        None => "(none: HOME is not set)".to_owned(),
    }
}

/// The home folder: `HOME`, else (Windows) `USERPROFILE`.
fn home_in(env: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    ["HOME", "USERPROFILE"]
        .iter()
        .filter_map(|v| env(v))
        .find(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The configuration file of this environment (see [`config_file`]).
fn config_file_in(env: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let base = env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| home_in(env).map(|h| h.join(".config")))?;
    Some(base.join("codeocean").join("config.toml"))
}

/// Where the configuration file is: `$XDG_CONFIG_HOME/codeocean/config.toml`, or
/// `$HOME/.config/codeocean/config.toml` when `XDG_CONFIG_HOME` is unset or relative; `None`
/// when neither is set.
pub fn config_file() -> Option<PathBuf> {
    config_file_in(&|name| std::env::var_os(name))
}

/// A profile as the file has it.
struct ProfileEntry {
    name: String,
    domain: Option<String>,
    token: Option<String>,
    token_command: Option<String>,
}

/// The configuration file, checked.
struct ConfigFile {
    default: Option<String>,
    profiles: Vec<ProfileEntry>,
}

/// Reads and checks the configuration file; `None` when there is none.
fn read_config(path: &Path) -> Result<Option<ConfigFile>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(config(format!(
                "cannot read the configuration file {}: {e}",
                path.display()
            )));
        }
    };
    let file = parse_config(&text).map_err(|m| config(format!("{}: {m}", path.display())))?;
    if file.profiles.iter().any(|p| p.token.is_some()) {
        check_private(path, "holds a token")?;
    }
    Ok(Some(file))
}

/// Parses the configuration file's text.
fn parse_config(text: &str) -> std::result::Result<ConfigFile, String> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| e.message().to_owned() + &at_line(text, e.span()))?;
    let mut default = None;
    let mut profiles = Vec::new();
    for (key, value) in &table {
        match (key.as_str(), value) {
            ("default", toml::Value::String(s)) => default = Some(s.clone()),
            ("default", _) => return Err("`default` must be a profile's name (a string)".into()),
            ("profiles", toml::Value::Table(t)) => {
                for (name, value) in t {
                    profiles.push(parse_profile(name, value)?);
                }
            }
            ("profiles", _) => {
                return Err("`profiles` must be tables: `[profiles.NAME]`".into());
            }
            (other, _) => {
                return Err(format!(
                    "unknown key `{other}` (expected `default` and `[profiles.NAME]` tables)"
                ));
            }
        }
    }
    Ok(ConfigFile { default, profiles })
}

/// One `[profiles.NAME]` table.
fn parse_profile(name: &str, value: &toml::Value) -> std::result::Result<ProfileEntry, String> {
    let toml::Value::Table(t) = value else {
        return Err(format!(
            "profile `{name}` must be a table: `[profiles.{name}]`"
        ));
    };
    let mut p = ProfileEntry {
        name: name.to_owned(),
        domain: None,
        token: None,
        token_command: None,
    };
    for (key, value) in t {
        let slot = match key.as_str() {
            "domain" => &mut p.domain,
            "token" => &mut p.token,
            "token_command" => &mut p.token_command,
            other => {
                return Err(format!(
                    "profile `{name}`: unknown key `{other}` (expected `domain`, and `token` or \
                     `token_command`)"
                ));
            }
        };
        match value {
            toml::Value::String(s) if !s.trim().is_empty() => *slot = Some(s.clone()),
            _ => {
                return Err(format!(
                    "profile `{name}`: `{key}` must be a string that is not empty"
                ));
            }
        }
    }
    if p.token.is_some() && p.token_command.is_some() {
        return Err(format!(
            "profile `{name}` has both `token` and `token_command`; keep one"
        ));
    }
    Ok(p)
}

/// ` (line N)` for an error's span in `text`.
fn at_line(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    match span {
        Some(s) => {
            let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
            format!(" (line {line})")
        }
        None => String::new(),
    }
}

/// Reads `credentials.json`: its domain and token, or `None` when there is no such file.
fn read_credentials(path: &Path) -> Result<Option<(String, String)>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(config(format!("cannot read {}: {e}", path.display())));
        }
    };
    check_private(path, "holds a token")?;
    // The error of serde_json would quote the file's text; only its position is told.
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        config(format!(
            "{} is not JSON (line {}, column {})",
            path.display(),
            e.line(),
            e.column()
        ))
    })?;
    let field = |name: &str| {
        value
            .get(name)
            .and_then(|v| v.as_str())
            .filter(|s| !s.trim().is_empty())
            .map(str::to_owned)
            .ok_or_else(|| {
                config(format!(
                    "{} has no `{name}` (expected {{\"domain\": \"…\", \"token\": \"…\"}})",
                    path.display()
                ))
            })
    };
    Ok(Some((field("domain")?, field("token")?)))
}

/// The permission bits of `path` when users other than its owner may read or write it (any of
/// `0o077` set), `None` when it is private. This is the check that refuses a token file others may
/// read; use it for any other file that holds a secret. Where file modes say nothing of who may
/// read (not Unix), always `None`.
///
/// # Errors
///
/// The file's metadata cannot be read (it does not exist, or a folder on its path is closed).
pub fn readable_by_others(path: &Path) -> std::io::Result<Option<u32>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        Ok((mode & 0o077 != 0).then_some(mode))
    }
    #[cfg(not(unix))]
    {
        std::fs::metadata(path).map(|_| None)
    }
}

/// Refuses a file holding a secret that others may read (as ssh refuses a shared private key).
fn check_private(path: &Path, holds: &str) -> Result<()> {
    match readable_by_others(path) {
        Err(e) => Err(config(format!("cannot read {}: {e}", path.display()))),
        Ok(Some(mode)) => Err(config(format!(
            "{} {holds} but others may read it (mode {mode:03o}); make it private: chmod 600 {}",
            path.display(),
            path.display()
        ))),
        Ok(None) => Ok(()),
    }
}

/// Runs a profile's `token_command` through the shell: its trimmed stdout.
fn run_token_command(command: &str, profile: &str, file: &Path) -> Result<String> {
    let mut shell = if cfg!(windows) {
        let mut c = std::process::Command::new("cmd");
        c.arg("/C");
        c
    } else {
        let mut c = std::process::Command::new("sh");
        c.arg("-c");
        c
    };
    let whose = || {
        format!(
            "the token_command of profile `{profile}` in {}",
            file.display()
        )
    };
    let output = shell
        .arg(command)
        .stdin(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| config(format!("{} cannot be started: {e}", whose())))?;
    if !output.status.success() {
        // Its output is not shown: it may hold the secret.
        return Err(config(format!(
            "{} failed ({}); its output is not shown",
            whose(),
            output.status
        )));
    }
    let token = String::from_utf8(output.stdout)
        .map_err(|_| config(format!("{} printed something that is not UTF-8", whose())))?;
    let token = token.trim();
    if token.is_empty() {
        return Err(config(format!("{} printed no token", whose())));
    }
    Ok(token.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A home folder with these files, and an environment of these variables besides `HOME`.
    struct Home {
        dir: tempfile::TempDir,
        vars: HashMap<String, OsString>,
    }

    impl Home {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let mut vars = HashMap::new();
            vars.insert("HOME".to_owned(), dir.path().as_os_str().to_owned());
            Self { dir, vars }
        }

        fn var(mut self, name: &str, value: impl Into<OsString>) -> Self {
            self.vars.insert(name.to_owned(), value.into());
            self
        }

        /// Writes `text` at `rel` under the home folder with this mode.
        fn file(self, rel: &str, text: &str, mode: u32) -> Self {
            let path = self.dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
            set_mode(&path, mode);
            self
        }

        fn path(&self, rel: &str) -> PathBuf {
            self.dir.path().join(rel)
        }

        fn resolve(&self, r: Resolver) -> Result<Resolution> {
            r.resolve_in(&|name| self.vars.get(name).cloned())
        }
    }

    #[cfg(unix)]
    fn set_mode(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[cfg(not(unix))]
    fn set_mode(_: &Path, _: u32) {}

    const CONFIG: &str = ".config/codeocean/config.toml";
    const CREDENTIALS: &str = ".codeocean/credentials.json";
    const TWO: &str = r#"
default = "acme"
[profiles.acme]
domain = "acme.codeocean.com"
token = "acme-token"
[profiles.other]
domain = "other.codeocean.com"
token_command = "echo '  other-token  '"
"#;

    fn token_of(r: &Resolution) -> String {
        let client = r.builder().unwrap().build().unwrap();
        // The token is only ever sent; its source tells which one was taken.
        drop(client);
        match &r.token {
            Some((TokenValue::Value(t), _)) => t.0.clone(),
            Some((TokenValue::Command(c), _)) => format!("command {c}"),
            None => String::new(),
        }
    }

    #[test]
    fn given_beats_env_beats_profile() {
        let home = Home::new().file(CONFIG, TWO, 0o600);
        let r = home.resolve(Resolver::new()).unwrap();
        assert_eq!(r.profile(), Some("acme"));
        assert_eq!(r.domain(), Some("acme.codeocean.com"));
        assert_eq!(token_of(&r), "acme-token");
        let file = home.path(CONFIG);
        assert_eq!(
            r.domain_source(),
            Some(&Source::Profile {
                name: "acme".into(),
                file: file.clone()
            })
        );
        let home = home
            .var(DOMAIN_ENV, "env.example")
            .var(PROFILE_ENV, "other");
        let r = home.resolve(Resolver::new()).unwrap();
        assert_eq!(r.profile(), Some("other"));
        assert_eq!(r.domain(), Some("env.example"));
        assert_eq!(r.domain_source(), Some(&Source::Env(DOMAIN_ENV)));
        assert_eq!(
            r.token_source(),
            Some(&Source::TokenCommand {
                name: "other".into(),
                file: file.clone()
            })
        );
        // The command runs only for the builder, and its output is trimmed.
        assert_eq!(
            r.builder().unwrap().token.map(|t| t.0),
            Some("other-token".to_owned())
        );
        // An explicit profile beats CODEOCEAN_PROFILE; given values beat everything.
        let r = home
            .resolve(
                Resolver::new()
                    .profile("acme")
                    .domain("flag.example")
                    .token("t"),
            )
            .unwrap();
        assert_eq!(r.profile(), Some("acme"));
        assert_eq!(r.domain(), Some("flag.example"));
        assert_eq!(r.domain_source(), Some(&Source::Given));
        assert_eq!(token_of(&r), "t");
        let home = home.var(TOKEN_ENV, "env-token");
        let r = home.resolve(Resolver::new().profile("acme")).unwrap();
        assert_eq!(token_of(&r), "env-token");
    }

    #[test]
    fn xdg_config_home_is_where_the_file_is_when_absolute() {
        let home = Home::new().file("xdg/codeocean/config.toml", TWO, 0o600);
        let xdg = home.path("xdg");
        let home = home.var("XDG_CONFIG_HOME", xdg.clone());
        let r = home.resolve(Resolver::new()).unwrap();
        assert_eq!(
            r.config_file(),
            Some(xdg.join("codeocean/config.toml").as_path())
        );
        assert_eq!(r.profile(), Some("acme"));
        // A relative XDG_CONFIG_HOME is ignored, as the specification says.
        let home = home.var("XDG_CONFIG_HOME", "relative");
        let r = home.resolve(Resolver::new()).unwrap();
        assert_eq!(r.config_file(), Some(home.path(CONFIG).as_path()));
        assert_eq!(r.profile(), None);
    }

    #[test]
    fn credentials_json_only_when_nothing_else_configures() {
        let creds = r#"{"domain": "https://legacy.codeocean.com", "token": "legacy"}"#;
        let home = Home::new().file(CREDENTIALS, creds, 0o600);
        let r = home.resolve(Resolver::new()).unwrap();
        assert_eq!(r.domain(), Some("https://legacy.codeocean.com"));
        assert_eq!(token_of(&r), "legacy");
        assert_eq!(
            r.token_source(),
            Some(&Source::Credentials(home.path(CREDENTIALS)))
        );
        // An environment variable means the user configures by hand: not mixed with it.
        let home = home.var(DOMAIN_ENV, "env.example");
        let r = home.resolve(Resolver::new()).unwrap();
        assert_eq!(r.token_source(), None);
        let e = r.builder().unwrap_err().to_string();
        assert!(e.contains("no token: set CODEOCEAN_TOKEN"), "{e}");
        // A profile chosen by the file's default wins over it too.
        let home = Home::new()
            .file(CREDENTIALS, creds, 0o600)
            .file(CONFIG, TWO, 0o600);
        let r = home.resolve(Resolver::new()).unwrap();
        assert_eq!(r.domain(), Some("acme.codeocean.com"));
    }

    #[cfg(unix)]
    #[test]
    fn files_with_a_token_that_others_may_read_are_refused() {
        let home = Home::new().file(CONFIG, TWO, 0o644);
        let e = home.resolve(Resolver::new()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        let path = home.path(CONFIG).display().to_string();
        assert!(
            e.to_string().contains(&format!(
                "others may read it (mode 644); make it private: chmod 600 {path}"
            )),
            "{e}"
        );
        // A file with token_command only holds no secret.
        let home = Home::new().file(
            CONFIG,
            "[profiles.a]\ndomain = \"a.example\"\ntoken_command = \"echo t\"\n",
            0o644,
        );
        let r = home.resolve(Resolver::new().profile("a")).unwrap();
        assert_eq!(r.domain(), Some("a.example"));
        let home = Home::new().file(CREDENTIALS, r#"{"domain":"d","token":"t"}"#, 0o640);
        let e = home.resolve(Resolver::new()).unwrap_err().to_string();
        assert!(e.contains("chmod 600"), "{e}");
    }

    #[test]
    fn mistakes_in_the_file_or_the_name_are_errors() {
        let home = Home::new().file(CONFIG, TWO, 0o600);
        let e = home.resolve(Resolver::new().profile("nope")).unwrap_err();
        assert!(
            e.to_string().contains("no profile `nope` in")
                && e.to_string().contains("`acme`, `other`"),
            "{e}"
        );
        let e = Home::new()
            .resolve(Resolver::new().profile("x"))
            .unwrap_err();
        assert!(
            e.to_string().contains("there is no configuration file"),
            "{e}"
        );
        for (text, says) in [
            ("default = [", "line 1"),
            ("[profiles.a]\ntokne = \"x\"\n", "unknown key `tokne`"),
            (
                "[profiles.a]\ntoken = \"x\"\ntoken_command = \"y\"\n",
                "keep one",
            ),
            (
                "default = \"b\"\n[profiles.a]\ndomain = \"x\"\n",
                "no profile `b` (its `default`)",
            ),
            ("[profiles.a]\ndomain = 3\n", "`domain` must be a string"),
        ] {
            let home = Home::new().file(CONFIG, text, 0o600);
            let e = home.resolve(Resolver::new()).unwrap_err().to_string();
            assert!(e.contains(says), "{text:?}: {e}");
        }
    }

    #[test]
    fn a_failing_token_command_names_the_profile_not_its_output() {
        let home = Home::new().file(
            CONFIG,
            "[profiles.p]\ndomain = \"p.example\"\ntoken_command = \"echo secret-ish; exit 3\"\n",
            0o600,
        );
        let r = home.resolve(Resolver::new().profile("p")).unwrap();
        let e = r.builder().unwrap_err().to_string();
        assert!(e.contains("token_command of profile `p`"), "{e}");
        assert!(e.contains("failed"), "{e}");
        assert!(!e.contains("secret-ish"), "{e}");
        let home = Home::new().file(
            CONFIG,
            "[profiles.p]\ndomain = \"p.example\"\ntoken_command = \"true\"\n",
            0o600,
        );
        let e = home
            .resolve(Resolver::new().profile("p"))
            .unwrap()
            .builder()
            .unwrap_err()
            .to_string();
        assert!(e.contains("printed no token"), "{e}");
    }

    #[test]
    fn nothing_configured_says_what_to_set() {
        let r = Home::new().resolve(Resolver::new()).unwrap();
        let e = r.builder().unwrap_err().to_string();
        assert!(
            e.contains("no domain: set CODEOCEAN_DOMAIN, choose a profile of"),
            "{e}"
        );
        assert!(e.contains("credentials.json"), "{e}");
        let debug = format!("{:?}", Resolver::new().token("sekrit"));
        assert!(!debug.contains("sekrit"), "{debug}");
    }
}
