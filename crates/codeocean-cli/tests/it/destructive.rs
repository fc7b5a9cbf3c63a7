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
