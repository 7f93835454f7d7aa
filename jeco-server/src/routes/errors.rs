//! The error responses of the OpenAPI document.
//!
//! Each handler's `#[utoipa::path]` lists the codes particular to it (`room_not_found`,
//! `weak_password`, ...). The codes that follow from an operation's shape are added here, so
//! that no annotation repeats them and none can forget them: `401` `unauthenticated`,
//! `invalid_token`, `token_expired` for operations behind the bearer scheme; `400`
//! `invalid_path` and `invalid_query` for those with path or query parameters; `400`
//! `invalid_json`, `invalid_content_type` and `413` `too_large` for JSON bodies (and
//! `invalid_multipart` for uploads); `500` `internal` for every operation. A response's
//! description is its codes, each with an optional note in parentheses: `room_not_found
//! (also for private rooms the caller is not in), not_a_member`.

use jeco_core::error::ErrorCode;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};

/// Operations whose body is read as raw bytes: the SSE command endpoint answers a malformed
/// frame with a `200` carrying an `error` frame, so the JSON body codes do not apply.
const RAW_BODY: &[&str] = &["/v1/sse/{session_id}/commands"];

/// Adds the codes every operation answers by its shape (see the module documentation).
pub(crate) fn complete(doc: &mut OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let raw_body = RAW_BODY.contains(&path.as_str());
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            for (status, codes) in implied_codes(op, raw_body) {
                add_codes(op, status, &codes);
            }
        }
    }
}

/// The codes `op` answers because of its shape, by status.
fn implied_codes(op: &Operation, raw_body: bool) -> Vec<(u16, Vec<ErrorCode>)> {
    let mut by_status: Vec<(u16, Vec<ErrorCode>)> = Vec::new();
    let mut add = |code: ErrorCode| match by_status.iter_mut().find(|(s, _)| *s == code.status()) {
        Some((_, codes)) => codes.push(code),
        None => by_status.push((code.status(), vec![code])),
    };
    let bearer = op.security.as_ref().is_some_and(|reqs| {
        reqs.iter()
            .any(|r| serde_json::to_value(r).is_ok_and(|v| v.get("bearer").is_some()))
    });
    if bearer {
        add(ErrorCode::Unauthenticated);
        add(ErrorCode::InvalidToken);
        add(ErrorCode::TokenExpired);
    }
    let params = op.parameters.as_deref().unwrap_or_default();
    if params.iter().any(|p| p.parameter_in == ParameterIn::Path) {
        add(ErrorCode::InvalidPath);
    }
    if params.iter().any(|p| p.parameter_in == ParameterIn::Query) {
        add(ErrorCode::InvalidQuery);
    }
    if let Some(body) = &op.request_body {
        if raw_body {
            add(ErrorCode::InvalidBody);
        } else if body.content.contains_key("multipart/form-data") {
            add(ErrorCode::InvalidMultipart);
        } else {
            add(ErrorCode::InvalidJson);
            add(ErrorCode::InvalidContentType);
        }
        add(ErrorCode::TooLarge);
    }
    add(ErrorCode::Internal);
    by_status
}

/// Makes the `status` response of `op` list `codes` (ahead of the codes it lists already),
/// creating it with an `ErrorBody` if there is none.
fn add_codes(op: &mut Operation, status: u16, codes: &[ErrorCode]) {
    let key = status.to_string();
    let responses = &mut op.responses.responses;
    let existing = match responses.get(&key) {
        Some(RefOr::T(response)) => response.description.clone(),
        Some(RefOr::Ref(_)) => return,
        None => String::new(),
    };
    let listed = items(&existing);
    let mut description: Vec<String> = codes
        .iter()
        .filter(|c| !listed.iter().any(|(code, _)| *code == c.as_str()))
        .map(|c| c.as_str().to_owned())
        .collect();
    if description.is_empty() {
        return;
    }
    if !existing.is_empty() {
        description.push(existing);
    }
    let response = ResponseBuilder::new()
        .description(description.join(", "))
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build();
    responses.insert(key, RefOr::T(response));
}

/// The codes a response description lists, each with its note: `a (note), b` is
/// `[("a", "note"), ("b", "")]`.
pub(crate) fn items(description: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, ch) in description.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(item(&description[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    if !description[start..].trim().is_empty() {
        out.push(item(&description[start..]));
    }
    out
}

fn item(raw: &str) -> (&str, &str) {
    let raw = raw.trim();
    match raw.split_once(' ') {
        Some((code, note)) => (code, note.trim()),
        None => (raw, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_split_into_codes_and_notes() {
        assert_eq!(
            items("room_not_found (also private ones, or gone), not_a_member"),
            vec![
                ("room_not_found", "(also private ones, or gone)"),
                ("not_a_member", "")
            ]
        );
        assert!(items("").is_empty());
    }
}
