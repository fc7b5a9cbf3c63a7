//! `codeocean config show`: where the domain and the token come from.

use codeocean::profile::{Resolution, Source};
use serde::Serialize;

use crate::Ctx;
use crate::cli::ConfigCmd;
use crate::output;

/// One setting as shown: its value (the token's redacted) and where it came from.
#[derive(Serialize)]
struct Setting {
    value: String,
    source: String,
}

/// What `config show --json` prints.
#[derive(Serialize)]
struct Shown {
    profile: Option<Setting>,
    domain: Option<Setting>,
    token: Option<Setting>,
    config_file: Option<String>,
    config_file_exists: bool,
    credentials_file: Option<String>,
}

/// Runs a `config` command.
pub(crate) fn config(ctx: &Ctx, cmd: ConfigCmd) -> anyhow::Result<()> {
    match cmd {
        ConfigCmd::Show => show(ctx),
    }
}

/// A source in the command line's words.
fn source(s: &Source, flag: &str) -> String {
    match s {
        Source::Given => flag.to_owned(),
        other => other.to_string(),
    }
}

fn show(ctx: &Ctx) -> anyhow::Result<()> {
    let r: Resolution = ctx.resolve()?;
    let profile = r.profile().map(|name| Setting {
        value: name.to_owned(),
        source: if ctx.profile.is_some() {
            if ctx.profile_from_flag {
                "--profile".to_owned()
            } else {
                codeocean::profile::PROFILE_ENV.to_owned()
            }
        } else {
            format!(
                "`default` of {}",
                r.config_file()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            )
        },
    });
    let domain = r.domain().zip(r.domain_source()).map(|(d, s)| Setting {
        value: d.to_owned(),
        source: source(s, "--domain"),
    });
    let token = r.token_source().map(|s| Setting {
        value: "<redacted>".to_owned(),
        source: source(s, "--token"),
    });
    let shown = Shown {
        profile,
        domain,
        token,
        config_file: r.config_file().map(|p| p.display().to_string()),
        config_file_exists: r.config_file().is_some_and(|p| p.exists()),
        credentials_file: r.credentials_file().map(|p| p.display().to_string()),
    };
    super::show(ctx, &shown, || table(&shown))
}

/// The human view: one row per setting.
fn table(s: &Shown) -> String {
    let row = |name: &str, setting: &Option<Setting>| match setting {
        Some(x) => vec![name.to_owned(), x.value.clone(), x.source.clone()],
        None => vec![name.to_owned(), "(not set)".to_owned(), String::new()],
    };
    let rows = vec![
        row("profile", &s.profile),
        row("domain", &s.domain),
        row("token", &s.token),
    ];
    let mut text = output::table(&["SETTING", "VALUE", "SOURCE"], &rows);
    let file = s
        .config_file
        .as_deref()
        .unwrap_or("(none: HOME is not set)");
    let exists = if s.config_file_exists {
        ""
    } else {
        " (not there)"
    };
    text.push_str(&format!("\nconfiguration file: {file}{exists}\n"));
    text
}
