// The command-center big screen: live mediators and incidents from /api/v1/command/live,
// the escalated queue with countdowns, the incident panel with "assign", headline counters.
(function () {
  'use strict';
  var GD = window.GD;

  GD.strings({
    zh: {
      'page.title': '矛盾纠纷调解指挥中心', 'logout': '退出', 'counters': '统计', 'map': '地图',
      'c.today': '今日上报', 'c.duty': '当前在岗调解员', 'c.median': '今日接单用时（中位数）', 'c.overdue': '超时（未接单＋未办结）',
      'lg.mediator': '在岗调解员', 'lg.claimed': '已接单', 'fit': '显示全部',
      'q.escalated': '超时未接单 → 指挥中心', 'q.dispatching': '派单中（等待接单）', 'q.none': '暂无',
      'close': '关闭', 'login.title': '值班员登录', 'login.phone': '手机号', 'login.password': '密码', 'login.submit': '登录',
      'login.failed': '手机号或密码不正确', 'login.expired': '登录已失效，请重新登录',
      'link.open': '实时连接正常', 'link.connecting': '正在连接…', 'link.down': '连接中断，正在重连',
      'beijing': '北京时间', 't.left': '剩余', 't.over': '已超时', 't.reported': '{t} 上报',
      'p.reported': '上报时间', 'p.phone': '群众电话', 'p.status': '状态', 'p.timeline': '处置经过',
      'p.nearest': '附近可派调解员', 'p.none_near': '附近暂无可派的在岗调解员', 'p.assign': '派单',
      'p.specialist': '专长', 'p.holds': '在办 {h}/{c}', 'p.assigned': '已派单给 {who}', 'p.claimed_by': '接单调解员：{who}',
      'p.loading': '正在加载…', 'p.failed': '加载失败：{msg}', 'p.scene': '扫码点',
      'c.split': '未接单 {a} · 未办结 {b}', 'q.overdue': '超时未办（到场/办结超时）',
      'o.arrive': '到场超时', 'o.resolve': '办结超时', 'o.holder': '调解员 {who}',
      'lg.hot': '热点区域', 'hot.show': '显示热点区域', 'hot.hide': '隐藏热点区域', 'hot.count': '{n} 起',
      'hot.none': '近 30 天暂无重复上报地区', 'hot.failed': '热点区域加载失败：{msg}',
      'alarm.open': '查看', 'alarm.ack': '知道了', 'alarm.text': '红色警情：{cat} · {desc}', 'alarm.more': '（另有 {n} 起）',
      'alerted': '红色预警',
      'p.recurring': '重复上报地区', 'p.duplicate': '可能与另一起上报重复：', 'p.open_dup': '打开该事件',
      'p.deadlines': '办理时限', 'p.arrive_by': '到场时限', 'p.resolve_by': '办结时限', 'p.met': '已按时完成', 'p.met_late': '已完成（超时）',
      'p.overdue': '已超时', 'p.supervision': '督办', 'p.supervised_at': '{who} 于 {t} 督办：{note}',
      'p.feedback': '群众评价', 'p.stars': '{n} 星（满分 5 星）', 'p.fb_yes': '群众表示问题已解决', 'p.fb_no': '群众表示问题没有解决，已重新交办',
      'p.no_comment': '（未留言）', 'p.actions': '处置', 'p.risk': '风险等级', 'p.risk_set': '风险等级已改为{risk}',
      'p.risk_btn': '改为{risk}', 'p.sup_label': '督办意见（调解员会立即收到）', 'p.sup_ph': '例如：今天 18:00 前必须到场处置',
      'p.supervise': '督办', 'p.supervised': '已督办，调解员已收到', 'p.sup_empty': '请先填写督办意见',
      'p.reveal': '查看完整电话', 'p.reveal_note': '出于隐私保护，每次查看完整电话都会记入处置经过（谁、何时）。',
      'p.revealed': '完整电话：{phone}', 'p.no_phone': '群众未留电话', 'p.wave': '第 {n} 轮派单',
      'stats.open': '本月统计', 'stats.title': '本月统计', 'stats.csv': '导出 CSV', 'stats.range': '统计区间：{from} 至 {to}（北京时间）',
      'stats.loading': '正在加载…', 'stats.total': '上报总数', 'stats.escalation': '超时转指挥中心比例', 'stats.success': '化解率',
      'stats.on_time': '按时办结率', 'stats.rating': '平均满意度', 'stats.rating_v': '{v} 星（{n} 条评价）',
      'stats.claim': '接单用时（中位数 / 90%）', 'stats.arrive': '到场用时（中位数 / 90%）', 'stats.resolve': '办结用时（中位数 / 90%）',
      'stats.by_risk': '按风险等级', 'stats.by_status': '按状态', 'stats.by_category': '按类别', 'stats.mediators': '调解员工作量',
      'stats.med_row': '接单 {c} · 办结 {r} · 调解成功 {m}', 'stats.none': '暂无', 'stats.downloaded': '已下载 {f}'
    },
    en: {
      'page.title': 'Mediation Command Center', 'logout': 'Log out', 'counters': 'Counters', 'map': 'Map',
      'c.today': 'Reports today', 'c.duty': 'Mediators on duty', 'c.median': 'Median time to claim (today)',
      'c.overdue': 'Overdue (unclaimed + not closed)',
      'lg.mediator': 'Mediator on duty', 'lg.claimed': 'Claimed', 'fit': 'Show all',
      'q.escalated': 'Unclaimed → command center', 'q.dispatching': 'Dispatching (waiting for a mediator)', 'q.none': 'None',
      'close': 'Close', 'login.title': 'Operator sign-in', 'login.phone': 'Phone', 'login.password': 'Password',
      'login.submit': 'Sign in', 'login.failed': 'Wrong phone or password', 'login.expired': 'Session expired, please sign in',
      'link.open': 'Live', 'link.connecting': 'Connecting…', 'link.down': 'Connection lost, retrying',
      'beijing': 'Beijing time', 't.left': 'left', 't.over': 'overdue', 't.reported': 'reported {t}',
      'p.reported': 'Reported', 'p.phone': 'Resident phone', 'p.status': 'Status', 'p.timeline': 'Timeline',
      'p.nearest': 'Nearest available mediators', 'p.none_near': 'No available mediator nearby', 'p.assign': 'Assign',
      'p.specialist': 'specialist', 'p.holds': 'holds {h}/{c}', 'p.assigned': 'Assigned to {who}', 'p.claimed_by': 'Claimed by {who}',
      'p.loading': 'Loading…', 'p.failed': 'Could not load: {msg}', 'p.scene': 'QR point',
      'c.split': 'unclaimed {a} · not closed {b}', 'q.overdue': 'Overdue (arrival / closing)',
      'o.arrive': 'Arrival overdue', 'o.resolve': 'Closing overdue', 'o.holder': 'mediator {who}',
      'lg.hot': 'Hot spots', 'hot.show': 'Show hot spots', 'hot.hide': 'Hide hot spots', 'hot.count': '{n} reports',
      'hot.none': 'No area with repeated reports in the last 30 days', 'hot.failed': 'Could not load hot spots: {msg}',
      'alarm.open': 'Open', 'alarm.ack': 'Got it', 'alarm.text': 'Red alert: {cat} · {desc}', 'alarm.more': ' ({n} more)',
      'alerted': 'Red alert',
      'p.recurring': 'Repeated reports in this area', 'p.duplicate': 'Possibly the same as another report:', 'p.open_dup': 'Open it',
      'p.deadlines': 'Deadlines', 'p.arrive_by': 'Arrive by', 'p.resolve_by': 'Close by', 'p.met': 'met in time', 'p.met_late': 'met (late)',
      'p.overdue': 'overdue', 'p.supervision': 'Supervision', 'p.supervised_at': '{who} at {t}: {note}',
      'p.feedback': 'Resident feedback', 'p.stars': '{n} of 5 stars', 'p.fb_yes': 'The resident says it is solved',
      'p.fb_no': 'The resident says it is NOT solved: reopened', 'p.no_comment': '(no comment)',
      'p.actions': 'Actions', 'p.risk': 'Risk colour', 'p.risk_set': 'Risk colour set to {risk}', 'p.risk_btn': 'Set to {risk}',
      'p.sup_label': 'Supervision order (the mediator is told at once)', 'p.sup_ph': 'e.g. must be on site before 18:00 today',
      'p.supervise': 'Supervise', 'p.supervised': 'Supervision sent to the mediator', 'p.sup_empty': 'Write the order first',
      'p.reveal': 'Show full phone', 'p.reveal_note': 'For privacy, every time the full number is shown it is recorded in the timeline (who, when).',
      'p.revealed': 'Full phone: {phone}', 'p.no_phone': 'No phone left', 'p.wave': 'offer wave {n}',
      'stats.open': 'This month', 'stats.title': 'This month', 'stats.csv': 'Export CSV', 'stats.range': 'From {from} to {to} (Beijing time)',
      'stats.loading': 'Loading…', 'stats.total': 'Reports', 'stats.escalation': 'Escalation rate', 'stats.success': 'Mediation success rate',
      'stats.on_time': 'Closed on time', 'stats.rating': 'Average rating', 'stats.rating_v': '{v} stars ({n} ratings)',
      'stats.claim': 'Time to claim (median / 90%)', 'stats.arrive': 'Time to arrive (median / 90%)', 'stats.resolve': 'Time to close (median / 90%)',
      'stats.by_risk': 'By risk colour', 'stats.by_status': 'By status', 'stats.by_category': 'By category', 'stats.mediators': 'Mediator workload',
      'stats.med_row': 'claimed {c} · closed {r} · settled {m}', 'stats.none': 'None', 'stats.downloaded': 'Downloaded {f}'
    }
  });

  var RISK_COLOR = { red: '#ff3b30', yellow: '#ffc400', blue: '#2f8cff' };
  var token = null;
  var map = null, incidentRenderer = null, socket = null;
  var mediators = new Map();   // id → {lat, lng, at, marker}
  var incidents = new Map();   // id → IncidentView (open ones, plus everything reported today)
  var incMarkers = new Map();  // id → circleMarker
  var names = {};              // account id → name
  var autoFit = true, fitted = false, panelId = null, renderQueued = false, namesFetchedAt = 0;
  var ALERT_MS = 10 * 60 * 1000;
  var alerts = new Map();      // id → when the alert stops flashing (red alerts not yet acknowledged)
  var pulses = new Map();      // id → pulsing DOM marker on the map
  var revealed = {};           // incident id → full phone, after an audited reveal
  var hotLayer = null, hotTimer = null, panelData = null;

  // Test and debugging hook: read-only views of what the screen holds.
  window.gdCommand = { mediators: mediators, incidents: incidents, names: names, alerts: alerts,
    open: function (id) { openPanel(id); } };

  function $(s) { return GD.$(s); }

  // ---- login ------------------------------------------------------------------------------
  function showLogin(message) {
    $('#login').hidden = false;
    $('#login-error').textContent = message || '';
    $('#logout').hidden = true;
    $('#login-phone').focus();
  }
  $('#login-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var body = { phone: $('#login-phone').value.trim(), password: $('#login-password').value };
    GD.api('POST', '/api/v1/auth/login', { body: body }).then(function (r) {
      if (!r.ok) { $('#login-error').textContent = r.status === 401 ? GD.t('login.failed') : r.message; return; }
      GD.saveToken('operator', r.body.access_token);
      $('#login').hidden = true;
      $('#login-password').value = '';
      start(r.body.access_token);
    });
  });
  $('#logout').addEventListener('click', function () {
    GD.saveToken('operator', null);
    if (socket) socket.stop();
    socket = null;
    showLogin();
  });
  function authFailed() {
    GD.saveToken('operator', null);
    if (socket) socket.stop();
    socket = null;
    showLogin(GD.t('login.expired'));
  }

  // ---- map ----------------------------------------------------------------------------------
  // No base map by default (offline intranets): a faint schematic grid shows scale and motion.
  var Grid = L.GridLayer.extend({
    createTile: function () {
      var c = document.createElement('canvas');
      var size = this.getTileSize();
      c.width = size.x; c.height = size.y;
      var g = c.getContext('2d');
      g.strokeStyle = 'rgba(120,150,200,0.10)';
      g.lineWidth = 1;
      for (var i = 0; i <= 4; i++) {
        var p = i * size.x / 4 + 0.5;
        g.beginPath(); g.moveTo(p, 0); g.lineTo(p, size.y); g.stroke();
        g.beginPath(); g.moveTo(0, p); g.lineTo(size.x, p); g.stroke();
      }
      return c;
    }
  });

  function initMap() {
    if (map) return;
    map = L.map('map', { preferCanvas: true, zoomSnap: 0.25, zoomControl: true, attributionControl: false, center: [35.5, 104], zoom: 5, minZoom: 3, maxZoom: 19 });
    new Grid({ pane: 'tilePane' }).addTo(map);
    L.control.scale({ imperial: false, position: 'bottomright' }).addTo(map);
    map.createPane('incidents').style.zIndex = 450;
    incidentRenderer = L.canvas({ pane: 'incidents', padding: 0.2 });
    ['mousedown', 'wheel', 'touchstart'].forEach(function (ev) {
      map.getContainer().addEventListener(ev, function () { autoFit = false; }, { passive: true });
    });
    $('#fit').addEventListener('click', function () { fitAll(true); });
  }

  function fitAll(force) {
    var pts = [];
    mediators.forEach(function (m) { pts.push([m.lat, m.lng]); });
    incidents.forEach(function (i) { if (isOpen(i)) pts.push([i.location.lat, i.location.lng]); });
    if (!pts.length) return;
    if (force || (autoFit && !fitted)) {
      map.fitBounds(L.latLngBounds(pts), { padding: [60, 60], maxZoom: 15, animate: false });
      fitted = true;
    }
  }

  function isOpen(i) { return i.status !== 'resolved' && i.status !== 'cancelled'; }

  function upsertMediator(p) {
    var m = mediators.get(p.id);
    if (!m) {
      var marker = L.circleMarker([p.lat, p.lng], { radius: 7, color: '#0b1220', weight: 1, fillColor: '#3ddc97', fillOpacity: 0.9 });
      marker.bindTooltip(function () { return names[p.id] || p.id; }, { className: 'med-name', direction: 'top' });
      marker.addTo(map);
      m = { marker: marker };
      mediators.set(p.id, m);
      if (!names[p.id]) fetchNamesSoon();
    } else {
      m.marker.setLatLng([p.lat, p.lng]);
    }
    m.lat = p.lat; m.lng = p.lng; m.at = p.at;
  }
  function removeMediator(id) {
    var m = mediators.get(id);
    if (m) { map.removeLayer(m.marker); mediators.delete(id); }
  }

  function incidentStyle(i) {
    var color = RISK_COLOR[i.risk] || RISK_COLOR.blue;
    if (i.status === 'claimed' || i.status === 'on_site') {
      return { radius: 9, color: color, weight: 3, fillColor: '#0f1a30', fillOpacity: 0.6 };
    }
    var escalated = i.status === 'escalated';
    return { radius: escalated ? 14 : 11, color: '#ffffff', weight: escalated ? 4 : 2, fillColor: color, fillOpacity: 1 };
  }
  function isAlerting(i) {
    var until = alerts.get(i.id);
    return !!until && until > Date.now() && i.status !== undefined && (i.status === 'dispatching' || i.status === 'escalated');
  }
  /** A pulsing ring (DOM, CSS animation) over a red incident while its alert is unacknowledged. */
  function drawPulse(i) {
    var p = pulses.get(i.id);
    var want = isOpen(i) && isAlerting(i);
    if (!want) { if (p) { map.removeLayer(p); pulses.delete(i.id); } return; }
    if (!p) {
      p = L.marker([i.location.lat, i.location.lng], {
        icon: L.divIcon({ className: 'pulse-icon', iconSize: [64, 64], iconAnchor: [32, 32] }),
        interactive: false, keyboard: false
      }).addTo(map);
      pulses.set(i.id, p);
    }
  }
  function drawIncident(i) {
    var mk = incMarkers.get(i.id);
    if (map && i.location) drawPulse(i);
    else if (!isOpen(i) && pulses.has(i.id)) { map.removeLayer(pulses.get(i.id)); pulses.delete(i.id); }
    if (!isOpen(i)) {
      if (mk) { map.removeLayer(mk); incMarkers.delete(i.id); }
      return;
    }
    if (!mk) {
      mk = L.circleMarker([i.location.lat, i.location.lng], Object.assign({ renderer: incidentRenderer, pane: 'incidents' }, incidentStyle(i)));
      mk.on('click', function () { openPanel(i.id); });
      mk.addTo(map);
      incMarkers.set(i.id, mk);
    } else {
      mk.setStyle(incidentStyle(i));
    }
  }
  function upsertIncident(i) {
    incidents.set(i.id, i);
    drawIncident(i);
    if (i.claimed_by && !names[i.claimed_by]) fetchNamesSoon();
  }

  // ---- data -----------------------------------------------------------------------------------
  function fetchNamesSoon() {
    if (Date.now() - namesFetchedAt < 5000) return;
    namesFetchedAt = Date.now();
    GD.api('GET', '/api/v1/command/mediators', { token: token }).then(function (r) {
      if (!r.ok || !Array.isArray(r.body)) return;
      r.body.forEach(function (m) { if (m.name) names[m.id] = m.name; });
      queueRender();
    });
  }

  function fetchToday() {
    var from = GD.startOfToday().toISOString();
    return GD.api('GET', '/api/v1/command/incidents?from=' + encodeURIComponent(from), { token: token }).then(function (r) {
      if (r.status === 401) { authFailed(); return; }
      if (!r.ok || !Array.isArray(r.body)) return;
      r.body.forEach(function (i) {
        var known = incidents.get(i.id);
        if (!known || known.status === i.status) upsertIncident(i);
      });
      queueRender();
    });
  }

  function onMessage(msg) {
    if (msg.type === 'snapshot') {
      var seen = new Set();
      msg.mediators.forEach(function (p) { seen.add(p.id); upsertMediator(p); });
      Array.from(mediators.keys()).forEach(function (id) { if (!seen.has(id)) removeMediator(id); });
      var open = new Set();
      msg.incidents.forEach(function (i) { open.add(i.id); upsertIncident(i); });
      // Open before, absent now: closed while we were away. Today's list (refetched) fills in.
      incidents.forEach(function (i, id) {
        if (isOpen(i) && !open.has(id)) { incidents.delete(id); drawIncident({ id: id, status: 'resolved' }); }
      });
      fetchToday();
      fetchNamesSoon();
      fitAll(false);
    } else if (msg.type === 'positions') {
      (msg.updates || []).forEach(upsertMediator);
      (msg.off_duty || []).forEach(removeMediator);
      if (!fitted) fitAll(false);
    } else if (msg.type === 'incident') {
      if (msg.event && msg.event.type === 'alerted') alerts.set(msg.incident.id, Date.now() + ALERT_MS);
      upsertIncident(msg.incident);
      renderAlarm();
      if (!fitted) fitAll(false);
      if (panelId === msg.incident.id) openPanel(panelId, true);
    }
    queueRender();
  }

  // ---- red alerts: a flashing banner, pulsing marker and queue item (no sound) ---------------
  function pendingAlerts() {
    var now = Date.now(), list = [];
    alerts.forEach(function (until, id) {
      var i = incidents.get(id);
      if (!i || until <= now || !isAlerting(i)) return;
      list.push(i);
    });
    return list.sort(GD.urgentFirst);
  }
  function renderAlarm() {
    var list = pendingAlerts(), box = $('#alarm');
    box.hidden = list.length === 0;
    if (!list.length) return;
    var i = list[0];
    var desc = i.description.length > 40 ? i.description.slice(0, 40) + '…' : i.description;
    $('#alarm-text').textContent = GD.t('alarm.text', { cat: GD.t('cat.' + i.category), desc: desc }) +
      (list.length > 1 ? GD.t('alarm.more', { n: list.length - 1 }) : '');
    box.dataset.id = i.id;
  }
  function acknowledge(id) {
    if (!alerts.has(id)) return;
    alerts.delete(id);
    var i = incidents.get(id);
    if (i) drawIncident(i);
    renderAlarm();
    queueRender();
  }
  $('#alarm-open').addEventListener('click', function () { var id = $('#alarm').dataset.id; if (id) openPanel(id); });
  $('#alarm-ack').addEventListener('click', function () { var id = $('#alarm').dataset.id; if (id) acknowledge(id); });

  function setLink(state) {
    var box = $('#link-state');
    box.dataset.state = state;
    $('#link-text').textContent = GD.t('link.' + state);
  }

  function start(t) {
    token = t;
    $('#logout').hidden = false;
    initMap();
    if (socket) socket.stop();
    socket = new GD.LiveSocket({
      url: function () { return GD.wsUrl('/api/v1/command/live', token); },
      onMessage: onMessage,
      onState: setLink,
      onAuthFailed: function () {
        GD.api('GET', '/api/v1/command/mediators', { token: token }).then(function (r) {
          if (r.status === 401 || r.status === 403) authFailed();
        });
      }
    });
    // The day rolls over and lists drift: refresh today's incidents now and then.
    setInterval(function () { if (token) fetchToday(); }, 60000);
  }

  // ---- rendering ------------------------------------------------------------------------------
  function queueRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(function () { renderQueued = false; renderQueues(); renderCounters(); });
  }

  /** The deadline an overdue incident missed: arrival while not there yet, else closing. */
  function missedDeadline(i) {
    var now = Date.now();
    if (i.status === 'claimed' && i.arrive_by && Date.parse(i.arrive_by) <= now) return { kind: 'arrive', at: i.arrive_by };
    if (i.resolve_by && Date.parse(i.resolve_by) <= now) return { kind: 'resolve', at: i.resolve_by };
    if (i.arrive_by && !i.arrived_at) return { kind: 'arrive', at: i.arrive_by };
    return { kind: 'resolve', at: i.resolve_by || i.arrive_by || i.claimed_at };
  }

  function queueItem(i, kind) {
    var deadline = kind === 'esc' ? (i.escalated_at || i.escalate_at) : i.escalate_at;
    var what = GD.t('cat.' + i.category) + ' · ' + GD.t('risk.' + i.risk);
    var sub = GD.t('t.reported', { t: GD.fmtTime(i.created_at) }) + ' ' + (i.scene_id ? GD.t('p.scene') : '') + ' ' + i.description;
    if (kind === 'over') {
      var missed = missedDeadline(i);
      deadline = missed.at;
      what = GD.t('o.' + missed.kind) + ' · ' + GD.t('cat.' + i.category);
      sub = GD.t('o.holder', { who: names[i.claimed_by] || '…' }) + ' · ' + i.description;
    }
    var alerting = isAlerting(i);
    return GD.el('li', { class: 'item risk-' + i.risk + (alerting ? ' alerted' : ''), tabindex: '0', role: 'button', dataset: { id: i.id },
      onclick: function () { openPanel(i.id); },
      onkeydown: function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); openPanel(i.id); } } }, [
      GD.el('span', { class: 'bar' }),
      GD.el('div', {}, [
        GD.el('div', { class: 'what' }, [what,
          alerting ? GD.el('span', { class: 'flag alert-flag', text: GD.t('alerted') }) : null,
          i.supervision ? GD.el('span', { class: 'flag', text: GD.t('p.supervision') }) : null,
          i.recurring ? GD.el('span', { class: 'flag recurring', text: GD.t('p.recurring') }) : null]),
        GD.el('div', { class: 'sub', text: sub })
      ]),
      GD.el('div', { class: 'timer', dataset: { deadline: deadline, mode: kind === 'disp' ? 'left' : 'over' } })
    ]);
  }

  function renderQueues() {
    var esc = [], disp = [], over = [];
    incidents.forEach(function (i) {
      if (i.status === 'escalated') esc.push(i);
      else if (i.status === 'dispatching') disp.push(i);
      else if (i.overdue && (i.status === 'claimed' || i.status === 'on_site')) over.push(i);
    });
    esc.sort(GD.urgentFirst);
    disp.sort(GD.urgentFirst);
    over.sort(GD.urgentFirst);
    fill('#q-esc', esc, 'esc');
    fill('#q-over', over, 'over');
    fill('#q-disp', disp, 'disp');
    tick();
  }
  function fill(sel, list, kind) {
    var ol = $(sel);
    ol.replaceChildren.apply(ol, list.map(function (i) { return queueItem(i, kind); }));
    $(sel + '-empty').hidden = list.length > 0;
    $(sel + '-count').textContent = list.length;
  }

  function median(xs) {
    if (!xs.length) return null;
    xs.sort(function (a, b) { return a - b; });
    var mid = Math.floor(xs.length / 2);
    return xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
  }

  function renderCounters() {
    var today = GD.startOfToday().getTime(), now = Date.now();
    var count = 0, claimTimes = [], overdue = 0, late = 0;
    incidents.forEach(function (i) {
      var created = Date.parse(i.created_at);
      if (created >= today) {
        count++;
        if (i.claimed_at) claimTimes.push(Date.parse(i.claimed_at) - created);
      }
      if (i.status === 'escalated' || (i.status === 'dispatching' && Date.parse(i.escalate_at) < now)) overdue++;
      else if (i.overdue && (i.status === 'claimed' || i.status === 'on_site')) late++;
    });
    $('#c-today').textContent = count;
    $('#c-duty').textContent = mediators.size;
    var med = median(claimTimes);
    $('#c-median').textContent = med === null ? '–' : GD.fmtDuration(med);
    $('#c-overdue').textContent = overdue + late;
    $('#c-overdue-split').textContent = GD.t('c.split', { a: overdue, b: late });
    $('.counter.alert').classList.toggle('hot', overdue + late > 0);
  }

  function tick() {
    var now = Date.now();
    $('#clock').textContent = GD.fmtDateTime(new Date(now)) + ' ' + GD.t('beijing');
    document.querySelectorAll('.timer[data-deadline]').forEach(function (el) {
      var d = Date.parse(el.dataset.deadline);
      var over = now >= d;
      var li = el.closest('.item');
      if (li) li.classList.toggle('overdue', over);
      el.replaceChildren(GD.el('small', { text: over ? GD.t('t.over') : GD.t('t.left') }),
        document.createTextNode(GD.fmtDuration(Math.abs(now - d))));
    });
    // The panel's deadline countdowns.
    document.querySelectorAll('.cd[data-deadline]').forEach(function (el) {
      var d = Date.parse(el.dataset.deadline), over = now >= d;
      el.classList.toggle('over', over);
      el.textContent = (over ? GD.t('t.over') : GD.t('t.left')) + ' ' + GD.fmtDuration(Math.abs(now - d));
    });
    // Alerts lapse after a while even when nobody acknowledged them.
    var lapsed = false;
    alerts.forEach(function (until, id) { if (until <= now) { alerts.delete(id); lapsed = true; var i = incidents.get(id); if (i) drawIncident(i); } });
    if (lapsed) { renderAlarm(); queueRender(); }

  // ---- incident panel -----------------------------------------------------------------------
  function openPanel(id, quiet) {
    panelId = id;
    var panel = $('#panel'), body = $('#panel-body');
    panel.hidden = false;
    if (!quiet) { $('#panel-title').textContent = GD.t('p.loading'); body.replaceChildren(); }
    GD.api('GET', '/api/v1/command/incidents/' + encodeURIComponent(id), { token: token }).then(function (r) {
      if (panelId !== id) return;
      if (!r.ok) { body.replaceChildren(GD.el('p', { text: GD.t('p.failed', { msg: r.message }) })); return; }
      renderPanel(r.body);
    });
  }
  function closePanel() { panelId = null; $('#panel').hidden = true; showLinks(null); }
  $('#panel-close').addEventListener('click', closePanel);
  document.addEventListener('keydown', function (e) { if (e.key === 'Escape') closePanel(); });

  var links = null;
  /** Dashed lines from the incident to the mediators suggested for it, and the incident in view. */
  function showLinks(d) {
    if (links) { map.removeLayer(links); links = null; }
    if (!d) return;
    var i = d.incident, at = [i.location.lat, i.location.lng];
    links = L.layerGroup();
    (d.nearest_mediators || []).forEach(function (s) {
      var m = mediators.get(s.mediator_id);
      if (m) L.polyline([at, [m.lat, m.lng]], { color: '#ffffff', weight: 2, dashArray: '6 6', opacity: 0.8, interactive: false }).addTo(links);
    });
    links.addTo(map);
    // Keep the incident clear of the panel, which covers the right part of the map.
    var size = map.getSize(), p = map.latLngToContainerPoint(at);
    var target = L.point(Math.max(160, (size.x - 680) / 2), size.y / 2);
    if (p.x > size.x - 700 || p.x < 40 || p.y < 40 || p.y > size.y - 40) map.panBy(p.subtract(target), { animate: false });
  }

  function renderPanel(d) {
    var i = d.incident;
    upsertIncident(i);
    showLinks(d);
    (d.nearest_mediators || []).forEach(function (m) { names[m.mediator_id] = m.name; });
    $('#panel-title').replaceChildren(
      GD.el('span', { class: 'badge risk-' + i.risk, text: GD.t('risk.' + i.risk) }), ' ',
      GD.t('cat.' + i.category) + ' · ' + GD.t('status.' + i.status));
    var parts = [
      GD.el('p', { class: 'meta', text: GD.t('p.reported') + '：' + GD.fmtDateTime(i.created_at) +
        (i.resident_phone ? '　' + GD.t('p.phone') + '：' + i.resident_phone : '') }),
      GD.el('p', { class: 'desc', text: i.description })
    ];
    if (i.claimed_by) parts.push(GD.el('p', { class: 'meta', text: GD.t('p.claimed_by', { who: names[i.claimed_by] || i.claimed_by }) }));
    parts.push(GD.el('h3', { text: GD.t('p.timeline') }));
    parts.push(GD.el('ol', { class: 'timeline' }, (d.timeline || []).map(function (e) {
      return GD.el('li', {}, [GD.el('time', { datetime: e.at, text: GD.fmtTime(e.at) }), GD.el('span', { text: GD.describeEvent(e, names) })]);
    })));
    if (i.status === 'dispatching' || i.status === 'escalated') {
      parts.push(GD.el('h3', { text: GD.t('p.nearest') }));
      var near = d.nearest_mediators || [];
      if (!near.length) parts.push(GD.el('p', { class: 'meta', text: GD.t('p.none_near') }));
      parts.push(GD.el('ul', { class: 'nearest' }, near.map(function (m) {
        return GD.el('li', {}, [
          GD.el('span', {}, [m.name, m.specialist ? GD.el('span', { class: 'tag', text: GD.t('p.specialist') }) : null]),
          GD.el('span', { class: 'meta', text: GD.fmtDistance(m.distance_m) + ' · ' + GD.t('p.holds', { h: m.holds, c: m.capacity }) }),
          GD.el('button', { type: 'button', class: 'primary assign', dataset: { mediator: m.mediator_id },
            'aria-label': GD.t('p.assign') + ' ' + m.name, text: GD.t('p.assign'),
            onclick: function (e) { assign(i.id, m, e.currentTarget); } })
        ]);
      })));
    }
    $('#panel-body').replaceChildren.apply($('#panel-body'), parts);
  }

  function assign(id, m, button) {
    button.disabled = true;
    GD.api('POST', '/api/v1/command/incidents/' + encodeURIComponent(id) + '/assign', { token: token, body: { mediator_id: m.mediator_id } })
      .then(function (r) {
        button.disabled = false;
        if (!r.ok) { GD.toast(GD.t('err.generic', { msg: r.message }), 'error'); return; }
        GD.toast(GD.t('p.assigned', { who: m.name }), 'ok');
        upsertIncident(r.body);
        queueRender();
        openPanel(id, true);
      });
  }

  GD.onLang(function () {
    setLink(socket ? socket.state : 'connecting');
    queueRender();
    if (panelId) openPanel(panelId, true);
  });

  document.addEventListener('DOMContentLoaded', function () {
    setLink('connecting');
    setInterval(tick, 1000);
    setInterval(renderCounters, 5000);
    tick();
    var t = GD.takeToken('operator');
    if (t) start(t); else { initMap(); showLogin(); }
  });
})();
