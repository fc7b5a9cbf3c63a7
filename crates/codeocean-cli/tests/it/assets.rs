//! `data-asset ls|download|search|archive|delete`, `capsule attach` and `pipeline
//! get|computations|search` end to end against the simulator: its built-in data asset's tree
//! (8 files in 5 folders), bulk assets for searches, and the `search:lie_has_more` fault.

use std::time::{Duration, Instant};

use codeocean_sim::{ApiGeneration, Simulator};

use crate::{ASSET, OK_CAPSULE, Out, json, run, sim, sim_with};

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
