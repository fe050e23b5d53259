//! The admin API's error responses, documented once.
//!
//! Most errors follow from an operation's shape, so [`add_by_shape`] adds them to every
//! operation by rule instead of each handler listing them: every route needs the admin token
//! (401) and a store that answers (503); input (parameters or a body) can be invalid (400); a
//! path parameter names something that may not exist (404); a body can be too large (413) or
//! not JSON (415). The errors only some operations have are the types below, named in those
//! handlers' `responses(...)`.

use std::collections::BTreeMap;

use utoipa::IntoResponses;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::{Content, Ref, RefOr, Response, ResponseBuilder};

/// 409: the write collides with what exists (a taken handle, code or coupon).
pub struct Conflict;

impl IntoResponses for Conflict {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        only("409", "conflicts with what exists (the error says what)")
    }
}

/// 422: the input refers to something that does not exist (an influencer, a campaign).
pub struct Unknown;

impl IntoResponses for Unknown {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        only(
            "422",
            "refers to something that does not exist (the error names it)",
        )
    }
}

fn only(status: &str, description: &str) -> BTreeMap<String, RefOr<Response>> {
    BTreeMap::from([(status.to_owned(), error(description))])
}

/// Adds the errors every operation of its shape can answer (see the module doc).
pub fn add_by_shape(item: &mut PathItem) {
    for operation in operations(item) {
        let has_path_parameter = operation
            .parameters
            .iter()
            .flatten()
            .any(|p| matches!(p.parameter_in, ParameterIn::Path));
        let has_input = operation.parameters.as_ref().is_some_and(|p| !p.is_empty())
            || operation.request_body.is_some();
        let mut add = |status: &str, description: &str| {
            operation
                .responses
                .responses
                .entry(status.to_owned())
                .or_insert_with(|| error(description));
        };
        add("401", "missing or wrong admin token");
        add(
            "503",
            "the store is unavailable or the server is busy; retry after `Retry-After`",
        );
        if has_input {
            add(
                "400",
                "invalid input (the error names the field, what was given and what is allowed)",
            );
        }
        if has_path_parameter {
            add("404", "not found");
        }
        if operation.request_body.is_some() {
            add("413", "body over 64 KiB");
            add("415", "body is not JSON");
        }
    }
}

/// The operations of a path, whichever methods it has.
pub fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// The methods a path answers, as an `Allow` header lists them.
pub fn allowed_methods(item: &PathItem) -> String {
    [
        ("GET", item.get.is_some()),
        ("PUT", item.put.is_some()),
        ("POST", item.post.is_some()),
        ("PATCH", item.patch.is_some()),
        ("DELETE", item.delete.is_some()),
        ("OPTIONS", item.options.is_some()),
        ("HEAD", item.head.is_some()),
        ("TRACE", item.trace.is_some()),
    ]
    .into_iter()
    .filter_map(|(method, present)| present.then_some(method))
    .collect::<Vec<_>>()
    .join(", ")
}

/// A JSON error response, `{"error": {"code", "message"}}`.
pub fn error(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            Content::new(Some(Ref::from_schema_name("ErrorBody"))),
        )
        .build()
        .into()
}
