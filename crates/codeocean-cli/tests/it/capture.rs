//! `codeocean capture`: run, check, keep the results as a data asset; a failed run (by its
//! state, its end status or its exit code) makes no asset, a timeout stops the run, an
//! interrupted capture resumes with one run and one asset, aind-codeocean-pipeline-monitor's
//! settings file is read as it is, and legacy and modern servers are captured from alike.

use std::time::Duration;

use codeocean_sim::catalogue::{Catalogue, RunPlan};
use codeocean_sim::{ApiGeneration, Simulator};

use crate::{ASSET, FAILING_CAPSULE, OK_CAPSULE, cmd, json, run, sim, sim_with};

/// A capsule whose run takes `running` simulated seconds (50 per real second).
const SLOW_CAPSULE: &str = "c0ffee00-0000-4000-8000-0000000000f1";

/// A simulator whose catalogue also has [`SLOW_CAPSULE`], running this long.
fn sim_with_slow(running: f64) -> Simulator {
    let mut catalogue = Catalogue::builtin();
    let mut slow = catalogue.capsules[0].clone();
    slow.id = SLOW_CAPSULE.into();
    slow.name = "Slow results".into();
    slow.run = RunPlan {
        running,
        ..slow.run.clone()
    };
    catalogue.capsules.push(slow);
    sim_with(|c| c.catalogue = Some(catalogue))
}

/// How many times the simulator served this operation.
fn count(sim: &Simulator, operation: &str) -> u64 {
    sim.stats().counts.get(operation).copied().unwrap_or(0)
}

/// The moment a `{datetime}` (`%Y-%m-%d_%H-%M-%S`) at the end of `name` stands for in `zone`.
fn datetime_at_end(name: &str, zone: &str) -> jiff::Timestamp {
    let text = &name[name.len() - 19..];
    let civil = jiff::civil::DateTime::strptime("%Y-%m-%d_%H-%M-%S", text)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    civil
        .to_zoned(jiff::tz::TimeZone::get(zone).unwrap())
        .unwrap()
        .timestamp()
}

#[test]
fn a_successful_run_is_captured_named_tagged_and_shared() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("capture.state");
    let before = jiff::Timestamp::now() - Duration::from_secs(1);
    let out = run(
        Some(&sim),
        &[
            "--json",
            "capture",
            "--capsule",
            OK_CAPSULE,
            "--data-asset",
            &format!("{ASSET}:reference"),
            "--tz",
            "Asia/Kolkata",
            "--tag",
            "derived",
            "--tag",
            "qc",
            "--metadata",
            "study=capture",
            "--metadata",
            "replicate=3",
            "--share-user",
            "ada@example.com=editor",
            "--state",
            state.to_str().unwrap(),
        ],
    );
    let after = jiff::Timestamp::now() + Duration::from_secs(1);
    assert_eq!(out.code, 0, "{out:?}");
    let doc = json(&out);
    assert_eq!(doc["outcome"], "succeeded", "{doc}");
    assert_eq!(
        doc["actions"],
        serde_json::json!(["started", "captured", "permissions"])
    );
    assert_eq!(doc["computation"]["end_status"], "succeeded");
    let asset = &doc["data_asset"];
    assert_eq!(asset["state"], "ready", "{doc}");
    // {name}_{suffix}_{datetime}: the input asset's name, `processed`, the time in Kolkata.
    let name = asset["name"].as_str().unwrap();
    assert!(name.starts_with("Reference genome_processed_"), "{name}");
    let at = datetime_at_end(name, "Asia/Kolkata");
    assert!(
        before <= at && at <= after,
        "{name}: {at} not in {before}..{after}"
    );
    assert_eq!(asset["mount"], name);
    assert_eq!(asset["tags"], serde_json::json!(["derived", "qc"]));
    assert_eq!(
        asset["custom_metadata"],
        serde_json::json!({"study": "capture", "replicate": 3})
    );
    assert_eq!(
        asset["provenance"]["computation"], doc["computation"]["id"],
        "{doc}"
    );
    // Checked through the API: the asset and its permissions.
    let id = asset["id"].as_str().unwrap();
    let got = json(&run(Some(&sim), &["--json", "data-asset", "get", id]));
    assert_eq!(got["name"], name);
    let perms = json(&run(
        Some(&sim),
        &["--json", "data-asset", "permissions", "get", id],
    ));
    assert_eq!(perms["everyone"], "viewer", "{perms}");
    let users = perms["users"].as_array().unwrap();
    assert!(
        users
            .iter()
            .any(|u| u["email"] == "ada@example.com" && u["role"] == "editor"),
        "{perms}"
    );
    assert_eq!(count(&sim, "run_computation"), 1);
    assert_eq!(count(&sim, "create_data_asset"), 1);
    assert_eq!(count(&sim, "update_data_asset_permissions"), 1);

    // Run again with the same state: nothing new is started, made or changed.
    let out = run(
        Some(&sim),
        &[
            "--json",
            "capture",
            "--capsule",
            OK_CAPSULE,
            "--data-asset",
            &format!("{ASSET}:reference"),
            "--tz",
            "Asia/Kolkata",
            "--tag",
            "derived",
            "--tag",
            "qc",
            "--metadata",
            "study=capture",
            "--metadata",
            "replicate=3",
            "--share-user",
            "ada@example.com=editor",
            "--state",
            state.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let again = json(&out);
    assert_eq!(
        again["actions"],
        serde_json::json!(["resumed", "capture resumed"])
    );
    assert_eq!(again["data_asset"]["id"], id);
    assert_eq!(count(&sim, "run_computation"), 1);
    assert_eq!(count(&sim, "create_data_asset"), 1);
    assert_eq!(count(&sim, "update_data_asset_permissions"), 1);

    // Other settings with this state file are refused before anything is sent.
    let out = run(
        Some(&sim),
        &[
            "capture",
            "--capsule",
            OK_CAPSULE,
            "--tag",
            "other",
            "--state",
            state.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("belongs to a capture of other settings"),
        "{out:?}"
    );
    assert_eq!(count(&sim, "run_computation"), 1);
}

#[test]
fn without_input_data_the_name_is_the_capsules_and_the_summary_is_short() {
    let sim = sim();
    let out = run(
        Some(&sim),
        &[
            "capture",
            "--capsule",
            OK_CAPSULE,
            "--name-template",
            "{name}-{suffix}-{date}",
            "--suffix",
            "v2",
            "--everyone",
            "none",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .strftime("%Y-%m-%d")
        .to_string();
    let name = format!("Hello results-v2-{today}");
    assert!(out.stdout.contains(&format!(": {name} (ready)")), "{out:?}");
    assert!(
        out.stdout
            .ends_with("outcome: succeeded (started, captured, permissions)\n"),
        "{out:?}"
    );
    let id = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("data asset "))
        .and_then(|l| l.split(':').next())
        .unwrap()
        .to_owned();
    let perms = json(&run(
        Some(&sim),
        &["--json", "data-asset", "permissions", "get", &id],
    ));
    assert_eq!(perms["everyone"], "none", "{perms}");
}

#[test]
fn a_failed_run_exits_3_and_makes_no_asset() {
    let sim = sim();
    let out = run(
        Some(&sim),
        &[
            "--json",
            "capture",
            "--capsule",
            FAILING_CAPSULE,
            "--tag",
            "x",
        ],
    );
    assert_eq!(out.code, 3, "{out:?}");
    let doc = json(&out);
    assert_eq!(doc["outcome"], "failed");
    assert_eq!(doc["data_asset"], serde_json::Value::Null);
    assert_eq!(doc["actions"], serde_json::json!(["started"]));
    assert_eq!(doc["computation"]["end_status"], "failed");
    assert!(
        out.stderr
            .contains("failed, exit code 1: no data asset made"),
        "{out:?}"
    );
    assert_eq!(count(&sim, "create_data_asset"), 0);
}

/// A capsule whose run ends as its plan says (state, end status, exit code).
const ENDING_CAPSULE: &str = "c0ffee00-0000-4000-8000-0000000000f2";

/// Captures a run of [`ENDING_CAPSULE`] ending with this final state, end status and exit code,
/// and checks what every failed capture does: exit 3, outcome `failed`, only `started`, no data
/// asset asked for or made. Returns the `--json` document and stderr.
fn capture_of_a_run_ending(
    final_state: &str,
    end_status: &str,
    exit_code: i64,
) -> (serde_json::Value, String) {
    let mut catalogue = Catalogue::builtin();
    let mut ending = catalogue.capsules[0].clone();
    ending.id = ENDING_CAPSULE.into();
    ending.run = RunPlan {
        final_state: final_state.into(),
        end_status: end_status.into(),
        exit_code,
        ..ending.run.clone()
    };
    catalogue.capsules.push(ending);
    let sim = sim_with(|c| c.catalogue = Some(catalogue));
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("capture.state");
    let out = run(
        Some(&sim),
        &[
            "--json",
            "capture",
            "--capsule",
            ENDING_CAPSULE,
            "--name",
            "never made",
            "--state",
            state.to_str().unwrap(),
        ],
    );
    let what = format!("{final_state}/{end_status}/{exit_code}");
    assert_eq!(out.code, 3, "{what}: {out:?}");
    let doc = json(&out);
    assert_eq!(doc["outcome"], "failed", "{what}: {doc}");
    assert_eq!(doc["data_asset"], serde_json::Value::Null, "{what}");
    assert_eq!(doc["actions"], serde_json::json!(["started"]), "{what}");
    // The run ended as planned (so the case is the one named).
    assert_eq!(doc["computation"]["state"], final_state, "{what}: {doc}");
    assert_eq!(
        doc["computation"]["end_status"], end_status,
        "{what}: {doc}"
    );
    assert_eq!(doc["computation"]["exit_code"], exit_code, "{what}: {doc}");
    assert_eq!(count(&sim, "run_computation"), 1, "{what}");
    assert_eq!(count(&sim, "create_data_asset"), 0, "{what}");
    // Every data asset is listed, and none has the capture's name.
    let assets = run(Some(&sim), &["--json", "data-asset", "search"]);
    assert_eq!(assets.code, 0, "{what}: {assets:?}");
    let names: Vec<String> = assets
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["name"].to_string())
        .collect();
    assert!(!names.is_empty(), "{what}: {assets:?}");
    assert!(
        !names.iter().any(|n| n.contains("never made")),
        "{what}: {names:?}"
    );
    // Nothing about an asset was journaled either.
    let journal = std::fs::read_to_string(&state).unwrap();
    assert!(!journal.contains("capturing"), "{what}: {journal}");
    (doc, out.stderr)
}

#[test]
fn a_run_whose_state_is_failed_exits_3_and_makes_no_asset() {
    // Only the state says so: the end status and exit code would pass.
    let (doc, stderr) = capture_of_a_run_ending("failed", "succeeded", 0);
    let id = doc["computation"]["id"].as_str().unwrap();
    assert!(
        stderr.contains(&format!("computation {id} failed: no data asset made")),
        "{stderr}"
    );
}

#[test]
fn a_completed_run_with_a_nonzero_exit_code_or_a_failed_end_status_makes_no_asset() {
    // Completed and succeeded, but the exit code is not 0.
    let (doc, stderr) = capture_of_a_run_ending("completed", "succeeded", 2);
    let id = doc["computation"]["id"].as_str().unwrap();
    assert!(
        stderr.contains(&format!(
            "computation {id} failed, exit code 2: no data asset made"
        )),
        "{stderr}"
    );
    // Completed with exit code 0, but the end status is failed.
    let (doc, stderr) = capture_of_a_run_ending("completed", "failed", 0);
    let id = doc["computation"]["id"].as_str().unwrap();
    assert!(
        stderr.contains(&format!("computation {id} failed: no data asset made")),
        "{stderr}"
    );
}

#[test]
fn an_asset_that_fails_exits_3_and_a_slow_one_4() {
    // A run that succeeds without results: the asset made of them fails.
    let mut catalogue = Catalogue::builtin();
    let mut empty = catalogue.capsules[0].clone();
    empty.id = SLOW_CAPSULE.into();
    empty.run = RunPlan {
        has_results: false,
        ..empty.run.clone()
    };
    catalogue.capsules.push(empty);
    let sim = sim_with(|c| c.catalogue = Some(catalogue));
    let out = run(
        Some(&sim),
        &[
            "--json",
            "capture",
            "--capsule",
            SLOW_CAPSULE,
            "--name",
            "empty",
        ],
    );
    assert_eq!(out.code, 3, "{out:?}");
    let doc = json(&out);
    assert_eq!(doc["outcome"], "asset failed", "{doc}");
    assert_eq!(doc["actions"], serde_json::json!(["started", "captured"]));
    assert_eq!(doc["data_asset"]["state"], "failed", "{doc}");
    assert!(out.stderr.contains("has no results"), "{out:?}");
    assert_eq!(count(&sim, "update_data_asset_permissions"), 0);

    // An asset that takes longer than --asset-timeout: exit 4, resumable with the state.
    let sim = sim_with(|c| c.asset_ready_after = Duration::from_secs(3600));
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("slow.state");
    let args = [
        "--json",
        "capture",
        "--capsule",
        OK_CAPSULE,
        "--asset-timeout",
        "300ms",
        "--state",
        state.to_str().unwrap(),
    ];
    let out = run(Some(&sim), &args);
    assert_eq!(out.code, 4, "{out:?}");
    assert_eq!(json(&out)["outcome"], "asset timeout");
    assert!(
        out.stderr.contains("run the same command again to resume"),
        "{out:?}"
    );
    let out = run(Some(&sim), &args);
    assert_eq!(out.code, 4, "{out:?}");
    assert_eq!(
        json(&out)["actions"],
        serde_json::json!(["resumed", "capture resumed"])
    );
    assert_eq!(count(&sim, "run_computation"), 1);
    assert_eq!(count(&sim, "create_data_asset"), 1);
}

#[test]
fn a_timeout_with_stop_exits_4_and_stops_the_run() {
    let sim = sim_with_slow(3600.0);
    let out = run(
        Some(&sim),
        &[
            "--json",
            "capture",
            "--capsule",
            SLOW_CAPSULE,
            "--timeout",
            "500ms",
            "--stop-on-timeout",
        ],
    );
    assert_eq!(out.code, 4, "{out:?}");
    let doc = json(&out);
    assert_eq!(doc["outcome"], "timeout");
    assert_eq!(doc["actions"], serde_json::json!(["started", "stopped"]));
    assert!(out.stderr.contains("stopped computation"), "{out:?}");
    let id = doc["computation"]["id"].as_str().unwrap();
    assert_eq!(count(&sim, "delete_computation"), 1);
    let gone = run(Some(&sim), &["computation", "get", id]);
    assert_ne!(gone.code, 0, "the computation is still there: {gone:?}");
    assert_eq!(count(&sim, "create_data_asset"), 0);

    // Without --stop-on-timeout the run goes on.
    let out = run(
        Some(&sim),
        &[
            "--json",
            "capture",
            "--capsule",
            SLOW_CAPSULE,
            "--timeout",
            "300ms",
        ],
    );
    assert_eq!(out.code, 4, "{out:?}");
    let id = json(&out)["computation"]["id"].as_str().unwrap().to_owned();
    assert_eq!(count(&sim, "delete_computation"), 1);
    let still = json(&run(Some(&sim), &["--json", "computation", "get", &id]));
    assert_eq!(still["state"], "running", "{still}");
}

#[test]
fn an_interrupted_capture_resumes_with_one_run_and_one_asset() {
    // About three real seconds of running.
    let sim = sim_with_slow(150.0);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("capture.state");
    let args = [
        "capture",
        "--capsule",
        SLOW_CAPSULE,
        "--tag",
        "resumed",
        "--state",
        state.to_str().unwrap(),
    ];
    let mut child = cmd(Some(&sim))
        .args(["-q"])
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    crate::wait_for(Duration::from_secs(20), "the run was not journaled", || {
        std::fs::read_to_string(&state)
            .unwrap_or_default()
            .contains("\"step\":\"started\"")
    });
    crate::interrupt(&child);
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("run the same command again to resume the capture"),
        "{stderr}"
    );
    assert_eq!(count(&sim, "run_computation"), 1);
    assert_eq!(count(&sim, "create_data_asset"), 0);

    let out = run(Some(&sim), &[&["--json"][..], &args].concat());
    assert_eq!(out.code, 0, "{out:?}");
    let doc = json(&out);
    assert_eq!(
        doc["actions"],
        serde_json::json!(["resumed", "captured", "permissions"])
    );
    assert_eq!(doc["data_asset"]["tags"], serde_json::json!(["resumed"]));
    assert_eq!(count(&sim, "run_computation"), 1);
    assert_eq!(count(&sim, "create_data_asset"), 1);
    // Exactly one computation of the capsule, and one asset made from it.
    let runs = run(
        Some(&sim),
        &["--json", "capsule", "computations", SLOW_CAPSULE],
    );
    assert_eq!(runs.stdout.lines().count(), 1, "{runs:?}");
    let made = run(
        Some(&sim),
        &["--json", "data-asset", "search", "tag:resumed"],
    );
    assert_eq!(made.stdout.lines().count(), 1, "{made:?}");
}

/// A PipelineMonitorSettings file as `model_dump_json()` writes it: every field, null when
/// unset.
fn monitor_settings() -> serde_json::Value {
    serde_json::json!({
        "alert_url": null,
        "computation_polling_interval": 180.0,
        "computation_timeout": null,
        "data_asset_ready_polling_interval": 10.0,
        "data_asset_ready_timeout": 3600.0,
        "run_params": {
            "capsule_id": OK_CAPSULE,
            "pipeline_id": null,
            "version": null,
            "resume_run_id": null,
            "data_assets": [{"id": ASSET, "mount": "reference"}],
            "parameters": null,
            "named_parameters": [{"param_name": "greeting", "value": "hi"}],
            "processes": null,
            "nextflow_profile": null
        },
        "capture_settings": {
            "name": null,
            "tags": ["derived", "ecephys"],
            "mount": null,
            "description": "Sorted spikes",
            "source": null,
            "target": {"aws": {"bucket": "sim-s3-results", "prefix": "replaced-by-the-name"}},
            "custom_metadata": {"study": "monitor", "replicate": 2},
            "data_asset_ids": null,
            "results_info": null,
            "data_description_file_name": "data_description.json",
            "process_name_suffix": "sorted",
            "process_name_suffix_tz": "US/Pacific",
            "permissions": {
                "users": [{"email": "ada@example.com", "role": "viewer"}],
                "groups": null,
                "everyone": "none",
                "share_assets": null
            },
            "docdb_settings": null
        }
    })
}

#[test]
fn a_pipeline_monitor_settings_file_is_taken_as_it_is() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("monitor.json");
    std::fs::write(&file, monitor_settings().to_string()).unwrap();
    let out = run(
        Some(&sim),
        &["--json", "capture", "--settings", file.to_str().unwrap()],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let doc = json(&out);
    let asset = &doc["data_asset"];
    let name = asset["name"].as_str().unwrap();
    assert!(name.starts_with("Reference genome_sorted_"), "{name}");
    let at = datetime_at_end(name, "US/Pacific");
    let now = jiff::Timestamp::now();
    assert!(
        (now - at).get_seconds().abs() < 60,
        "{name} is not now in US/Pacific"
    );
    assert_eq!(asset["description"], "Sorted spikes");
    assert_eq!(asset["tags"], serde_json::json!(["derived", "ecephys"]));
    assert_eq!(
        asset["custom_metadata"],
        serde_json::json!({"study": "monitor", "replicate": 2})
    );
    // The run got the settings' request.
    let c = &doc["computation"];
    assert_eq!(c["data_assets"][0]["id"], ASSET, "{c}");
    assert_eq!(c["parameters"][0]["param_name"], "greeting", "{c}");
    assert_eq!(c["parameters"][0]["value"], "hi", "{c}");
    // The target's folder is the asset's name, as the monitor does.
    let objects = sim.bucket_objects("sim-s3-results").unwrap();
    assert!(!objects.is_empty());
    assert!(
        objects
            .iter()
            .all(|(key, _)| key.starts_with(&format!("{name}/"))),
        "{objects:?}"
    );
    let id = asset["id"].as_str().unwrap();
    let perms = json(&run(
        Some(&sim),
        &["--json", "data-asset", "permissions", "get", id],
    ));
    assert_eq!(perms["everyone"], "none", "{perms}");
    assert!(
        perms["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["email"] == "ada@example.com" && u["role"] == "viewer"),
        "{perms}"
    );
    // Its state file is FILE.state by default: a second run does nothing new.
    assert!(dir.path().join("monitor.json.state").exists());
    let out = run(
        Some(&sim),
        &["--json", "capture", "--settings", file.to_str().unwrap()],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(count(&sim, "run_computation"), 1);
    assert_eq!(count(&sim, "create_data_asset"), 1);

    // No capture_settings: run and check only.
    let mut settings = monitor_settings();
    settings["capture_settings"] = serde_json::Value::Null;
    let file = dir.path().join("run-only.json");
    std::fs::write(&file, settings.to_string()).unwrap();
    let out = run(
        Some(&sim),
        &["--json", "capture", "--settings", file.to_str().unwrap()],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(json(&out)["data_asset"], serde_json::Value::Null);
    assert_eq!(count(&sim, "create_data_asset"), 1);
}

#[test]
fn mistakes_are_usage_errors_before_anything_is_sent() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let mut unknown = monitor_settings();
    unknown["capture_settings"]["colour"] = "blue".into();
    let mut bad_zone = monitor_settings();
    bad_zone["capture_settings"]["process_name_suffix_tz"] = "Mars/Olympus".into();
    let mut bad_run = monitor_settings();
    bad_run["run_params"]["data_assets"] = serde_json::json!([{"mount": "m"}]);
    let write = |name: &str, v: &serde_json::Value| {
        let f = dir.path().join(name);
        std::fs::write(&f, v.to_string()).unwrap();
        f.to_str().unwrap().to_owned()
    };
    let mut zero = monitor_settings();
    zero["computation_timeout"] = 0.into();
    let (unknown, bad_zone, bad_run, zero) = (
        write("unknown.json", &unknown),
        write("zone.json", &bad_zone),
        write("run.json", &bad_run),
        write("zero.json", &zero),
    );
    for (args, says) in [
        (
            vec![
                "capture",
                "--capsule",
                OK_CAPSULE,
                "--name-template",
                "{name}_{when}",
            ],
            "unknown placeholder {when}",
        ),
        (
            vec!["capture", "--capsule", OK_CAPSULE, "--tz", "Nowhere/City"],
            "--tz \"Nowhere/City\": not a time zone",
        ),
        (
            vec!["capture", "--settings", &unknown],
            "capture_settings.colour: unknown field `colour`",
        ),
        (
            vec!["capture", "--settings", &bad_zone],
            "capture_settings.process_name_suffix_tz \"Mars/Olympus\"",
        ),
        (
            vec!["capture", "--settings", &zero],
            "computation_timeout: 0 is not a number of seconds above zero",
        ),
        (
            vec!["capture", "--settings", &bad_run],
            "run_params: data_assets[0].id: missing field",
        ),
        (
            vec![
                "capture",
                "--capsule",
                OK_CAPSULE,
                "--metadata",
                "replicate=lots",
            ],
            "--metadata replicate=lots",
        ),
    ] {
        let out = run(Some(&sim), &args);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(out.stderr.contains(says), "{args:?}: {out:?}");
    }
    assert_eq!(count(&sim, "run_computation"), 0);
    assert_eq!(count(&sim, "create_data_asset"), 0);
}

#[test]
fn a_capture_cut_off_mid_creation_never_makes_a_second_run_or_asset() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("capture.state");
    let args = [
        "--json",
        "capture",
        "--capsule",
        OK_CAPSULE,
        "--tag",
        "cut",
        "--state",
        state.to_str().unwrap(),
    ];
    let out = run(Some(&sim), &args);
    assert_eq!(out.code, 0, "{out:?}");
    let id = json(&out)["data_asset"]["id"].as_str().unwrap().to_owned();
    let text = std::fs::read_to_string(&state).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let steps: Vec<String> = lines
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["step"].to_string())
        .collect();
    assert_eq!(
        steps,
        [
            "\"starting\"",
            "\"started\"",
            "\"capturing\"",
            "\"captured\"",
            "\"permissions\""
        ]
    );

    // Cut off after the asset was asked for, before its id was written: the asset of that
    // name made from the run is found and taken, not made again.
    std::fs::write(&state, lines[..3].join("\n") + "\n").unwrap();
    let out = run(Some(&sim), &args);
    assert_eq!(out.code, 0, "{out:?}");
    let doc = json(&out);
    assert_eq!(
        doc["actions"],
        serde_json::json!(["resumed", "capture resumed", "permissions"])
    );
    assert_eq!(doc["data_asset"]["id"], id.as_str());
    assert_eq!(count(&sim, "create_data_asset"), 1);

    // A line cut short by a crash is ignored, the records before it stand, and the next
    // record starts on a line of its own.
    std::fs::write(&state, lines[..4].join("\n") + "\n{\"step\":\"permiss").unwrap();
    let out = run(Some(&sim), &args);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        json(&out)["actions"],
        serde_json::json!(["resumed", "capture resumed", "permissions"])
    );
    assert_eq!(count(&sim, "create_data_asset"), 1);
    let text = std::fs::read_to_string(&state).unwrap();
    assert!(
        text.ends_with(&format!(
            "{{\"step\":\"permiss\n{{\"step\":\"permissions\",\"data_asset_id\":\"{id}\"}}\n"
        )),
        "{text}"
    );

    // Cut off while the run was being started: it may exist, so none is started.
    std::fs::write(&state, lines[0].to_owned() + "\n").unwrap();
    let out = run(Some(&sim), &args);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("cut off while starting a run"),
        "{out:?}"
    );
    assert_eq!(count(&sim, "run_computation"), 1);
    assert_eq!(count(&sim, "create_data_asset"), 1);
}

/// The files of [`OK_CAPSULE`]'s results.
const RESULT_FILES: [&str; 7] = [
    "output.txt",
    "summary.json",
    "figures/plot.png",
    "figures/histogram.svg",
    "tables/counts.csv",
    "tables/per-sample/s1.csv",
    "tables/per-sample/s2.csv",
];

#[test]
fn a_capture_succeeds_against_a_legacy_and_a_modern_server() {
    for api in [ApiGeneration::Legacy, ApiGeneration::Modern] {
        let sim = sim_with(|c| c.api = api);
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("capture.state");
        let out = run(
            Some(&sim),
            &[
                "--json",
                "capture",
                "--capsule",
                OK_CAPSULE,
                "--data-asset",
                &format!("{ASSET}:reference"),
                "--tag",
                "derived",
                "--metadata",
                "study=capture",
                "--share-user",
                "ada@example.com=viewer",
                "--state",
                state.to_str().unwrap(),
            ],
        );
        assert_eq!(out.code, 0, "{api:?}: {out:?}");
        let doc = json(&out);
        assert_eq!(doc["outcome"], "succeeded", "{api:?}: {doc}");
        assert_eq!(
            doc["actions"],
            serde_json::json!(["started", "captured", "permissions"]),
            "{api:?}"
        );
        assert_eq!(doc["data_asset"]["state"], "ready", "{api:?}: {doc}");
        // Capture needs no route that only one generation has: every request succeeded.
        let requests = sim.requests();
        let refused: Vec<_> = requests.iter().filter(|r| r.status >= 400).collect();
        assert!(refused.is_empty(), "{api:?}: {refused:?}");
        assert_eq!(count(&sim, "run_computation"), 1, "{api:?}");
        assert_eq!(count(&sim, "create_data_asset"), 1, "{api:?}");

        // The asset is usable on that server: downloaded through its own URL route, it holds
        // the run's results byte for byte.
        let computation = doc["computation"]["id"].as_str().unwrap();
        let asset = doc["data_asset"]["id"].as_str().unwrap();
        let to = dir.path().join("asset");
        let out = run(
            Some(&sim),
            &[
                "--json",
                "data-asset",
                "download",
                asset,
                "--to",
                to.to_str().unwrap(),
            ],
        );
        assert_eq!(out.code, 0, "{api:?}: {out:?}");
        assert_eq!(json(&out)["downloaded"].as_u64(), Some(7), "{api:?}");
        for path in RESULT_FILES {
            let want = sim.result_content(computation, path).unwrap();
            let got = std::fs::read(to.join(path)).unwrap();
            assert!(got == want.read(0, want.size()), "{api:?}: {path} differs");
        }
        let (modern, legacy) = (
            count(&sim, "get_data_asset_file_urls"),
            count(&sim, "get_data_asset_file_download_url"),
        );
        match api {
            ApiGeneration::Legacy => assert_eq!((modern, legacy), (1, 7), "one probe"),
            _ => assert_eq!((modern, legacy), (7, 0)),
        }
    }
}
