//! `codeocean`: the Code Ocean REST API from the shell.
//!
//! Runs capsules and pipelines (from flags, a request file, or a resumable JSON Lines batch),
//! waits for them with progress, lists and downloads their results, turns results into data
//! assets, and bundles a local server (`codeocean sim`) and an end-to-end `codeocean demo`.
//! Built on the `codeocean` crate only: every request goes through its retries, waiters and
//! safe downloads.
//!
//! Output: tables on stdout by default, or with `--json` one JSON document about one object
//! (JSON Lines for lists: `ls`, searches, `computations`, `batch`); logs, progress and errors on
//! stderr. Exit codes:
//! 0 success, 1 error, 2 usage, 3 the awaited run, data asset or release failed or was stopped,
//! 4 waiting timed out, 130 interrupted.

// Stdout is written in one place, `output::write`, so a closed pipe ends the command quietly.
#![deny(clippy::print_stdout)]

mod cli;
mod commands;
mod confirm;
mod journal;
mod jq;
mod output;
mod progress;
mod request;

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::time::Duration;

use codeocean::{Client, PollPolicy};

use crate::cli::Cli;

/// An error that ends the command with a particular exit code (its message is already shown,
/// or is shown as usual when not empty).
#[derive(Debug)]
pub(crate) struct Exit {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

/// Exit code: a usage mistake (clap's own, and the checks made before anything is sent).
pub(crate) const EXIT_USAGE: u8 = 2;
/// Exit code: the awaited run, data asset or release finished without succeeding.
pub(crate) const EXIT_FAILED: u8 = 3;
/// Exit code: waiting gave up.
pub(crate) const EXIT_TIMEOUT: u8 = 4;
/// Exit code: interrupted by Ctrl-C.
pub(crate) const EXIT_INTERRUPTED: u8 = 130;

/// A usage mistake found after parsing (a bad request or batch file, a missing `--yes`): exit 2.
pub(crate) fn usage_error(message: impl Into<String>) -> anyhow::Error {
    Exit {
        code: EXIT_USAGE,
        message: message.into(),
    }
    .into()
}

/// What every command gets: global options and how to reach the server.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub(crate) json: bool,
    pub(crate) quiet: bool,
    /// Whether progress bars can be drawn (stderr is a terminal and not quiet).
    pub(crate) fancy: bool,
    /// `--domain`, when given as a flag (`CODEOCEAN_DOMAIN` is read by the library).
    pub(crate) domain: Option<String>,
    /// `--token`, when given as a flag.
    token: Option<String>,
    /// `--profile` or `CODEOCEAN_PROFILE`.
    pub(crate) profile: Option<String>,
    /// Whether `--profile` was a flag (not `CODEOCEAN_PROFILE`).
    pub(crate) profile_from_flag: bool,
    poll_interval: Duration,
    /// `--request-timeout`: the total per API call, and per file without progress.
    request_timeout: Option<Duration>,
    /// `--max-depth`/`--max-entries` of a tree command (defaults elsewhere).
    pub(crate) walk: codeocean::WalkLimits,
    /// Extra CA certificates to trust: `--ca-cert` files, or `CODEOCEAN_CA_CERT`'s.
    ca_certs: CaCerts,
    /// `--http2`: HTTP/2 with servers that offer it over TLS (HTTP/1.1 otherwise).
    http2: bool,
    /// `--api-concurrency`: a fixed number of API requests at once (adaptive otherwise).
    api_concurrency: Option<usize>,
}

/// The PEM files of `--ca-cert` (or the one of `CODEOCEAN_CA_CERT`), checked when a client is
/// built, so that commands making none (`sim`, `schema`) do not read them.
#[derive(Clone, Debug, Default)]
pub(crate) struct CaCerts {
    files: Vec<std::path::PathBuf>,
    /// Whether they came from `CODEOCEAN_CA_CERT` rather than the flag (for the error line).
    from_env: bool,
}

/// The start of every PEM certificate block.
const PEM_CERTIFICATE: &[u8] = b"-----BEGIN CERTIFICATE-----";

impl CaCerts {
    /// How the user gave this file, for an error line: `--ca-cert FILE` or
    /// `CODEOCEAN_CA_CERT=FILE`.
    fn given(&self, file: &std::path::Path) -> String {
        if self.from_env {
            format!("CODEOCEAN_CA_CERT={}", file.display())
        } else {
            format!("--ca-cert {}", file.display())
        }
    }

    /// Checks that each file can be read and holds a PEM certificate: a usage mistake (exit 2,
    /// one line naming the file) otherwise, found before anything is sent.
    fn check(&self) -> anyhow::Result<()> {
        for file in &self.files {
            let given = self.given(file);
            let bytes = std::fs::read(file).map_err(|e| {
                usage_error(format!("{given}: cannot read the CA certificate file: {e}"))
            })?;
            if !bytes
                .windows(PEM_CERTIFICATE.len())
                .any(|w| w == PEM_CERTIFICATE)
            {
                let hint = if bytes.first() == Some(&0x30) {
                    " (it looks like DER: convert it with `openssl x509 -inform der -in FILE -out FILE.pem`)"
                } else {
                    ""
                };
                return Err(usage_error(format!(
                    "{given}: no PEM certificate in it (expected a `{}` block){hint}",
                    String::from_utf8_lossy(PEM_CERTIFICATE)
                )));
            }
        }
        Ok(())
    }
}

impl Ctx {
    /// How the domain and the token resolve: the flags over the library's own resolution
    /// (`codeocean::profile`: environment, profile, credentials.json).
    pub(crate) fn resolve(&self) -> anyhow::Result<codeocean::profile::Resolution> {
        let mut resolver = codeocean::profile::Resolver::new();
        if let Some(p) = &self.profile {
            resolver = resolver.profile(p);
        }
        if let Some(d) = &self.domain {
            resolver = resolver.domain(d);
        }
        if let Some(t) = &self.token {
            resolver = resolver.token(t);
        }
        Ok(resolver.resolve()?)
    }

    /// A client for the configured deployment, or a one-line error naming what to set.
    pub(crate) fn client(&self) -> anyhow::Result<Client> {
        let resolved = self.resolve()?;
        let missing = |what: &str, flag: &str, var: &str| match resolved.profile() {
            Some(p) => {
                anyhow::anyhow!("no {what}: profile `{p}` has none; pass --{flag} or set {var}")
            }
            None => anyhow::anyhow!(
                "no {what}: pass --{flag}, set {var}, or configure a profile (`codeocean config \
                 show` says where)"
            ),
        };
        if resolved.domain().is_none() {
            return Err(missing("domain", "domain", "CODEOCEAN_DOMAIN"));
        }
        if resolved.token_source().is_none() {
            return Err(missing("token", "token", "CODEOCEAN_TOKEN"));
        }
        let builder = resolved.builder()?;
        self.configure(builder, None)
    }

    /// A client for this domain and token with the command line's settings, also trusting
    /// the CA certificates in `extra_pem` (the demo's in-process simulator's).
    #[cfg(any(feature = "sim", feature = "mcp"))]
    pub(crate) fn client_trusting(
        &self,
        domain: &str,
        token: &str,
        extra_pem: Option<&str>,
    ) -> anyhow::Result<Client> {
        self.configure(Client::builder().domain(domain).token(token), extra_pem)
    }

    /// The client of `builder` (which has its domain and token) with the command line's
    /// polling, timeout and TLS settings.
    fn configure(
        &self,
        mut builder: codeocean::ClientBuilder,
        extra_pem: Option<&str>,
    ) -> anyhow::Result<Client> {
        if let Some(t) = self.request_timeout {
            builder = builder.request_timeout(t);
        }
        self.ca_certs.check()?;
        for file in &self.ca_certs.files {
            builder = builder.add_root_certificates_file(file.clone());
        }
        if let Some(pem) = extra_pem {
            builder = builder.add_root_certificates(pem.as_bytes().to_vec());
        }
        if self.http2 {
            builder = builder.http2(true);
        }
        if let Some(n) = self.api_concurrency {
            builder = builder.api_concurrency(n);
        }
        let client = builder
            .user_agent(concat!("codeocean-cli/", env!("CARGO_PKG_VERSION")))
            .poll_policy(self.poll())
            .build()?;
        Ok(client)
    }

    /// The polling policy of the client (`--poll-interval`); a wait's `--timeout` is set on
    /// the wait itself.
    pub(crate) fn poll(&self) -> PollPolicy {
        let default = PollPolicy::default();
        let max_interval = default.max_interval.max(self.poll_interval);
        default
            .initial_interval(self.poll_interval)
            .max_interval(max_interval)
    }

    /// A note for the user on stderr (nothing with -q).
    pub(crate) fn note(&self, msg: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{msg}");
        }
    }
}

/// The exit code an error deserves.
fn exit_code(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if let Some(exit) = cause.downcast_ref::<Exit>() {
            return exit.code;
        }
        if let Some(ce) = cause.downcast_ref::<codeocean::Error>() {
            return if ce.is_job_failed() {
                EXIT_FAILED
            } else if ce.is_wait_timeout() {
                EXIT_TIMEOUT
            } else {
                1
            };
        }
    }
    1
}

/// Whether stderr gets ANSI colours: only on a terminal, and never when `NO_COLOR` is set to
/// anything but the empty string (<https://no-color.org>).
fn stderr_colours(stderr_is_terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Log lines on stderr: a level and the message, no timestamps; WARN by default (only ERROR
/// with -q), the library's INFO events (one per API request) with -v, DEBUG with -vv. Other
/// crates' logs stay at WARN, and the certificate verifier's are off below -vv.
fn init_logging(verbose: u8, quiet: bool) {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let level = match (quiet, verbose) {
        (true, _) => tracing::Level::ERROR,
        (false, 0) => tracing::Level::WARN,
        (false, 1) => tracing::Level::INFO,
        _ => tracing::Level::DEBUG,
    };
    // The platform verifier logs each refused certificate at ERROR, once per try, before the
    // library's own error line says the same with the fix; it shows with -vv only.
    let verifier = if verbose >= 2 {
        tracing_subscriber::filter::LevelFilter::from_level(level)
    } else {
        tracing_subscriber::filter::LevelFilter::OFF
    };
    let targets = tracing_subscriber::filter::Targets::new()
        .with_default(tracing::Level::WARN.min(level))
        .with_target("codeocean", level)
        .with_target("codeocean_sim", level)
        .with_target("rustls_platform_verifier", verifier);
    let colours = stderr_colours(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR"),
    );
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .without_time()
                .with_target(false)
                .with_ansi(colours),
        )
        .with(targets)
        .init();
}

fn main() -> ExitCode {
    use clap::{CommandFactory as _, FromArgMatches as _};
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let ca_certs = CaCerts {
        from_env: matches.value_source("ca_certs") == Some(clap::parser::ValueSource::EnvVariable),
        files: cli.ca_certs,
    };
    init_logging(cli.verbose, cli.quiet);
    // A bad expression is a usage mistake, found before anything is sent.
    if let Some(expr) = &cli.jq
        && let Err(e) = jq::set(expr)
    {
        eprintln!("error: {}", shown(&e.to_string()));
        return ExitCode::from(EXIT_USAGE);
    }
    output::set_table_width(output::table_width(
        cli.wide,
        std::env::var("COLUMNS").ok().as_deref(),
    ));
    // The environment's domain and token are the library's to read (and to name as sources).
    let flag = |id: &str| matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine);
    let ctx = Ctx {
        json: cli.json || cli.jq.is_some(),
        quiet: cli.quiet,
        fancy: !cli.quiet && std::io::stderr().is_terminal(),
        domain: cli.domain.filter(|_| flag("domain")),
        token: cli.token.filter(|_| flag("token")),
        profile_from_flag: flag("profile"),
        profile: cli.profile,
        poll_interval: cli.poll_interval,
        request_timeout: cli.request_timeout,
        walk: cli.command.walk_caps().limits(),
        ca_certs,
        http2: cli.http2,
        api_concurrency: cli.api_concurrency,
    };
    let verbose = cli.verbose > 0;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(commands::dispatch(&ctx, cli.command));
    // Do not wait for tasks still blocked (a walk, a stdin read) after an interruption.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of stdout has gone (`| head`): end quietly, as `ls | head` does.
        Err(e) if e.chain().any(|c| c.is::<output::StdoutClosed>()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = exit_code(&e);
            // The whole chain on one line: a library error's message is its own layer only
            // (its causes, such as the connection refused, are its sources).
            let message = in_cli_words(&chain_line(&e));
            if !message.is_empty() {
                eprintln!("error: {}", shown(&message));
            }
            if verbose {
                for cause in e.chain().skip(1) {
                    eprintln!("  caused by: {}", shown(&cause.to_string()));
                }
            }
            ExitCode::from(code)
        }
    }
}

/// An error and its causes on one line, `error: cause: cause` (anyhow's `{:#}`), with a cause
/// the line already ends with left out.
fn chain_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || line.ends_with(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// An error line in the command line's words: the library's advice to trust a private CA names
/// its environment variable first and the flag in parentheses; here the flag comes first.
fn in_cli_words(line: &str) -> String {
    line.replace(
        &format!(
            "{}=<file.pem> (the CLI's --ca-cert)",
            codeocean::CA_CERT_ENV
        ),
        &format!("--ca-cert FILE (or {}=FILE)", codeocean::CA_CERT_ENV),
    )
}

/// A library error with its causes, on one line ([`codeocean::DisplayErrorContext`]).
pub(crate) fn full(e: &codeocean::Error) -> String {
    in_cli_words(&codeocean::DisplayErrorContext(e).to_string())
}

/// An error message as the terminal may show it: it quotes server text (a file name, an error
/// page), so control characters are escaped line by line ([`output::printable`]), while the
/// message's own line breaks stay.
fn shown(message: &str) -> String {
    message
        .split('\n')
        .map(output::printable)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::stderr_colours;

    #[test]
    fn error_lines_escape_server_text_but_keep_their_line_breaks() {
        assert_eq!(
            super::shown("first, `a\u{1b}]0;owned\u{7}b`: HTTP 404\nresume with: codeocean x"),
            "first, `a\\u{1b}]0;owned\\u{7}b`: HTTP 404\nresume with: codeocean x"
        );
        assert_eq!(super::shown("plain"), "plain");
    }

    /// The error line is the whole chain, each cause once: a layer whose message already ends
    /// with its cause (as some libraries' do) does not repeat it.
    #[test]
    fn the_error_line_is_the_chain_with_each_cause_once() {
        #[derive(Debug)]
        struct Repeats(std::io::Error);
        impl std::fmt::Display for Repeats {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "sending: {}", self.0)
            }
        }
        impl std::error::Error for Repeats {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let refused = || std::io::Error::other("Connection refused (os error 111)");
        let e = anyhow::Error::new(Repeats(refused())).context("getting capsule c0ffee00-1");
        assert_eq!(
            super::chain_line(&e),
            "getting capsule c0ffee00-1: sending: Connection refused (os error 111)"
        );
        let e = anyhow::Error::new(refused()).context("writing to stdout");
        assert_eq!(
            super::chain_line(&e),
            "writing to stdout: Connection refused (os error 111)"
        );
        assert_eq!(super::chain_line(&anyhow::anyhow!("")), "");
    }

    /// The library's untrusted-CA advice, in the CLI's words; other lines are left alone.
    #[test]
    fn the_ca_advice_names_the_flag_first() {
        assert_eq!(
            super::in_cli_words(
                "the certificate of h is signed by a CA this machine does not trust; if h uses a \
                 private CA, trust it with CODEOCEAN_CA_CERT=<file.pem> (the CLI's --ca-cert) or \
                 the system's trust store"
            ),
            "the certificate of h is signed by a CA this machine does not trust; if h uses a \
             private CA, trust it with --ca-cert FILE (or CODEOCEAN_CA_CERT=FILE) or the \
             system's trust store"
        );
        assert_eq!(super::in_cli_words("HTTP 404"), "HTTP 404");
    }

    #[test]
    fn colours_only_on_a_terminal_without_no_color() {
        assert!(stderr_colours(true, None));
        assert!(stderr_colours(true, Some("".into())));
        assert!(!stderr_colours(true, Some("1".into())));
        assert!(!stderr_colours(false, None));
    }
}
