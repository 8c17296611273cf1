//! The router: every route of the service in one table, each in an access group whose guard runs
//! before the handler. The same table is what the access-matrix test walks ([`route_table`]), so a
//! route cannot be added without saying who may call it, and cannot be added unguarded.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::from_extractor_with_state;
use axum::routing::{MethodFilter, MethodRouter, on};

use super::auth::{Access, Admin, AnyToken, ApplicationCaller, Bank, Staff};
use super::json::json_unless_image;
use super::routes::applications::{self, decisions, documents};
use super::routes::{admin, cards, keys, ops, status, verify};
use super::{AppState, ISSUE_LIMIT, apply, console, pages};

/// One route: its method, its path template and who may call it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    /// The HTTP method.
    pub method: Method,
    /// The path template, as axum writes it (`/api/v1/cards/{serial}`).
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
}

/// How large a route's request body may be.
#[derive(Debug, Clone, Copy)]
enum Body {
    /// The service's JSON limit, [`super::JSON_LIMIT`].
    Json,
    /// At most this many bytes.
    UpTo(usize),
    /// An image up to [`verify::IMAGE_LIMIT`], anything else within the JSON limit.
    ImageOrJson,
}

impl RouteInfo {
    /// The roles that may call it, for the token groups; `None` for public and console routes.
    pub fn roles(&self) -> Option<&'static [rescard_store::Role]> {
        self.access.roles()
    }
}

/// Builds the router and its table together.
struct Routes {
    state: AppState,
    router: Router<AppState>,
    table: Vec<RouteInfo>,
}

impl Routes {
    /// Adds `handler` for `method` at `path`, guarded for `access`, with the service's default body
    /// limit.
    fn add<H, T>(self, access: Access, method: Method, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add_limited(access, method, path, Body::Json, handler)
    }

    /// Like [`Self::add`], with a body limit of its own.
    fn add_limited<H, T>(
        mut self,
        access: Access,
        method: Method,
        path: &'static str,
        body_limit: Body,
        handler: H,
    ) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone())
            .unwrap_or_else(|_| unreachable!("the router only uses standard methods"));
        let mut route: MethodRouter<AppState> = on(filter, handler);
        match body_limit {
            Body::Json => {}
            Body::UpTo(limit) => route = route.layer(DefaultBodyLimit::max(limit)),
            Body::ImageOrJson => {
                route = route
                    .layer(DefaultBodyLimit::max(verify::IMAGE_LIMIT))
                    .layer(axum::middleware::from_fn(json_unless_image));
            }
        }
        // The guard is a route layer: it runs before the handler's extractors, so a request that may
        // not be made is refused before its body is read.
        let state = self.state.clone();
        route = match access {
            Access::Public | Access::Console | Access::ApplyPages => route,
            Access::AnyToken => route.route_layer(from_extractor_with_state::<AnyToken, _>(state)),
            Access::Staff => route.route_layer(from_extractor_with_state::<Staff, _>(state)),
            Access::Admin => route.route_layer(from_extractor_with_state::<Admin, _>(state)),
            Access::Bank => route.route_layer(from_extractor_with_state::<Bank, _>(state)),
            Access::Applicant => {
                route.route_layer(from_extractor_with_state::<ApplicationCaller, _>(state))
            }
        };
        self.router = self.router.route(path, route);
        self.table.push(RouteInfo {
            method,
            path,
            access,
        });
        self
    }
}

/// Every route, in its access group.
fn routes(state: AppState) -> Routes {
    use Access::{Admin, AnyToken, Applicant, ApplyPages, Bank, Console, Public, Staff};
    use Method as M;
    Routes {
        state,
        router: Router::new(),
        table: Vec::new(),
    }
    // Cards: issuing staff.
    .add_limited(
        Staff,
        M::POST,
        "/api/v1/cards",
        Body::UpTo(ISSUE_LIMIT),
        cards::issue,
    )
    .add(Staff, M::GET, "/api/v1/cards/{serial}", cards::get)
    .add(
        Staff,
        M::GET,
        "/api/v1/cards/{serial}/qr.png",
        cards::qr_png,
    )
    .add(
        Staff,
        M::GET,
        "/api/v1/cards/{serial}/card.png",
        cards::card_png,
    )
    .add(
        Staff,
        M::POST,
        "/api/v1/cards/{serial}/extensions",
        cards::extend,
    )
    .add(
        Staff,
        M::POST,
        "/api/v1/cards/{serial}/suspension",
        cards::suspend,
    )
    .add(
        Staff,
        M::DELETE,
        "/api/v1/cards/{serial}/suspension",
        cards::reinstate,
    )
    .add(
        Staff,
        M::POST,
        "/api/v1/cards/{serial}/revocation",
        cards::revoke,
    )
    .add(
        Staff,
        M::POST,
        "/api/v1/cards/{serial}/replacement",
        cards::replace,
    )
    // Applications: filed by anyone, completed by their applicant, paid at a bank, decided by staff.
    .add(Public, M::POST, "/api/v1/applications", applications::file)
    .add(Staff, M::GET, "/api/v1/applications", applications::queue)
    .add(
        Applicant,
        M::GET,
        "/api/v1/applications/{id}",
        applications::get,
    )
    .add_limited(
        Applicant,
        M::PUT,
        "/api/v1/applications/{id}/documents/{name}",
        Body::UpTo(documents::DOCUMENT_LIMIT),
        documents::put,
    )
    .add(
        Staff,
        M::GET,
        "/api/v1/applications/{id}/documents/{name}",
        documents::get,
    )
    .add(
        Applicant,
        M::POST,
        "/api/v1/applications/{id}/submission",
        decisions::submit,
    )
    .add(
        Applicant,
        M::POST,
        "/api/v1/applications/{id}/withdrawal",
        decisions::withdraw,
    )
    .add(
        Bank,
        M::POST,
        "/api/v1/applications/{id}/payment",
        decisions::pay,
    )
    .add(
        Staff,
        M::POST,
        "/api/v1/applications/{id}/review",
        decisions::review,
    )
    .add(
        Staff,
        M::POST,
        "/api/v1/applications/{id}/decision",
        decisions::decide,
    )
    .add(
        Applicant,
        M::GET,
        "/api/v1/applications/{id}/card.png",
        documents::card_png,
    )
    .add(
        Applicant,
        M::GET,
        "/api/v1/applications/{id}/qr.png",
        documents::qr_png,
    )
    // Checks.
    .add_limited(
        Public,
        M::POST,
        "/api/v1/verify",
        Body::ImageOrJson,
        verify::verify,
    )
    .add_limited(
        AnyToken,
        M::POST,
        "/api/v1/verify/batch",
        Body::UpTo(verify::BATCH_BODY_LIMIT),
        verify::verify_batch,
    )
    // What checkers copy.
    .add(Public, M::GET, "/api/v1/keys", keys::list)
    .add(Public, M::GET, "/api/v1/keys/signed", status::signed_keys)
    .add(Public, M::GET, "/api/v1/status", status::snapshot)
    // Operations.
    .add(Admin, M::GET, "/api/v1/audit", admin::audit)
    .add(Admin, M::GET, "/api/v1/tokens", admin::tokens)
    .add(Admin, M::POST, "/api/v1/tokens", admin::create_token)
    .add(
        Admin,
        M::DELETE,
        "/api/v1/tokens/{name}",
        admin::revoke_token,
    )
    .add(Admin, M::GET, "/metrics", ops::metrics)
    .add(Public, M::GET, "/api/v1/openapi.json", ops::openapi)
    .add(Public, M::GET, "/healthz", ops::healthz)
    // The public check page.
    .add(Public, M::GET, "/", pages::index)
    .add_limited(
        Public,
        M::POST,
        "/check",
        Body::UpTo(verify::IMAGE_LIMIT),
        pages::check,
    )
    .add(Public, M::GET, "/static/app.css", pages::stylesheet)
    // The applicant's pages.
    .add(ApplyPages, M::GET, "/apply", apply::index)
    .add(ApplyPages, M::GET, "/apply/{kind}", apply::form)
    .add(ApplyPages, M::POST, "/apply/{kind}", apply::file)
    .add(ApplyPages, M::POST, "/apply/status", apply::open)
    .add(ApplyPages, M::GET, "/apply/status/{id}", apply::status)
    .add_limited(
        ApplyPages,
        M::POST,
        "/apply/status/{id}/documents",
        Body::UpTo(documents::DOCUMENT_LIMIT + 64 * 1024),
        apply::upload,
    )
    .add(
        ApplyPages,
        M::POST,
        "/apply/status/{id}/submission",
        apply::submit,
    )
    .add(
        ApplyPages,
        M::POST,
        "/apply/status/{id}/withdrawal",
        apply::withdraw,
    )
    .add(
        ApplyPages,
        M::GET,
        "/apply/status/{id}/{file}",
        apply::image,
    )
    // The staff console: its own sessions.
    .add(Console, M::GET, "/console", console::index)
    .add(Console, M::POST, "/console/sign-in", console::sign_in)
    .add(Console, M::POST, "/console/sign-out", console::sign_out)
    .add(Console, M::GET, "/console/find", console::find)
    .add_limited(
        Console,
        M::POST,
        "/console/issue",
        Body::UpTo(ISSUE_LIMIT),
        console::issue,
    )
    .add(Console, M::GET, "/console/cards/{serial}", console::card)
    .add(
        Console,
        M::POST,
        "/console/cards/{serial}/{act}",
        console::act,
    )
    .add(
        Console,
        M::GET,
        "/console/cards/{serial}/{act}",
        console::image,
    )
    .add(
        Console,
        M::GET,
        "/console/applications",
        console::application_queue,
    )
    .add(
        Console,
        M::GET,
        "/console/applications/{id}",
        console::application,
    )
    .add(
        Console,
        M::POST,
        "/console/applications/{id}/review",
        console::review_application,
    )
    .add(
        Console,
        M::POST,
        "/console/applications/{id}/decision",
        console::decide_application,
    )
    .add(
        Console,
        M::GET,
        "/console/applications/{id}/documents/{name}",
        console::application_document,
    )
    .add(Console, M::GET, "/console/stats", console::stats)
    .add(Console, M::GET, "/console/stats.csv", console::stats_csv)
    .add(Console, M::GET, "/console/audit", console::audit)
}

/// The service's routes (without the layers every request passes, see `super::router`).
pub(super) fn build(state: AppState) -> Router<AppState> {
    routes(state).router
}

/// Every route of the service with who may call it, as the router enforces it.
pub fn route_table(state: AppState) -> Vec<RouteInfo> {
    routes(state).table
}
