//! Searches of capsules, pipelines and data assets through the raw client: paging by
//! `next_token` and by `offset` with `has_more` exact, filters, sort orders, archived items,
//! bulk-made assets, and the `lie_has_more` fault.

use std::collections::BTreeSet;

use codeocean_raw::open::{
    CapsuleSortBy, CapsuleStatus, CustomMetadataValue, DataAssetSortBy, DataAssetType, SortOrder,
};
use codeocean_raw::types::{
    CapsuleSearchRequest, DataAssetSearchRequest, DataAssetSearchResults, SearchFilter,
    SearchFilterRange,
};
use codeocean_sim::{Faults, Simulator};
use serde_json::json;

use crate::*;

/// A page of data asset search results, or the status and message of the error.
async fn assets(sim: &Simulator, req: &DataAssetSearchRequest) -> DataAssetSearchResults {
    raw_client(sim)
        .search_data_assets(req)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_inner()
}

/// The 400 message of a search that must be refused.
async fn refused(api: &Api, path: &str, body: serde_json::Value) -> String {
    let r = api.post(path, body).await;
    r.expect(400);
    r.message()
}

/// Every id of a data asset search, following `next_token`; and the number of pages.
async fn all_by_token(sim: &Simulator, mut req: DataAssetSearchRequest) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let page = assets(sim, &req).await;
        pages += 1;
        assert!(pages < 1_000, "paging does not end");
        ids.extend(page.results.iter().map(|a| a.id.clone()));
        assert_eq!(page.has_more, page.next_token.is_some(), "page {pages}");
        match page.next_token {
            Some(t) => req.next_token = Some(t),
            None => return (ids, pages),
        }
    }
}

#[tokio::test]
async fn a_thousand_assets_page_by_a_hundred_by_token_and_by_offset() {
    let sim = start_with(|c| c.data_assets = 1_000);
    let bulk = DataAssetSearchRequest {
        query: Some("tag:bulk".into()),
        limit: Some(100),
        ..Default::default()
    };
    let (ids, pages) = all_by_token(&sim, bulk.clone()).await;
    assert_eq!(pages, 10);
    assert_eq!(ids.len(), 1_000);
    assert_eq!(
        ids.iter().collect::<BTreeSet<_>>().len(),
        1_000,
        "an id repeats"
    );

    // The same by offset: has_more is true exactly while items follow.
    let mut by_offset = Vec::new();
    for k in 0..11 {
        let page = assets(
            &sim,
            &DataAssetSearchRequest {
                offset: Some(k * 100),
                ..bulk.clone()
            },
        )
        .await;
        assert_eq!(page.has_more, k < 9, "page {k}");
        assert_eq!(page.results.len(), if k < 10 { 100 } else { 0 }, "page {k}");
        by_offset.extend(page.results.into_iter().map(|a| a.id));
    }
    assert_eq!(by_offset, ids, "offset and token paging disagree");

    // Without a query the built-in asset is there too; the default page is 100.
    let page = assets(&sim, &DataAssetSearchRequest::default()).await;
    assert_eq!(page.results.len(), 100);
    assert!(page.has_more);
    let (all, _) = all_by_token(&sim, DataAssetSearchRequest::default()).await;
    assert_eq!(all.len(), 1_001);
    assert!(all.contains(&INPUT.to_owned()));

    // An uneven end: 1,000 by 300 is 300, 300, 300, 100.
    let (ids, pages) = all_by_token(
        &sim,
        DataAssetSearchRequest {
            limit: Some(300),
            ..bulk.clone()
        },
    )
    .await;
    assert_eq!((ids.len(), pages), (1_000, 4));
}

#[tokio::test]
async fn the_admin_route_makes_many_assets_and_they_are_searchable() {
    let sim = start();
    let api = Api::new(&sim);
    let r = api
        .send(
            api.http
                .post(format!("{}/__sim/data_assets", sim.origin()))
                .json(&json!({"count": 250, "name_prefix": "Survey"})),
        )
        .await;
    r.expect(200);
    let made: Vec<String> = serde_json::from_value(r.json()["ids"].clone()).unwrap();
    assert_eq!(made.len(), 250);
    let (found, _) = all_by_token(
        &sim,
        DataAssetSearchRequest {
            query: Some("name:survey".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        found.iter().collect::<BTreeSet<_>>(),
        made.iter().collect::<BTreeSet<_>>()
    );
    // Too many at once is refused.
    let r = api
        .send(
            api.http
                .post(format!("{}/__sim/data_assets", sim.origin()))
                .json(&json!({"count": 1_000_000})),
        )
        .await;
    r.expect(400);
}

#[tokio::test]
async fn data_asset_filters_and_sort_orders() {
    let sim = start_with(|c| c.data_assets = 200);
    let bulk = |change: &dyn Fn(&mut DataAssetSearchRequest)| {
        let mut r = DataAssetSearchRequest {
            query: Some("tag:bulk".into()),
            limit: Some(1000),
            ..Default::default()
        };
        change(&mut r);
        r
    };
    // Type: every fourth is a model.
    let models = assets(&sim, &bulk(&|r| r.type_ = Some(DataAssetType::Model))).await;
    assert_eq!(models.results.len(), 50);
    assert!(
        models
            .results
            .iter()
            .all(|a| a.type_ == Some(DataAssetType::Model))
    );

    // Sort by size, both ways; by name descending.
    for (order, desc) in [(SortOrder::Ascending, false), (SortOrder::Descending, true)] {
        let page = assets(
            &sim,
            &bulk(&|r| {
                r.sort_field = Some(DataAssetSortBy::Size);
                r.sort_order = Some(order.clone());
            }),
        )
        .await;
        let sizes: Vec<i64> = page.results.iter().map(|a| a.size.unwrap()).collect();
        let mut sorted = sizes.clone();
        sorted.sort();
        if desc {
            sorted.reverse();
        }
        assert_eq!(sizes, sorted);
    }
    let by_name = assets(
        &sim,
        &bulk(&|r| {
            r.sort_field = Some(DataAssetSortBy::Name);
            r.sort_order = Some(SortOrder::Descending);
        }),
    )
    .await;
    assert_eq!(
        by_name.results[0].name.as_deref(),
        Some("Bulk dataset 00199")
    );

    // A phrase, a tag and a field: AND across fields, OR within one.
    let one = assets(
        &sim,
        &bulk(&|r| r.query = Some(r#"name:"bulk dataset 00007""#.into())),
    )
    .await;
    assert_eq!(one.results.len(), 1);
    let two = assets(
        &sim,
        &bulk(&|r| r.query = Some("name:00007 name:00008 tag:bulk".into())),
    )
    .await;
    assert_eq!(two.results.len(), 2);
    let group = assets(&sim, &bulk(&|r| r.query = Some("tag:group-3".into()))).await;
    assert_eq!(group.results.len(), 20);

    // Custom metadata filters: a value, several values, a range, exclusion.
    let filter = |f: SearchFilter| bulk(&move |r| r.filters = Some(vec![f.clone()]));
    let base = SearchFilter {
        key: "replicate".into(),
        exclude: None,
        range: None,
        value: None,
        values: None,
    };
    let eq = assets(
        &sim,
        &filter(SearchFilter {
            value: Some(CustomMetadataValue::from(3)),
            ..base.clone()
        }),
    )
    .await;
    assert_eq!(eq.results.len(), 20);
    let any = assets(
        &sim,
        &filter(SearchFilter {
            values: Some(vec![1.into(), 2.into()]),
            ..base.clone()
        }),
    )
    .await;
    assert_eq!(any.results.len(), 40);
    let range = assets(
        &sim,
        &filter(SearchFilter {
            range: Some(SearchFilterRange {
                min: Some(9.0),
                max: None,
            }),
            ..base.clone()
        }),
    )
    .await;
    assert_eq!(range.results.len(), 40);
    let excluded = assets(
        &sim,
        &filter(SearchFilter {
            range: Some(SearchFilterRange {
                min: Some(9.0),
                max: None,
            }),
            exclude: Some(true),
            ..base.clone()
        }),
    )
    .await;
    assert_eq!(excluded.results.len(), 160);

    // Favourites and assets shared by others: the simulator's user has none.
    assert!(
        assets(&sim, &bulk(&|r| r.favorite = Some(true)))
            .await
            .results
            .is_empty()
    );
    assert!(
        assets(
            &sim,
            &bulk(&|r| r.ownership = Some(codeocean_raw::open::Ownership::Shared))
        )
        .await
        .results
        .is_empty()
    );
}

#[tokio::test]
async fn bad_searches_are_refused_naming_the_field() {
    let sim = start();
    let api = Api::new(&sim);
    for (body, field) in [
        (json!({"limit": 0}), "limit"),
        (json!({"limit": 1001}), "limit"),
        (json!({"offset": -1}), "offset"),
        (json!({"sort_order": "asc"}), "sort_order"),
        (json!({"sort_field": "colour"}), "sort_field"),
        (
            json!({"sort_field": "name", "sort_order": "up"}),
            "sort_order",
        ),
        (json!({"type": "spreadsheet"}), "type"),
        (json!({"origin": "moon"}), "origin"),
        (json!({"next_token": "not-a-token"}), "next_token"),
        (
            json!({"filters": [{"key": "k", "value": true}]}),
            "filters[0].value",
        ),
        (json!({"limit": "ten"}), "limit"),
    ] {
        let m = refused(&api, "/data_assets/search", body.clone()).await;
        assert!(m.contains(field), "{body}: {m}");
    }
    for (body, field) in [
        (json!({"status": "frozen"}), "status"),
        (json!({"sort_field": "size"}), "sort_field"),
        (json!({"ownership": "stolen"}), "ownership"),
    ] {
        let m = refused(&api, "/capsules/search", body.clone()).await;
        assert!(m.contains(field), "{body}: {m}");
    }
    // A token of one search does not page another.
    sim.add_data_assets(150);
    let page = assets(&sim, &DataAssetSearchRequest::default()).await;
    let token = page.next_token.unwrap();
    let m = refused(
        &api,
        "/data_assets/search",
        json!({"query": "tag:bulk", "next_token": token}),
    )
    .await;
    assert!(m.contains("next_token"), "{m}");
    // Without credentials: 401.
    let r = send(
        api.http
            .post(api.url("/data_assets/search"))
            .json(&json!({})),
    )
    .await;
    r.expect(401);
}

#[tokio::test]
async fn capsules_and_pipelines_are_searched_apart() {
    let sim = start();
    let client = raw_client(&sim);
    let capsules = client
        .search_capsules(&CapsuleSearchRequest::default())
        .await
        .unwrap()
        .into_inner();
    let ids: BTreeSet<String> = capsules.results.iter().map(|c| c.id.clone()).collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.contains(HELLO) && ids.contains(FAILS) && !ids.contains(PIPELINE));
    assert!(!capsules.has_more && capsules.next_token.is_none());
    let pipelines = client
        .search_pipelines(&CapsuleSearchRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        pipelines
            .results
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>(),
        [PIPELINE]
    );

    // Status, query by name, sort by name.
    let released = client
        .search_capsules(&CapsuleSearchRequest {
            status: Some(CapsuleStatus::Release),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        released
            .results
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>(),
        [HELLO]
    );
    let named = client
        .search_capsules(&CapsuleSearchRequest {
            query: Some(r#"name:"always fails""#.into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(named.results.len(), 1);
    assert_eq!(named.results[0].id, FAILS);
    let sorted = client
        .search_capsules(&CapsuleSearchRequest {
            sort_field: Some(CapsuleSortBy::Name),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let names: Vec<&str> = sorted
        .results
        .iter()
        .map(|c| c.name.as_deref().unwrap())
        .collect();
    assert_eq!(names, ["Always fails", "Big tree", "Hello results"]);

    // Many copies page like assets do.
    let copies = sim.copy_capsule(HELLO, 250).unwrap();
    assert_eq!(copies.len(), 250);
    let mut req = CapsuleSearchRequest {
        limit: Some(100),
        ..Default::default()
    };
    let mut seen = BTreeSet::new();
    let mut pages = 0;
    loop {
        let page = client.search_capsules(&req).await.unwrap().into_inner();
        pages += 1;
        seen.extend(page.results.into_iter().map(|c| c.id));
        match page.next_token {
            Some(t) => req.next_token = Some(t),
            None => break,
        }
    }
    assert_eq!((seen.len(), pages), (253, 3));
}

#[tokio::test]
async fn archived_items_leave_searches_and_come_back() {
    let sim = start();
    let client = raw_client(&sim);
    let in_default =
        |results: &[codeocean_raw::types::DataAsset]| results.iter().any(|a| a.id == INPUT);
    client.archive_data_asset(INPUT, true).await.unwrap();
    let page = assets(&sim, &DataAssetSearchRequest::default()).await;
    assert!(!in_default(&page.results));
    let archived = assets(
        &sim,
        &DataAssetSearchRequest {
            archived: Some(true),
            ..Default::default()
        },
    )
    .await;
    assert!(in_default(&archived.results));
    // An archived asset can still be read.
    client.get_data_asset(INPUT).await.unwrap();
    client.archive_data_asset(INPUT, false).await.unwrap();
    assert!(in_default(
        &assets(&sim, &DataAssetSearchRequest::default())
            .await
            .results
    ));

    client.archive_capsule(HELLO, true).await.unwrap();
    client.archive_pipeline(PIPELINE, true).await.unwrap();
    let capsules = client
        .search_capsules(&CapsuleSearchRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(!capsules.results.iter().any(|c| c.id == HELLO));
    let archived = client
        .search_pipelines(&CapsuleSearchRequest {
            archived: Some(true),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(archived.results.len(), 1);
    // The SDK writes Python's `True`; any case is taken, anything else is refused.
    let api = Api::new(&sim);
    let r = api
        .send(
            api.http
                .patch(api.url(&format!("/capsules/{HELLO}/archive?archive=False"))),
        )
        .await;
    r.expect(204);
    let r = api
        .send(
            api.http
                .patch(api.url(&format!("/capsules/{HELLO}/archive?archive=maybe"))),
        )
        .await;
    r.expect(400);
    assert!(r.message().contains("archive"));
    let r = api
        .send(
            api.http
                .patch(api.url(&format!("/capsules/{PIPELINE}/archive?archive=true"))),
        )
        .await;
    r.expect(404);
    let capsules = client
        .search_capsules(&CapsuleSearchRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(capsules.results.iter().any(|c| c.id == HELLO));
}

#[tokio::test]
async fn the_lie_has_more_fault_repeats_pages_and_claims_more_after_the_end() {
    let sim = start_with(|c| c.data_assets = 30);
    sim.set_faults("search:lie_has_more=1".parse::<Faults>().unwrap());
    let req = DataAssetSearchRequest {
        query: Some("tag:bulk".into()),
        limit: Some(10),
        ..Default::default()
    };
    let first = assets(&sim, &req).await;
    assert!(first.has_more);
    let again = assets(
        &sim,
        &DataAssetSearchRequest {
            next_token: first.next_token.clone(),
            ..req.clone()
        },
    )
    .await;
    assert!(again.has_more);
    assert_eq!(
        again.results, first.results,
        "the token leads back to the same page"
    );
    let past = assets(
        &sim,
        &DataAssetSearchRequest {
            offset: Some(30),
            ..req.clone()
        },
    )
    .await;
    assert!(
        past.results.is_empty() && past.has_more,
        "an empty page claims more"
    );
    // The other classes are untouched, and without the fault paging ends.
    sim.set_faults(Faults::default());
    let (ids, pages) = all_by_token(&sim, req).await;
    assert_eq!((ids.len(), pages), (30, 3));
}
