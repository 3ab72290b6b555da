//! HTTP/JSON transcoding as Google's front end does it: `/v1/{name}` paths with `:verb`
//! suffixes (also percent-encoded as `%3A`), `$alt=json;enum-encoding=int` for integer enums,
//! proto3 JSON (camelCase, int64 as strings, bytes as base64, empty fields omitted).

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value, json};

use super::LoggedRequest;
use super::state::{ApiError, ApiResult, Labels, Secret, State, VState, Version, crc32c};

pub type Shared = Arc<Mutex<State>>;

pub fn router(state: Shared) -> axum::Router {
    axum::Router::new().fallback(move |method, uri, headers, body| {
        let state = state.clone();
        async move {
            let delay = state.lock().unwrap().delays.pop_front();
            if let Some(d) = delay {
                tokio::time::sleep(d).await;
            }
            handle(&state, method, uri, headers, body)
        }
    })
}

fn handle(state: &Shared, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = percent_decode(uri.path());
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let mut st = state.lock().unwrap();
    st.requests.push(LoggedRequest {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        authorization: headers.contains_key("authorization"),
    });
    if let Some(fault) = st.faults.pop_front() {
        return error_response(fault);
    }
    let ints = query
        .iter()
        .any(|(k, v)| k == "$alt" && v.contains("enum-encoding=int"));
    let param = |k: &str| {
        query
            .iter()
            .find(|(q, _)| q == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let body: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return error_response(ApiError::invalid(format!("Invalid JSON payload: {e}")));
            }
        }
    };
    match serve(&mut st, &method, &path, &param, &body, ints) {
        Ok(v) => (StatusCode::OK, axum::Json(v)).into_response(),
        Err(e) => error_response(e),
    }
}

fn error_response(e: ApiError) -> Response {
    let body = json!({"error": {"code": e.http, "message": e.message, "status": e.status}});
    let code = StatusCode::from_u16(e.http).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, axum::Json(body)).into_response()
}

fn serve(
    st: &mut State,
    method: &Method,
    path: &str,
    param: &dyn Fn(&str) -> String,
    body: &Value,
    ints: bool,
) -> ApiResult<Value> {
    // Cloud Resource Manager's search, for the one project this fake holds.
    if path == "/v3/projects:search" && method == Method::GET {
        return Ok(json!({"projects": [{"projectId": st.project_id, "state": "ACTIVE"}]}));
    }
    let rest = path
        .strip_prefix("/v1/")
        .ok_or_else(|| ApiError::not_found(format!("No such path {path}")))?;
    let (name, verb) = match rest.rsplit_once('/') {
        Some((head, last)) => match last.split_once(':') {
            Some((seg, verb)) => (format!("{head}/{seg}"), verb),
            None => (rest.to_string(), ""),
        },
        None => (rest.to_string(), ""),
    };
    let segs: Vec<&str> = name.split('/').collect();
    let unimplemented = || {
        ApiError::new(
            501,
            "UNIMPLEMENTED",
            format!("{method} {path} is not served by the fake"),
        )
    };
    let (project, tail) = match segs.as_slice() {
        ["projects", p, tail @ ..] => (*p, tail),
        _ => return Err(unimplemented()),
    };
    st.check_project(project)?;
    match (tail, verb, method.as_str()) {
        (["secrets"], "", "GET") => list_secrets(st, param),
        (["secrets"], "", "POST") => {
            st.require(
                "secretmanager.secrets.create",
                &format!("projects/{project}"),
            )?;
            let labels = labels_of(body)?;
            let replication = body.get("replication").cloned().unwrap_or(Value::Null);
            let id = param("secretId");
            st.create(&id, labels, replication)?;
            Ok(secret_json(&st.secret_name(&id), st.secret(&id)?))
        }
        (["secrets", id], "", "GET") => {
            st.require("secretmanager.secrets.get", &name)?;
            Ok(secret_json(&st.secret_name(id), st.secret(id)?))
        }
        (["secrets", id], "", "PATCH") => {
            st.require("secretmanager.secrets.update", &name)?;
            let mask = param("updateMask");
            if mask.is_empty() {
                return Err(ApiError::invalid("update_mask is required."));
            }
            if let Some(p) = mask.split(',').find(|p| p.trim() != "labels") {
                return Err(ApiError::invalid(format!(
                    "The fake cannot update field {p:?}."
                )));
            }
            st.secret(id)?;
            let etag = body
                .get("etag")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            st.patch_labels(id, &etag, labels_of(body)?)?;
            Ok(secret_json(&st.secret_name(id), st.secret(id)?))
        }
        (["secrets", id], "addVersion", "POST") => {
            st.require("secretmanager.versions.add", &name)?;
            st.secret(id)?;
            let payload = body.get("payload").cloned().unwrap_or(json!({}));
            let data = match payload.get("data").and_then(Value::as_str) {
                Some(b) => B64.decode(b).map_err(|e| {
                    ApiError::invalid(format!("Invalid base64 in payload.data: {e}"))
                })?,
                None => Vec::new(),
            };
            let sum = payload.get("dataCrc32c").map(int64).transpose()?;
            if let Some(sum) = sum
                && sum != i64::from(crc32c(&data))
            {
                return Err(ApiError::invalid(
                    "Checksum mismatch: data_crc32c does not match the payload.",
                ));
            }
            let v = st.add_version(id, data, sum.is_some())?.clone();
            Ok(version_json(&st.secret_name(id), &v, ints))
        }
        (["secrets", id], "testIamPermissions", "POST") => {
            st.secret(id)?;
            let asked: Vec<String> = body
                .get("permissions")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|p| p.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            let held: Vec<String> = asked
                .into_iter()
                .filter(|p| st.granted.as_ref().is_none_or(|g| g.contains(p)))
                .collect();
            Ok(if held.is_empty() {
                json!({})
            } else {
                json!({"permissions": held})
            })
        }
        (["secrets", id, "versions"], "", "GET") => {
            st.require("secretmanager.versions.list", &name)?;
            list_versions(st, id, param, ints)
        }
        (["secrets", id, "versions", v], "", "GET") => {
            st.require("secretmanager.versions.get", &name)?;
            let i = st.version_index(id, v)?;
            Ok(version_json(
                &st.secret_name(id),
                &st.secret(id)?.versions[i],
                ints,
            ))
        }
        (["secrets", id, "versions", v], "access", "GET") => {
            st.require("secretmanager.versions.access", &name)?;
            let i = st.version_index(id, v)?;
            let version = &st.secret(id)?.versions[i];
            let vname = format!("{}/versions/{}", st.secret_name(id), version.number);
            if version.state != VState::Enabled {
                return Err(ApiError::precondition(format!(
                    "Secret Version [{vname}] is in {} state.",
                    version.state.name()
                )));
            }
            let data = version.data.clone().unwrap_or_default();
            Ok(json!({"name": vname, "payload": {
                "data": B64.encode(&data), "dataCrc32c": crc32c(&data).to_string()}}))
        }
        (["secrets", id, "versions", v], verb @ ("disable" | "enable" | "destroy"), "POST") => {
            st.require(&format!("secretmanager.versions.{verb}"), &name)?;
            let to = match verb {
                "disable" => VState::Disabled,
                "enable" => VState::Enabled,
                _ => VState::Destroyed,
            };
            let etag = body.get("etag").and_then(Value::as_str).unwrap_or("");
            let v = st.transition(id, v, to, etag)?;
            Ok(version_json(&st.secret_name(id), &v, ints))
        }
        _ => Err(unimplemented()),
    }
}

/// `pageSize` (0: the cap), `pageToken` (opaque, as returned), `filter` (none supported here).
fn page<T: Clone>(
    items: &[T],
    param: &dyn Fn(&str) -> String,
    cap: usize,
) -> ApiResult<(Vec<T>, String)> {
    let size: usize = match param("pageSize").as_str() {
        "" | "0" => cap,
        s => s
            .parse()
            .map_err(|_| ApiError::invalid("Invalid page_size."))?,
    }
    .min(cap);
    let token = param("pageToken");
    let start: usize = if token.is_empty() {
        0
    } else {
        token
            .strip_prefix("fake-page-")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| ApiError::invalid("Invalid page_token."))?
    };
    let end = (start + size).min(items.len());
    let next = if end < items.len() {
        format!("fake-page-{end}")
    } else {
        String::new()
    };
    Ok((items[start.min(end)..end].to_vec(), next))
}

fn list_secrets(st: &State, param: &dyn Fn(&str) -> String) -> ApiResult<Value> {
    st.require(
        "secretmanager.secrets.list",
        &format!("projects/{}", st.project_id),
    )?;
    if !param("filter").is_empty() {
        return Err(ApiError::invalid("The fake serves no secret filters."));
    }
    let all: Vec<&Secret> = st.secrets.values().collect();
    let (items, next) = page(&all, param, st.page_cap)?;
    let mut out = Map::new();
    if !items.is_empty() {
        let list = items
            .iter()
            .map(|s| secret_json(&st.secret_name(&s.id), s))
            .collect();
        out.insert("secrets".into(), Value::Array(list));
    }
    if !next.is_empty() {
        out.insert("nextPageToken".into(), json!(next));
    }
    out.insert("totalSize".into(), json!(all.len()));
    Ok(Value::Object(out))
}

fn list_versions(
    st: &State,
    id: &str,
    param: &dyn Fn(&str) -> String,
    ints: bool,
) -> ApiResult<Value> {
    let filter = param("filter");
    let wanted = match filter.trim() {
        "" => None,
        f => Some(
            match f
                .strip_prefix("state:")
                .map(str::to_ascii_uppercase)
                .as_deref()
            {
                Some("ENABLED") => VState::Enabled,
                Some("DISABLED") => VState::Disabled,
                Some("DESTROYED") => VState::Destroyed,
                _ => {
                    return Err(ApiError::invalid(format!(
                        "The fake cannot filter by {f:?}."
                    )));
                }
            },
        ),
    };
    let secret = st.secret(id)?;
    let mut all: Vec<&Version> = secret
        .versions
        .iter()
        .filter(|v| wanted.is_none_or(|w| v.state == w))
        .collect();
    all.sort_by_key(|v| std::cmp::Reverse(v.number)); // newest first, as Secret Manager lists them
    let (items, next) = page(&all, param, st.page_cap)?;
    let mut out = Map::new();
    if !items.is_empty() {
        let name = st.secret_name(id);
        out.insert(
            "versions".into(),
            items.iter().map(|v| version_json(&name, v, ints)).collect(),
        );
    }
    if !next.is_empty() {
        out.insert("nextPageToken".into(), json!(next));
    }
    out.insert("totalSize".into(), json!(all.len()));
    Ok(Value::Object(out))
}

fn secret_json(name: &str, s: &Secret) -> Value {
    let mut out = json!({
        "name": name,
        "replication": s.replication,
        "createTime": s.created.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        "etag": s.etag,
    });
    if !s.labels.is_empty() {
        out["labels"] = json!(s.labels);
    }
    out
}

fn version_json(secret: &str, v: &Version, ints: bool) -> Value {
    let mut out = json!({
        "name": format!("{secret}/versions/{}", v.number),
        "createTime": v.created.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        "state": if ints { json!(v.state as i32) } else { json!(v.state.name()) },
        "etag": v.etag,
        "replicationStatus": {"automatic": {}},
    });
    if let Some(t) = v.destroyed {
        out["destroyTime"] = json!(t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true));
    }
    if v.client_checksum {
        out["clientSpecifiedPayloadChecksum"] = json!(true);
    }
    out
}

fn labels_of(body: &Value) -> ApiResult<Labels> {
    match body.get("labels") {
        None | Some(Value::Null) => Ok(Labels::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v.as_str() {
                Some(s) => Ok((k.clone(), s.to_string())),
                None => Err(ApiError::invalid(format!("Label {k:?} must be a string."))),
            })
            .collect(),
        Some(_) => Err(ApiError::invalid("labels must be an object.")),
    }
}

/// proto3 JSON int64: a string (what clients send) or a number.
fn int64(v: &Value) -> ApiResult<i64> {
    match v {
        Value::String(s) => s.parse().map_err(|_| ApiError::invalid("Invalid int64.")),
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| ApiError::invalid("Invalid int64.")),
        _ => Err(ApiError::invalid("Invalid int64.")),
    }
}

/// Decodes `%XX` (so `%3A` verbs and encoded `/` match as the front end sees them).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
