//! The API's route table: the generated table of operations ([`codeocean_raw::Operation`], from
//! `openapi/codeocean.yaml`) gives each route's path and method, [`handler`] its handler; behind
//! the API layer ([`crate::layer`]), with the admin routes under `/__sim`. Nothing imports this
//! module but `lib.rs`, which serves its router.

use std::sync::Arc;

use axum::Router;
use axum::http::{Method, StatusCode};
use axum::middleware;
use axum::routing::{MethodFilter, MethodRouter, on};
use codeocean_raw::Operation as Op;

use crate::apps::{self, AnyApp, Capsules, Pipelines};
use crate::assets::{self, Files};
use crate::computations::{self, Results};
use crate::{admin, layer, search, state, tree};

/// The API router (operations, gate, auth, faults, recording) and the admin routes.
pub(crate) fn router(st: Arc<state::State>) -> Router {
    // Operations without a handler (none: a test holds it) reach the fallback, a 404.
    let api = Op::ALL
        .into_iter()
        .filter_map(|op| Some((op, handler(op)?)))
        .fold(Router::new(), |r, (op, h)| r.route(op.path(), h));
    Router::new()
        .nest("/api/v1", api)
        .fallback(|| async { StatusCode::NOT_FOUND })
        .layer(middleware::from_fn_with_state(st.clone(), layer::api))
        .merge(admin::router())
        .with_state(st)
}

/// The handler of an operation, on its method (`GET` serves `HEAD` too); `None` for an
/// operation the simulator does not know.
fn handler(op: Op) -> Option<MethodRouter<Arc<state::State>>> {
    let method = Method::from_bytes(op.method().as_bytes()).ok()?;
    let m = MethodFilter::try_from(method).ok()?;
    Some(match op {
        Op::SearchCapsules => on(m, search::search_apps::<Capsules>),
        Op::SearchPipelines => on(m, search::search_apps::<Pipelines>),
        Op::SearchDataAssets => on(m, search::search_data_assets),
        // The two original capsule routes take pipelines too (pipelines are capsules to them).
        Op::GetCapsule => on(m, apps::get::<AnyApp>),
        Op::ListCapsuleComputations => on(m, apps::computations::<AnyApp>),
        Op::GetPipeline => on(m, apps::get::<Pipelines>),
        Op::ListPipelineComputations => on(m, apps::computations::<Pipelines>),
        Op::DeleteCapsule => on(m, apps::delete::<Capsules>),
        Op::DeletePipeline => on(m, apps::delete::<Pipelines>),
        Op::GetCapsuleAppPanel => on(m, apps::app_panel::<Capsules>),
        Op::GetPipelineAppPanel => on(m, apps::app_panel::<Pipelines>),
        Op::ArchiveCapsule => on(m, apps::archive::<Capsules>),
        Op::ArchivePipeline => on(m, apps::archive::<Pipelines>),
        Op::AttachCapsuleDataAssets => on(m, apps::attach::<Capsules>),
        Op::AttachPipelineDataAssets => on(m, apps::attach::<Pipelines>),
        Op::DetachCapsuleDataAssets => on(m, apps::detach::<Capsules>),
        Op::DetachPipelineDataAssets => on(m, apps::detach::<Pipelines>),
        Op::GetCapsulePermissions => on(m, apps::permissions::<Capsules>),
        Op::GetPipelinePermissions => on(m, apps::permissions::<Pipelines>),
        Op::UpdateCapsulePermissions => on(m, apps::update_permissions::<Capsules>),
        Op::UpdatePipelinePermissions => on(m, apps::update_permissions::<Pipelines>),
        Op::ReleaseCapsule => on(m, apps::release::<Capsules>),
        Op::ReleasePipeline => on(m, apps::release::<Pipelines>),
        Op::GetCapsuleReleaseJob => on(m, apps::release_job::<Capsules>),
        Op::GetPipelineReleaseJob => on(m, apps::release_job::<Pipelines>),
        Op::SyncCapsule => on(m, apps::sync::<Capsules>),
        Op::SyncPipeline => on(m, apps::sync::<Pipelines>),
        Op::RunComputation => on(m, computations::run_computation),
        Op::GetComputation => on(m, computations::get_computation),
        Op::DeleteComputation => on(m, computations::delete_computation),
        Op::RenameComputation => on(m, computations::rename_computation),
        Op::AttachComputationDataAssets => on(m, computations::attach_computation),
        Op::DetachComputationDataAssets => on(m, computations::detach_computation),
        Op::ListComputationResults => on(m, computations::list_results),
        Op::GetResultFileUrls => on(m, tree::urls::<Results>),
        Op::GetResultFileDownloadUrl => on(m, tree::download_url::<Results>),
        Op::GetCustomMetadata => on(m, assets::custom_metadata),
        Op::CreateDataAsset => on(m, assets::create_data_asset),
        Op::GetDataAsset => on(m, assets::get_data_asset),
        Op::UpdateDataAsset => on(m, assets::update_data_asset),
        Op::DeleteDataAsset => on(m, assets::delete_data_asset),
        Op::ArchiveDataAsset => on(m, assets::archive_data_asset),
        Op::ListDataAssetFiles => on(m, assets::list_files),
        Op::GetDataAssetFileUrls => on(m, tree::urls::<Files>),
        Op::GetDataAssetFileDownloadUrl => on(m, tree::download_url::<Files>),
        Op::GetDataAssetPermissions => on(m, assets::permissions),
        Op::UpdateDataAssetPermissions => on(m, assets::update_permissions),
        Op::TransferDataAsset => on(m, assets::transfer),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_of_the_table_has_a_handler() {
        let missing: Vec<Op> = Op::ALL
            .into_iter()
            .filter(|op| handler(*op).is_none())
            .collect();
        assert_eq!(missing, [], "operations without a handler");
    }
}
