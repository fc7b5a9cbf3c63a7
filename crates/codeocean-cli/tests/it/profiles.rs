//! Profiles: the configuration file, its precedence under the environment and the flags,
//! `token_command`, private files, `~/.codeocean/credentials.json`, `config show`.

use std::path::Path;
use std::process::Command;

use codeocean_sim::Simulator;

use crate::{BIN, OK_CAPSULE, Out, sim, trust};

/// The binary with only this home (and nothing of the environment's Code Ocean settings).
fn bare(home: &Path) -> Command {
    let mut c = crate::cmd(None);
    c.env("HOME", home);
    c
}

/// Writes `text` at `rel` under `home`, with `mode`.
fn write(home: &Path, rel: &str, text: &str, mode: u32) -> std::path::PathBuf {
    let path = home.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

const CONFIG: &str = ".config/codeocean/config.toml";

/// A configuration file: `good` (the default) reaches `sim` with its token, `bad` has the
/// wrong token, `cmd` gets the right one from a command.
fn config(sim: &Simulator) -> String {
    format!(
        "default = \"good\"\n\
         [profiles.good]\ndomain = \"{origin}\"\ntoken = \"{token}\"\n\
         [profiles.bad]\ndomain = \"{origin}\"\ntoken = \"wrong-token\"\n\
         [profiles.cmd]\ndomain = \"{origin}\"\ntoken_command = \"printf '%s\\\\n' {token}\"\n",
        origin = sim.origin(),
        token = sim.token(),
    )
}

fn get(mut c: Command, sim: &Simulator, extra: &[&str]) -> Out {
    c.args(trust(sim))
        .args(extra)
        .args(["--json", "capsule", "get", OK_CAPSULE]);
    c.output().unwrap().into()
}

#[test]
fn the_default_profile_then_env_then_flags_override_it() {
    let sim = sim();
    let home = tempfile::tempdir().unwrap();
    write(home.path(), CONFIG, &config(&sim), 0o600);
    // The file's default profile.
    let out = get(bare(home.path()), &sim, &[]);
    assert_eq!(out.code, 0, "{out:?}");
    // --profile picks another: a wrong token is refused by the server.
    let out = get(bare(home.path()), &sim, &["--profile", "bad"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("401"), "{out:?}");
    // CODEOCEAN_PROFILE does the same, and --profile beats it.
    let mut c = bare(home.path());
    c.env("CODEOCEAN_PROFILE", "bad");
    assert_eq!(get(c, &sim, &[]).code, 1);
    let mut c = bare(home.path());
    c.env("CODEOCEAN_PROFILE", "bad");
    assert_eq!(get(c, &sim, &["--profile", "good"]).code, 0);
    // CODEOCEAN_TOKEN beats the profile's token, and --token beats CODEOCEAN_TOKEN.
    let mut c = bare(home.path());
    c.env("CODEOCEAN_TOKEN", sim.token());
    let out = get(c, &sim, &["--profile", "bad"]);
    assert_eq!(out.code, 0, "{out:?}");
    let mut c = bare(home.path());
    c.env("CODEOCEAN_TOKEN", sim.token());
    let out = get(c, &sim, &["--token", "wrong-again"]);
    assert_eq!(out.code, 1, "{out:?}");
    // A profile that does not exist is an error naming the ones that do.
    let out = get(bare(home.path()), &sim, &["--profile", "nope"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("no profile `nope` in ")
            && out.stderr.contains("it has `bad`, `cmd`, `good`"),
        "{out:?}"
    );
}

#[test]
fn token_command_gives_the_token_and_its_failure_is_one_line_naming_the_profile() {
    let sim = sim();
    let home = tempfile::tempdir().unwrap();
    write(home.path(), CONFIG, &config(&sim), 0o600);
    let out = get(bare(home.path()), &sim, &["--profile", "cmd"]);
    assert_eq!(out.code, 0, "{out:?}");
    let failing = format!(
        "[profiles.f]\ndomain = \"{}\"\ntoken_command = \"echo leaked-secret; exit 7\"\n",
        sim.origin()
    );
    write(home.path(), CONFIG, &failing, 0o644);
    let out = get(bare(home.path()), &sim, &["--profile", "f"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("the token_command of profile `f` in ")
            && out
                .stderr
                .contains("failed (exit status: 7); its output is not shown"),
        "{out:?}"
    );
    assert!(!out.stderr.contains("leaked-secret"), "{out:?}");
    assert!(!out.stdout.contains("leaked-secret"), "{out:?}");
    // Nothing reached the server.
    assert_eq!(sim.stats().counts.get("get_capsule"), Some(&1));
}

#[test]
fn a_token_file_others_may_read_is_refused() {
    let sim = sim();
    let home = tempfile::tempdir().unwrap();
    let file = write(home.path(), CONFIG, &config(&sim), 0o644);
    let out = get(bare(home.path()), &sim, &[]);
    assert_eq!(out.code, 1, "{out:?}");
    let f = file.display();
    assert_eq!(
        out.stderr,
        format!(
            "error: configuring the client: {f} holds a token but others may read it (mode 644); \
             make it private: chmod 600 {f}\n"
        )
    );
    let creds = write(
        home.path(),
        ".codeocean/credentials.json",
        "{\"domain\": \"x\", \"token\": \"y\"}",
        0o604,
    );
    std::fs::remove_file(&file).unwrap();
    let out = get(bare(home.path()), &sim, &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains(&format!("chmod 600 {}", creds.display())),
        "{out:?}"
    );
    assert_eq!(sim.stats().counts.get("get_capsule"), None);
}

#[test]
fn credentials_json_is_the_fallback_when_nothing_else_configures() {
    let sim = sim();
    let home = tempfile::tempdir().unwrap();
    let creds = format!(
        "{{\"domain\": \"{}\", \"token\": \"{}\"}}",
        sim.origin(),
        sim.token()
    );
    let path = write(home.path(), ".codeocean/credentials.json", &creds, 0o600);
    let out = get(bare(home.path()), &sim, &[]);
    assert_eq!(out.code, 0, "{out:?}");
    let out: Out = bare(home.path())
        .args(["--json", "config", "show"])
        .output()
        .unwrap()
        .into();
    assert_eq!(out.code, 0, "{out:?}");
    let shown: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(shown["domain"]["source"], path.display().to_string());
    assert_eq!(shown["token"]["value"], "<redacted>");
    assert!(!out.stdout.contains(sim.token()), "{out:?}");
    // With a domain from the environment it is not mixed in: the token is missing.
    let mut c = bare(home.path());
    c.env("CODEOCEAN_DOMAIN", sim.origin());
    let out = get(c, &sim, &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("no token: pass --token, set CODEOCEAN_TOKEN, or configure a profile"),
        "{out:?}"
    );
}

#[test]
fn config_show_names_each_source_and_never_the_token() {
    let sim = sim();
    let home = tempfile::tempdir().unwrap();
    let file = write(home.path(), CONFIG, &config(&sim), 0o600);
    let f = file.display().to_string();
    let show = |c: &mut Command, extra: &[&str]| -> Out {
        c.args(extra)
            .args(["config", "show"])
            .output()
            .unwrap()
            .into()
    };
    let out = show(&mut bare(home.path()), &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        format!(
            "SETTING  VALUE{pad}  SOURCE\n\
             profile  good{pad2}  `default` of {f}\n\
             domain   {origin}  profile `good` in {f}\n\
             token    <redacted>{pad3}  profile `good` in {f}\n\
             \nconfiguration file: {f}\n",
            origin = sim.origin(),
            pad = " ".repeat(sim.origin().len() - 5),
            pad2 = " ".repeat(sim.origin().len() - 4),
            pad3 = " ".repeat(sim.origin().len() - 10),
        )
    );
    let mut c = bare(home.path());
    c.env("CODEOCEAN_TOKEN", "env-secret");
    let out = show(
        &mut c,
        &["--json", "--profile", "cmd", "--domain", "flag.example"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let shown: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(shown["profile"]["value"], "cmd");
    assert_eq!(shown["profile"]["source"], "--profile");
    assert_eq!(shown["domain"]["value"], "flag.example");
    assert_eq!(shown["domain"]["source"], "--domain");
    assert_eq!(shown["token"]["source"], "CODEOCEAN_TOKEN");
    assert_eq!(shown["config_file"], f);
    assert!(!out.stdout.contains("env-secret"), "{out:?}");
    // The command's token is not fetched to show it.
    let out = show(&mut bare(home.path()), &["--json", "--profile", "cmd"]);
    let shown: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        shown["token"]["source"],
        format!("token_command of profile `cmd` in {f}")
    );
    assert!(!out.stdout.contains(sim.token()), "{out:?}");
    // Nothing configured: every row says so.
    let empty = tempfile::tempdir().unwrap();
    let out: Out = Command::new(BIN)
        .env_clear()
        .env("HOME", empty.path())
        .args(["config", "show"])
        .output()
        .unwrap()
        .into();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("domain   (not set)"), "{out:?}");
    assert!(out.stdout.contains("(not there)"), "{out:?}");
}
