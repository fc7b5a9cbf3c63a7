//! Destructive commands need `--yes` off a terminal; `data-asset update` merges tags and custom
//! metadata, and checks values against the deployment's schema before writing.

use codeocean_sim::Simulator;

use crate::{ASSET, OK_CAPSULE, json, run, sim};

const PIPELINE: &str = "c0ffee00-0000-4000-8000-00000000000a";

fn count(sim: &Simulator, operation: &str) -> u64 {
    sim.stats().counts.get(operation).copied().unwrap_or(0)
}

#[test]
fn destructive_commands_without_a_terminal_need_yes() {
    let sim = sim();
    let id = crate::finished_run(&sim, OK_CAPSULE);
    sim.clear_requests();
    for (args, action) in [
        (
            &["computation", "delete", id.as_str()][..],
            format!("delete computation {id}"),
        ),
        (
            &["capsule", "delete", OK_CAPSULE],
            format!("delete capsule {OK_CAPSULE}"),
        ),
        (
            &["pipeline", "delete", PIPELINE],
            format!("delete pipeline {PIPELINE}"),
        ),
        (
            &["data-asset", "delete", ASSET],
            format!("delete data asset {ASSET}"),
        ),
        (
            &["data-asset", "transfer", ASSET, "--bucket", "b"],
            format!("transfer data asset {ASSET} to s3://b/"),
        ),
        (
            &[
                "capsule",
                "permissions",
                "set",
                OK_CAPSULE,
                "--everyone",
                "none",
            ],
            format!("change the permissions of capsule {OK_CAPSULE}"),
        ),
    ] {
        // (`Command::output` gives the child no terminal: stdin is closed.)
        let out = run(Some(&sim), args);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert_eq!(
            out.stderr,
            format!("error: {action}: pass --yes to confirm (there is no terminal to ask on)\n"),
            "{args:?}"
        );
        assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
    }
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
    // With --yes (or -y) they act.
    let out = run(Some(&sim), &["computation", "delete", &id, "-y"]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = run(
        Some(&sim),
        &["--json", "capsule", "delete", OK_CAPSULE, "--yes"],
    );
    assert_eq!(
        json(&out),
        serde_json::json!({"id": OK_CAPSULE, "deleted": true})
    );
    assert_eq!(
        (
            count(&sim, "delete_computation"),
            count(&sim, "delete_capsule")
        ),
        (1, 1)
    );
}

/// `data-asset update --json` with these flags; the asset after.
fn update(sim: &Simulator, flags: &[&str]) -> serde_json::Value {
    let out = run(
        Some(sim),
        &[&["--json", "data-asset", "update", ASSET][..], flags].concat(),
    );
    assert_eq!(out.code, 0, "{flags:?}: {out:?}");
    json(&out)
}

#[test]
fn update_merges_tags_and_metadata_unless_told_to_replace() {
    let sim = sim();
    // The built-in asset has the tag `input` and no custom metadata.
    let a = update(&sim, &["--tag", "genome", "--metadata", "study=atlas"]);
    assert_eq!(a["tags"], serde_json::json!(["input", "genome"]));
    assert_eq!(a["custom_metadata"], serde_json::json!({"study": "atlas"}));
    let a = update(
        &sim,
        &[
            "--tag",
            "input",
            "--tag",
            "hg38",
            "--metadata",
            "replicate=2",
        ],
    );
    assert_eq!(a["tags"], serde_json::json!(["input", "genome", "hg38"]));
    assert_eq!(
        a["custom_metadata"],
        serde_json::json!({"study": "atlas", "replicate": 2})
    );
    // Dates are read as dates; string fields keep digits as strings.
    let a = update(
        &sim,
        &[
            "--metadata",
            "collection_date=2026-05-01",
            "--metadata",
            "study=42",
        ],
    );
    assert_eq!(a["custom_metadata"]["collection_date"], 1_777_593_600);
    assert_eq!(a["custom_metadata"]["study"], "42");
    // Removing one tag and one field keeps the rest.
    let a = update(
        &sim,
        &["--remove-tag", "genome", "--remove-metadata", "study"],
    );
    assert_eq!(a["tags"], serde_json::json!(["input", "hg38"]));
    assert_eq!(
        a["custom_metadata"],
        serde_json::json!({"replicate": 2, "collection_date": 1_777_593_600})
    );
    // Replacing is explicit.
    let a = update(
        &sim,
        &[
            "--replace-tags",
            "--tag",
            "only",
            "--replace-metadata",
            "--metadata",
            "replicate=7",
        ],
    );
    assert_eq!(a["tags"], serde_json::json!(["only"]));
    assert_eq!(a["custom_metadata"], serde_json::json!({"replicate": 7}));
    let a = update(&sim, &["--replace-tags", "--replace-metadata"]);
    // (Empty lists and maps are left out of the JSON.)
    let empty = |v: &serde_json::Value| {
        v.is_null()
            || v.as_array().is_some_and(Vec::is_empty)
            || v.as_object().is_some_and(|o| o.is_empty())
    };
    assert!(empty(&a["tags"]) && empty(&a["custom_metadata"]), "{a}");
    // The replacing updates did not need to read the asset first.
    assert_eq!(count(&sim, "update_data_asset"), 6);
}

#[test]
fn metadata_is_checked_against_the_schema_before_any_write() {
    let sim = sim();
    for (flags, says) in [
        (
            &["--metadata", "replicate=abc"][..],
            "error: --metadata replicate=abc: `replicate` is a number field; \"abc\" is not a number\n",
        ),
        (
            &["--metadata", "replicate=500"],
            "error: --metadata replicate=500: `replicate` takes values from 1 to 100\n",
        ),
        (
            &["--metadata", "organism=Felis catus"],
            "error: --metadata organism=Felis catus: `organism` takes one of \"Homo sapiens\", \"Mus musculus\", \"Danio rerio\"\n",
        ),
        (
            &[
                "--metadata",
                "collection_date=soon",
                "--metadata",
                "colour=red",
            ],
            "error: 2 custom metadata values do not fit the deployment's fields:\n  \
             --metadata collection_date=soon: `collection_date` is a date field; \"soon\" is not a date (YYYY-MM-DD, RFC 3339 or Unix seconds)\n  \
             --metadata colour=red: the deployment has no custom metadata field `colour` (its fields: study, organism, tissue, replicate, collection_date, read_length; see `codeocean custom-metadata get`)\n",
        ),
    ] {
        let out = run(
            Some(&sim),
            &[&["data-asset", "update", ASSET, "--name", "X"][..], flags].concat(),
        );
        assert_eq!((out.code, out.stderr.as_str()), (2, says), "{flags:?}");
        assert!(out.stdout.is_empty());
    }
    assert_eq!(count(&sim, "update_data_asset"), 0);
    assert_eq!(count(&sim, "get_custom_metadata"), 4);
    let out = run(Some(&sim), &["data-asset", "update", ASSET]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.starts_with("error: nothing to update"),
        "{out:?}"
    );
}

/// Runs the binary with stdin and stderr on a pseudo-terminal, answers its question with
/// `answer` (`"\u{3}"`: Ctrl-C instead); (exit code, stdout, what the terminal showed).
#[cfg(target_os = "linux")]
fn on_a_terminal(sim: &Simulator, args: &[&str], answer: &str) -> (i32, String, String) {
    use std::io::{Read as _, Write as _};
    use std::sync::{Arc, Mutex};

    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};

    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let mut master = std::fs::File::from(master);
    let child = {
        let slave = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(name.to_str().unwrap())
            .unwrap();
        crate::cmd(Some(sim))
            .args(args)
            .stdin(slave.try_clone().unwrap())
            .stderr(slave)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        // (The parent's copies of the terminal's end close here, so reads end with the child.)
    };
    let shown = Arc::new(Mutex::new(String::new()));
    let reader = {
        let shown = shown.clone();
        let mut master = master.try_clone().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            while let Ok(n @ 1..) = master.read(&mut buf) {
                shown
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !shown.lock().unwrap().contains("[y/N] ") {
        assert!(
            std::time::Instant::now() < deadline,
            "no question: {shown:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    if answer == "\u{3}" {
        // Ctrl-C (the child has no controlling terminal, so the signal is sent as a shell's
        // terminal would send it).
        crate::interrupt(&child);
    } else {
        master.write_all(answer.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    reader.join().unwrap();
    let shown = shown.lock().unwrap().replace("\r\n", "\n");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        shown,
    )
}

#[cfg(target_os = "linux")]
#[test]
fn on_a_terminal_delete_asks_and_only_yes_deletes() {
    let sim = sim();
    let args = ["data-asset", "delete", ASSET];
    let (code, stdout, shown) = on_a_terminal(&sim, &args, "n\n");
    assert_eq!((code, stdout.as_str()), (1, ""), "{shown}");
    assert!(
        shown.contains(&format!("delete data asset {ASSET}? [y/N] n\n"))
            && shown.contains(&format!(
                "error: delete data asset {ASSET}: not confirmed; nothing was changed"
            )),
        "{shown}"
    );
    assert_eq!(count(&sim, "delete_data_asset"), 0);
    let (code, stdout, shown) = on_a_terminal(&sim, &args, "yes\n");
    assert_eq!(code, 0, "{shown}");
    assert_eq!(stdout, format!("deleted data asset {ASSET}\n"));
    assert_eq!(count(&sim, "delete_data_asset"), 1);
    // permissions set says what it replaces before asking.
    let (code, _, shown) = on_a_terminal(
        &sim,
        &[
            "capsule",
            "permissions",
            "set",
            OK_CAPSULE,
            "--user",
            "ada@example.org=viewer",
        ],
        "\n",
    );
    assert_eq!(code, 1, "{shown}");
    assert!(
        shown.contains(&format!(
            "The users given replace the current ones of capsule {OK_CAPSULE}.\n\
             change the permissions of capsule {OK_CAPSULE}? [y/N] "
        )),
        "{shown}"
    );
    assert_eq!(count(&sim, "update_capsule_permissions"), 0);
}

/// Ctrl-C at the question changes nothing, exits 130, and the error starts a line of its own
/// (it was written after `[y/N] `).
#[cfg(target_os = "linux")]
#[test]
fn on_a_terminal_ctrl_c_at_the_question_ends_its_line_and_changes_nothing() {
    let sim = sim();
    let (code, stdout, shown) = on_a_terminal(&sim, &["data-asset", "delete", ASSET], "\u{3}");
    assert_eq!((code, stdout.as_str()), (130, ""), "{shown}");
    assert!(
        shown.ends_with(&format!(
            "delete data asset {ASSET}? [y/N] \nerror: interrupted\n"
        )),
        "{shown:?}"
    );
    assert_eq!(count(&sim, "delete_data_asset"), 0);
}
