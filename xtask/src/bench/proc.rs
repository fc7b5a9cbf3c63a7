//! Child processes: the simulator (in its own process, steered through its admin routes with
//! curl) and the timed tools (wall time around spawn and wait, peak RSS from GNU time).

use std::ffi::OsString;
use std::io::{BufRead as _, BufReader};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use serde_json::Value;

/// GNU time, which reports the peak RSS (`%M`, KiB) of the command it runs.
const GNU_TIME: &str = "/usr/bin/time";

/// A `codeocean-sim` process, killed when dropped.
pub(crate) struct Sim {
    child: Child,
    /// The API origin (`http://127.0.0.1:PORT`, or `https://` with `--tls`).
    pub(crate) origin: String,
    /// The token clients must send.
    pub(crate) token: String,
    /// The CA certificate the simulator wrote (`--tls`: the fourth line of its banner), which
    /// clients must trust.
    pub(crate) ca_cert: Option<PathBuf>,
}

impl Sim {
    /// Starts the simulator binary with `args` and reads its origin from the first line of its
    /// banner; with `--tls` in `args`, also the CA certificate's file from the fourth.
    pub(crate) fn start(bin: &Path, token: &str, args: &[String], log: &Path) -> Result<Sim> {
        let tls = args.iter().any(|a| a == "--tls");
        let mut child = Command::new(bin)
            .args(["--port", "0", "--storage-port", "0", "--token", token])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log)?)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut out = BufReader::new(child.stdout.take().expect("piped"));
        let mut lines = Vec::new();
        for _ in 0..if tls { 4 } else { 2 } {
            let mut line = String::new();
            out.read_line(&mut line)?;
            lines.push(line);
        }
        let mut sim = Sim {
            child,
            origin: String::new(),
            token: token.to_owned(),
            ca_cert: None,
        };
        let banner = parse_banner(&lines).map_err(|e| {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            anyhow::anyhow!("{e}: {log}")
        })?;
        if tls && banner.ca_cert.is_none() {
            bail!("the simulator started with --tls printed no `CA certificate ...` line");
        }
        sim.origin = banner.origin;
        sim.ca_cert = banner.ca_cert;
        Ok(sim)
    }

    /// Runs curl against this simulator: trusting its CA when it has one.
    fn curl(&self, args: &[&str]) -> Result<String> {
        match &self.ca_cert {
            Some(ca) => {
                let ca = ca.to_string_lossy();
                let mut all = vec!["--cacert", &ca];
                all.extend_from_slice(args);
                curl(&all)
            }
            None => curl(args),
        }
    }

    /// Forgets the request counts (and the connection counts with them).
    pub(crate) fn clear(&self) -> Result<()> {
        self.curl(&["-X", "DELETE", &format!("{}/__sim/requests", self.origin)])?;
        Ok(())
    }

    /// `/__sim/stats` since the last [`Sim::clear`].
    pub(crate) fn stats(&self) -> Result<Value> {
        self.admin("/stats")
    }

    /// Requests per operation since the last [`Sim::clear`].
    pub(crate) fn counts(&self) -> Result<Vec<(String, u64)>> {
        counts(&self.stats()?)
    }

    /// The JSON answer of an admin route (`path` after `/__sim`).
    pub(crate) fn admin(&self, path: &str) -> Result<Value> {
        let body = self.curl(&[&format!("{}/__sim{path}", self.origin)])?;
        serde_json::from_str(&body).with_context(|| format!("/__sim{path} answered {body:.200}"))
    }

    /// The environment a client of this simulator needs: its origin and token, and over TLS
    /// `CODEOCEAN_CA_CERT` (read by the CLI and by `Client::from_env`).
    pub(crate) fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("CODEOCEAN_DOMAIN".into(), self.origin.clone()),
            ("CODEOCEAN_TOKEN".into(), self.token.clone()),
        ];
        if let Some(ca) = &self.ca_cert {
            env.push(("CODEOCEAN_CA_CERT".into(), ca.display().to_string()));
        }
        env
    }
}

/// Requests per operation of a `/__sim/stats` answer.
pub(crate) fn counts(stats: &Value) -> Result<Vec<(String, u64)>> {
    let counts = stats["counts"]
        .as_object()
        .context("stats without counts")?;
    Ok(counts
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
        .collect())
}

/// What the first lines the simulator prints say.
#[derive(Debug, PartialEq)]
struct Banner {
    origin: String,
    ca_cert: Option<PathBuf>,
}

/// Reads the simulator's banner: `listening on ORIGIN`, `storage on ...`, then (TLS) the API
/// base line and `CA certificate PATH`.
fn parse_banner(lines: &[String]) -> Result<Banner> {
    let line = |i: usize| {
        lines
            .get(i)
            .map_or("", |l| l.trim_end_matches(['\r', '\n']))
    };
    let Some(origin) = line(0).strip_prefix("listening on ") else {
        bail!(
            "the simulator printed {:?} instead of `listening on ...`",
            line(0)
        );
    };
    if !line(1).starts_with("storage on ") {
        bail!(
            "the simulator printed {:?} instead of `storage on ...`",
            line(1)
        );
    }
    let ca_cert = match lines.get(3) {
        None => None,
        Some(_) => {
            let Some(path) = line(3).strip_prefix("CA certificate ") else {
                bail!(
                    "the simulator printed {:?} instead of `CA certificate PATH`",
                    line(3)
                );
            };
            Some(PathBuf::from(path))
        }
    };
    Ok(Banner {
        origin: origin.to_owned(),
        ca_cert,
    })
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs curl with `args` (silent, failing on HTTP errors); its stdout.
pub(crate) fn curl(args: &[&str]) -> Result<String> {
    output(Command::new("curl").args(["-sS", "--fail"]).args(args))
}

/// Runs a command to completion; its stdout, or an error with its stderr.
pub(crate) fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {:?}", cmd.get_program()))?;
    if !out.status.success() {
        bail!(
            "{:?} failed ({}): {}",
            cmd.get_program(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A command to time.
#[derive(Clone, Debug)]
pub(crate) struct Tool {
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<OsString>,
    pub(crate) env: Vec<(String, String)>,
}

impl Tool {
    pub(crate) fn new(program: impl Into<PathBuf>) -> Self {
        Tool {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    pub(crate) fn arg(mut self, a: impl Into<OsString>) -> Self {
        self.args.push(a.into());
        self
    }

    pub(crate) fn envs(mut self, env: Vec<(String, String)>) -> Self {
        self.env.extend(env);
        self
    }
}

/// One timed run of a tool.
#[derive(Clone, Debug)]
pub(crate) struct Sample {
    pub(crate) secs: f64,
    /// Peak resident set size of the tool's process in KiB (`None` without GNU time).
    pub(crate) rss_kib: Option<u64>,
}

/// Whether peak RSS can be measured here.
pub(crate) fn have_gnu_time() -> bool {
    Command::new(GNU_TIME)
        .args(["-f", "%M", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `tool` to completion as a child: its wall time (spawn to exit, as seen from here) and its
/// peak RSS (GNU time's `%M` when available); an error when it exits unsuccessfully. Its stdout
/// goes to `stdout_file` (dropped without one), its stderr to `stderr_log`.
pub(crate) fn measure_to(
    tool: &Tool,
    rss_file: Option<&Path>,
    stdout_file: Option<&Path>,
    stderr_log: &Path,
) -> Result<Sample> {
    let (sample, failure) = measure_status(tool, rss_file, stdout_file, stderr_log, None)?;
    match failure {
        None => Ok(sample),
        Some(why) => Err(anyhow::anyhow!(why)),
    }
}

/// [`measure_to`] for a tool that may fail: its sample either way, and when it exited
/// unsuccessfully, how (its command, status and the tail of its stderr). With a `timeout`, the
/// tool runs in a process group of its own, killed (`SIGKILL`) when it is still running after
/// that long: a failure.
pub(crate) fn measure_status(
    tool: &Tool,
    rss_file: Option<&Path>,
    stdout_file: Option<&Path>,
    stderr_log: &Path,
    timeout: Option<Duration>,
) -> Result<(Sample, Option<String>)> {
    let mut cmd = match rss_file {
        Some(f) => {
            let mut c = Command::new(GNU_TIME);
            c.arg("-f").arg("%M").arg("-o").arg(f).arg(&tool.program);
            c
        }
        None => Command::new(&tool.program),
    };
    cmd.args(&tool.args)
        .envs(tool.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(match stdout_file {
            Some(f) => Stdio::from(std::fs::File::create(f)?),
            None => Stdio::null(),
        })
        .stderr(std::fs::File::create(stderr_log)?);
    if timeout.is_some() {
        // GNU time and the tool alike, killed as one.
        cmd.process_group(0);
    }
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("running {}", tool.program.display()))?;
    let watchdog = timeout.map(|t| {
        let (done, wait) = mpsc::channel::<()>();
        let group = format!("-{}", child.id());
        let watch = std::thread::spawn(move || {
            let expired = wait.recv_timeout(t) == Err(RecvTimeoutError::Timeout);
            if expired {
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &group])
                    .stderr(Stdio::null())
                    .status();
            }
            expired
        });
        (done, watch, t)
    });
    let status = child.wait()?;
    let secs = started.elapsed().as_secs_f64();
    let timed_out = watchdog.and_then(|(done, watch, t)| {
        drop(done);
        watch.join().unwrap_or(false).then_some(t)
    });
    let failure = (!status.success()).then(|| {
        let err = std::fs::read_to_string(stderr_log).unwrap_or_default();
        let tail: Vec<&str> = err.lines().rev().take(15).collect();
        let how = match timed_out {
            Some(t) => format!("killed after a timeout of {} s", t.as_secs()),
            None => status.to_string(),
        };
        format!(
            "{} {:?} failed ({how}):\n{}",
            tool.program.display(),
            tool.args,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    });
    // GNU time writes the peak RSS of a command that failed too (after a line on its status).
    let rss_kib = match rss_file {
        Some(f) => std::fs::read_to_string(f).ok().and_then(|t| {
            t.lines()
                .filter_map(|l| l.trim().parse::<u64>().ok())
                .next_back()
        }),
        None => None,
    };
    Ok((Sample { secs, rss_kib }, failure))
}

/// Files under `dir` and their total size (to check that a tool downloaded everything), not
/// counting the state folder `codeocean` keeps in a destination (`.codeocean-download`).
pub(crate) fn tree_totals(dir: &Path) -> Result<(u64, u64)> {
    let mut files = 0;
    let mut bytes = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let entry = entry?;
            if d == dir && entry.file_name() == ".codeocean-download" {
                continue;
            }
            let meta = entry.metadata()?;
            if meta.is_dir() {
                pending.push(entry.path());
            } else {
                files += 1;
                bytes += meta.len();
            }
        }
    }
    Ok((files, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.split_inclusive('\n').map(str::to_owned).collect()
    }

    #[test]
    fn the_banner_gives_the_origin_and_over_tls_the_ca_file() {
        let plain = parse_banner(&lines(
            "listening on http://127.0.0.1:40123\nstorage on http://127.0.0.1:40124\n",
        ))
        .unwrap();
        assert_eq!(
            plain,
            Banner {
                origin: "http://127.0.0.1:40123".into(),
                ca_cert: None
            }
        );
        let tls = parse_banner(&lines(
            "listening on https://127.0.0.1:40123\n\
             storage on https://127.0.0.1:40124\n\
             API base https://127.0.0.1:40123/api/v1 (admin: https://127.0.0.1:40123/__sim/stats)\n\
             CA certificate /tmp/codeocean-sim-40123-ca.pem\n",
        ))
        .unwrap();
        assert_eq!(
            tls,
            Banner {
                origin: "https://127.0.0.1:40123".into(),
                ca_cert: Some("/tmp/codeocean-sim-40123-ca.pem".into())
            }
        );
    }

    /// A tool that outlives its timeout is killed with its children (GNU time's when there is
    /// one), and reported as failed; one that ends in time is not.
    #[test]
    fn a_timeout_kills_the_tool_and_says_so() {
        let dir = std::env::temp_dir().join(format!("xtask-timeout-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("stderr");
        let rss = have_gnu_time().then(|| dir.join("rss"));
        let sleeper = Tool::new("sh").arg("-c").arg("sleep 30; echo late");
        let (_, failure) = measure_status(
            &sleeper,
            rss.as_deref(),
            None,
            &log,
            Some(Duration::from_millis(300)),
        )
        .unwrap();
        let failure = failure.expect("killed");
        assert!(
            failure.contains("killed after a timeout of 0 s"),
            "{failure}"
        );
        let quick = Tool::new("true");
        let (_, failure) = measure_status(
            &quick,
            rss.as_deref(),
            None,
            &log,
            Some(Duration::from_secs(60)),
        )
        .unwrap();
        assert_eq!(failure, None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_banner_of_another_shape_is_refused_with_what_it_said() {
        let e = parse_banner(&lines("error: --tls-cert needs --tls-key\n")).unwrap_err();
        assert!(
            e.to_string()
                .contains("\"error: --tls-cert needs --tls-key\" instead of `listening on"),
            "{e}"
        );
        let e = parse_banner(&lines(
            "listening on https://127.0.0.1:1\nstorage on https://127.0.0.1:2\nAPI base x\n\n",
        ))
        .unwrap_err();
        assert!(
            e.to_string().contains("instead of `CA certificate PATH`"),
            "{e}"
        );
    }
}
