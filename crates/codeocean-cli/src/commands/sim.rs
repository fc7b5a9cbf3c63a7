//! `codeocean sim`: the bundled simulator in the foreground.

use codeocean_sim::cli::Args;

use crate::cli::SimArgs;

use crate::{Ctx, output};

/// The token: --token, else CODEOCEAN_SIM_TOKEN, else CODEOCEAN_TOKEN (what the other commands
/// read, so one `export` serves both sides).
const TOKEN_HELP: &str = "The API token clients must send (HTTP Basic user name): --token, else \
    CODEOCEAN_SIM_TOKEN, else CODEOCEAN_TOKEN; needed to serve, not for --print-builtin";

/// `codeocean sim --help`: the simulator's options only (the global ones do not apply).
fn help() -> String {
    use clap::CommandFactory as _;
    Args::command()
        .name("sim")
        .bin_name("codeocean sim")
        .about("Start the bundled local Code Ocean server in the foreground.")
        .long_about(None)
        .max_term_width(100)
        .disable_version_flag(true)
        .mut_arg("token", |a| a.help(TOKEN_HELP))
        .render_help()
        .to_string()
}

/// Serves until Ctrl-C.
pub(crate) async fn sim(ctx: &Ctx, args: SimArgs) -> anyhow::Result<()> {
    if args.help {
        return output::print(&help());
    }
    let mut args = args.args;
    if args.token.as_deref().is_none_or(str::is_empty) {
        args.token = std::env::var("CODEOCEAN_TOKEN").ok();
    }
    if args.print_builtin {
        return output::print(&Args::builtin_yaml());
    }
    // The options checked, the simulator started and its CA (with --tls) written, as
    // `codeocean-sim` does.
    let sim = args.start().map_err(|e| {
        anyhow::Error::msg(e.replace(
            "CODEOCEAN_SIM_TOKEN",
            "CODEOCEAN_SIM_TOKEN or CODEOCEAN_TOKEN",
        ))
    })?;
    output::print(&with_newline(sim.banner()))?;
    ctx.note(export_hint(
        sim.origin(),
        sim.token(),
        sim.ca_certificate_path(),
    ));
    ctx.note("serving until Ctrl-C");
    tokio::signal::ctrl_c().await?;
    drop(sim);
    Ok(())
}

/// The banner as lines, each ending with a line break.
fn with_newline(mut text: String) -> String {
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// The line to paste into another shell: the simulator's own origin and token (chosen by
/// whoever started it), and over TLS the CA file to trust.
fn export_hint(origin: &str, token: &str, ca: Option<&std::path::Path>) -> String {
    let mut line = format!("export CODEOCEAN_DOMAIN={origin} CODEOCEAN_TOKEN={token}");
    if let Some(ca) = ca {
        line.push_str(&format!(
            " CODEOCEAN_CA_CERT={}",
            super::shell_word(&ca.display().to_string())
        ));
    }
    line
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_export_hint_names_the_ca_file_only_over_tls() {
        assert_eq!(
            super::export_hint("http://127.0.0.1:4000", "t", None),
            "export CODEOCEAN_DOMAIN=http://127.0.0.1:4000 CODEOCEAN_TOKEN=t"
        );
        assert_eq!(
            super::export_hint(
                "https://127.0.0.1:4000",
                "t",
                Some(std::path::Path::new("/tmp/codeocean-sim-4000-ca.pem"))
            ),
            "export CODEOCEAN_DOMAIN=https://127.0.0.1:4000 CODEOCEAN_TOKEN=t \
             CODEOCEAN_CA_CERT=/tmp/codeocean-sim-4000-ca.pem"
        );
        assert_eq!(
            super::export_hint("o", "t", Some(std::path::Path::new("/tmp/my dir/it's.pem"))),
            r"export CODEOCEAN_DOMAIN=o CODEOCEAN_TOKEN=t CODEOCEAN_CA_CERT='/tmp/my dir/it'\''s.pem'"
        );
    }
}
