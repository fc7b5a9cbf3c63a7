//! `codeocean sim`: the bundled simulator in the foreground.

use codeocean_sim::Simulator;
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
    let config = args.config().map_err(|e| {
        anyhow::Error::msg(e.replace(
            "CODEOCEAN_SIM_TOKEN",
            "CODEOCEAN_SIM_TOKEN or CODEOCEAN_TOKEN",
        ))
    })?;
    let sim = Simulator::start(config).map_err(|e| anyhow::anyhow!("cannot start: {e}"))?;
    output::print(&format!(
        "listening on {}\nstorage on {}\nAPI base {} (admin: {}/__sim/stats)\n",
        sim.origin(),
        sim.storage_origin(),
        sim.api_url(),
        sim.origin()
    ))?;
    // The simulator's own token (chosen by whoever started it), so the hint can be pasted.
    ctx.note(format!(
        "export CODEOCEAN_DOMAIN={} CODEOCEAN_TOKEN={}",
        sim.origin(),
        sim.token()
    ));
    ctx.note("serving until Ctrl-C");
    tokio::signal::ctrl_c().await?;
    drop(sim);
    Ok(())
}
