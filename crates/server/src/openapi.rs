//! `GET /api/v1/openapi.json`: the API document (OpenAPI 3.1), made from the code rather than
//! kept by hand. Each handler declares its route with `#[utoipa::path]` beside it; the reports
//! are made from the catalog (`tenure_reports::CATALOG`): one path per report, with its own
//! parameters (their values where they are a fixed list) and its own row type; and every
//! operation gets the error answers of `docs/api.md`'s table, in the one shape
//! (`ErrorBody`) they all have.

use tenure_ingest::segment::Endpoint;
use tenure_reports::row::Schemas;
use tenure_reports::{Param, ParamKind, Report, ReportEntry, ReportSpec, CATALOG, MAX_LIMIT};
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{AllOfBuilder, ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, RefOr, Required};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use crate::error::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "tenure",
        description = "Segment-compatible ingest, Stripe webhooks, and the reports and live \
                       account status of a workspace. Keys: a write key sends (HTTP Basic with \
                       the key as user name, as Segment's SDKs do, or Bearer), a read key \
                       reads, an admin key does both and manages keys.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        crate::app::healthz,
        crate::metrics::scrape,
        crate::ingest::receive,
        crate::browser::analytics_js_settings,
        crate::browser::rudderstack_source_config,
        crate::webhooks::stripe_default,
        crate::webhooks::stripe_workspace,
        crate::app::read_status,
        crate::app::read_account_status,
        crate::app::read_account_history,
        crate::app::list_reports,
        serve,
        crate::keys::list,
        crate::keys::create,
        crate::keys::revoke,
        crate::playbooks_api::list_playbooks,
        crate::playbooks_api::list_firings,
        crate::playbooks_api::dry_run,
        crate::playbooks_api::replay,
        crate::playbooks_api::account_playbooks,
        crate::playbooks_api::list_deliveries,
        crate::playbooks_api::read_delivery,
        crate::playbooks_api::retry_delivery,
        crate::playbooks_api::retry_dead,
        crate::playbooks_api::list_tasks,
        crate::playbooks_api::assign_task,
        crate::playbooks_api::complete_task,
        crate::playbooks_api::snooze_task,
        crate::conversions_api::conversion_status,
        crate::conversions_api::conversion_log,
        crate::conversions_api::conversions_dry_run,
    ),
    components(schemas(ErrorBody, Report, ReportEntry)),
    modifiers(&Security, &Reports, &Ingest, &Errors),
)]
struct ApiDoc;

/// The document, built once per process.
pub(crate) fn document() -> &'static str {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DOCUMENT.get_or_init(|| {
        ApiDoc::openapi()
            .to_json()
            .expect("the API document serializes")
    })
}

/// Where a key goes: Basic with the key as user name (what Segment's SDKs send) or Bearer.
struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        doc.security = Some(vec![
            SecurityRequirement::new("basic", Vec::<String>::new()),
            SecurityRequirement::new("bearer", Vec::<String>::new()),
        ]);
    }
}

/// The ingest route's `{kind}` is one of the Segment endpoints, and `/beacon/v1/{kind}` is the
/// same route again, where RudderStack's JS SDK sends beacons.
struct Ingest;

impl Modify for Ingest {
    fn modify(&self, doc: &mut Document) {
        let Some(mut ingest) = doc.paths.paths.get("/v1/{kind}").cloned() else {
            return;
        };
        let kinds = Endpoint::ALL.map(Endpoint::as_str);
        if let Some(post) = ingest.post.as_mut() {
            for parameter in post.parameters.iter_mut().flatten() {
                if parameter.name == "kind" {
                    parameter.schema = Some(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .enum_values(Some(kinds))
                            .into(),
                    );
                }
            }
        }
        doc.paths
            .paths
            .insert("/v1/{kind}".to_owned(), ingest.clone());
        if let Some(post) = ingest.post.as_mut() {
            post.operation_id = Some("receive_beacon".to_owned());
        }
        doc.paths
            .paths
            .insert("/beacon/v1/{kind}".to_owned(), ingest);
    }
}

/// One path per report of the catalog.
struct Reports;

impl Modify for Reports {
    fn modify(&self, doc: &mut Document) {
        let mut schemas = Schemas::new();
        for spec in CATALOG {
            let path = format!("/api/v1/reports/{}", spec.name);
            let ok = ResponseBuilder::new()
                .description(format!("The {} report", spec.name))
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(report_schema(spec, &mut schemas)))
                        .build(),
                )
                .build();
            let get = OperationBuilder::new()
                .tag("reports")
                .operation_id(Some(format!("report_{}", spec.name.replace('-', "_"))))
                .summary(Some(spec.about))
                .parameters(Some(parameters(spec)))
                .response("200", ok.clone())
                .build();
            doc.paths
                .add_path_operation(&path, vec![HttpMethod::Get], get);
            if spec.params.contains(&Param::Proposed) {
                let body = RequestBodyBuilder::new()
                    .description(Some(
                        "A configuration file (TOML) whose [health] is the proposal compared \
                         with the current one",
                    ))
                    .content(
                        "text/plain",
                        ContentBuilder::new().schema(Some(String::schema())).build(),
                    )
                    .required(Some(Required::True))
                    .build();
                let post = OperationBuilder::new()
                    .tag("reports")
                    .operation_id(Some(format!(
                        "report_{}_proposed",
                        spec.name.replace('-', "_")
                    )))
                    .summary(Some(spec.about))
                    .parameters(Some(parameters(spec)))
                    .request_body(Some(body))
                    .response("200", ok)
                    .build();
                doc.paths
                    .add_path_operation(&path, vec![HttpMethod::Post], post);
            }
        }
        let components = doc.components.get_or_insert_with(Default::default);
        for (name, schema) in schemas {
            components.schemas.insert(name, schema);
        }
    }
}

/// The report's answer: the common envelope with the report's own rows.
fn report_schema(
    spec: &ReportSpec,
    schemas: &mut Schemas,
) -> RefOr<utoipa::openapi::schema::Schema> {
    let mut rows =
        ObjectBuilder::new().property("rows", ArrayBuilder::new().items((spec.rows)(schemas)));
    if let Some(summary) = spec.summary {
        rows = rows.property("summary", summary(schemas));
    }
    AllOfBuilder::new()
        .item(Ref::from_schema_name(Report::name()))
        .item(rows)
        .into()
}

/// The query parameters of a report: `as_of`, and those the catalog says it takes.
fn parameters(spec: &ReportSpec) -> Vec<utoipa::openapi::path::Parameter> {
    let as_of = ParameterBuilder::new()
        .name("as_of")
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(tenure_reports::AS_OF.description))
        .schema(Some(String::schema()))
        .build();
    let declared = spec
        .params
        .iter()
        .filter(|p| p.kind() != ParamKind::File)
        .map(|&param| {
            ParameterBuilder::new()
                .name(param.name())
                .parameter_in(ParameterIn::Query)
                .required(if spec.requires(param) {
                    Required::True
                } else {
                    Required::False
                })
                .description(Some(param.help()))
                .schema(Some(param_schema(spec, param)))
                .build()
        });
    std::iter::once(as_of).chain(declared).collect()
}

fn param_schema(spec: &ReportSpec, param: Param) -> RefOr<utoipa::openapi::schema::Schema> {
    let values = match param {
        Param::By => spec
            .entry()
            .by
            .filter(|by| !by.group_traits)
            .map(|by| by.values),
        _ => param.values(),
    };
    match (param.kind(), values) {
        (ParamKind::Flag, _) => bool::schema(),
        (ParamKind::Integer, _) => ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(MAX_LIMIT as f64))
            .into(),
        (_, Some(values)) => ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(values))
            .into(),
        _ => String::schema(),
    }
}

/// The error answers every operation may give, each `ErrorBody` (docs/api.md, "Errors").
struct Errors;

const ERRORS: &[(&str, &str)] = &[
    ("400", "Input that can never succeed as sent: a parameter, body or signature"),
    ("401", "No key, an unknown key, or an unreadable Authorization header"),
    ("403", "A key whose scope does not allow the call"),
    ("404", "No such route, report, account, key, workspace, delivery or task"),
    ("405", "The path exists but not for this method"),
    ("408", "The request or its body was too slow"),
    ("409", "A retry of a delivery that was delivered already: nothing was changed"),
    ("413", "A message, batch or event over its limit"),
    ("415", "A Content-Encoding other than gzip or none"),
    ("422", "Too little data for the report"),
    ("429", "The workspace's rate limit is exceeded; Retry-After says when to retry"),
    ("500", "A report failed on the configuration; the server log says why"),
    ("503", "The store cannot accept writes now, the connection limit is reached, a report ran past its budget, or a webhook secret is not configured; Retry-After says when to retry"),
];

impl Modify for Errors {
    fn modify(&self, doc: &mut Document) {
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name(ErrorBody::name())))
                        .build(),
                )
                .build()
        };
        for item in doc.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.post, &mut item.delete];
            for operation in operations.into_iter().flatten() {
                for (status, description) in ERRORS {
                    operation
                        .responses
                        .responses
                        .entry((*status).to_owned())
                        .or_insert_with(|| error(description).into());
                }
            }
        }
    }
}

/// `GET /api/v1/openapi.json`.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "api",
    security(()),
    responses((status = 200, description = "This document (OpenAPI 3.1)", body = Object))
)]
pub(crate) async fn serve() -> ([(axum::http::HeaderName, &'static str); 1], &'static str) {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        document(),
    )
}
