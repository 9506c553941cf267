// The command-center big screen: live mediators and incidents from /api/v1/command/live,
// the escalated queue with countdowns, the incident panel with "assign", headline counters.
(function () {
  'use strict';
  var GD = window.GD;

  GD.strings({
    zh: {
      'page.title': '矛盾纠纷调解指挥中心', 'logout': '退出', 'counters': '统计', 'map': '地图', 'legend': '图例',
      'c.today': '今日上报', 'c.duty': '当前在岗调解员', 'c.median': '今日接单用时（中位数）', 'c.overdue': '超时',
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
      'c.split': '（未接单 {a} · 未办结 {b}）', 'q.overdue': '超时未办（到场/办结超时）',
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
      'stats.med_row': '接单 {c} · 办结 {r} · 调解成功 {m}', 'stats.none': '暂无', 'stats.downloaded': '已下载 {f}',
      'a.nav': '辖区', 'lg.area': '辖区边界', 'a.all': '全部辖区', 'a.pick': '选择{level}…', 'a.pick_label': '下一级：选择{level}',
      'a.filtered': '队列与计数仅含本区域', 'a.up': '返回上一级',
      'p.where': '所在区域', 'p.nowhere': '不在已划定的区域内', 'p.ladder': '处置层级', 'p.ladder_none': '尚未交指挥中心（派单中）',
      'p.ladder_now': '当前由{level}负责', 'p.ho_label': '交办说明（必填，记入处置经过）', 'p.ho_ph': '例如：请社区先行调解，明天上午回复',
      'p.up_to': '上交一级 → {level}', 'p.down_to': '下交一级 → {level}', 'p.up': '上交一级', 'p.down': '下交一级',
      'p.top': '已是最高一级', 'p.bottom': '没有更低一级', 'p.ho_empty': '请先填写交办说明',
      'p.ho_done_up': '已上交至{level}', 'p.ho_done_down': '已下交至{level}',
      'p.no_level_up': '已经是最高一级（区指挥中心），不能再上交', 'p.no_level_down': '没有可下交的下一级：该事件不在更低一级的区域内',
      'p.transfer': '转交其他区域', 'p.tr_hint': '上报位置有误时使用：事件改归所选区域（及其上级）', 'p.tr_search': '搜索区域名称',
      'p.tr_ph': '输入名称，如“南关”', 'p.tr_pick': '选择区域', 'p.tr_note': '转交说明（必填）', 'p.tr_send': '转交',
      'p.tr_none': '请先在列表中选择区域', 'p.tr_done': '已转至 {area}', 'p.tr_nomatch': '没有匹配的区域', 'p.tr_empty': '请先填写转交说明',
      'stats.by_area': '各街道、社区情况', 'stats.area': '区域', 'stats.reports': '上报', 'stats.resolved': '办结',
      'stats.rate': '化解率', 'stats.claim_med': '接单用时（中位数）'
    },
    en: {
      'page.title': 'Mediation Command Center', 'logout': 'Log out', 'counters': 'Counters', 'map': 'Map', 'legend': 'Legend',
      'c.today': 'Reports today', 'c.duty': 'Mediators on duty', 'c.median': 'Median time to claim (today)',
      'c.overdue': 'Overdue',
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
      'c.split': '(unclaimed {a} · not closed {b})', 'q.overdue': 'Overdue (arrival / closing)',
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
      'stats.med_row': 'claimed {c} · closed {r} · settled {m}', 'stats.none': 'None', 'stats.downloaded': 'Downloaded {f}',
      'a.nav': 'Area', 'lg.area': 'Area outlines', 'a.all': 'All areas', 'a.pick': 'Choose a {level}…', 'a.pick_label': 'Next level: choose a {level}',
      'a.filtered': 'Queues and counters: this area only', 'a.up': 'Back up one level',
      'p.where': 'Area', 'p.nowhere': 'Outside every mapped area', 'p.ladder': 'Ladder', 'p.ladder_none': 'Not with a command center yet (dispatching)',
      'p.ladder_now': 'Now with the {level}', 'p.ho_label': 'Note (required, goes into the timeline)', 'p.ho_ph': 'e.g. the community mediates first and reports back tomorrow',
      'p.up_to': 'Hand up → {level}', 'p.down_to': 'Hand down → {level}', 'p.up': 'Hand up one level', 'p.down': 'Hand down one level',
      'p.top': 'Already at the top', 'p.bottom': 'No level below', 'p.ho_empty': 'Write a note first',
      'p.ho_done_up': 'Handed up to the {level}', 'p.ho_done_down': 'Handed down to the {level}',
      'p.no_level_up': 'It is already with the district command center: there is no level above',
      'p.no_level_down': 'There is no level below to hand it to: it lies in no area of that level',
      'p.transfer': 'Transfer to another area', 'p.tr_hint': 'When a report was placed wrongly: it then belongs to the chosen area (and its parents)',
      'p.tr_search': 'Search area names', 'p.tr_ph': 'type a name', 'p.tr_pick': 'Choose an area', 'p.tr_note': 'Reason (required)', 'p.tr_send': 'Transfer',
      'p.tr_none': 'Choose an area in the list first', 'p.tr_done': 'Transferred to {area}', 'p.tr_nomatch': 'No matching area', 'p.tr_empty': 'Write a reason first',
      'stats.by_area': 'By street and community', 'stats.area': 'Area', 'stats.reports': 'Reports', 'stats.resolved': 'Closed',
      'stats.rate': 'Success rate', 'stats.claim_med': 'Median time to claim'
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
    if (!GD.addBaseMap(map)) new Grid({ pane: 'tilePane' }).addTo(map);
    L.control.scale({ imperial: false, position: 'bottomright' }).addTo(map);
    // Area outlines under everything (SVG, not clickable: a click on the map drills down),
    // their names just under the incidents.
    var areasPane = map.createPane('areas');
    areasPane.style.zIndex = 350;
    areasPane.style.pointerEvents = 'none';
    areaRenderer = L.svg({ pane: 'areas', padding: 0.3 });
    var labelPane = map.createPane('areaLabels');
    labelPane.style.zIndex = 430;
    labelPane.style.pointerEvents = 'none';
    map.on('click', onMapClick);
    map.on('zoomend', drawLabels);
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
    incidents.forEach(function (i) { if (isOpen(i) && inFocus(i)) pts.push([i.location.lat, i.location.lng]); });
    var b = areaBounds();
    if (b) { pts.push(b.getSouthWest()); pts.push(b.getNorthEast()); }
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
      // Leaflet sets a string as HTML: the name goes in as a text node.
      marker.bindTooltip(function () { return GD.el('span', { text: names[p.id] || p.id }); }, { className: 'med-name', direction: 'top' });
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
    if (!isOpen(i) || !inFocus(i)) {
      if (mk) { map.removeLayer(mk); incMarkers.delete(i.id); }
      return;
    }
    if (!mk) {
      mk = L.circleMarker([i.location.lat, i.location.lng], Object.assign({ renderer: incidentRenderer, pane: 'incidents', bubblingMouseEvents: false }, incidentStyle(i)));
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
      if (panelData && panelId === panelData.incident.id) renderPanel(panelData);
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
      if (leftMyAreas(msg.incident)) {
        // Transferred out of what this operator sees: drop it from the screen.
        incidents.delete(msg.incident.id);
        drawIncident({ id: msg.incident.id, status: 'resolved' });
        if (panelId === msg.incident.id) closePanel();
        queueRender();
        return;
      }
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
    $('#alarm-text').textContent = GD.t('alarm.text', { cat: GD.t('cat.' + i.category), desc: desc });
    $('#alarm-more').textContent = list.length > 1 ? GD.t('alarm.more', { n: list.length - 1 }) : '';
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
    $('#stats-open').hidden = false;
    initMap();
    loadAreas();
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
    var where = areaText(i);
    var sub = (where ? where + ' · ' : '') + GD.t('t.reported', { t: GD.fmtTime(i.created_at) }) + ' ' + (i.scene_id ? GD.t('p.scene') : '') + ' ' + i.description;
    if (kind === 'over') {
      var missed = missedDeadline(i);
      deadline = missed.at;
      what = GD.t('o.' + missed.kind) + ' · ' + GD.t('cat.' + i.category);
      sub = (where ? where + ' · ' : '') + GD.t('o.holder', { who: names[i.claimed_by] || '…' }) + ' · ' + i.description;
    }
    var alerting = isAlerting(i);
    return GD.el('li', { class: 'item risk-' + i.risk + (alerting ? ' alerted' : ''), tabindex: '0', role: 'button', dataset: { id: i.id },
      onclick: function () { openPanel(i.id); },
      onkeydown: function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); openPanel(i.id); } } }, [
      GD.el('span', { class: 'bar' }),
      GD.el('div', {}, [
        GD.el('div', { class: 'what' }, [what,
          areas.size && i.ladder ? GD.el('span', { class: 'flag ladder ladder-' + i.ladder, dataset: { ladder: i.ladder }, text: GD.t('ladder.' + i.ladder) }) : null,
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
      if (!inFocus(i)) return;
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
      if (!inFocus(i)) return;
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
  }

  // ---- incident panel -----------------------------------------------------------------------
  function openPanel(id, quiet) {
    if (!quiet) acknowledge(id);
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
  document.addEventListener('keydown', function (e) {
    if (e.key !== 'Escape') return;
    if (!$('#stats').hidden) closeStats(); else closePanel();
  });

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

  function stars(n) {
    var out = '';
    for (var k = 1; k <= 5; k++) out += k <= n ? '★' : '☆';
    return out;
  }

  /** One deadline row: when, and a live countdown until it is met. */
  function deadlineRow(label, due, metAt) {
    if (!due) return null;
    var met = metAt ? GD.t(Date.parse(metAt) <= Date.parse(due) ? 'p.met' : 'p.met_late') : null;
    return GD.el('li', {}, [
      GD.el('span', { class: 'dl-label', text: label }),
      GD.el('time', { datetime: due, text: GD.fmtDue(due) }),
      met ? GD.el('span', { class: 'meta', text: met }) : GD.el('span', { class: 'cd', dataset: { deadline: due } })
    ]);
  }

  function renderPanel(d) {
    var i = d.incident;
    panelData = d;
    upsertIncident(i);
    showLinks(d);
    (d.nearest_mediators || []).forEach(function (m) { names[m.mediator_id] = m.name; });
    var open = isOpen(i), held = i.status === 'claimed' || i.status === 'on_site';
    $('#panel-title').replaceChildren(
      GD.el('span', { class: 'badge risk-' + i.risk, text: GD.t('risk.' + i.risk) }), ' ',
      GD.t('cat.' + i.category) + ' · ' + GD.t('status.' + i.status));
    if (i.overdue) $('#panel-title').appendChild(GD.el('span', { class: 'badge over', text: GD.t('p.overdue') }));

    // Keep half-typed notes, the transfer search and the focused field across live refreshes.
    var drafts = takeDrafts(i.id);
    var phone = revealed[i.id] || i.resident_phone;
    var parts = [
      GD.el('p', { class: 'meta', text: GD.t('p.reported') + '：' + GD.fmtDateTime(i.created_at) +
        (i.wave > 1 ? '　' + GD.t('p.wave', { n: i.wave }) : '') }),
      GD.el('p', { class: 'meta phone-line' }, [GD.t('p.phone') + '：',
        GD.el('span', { class: revealed[i.id] ? 'full-phone' : '', text: phone || GD.t('p.no_phone') })]),
      GD.el('p', { class: 'desc', text: i.description })
    ];
    var flags = [];
    if (i.recurring) flags.push(GD.el('span', { class: 'badge recurring', text: GD.t('p.recurring') }));
    if (i.duplicate_of) {
      flags.push(GD.el('span', { class: 'dup' }, [GD.t('p.duplicate') + ' ',
        GD.el('button', { type: 'button', class: 'plain small dup-link', dataset: { id: i.duplicate_of },
          text: GD.t('p.open_dup'), onclick: function () { openPanel(i.duplicate_of); } })]));
    }
    if (flags.length) parts.push(GD.el('div', { class: 'flags' }, flags));
    if (areas.size) parts = parts.concat(ladderSection(i, open));
    if (i.claimed_by) parts.push(GD.el('p', { class: 'meta', text: GD.t('p.claimed_by', { who: names[i.claimed_by] || i.claimed_by }) }));

    if (i.arrive_by || i.resolve_by) {
      parts.push(GD.el('h3', { text: GD.t('p.deadlines') }));
      parts.push(GD.el('ul', { class: 'deadlines' }, [
        deadlineRow(GD.t('p.arrive_by'), i.arrive_by, i.arrived_at || (i.status === 'resolved' ? i.resolved_at : null)),
        deadlineRow(GD.t('p.resolve_by'), i.resolve_by, i.resolved_at)
      ]));
    }
    if (i.supervision) {
      parts.push(GD.el('h3', { text: GD.t('p.supervision') }));
      parts.push(GD.el('p', { class: 'supervision', text: GD.t('p.supervised_at', {
        who: names[i.supervision.operator_id] || GD.t('who.operator'), t: GD.fmtShort(i.supervision.at), note: i.supervision.note }) }));
    }
    if (i.feedback) {
      var f = i.feedback;
      parts.push(GD.el('h3', { text: GD.t('p.feedback') }));
      parts.push(GD.el('div', { class: 'feedback' + (f.resolved ? '' : ' unsolved') }, [
        GD.el('span', { class: 'stars', 'aria-label': GD.t('p.stars', { n: f.rating }), text: stars(f.rating) }),
        GD.el('span', { class: 'meta', text: ' ' + GD.t('p.stars', { n: f.rating }) + ' · ' + GD.fmtShort(f.at) }),
        GD.el('p', { class: 'fb-resolved', text: GD.t(f.resolved ? 'p.fb_yes' : 'p.fb_no') }),
        GD.el('p', { class: 'fb-comment', text: f.comment ? '“' + f.comment + '”' : GD.t('p.no_comment') })
      ]));
    }

    // Actions: risk colour, supervision, audited phone reveal.
    if (open) {
      parts.push(GD.el('h3', { text: GD.t('p.actions') }));
      parts.push(GD.el('div', { class: 'risk-row', role: 'group', 'aria-label': GD.t('p.risk') }, [
        GD.el('span', { class: 'meta', text: GD.t('p.risk') + '：' })
      ].concat(['red', 'yellow', 'blue'].map(function (r) {
        return GD.el('button', { type: 'button', class: 'risk-btn risk-' + r, 'aria-pressed': i.risk === r ? 'true' : 'false',
          'aria-label': GD.t('p.risk_btn', { risk: GD.t('risk.' + r) }), dataset: { risk: r }, text: GD.t('risk.' + r),
          onclick: function (e) { if (i.risk !== r) setRisk(i.id, r, e.currentTarget); } });
      }))));
      if (held || i.status === 'escalated' || i.status === 'dispatching') {
        parts.push(GD.el('div', { class: 'supervise' }, [
          GD.el('label', { for: 'sup-note', text: GD.t('p.sup_label') }),
          GD.el('textarea', { id: 'sup-note', dataset: { for: i.id }, rows: '2', maxlength: '1000', placeholder: GD.t('p.sup_ph') }),
          GD.el('button', { type: 'button', class: 'primary', id: 'sup-send', text: GD.t('p.supervise'),
            onclick: function (e) { supervise(i.id, e.currentTarget); } })
        ]));
      }
    }
    if (i.resident_phone && !revealed[i.id]) {
      parts.push(GD.el('div', { class: 'reveal' }, [
        GD.el('button', { type: 'button', class: 'plain', id: 'reveal', text: GD.t('p.reveal'),
          'aria-describedby': 'reveal-note', onclick: function (e) { reveal(i.id, e.currentTarget); } }),
        GD.el('span', { id: 'reveal-note', class: 'meta', text: GD.t('p.reveal_note') })
      ]));
    }

    parts.push(GD.el('h3', { text: GD.t('p.timeline') }));
    parts.push(GD.el('ol', { class: 'timeline' }, (d.timeline || []).map(function (e) {
      var text = GD.describeEvent(e, names, 'staff');
      if (text === null) return null;
      return GD.el('li', { class: e.event.type === 'notified' ? 'muted' : (e.event.type === 'alerted' ? 'alert' : '') },
        [GD.el('time', { datetime: e.at, text: GD.fmtTime(e.at) }), GD.el('span', { text: text })]);
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
    restoreDrafts(drafts);
    tick();
  }

  function panelAction(id, path, body, button, done, failed) {
    button.disabled = true;
    return GD.api('POST', '/api/v1/command/incidents/' + encodeURIComponent(id) + '/' + path, { token: token, body: body })
      .then(function (r) {
        button.disabled = false;
        if (r.status === 401) { authFailed(); return; }
        if (!r.ok && failed && failed(r)) return;
        if (!r.ok) { GD.toast(GD.t('err.generic', { msg: r.message }), 'error'); return; }
        done(r.body);
        if (panelId === id) openPanel(id, true);
      });
  }
  function setRisk(id, risk, button) {
    panelAction(id, 'risk', { risk: risk }, button, function (v) {
      upsertIncident(v);
      queueRender();
      GD.toast(GD.t('p.risk_set', { risk: GD.t('risk.' + risk) }), 'ok');
    });
  }
  function supervise(id, button) {
    var note = $('#sup-note').value.trim();
    if (!note) { GD.toast(GD.t('p.sup_empty'), 'error'); $('#sup-note').focus(); return; }
    panelAction(id, 'supervise', { note: note }, button, function (v) {
      $('#sup-note').value = '';
      upsertIncident(v);
      queueRender();
      GD.toast(GD.t('p.supervised'), 'ok');
    });
  }
  function reveal(id, button) {
    panelAction(id, 'reveal-phone', {}, button, function (v) {
      revealed[id] = v.phone || GD.t('p.no_phone');
    });
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


  // ---- jurisdictions: outlines, drill-down, breadcrumb, the ladder in the panel -----------------
  var areas = new Map();       // code → {code, name, level, parent, geometry, children, layer, bounds}
  var areaRenderer = null, areaLayer = null, areaLabels = null, focus = null;
  var LEVELS = ['district', 'street', 'community', 'grid'];
  var AREA_STYLE = {
    district: { color: '#d3def5', weight: 4, opacity: 0.95 },
    street: { color: '#93acd9', weight: 2.5, opacity: 0.9 },
    community: { color: '#7189b6', weight: 1.5, opacity: 0.8 },
    grid: { color: '#5d7299', weight: 1, opacity: 0.5, dashArray: '4 5' }
  };
  GD.areaName = function (code) { var a = areas.get(code); return a ? a.name : code; };
  window.gdCommand.areas = areas;
  window.gdCommand.focus = function () { return focus; };
  window.gdCommand.drill = function (code) { setFocus(code); };
  window.gdCommand.point = function (lat, lng) { var p = map.latLngToContainerPoint([lat, lng]); return { x: p.x, y: p.y }; };

  function byName(a, b) { return String(areas.get(a).name).localeCompare(String(areas.get(b).name), 'zh-CN'); }
  function roots() {
    return Array.from(areas.values()).filter(function (a) { return !a.parent || !areas.has(a.parent); })
      .map(function (a) { return a.code; }).sort(byName);
  }
  /** The one area at the top of what this operator sees (their district or street), if one. */
  function top() { var r = roots(); return r.length === 1 ? r[0] : null; }
  function children(code) { return code ? (areas.get(code) || { children: [] }).children : roots(); }
  /** The area the queues and counters are narrowed to (none at the top). */
  function filterCode() { return focus && focus !== top() ? focus : null; }
  function inFocus(i) {
    var f = filterCode(), a = (i && i.area) || {};
    return !f || a.district === f || a.street === f || a.community === f || a.grid === f;
  }
  function within(code, ancestor) {
    for (var c = code; c; c = (areas.get(c) || {}).parent) if (c === ancestor) return true;
    return false;
  }
  function chain(code) {
    var out = [];
    for (var c = code; c && areas.has(c); c = areas.get(c).parent) out.unshift(c);
    return out;
  }
  /** Street and community (or grid) names of an incident, for the queues. */
  function areaText(i) {
    if (!areas.size || !i.area) return '';
    return ['street', 'community', 'grid'].map(function (l) { return i.area[l]; })
      .filter(Boolean).slice(0, 2).map(GD.areaName).join(' ');
  }
  /** True when this operator's one top area is set and the incident no longer lies in it. */
  function leftMyAreas(i) {
    var t = top(), a = (i && i.area) || {};
    if (!t) return false;
    return [a.district, a.street, a.community, a.grid].indexOf(t) < 0;
  }
  function mostSpecific(i) {
    var a = i.area || {};
    return a.grid || a.community || a.street || a.district || null;
  }
  function areaBounds() {
    var a = areas.get(focus || top());
    if (a && a.bounds && a.bounds.isValid()) return a.bounds;
    var b = null;
    areas.forEach(function (x) { if (x.bounds && x.bounds.isValid()) b = b ? b.extend(x.bounds) : L.latLngBounds(x.bounds.getSouthWest(), x.bounds.getNorthEast()); });
    return b;
  }

  function loadAreas() {
    return GD.api('GET', '/api/v1/command/areas', { token: token }).then(function (r) {
      if (!r.ok || !r.body || !Array.isArray(r.body.features)) return;
      areas.clear();
      r.body.features.forEach(function (f) {
        var p = f.properties || {};
        if (!p.code || !f.geometry) return;
        areas.set(p.code, { code: p.code, name: p.name || p.code, level: p.level, parent: p.parent || null, geometry: f.geometry, children: [] });
      });
      areas.forEach(function (a) { if (a.parent && areas.has(a.parent)) areas.get(a.parent).children.push(a.code); });
      areas.forEach(function (a) { a.children.sort(byName); });
      if (focus && !areas.has(focus)) focus = null;
      drawAreas();
      if (autoFit) { fitted = false; fitAll(false); }
      drawLabels();
      incidents.forEach(drawIncident);
      queueRender();
      if (panelId) openPanel(panelId, true);
    });
  }

  function areaStyle(a) {
    var s = Object.assign({ fill: false, interactive: false }, AREA_STYLE[a.level] || AREA_STYLE.grid);
    var f = filterCode();
    if (f && a.code === f) {
      Object.assign(s, { color: '#35d0ff', weight: s.weight + 2, opacity: 1, dashArray: null, fill: true, fillColor: '#35d0ff', fillOpacity: 0.07 });
    } else if (f && !within(a.code, f) && !within(f, a.code)) {
      s.opacity *= 0.35;
    }
    return s;
  }
  function drawAreas() {
    if (areaLayer) { map.removeLayer(areaLayer); areaLayer = null; }
    var has = areas.size > 0;
    document.body.classList.toggle('has-areas', has);
    $('#crumbs').hidden = !has;
    $('.legend .lg-area').hidden = !has;
    renderCrumbs();
    if (!has) return;
    areaLayer = L.layerGroup().addTo(map);
    // Grids first, the district last: bold outlines are drawn over faint ones.
    Array.from(areas.values())
      .sort(function (a, b) { return LEVELS.indexOf(b.level) - LEVELS.indexOf(a.level); })
      .forEach(function (a) {
        a.layer = L.geoJSON(a.geometry, { renderer: areaRenderer, pane: 'areas', interactive: false, style: function () { return areaStyle(a); } });
        a.layer.addTo(areaLayer);
        a.bounds = a.layer.getBounds();
      });
  }
  function styleAreas() {
    areas.forEach(function (a) { if (a.layer) a.layer.setStyle(areaStyle(a)); });
    var f = areas.get(filterCode());
    if (f && f.layer) f.layer.bringToFront();
  }
  function labelPoint(a) {
    try {
      var first = a.layer.getLayers()[0];
      if (first && first.getCenter) return first.getCenter();
    } catch (e) { /* not on the map yet */ }
    return a.bounds.getCenter();
  }
  /** Names of the areas one level below the current one, when they are big enough on screen to read. */
  function drawLabels() {
    if (!map) return;
    if (areaLabels) { map.removeLayer(areaLabels); areaLabels = null; }
    if (!areas.size) return;
    areaLabels = L.layerGroup().addTo(map);
    var here = focus || top();
    var list = children(here);
    if (!list.length && here) list = [here];
    list.forEach(function (code) {
      var a = areas.get(code);
      if (!a || !a.bounds || !a.bounds.isValid()) return;
      var nw = map.latLngToContainerPoint(a.bounds.getNorthWest()), se = map.latLngToContainerPoint(a.bounds.getSouthEast());
      if (se.x - nw.x < 110 || se.y - nw.y < 40) return;
      L.tooltip({ permanent: true, direction: 'center', className: 'area-label area-' + a.level, interactive: false, pane: 'areaLabels' })
        .setLatLng(labelPoint(a)).setContent(GD.el('span', { text: a.name })).addTo(areaLabels);
    });
  }

  function setFocus(code) {
    focus = code && areas.has(code) ? code : null;
    autoFit = false;
    styleAreas();
    var b = areaBounds();
    if (b) {
      var right = $('#panel').hidden ? 40 : 700;
      map.fitBounds(b, { paddingTopLeft: [60, 90], paddingBottomRight: [right, 70], animate: false });
    }
    drawLabels();
    renderCrumbs();
    incidents.forEach(drawIncident);
    queueRender();
  }

  function inRing(ring, x, y) {
    var inside = false;
    for (var k = 0, j = ring.length - 1; k < ring.length; j = k++) {
      var xk = ring[k][0], yk = ring[k][1], xj = ring[j][0], yj = ring[j][1];
      if ((yk > y) !== (yj > y) && x < (xj - xk) * (y - yk) / (yj - yk) + xk) inside = !inside;
    }
    return inside;
  }
  function contains(g, ll) {
    var polys = g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : [];
    return polys.some(function (rings) {
      return rings.length && inRing(rings[0], ll.lng, ll.lat)
        && !rings.slice(1).some(function (hole) { return inRing(hole, ll.lng, ll.lat); });
    });
  }
  /** A click on the map drills into the area one level down under the pointer. */
  function onMapClick(e) {
    if (!areas.size) return;
    var hit = children(focus || top()).filter(function (c) { return contains(areas.get(c).geometry, e.latlng); })[0];
    if (hit) setFocus(hit);
  }

  function renderCrumbs() {
    var nav = $('#crumbs');
    if (!areas.size) { nav.replaceChildren(); return; }
    var here = focus || top();
    var path = chain(here);
    if (!top()) path.unshift(null);
    var parts = [GD.el('span', { class: 'crumbs-title', text: GD.t('a.nav') })];
    path.forEach(function (code, k) {
      var label = code ? areas.get(code).name : GD.t('a.all');
      if (k) parts.push(GD.el('span', { class: 'sep', 'aria-hidden': 'true', text: '›' }));
      if (k === path.length - 1) {
        parts.push(GD.el('span', { class: 'here', 'aria-current': 'location', dataset: { code: code || '' }, text: label }));
      } else {
        parts.push(GD.el('button', { type: 'button', class: 'crumb', dataset: { code: code || '' }, text: label,
          onclick: function () { setFocus(code); } }));
      }
    });
    var kids = children(here);
    if (kids.length) {
      var level = GD.t('lvl.' + areas.get(kids[0]).level);
      parts.push(GD.el('span', { class: 'sep', 'aria-hidden': 'true', text: '›' }));
      parts.push(GD.el('select', { id: 'crumb-next', 'aria-label': GD.t('a.pick_label', { level: level }),
        onchange: function (e) { if (e.target.value) setFocus(e.target.value); } },
      [GD.el('option', { value: '', text: GD.t('a.pick', { level: level }) })].concat(kids.map(function (c) {
        return GD.el('option', { value: c, text: areas.get(c).name });
      }))));
    }
    if (filterCode()) parts.push(GD.el('span', { class: 'filtered', text: GD.t('a.filtered') }));
    nav.replaceChildren.apply(nav, parts);
  }

  // The panel: where the incident lies, where it is on the ladder, hand over, transfer.
  function handTarget(i, up) {
    var cur = i.ladder || 'district', a = i.area || {};
    if (up) return i.ladder && i.ladder !== 'district' ? GD.LADDER[GD.LADDER.indexOf(cur) + 1] : null;
    if (cur === 'district') return a.street ? 'street' : null;
    if (cur === 'street') return a.community ? 'community' : null;
    return null;
  }
  function ladderSection(i, open) {
    var out = [GD.el('h3', { text: GD.t('p.ladder') })];
    var path = LEVELS.map(function (l) { return i.area && i.area[l]; }).filter(Boolean);
    out.push(GD.el('p', { class: 'meta where', text: GD.t('p.where') + '：' +
      (path.length ? path.map(GD.areaName).join(' › ') : GD.t('p.nowhere')) }));
    out.push(GD.el('ol', { class: 'ladder-steps', 'aria-label': i.ladder ? GD.t('p.ladder_now', { level: GD.t('ladder.' + i.ladder) }) : GD.t('p.ladder_none') },
      GD.LADDER.reduce(function (acc, l, k) {
        var here = i.ladder === l;
        if (k) acc.push(GD.el('li', { class: 'arrow', 'aria-hidden': 'true', text: '→' }));
        acc.push(GD.el('li', { class: 'step' + (here ? ' current' : ''), 'aria-current': here ? 'step' : null, dataset: { level: l }, text: GD.t('ladder.' + l) }));
        return acc;
      }, [])));
    if (!i.ladder) out.push(GD.el('p', { class: 'meta', text: GD.t('p.ladder_none') }));
    if (!open) return out;
    var up = handTarget(i, true), down = handTarget(i, false);
    out.push(GD.el('div', { class: 'handover' }, [
      GD.el('label', { for: 'ho-note', text: GD.t('p.ho_label') }),
      GD.el('textarea', { id: 'ho-note', dataset: { for: i.id }, rows: '2', maxlength: '1000', placeholder: GD.t('p.ho_ph') }),
      GD.el('div', { class: 'ho-buttons' }, [
        GD.el('button', { type: 'button', class: 'plain ho', id: 'ho-up', disabled: !up, title: up ? null : GD.t('p.top'),
          text: up ? GD.t('p.up_to', { level: GD.t('ladder.' + up) }) : GD.t('p.up') + '（' + GD.t('p.top') + '）',
          onclick: function (e) { handOver(i, true, e.currentTarget); } }),
        GD.el('button', { type: 'button', class: 'plain ho', id: 'ho-down', disabled: !down, title: down ? null : GD.t('p.bottom'),
          text: down ? GD.t('p.down_to', { level: GD.t('ladder.' + down) }) : GD.t('p.down') + '（' + GD.t('p.bottom') + '）',
          onclick: function (e) { handOver(i, false, e.currentTarget); } })
      ])
    ]));
    out.push(transferBox(i));
    return out;
  }
  function handOver(i, up, button) {
    var box = $('#ho-note'), note = box.value.trim();
    if (!note) { GD.toast(GD.t('p.ho_empty'), 'error'); box.focus(); return; }
    panelAction(i.id, 'handover', { direction: up ? 'up' : 'down', note: note }, button, function (v) {
      box.value = '';
      upsertIncident(v);
      queueRender();
      GD.toast(GD.t(up ? 'p.ho_done_up' : 'p.ho_done_down', { level: GD.t('ladder.' + v.ladder) }), 'ok');
    }, function (r) {
      if (r.status !== 409 || r.code !== 'no_such_level') return false;
      GD.toast(GD.t(up ? 'p.no_level_up' : 'p.no_level_down'), 'error');
      return true;
    });
  }
  function areaOptionText(a) {
    var parent = a.parent && areas.has(a.parent) ? ' · ' + areas.get(a.parent).name : '';
    return a.name + '（' + GD.t('lvl.' + a.level) + parent + '）';
  }
  function transferBox(i) {
    var current = mostSpecific(i);
    var choices = Array.from(areas.values()).filter(function (a) { return a.code !== current; })
      .sort(function (a, b) { return (LEVELS.indexOf(a.level) - LEVELS.indexOf(b.level)) || a.name.localeCompare(b.name, 'zh-CN'); });
    var select = GD.el('select', { id: 'tr-area', size: '6', dataset: { for: i.id }, 'aria-describedby': 'tr-count' });
    var count = GD.el('p', { id: 'tr-count', class: 'meta', 'aria-live': 'polite' });
    var search = GD.el('input', { type: 'search', id: 'tr-search', dataset: { for: i.id }, autocomplete: 'off',
      placeholder: GD.t('p.tr_ph'), 'aria-controls': 'tr-area' });
    function filter() {
      var q = search.value.trim().toLowerCase(), keep = select.value;
      var shown = choices.filter(function (a) { return !q || a.name.toLowerCase().indexOf(q) >= 0 || a.code.toLowerCase().indexOf(q) >= 0; });
      select.replaceChildren.apply(select, shown.map(function (a) { return GD.el('option', { value: a.code, text: areaOptionText(a) }); }));
      if (keep && shown.some(function (a) { return a.code === keep; })) select.value = keep;
      else if (shown.length === 1) select.value = shown[0].code;
      count.textContent = shown.length ? '' : GD.t('p.tr_nomatch');
    }
    search.addEventListener('input', filter);
    filter();
    return GD.el('details', { class: 'transfer', id: 'tr-box', dataset: { for: i.id } }, [
      GD.el('summary', { text: GD.t('p.transfer') }),
      GD.el('div', { class: 'tr-body' }, [
        GD.el('p', { class: 'meta', text: GD.t('p.tr_hint') }),
        GD.el('label', { for: 'tr-search', text: GD.t('p.tr_search') }), search,
        GD.el('label', { for: 'tr-area', text: GD.t('p.tr_pick') }), select, count,
        GD.el('label', { for: 'tr-note', text: GD.t('p.tr_note') }),
        GD.el('textarea', { id: 'tr-note', dataset: { for: i.id }, rows: '2', maxlength: '1000' }),
        GD.el('button', { type: 'button', class: 'primary', id: 'tr-send', text: GD.t('p.tr_send'),
          onclick: function (e) { transfer(i, e.currentTarget); } })
      ])
    ]);
  }
  function transfer(i, button) {
    var code = $('#tr-area').value, note = $('#tr-note').value.trim();
    if (!code) { GD.toast(GD.t('p.tr_none'), 'error'); $('#tr-search').focus(); return; }
    if (!note) { GD.toast(GD.t('p.tr_empty'), 'error'); $('#tr-note').focus(); return; }
    panelAction(i.id, 'transfer', { area: code, note: note }, button, function (v) {
      $('#tr-note').value = ''; $('#tr-search').value = '';
      var box = $('#tr-box');
      if (box) box.open = false;
      upsertIncident(v);
      queueRender();
      GD.toast(GD.t('p.tr_done', { area: GD.areaName(code) }), 'ok');
    });
  }

  var DRAFT_IDS = ['sup-note', 'ho-note', 'tr-search', 'tr-area', 'tr-note'];
  function takeDrafts(id) {
    var d = { values: {} }, box = $('#tr-box'), active = document.activeElement;
    DRAFT_IDS.forEach(function (k) { var el = $('#' + k); if (el && el.dataset.for === id && el.value) d.values[k] = el.value; });
    d.open = !!(box && box.dataset.for === id && box.open);
    if (active && active.id && DRAFT_IDS.indexOf(active.id) >= 0 && active.dataset.for === id) {
      d.active = active.id;
      try { d.sel = [active.selectionStart, active.selectionEnd]; } catch (e) { d.sel = null; }
    }
    return d;
  }
  function restoreDrafts(d) {
    DRAFT_IDS.forEach(function (k) {
      var el = $('#' + k);
      if (!el || d.values[k] === undefined) return;
      el.value = d.values[k];
      if (k === 'tr-search') el.dispatchEvent(new Event('input'));
    });
    if (d.open && $('#tr-box')) $('#tr-box').open = true;
    var a = d.active && $('#' + d.active);
    if (a) {
      a.focus();
      if (d.sel && a.setSelectionRange && d.sel[0] !== null) { try { a.setSelectionRange(d.sel[0], d.sel[1]); } catch (e) { /* select */ } }
    }
  }

  /** The statistics per street and its communities: reports, 化解率, median time to claim. */
  function areaTable(st) {
    var rows = (st.by_area || []).filter(function (a) { return a.level === 'street' || a.level === 'community'; });
    var seen = {};
    rows.forEach(function (a) { seen[a.code] = true; });
    // Streets and communities with no report this month are listed too, with zeros.
    areas.forEach(function (a) {
      if ((a.level === 'street' || a.level === 'community') && !seen[a.code]) {
        rows.push({ code: a.code, level: a.level, reports: 0, resolved: 0, mediated: 0, mediation_success_rate: null, time_to_claim: null });
      }
    });
    if (!rows.length) return null;
    var name = function (c) { return GD.areaName(c); };
    var cmp = function (a, b) { return name(a.code).localeCompare(name(b.code), 'zh-CN'); };
    var streets = rows.filter(function (a) { return a.level === 'street'; }).sort(cmp);
    var ordered = [];
    streets.forEach(function (s) {
      ordered.push(s);
      rows.filter(function (a) { return a.level === 'community' && (areas.get(a.code) || {}).parent === s.code; })
        .sort(cmp).forEach(function (c) { ordered.push(c); });
    });
    rows.forEach(function (a) { if (ordered.indexOf(a) < 0) ordered.push(a); });
    var med = function (d) { return d && d.count && d.median_s !== null && d.median_s !== undefined ? GD.fmtDuration(d.median_s * 1000) : '–'; };
    var th = function (k, num) { return GD.el('th', { scope: 'col', class: num ? 'num' : '', text: GD.t(k) }); };
    return [
      GD.el('h3', { class: 'stats-h', text: GD.t('stats.by_area') }),
      GD.el('table', { class: 'area-table', id: 'stats-areas' }, [
        GD.el('thead', {}, [GD.el('tr', {}, [th('stats.area'), th('stats.reports', true), th('stats.resolved', true),
          th('stats.rate', true), th('stats.claim_med', true)])]),
        GD.el('tbody', {}, ordered.map(function (a) {
          return GD.el('tr', { class: 'lvl-' + a.level, dataset: { code: a.code } }, [
            GD.el('th', { scope: 'row' }, [GD.el('span', { class: 'lvl-tag', text: GD.t('lvl.' + a.level) }), ' ' + name(a.code)]),
            GD.el('td', { class: 'num', text: String(a.reports) }),
            GD.el('td', { class: 'num', text: String(a.resolved) }),
            GD.el('td', { class: 'num', text: pct(a.mediation_success_rate) }),
            GD.el('td', { class: 'num', text: med(a.time_to_claim) })
          ]);
        }))
      ])
    ];
  }

  // ---- hot spots: areas with repeated reports (H3 cells), translucent hexagons -------------------
  function loadHotspots() {
    GD.api('GET', '/api/v1/command/hotspots', { token: token }).then(function (r) {
      if (!hotLayer) return;
      if (!r.ok || !Array.isArray(r.body)) { GD.toast(GD.t('hot.failed', { msg: r.message }), 'error'); return; }
      hotLayer.clearLayers();
      var max = r.body.reduce(function (m, h) { return Math.max(m, h.reports); }, 1);
      r.body.forEach(function (h) {
        var ring = (h.boundary || []).map(function (p) { return [p.lat, p.lng]; });
        if (ring.length < 3) return;
        L.polygon(ring, { color: '#ff9f0a', weight: 2, opacity: 0.9, fillColor: '#ff9f0a', fillOpacity: 0.12 + 0.28 * h.reports / max, interactive: false })
          .addTo(hotLayer);
        L.tooltip({ permanent: true, direction: 'center', className: 'hot-label', interactive: false })
          .setLatLng([h.center.lat, h.center.lng]).setContent(GD.t('hot.count', { n: h.reports })).addTo(hotLayer);
      });
      if (!r.body.length) GD.toast(GD.t('hot.none'));
      window.gdCommand.hotspots = r.body.length;
    });
  }
  function setHot(on) {
    var b = $('#hot-toggle');
    b.setAttribute('aria-pressed', on ? 'true' : 'false');
    b.textContent = GD.t(on ? 'hot.hide' : 'hot.show');
    clearInterval(hotTimer);
    if (hotLayer) { map.removeLayer(hotLayer); hotLayer = null; }
    if (!on || !map) return;
    hotLayer = L.layerGroup().addTo(map);
    loadHotspots();
    hotTimer = setInterval(loadHotspots, 5 * 60 * 1000);
  }
  $('#hot-toggle').addEventListener('click', function () { setHot(!hotLayer); });

  // ---- this month's figures and the CSV export --------------------------------------------------
  function pct(x) { return x === null || x === undefined ? '–' : (Math.round(x * 1000) / 10) + '%'; }
  function dur(d) {
    if (!d || !d.count) return '–';
    var f = function (s) { return s === null || s === undefined ? '–' : GD.fmtDuration(s * 1000); };
    return f(d.median_s) + ' / ' + f(d.p90_s);
  }
  function counts(obj, prefix) {
    var keys = Object.keys(obj || {});
    if (!keys.length) return GD.t('stats.none');
    return keys.map(function (k) { return GD.t(prefix + k) + ' ' + obj[k]; }).join('　');
  }
  function figure(label, value, cls) {
    return GD.el('div', { class: 'fig ' + (cls || '') }, [GD.el('div', { class: 'fig-v', text: value }), GD.el('div', { class: 'fig-l', text: label })]);
  }
  function openStats() {
    $('#stats').hidden = false;
    $('#stats-body').replaceChildren(GD.el('p', { class: 'meta', text: GD.t('stats.loading') }));
    $('#stats-range').textContent = '';
    $('#stats-close').focus();
    GD.api('GET', '/api/v1/command/stats', { token: token }).then(function (r) {
      if (r.status === 401) { authFailed(); return; }
      if (!r.ok) { $('#stats-body').replaceChildren(GD.el('p', { text: GD.t('p.failed', { msg: r.message }) })); return; }
      var st = r.body;
      $('#stats-range').textContent = GD.t('stats.range', { from: st.from, to: st.to });
      $('#stats-csv').dataset.range = 'from=' + encodeURIComponent(st.from) + '&to=' + encodeURIComponent(st.to);
      $('#stats-body').replaceChildren(
        GD.el('div', { class: 'figs' }, [
          figure(GD.t('stats.total'), String(st.total)),
          figure(GD.t('stats.success'), pct(st.mediation_success_rate), 'good'),
          figure(GD.t('stats.on_time'), pct(st.on_time_rate)),
          figure(GD.t('stats.escalation'), pct(st.escalation_rate), 'warn'),
          figure(GD.t('stats.rating'), st.average_rating === null || st.average_rating === undefined ? '–'
            : GD.t('stats.rating_v', { v: (Math.round(st.average_rating * 10) / 10), n: st.ratings }))
        ]),
        GD.el('dl', { class: 'stat-list' }, [
          GD.el('dt', { text: GD.t('stats.claim') }), GD.el('dd', { text: dur(st.time_to_claim) }),
          GD.el('dt', { text: GD.t('stats.arrive') }), GD.el('dd', { text: dur(st.time_to_arrive) }),
          GD.el('dt', { text: GD.t('stats.resolve') }), GD.el('dd', { text: dur(st.time_to_resolve) }),
          GD.el('dt', { text: GD.t('stats.by_risk') }), GD.el('dd', { text: counts(st.by_risk, 'risk.') }),
          GD.el('dt', { text: GD.t('stats.by_status') }), GD.el('dd', { text: counts(st.by_status, 'status.') }),
          GD.el('dt', { text: GD.t('stats.by_category') }), GD.el('dd', { text: counts(st.by_category, 'cat.') }),
          GD.el('dt', { text: GD.t('stats.mediators') }), GD.el('dd', {}, (st.mediators || []).slice(0, 8).map(function (m) {
            return GD.el('div', { text: (m.name || m.mediator_id) + '：' + GD.t('stats.med_row', { c: m.claimed, r: m.resolved, m: m.mediated }) });
          }).concat((st.mediators || []).length ? [] : [GD.t('stats.none')]))
        ]));
      var table = areas.size ? areaTable(st) : null;
      if (table) table.forEach(function (el) { $('#stats-body').appendChild(el); });
    });
  }
  function closeStats() { $('#stats').hidden = true; $('#stats-open').focus(); }
  $('#stats-open').addEventListener('click', openStats);
  $('#stats-close').addEventListener('click', closeStats);
  $('#stats').addEventListener('click', function (e) { if (e.target === $('#stats')) closeStats(); });
  // A plain link cannot carry the bearer token: fetch the CSV and hand it over as a file.
  $('#stats-csv').addEventListener('click', function (e) {
    var b = e.currentTarget;
    var q = b.dataset.range ? '?' + b.dataset.range : '';
    b.disabled = true;
    fetch('/api/v1/command/stats.csv' + q, { headers: { Authorization: 'Bearer ' + token }, cache: 'no-store' }).then(function (r) {
      if (!r.ok) throw new Error(r.status + ' ' + r.statusText);
      var cd = r.headers.get('content-disposition') || '';
      var m = /filename="?([^";]+)"?/.exec(cd);
      var file = m ? m[1] : 'grid-dispatch-stats.csv';
      return r.blob().then(function (blob) {
        var url = URL.createObjectURL(blob);
        var a = GD.el('a', { href: url, download: file, class: 'sr-only' });
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
        GD.toast(GD.t('stats.downloaded', { f: file }), 'ok');
      });
    }).catch(function (err) {
      GD.toast(GD.t('err.generic', { msg: err.message || GD.t('err.network') }), 'error');
    }).then(function () { b.disabled = false; });
  });

  /** `/#incident=<id>` opens that incident's panel (links from elsewhere, tests). */
  function openFromHash() {
    var m = /^#incident=([\w-]+)$/.exec(location.hash);
    if (m && token) openPanel(decodeURIComponent(m[1]));
  }
  window.addEventListener('hashchange', openFromHash);

  GD.onLang(function () {
    setLink(socket ? socket.state : 'connecting');
    renderCrumbs();
    queueRender();
    renderAlarm();
    if (hotLayer) { $('#hot-toggle').textContent = GD.t('hot.hide'); loadHotspots(); } else $('#hot-toggle').textContent = GD.t('hot.show');
    if (panelId) openPanel(panelId, true);
    if (!$('#stats').hidden) openStats();
  });

  document.addEventListener('DOMContentLoaded', function () {
    setLink('connecting');
    setInterval(tick, 1000);
    setInterval(renderCounters, 5000);
    tick();
    var t = GD.takeToken('operator');
    if (t) { start(t); openFromHash(); } else { initMap(); showLogin(); }
  });
})();
