//! `codeocean demo`: the main job end to end, saying each call and what came back.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::bail;
use codeocean::{NewDataAsset, ResultItemType, RunRequest};
use codeocean_sim::{Config, Simulator, Tls};
use futures_util::StreamExt as _;
use serde_json::json;

use super::{download_results, outcome_str, summary_line, wait_asset, wait_run};
use crate::cli::DemoArgs;
use crate::request::{data_asset, key_value};
use crate::{Ctx, output};

const CAPSULE: &str = "c0ffee00-0000-4000-8000-000000000001";
const DATA_ASSET: &str = "da7a0000-0000-4000-8000-000000000001";
const STEPS: usize = 7;

/// Prints the demo's steps: on stdout, or on stderr when stdout carries JSON.
struct Narrator<'a> {
    ctx: &'a Ctx,
    step: usize,
}

impl Narrator<'_> {
    fn say(&self, text: impl std::fmt::Display) -> anyhow::Result<()> {
        if self.ctx.json {
            self.ctx.note(text);
            Ok(())
        } else {
            output::print(&format!("{text}\n"))
        }
    }

    fn step(&mut self, text: impl std::fmt::Display) -> anyhow::Result<()> {
        self.step += 1;
        self.say(format!("[{}/{STEPS}] {text}", self.step))
    }
}

/// A folder that does not exist yet: `./codeocean-demo-output`, else `-2`, `-3`...
fn fresh_dir() -> PathBuf {
    let base = PathBuf::from("codeocean-demo-output");
    (1..)
        .map(|n| match n {
            1 => base.clone(),
            n => PathBuf::from(format!("codeocean-demo-output-{n}")),
        })
        .find(|p| !p.exists())
        .expect("some name is free")
}

pub(crate) async fn demo(ctx: &Ctx, args: DemoArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut n = Narrator { ctx, step: 0 };
    // The server: the local simulator unless --remote says otherwise, and the first line says
    // which.
    let (client, sim, run) = if args.remote {
        let client = ctx.client()?;
        n.say(format!(
            "server: the remote deployment {} (--remote)",
            client.base_url()
        ))?;
        let mut run = RunRequest::capsule(args.capsule.clone().unwrap_or_default());
        for a in &args.data_assets {
            let a = data_asset(a);
            run = run.data_asset(a.id, a.mount.unwrap_or_default());
        }
        for p in &args.named_params {
            let (k, v) = key_value(p, "--named-param")?;
            run = run.named_parameter(k, v);
        }
        (client, None, run)
    } else {
        let token = "codeocean-demo";
        let sim = Simulator::start(Config {
            time_scale: args.time_scale,
            tls: args.tls.then_some(Tls::Generated),
            ..Config::new(token)
        })?;
        let ignored = if std::env::var_os("CODEOCEAN_DOMAIN").is_some() {
            "; CODEOCEAN_DOMAIN is ignored, pass --remote to use it"
        } else {
            ""
        };
        // Over TLS the client trusts the CA the simulator made (and the usual trust store).
        let over = if sim.ca_certificate_pem().is_some() {
            "over HTTPS with a CA made at start, "
        } else {
            ""
        };
        n.say(format!(
            "server: the local simulator at {} (in-process, {over}clock x{}{ignored})",
            sim.origin(),
            args.time_scale
        ))?;
        let client = ctx.client_trusting(sim.origin(), token, sim.ca_certificate_pem())?;
        let run = RunRequest::capsule(CAPSULE)
            .data_asset(DATA_ASSET, "reference")
            .named_parameter("greeting", "hello")
            .named_parameter("count", "3");
        (client, Some(sim), run)
    };
    // Locally the clock is fast: poll often.
    let fast = Ctx {
        poll_interval: if sim.is_some() {
            Duration::from_millis(100)
        } else {
            ctx.poll_interval
        },
        domain: None,
        token: None,
        ..ctx.clone()
    };
    let raw = run.as_raw();
    let capsule_id = raw.capsule_id.clone().unwrap_or_default();

    let capsule = client.get_capsule(&capsule_id).await?;
    n.step(format!(
        "GET /capsules/{capsule_id} -> \"{}\", {}",
        capsule.name.as_deref().unwrap_or("?"),
        output::count(
            capsule.versions.len() as u64,
            "released version",
            "released versions"
        )
    ))?;

    let computation = client.run(&run).await?;
    let with = raw
        .data_assets
        .iter()
        .flatten()
        .map(|a| format!("data asset {}:{}", a.id, a.mount.as_deref().unwrap_or("")))
        .chain(
            raw.named_parameters
                .iter()
                .flatten()
                .map(|p| format!("{}={}", p.param_name, p.value)),
        )
        .collect::<Vec<_>>()
        .join(", ");
    n.step(format!(
        "POST /computations (capsule {capsule_id}; {with}) -> computation {}, state {}",
        computation.id,
        computation.state.as_ref().map_or("?", |s| s.as_str())
    ))?;

    let finished = wait_run(&fast, &client, &computation.id, None).await?;
    n.step(format!(
        "GET /computations/{} until it ends -> {}, run time {}s, exit code {}",
        computation.id,
        super::objects::state(&finished.computation),
        output::opt(finished.computation.run_time),
        output::opt(finished.computation.exit_code)
    ))?;
    let done = finished.clone().into_success()?;

    let mut walk = client.walk_results(&done.id).stream();
    let mut files = Vec::new();
    let mut folders = 0;
    while let Some(item) = walk.next().await {
        let item = item?;
        match item.type_ {
            ResultItemType::File => files.push((item.path, item.size.unwrap_or(0).max(0) as u64)),
            _ => folders += 1,
        }
    }
    files.sort();
    let total: u64 = files.iter().map(|f| f.1).sum();
    n.step(format!(
        "POST /computations/{}/results for each folder -> {} in {}, {}",
        done.id,
        output::count(files.len() as u64, "file", "files"),
        output::count(folders, "folder", "folders"),
        output::bytes(total)
    ))?;

    let dir = args.to.clone().unwrap_or_else(fresh_dir);
    let summary = download_results(ctx, &client, &done.id, "", &dir, None).await?;
    n.step(format!(
        "GET results/urls + signed storage URLs -> {}",
        summary_line(&summary, &dir).trim_end()
    ))?;
    super::tree::complete(&codeocean::Tree::results(&done.id), &summary)?;

    let checked = verify(&dir, &files, sim.as_ref(), &done.id)?;
    n.step(format!(
        "verify {} -> {} the listing{}",
        dir.display(),
        match files.len() {
            1 => "1 file matches".to_owned(),
            n => format!("{n} files match"),
        },
        if checked {
            " and the server's bytes"
        } else {
            " (sizes)"
        }
    ))?;

    let asset = client
        .create_data_asset(
            &NewDataAsset::from_computation(&done.id, "Demo results", "demo-results")
                .description("Made by `codeocean demo`")
                .tag("demo"),
        )
        .await?;
    let asset = wait_asset(&fast, &client, &asset.id, None).await?;
    n.step(format!(
        "POST /data_assets from computation {} -> data asset {}, {} after polling GET /data_assets/{}",
        done.id,
        asset.id,
        asset.state.as_ref().map_or("?", |s| s.as_str()),
        asset.id
    ))?;
    let https = if client.base_url().starts_with("https://") {
        " over HTTPS"
    } else {
        ""
    };
    n.say(format!(
        "done{https} in {}: results in {}",
        output::elapsed(started.elapsed()),
        dir.display()
    ))?;
    if ctx.json {
        output::json(&json!({
            "server": if sim.is_some() { "local" } else { "remote" },
            "base_url": client.base_url(),
            "computation": done,
            "outcome": outcome_str(&finished.outcome),
            "results": {"files": files.len(), "folders": folders, "bytes": total},
            "download": super::DownloadOutput::from(&summary),
            "directory": dir,
            "verified_bytes": checked,
            "data_asset": asset,
        }))?;
    }
    Ok(())
}

/// Checks every listed file on disk: its size, and against a local simulator its bytes.
/// Returns whether the bytes were compared.
fn verify(
    dir: &Path,
    files: &[(String, u64)],
    sim: Option<&Simulator>,
    id: &str,
) -> anyhow::Result<bool> {
    for (path, size) in files {
        let local = dir.join(path);
        let got = std::fs::metadata(&local)
            .map_err(|e| anyhow::anyhow!("verifying {}: {e}", local.display()))?
            .len();
        if got != *size {
            bail!("verifying {}: {got} bytes, listed {size}", local.display());
        }
        if let Some(sim) = sim {
            let want = sim
                .result_content(id, path)
                .map(|c| c.read(0, c.size()))
                .unwrap_or_default();
            if std::fs::read(&local)? != want {
                bail!(
                    "verifying {}: the bytes differ from the server's",
                    local.display()
                );
            }
        }
    }
    Ok(sim.is_some())
}
