//! Admins change a department (issue #21): name, kind, area served, duty number; and list and
//! change its accounts (a new password, disable). Creating one and its accounts is in
//! `departments.rs`.

use super::admin_accounts::{AccountView, UpdateAccountRequest};
use super::auth::AdminAuth;
use super::error::{ApiError, ApiJson, ApiPath, ErrorBody};
use super::state::AppState;
use crate::accounts::{Accounts, ListQuery};
use crate::departments::Departments;
use crate::departments::directory::DepartmentChange;
use crate::departments::domain::DepartmentKind;
use crate::departments::view::DepartmentView;
use crate::domain::account::{Account, Role};
use crate::push::Hub;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The department-changing routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(update_department))
        .routes(routes!(list_department_accounts))
        .routes(routes!(update_department_account))
}

/// What changes of a department (absent fields stay as they are).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentPatch {
    /// Name (no control characters or angle brackets).
    #[serde(default)]
    pub name: Option<String>,
    /// What it is (what the routing table suggests goes by it).
    #[serde(default)]
    pub kind: Option<DepartmentKind>,
    /// The area code it serves; `""`: the whole district.
    #[serde(default)]
    pub area: Option<String>,
    /// Its duty number: 5–20 digits and dashes.
    #[serde(default)]
    pub duty_phone: Option<String>,
}

/// Change a department (admins). A bad field changes nothing (422 naming it).
#[utoipa::path(patch, path = "/api/v1/admin/departments/{id}", tag = "departments", security(("admin" = [])),
    params(("id" = String, Path, description = "department id")), request_body = DepartmentPatch,
    responses((status = 200, body = DepartmentView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_department(
    State(departments): State<Departments>,
    _admin: AdminAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<DepartmentPatch>,
) -> Result<Json<DepartmentView>, ApiError> {
    let change = DepartmentChange { name: body.name, kind: body.kind, area: body.area, duty_phone: body.duty_phone };
    Ok(Json(DepartmentView::of(&departments.update_department(&id, change).await?)))
}

/// The accounts of the department `id` names (404 for an unknown one).
async fn accounts_of(departments: &Departments, accounts: &Accounts, id: &str) -> Result<Vec<Account>, ApiError> {
    let department = departments.department(id).await?;
    let query = ListQuery { q: None, area: Some(department.id.to_string()), enabled: None, offset: 0, limit: None };
    Ok(accounts.list(Role::Department, &query).await?.items)
}

/// A department's accounts, oldest first (admins).
#[utoipa::path(get, path = "/api/v1/admin/departments/{id}/accounts", tag = "departments", security(("admin" = [])),
    params(("id" = String, Path, description = "department id")),
    responses((status = 200, body = Vec<AccountView>), (status = 404, body = ErrorBody)))]
async fn list_department_accounts(
    State(departments): State<Departments>,
    State(accounts): State<Accounts>,
    _admin: AdminAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<AccountView>>, ApiError> {
    Ok(Json(accounts_of(&departments, &accounts, &id).await?.iter().map(AccountView::from).collect()))
}

/// A change to a department's account (absent fields stay as they are).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentAccountPatch {
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// The phone it logs in with (unique).
    #[serde(default)]
    pub phone: Option<String>,
    /// A new password, 8..=128 characters (its tokens stop working).
    #[serde(default)]
    pub password: Option<String>,
    /// false: it cannot log in and its tokens stop working at once.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// The WeChat openid its notices go to (empty string unbinds).
    #[serde(default)]
    pub wechat_openid: Option<String>,
}

/// Change an account of a department: reset its password, rename, disable (admins; 404 for an
/// account of another department). It stays with its department.
#[utoipa::path(patch, path = "/api/v1/admin/departments/{id}/accounts/{account}", tag = "departments",
    security(("admin" = [])), request_body = DepartmentAccountPatch,
    params(("id" = String, Path, description = "department id"), ("account" = String, Path, description = "account id")),
    responses((status = 200, body = AccountView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_department_account(
    State(departments): State<Departments>,
    State(accounts): State<Accounts>,
    State(hub): State<Hub>,
    admin: AdminAuth,
    ApiPath((id, account)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<DepartmentAccountPatch>,
) -> Result<Json<AccountView>, ApiError> {
    if !accounts_of(&departments, &accounts, &id).await?.iter().any(|a| a.id.to_string() == account) {
        return Err(ApiError::not_found());
    }
    let change = UpdateAccountRequest {
        name: body.name,
        phone: body.phone,
        password: body.password,
        specialties: None,
        capacity: None,
        area: None,
        enabled: body.enabled,
        wechat_openid: body.wechat_openid,
    };
    super::admin_accounts::update(&accounts, &hub, &admin, Role::Department, &account, change).await
}
