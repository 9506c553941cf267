//! The demo city: a simulated district around Xining's Chengzhong district (城中区) on the
//! embedded store. Hundreds of mediators move and report positions, residents file reports
//! every few seconds, simulated mediators accept some, travel, arrive and resolve; others are
//! left unclaimed so escalation shows. Drives the same use cases the API does.
//!
//! The district comes with its jurisdictions: 城中区 (statistical division code 630103000000),
//! four streets as quarters of it and two communities in each, all under 12-digit codes; the
//! demo operator belongs to the district and every mediator to the street they start in, so
//! the printed command-center link shows the live district at once.

use crate::app::App;
use crate::auth;
use crate::dispatch::Dispatcher;
use crate::dispatch::NewArea;
use crate::domain::account::{Account, Fix, Phone, Role};
use crate::domain::area::AreaLevel;
use crate::domain::category::{Category, Risk};
use crate::domain::ids::AccountId;
use crate::domain::incident::Outcome;
use crate::domain::location::{CoordSystem, GeoPoint};
use crate::services::{Incidents, NewReport, Reports};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Xining, Chengzhong district government (WGS-84, approximate).
pub const CENTRE: (f64, f64) = (36.6209, 101.7795);
/// Metres per degree of latitude.
const M_PER_DEG_LAT: f64 = 111_320.0;

/// How big and busy the simulated city is.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Simulated mediators.
    pub mediators: usize,
    /// A new report this often.
    pub report_every: Duration,
    /// Each mediator reports its position this often.
    pub position_every: Duration,
    /// Share of reports a simulated mediator accepts (the rest escalate).
    pub accept_share: f64,
    /// Radius of the district, metres.
    pub radius_m: f64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            mediators: 300,
            report_every: Duration::from_secs(4),
            position_every: Duration::from_secs(5),
            accept_share: 0.65,
            radius_m: 4_000.0,
        }
    }
}

/// The human-usable accounts the demo creates.
#[derive(Debug, Clone)]
pub struct DemoAccounts {
    /// An operator for the big screen.
    pub operator: AccountId,
    /// A mediator to try the phone page with (not simulated).
    pub mediator: AccountId,
    /// The operator's phone and password.
    pub operator_login: (String, String),
    /// The mediator's phone and password.
    pub mediator_login: (String, String),
    /// A QR scene in the district centre, for the resident form.
    pub scene: crate::domain::ids::SceneId,
}

/// A small deterministic PRNG (xorshift64*): the demo needs variety, not cryptography.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[((self.next_f64() * items.len() as f64) as usize).min(items.len() - 1)]
    }

    fn point_within(&mut self, radius_m: f64) -> (f64, f64) {
        let r = radius_m * self.next_f64().sqrt();
        let a = self.next_f64() * std::f64::consts::TAU;
        let lat = CENTRE.0 + r * a.sin() / M_PER_DEG_LAT;
        let lng = CENTRE.1 + r * a.cos() / (M_PER_DEG_LAT * CENTRE.0.to_radians().cos());
        (lat, lng)
    }
}

const DESCRIPTIONS: [(&str, Category); 8] = [
    ("楼上装修噪音太大，晚上十点还在施工", Category::Neighbor),
    ("邻居在楼道堆放杂物，沟通多次无果", Category::Neighbor),
    ("物业费纠纷，电梯长期坏了没人修", Category::Property),
    ("工地拖欠三个月工资，十几个工人在门口", Category::Wages),
    ("老人赡养问题，兄弟几个吵起来了", Category::Family),
    ("两车剐蹭，双方对责任有争议", Category::Traffic),
    ("宅基地边界有争议", Category::Land),
    ("在店里买的东西有质量问题，商家不退", Category::Consumer),
];

const SURNAMES: [&str; 12] = ["王", "李", "张", "刘", "陈", "杨", "马", "韩", "赵", "周", "吴", "孙"];

/// The demo district's statistical division code (西宁市城中区).
pub const DISTRICT_CODE: &str = "630103000000";
/// Its streets, a quarter of the district each (counter-clockwise from the east), with their
/// two communities: the inner one around the centre and the outer one.
const STREETS: [(&str, &str, [&str; 2]); 4] = [
    ("630103001000", "人民街街道", ["人民街社区", "水井巷社区"]),
    ("630103002000", "仓门街街道", ["仓门街社区", "石坡街社区"]),
    ("630103003000", "礼让街街道", ["礼让街社区", "北大街社区"]),
    ("630103004000", "南滩街道", ["南滩社区", "南关社区"]),
];

/// A point `r_m` metres from the centre at angle `a` (radians, counter-clockwise from east), as
/// a GeoJSON position.
fn around(r_m: f64, a: f64) -> serde_json::Value {
    let lat = CENTRE.0 + r_m * a.sin() / M_PER_DEG_LAT;
    let lng = CENTRE.1 + r_m * a.cos() / (M_PER_DEG_LAT * CENTRE.0.to_radians().cos());
    serde_json::json!([lng, lat])
}

/// The ring between radii `inner_m` and `outer_m` over quarter `q` (all four when None).
fn sector(inner_m: f64, outer_m: f64, q: Option<usize>) -> serde_json::Value {
    const STEPS: usize = 24;
    let (start, span) = q.map_or((0.0, std::f64::consts::TAU), |q| {
        (q as f64 * std::f64::consts::FRAC_PI_2, std::f64::consts::FRAC_PI_2)
    });
    let angle = |k: usize| start + span * k as f64 / STEPS as f64;
    let mut ring: Vec<serde_json::Value> = (0..=STEPS).map(|k| around(outer_m, angle(k))).collect();
    if inner_m > 0.0 {
        ring.extend((0..=STEPS).rev().map(|k| around(inner_m, angle(k))));
    } else if q.is_some() {
        ring.push(around(0.0, 0.0));
    }
    ring.push(ring[0].clone());
    serde_json::json!({ "type": "Polygon", "coordinates": [ring] })
}

/// The street and community codes of quarter `q`.
fn codes(q: usize) -> (String, [String; 2]) {
    let street = STREETS[q].0;
    (street.to_owned(), [1, 2].map(|k| format!("{}{k:03}", &street[..9])))
}

/// The demo's jurisdictions, top-down (parents before children), covering `radius_m` and a
/// margin.
fn demo_areas(radius_m: f64) -> Vec<NewArea> {
    let (outer, inner) = (radius_m * 1.15, radius_m * 0.45);
    let area = |code: String, name: &str, level, parent: Option<String>, geometry| NewArea {
        code,
        name: name.to_owned(),
        level,
        parent,
        geometry,
        coord: CoordSystem::Wgs84,
    };
    // The district's rim lies a little beyond its streets': each outline is a polygon of
    // chords, and the streets' own arcs must not poke out of their parent's.
    let rim = outer * 1.03;
    let mut out = vec![area(DISTRICT_CODE.to_owned(), "城中区", AreaLevel::District, None, sector(0.0, rim, None))];
    for (q, (_, street_name, communities)) in STREETS.iter().enumerate() {
        let (street, community) = codes(q);
        out.push(area(
            street.clone(),
            street_name,
            AreaLevel::Street,
            Some(DISTRICT_CODE.to_owned()),
            sector(0.0, outer, Some(q)),
        ));
        out.push(area(
            community[0].clone(),
            communities[0],
            AreaLevel::Community,
            Some(street.clone()),
            sector(0.0, inner, Some(q)),
        ));
        out.push(area(
            community[1].clone(),
            communities[1],
            AreaLevel::Community,
            Some(street),
            sector(inner, outer, Some(q)),
        ));
    }
    out
}

/// The quarter (street) a point lies in.
fn quarter(at: (f64, f64)) -> usize {
    let y = at.0 - CENTRE.0;
    let x = (at.1 - CENTRE.1) * CENTRE.0.to_radians().cos();
    let a = y.atan2(x).rem_euclid(std::f64::consts::TAU);
    ((a / std::f64::consts::FRAC_PI_2) as usize).min(3)
}

async fn create(
    app: &App,
    role: Role,
    name: String,
    phone: &str,
    password_hash: &str,
    specialties: Vec<Category>,
    area: &str,
) -> anyhow::Result<AccountId> {
    let account = Account {
        id: AccountId::generate(),
        role,
        name,
        phone: Phone::parse(phone).map_err(|e| anyhow::anyhow!("demo phone {phone}: {e}"))?,
        password_hash: password_hash.to_owned(),
        enabled: true,
        specialties,
        capacity: 3,
        area: Some(area.to_owned()),
        created_at: app.dispatcher().now(),
        version: 1,
        wechat_openid: None,
        token_generation: 0,
    };
    anyhow::ensure!(app.ports().directory.insert_account(&account).await?, "demo phone {phone} already used");
    Ok(account.id)
}

/// One simulated mediator walking towards a waypoint.
struct Walker {
    id: AccountId,
    at: (f64, f64),
    to: (f64, f64),
    speed_m_s: f64,
}

impl Walker {
    fn step(&mut self, rng: &mut Rng, seconds: f64, radius_m: f64) {
        let d_lat = (self.to.0 - self.at.0) * M_PER_DEG_LAT;
        let d_lng = (self.to.1 - self.at.1) * M_PER_DEG_LAT * CENTRE.0.to_radians().cos();
        let dist = d_lat.hypot(d_lng);
        let travel = self.speed_m_s * seconds;
        if dist <= travel {
            self.at = self.to;
            self.to = rng.point_within(radius_m);
        } else {
            let f = travel / dist;
            self.at = (self.at.0 + (self.to.0 - self.at.0) * f, self.at.1 + (self.to.1 - self.at.1) * f);
        }
    }
}

/// Create the accounts and start the simulation tasks on `app`; they stop with `cancel`.
///
/// # Errors
/// If the demo accounts cannot be created (e.g. the store already holds them).
pub async fn start(app: &App, options: DemoOptions, cancel: CancellationToken) -> anyhow::Result<DemoAccounts> {
    let (dispatcher, areas, reports) = (app.dispatcher().clone(), app.areas(), app.reports().clone());
    let seed = u64::try_from(jiff::Timestamp::now().as_nanosecond().rem_euclid(i128::from(u64::MAX))).unwrap_or(7) | 1;
    let mut rng = Rng(seed);
    let hash = |p: &str| auth::hash_password(p).map_err(|e| anyhow::anyhow!("hashing a demo password: {e}"));
    let (operator_hash, mediator_hash, walker_hash) =
        (hash("demo-operator")?, hash("demo-mediator")?, hash("demo-walker-password")?);
    for area in demo_areas(options.radius_m) {
        let code = area.code.clone();
        areas.put(area).await.map_err(|e| anyhow::anyhow!("demo area {code}: {e}"))?;
    }
    let accounts = DemoAccounts {
        operator: create(
            app,
            Role::Operator,
            "演示指挥员".into(),
            "13900000000",
            &operator_hash,
            vec![],
            DISTRICT_CODE,
        )
        .await?,
        mediator: create(
            app,
            Role::Mediator,
            "演示调解员".into(),
            "13900000001",
            &mediator_hash,
            vec![Category::Neighbor],
            &codes(0).0,
        )
        .await?,
        operator_login: ("13900000000".into(), "demo-operator".into()),
        mediator_login: ("13900000001".into(), "demo-mediator".into()),
        scene: crate::domain::ids::SceneId::generate(),
    };
    let centre = GeoPoint::new(CENTRE.0, CENTRE.1).map_err(|e| anyhow::anyhow!("demo centre: {e}"))?;
    let scene = crate::domain::scene::Scene {
        id: accounts.scene.clone(),
        name: "演示：城中区人民政府门口".into(),
        location: centre,
        grid: None,
        created_at: dispatcher.now(),
    };
    app.ports().directory.insert_scene(&scene).await?;
    let mut walkers = Vec::with_capacity(options.mediators);
    for i in 0..options.mediators {
        let name = format!("{}{}", rng.pick(&SURNAMES), ["调解员", "老师", "主任", "大姐", "师傅"][i % 5]);
        let specialties = vec![rng.pick(&DESCRIPTIONS).1, rng.pick(&DESCRIPTIONS).1];
        let phone = format!("137{:08}", i);
        let at = rng.point_within(options.radius_m);
        let street = codes(quarter(at)).0;
        let id = create(app, Role::Mediator, name, &phone, &walker_hash, specialties, &street).await?;
        dispatcher.set_duty(&id, true).await?;
        walkers.push(Walker { id, at, to: rng.point_within(options.radius_m), speed_m_s: 1.2 + rng.next_f64() * 4.0 });
    }
    let simulated: Arc<HashSet<AccountId>> = Arc::new(walkers.iter().map(|w| w.id.clone()).collect());
    tokio::spawn(move_walkers(dispatcher.clone(), walkers, options.clone(), seed ^ 0x9E37, cancel.clone()));
    // A mediator's phone would go through the same service the HTTP edge uses.
    let incidents = Incidents::new(dispatcher.clone(), app.ports().incidents.clone(), reports.waves().clone());
    tokio::spawn(file_reports(reports, incidents, simulated, options, seed ^ 0x7F4A, cancel));
    Ok(accounts)
}

async fn move_walkers(
    dispatcher: Dispatcher,
    walkers: Vec<Walker>,
    options: DemoOptions,
    seed: u64,
    cancel: CancellationToken,
) {
    let mut rng = Rng(seed | 1);
    let walkers = Arc::new(Mutex::new(walkers));
    let tick = Duration::from_secs(1);
    let slices = options.position_every.as_secs().max(1) as usize;
    let mut interval = tokio::time::interval(tick);
    let mut n: usize = 0;
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = interval.tick() => {}
        }
        n += 1;
        let batch: Vec<(AccountId, (f64, f64))> = {
            let mut g = walkers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            g.iter_mut()
                .enumerate()
                .filter(|(i, _)| i % slices == n % slices)
                .map(|(_, w)| {
                    w.step(&mut rng, slices as f64, options.radius_m);
                    (w.id.clone(), w.at)
                })
                .collect()
        };
        for (id, (lat, lng)) in batch {
            let Ok(point) = GeoPoint::new(lat, lng) else { continue };
            let fix = Fix { point, at: dispatcher.now(), accuracy_m: Some(10.0) };
            if let Err(e) = dispatcher.record_position(&id, fix).await {
                tracing::warn!(error = %e, "demo position failed");
            }
        }
    }
}

async fn file_reports(
    reports: Reports,
    incidents: Incidents,
    simulated: Arc<HashSet<AccountId>>,
    options: DemoOptions,
    seed: u64,
    cancel: CancellationToken,
) {
    let mut rng = Rng(seed | 1);
    let mut interval = tokio::time::interval(options.report_every);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = interval.tick() => {}
        }
        let (lat, lng) = rng.point_within(options.radius_m * 0.9);
        let Ok(location) = GeoPoint::new(lat, lng) else { continue };
        let (description, category) = *rng.pick(&DESCRIPTIONS);
        let risk = if category == Category::Wages && rng.next_f64() < 0.5 {
            Risk::Red
        } else if rng.next_f64() < 0.3 {
            Risk::Yellow
        } else {
            Risk::Blue
        };
        let phone = Phone::parse(&format!("138{:08}", (rng.next_f64() * 1e8) as u64)).ok();
        let report = NewReport {
            scene: None,
            location: Some(location),
            category,
            description: description.into(),
            phone,
            risk: Some(risk),
            address: None,
        };
        let receipt = match reports.report(report, None).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "demo report failed");
                continue;
            }
        };
        let taker = receipt.incident.open_offer_ids().find(|m| simulated.contains(*m)).cloned();
        if let (Some(mediator), true) = (taker, rng.next_f64() < options.accept_share) {
            let delays = [5.0 + rng.next_f64() * 30.0, 40.0 + rng.next_f64() * 80.0, 60.0 + rng.next_f64() * 120.0];
            let outcome = *rng.pick(&[
                Outcome::Mediated,
                Outcome::Mediated,
                Outcome::Mediated,
                Outcome::NotMediated,
                Outcome::Referred,
            ]);
            tokio::spawn(play_mediator(
                incidents.clone(),
                mediator,
                receipt.incident.id.clone(),
                delays,
                outcome,
                cancel.clone(),
            ));
        }
    }
}

async fn play_mediator(
    incidents: Incidents,
    mediator: AccountId,
    incident: crate::domain::ids::IncidentId,
    delays_s: [f64; 3],
    outcome: Outcome,
    cancel: CancellationToken,
) {
    let wait = |s: f64| {
        let cancel = cancel.clone();
        async move {
            tokio::select! {
                () = cancel.cancelled() => false,
                () = tokio::time::sleep(Duration::from_secs_f64(s)) => true,
            }
        }
    };
    if !wait(delays_s[0]).await || incidents.accept(&mediator, &incident).await.is_err() {
        return;
    }
    if !wait(delays_s[1]).await || incidents.arrive(&mediator, &incident).await.is_err() {
        return;
    }
    if wait(delays_s[2]).await {
        let _ = incidents.resolve(&mediator, &incident, outcome, Some("演示：已现场调解".into())).await;
    }
}
