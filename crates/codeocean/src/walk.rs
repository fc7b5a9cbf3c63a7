//! Walking a computation's result tree, listing folders concurrently.

use std::collections::VecDeque;

use futures_util::stream::FuturesUnordered;
use futures_util::{Stream, StreamExt as _};

use crate::client::Client;
use crate::error::Result;
use crate::{ResultItem, ResultItemType};

type Listing =
    std::pin::Pin<Box<dyn std::future::Future<Output = (String, Result<Vec<ResultItem>>)> + Send>>;

struct Walk {
    client: Client,
    computation: String,
    limit: usize,
    folders: VecDeque<String>,
    listing: FuturesUnordered<Listing>,
    ready: VecDeque<Result<ResultItem>>,
}

impl Client {
    /// Every entry under a computation's results (or under the folder `path`; `""` is the
    /// root), folders included, in no particular order. Folders are listed concurrently (up to
    /// `concurrency` at once, within the client's API limit), so a deep tree costs about its
    /// depth in round trips. A folder that cannot be listed yields its error and the walk goes
    /// on with the others.
    pub fn walk_results(
        &self,
        computation_id: &str,
        path: &str,
        concurrency: usize,
    ) -> impl Stream<Item = Result<ResultItem>> + Send + 'static {
        let walk = Walk {
            client: self.clone(),
            computation: computation_id.to_owned(),
            limit: concurrency.max(1),
            folders: VecDeque::from([path.trim_matches('/').to_owned()]),
            listing: FuturesUnordered::new(),
            ready: VecDeque::new(),
        };
        futures_util::stream::unfold(walk, |mut w| async move {
            loop {
                if let Some(item) = w.ready.pop_front() {
                    return Some((item, w));
                }
                while w.listing.len() < w.limit {
                    let Some(folder) = w.folders.pop_front() else {
                        break;
                    };
                    let client = w.client.clone();
                    let id = w.computation.clone();
                    w.listing.push(Box::pin(async move {
                        let items = client.list_results(&id, &folder).await;
                        (folder, items)
                    }));
                }
                let (_, items) = w.listing.next().await?;
                match items {
                    Ok(items) => {
                        for item in items {
                            if item.type_ == ResultItemType::Folder {
                                w.folders.push_back(item.path.clone());
                            }
                            w.ready.push_back(Ok(item));
                        }
                    }
                    Err(e) => w.ready.push_back(Err(e)),
                }
            }
        })
    }
}
