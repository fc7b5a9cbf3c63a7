//! `capsule|pipeline|data-asset permissions get|set`, `data-asset transfer` and
//! `custom-metadata get` against the simulator.

use std::time::Duration;

use expect_test::expect_file;

use crate::{ASSET, OK_CAPSULE, json, run, sim};

const PIPELINE: &str = "c0ffee00-0000-4000-8000-00000000000a";

#[test]
fn permissions_set_then_get_for_capsules_pipelines_and_data_assets() {
    let sim = sim();
    for (noun, id) in [
        ("capsule", OK_CAPSULE),
        ("pipeline", PIPELINE),
        ("data-asset", ASSET),
    ] {
        let out = run(
            Some(&sim),
            &[
                noun,
                "permissions",
                "set",
                id,
                "--yes",
                "--user",
                "ada@example.org=editor",
                "--user",
                "bo@example.org=viewer",
                "--group",
                "lab=discoverable",
                "--everyone",
                "viewer",
            ],
        );
        assert_eq!(out.code, 0, "{noun}: {out:?}");
        let what = noun.replace('-', " ");
        assert_eq!(
            out.stdout,
            format!("updated the permissions of {what} {id}\n")
        );
        let out = run(Some(&sim), &[noun, "permissions", "get", id]);
        assert_eq!(out.code, 0, "{noun}: {out:?}");
        assert_eq!(
            out.stdout,
            "KIND      NAME                   ROLE\n\
             user      scientist@example.org  owner\n\
             user      ada@example.org        editor\n\
             user      bo@example.org         viewer\n\
             group     lab                    discoverable\n\
             everyone                         viewer\n",
            "{noun}"
        );
        // Only what is given changes: everyone's role here.
        let out = run(
            Some(&sim),
            &[
                "--json",
                noun,
                "permissions",
                "set",
                id,
                "-y",
                "--everyone",
                "none",
            ],
        );
        assert_eq!(
            json(&out),
            serde_json::json!({"id": id, "updated": {"everyone": "none"}})
        );
        let got = json(&run(
            Some(&sim),
            &["--json", noun, "permissions", "get", id],
        ));
        assert_eq!(got["everyone"], "none", "{noun}");
        assert_eq!(got["users"].as_array().unwrap().len(), 3, "{noun}: {got}");
        assert_eq!(
            got["groups"],
            serde_json::json!([{"group": "lab", "role": "discoverable"}])
        );
    }
    let counts = sim.stats().counts;
    for op in [
        "update_capsule_permissions",
        "update_pipeline_permissions",
        "update_data_asset_permissions",
    ] {
        assert_eq!(counts.get(op), Some(&2), "{op}: {counts:?}");
    }
}

#[test]
fn permissions_set_checks_its_flags_before_sending() {
    let sim = sim();
    for args in [
        &["capsule", "permissions", "set", OK_CAPSULE][..],
        &[
            "capsule",
            "permissions",
            "set",
            OK_CAPSULE,
            "--user",
            "ada@example.org=boss",
        ],
        &[
            "capsule",
            "permissions",
            "set",
            OK_CAPSULE,
            "--user",
            "ada@example.org",
        ],
        &[
            "data-asset",
            "permissions",
            "set",
            ASSET,
            "--group",
            "lab=none",
        ],
        &[
            "pipeline",
            "permissions",
            "set",
            PIPELINE,
            "--everyone",
            "editor",
        ],
    ] {
        let out = run(Some(&sim), args);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(out.stdout.is_empty());
    }
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
    // What only the server knows is an error (exit 1): the owner stays owner.
    let out = run(
        Some(&sim),
        &[
            "capsule",
            "permissions",
            "set",
            OK_CAPSULE,
            "--yes",
            "--user",
            "scientist@example.org=viewer",
        ],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("HTTP 400"), "{out:?}");
}

#[test]
fn share_assets_shares_the_attached_data_assets() {
    let sim = sim();
    let attach = format!("{ASSET}:ref");
    let out = run(
        Some(&sim),
        &["capsule", "attach", OK_CAPSULE, "--data-asset", &attach],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let args = [
        "capsule",
        "permissions",
        "set",
        OK_CAPSULE,
        "--yes",
        "--user",
        "cy@example.org=viewer",
    ];
    let out = run(Some(&sim), &args);
    assert_eq!(out.code, 0, "{out:?}");
    let users = |sim| {
        json(&run(
            Some(sim),
            &["--json", "data-asset", "permissions", "get", ASSET],
        ))["users"]
            .to_string()
    };
    assert!(!users(&sim).contains("cy@example.org"), "not shared yet");
    let out = run(Some(&sim), &[&args[..], &["--share-assets"]].concat());
    assert_eq!(out.code, 0, "{out:?}");
    assert!(users(&sim).contains("cy@example.org"), "shared");
}

#[test]
fn data_asset_transfer_starts_a_move() {
    let sim = sim();
    let out = run(
        Some(&sim),
        &[
            "data-asset",
            "transfer",
            ASSET,
            "--yes",
            "--bucket",
            "archive",
            "--prefix",
            "2026/ref",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        format!("started transferring data asset {ASSET} to s3://archive/2026/ref\n")
    );
    sim.advance(Duration::from_secs(60));
    let asset = json(&run(Some(&sim), &["--json", "data-asset", "get", ASSET]));
    assert!(asset["last_transferred"].is_number(), "{asset}");
    assert_eq!(asset["source_bucket"]["bucket"], "archive");
    assert_eq!(asset["source_bucket"]["prefix"], "2026/ref");

    let out = run(
        Some(&sim),
        &[
            "--json",
            "data-asset",
            "transfer",
            ASSET,
            "--bucket",
            "b",
            "--endpoint",
            "minio",
            "--force",
            "--yes",
        ],
    );
    assert_eq!(
        json(&out),
        serde_json::json!({"id": ASSET, "transfer": {
            "force": true, "target": {"aws": {"bucket": "b", "endpoint_name": "minio"}}
        }})
    );
    // Refused by the server (a blank bucket): exit 1, and never sent twice.
    sim.clear_requests();
    let out = run(
        Some(&sim),
        &["data-asset", "transfer", ASSET, "--bucket", " ", "--yes"],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(sim.stats().counts.get("transfer_data_asset"), Some(&1));
}

#[test]
fn custom_metadata_get_table_and_json() {
    let sim = sim();
    let out = run(Some(&sim), &["custom-metadata", "get"]);
    assert_eq!(out.code, 0, "{out:?}");
    expect_file!["golden/custom-metadata.txt"].assert_eq(&out.stdout);
    let schema = json(&run(Some(&sim), &["--json", "custom-metadata", "get"]));
    assert_eq!(
        schema["categories"],
        serde_json::json!(["Project", "Sample", "Sequencing"])
    );
    let fields = schema["fields"].as_array().unwrap();
    assert_eq!(fields.len(), out.stdout.lines().count() - 1);
    let replicate = fields.iter().find(|f| f["name"] == "replicate").unwrap();
    assert_eq!(
        replicate["range"],
        serde_json::json!({"min": 1.0, "max": 100.0})
    );
}
