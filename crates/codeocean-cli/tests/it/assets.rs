//! `data-asset ls|download|search|archive|delete`, `capsule attach` and `pipeline
//! get|computations|search` end to end against the simulator: its built-in data asset's tree
//! (8 files in 5 folders), bulk assets for searches, and the `search:lie_has_more` fault.

use std::time::{Duration, Instant};

use codeocean_sim::{ApiGeneration, Simulator};

use crate::{ASSET, OK_CAPSULE, Out, cmd, finished_run, json, run, sim, sim_with};

/// The built-in pipeline.
const PIPELINE: &str = "c0ffee00-0000-4000-8000-00000000000a";

/// The built-in data asset's files.
const FILES: [&str; 8] = [
    "README.md",
    "annotation/genes.gtf",
    "annotation/transcripts.gtf",
    "genome/GRCh38.fa",
    "genome/GRCh38.fa.fai",
    "genome/chromosomes/chr1.fa",
    "genome/chromosomes/chr2.fa",
    "genome/chromosomes/chrX.fa",
];

/// The JSON Lines of stdout, each parsed.
fn lines(out: &Out) -> Vec<serde_json::Value> {
    out.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// How many requests of `operation` the simulator has seen.
fn count(sim: &Simulator, operation: &str) -> u64 {
    sim.stats().counts.get(operation).copied().unwrap_or(0)
}

#[test]
fn data_asset_ls_lists_a_folder_as_a_table_and_the_tree_as_json_lines() {
    let sim = sim();
    let out = run(Some(&sim), &["data-asset", "ls", ASSET]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "TYPE    SIZE      PATH\n\
         file    1.21 KiB  README.md\n\
         folder            annotation/\n\
         folder            genome/\n\
         folder            index/\n"
    );
    let out = run(
        Some(&sim),
        &["data-asset", "ls", ASSET, "genome/chromosomes"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "TYPE  SIZE       PATH\n\
         file  64.00 KiB  genome/chromosomes/chr1.fa\n\
         file  64.00 KiB  genome/chromosomes/chr2.fa\n\
         file  39.06 KiB  genome/chromosomes/chrX.fa\n"
    );

    let out = run(
        Some(&sim),
        &["--json", "data-asset", "ls", ASSET, "--recursive"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let items = lines(&out);
    let mut files: Vec<&str> = items
        .iter()
        .filter(|i| i["type"] == "file")
        .map(|i| i["path"].as_str().unwrap())
        .collect();
    files.sort();
    assert_eq!(files, FILES);
    let mut folders: Vec<&str> = items
        .iter()
        .filter(|i| i["type"] == "folder")
        .map(|i| i["path"].as_str().unwrap())
        .collect();
    folders.sort();
    assert_eq!(
        folders,
        ["annotation", "genome", "genome/chromosomes", "index"]
    );
    for item in items.iter().filter(|i| i["type"] == "file") {
        let path = item["path"].as_str().unwrap();
        let want = sim.data_asset_content(ASSET, path).unwrap().size();
        assert_eq!(item["size"].as_u64(), Some(want), "{path}");
    }
}

#[test]
fn data_asset_download_is_byte_identical_from_both_api_generations_and_reruns_skip() {
    for api in [ApiGeneration::Modern, ApiGeneration::Legacy] {
        let sim = sim_with(|c| c.api = api);
        let dir = tempfile::tempdir().unwrap();
        let to = dir.path().join("asset");
        let to_s = to.to_str().unwrap();
        let args = ["--json", "data-asset", "download", ASSET, "--to", to_s];
        let out = run(Some(&sim), &args);
        assert_eq!(out.code, 0, "{api:?}: {out:?}");
        let v = json(&out);
        assert_eq!(
            (v["downloaded"].as_u64(), v["skipped"].as_u64()),
            (Some(8), Some(0)),
            "{api:?}"
        );
        let mut compared = 0;
        for path in FILES {
            let want = sim.data_asset_content(ASSET, path).unwrap();
            let got = std::fs::read(to.join(path)).unwrap();
            assert!(got == want.read(0, want.size()), "{api:?}: {path} differs");
            compared += got.len() as u64;
        }
        assert_eq!(v["bytes"].as_u64(), Some(compared), "{api:?}");
        let (modern, legacy) = (
            count(&sim, "get_data_asset_file_urls"),
            count(&sim, "get_data_asset_file_download_url"),
        );
        match api {
            ApiGeneration::Legacy => assert_eq!((modern, legacy), (1, 8), "one probe"),
            _ => assert_eq!((modern, legacy), (8, 0)),
        }
        let requests = sim.requests();
        let storage: Vec<_> = requests.iter().filter(|r| r.origin == "storage").collect();
        assert_eq!(storage.len(), 8, "{api:?}");
        assert!(storage.iter().all(|r| !r.authorization && r.status == 200));
        assert!(
            requests
                .iter()
                .filter(|r| r.origin == "api")
                .all(|r| r.authorization)
        );

        // Again: nothing fetched from storage.
        sim.clear_requests();
        let out = run(Some(&sim), &args);
        assert_eq!(out.code, 0, "{api:?}: {out:?}");
        assert_eq!(json(&out)["skipped"].as_u64(), Some(8));
        let stats = sim.stats();
        assert_eq!(
            stats.counts.get("storage_get"),
            None,
            "a re-run fetches nothing"
        );
        assert_eq!(stats.storage_requests_with_authorization, 0);
        assert!(!out.stderr.contains(sim.token()));
    }
}

#[test]
fn data_asset_search_pages_over_simulated_assets() {
    let sim = sim();
    let made = sim.add_data_assets(25);
    let out = run(
        Some(&sim),
        &[
            "--json",
            "data-asset",
            "search",
            "tag:bulk",
            "--page-size",
            "10",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let mut ids: Vec<String> = lines(&out)
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.first(), made.last(), "newest first");
    ids.sort();
    let mut want = made.clone();
    want.sort();
    assert_eq!(ids, want, "each asset exactly once");
    assert_eq!(
        count(&sim, "search_data_assets"),
        3,
        "pages of 10: 3 requests"
    );

    // Newest datasets first (asset 23 is a model): 24 has 5 files of 25 KiB, 22 has 3 of 23.
    let out = run(
        Some(&sim),
        &["data-asset", "search", "--limit", "2", "--type", "dataset"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        format!(
            "ID                                    TYPE     STATE  SIZE        NAME\n\
             {}  dataset  ready  125.00 KiB  Bulk dataset 00024\n\
             {}  dataset  ready  69.00 KiB   Bulk dataset 00022\n",
            made[24], made[22]
        )
    );
}

#[test]
fn a_server_lying_about_has_more_makes_searches_exit_1_in_bounded_time() {
    let sim = sim_with(|c| {
        c.faults.apply("search:lie_has_more=1").unwrap();
        c.data_assets = 25;
    });
    let t = Instant::now();
    let out = run(Some(&sim), &["--json", "data-asset", "search"]);
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    assert_eq!(out.code, 1, "{out:?}");
    let mut ids: Vec<String> = lines(&out)
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids.len() >= 25, "{out:?}");
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "each result once");
    assert!(out.stderr.contains("more results follow"), "{out:?}");
    assert_eq!(
        count(&sim, "search_data_assets"),
        2,
        "one page, one empty page"
    );

    let out = run(Some(&sim), &["pipeline", "search"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("more results follow"), "{out:?}");
}

#[test]
fn capsule_attach_sends_the_mounts() {
    let sim = sim();
    let out = run(
        Some(&sim),
        &[
            "--json",
            "capsule",
            "attach",
            OK_CAPSULE,
            "--data-asset",
            &format!("{ASSET}:ref"),
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let v = &lines(&out)[0];
    assert_eq!(
        (v["id"].as_str(), v["mount"].as_str()),
        (Some(ASSET), Some("ref"))
    );
    assert_eq!(count(&sim, "attach_capsule_data_assets"), 1);
    // Usage errors exit 2 before anything is sent.
    sim.clear_requests();
    let out = run(Some(&sim), &["capsule", "attach", OK_CAPSULE]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(sim.requests().is_empty());
}

#[test]
fn capsule_and_pipeline_archive_and_undo() {
    let sim = sim();
    for (family, id) in [("capsule", OK_CAPSULE), ("pipeline", PIPELINE)] {
        let archived = || {
            let out = run(Some(&sim), &["--json", family, "search", "--archived"]);
            assert_eq!(out.code, 0, "{out:?}");
            lines(&out)
                .iter()
                .map(|v| v["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        let out = run(Some(&sim), &[family, "archive", id]);
        assert_eq!(
            (out.code, out.stdout.as_str()),
            (0, format!("archived {family} {id}\n").as_str())
        );
        assert_eq!(archived(), [id]);
        let out = run(Some(&sim), &["--json", family, "archive", "--undo", id]);
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(json(&out), serde_json::json!({"id": id, "archived": false}));
        assert!(archived().is_empty());
    }
}

#[test]
fn data_asset_archive_and_delete() {
    let sim = sim();
    let id = sim.add_data_assets(1).remove(0);
    let out = run(Some(&sim), &["data-asset", "archive", &id]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, format!("archived data asset {id}\n").as_str())
    );
    let archived = run(
        Some(&sim),
        &["--json", "data-asset", "search", "--archived"],
    );
    let found: Vec<_> = lines(&archived).iter().map(|v| v["id"].clone()).collect();
    assert_eq!(found, [serde_json::json!(id)], "{archived:?}");

    let out = run(
        Some(&sim),
        &["--json", "data-asset", "archive", "--undo", &id],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(json(&out), serde_json::json!({"id": id, "archived": false}));
    let archived = run(
        Some(&sim),
        &["--json", "data-asset", "search", "--archived"],
    );
    assert_eq!(archived.stdout, "", "{archived:?}");

    let out = run(Some(&sim), &["data-asset", "delete", &id, "--yes"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, format!("deleted data asset {id}\n").as_str())
    );
    let out = run(Some(&sim), &["data-asset", "get", &id]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("404"), "{out:?}");
    // A second delete is an error, not a silent success.
    let out = run(Some(&sim), &["data-asset", "delete", &id, "--yes"]);
    assert_eq!(out.code, 1, "{out:?}");
}

#[test]
fn pipeline_get_computations_and_search() {
    let sim = sim();
    let out = run(Some(&sim), &["--json", "pipeline", "get", PIPELINE]);
    assert_eq!(out.code, 0, "{out:?}");
    let v = json(&out);
    assert_eq!(
        (v["id"].as_str(), v["name"].as_str()),
        (Some(PIPELINE), Some("Align and count"))
    );

    let out = run(
        Some(&sim),
        &["--json", "pipeline", "computations", PIPELINE],
    );
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{out:?}");
    let started = run(Some(&sim), &["--json", "run", "--pipeline", PIPELINE]);
    assert_eq!(started.code, 0, "{started:?}");
    let run_id = json(&started)["id"].as_str().unwrap().to_owned();
    let out = run(
        Some(&sim),
        &["--json", "pipeline", "computations", PIPELINE],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let ids: Vec<_> = lines(&out)
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, [run_id]);

    let copies = sim.copy_capsule(PIPELINE, 4).unwrap();
    let out = run(
        Some(&sim),
        &["--json", "pipeline", "search", "--page-size", "2"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let mut found: Vec<String> = lines(&out)
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();
    found.sort();
    let mut want = copies;
    want.push(PIPELINE.to_owned());
    want.sort();
    assert_eq!(found, want, "each pipeline once, no capsule");
    assert_eq!(count(&sim, "search_pipelines"), 3, "5 pipelines by 2");
    let out = run(Some(&sim), &["pipeline", "search", "--limit", "1"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.starts_with("ID "), "{out:?}");
    assert_eq!(out.stdout.lines().count(), 2, "{out:?}");
}

// --- data-asset create from every source, and data-asset usage ------------------------------

/// A GCS client secret that must never show.
const SECRET: &str = "gcs-secret-9d41b7a0c3";

/// `data-asset create ARGS… --wait --json`: the ready asset.
fn created(sim: &Simulator, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json", "data-asset", "create"];
    all.extend(args);
    all.push("--wait");
    let out = run(Some(sim), &all);
    assert_eq!(out.code, 0, "{out:?}");
    let v = json(&out);
    assert_eq!(v["state"], "ready", "{v}");
    v
}

/// The file paths of a data asset (`data-asset ls --recursive --json`), sorted.
fn asset_files(sim: &Simulator, id: &str) -> Vec<String> {
    let out = run(
        Some(sim),
        &["--json", "data-asset", "ls", id, "--recursive"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let mut files: Vec<String> = lines(&out)
        .iter()
        .filter(|i| i["type"] == "file")
        .map(|i| i["path"].as_str().unwrap().to_owned())
        .collect();
    files.sort();
    files
}

/// `data-asset download` of `id`, every file compared with `expected(path)`.
fn downloads_intact(
    sim: &Simulator,
    id: &str,
    files: &[String],
    expected: impl Fn(&str) -> Option<codeocean_sim::content::Content>,
) {
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("asset");
    let out = run(
        Some(sim),
        &[
            "--json",
            "data-asset",
            "download",
            id,
            "--to",
            to.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(json(&out)["downloaded"].as_u64(), Some(files.len() as u64));
    for path in files {
        let want = expected(path).unwrap_or_else(|| panic!("no expected bytes for {path}"));
        let got = std::fs::read(to.join(path)).unwrap();
        assert!(got == want.read(0, want.size()), "{path} differs");
    }
}

#[test]
fn data_asset_create_from_s3_registers_a_prefix_in_one_command() {
    let sim = sim();
    let v = created(
        &sim,
        &[
            "--from-s3",
            "s3://sim-s3-data/raw/",
            "--keep-on-external-storage",
            "--name",
            "Raw reads",
            "--mount",
            "raw-reads",
            "--tag",
            "reads",
        ],
    );
    assert_eq!(v["type"], "dataset");
    assert_eq!(v["source_bucket"]["origin"], "aws");
    assert_eq!(v["source_bucket"]["bucket"], "sim-s3-data");
    assert_eq!(v["source_bucket"]["external"], true);
    let id = v["id"].as_str().unwrap();
    let files = asset_files(&sim, id);
    assert_eq!(
        files,
        [
            "README.md",
            "sample-1/meta/info.json",
            "sample-1/reads.fastq",
            "sample-2/meta/info.json",
            "sample-2/reads.fastq"
        ]
    );
    downloads_intact(&sim, id, &files, |p| {
        sim.bucket_content("sim-s3-data", &format!("raw/{p}"))
    });

    // A public bucket, whole, as a table.
    let out = run(
        Some(&sim),
        &[
            "data-asset",
            "create",
            "--from-s3",
            "s3://sim-s3-open",
            "--public",
            "--name",
            "Open",
            "--mount",
            "open",
            "--wait",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("ready"), "{out:?}");
    assert!(out.stderr.contains("created data asset"), "{out:?}");

    // The server's refusal of an unknown bucket: exit 1, naming it.
    let out = run(
        Some(&sim),
        &[
            "data-asset",
            "create",
            "--from-s3",
            "s3://sim-no-such-bucket/x",
            "--name",
            "x",
            "--mount",
            "x",
        ],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("sim-no-such-bucket"), "{out:?}");
}

/// A credentials file holding `body`, with this Unix mode.
fn credentials_file(dir: &std::path::Path, body: &str, mode: u32) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join(format!("gcs-{mode:o}.json"));
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[test]
fn data_asset_create_from_gcs_takes_credentials_from_a_private_file_or_the_environment() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let body = format!(r#"{{"client_id": "gcs-client", "client_secret": "{SECRET}"}}"#);
    let file = credentials_file(dir.path(), &body, 0o600);
    let out = run(
        Some(&sim),
        &[
            "-vv",
            "--json",
            "data-asset",
            "create",
            "--from-gcs",
            "gs://sim-gcs-data/images",
            "--gcs-credentials",
            file.to_str().unwrap(),
            "--name",
            "Images",
            "--mount",
            "images",
            "--wait",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains("create_data_asset") || out.stderr.contains("/data_assets"),
        "-vv logs the request: {out:?}"
    );
    assert!(
        !out.stderr.contains(SECRET) && !out.stdout.contains(SECRET),
        "{out:?}"
    );
    let v = json(&out);
    assert_eq!(v["source_bucket"]["origin"], "gcp");
    let id = v["id"].as_str().unwrap();
    let files = asset_files(&sim, id);
    assert_eq!(files, ["2024/01/a.tif", "2024/02/b.tif", "index.csv"]);
    downloads_intact(&sim, id, &files, |p| {
        sim.bucket_content("sim-gcs-data", &format!("images/{p}"))
    });

    // From the environment.
    let out: Out = cmd(Some(&sim))
        .env("CODEOCEAN_GCS_CLIENT_ID", "gcs-client")
        .env("CODEOCEAN_GCS_CLIENT_SECRET", SECRET)
        .args([
            "-vv",
            "--json",
            "data-asset",
            "create",
            "--from-gcs",
            "gs://sim-gcs-data",
            "--name",
            "All",
            "--mount",
            "all",
        ])
        .output()
        .unwrap()
        .into();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        !out.stderr.contains(SECRET) && !out.stdout.contains(SECRET),
        "{out:?}"
    );

    // Without credentials the server refuses the private bucket (exit 1), naming the field.
    let out = run(
        Some(&sim),
        &[
            "data-asset",
            "create",
            "--from-gcs",
            "gs://sim-gcs-data",
            "--name",
            "x",
            "--mount",
            "x",
        ],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("client_id"), "{out:?}");

    // Mistakes with credentials are usage errors before anything is sent, never showing the
    // secret.
    sim.clear_requests();
    let shared = credentials_file(dir.path(), &body, 0o644);
    let no_secret = dir.path().join("no-secret.json");
    std::fs::write(&no_secret, r#"{"client_id": "gcs-client"}"#).unwrap();
    std::fs::set_permissions(
        &no_secret,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let broken = credentials_file(
        dir.path(),
        &format!(r#"{{"client_id": "x", "client_secret": "{SECRET}" "#),
        0o400,
    );
    for (file, says) in [
        (shared.to_str().unwrap(), "chmod 600"),
        (no_secret.to_str().unwrap(), "`client_secret`"),
        (broken.to_str().unwrap(), "not JSON"),
        ("/nonexistent/gcs.json", "cannot read"),
    ] {
        let out = run(
            Some(&sim),
            &[
                "data-asset",
                "create",
                "--from-gcs",
                "gs://sim-gcs-data",
                "--gcs-credentials",
                file,
                "--name",
                "x",
                "--mount",
                "x",
            ],
        );
        assert_eq!(out.code, 2, "{file}: {out:?}");
        assert!(out.stderr.contains(says), "{file}: {out:?}");
        assert!(!out.stderr.contains(SECRET), "{file}: {out:?}");
    }
    let out: Out = cmd(Some(&sim))
        .env("CODEOCEAN_GCS_CLIENT_SECRET", SECRET)
        .args([
            "data-asset",
            "create",
            "--from-gcs",
            "gs://sim-gcs-data",
            "--name",
            "x",
            "--mount",
            "x",
        ])
        .output()
        .unwrap()
        .into();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("CODEOCEAN_GCS_CLIENT_ID"), "{out:?}");
    assert!(!out.stderr.contains(SECRET), "{out:?}");
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
}

#[test]
fn data_asset_create_combines_assets_and_writes_to_a_target() {
    let sim = sim();
    let reads = created(
        &sim,
        &[
            "--from-s3",
            "s3://sim-s3-data/raw",
            "--name",
            "Reads",
            "--mount",
            "reads",
        ],
    );
    let reference = created(
        &sim,
        &[
            "--from-s3",
            "s3://sim-s3-data/reference",
            "--name",
            "Reference",
            "--mount",
            "reference",
        ],
    );
    let (a, b) = (
        reads["id"].as_str().unwrap(),
        reference["id"].as_str().unwrap(),
    );
    let combined = created(
        &sim,
        &["--combine", a, b, "--name", "Inputs", "--mount", "inputs"],
    );
    assert_eq!(combined["type"], "combined");
    let id = combined["id"].as_str().unwrap();
    let files = asset_files(&sim, id);
    assert_eq!(files.len(), 7, "{files:?}");
    assert!(
        files.contains(&"reads/sample-1/reads.fastq".to_owned()),
        "{files:?}"
    );
    assert!(
        files.contains(&"reference/genome.fa".to_owned()),
        "{files:?}"
    );
    downloads_intact(&sim, id, &files, |p| {
        let (mount, rest) = p.split_once('/')?;
        let folder = if mount == "reads" { "raw" } else { mount };
        sim.bucket_content("sim-s3-data", &format!("{folder}/{rest}"))
    });

    // A computation's results written to a target bucket.
    let run_id = finished_run(&sim, OK_CAPSULE);
    let exported = created(
        &sim,
        &[
            "--from-computation",
            &run_id,
            "--target",
            "s3://sim-s3-results/exports/",
            "--name",
            "Exported",
            "--mount",
            "exported",
        ],
    );
    let exported_files = asset_files(&sim, exported["id"].as_str().unwrap());
    let written = sim.bucket_objects("sim-s3-results").unwrap();
    assert!(!exported_files.is_empty());
    for f in &exported_files {
        let key = format!("exports/{f}");
        assert!(
            written.iter().any(|(k, _)| *k == key),
            "{key} not in {written:?}"
        );
    }
}

#[test]
fn data_asset_create_refuses_bad_urls_and_flags_of_another_source_with_exit_2() {
    let sim = sim();
    let base = ["data-asset", "create", "--name", "x", "--mount", "x"];
    for (args, says) in [
        (&["--from-s3", "gs://sim-s3-data/raw"][..], "scheme `gs`"),
        (&["--from-s3", "sim-s3-data/raw"], "no scheme"),
        (&["--from-s3", "s3:///raw"], "bucket name is empty"),
        (&["--from-s3", "s3://Sim_Data/raw"], "holds `S`"),
        (&["--from-s3", "s3://ab"], "3 to 63"),
        (&["--from-gcs", "s3://sim-gcs-data"], "scheme `s3`"),
        (&["--from-gcs", "gs://sim gcs"], "holds ` `"),
        (
            &["--from-computation", "c", "--target", "https://bucket/x"],
            "scheme `https`",
        ),
        (&["--from-computation", "c", "--public"], "--public"),
        (
            &["--from-computation", "c", "--keep-on-external-storage"],
            "--keep-on-external-storage",
        ),
        (
            &["--from-gcs", "gs://sim-gcs-data", "--endpoint", "e"],
            "--endpoint",
        ),
        (&["--from-s3", "s3://sim-s3-data", "--path", "p"], "--path"),
        (
            &["--from-s3", "s3://sim-s3-data", "--gcs-credentials", "f"],
            "--gcs-credentials",
        ),
        (
            &["--combine", "a", "--target", "s3://sim-s3-results"],
            "--target",
        ),
        (
            &["--combine", "a", "--from-s3", "s3://sim-s3-data"],
            "cannot be used with",
        ),
        (
            &["--target-endpoint", "e", "--from-computation", "c"],
            "--target",
        ),
        (&[], "required"),
    ] {
        let mut all = base.to_vec();
        all.extend(args);
        let out = run(Some(&sim), &all);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(out.stderr.starts_with("error: "), "{args:?}: {out:?}");
        assert!(out.stderr.contains(says), "{args:?}: {out:?}");
    }
    assert!(sim.requests().is_empty(), "nothing was sent");
}

#[test]
fn data_asset_usage_shows_the_capsules_and_pipelines_that_attach_it() {
    let sim = sim();
    let v = created(
        &sim,
        &[
            "--from-s3",
            "s3://sim-s3-data/reference",
            "--name",
            "Reference",
            "--mount",
            "reference",
        ],
    );
    let id = v["id"].as_str().unwrap();
    let out = run(Some(&sim), &["data-asset", "usage", id]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.contains("no capsule or pipeline attaches"),
        "{out:?}"
    );

    for (family, app, spec) in [
        ("capsule", OK_CAPSULE, format!("{id}:genome")),
        ("pipeline", PIPELINE, id.to_owned()),
    ] {
        let out = run(Some(&sim), &[family, "attach", app, "--data-asset", &spec]);
        assert_eq!(out.code, 0, "{out:?}");
    }
    let out = run(Some(&sim), &["data-asset", "usage", id]);
    assert_eq!(out.code, 0, "{out:?}");
    let rows: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .map(|l| l.split_whitespace().take(4).collect())
        .collect();
    assert_eq!(rows[0], ["TYPE", "ID", "MOUNT", "ARCHIVED"], "{out:?}");
    assert_eq!(rows[1], ["capsule", OK_CAPSULE, "genome", "no"], "{out:?}");
    assert_eq!(
        rows[2],
        ["pipeline", PIPELINE, "reference", "no"],
        "{out:?}"
    );
    assert_eq!(rows.len(), 3, "{out:?}");

    let out = run(Some(&sim), &["--json", "data-asset", "usage", id]);
    assert_eq!(out.code, 0, "{out:?}");
    let v = json(&out);
    assert_eq!(v["id"], id);
    assert_eq!(v["capsules"][0]["id"], OK_CAPSULE);
    assert_eq!(v["capsules"][0]["mount"], "genome");
    assert_eq!(v["capsules"][0]["archived"], false);
    assert_eq!(v["pipelines"][0]["id"], PIPELINE);
    assert_eq!(v["capsules"].as_array().unwrap().len(), 1);

    let out = run(
        Some(&sim),
        &[
            "data-asset",
            "usage",
            "da7a0000-0000-4000-8000-00000000dead",
        ],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("da7a0000-0000-4000-8000-00000000dead"),
        "{out:?}"
    );
}
