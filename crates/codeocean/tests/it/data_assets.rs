//! Data assets from every source against the simulator's built-in buckets: S3 (copied or
//! kept external), GCS (with credentials), combined, a cloud workstation session, with a
//! target and imported results; each goes create → wait → ls → download, its files compared
//! with the bucket's bytes. Then `Client::data_asset_usage`, and the GCS secret's absence from
//! `Debug`, logs and errors.

use futures_util::StreamExt as _;

use codeocean::{
    App, Attachments, Client, DataAsset, DataAssetOrigin, DataAssetType, DisplayErrorContext,
    NewDataAsset, ResultsInfo, S3Target,
};

use crate::bounds::logged;
use crate::{HELLO, assert_dir_matches, client, finished_run, sim};

/// The built-in pipeline.
const PIPELINE: &str = "c0ffee00-0000-4000-8000-00000000000a";

/// A GCS client secret that must never show.
const SECRET: &str = "gcs-secret-5f1e0c77d2";

/// Creates `asset` and waits until it is ready.
async fn ready<S>(c: &Client, asset: &NewDataAsset<S>) -> DataAsset {
    let made = c.create_data_asset(asset).await.unwrap();
    c.wait_for_data_asset(&made.id).await.unwrap()
}

/// Every file path of a data asset, by a walk, sorted.
async fn files(c: &Client, id: &str) -> Vec<String> {
    let mut all: Vec<String> = c
        .walk_data_asset(id)
        .stream()
        .map(|e| e.unwrap())
        .filter(|e| std::future::ready(e.is_file()))
        .map(|e| e.path)
        .collect()
        .await;
    all.sort();
    all
}

/// Downloads a data asset and checks each file against `expected(path)`; returns the files.
async fn download_checks(
    c: &Client,
    id: &str,
    count: usize,
    expected: impl Fn(&str) -> Option<codeocean_sim::content::Content>,
) {
    let dir = tempfile::tempdir().unwrap();
    let summary = c.download_data_asset(id, dir.path()).run().await.unwrap();
    assert_eq!(summary.downloaded as usize, count);
    let compared = assert_dir_matches(dir.path(), count, expected);
    assert_eq!(summary.bytes, compared);
}

/// The files of `sim-s3-data` under `raw/`, re-rooted.
const RAW: [&str; 5] = [
    "README.md",
    "sample-1/meta/info.json",
    "sample-1/reads.fastq",
    "sample-2/meta/info.json",
    "sample-2/reads.fastq",
];

#[tokio::test]
async fn an_s3_prefix_kept_external_goes_create_wait_ls_download() {
    let sim = sim(|_| {});
    let c = client(&sim);
    let asset = ready(
        &c,
        &NewDataAsset::from_s3("sim-s3-data", "Raw reads", "raw-reads")
            .prefix("raw/")
            .keep_on_external_storage(true)
            .tag("reads"),
    )
    .await;
    assert_eq!(asset.type_, Some(DataAssetType::Dataset));
    let bucket = asset.source_bucket.clone().unwrap();
    assert_eq!(bucket.origin, Some(DataAssetOrigin::Aws));
    assert_eq!(bucket.bucket.as_deref(), Some("sim-s3-data"));
    assert_eq!(bucket.external, Some(true));
    assert_eq!(files(&c, &asset.id).await, RAW);
    download_checks(&c, &asset.id, RAW.len(), |rel| {
        sim.bucket_content("sim-s3-data", &format!("raw/{rel}"))
    })
    .await;
}

#[tokio::test]
async fn a_public_s3_bucket_and_a_whole_bucket_are_read_too() {
    let sim = sim(|_| {});
    let c = client(&sim);
    let open = ready(
        &c,
        &NewDataAsset::from_s3("sim-s3-open", "Open", "open").public(true),
    )
    .await;
    assert_eq!(
        files(&c, &open.id).await,
        ["shared/docs/notes.txt", "shared/table.csv"]
    );
    assert_eq!(open.source_bucket.unwrap().external, Some(false));
    download_checks(&c, &open.id, 2, |rel| {
        sim.bucket_content("sim-s3-open", rel)
    })
    .await;

    // `public` on a bucket that is not: refused, naming it.
    let e = c
        .create_data_asset(&NewDataAsset::from_s3("sim-s3-data", "x", "x").public(true))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400), "{e}");
    assert!(e.to_string().contains("sim-s3-data"), "{e}");
}

#[tokio::test]
async fn unknown_buckets_and_prefixes_are_refused_by_name() {
    let sim = sim(|_| {});
    let c = client(&sim);
    for (asset, named) in [
        (
            NewDataAsset::from_s3("sim-no-such-bucket", "x", "x").into(),
            "sim-no-such-bucket",
        ),
        (
            NewDataAsset::from_s3("sim-s3-data", "x", "x")
                .prefix("nothing/here")
                .into(),
            "nothing/here",
        ),
        (
            NewDataAsset::from_gcs("sim-gcs-nope", "x", "x")
                .gcs_credentials("id", SECRET)
                .into(),
            "sim-gcs-nope",
        ),
        (
            NewDataAsset::from_computation(finished_run(&c, HELLO).await, "x", "x")
                .target(S3Target::new("sim-no-target"))
                .into(),
            "sim-no-target",
        ),
    ] {
        let asset: NewDataAsset = asset;
        let e = c.create_data_asset(&asset).await.unwrap_err();
        let text = DisplayErrorContext(&e).to_string();
        assert_eq!(e.status(), Some(400), "{text}");
        assert!(text.contains(named), "{text}");
        assert!(!text.contains(SECRET), "{text}");
    }
}

#[tokio::test]
async fn a_gcs_asset_with_credentials_goes_create_wait_ls_download_and_never_shows_the_secret() {
    let sim = sim(|_| {});
    let c = client(&sim);
    let new = NewDataAsset::from_gcs("sim-gcs-data", "Images", "images")
        .prefix("images")
        .gcs_credentials("gcs-client", SECRET);
    assert_eq!(
        new.as_raw()
            .source
            .as_ref()
            .unwrap()
            .gcp
            .as_ref()
            .unwrap()
            .client_secret
            .as_deref(),
        Some(SECRET),
        "sent on the wire"
    );
    let shown = format!("{new:?} {new:#?}");
    assert!(
        !shown.contains(SECRET) && shown.contains("<redacted>"),
        "{shown}"
    );
    let erased: NewDataAsset = new.clone().into();
    assert!(!format!("{erased:?}").contains(SECRET));

    let (made, log) = logged(tracing::Level::TRACE, c.create_data_asset(&new)).await;
    let made = made.unwrap();
    assert!(
        log.contains("create_data_asset") || log.contains("/data_assets"),
        "{log}"
    );
    assert!(!log.contains(SECRET), "{log}");
    assert!(!serde_json::to_string(&made).unwrap().contains(SECRET));
    let asset = c.wait_for_data_asset(&made.id).await.unwrap();
    assert_eq!(
        asset.source_bucket.as_ref().unwrap().origin,
        Some(DataAssetOrigin::Gcp)
    );
    let expected = ["2024/01/a.tif", "2024/02/b.tif", "index.csv"];
    assert_eq!(files(&c, &asset.id).await, expected);
    download_checks(&c, &asset.id, 3, |rel| {
        sim.bucket_content("sim-gcs-data", &format!("images/{rel}"))
    })
    .await;

    // Without credentials, a private bucket is refused, naming the missing field.
    let e = c
        .create_data_asset(&NewDataAsset::from_gcs("sim-gcs-data", "x", "x"))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400));
    assert!(e.to_string().contains("client_id"), "{e}");
}

#[tokio::test]
async fn a_combined_asset_lists_and_downloads_each_part_under_its_mount() {
    let sim = sim(|_| {});
    let c = client(&sim);
    let reads = ready(
        &c,
        &NewDataAsset::from_s3("sim-s3-data", "Reads", "reads").prefix("raw"),
    )
    .await;
    let reference = ready(
        &c,
        &NewDataAsset::from_s3("sim-s3-data", "Reference", "reference").prefix("reference"),
    )
    .await;
    let combined = ready(
        &c,
        &NewDataAsset::combined([&reads.id, &reference.id], "Inputs", "inputs"),
    )
    .await;
    assert_eq!(combined.type_, Some(DataAssetType::Combined));
    let parts: Vec<_> = combined
        .contained_data_assets
        .iter()
        .map(|p| (p.id.clone(), p.mount.clone()))
        .collect();
    assert_eq!(
        parts,
        [
            (Some(reads.id.clone()), Some("reads".to_owned())),
            (Some(reference.id.clone()), Some("reference".to_owned()))
        ]
    );
    let mut expected: Vec<String> = RAW.iter().map(|f| format!("reads/{f}")).collect();
    expected.extend([
        "reference/genome.fa".into(),
        "reference/genome.fa.fai".into(),
    ]);
    assert_eq!(files(&c, &combined.id).await, expected);
    download_checks(&c, &combined.id, expected.len(), |rel| {
        let (mount, rest) = rel.split_once('/')?;
        let folder = if mount == "reads" { "raw" } else { mount };
        sim.bucket_content("sim-s3-data", &format!("{folder}/{rest}"))
    })
    .await;

    // A part that does not exist is refused by id.
    let e = c
        .create_data_asset(&NewDataAsset::combined(
            [reads.id.as_str(), "da7a0000-0000-4000-8000-00000000dead"],
            "x",
            "x",
        ))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400));
    assert!(
        e.to_string()
            .contains("da7a0000-0000-4000-8000-00000000dead"),
        "{e}"
    );
}

#[tokio::test]
async fn a_target_bucket_receives_the_files_and_imported_results_are_result_assets() {
    let sim = sim(|_| {});
    let c = client(&sim);
    let run = finished_run(&c, HELLO).await;
    let exported = ready(
        &c,
        &NewDataAsset::from_computation(&run, "Exported", "exported")
            .target(S3Target::new("sim-s3-results").prefix("exports/run-1")),
    )
    .await;
    let written = sim.bucket_objects("sim-s3-results").unwrap();
    let asset_files = files(&c, &exported.id).await;
    assert!(!asset_files.is_empty());
    let keys: Vec<&str> = written.iter().map(|(k, _)| k.as_str()).collect();
    for f in &asset_files {
        assert!(
            keys.contains(&format!("exports/run-1/{f}").as_str()),
            "{f} not in {keys:?}"
        );
    }

    let imported = ready(
        &c,
        &NewDataAsset::from_s3("sim-s3-data", "Imported run", "imported")
            .prefix("reference")
            .results_info(ResultsInfo::capsule(HELLO).version(1).commit("4f1c2e9")),
    )
    .await;
    assert_eq!(imported.type_, Some(DataAssetType::Result));
    let provenance = imported.provenance.unwrap();
    assert_eq!(provenance.capsule.as_deref(), Some(HELLO));
    assert_eq!(provenance.commit.as_deref(), Some("4f1c2e9"));
}

#[tokio::test]
async fn a_cloud_workstation_folder_becomes_an_asset() {
    let sim = sim(|_| {});
    let c = client(&sim);
    let session = sim.start_cloud_workstation(HELLO).unwrap();
    let asset = ready(
        &c,
        &NewDataAsset::from_cloud_workstation(
            &session,
            "/root/capsule/scratch",
            "Scratch",
            "scratch",
        ),
    )
    .await;
    assert_eq!(files(&c, &asset.id).await, ["data.bin", "notes.txt"]);
    download_checks(&c, &asset.id, 2, |rel| {
        sim.data_asset_content(&asset.id, rel)
    })
    .await;
}

#[tokio::test]
async fn data_asset_usage_finds_the_capsules_and_pipelines_that_attach_it() {
    let sim = sim(|_| {});
    let c = client(&sim);
    let asset = ready(
        &c,
        &NewDataAsset::from_s3("sim-s3-data", "Used", "used").prefix("reference"),
    )
    .await;
    let unused = ready(
        &c,
        &NewDataAsset::from_s3("sim-s3-open", "Unused", "unused").public(true),
    )
    .await;
    assert!(c.data_asset_usage(&asset.id).await.unwrap().is_empty());

    c.attach_capsule_data_assets(HELLO, &Attachments::new().data_asset(&asset.id, "genome"))
        .await
        .unwrap();
    c.attach_pipeline_data_assets(PIPELINE, &Attachments::new().data_asset(&asset.id, ""))
        .await
        .unwrap();
    c.archive_pipeline(PIPELINE).await.unwrap();

    let usage = c.data_asset_usage(&asset.id).await.unwrap();
    let capsules: Vec<_> = usage
        .capsules
        .iter()
        .map(|u| (u.app, u.id.as_str(), u.mount.as_deref(), u.archived))
        .collect();
    assert_eq!(capsules, [(App::Capsule, HELLO, Some("genome"), false)]);
    let pipelines: Vec<_> = usage
        .pipelines
        .iter()
        .map(|u| (u.app, u.id.as_str(), u.mount.as_deref(), u.archived))
        .collect();
    assert_eq!(pipelines, [(App::Pipeline, PIPELINE, Some("used"), true)]);
    assert!(usage.capsules[0].name.is_some());
    assert!(c.data_asset_usage(&unused.id).await.unwrap().is_empty());

    // Detached: no longer used.
    c.detach_capsule_data_assets(HELLO, &[&asset.id])
        .await
        .unwrap();
    let usage = c.data_asset_usage(&asset.id).await.unwrap();
    assert!(usage.capsules.is_empty() && usage.pipelines.len() == 1);

    let e = c
        .data_asset_usage("da7a0000-0000-4000-8000-00000000dead")
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e}");
}
