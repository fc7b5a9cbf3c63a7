//! The API's route table: every operation of `openapi/codeocean.yaml` under `/api/v1` with its
//! handler, behind the API layer ([`crate::layer`]), and the admin routes under `/__sim`.
//! Nothing imports this module but `lib.rs`, which serves its router.

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::{delete, get, patch, post, put};

use crate::apps::{self, AnyApp, Capsules, Pipelines};
use crate::computations::{self, Results};
use crate::{admin, assets, layer, search, state, tree};

/// The API router (operations, gate, auth, faults, recording) and the admin routes.
pub(crate) fn router(st: Arc<state::State>) -> Router {
    let api = Router::new()
        .route("/capsules/search", post(search::search_apps::<Capsules>))
        .route("/pipelines/search", post(search::search_apps::<Pipelines>))
        .route("/data_assets/search", post(search::search_data_assets))
        .route("/capsules/{id}", get(apps::get::<AnyApp>))
        .route("/capsules/{id}", delete(apps::delete::<Capsules>))
        .route("/pipelines/{id}", get(apps::get::<Pipelines>))
        .route("/pipelines/{id}", delete(apps::delete::<Pipelines>))
        .route(
            "/capsules/{id}/computations",
            get(apps::computations::<AnyApp>),
        )
        .route(
            "/pipelines/{id}/computations",
            get(apps::computations::<Pipelines>),
        )
        .route("/capsules/{id}/app_panel", get(apps::app_panel::<Capsules>))
        .route(
            "/pipelines/{id}/app_panel",
            get(apps::app_panel::<Pipelines>),
        )
        .route("/capsules/{id}/archive", patch(apps::archive::<Capsules>))
        .route("/pipelines/{id}/archive", patch(apps::archive::<Pipelines>))
        .route("/capsules/{id}/data_assets", post(apps::attach::<Capsules>))
        .route(
            "/pipelines/{id}/data_assets",
            post(apps::attach::<Pipelines>),
        )
        .route(
            "/capsules/{id}/data_assets/",
            delete(apps::detach::<Capsules>),
        )
        .route(
            "/pipelines/{id}/data_assets/",
            delete(apps::detach::<Pipelines>),
        )
        .route(
            "/capsules/{id}/permissions",
            get(apps::permissions::<Capsules>),
        )
        .route(
            "/capsules/{id}/permissions",
            post(apps::update_permissions::<Capsules>),
        )
        .route(
            "/pipelines/{id}/permissions",
            get(apps::permissions::<Pipelines>),
        )
        .route(
            "/pipelines/{id}/permissions",
            post(apps::update_permissions::<Pipelines>),
        )
        .route("/capsules/{id}/release", post(apps::release::<Capsules>))
        .route("/pipelines/{id}/release", post(apps::release::<Pipelines>))
        .route(
            "/capsules/{id}/release/{job}",
            get(apps::release_job::<Capsules>),
        )
        .route(
            "/pipelines/{id}/release/{job}",
            get(apps::release_job::<Pipelines>),
        )
        .route("/capsules/{id}/sync", post(apps::sync::<Capsules>))
        .route("/pipelines/{id}/sync", post(apps::sync::<Pipelines>))
        .route("/computations", post(computations::run_computation))
        .route("/computations/{id}", get(computations::get_computation))
        .route(
            "/computations/{id}",
            delete(computations::delete_computation),
        )
        .route(
            "/computations/{id}",
            patch(computations::rename_computation),
        )
        .route(
            "/computations/{id}/data_assets",
            post(computations::attach_computation),
        )
        .route(
            "/computations/{id}/data_assets/",
            delete(computations::detach_computation),
        )
        .route(
            "/computations/{id}/results",
            post(computations::list_results),
        )
        .route(
            "/computations/{id}/results/urls",
            get(tree::urls::<Results>),
        )
        .route(
            "/computations/{id}/results/download_url",
            get(tree::download_url::<Results>),
        )
        .route("/custom_metadata", get(assets::custom_metadata))
        .route("/data_assets", post(assets::create_data_asset))
        .route("/data_assets/{id}", get(assets::get_data_asset))
        .route("/data_assets/{id}", put(assets::update_data_asset))
        .route("/data_assets/{id}", delete(assets::delete_data_asset))
        .route(
            "/data_assets/{id}/archive",
            patch(assets::archive_data_asset),
        )
        .route("/data_assets/{id}/files", post(assets::list_files))
        .route(
            "/data_assets/{id}/files/urls",
            get(tree::urls::<assets::Files>),
        )
        .route(
            "/data_assets/{id}/files/download_url",
            get(tree::download_url::<assets::Files>),
        )
        .route("/data_assets/{id}/permissions", get(assets::permissions))
        .route(
            "/data_assets/{id}/permissions",
            post(assets::update_permissions),
        )
        .route("/data_assets/{id}/transfer", post(assets::transfer));
    Router::new()
        .nest("/api/v1", api)
        .fallback(|| async { StatusCode::NOT_FOUND })
        .layer(middleware::from_fn_with_state(st.clone(), layer::api))
        .nest("/__sim", admin::router())
        .with_state(st)
}
