//! `codeocean sim`: the bundled simulator in the foreground.

use std::io::Write as _;

use codeocean_sim::Simulator;
use codeocean_sim::cli::Args;

use crate::Ctx;

/// Serves until Ctrl-C.
pub(crate) async fn sim(ctx: &Ctx, args: Args) -> anyhow::Result<()> {
    if args.print_builtin {
        print!("{}", Args::builtin_yaml());
        return Ok(());
    }
    let config = args.config().map_err(anyhow::Error::msg)?;
    let sim = Simulator::start(config).map_err(|e| anyhow::anyhow!("cannot start: {e}"))?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}", sim.origin())?;
        writeln!(out, "storage on {}", sim.storage_origin())?;
        writeln!(
            out,
            "API base {} (admin: {}/__sim/stats)",
            sim.api_url(),
            sim.origin()
        )?;
        out.flush()?;
    }
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
