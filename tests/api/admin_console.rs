//! The admin console's API (issue #17): staff lists searched and paged on the server, edits
//! (phone, openid, disable) audited, admin accounts whose tokens can be revoked, CSV import
//! and export, and area outlines checked against their parent and siblings.

use crate::helpers::{Backend, TestApp, phone, spawn_app};
use crate::on_both_stores;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_stores!(
    staff_lists_are_searched_and_paged_on_the_server,
    an_admin_edits_phone_openid_and_enabled_and_each_change_is_audited,
    admin_accounts_log_in_and_their_tokens_can_be_revoked,
    a_csv_import_writes_the_good_rows_together_and_reports_the_bad_ones,
    a_strict_import_with_a_bad_row_writes_nothing,
    outlines_that_leave_their_parent_or_overlap_a_sibling_are_refused_with_the_reason,
);

async fn create(app: &TestApp, kind: &str, body: Value) -> Value {
    let (s, created) = app.post(&format!("/api/v1/admin/{kind}"), Some(&app.admin_token()), body).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    created
}

async fn login(app: &TestApp, phone: &str, password: &str) -> (StatusCode, Value) {
    app.post("/api/v1/auth/login", None, json!({ "phone": phone, "password": password })).await
}

/// GET a list; its items and `X-Total-Count`.
async fn page(app: &TestApp, path: &str) -> (Vec<Value>, u64) {
    let resp = app.http().get(format!("{}{path}", app.base)).bearer_auth(app.admin_token()).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "{path}");
    let total = resp.headers()["x-total-count"].to_str().unwrap().parse().unwrap();
    let items: Value = resp.json().await.unwrap();
    (items.as_array().unwrap().clone(), total)
}

async fn import(app: &TestApp, kind: &str, query: &str, file: Vec<u8>) -> (StatusCode, Value) {
    let resp = app
        .http()
        .post(format!("{}/api/v1/admin/import/{kind}{query}", app.base))
        .bearer_auth(app.admin_token())
        .header("content-type", "text/csv")
        .body(file)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap())
}

async fn staff_lists_are_searched_and_paged_on_the_server(backend: Backend) {
    let app = spawn_app(backend).await;
    for (i, name) in ["王建国", "王秀英", "李明", "张伟", "王芳"].iter().enumerate() {
        let area = if i % 2 == 0 { "G-1" } else { "G-2" };
        create(&app, "mediators", json!({ "name": name, "phone": phone(), "password": "s3cret-pass", "area": area }))
            .await;
    }
    let (all, total) = page(&app, "/api/v1/admin/mediators").await;
    assert_eq!((all.len(), total), (5, 5), "no paging asked: everything, as before");

    let (first, total) = page(&app, "/api/v1/admin/mediators?q=%E7%8E%8B&limit=2").await;
    assert_eq!(total, 3, "three named 王");
    assert_eq!(first.iter().map(|m| m["name"].clone()).collect::<Vec<_>>(), [json!("王建国"), json!("王秀英")]);
    let (rest, _) = page(&app, "/api/v1/admin/mediators?q=%E7%8E%8B&limit=2&offset=2").await;
    assert_eq!(rest.iter().map(|m| m["name"].clone()).collect::<Vec<_>>(), [json!("王芳")]);

    let suffix = all[3]["phone"].as_str().unwrap()[7..].to_owned();
    let (by_phone, _) = page(&app, &format!("/api/v1/admin/mediators?q={suffix}")).await;
    assert!(by_phone.iter().any(|m| m["name"] == "张伟"), "phone digits find the person");
    let (in_area, total) = page(&app, "/api/v1/admin/mediators?area=G-2").await;
    assert_eq!((total, in_area.iter().all(|m| m["area"] == "G-2")), (2, true));

    let path = format!("/api/v1/admin/mediators/{}", all[0]["id"].as_str().unwrap());
    app.call(Method::PATCH, &path, Some(&app.admin_token()), Some(json!({ "enabled": false }))).await;
    let (_, total) = page(&app, "/api/v1/admin/mediators?enabled=false").await;
    assert_eq!(total, 1);
    for bad in ["limit=0", "limit=501", "offset=-1", "enabled=maybe"] {
        let (s, b) = app.get(&format!("/api/v1/admin/mediators?{bad}"), Some(&app.admin_token())).await;
        assert!(s == StatusCode::UNPROCESSABLE_ENTITY || s == StatusCode::BAD_REQUEST, "{bad}: {s} {b}");
    }
}

async fn an_admin_edits_phone_openid_and_enabled_and_each_change_is_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin_phone = phone();
    let admin =
        create(&app, "admins", json!({ "name": "系统管理员", "phone": admin_phone, "password": "admin-pass-1" })).await;
    let (_, session) = login(&app, &admin_phone, "admin-pass-1").await;
    let token = session["access_token"].as_str().unwrap().to_owned();
    let (old_phone, new_phone) = (phone(), phone());
    let m = create(&app, "mediators", json!({ "name": "赵调解", "phone": old_phone, "password": "s3cret-pass" })).await;
    let path = format!("/api/v1/admin/mediators/{}", m["id"].as_str().unwrap());
    let patch = |body: Value| app.call(Method::PATCH, &path, Some(&token), Some(body));

    let (s, changed) = patch(json!({ "phone": new_phone, "wechat_openid": "oWx-123_abc" })).await;
    assert_eq!(s, StatusCode::OK, "{changed}");
    assert_eq!(
        (changed["phone"].as_str(), changed["wechat_openid"].as_str()),
        (Some(&*new_phone), Some("oWx-123_abc"))
    );
    assert_eq!(login(&app, &old_phone, "s3cret-pass").await.0, StatusCode::UNAUTHORIZED, "the old phone is gone");
    assert_eq!(login(&app, &new_phone, "s3cret-pass").await.0, StatusCode::OK, "the new one logs in");
    let taken = create(&app, "operators", json!({ "name": "值班", "phone": phone(), "password": "s3cret-pass" })).await;
    let (s, err) = patch(json!({ "phone": taken["phone"] })).await;
    assert_eq!((s, err["error"]["code"].clone()), (StatusCode::CONFLICT, json!("phone_taken")));
    for bad in
        [json!({ "name": "<script>x</script>" }), json!({ "name": "a\u{0007}b" }), json!({ "wechat_openid": "o/x" })]
    {
        assert_eq!(patch(bad.clone()).await.0, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    assert_eq!(patch(json!({ "enabled": false })).await.0, StatusCode::OK);
    assert_eq!(patch(json!({ "password": "new-pass-123" })).await.0, StatusCode::OK);

    let (s, audit) = app.get("/api/v1/admin/audit?limit=20", Some(&token)).await;
    assert_eq!(s, StatusCode::OK, "{audit}");
    let about_m: Vec<&Value> =
        audit["items"].as_array().unwrap().iter().filter(|e| e["target_id"] == m["id"]).collect();
    let actions: Vec<&str> = about_m.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["password_reset", "account_disabled", "openid_bound", "phone_changed", "account_created"],
        "newest first: {audit}"
    );
    assert!(about_m[..4].iter().all(|e| e["actor_id"] == admin["id"] && e["actor_name"] == "系统管理员"), "{audit}");
    assert_eq!(about_m[4]["actor_id"], "ops-admin", "created with the CLI token");
    let (_, second) = app.get("/api/v1/admin/audit?limit=2&offset=1", Some(&token)).await;
    assert_eq!(second["items"][0], audit["items"][1], "paged");
    assert_eq!(second["total"], audit["total"]);
}

async fn admin_accounts_log_in_and_their_tokens_can_be_revoked(backend: Backend) {
    let app = spawn_app(backend).await;
    let p = phone();
    let admin = create(&app, "admins", json!({ "name": "信息科", "phone": p, "password": "admin-pass-1" })).await;
    let (s, session) = login(&app, &p, "admin-pass-1").await;
    assert_eq!((s, session["role"].clone()), (StatusCode::OK, json!("admin")), "{session}");
    let token = session["access_token"].as_str().unwrap().to_owned();
    let (s, _) = app.get("/api/v1/admin/mediators", Some(&token)).await;
    assert_eq!(s, StatusCode::OK, "an admin account administers");
    let (_, list) = app.get("/api/v1/admin/admins", Some(&token)).await;
    assert_eq!(list[0]["id"], admin["id"]);

    let revoke = format!("/api/v1/admin/accounts/{}/revoke", admin["id"].as_str().unwrap());
    let (s, _) = app.post(&revoke, Some(&app.admin_token()), json!({})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(app.get("/api/v1/admin/mediators", Some(&token)).await.0, StatusCode::UNAUTHORIZED, "revoked");
    let (_, again) = login(&app, &p, "admin-pass-1").await;
    let fresh = again["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/v1/admin/mediators", Some(&fresh)).await.0, StatusCode::OK, "a new login works");

    let path = format!("/api/v1/admin/admins/{}", admin["id"].as_str().unwrap());
    let ops = app.admin_token();
    let set = |enabled: bool| app.call(Method::PATCH, &path, Some(&ops), Some(json!({ "enabled": enabled })));
    assert_eq!(set(false).await.0, StatusCode::OK);
    assert_eq!(app.get("/api/v1/admin/mediators", Some(&fresh)).await.0, StatusCode::UNAUTHORIZED, "disabled");
    assert_eq!(set(true).await.0, StatusCode::OK);
    assert_eq!(
        app.get("/api/v1/admin/mediators", Some(&fresh)).await.0,
        StatusCode::UNAUTHORIZED,
        "enabling again does not revive a token from before the disabling"
    );

    // Revocation is for any account: an operator's session too.
    let op = app.operator("值班员").await;
    let (s, _) =
        app.post(&format!("/api/v1/admin/accounts/{}/revoke", op.id), Some(&app.admin_token()), json!({})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(app.get("/api/v1/command/incidents", Some(&op.token)).await.0, StatusCode::UNAUTHORIZED);
    let (s, _) = app.post("/api/v1/admin/accounts/nope/revoke", Some(&app.admin_token()), json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// A staff list of `rows` mediators as Excel on Chinese Windows saves it (GBK), with the rows
/// numbered in `bad` (Excel's numbering: the header is row 1) broken in three different ways.
fn staff_csv(rows: usize, first_phone: u64, bad: &[usize]) -> String {
    let mut csv = String::from("姓名,手机,专长,容量,区域\r\n");
    for i in 0..rows {
        let row = i + 2;
        let phone = format!("{}", first_phone + i as u64);
        let line = match bad.iter().position(|&b| b == row) {
            Some(0) => format!("错号{i},1380000,邻里纠纷,3,\r\n"),
            Some(1) => format!("专长{i},{phone},做饭,3,\r\n"),
            Some(_) => format!("重复{i},{},婚姻家庭,3,\r\n", first_phone),
            None => format!("调解员{i},{phone},邻里纠纷、family,2,G-{}\r\n", i % 7),
        };
        csv.push_str(&line);
    }
    csv
}

fn first_phone() -> u64 {
    // A block of 200 numbers no other test uses (helpers::phone() starts with 139).
    13_700_000_000 + u64::from(std::process::id() % 9_000) * 1_000
}

async fn a_csv_import_writes_the_good_rows_together_and_reports_the_bad_ones(backend: Backend) {
    let app = spawn_app(backend).await;
    let start = first_phone();
    let text = staff_csv(200, start, &[17, 88, 150]);
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    let (s, report) = import(&app, "mediators", "", gbk.into_owned()).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["imported"], 197, "{report}");
    let rejected: Vec<(u64, &str)> = report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    assert_eq!(rejected, [(17, "phone"), (88, "specialties"), (150, "phone")], "{report}");
    assert!(report["rejected"][2]["reason"].as_str().unwrap().contains("row 2"), "{report}");

    let (items, total) = page(&app, "/api/v1/admin/mediators?q=%E8%B0%83%E8%A7%A3%E5%91%98&limit=1").await;
    assert_eq!(total, 197);
    assert_eq!(items[0]["specialties"], json!(["neighbor", "family"]));
    assert_eq!(items[0]["password_set"], false);
    let imported_phone = items[0]["phone"].as_str().unwrap().to_owned();
    assert_eq!(login(&app, &imported_phone, "").await.0, StatusCode::UNAUTHORIZED, "no password: no login yet");

    // A second file naming a phone that is now registered, as UTF-8 with a BOM: that row is
    // reported and the rest written.
    let text =
        format!("\u{feff}name,phone,password\r\n新人,{},first-pass-1\r\n老人,{imported_phone},x-pass-123\r\n", phone());
    let (s, report) = import(&app, "operators", "", text.into_bytes()).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!((report["imported"].clone(), report["rejected"][0]["row"].clone()), (json!(1), json!(3)), "{report}");

    // The export opens in Excel and imports back.
    let resp = app
        .http()
        .get(format!("{}/api/v1/admin/export/mediators", app.base))
        .bearer_auth(app.admin_token())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let bytes = resp.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 with BOM");
    let text = std::str::from_utf8(&bytes).unwrap();
    assert_eq!(text.matches("\r\n").count(), 198, "a header and 197 rows, CRLF");
    assert!(text.contains("邻里纠纷、婚姻家庭"), "specialties in words");
    let (s, again) = import(&app, "mediators", "", bytes.to_vec()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "every phone is taken: {again}");
    assert_eq!(
        (again["error"]["code"].clone(), again["rejected"].as_array().unwrap().len()),
        (json!("import_refused"), 197)
    );

    let (_, audit) = app.get("/api/v1/admin/audit", Some(&app.admin_token())).await;
    assert_eq!(audit["items"][0]["action"], "accounts_imported");
    assert_eq!(audit["items"][1]["detail"], "197 mediators");
}

async fn a_strict_import_with_a_bad_row_writes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (s, report) = import(&app, "mediators", "?strict=true", staff_csv(50, first_phone(), &[40]).into_bytes()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{report}");
    assert_eq!(
        report["rejected"],
        json!([{ "row": 40, "field": "phone", "reason": "phone must be an 11-digit mainland mobile number" }])
    );
    let (_, total) = page(&app, "/api/v1/admin/mediators").await;
    assert_eq!(total, 0, "nothing half-imported");
    let (s, _) = import(&app, "mediators", "?strict=true", staff_csv(50, first_phone(), &[]).into_bytes()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(page(&app, "/api/v1/admin/mediators").await.1, 50);

    for (file, why) in [
        (b"\xff\xfe\x00n".to_vec(), "not text"),
        (b"name\r\nx\r\n".to_vec(), "no phone column"),
        ("名字,手机\r\n".as_bytes().to_vec(), "unknown column"),
    ] {
        let (s, b) = import(&app, "mediators", "", file).await;
        assert_eq!(
            (s, b["error"]["code"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("invalid_field")),
            "{why}: {b}"
        );
    }
    let (s, _) = import(&app, "nobody", "", b"name,phone\r\n".to_vec()).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

fn rect(w: f64, s: f64, e: f64, n: f64) -> Value {
    json!({ "type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]] })
}

async fn put_area(
    app: &TestApp,
    code: &str,
    name: &str,
    level: &str,
    parent: Option<&str>,
    geometry: Value,
) -> (StatusCode, Value) {
    let body = json!({ "code": code, "name": name, "level": level, "parent": parent, "geometry": geometry });
    app.post("/api/v1/admin/areas", Some(&app.admin_token()), body).await
}

async fn outlines_that_leave_their_parent_or_overlap_a_sibling_are_refused_with_the_reason(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token();
    let (w, s) = (101.74, 36.60);
    assert_eq!(
        put_area(&app, "D", "城中区", "district", None, rect(w, s, w + 0.08, s + 0.04)).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        put_area(&app, "S1", "南关街道", "street", Some("D"), rect(w, s, w + 0.04, s + 0.04)).await.0,
        StatusCode::CREATED
    );
    let (status, err) =
        put_area(&app, "S2", "人民街街道", "street", Some("D"), rect(w + 0.03, s, w + 0.07, s + 0.04)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    let message = err["error"]["message"].as_str().unwrap();
    assert!(message.contains("overlaps 南关街道 (S1)"), "{message}");
    let (status, err) =
        put_area(&app, "S3", "出界街道", "street", Some("D"), rect(w + 0.06, s, w + 0.10, s + 0.04)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    let message = err["error"]["message"].as_str().unwrap();
    assert!(message.contains("outside its parent 城中区 (D)") && message.contains("50%"), "{message}");
    assert_eq!(
        put_area(&app, "S2", "人民街街道", "street", Some("D"), rect(w + 0.04, s, w + 0.08, s + 0.04)).await.0,
        StatusCode::CREATED,
        "side by side"
    );

    // A community uploaded under the wrong street is moved to the right one, if it fits there.
    let community = rect(w + 0.05, s, w + 0.07, s + 0.02);
    let (status, err) = put_area(&app, "C1", "人民街社区", "community", Some("S1"), community.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "outside S1: {err}");
    let inside_s1 = rect(w + 0.01, s, w + 0.03, s + 0.02);
    assert_eq!(put_area(&app, "C1", "南滩社区", "community", Some("S1"), inside_s1).await.0, StatusCode::CREATED);
    let (status, err) =
        app.call(Method::PATCH, "/api/v1/admin/areas/C1", Some(&admin), Some(json!({ "parent": "S2" }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "it does not lie in S2: {err}");
    assert_eq!(put_area(&app, "C2", "人民街社区", "community", Some("S2"), community).await.0, StatusCode::CREATED);
    let (status, moved) =
        app.call(Method::PATCH, "/api/v1/admin/areas/C2", Some(&admin), Some(json!({ "name": "人民街北社区" }))).await;
    assert_eq!((status, moved["name"].clone()), (StatusCode::OK, json!("人民街北社区")), "{moved}");
    let (status, _) =
        app.call(Method::PATCH, "/api/v1/admin/areas/NOPE", Some(&admin), Some(json!({ "name": "x" }))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) =
        app.call(Method::PATCH, "/api/v1/admin/areas/C2", Some(&admin), Some(json!({ "parent": "D" }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a community's parent is a street");
}
