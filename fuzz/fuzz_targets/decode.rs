//! Every response type the crate decodes, fed arbitrary bytes: decoding never panics, and what
//! decodes can be shown, written back and read again to the same value. The error-body reader
//! and the `Retry-After` parser get the same bytes.

#![no_main]

use codeocean::codeocean_raw::types::{
    ApiError, CapsuleVersion, CustomMetadata, ResultFileDownloadUrl, ResultFileUrls, ResultsFolder,
};
use codeocean::{
    Capsule, CapsuleStatus, Computation, ComputationEndStatus, ComputationState,
    CustomMetadataValue, DataAsset, DataAssetOrigin, DataAssetState, DataAssetType, ResultItem,
    ResultItemType, Timestamp,
};
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Decodes `data` as `T`; on success formats it, writes it back and checks that the written
/// form decodes to an equal value.
fn decode<T>(data: &[u8]) -> Option<T>
where
    T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
{
    let value: T = serde_json::from_slice(data).ok()?;
    let _ = format!("{value:?}");
    let written = serde_json::to_vec(&value).expect("a decoded value is written back");
    let again: T = serde_json::from_slice(&written).unwrap_or_else(|e| {
        panic!(
            "written form does not decode: {e}\n{}",
            String::from_utf8_lossy(&written)
        )
    });
    assert_eq!(value, again, "{}", String::from_utf8_lossy(&written));
    Some(value)
}

fuzz_target!(|data: &[u8]| {
    if let Some(c) = decode::<Computation>(data) {
        let _ = codeocean::outcome(&c);
        if let Some(t) = &c.created {
            let _ = (
                t.as_secs(),
                t.as_secs_f64(),
                t.to_system_time(),
                t.to_string(),
            );
        }
    }
    if let Some(list) = decode::<Vec<Computation>>(data) {
        list.iter().for_each(|c| drop(codeocean::outcome(c)));
    }
    decode::<Capsule>(data);
    decode::<CapsuleVersion>(data);
    decode::<DataAsset>(data);
    decode::<ResultsFolder>(data);
    decode::<ResultItem>(data);
    decode::<ResultFileUrls>(data);
    decode::<ResultFileDownloadUrl>(data);
    decode::<ApiError>(data);
    decode::<CustomMetadata>(data);
    decode::<CustomMetadataValue>(data);
    if let Some(t) = decode::<Timestamp>(data) {
        let _ = (
            t.as_secs(),
            t.as_secs_f64(),
            t.to_system_time(),
            t.to_string(),
        );
    }
    if let Some(s) = decode::<ComputationState>(data) {
        let _ = (s.as_str(), s.is_unknown(), s.to_string());
    }
    decode::<ComputationEndStatus>(data);
    decode::<CapsuleStatus>(data);
    decode::<DataAssetState>(data);
    decode::<DataAssetType>(data);
    decode::<DataAssetOrigin>(data);
    decode::<ResultItemType>(data);

    // Error bodies and headers: the status is the first two bytes, the body the rest.
    if let [hi, lo, body @ ..] = data {
        let status = u16::from_be_bytes([*hi, *lo]);
        let (message, _json) = codeocean::fuzzing::describe_body(status, body);
        // A message is one line of bounded length, whatever the body.
        assert!(!message.contains('\n'), "{message:?}");
        assert!(
            message.chars().count() <= 64 * 1024 + 256,
            "{}",
            message.len()
        );
    }
    let header = String::from_utf8_lossy(data);
    let _ = codeocean::fuzzing::parse_retry_after(&header);
});
