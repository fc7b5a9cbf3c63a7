//! The generated operation table: every operation's path, its parameters filled, finds the
//! operation again, and requests the spec does not describe find none.

use codeocean_raw::Operation;

/// `template` with every `{param}` replaced by an id.
fn fill(template: &str) -> String {
    template
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') && segment.ends_with('}') {
                "66095e3a-0747-4ec5-b8b1-95b89a428536"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn every_operation_is_found_from_its_own_path() {
    for op in Operation::ALL {
        let path = fill(op.path());
        assert_eq!(
            Operation::find(op.method(), &path),
            Some(op),
            "{} {path}",
            op.method()
        );
        if op.method() == "GET" {
            assert_eq!(Operation::find("HEAD", &path), Some(op), "HEAD {path}");
        }
        assert_eq!(Operation::from_id(op.id()), Some(op));
        assert_eq!(op.to_string(), op.id());
    }
}

#[test]
fn the_table_has_each_operation_once_with_its_wire_shape() {
    let mut ids: Vec<&str> = Operation::ALL.iter().map(|op| op.id()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 48);
    let mut routes: Vec<(&str, &str)> = Operation::ALL
        .iter()
        .map(|op| (op.method(), op.path()))
        .collect();
    routes.sort_unstable();
    routes.dedup();
    assert_eq!(routes.len(), 48);
    // Spot checks of the generated accessors, written from the spec by hand.
    assert_eq!(Operation::ALL[0], Operation::SearchCapsules);
    assert_eq!(Operation::GetCapsule.id(), "get_capsule");
    assert_eq!(Operation::GetCapsule.path(), "/capsules/{capsule_id}");
    assert_eq!(
        Operation::DetachComputationDataAssets.path(),
        "/computations/{computation_id}/data_assets/"
    );
    assert_eq!(Operation::RenameComputation.method(), "PATCH");
    assert_eq!(Operation::from_id("no_such_operation"), None);
}

#[test]
fn idempotence_is_the_spec_s() {
    let not: Vec<&str> = Operation::ALL
        .iter()
        .filter(|op| !op.idempotent())
        .map(|op| op.id())
        .collect();
    assert_eq!(
        not,
        [
            "release_capsule",
            "release_pipeline",
            "run_computation",
            "create_data_asset",
            "transfer_data_asset"
        ]
    );
    // A search is a POST that only reads; permission updates set a state.
    assert!(Operation::SearchDataAssets.idempotent());
    assert!(Operation::UpdateCapsulePermissions.idempotent());
}

#[test]
fn literal_segments_win_over_parameters() {
    assert_eq!(
        Operation::find("POST", "/capsules/search"),
        Some(Operation::SearchCapsules)
    );
    assert_eq!(
        Operation::find("POST", "/data_assets/search"),
        Some(Operation::SearchDataAssets)
    );
    // The trailing-slash detach route and the attach route differ by their last segment.
    assert_eq!(
        Operation::find("DELETE", "/capsules/c1/data_assets/"),
        Some(Operation::DetachCapsuleDataAssets)
    );
    assert_eq!(
        Operation::find("POST", "/capsules/c1/data_assets"),
        Some(Operation::AttachCapsuleDataAssets)
    );
}

#[test]
fn near_misses_find_nothing() {
    for (method, path) in [
        ("GET", "/capsules"),
        ("GET", "/capsules/"),
        ("GET", "/capsules/c1/y"),
        ("GET", "/capsules//computations"),
        ("GET", "//computations"),
        ("PUT", "/capsules/c1"),
        ("POST", "/capsules/c1"),
        ("get", "/capsules/c1"),
        ("DELETE", "/capsules/c1/data_assets"),
        ("POST", "/capsules/c1/data_assets/"),
        ("GET", "/capsules/c1/release/"),
        ("GET", "capsules/c1"),
        ("GET", "/api/v1/capsules/c1"),
        ("GET", "/computations/c1/results/urls/extra"),
        ("GET", "/a/b/c/d/e/f/g"),
        ("GET", ""),
        ("GET", "/"),
    ] {
        assert_eq!(Operation::find(method, path), None, "{method} {path}");
    }
}
