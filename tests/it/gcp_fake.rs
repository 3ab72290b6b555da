//! The Secret Manager fake itself, spoken to in raw HTTP: the REST shapes the store relies on
//! must match Google's documented ones, or the store tests prove nothing.

use crate::support::gcp_fake;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use gcp_fake::GcpFake;
use serde_json::{Value, json};

async fn call(method: reqwest::Method, url: String, body: Option<Value>) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let code = resp.status().as_u16();
    (code, resp.json().await.unwrap())
}

#[tokio::test]
async fn verbs_errors_enums_latest_and_etags_as_documented() {
    let fake = GcpFake::start("p").await;
    let base = format!("{}/v1/projects/p/secrets", fake.endpoint());
    use reqwest::Method as M;

    let (code, v) = call(M::GET, format!("{base}/nope"), None).await;
    assert_eq!(code, 404);
    assert_eq!(v["error"]["status"], "NOT_FOUND");
    assert_eq!(v["error"]["code"], 404);
    assert!(v["error"]["message"].is_string());

    let (code, v) = call(M::POST, format!("{base}?secretId=s"), Some(json!({}))).await;
    assert_eq!(
        (code, v["error"]["status"].as_str()),
        (400, Some("INVALID_ARGUMENT")),
        "replication required"
    );
    let create = json!({"replication": {"automatic": {}}, "labels": {"a": "1"}});
    let (code, v) = call(M::POST, format!("{base}?secretId=s"), Some(create.clone())).await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(
        v["name"], "projects/123456789012/secrets/s",
        "names carry the project number"
    );
    let (code, v) = call(M::POST, format!("{base}?secretId=s"), Some(create)).await;
    assert_eq!(
        (code, v["error"]["status"].as_str()),
        (409, Some("ALREADY_EXISTS"))
    );
    let bad = json!({"replication": {"automatic": {}}, "labels": {"Upper": "x"}});
    let (code, _) = call(M::POST, format!("{base}?secretId=t"), Some(bad)).await;
    assert_eq!(code, 400, "label keys are lower case");

    // `:addVersion` percent-encoded, as some clients send it; a wrong checksum is refused.
    let data = B64.encode("hello");
    let add = |crc: &str| json!({"payload": {"data": data, "dataCrc32c": crc}});
    let (code, _) = call(M::POST, format!("{base}/s%3AaddVersion"), Some(add("1"))).await;
    assert_eq!(code, 400);
    let crc = gcp_fake::state::crc32c(b"hello").to_string();
    let (code, v) = call(M::POST, format!("{base}/s%3AaddVersion"), Some(add(&crc))).await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["state"], "ENABLED", "string enums by default");
    let (_, v) = call(
        M::POST,
        format!("{base}/s:addVersion?$alt=json;enum-encoding=int"),
        Some(add(&crc)),
    )
    .await;
    assert_eq!(v["state"], 1, "integer enums when asked");

    let (code, v) = call(M::GET, format!("{base}/s/versions/latest:access"), None).await;
    assert_eq!(code, 200);
    assert_eq!(v["name"], "projects/123456789012/secrets/s/versions/2");
    assert_eq!(v["payload"]["data"], data);
    assert_eq!(v["payload"]["dataCrc32c"], crc);

    // Disabling with a stale etag fails; `latest` then names a disabled version.
    let (code, v) = call(
        M::POST,
        format!("{base}/s/versions/2:disable"),
        Some(json!({"etag": "\"stale\""})),
    )
    .await;
    assert_eq!(
        (code, v["error"]["status"].as_str()),
        (400, Some("FAILED_PRECONDITION"))
    );
    let (code, _) = call(
        M::POST,
        format!("{base}/s/versions/2:disable"),
        Some(json!({})),
    )
    .await;
    assert_eq!(code, 200);
    let (code, v) = call(M::GET, format!("{base}/s/versions/latest:access"), None).await;
    assert_eq!(
        (code, v["error"]["status"].as_str()),
        (400, Some("FAILED_PRECONDITION"))
    );
    let (_, v) = call(
        M::GET,
        format!("{base}/s/versions?filter=state:ENABLED"),
        None,
    )
    .await;
    assert_eq!(v["versions"].as_array().unwrap().len(), 1);

    // PATCH needs updateMask, and honours the etag.
    let (code, _) = call(M::PATCH, format!("{base}/s"), Some(json!({"labels": {}}))).await;
    assert_eq!(code, 400);
    let (_, current) = call(M::GET, format!("{base}/s"), None).await;
    let patch = json!({"labels": {"b": "2"}, "etag": current["etag"]});
    let (code, v) = call(
        M::PATCH,
        format!("{base}/s?updateMask=labels"),
        Some(patch.clone()),
    )
    .await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["labels"], json!({"b": "2"}));
    let (code, _) = call(M::PATCH, format!("{base}/s?updateMask=labels"), Some(patch)).await;
    assert_eq!(code, 400, "the etag has moved on");

    fake.grant_only(&["secretmanager.secrets.get"]);
    let (code, v) = call(
        M::POST,
        format!("{base}/s:testIamPermissions"),
        Some(json!({
        "permissions": ["secretmanager.secrets.get", "secretmanager.versions.add"]})),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(v["permissions"], json!(["secretmanager.secrets.get"]));
    let (code, v) = call(M::GET, format!("{base}/s/versions/1:access"), None).await;
    assert_eq!(
        (code, v["error"]["status"].as_str()),
        (403, Some("PERMISSION_DENIED"))
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("secretmanager.versions.access")
    );
}
