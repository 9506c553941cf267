// The mediator's phone page: log in, go on duty, share position, grab offers, then call,
// navigate, arrive and resolve. Keeps working on a flaky network: positions go over HTTP when
// the socket is down (and are resent periodically), offers are polled until it reconnects.
import { GD, $ } from './common.js';

GD.strings({
  zh: {
    'page.title': '调解员接单', 'logout': '退出', 'duty.title': '上岗状态',
    'duty.on': '在岗中', 'duty.off': '未上岗', 'duty.go_on': '上岗', 'duty.go_off': '下岗',
    'duty.hint_off': '上岗后才会收到附近的派单',
    'pos.waiting': '正在获取位置…', 'pos.shared': '位置已共享 · 精度 {acc} · {t}', 'pos.pending': '位置待发送（网络不通）',
    'pos.denied': '无法获取位置：请在浏览器设置中允许定位', 'pos.unavailable': '暂时无法定位，稍后自动重试',
    'pos.unsupported': '此浏览器不支持定位',
    'mine.title': '我的在办', 'offers.title': '新的派单', 'offers.none': '暂无派单。上岗并共享位置后，附近的纠纷会推送到这里。',
    'offers.polling': '（网络不稳，每 5 秒刷新）',
    'net.down': '实时连接中断，正在重连；派单每 5 秒自动刷新', 'net.connecting': '正在连接…',
    'o.left': '{t} 后转指挥中心', 'o.over': '已转指挥中心，仍可接单',
    'o.expires': '此单 {t} 后失效', 'o.expiring': '此单即将失效', 'o.accept': '接单', 'o.decline': '不方便',
    'o.distance': '距您 {d}', 'o.gone.claimed': '已被他人接单', 'o.gone.assigned': '指挥中心已另派他人',
    'o.gone.cancelled': '群众已撤销', 'o.gone.expired': '此派单已失效', 'o.accepted': '接单成功，请尽快联系群众',
    'j.call': '拨打电话', 'j.no_phone': '群众未留电话', 'j.navigate': '导航前往',
    'j.casefile': '案卷：当事人、笔录、协议', 'j.arrive': '我已到场', 'j.video': '视频调解', 'j.resolve': '办结', 'j.outcome': '调解结果', 'j.note': '处理情况（选填）',
    'j.note_ph': '例如：双方达成协议，已签调解书', 'j.pick_outcome': '请选择调解结果', 'j.resolved': '已办结，辛苦了',
    'j.assigned': '指挥中心给您派了一单', 'j.arrived': '已记录到场',
    'login.title': '调解员登录', 'login.phone': '手机号', 'login.password': '密码', 'login.submit': '登录',
    'login.failed': '手机号或密码不正确', 'login.expired': '登录已失效，请重新登录', 'login.wrong_role': '这不是调解员账号',
    'r.arrive.left': '还有 {n} 分钟需到场', 'r.arrive.over': '已超时，请尽快到场',
    'r.resolve.left': '还有 {n} 分钟需办结', 'r.resolve.over': '已超时，请尽快办结',
    'd.arrive': '到场时限', 'd.resolve': '办结时限', 'd.left': '还剩 {t}', 'd.over': '已超时 {t}', 'd.done': '已到场',
    'cd.title': '案卷到期', 'cd.performance': '到期：请回访并记录履行情况（约定 {d}）', 'cd.confirmation': '已提醒当事人 {d} 前申请司法确认',
    'cd.deadline': '调解期限已到（{d}）：请结案或经双方同意延期', 'cd.open': '打开案卷', 'cd.toast': '案卷有事项到期，请查看',
    'sup': '指挥中心督办：{note}', 'sup.toast': '指挥中心督办了您的一单，请查看', 'rem.toast': '办理时限提醒，请查看',
    'o.gone.expired_soft': '这单已转给其他调解员，不用处理了',
    'net.lost': '网络已断开：实时派单收不到了。恢复后会自动补上错过的派单', 'net.offline': '手机没有网络：实时派单收不到了。恢复后会自动补上错过的派单',
    'wake.on': '屏幕保持常亮，新派单会响铃并震动', 'wake.off': '此浏览器无法保持屏幕常亮：请在手机设置中把自动锁屏时间调长，并保持本页在前台',
    'p.coords': '坐标 {lat}, {lng}', 'p.address': '群众说的位置：{a}', 'p.approx': '位置未标注，请按群众说的地址前往或先电话联系',
    'nav.amap': '高德地图', 'nav.qq': '腾讯地图', 'nav.baidu': '百度地图', 'nav.with': '用其他地图导航：',
    'risk.toast': '指挥中心把一单调为{risk}，时限已按新等级更新', 'code.position_unstored': '位置暂时没有保存成功，系统会自动重试'
  },
  en: {
    'page.title': 'Mediator', 'logout': 'Log out', 'duty.title': 'Duty',
    'duty.on': 'On duty', 'duty.off': 'Off duty', 'duty.go_on': 'Go on duty', 'duty.go_off': 'Go off duty',
    'duty.hint_off': 'Go on duty to receive nearby cases',
    'pos.waiting': 'Getting your position…', 'pos.shared': 'Position shared · ±{acc} · {t}', 'pos.pending': 'Position waiting (no network)',
    'pos.denied': 'No position: allow location access in the browser settings', 'pos.unavailable': 'Position unavailable, retrying',
    'pos.unsupported': 'This browser cannot share a position',
    'mine.title': 'My cases', 'offers.title': 'New cases', 'offers.none': 'No offers. Go on duty and share your position to receive nearby cases.',
    'offers.polling': '(unstable network: refreshing every 5 s)',
    'net.down': 'Live connection lost, reconnecting; offers refresh every 5 s', 'net.connecting': 'Connecting…',
    'o.left': 'to the command center in {t}', 'o.over': 'Escalated; you can still take it',
    'o.expires': 'offer closes in {t}', 'o.expiring': 'offer closing', 'o.accept': 'Accept', 'o.decline': 'Decline',
    'o.distance': '{d} away', 'o.gone.claimed': 'Taken by someone else', 'o.gone.assigned': 'The command center sent someone else',
    'o.gone.cancelled': 'Withdrawn by the resident', 'o.gone.expired': 'This offer is no longer open',
    'o.accepted': 'Accepted: please call the resident', 'j.call': 'Call', 'j.no_phone': 'No phone left', 'j.navigate': 'Navigate',
    'j.casefile': 'Case file: parties, record, agreement', 'j.arrive': "I'm here", 'j.video': 'Video mediation', 'j.resolve': 'Close case', 'j.outcome': 'Outcome',
    'j.note': 'Note (optional)', 'j.note_ph': 'e.g. both sides signed an agreement', 'j.pick_outcome': 'Pick an outcome',
    'j.resolved': 'Closed. Thank you', 'j.assigned': 'The command center sent you a case', 'j.arrived': 'Arrival recorded',
    'login.title': 'Mediator sign-in', 'login.phone': 'Phone', 'login.password': 'Password', 'login.submit': 'Sign in',
    'login.failed': 'Wrong phone or password', 'login.expired': 'Session expired, please sign in', 'login.wrong_role': 'Not a mediator account',
    'r.arrive.left': '{n} min left to arrive', 'r.arrive.over': 'Overdue: please get there as soon as you can',
    'r.resolve.left': '{n} min left to close this case', 'r.resolve.over': 'Overdue: please close this case as soon as you can',
    'd.arrive': 'Arrive by', 'd.resolve': 'Close by', 'd.left': '{t} left', 'd.over': 'overdue by {t}', 'd.done': 'arrived',
    'cd.title': 'Case file due', 'cd.performance': 'Due: follow up and record the performance (agreed {d})', 'cd.confirmation': 'Parties reminded to apply for judicial confirmation by {d}',
    'cd.deadline': 'Mediation deadline passed ({d}): close it or extend with both parties\' consent', 'cd.open': 'Open the case file', 'cd.toast': 'Something in a case file is due',
    'sup': 'Command center order: {note}', 'sup.toast': 'The command center is supervising one of your cases', 'rem.toast': 'Deadline reminder',
    'o.gone.expired_soft': 'This case went to another mediator; nothing to do',
    'net.lost': 'Connection lost: live offers cannot reach you. Missed offers appear once it is back',
    'net.offline': 'No network on this phone: live offers cannot reach you. Missed offers appear once it is back',
    'wake.on': 'Screen kept on; new offers ring and vibrate',
    'wake.off': 'This browser cannot keep the screen on: set a longer auto-lock in the phone settings and keep this page open',
    'p.coords': 'Coordinates {lat}, {lng}', 'p.address': 'Resident says: {a}', 'p.approx': 'No pin set: go by the address the resident gave, or call first',
    'nav.amap': 'AMap', 'nav.qq': 'Tencent Maps', 'nav.baidu': 'Baidu Maps', 'nav.with': 'Navigate with:',
    'risk.toast': 'The command center set a case to {risk}; deadlines follow the new colour', 'code.position_unstored': 'Your position was not saved; retrying automatically'
  }
});

var POLL_MS = 5000, RESEND_MS = 30000, MIN_SEND_MS = 3000;
// The page's heartbeat: a ping every 8 s; no word from the server for two of them means the
// link is dead even if the socket has not noticed (a half-dead mobile link). Checked every
// second, so the red bar shows within 17 s of the last word.
var HEARTBEAT_MS = 8000, SILENT_MS = 2 * HEARTBEAT_MS;
var lastHeard = 0, linkLost = null;   // null, 'lost' (no heartbeat) or 'offline' (the browser says so)
var alerts = { played: 0, vibrated: 0, wake: 'off' }, chime = null, wakeLock = null;
var token = null, socket = null, onDuty = false, pollTimer = null, watchId = null;
var offers = new Map(), gone = new Map(), mine = new Map();
var reminders = new Map();   // incident id → the latest reminder {deadline, due_at, overdue}
var orders = new Map();      // incident id → supervision note received over the socket
var lastFix = null, lastSentAt = 0, positionPending = false, posError = null;
window.gdMediator = { offers: offers, mine: mine, reminders: reminders, alerts: alerts };

// ---- login ----------------------------------------------------------------------------------
function showLogin(message) {
  $('#app').hidden = true;
  $('#logout').hidden = true;
  $('#netbar').hidden = true;
  $('#login-form').hidden = false;
  $('#login-error').textContent = message || '';
}
GD.loginForm('mediator', start);
$('#logout').addEventListener('click', function () { stop(); GD.saveToken('mediator', null); showLogin(); });
function authFailed(status, message) {
  stop();
  GD.saveToken('mediator', null);
  showLogin(message || GD.t(status === 403 ? 'login.wrong_role' : 'login.expired'));
}
/** Any API answer: 401 (or 403 on a read: not a mediator's token) sends us back to log in. */
function checked(r, read) {
  if (r.status === 401 || (read && r.status === 403)) authFailed(r.status);
  return r;
}

// ---- connection -----------------------------------------------------------------------------
function start(t) {
  token = t;
  $('#login-form').hidden = true;
  $('#app').hidden = false;
  $('#logout').hidden = false;
  socket = new GD.LiveSocket({
    url: function () { return GD.wsUrl('/api/v1/mediator/ws', token); },
    onMessage: onMessage,
    onOpen: function () {
      lastHeard = Date.now();
      // After a dead link, only a word from the server proves this one works: poll until then.
      if (!linkLost) stopPolling();
      renderNet();
      loadOffers();
      loadMine();
      if (onDuty && lastFix) sendPosition(true);
    },
    onState: function (s) {
      renderNet();
      if (s === 'down') startPolling();
    },
    onRevoked: function (message) { authFailed(0, message); },
    onAuthFailed: function () { GD.api('GET', '/api/v1/mediator/offers', { token: token }).then(function (r) { checked(r, true); }); }
  });
  loadOffers();
  loadMine();
  // A fresh duty state even before the socket answers (the socket also sends it on connect).
  renderDuty();
}
/** The bar under the header: red while the link is dead or down, yellow while connecting. */
function renderNet() {
  var bar = $('#netbar'), s = socket ? socket.state : 'open';
  var key = linkLost ? 'net.' + linkLost : s === 'down' ? 'net.down' : s === 'connecting' ? 'net.connecting' : null;
  bar.hidden = !key || !socket;
  bar.className = 'netbar' + (linkLost || s === 'down' ? ' bad' : '');
  bar.textContent = key ? GD.t(key) : '';
}
/** The link is dead (no heartbeat) or the browser went offline: say so, poll, reconnect. */
function linkDown(why) {
  linkLost = why;
  if (socket) socket.reset();
  startPolling();
  renderNet();
}
var lastPing = 0;
setInterval(function () {
  if (!socket || !socket.isOpen()) return;
  if (Date.now() - lastHeard > SILENT_MS) { linkDown('lost'); return; }
  if (Date.now() - lastPing >= HEARTBEAT_MS) { lastPing = Date.now(); socket.send({ type: 'ping' }); }
}, 1000);
window.addEventListener('offline', function () { if (socket) linkDown('offline'); });
window.addEventListener('online', function () {
  if (!socket) return;
  linkLost = null;
  socket.kick();
  loadOffers();
  loadMine();
  renderNet();
});

function stop() {
  if (socket) socket.stop();
  socket = null;
  stopPolling();
  stopGeo();
  offers.clear(); mine.clear(); gone.clear();
}
function startPolling() {
  if (pollTimer) return;
  $('#offers-mode').textContent = GD.t('offers.polling');
  pollTimer = setInterval(function () { loadOffers(); loadMine(); if (onDuty && lastFix) sendPosition(true); }, POLL_MS);
}
function stopPolling() {
  clearInterval(pollTimer);
  pollTimer = null;
  $('#offers-mode').textContent = '';
}
document.addEventListener('visibilitychange', function () {
  // WeChat and phone browsers freeze pages in the background: catch up when shown again.
  if (document.visibilityState === 'visible' && socket) { socket.kick(); loadOffers(); loadMine(); }
});

function onMessage(msg) {
  lastHeard = Date.now();
  if (linkLost === 'lost') { linkLost = null; stopPolling(); renderNet(); }
  if (msg.type === 'pong') return;
  if (msg.type === 'duty') {
    setDuty(msg.on);
  } else if (msg.type === 'offer') {
    if (!offers.has(msg.incident.id)) ring([200, 100, 200]);
    offers.set(msg.incident.id, msg.incident);
    gone.delete(msg.incident.id);
  } else if (msg.type === 'offer_closed') {
    if (offers.has(msg.incident_id)) markGone(msg.incident_id, msg.reason);
  } else if (msg.type === 'assigned') {
    mine.set(msg.incident.id, msg.incident);
    offers.delete(msg.incident.id);
    GD.toast(GD.tr('j.assigned'), 'ok');
    if (navigator.vibrate) navigator.vibrate([300, 100, 300]);
  } else if (msg.type === 'reminder') {
    reminders.set(msg.incident_id, { deadline: msg.deadline, due_at: msg.due_at, overdue: !!msg.overdue });
    GD.toast(GD.tr('rem.toast'), msg.overdue ? 'error' : '');
    if (navigator.vibrate) navigator.vibrate([400, 150, 400]);
    loadMine();
  } else if (msg.type === 'case_due') {
    // A case-file deadline (issue #20): shown until the case file is opened.
    caseDue.set(msg.incident_id + ':' + msg.kind, msg);
    GD.toast(GD.tr('cd.toast'), msg.kind === 'deadline' ? 'error' : '');
    if (navigator.vibrate) navigator.vibrate([400, 150, 400]);
  } else if (msg.type === 'supervised') {
    orders.set(msg.incident_id, msg.note);
    GD.toast(GD.tr('sup.toast'), 'error');
    if (navigator.vibrate) navigator.vibrate([400, 150, 400]);
    loadMine();
  } else if (msg.type === 'risk_changed') {
    mine.set(msg.incident.id, msg.incident);
    reminders.delete(msg.incident.id);
    GD.toast(function () { return GD.t('risk.toast', { risk: GD.t('risk.' + msg.incident.risk) }); }, msg.incident.risk === 'red' ? 'error' : '');
    ring([300, 100, 300]);
  } else if (msg.type === 'error') {
    GD.toastError(msg.code === 'store_unavailable' ? { code: 'position_unstored' } : msg);
  }
  render();
}

function loadOffers() {
  return GD.api('GET', '/api/v1/mediator/offers', { token: token }).then(function (r) {
    if (!checked(r, true).ok || !Array.isArray(r.body)) return;
    var now = new Set();
    // Offers this page had not seen (filed while the link was down) ring too.
    if (r.body.some(function (i) { return !offers.has(i.id); })) ring([200, 100, 200]);
    r.body.forEach(function (i) { now.add(i.id); offers.set(i.id, i); });
    offers.forEach(function (_, id) { if (!now.has(id) && !gone.has(id)) offers.delete(id); });
    render();
  });
}
function loadMine() {
  return GD.api('GET', '/api/v1/mediator/incidents', { token: token }).then(function (r) {
    if (!checked(r, true).ok || !Array.isArray(r.body)) return;
    mine.clear();
    r.body.forEach(function (i) { if (i.status === 'claimed' || i.status === 'on_site') mine.set(i.id, i); });
    render();
  });
}

// ---- duty and position ------------------------------------------------------------------------
function setDuty(on) {
  onDuty = on;
  if (on) { startGeo(); keepAwake(); } else { stopGeo(); letSleep(); }
  renderDuty();
}

// ---- hard to miss: a sound, a vibration, a screen that stays on ---------------------------------
/** Browsers play sound only after a tap: the duty tap primes the clip (muted) for later offers. */
function primeChime() {
  if (!chime) {
    var src = document.querySelector('meta[name="gd-chime"]');
    chime = new Audio(src ? src.content : '/assets/audio/offer.wav');
    chime.preload = 'auto';
  }
  chime.muted = true;
  var p = chime.play();
  if (p && p.then) p.then(function () { chime.pause(); chime.currentTime = 0; chime.muted = false; }, function () { chime.muted = false; });
  else chime.muted = false;
}
function ring(pattern) {
  if (navigator.vibrate && navigator.vibrate(pattern)) alerts.vibrated++;
  if (!chime) return;
  try {
    chime.currentTime = 0;
    var p = chime.play();
    if (p && p.then) p.then(function () { alerts.played++; }, function () { /* not allowed yet: vibration only */ });
  } catch (e) { /* no audio on this device */ }
}
function keepAwake() {
  if (!('wakeLock' in navigator)) { alerts.wake = 'unsupported'; renderDuty(); return; }
  if (wakeLock || document.visibilityState !== 'visible') return;
  navigator.wakeLock.request('screen').then(function (lock) {
    wakeLock = lock;
    alerts.wake = 'on';
    lock.addEventListener('release', function () { wakeLock = null; if (alerts.wake === 'on') alerts.wake = 'off'; renderDuty(); });
    renderDuty();
  }, function () { alerts.wake = 'refused'; renderDuty(); });
}
function letSleep() {
  alerts.wake = 'off';
  if (wakeLock) { wakeLock.release().catch(function () {}); wakeLock = null; }
}
// A lock is released when the page is hidden; take it again when shown.
document.addEventListener('visibilitychange', function () { if (document.visibilityState === 'visible' && onDuty) keepAwake(); });
$('#duty-toggle').addEventListener('click', function () {
  var want = !onDuty;
  var button = $('#duty-toggle');
  button.disabled = true;
  if (want) { startGeo(); primeChime(); } // ask on the tap itself (browsers want a gesture)
  if (socket && socket.send({ type: 'duty', on: want })) {
    setTimeout(function () { button.disabled = false; }, 800);
    return;
  }
  GD.api('POST', '/api/v1/mediator/duty', { token: token, body: { on: want } }).then(function (r) {
    button.disabled = false;
    if (!checked(r).ok) { GD.toastError(r); return; }
    setDuty(r.body.on);
  });
});

function startGeo() {
  if (watchId !== null) return;
  if (!navigator.geolocation) { posError = 'pos.unsupported'; renderDuty(); return; }
  watchId = navigator.geolocation.watchPosition(function (p) {
    posError = null;
    lastFix = { lat: p.coords.latitude, lng: p.coords.longitude, accuracy_m: Math.round(p.coords.accuracy || 0) };
    if (onDuty) sendPosition(false);
    renderDuty();
  }, function (err) {
    posError = err.code === 1 ? 'pos.denied' : 'pos.unavailable';
    renderDuty();
  }, { enableHighAccuracy: true, maximumAge: 10000, timeout: 30000 });
}
function stopGeo() {
  if (watchId !== null && navigator.geolocation) navigator.geolocation.clearWatch(watchId);
  watchId = null;
}
// Stationary phones may not report again: resend the last fix so it never goes stale.
setInterval(function () { if (onDuty && lastFix && Date.now() - lastSentAt > RESEND_MS) sendPosition(true); }, 5000);

function sendPosition(force) {
  if (!lastFix || (!force && Date.now() - lastSentAt < MIN_SEND_MS)) { positionPending = true; return; }
  // Browser geolocation is WGS-84.
  var body = { lat: lastFix.lat, lng: lastFix.lng, coord: 'wgs84', accuracy_m: lastFix.accuracy_m };
  lastSentAt = Date.now();
  if (socket && socket.send(Object.assign({ type: 'position' }, body))) {
    positionPending = false;
    renderDuty();
    return;
  }
  GD.api('POST', '/api/v1/mediator/position', { token: token, body: body }).then(function (r) {
    positionPending = !checked(r).ok;
    if (positionPending) lastSentAt = 0;
    renderDuty();
  });
}

function renderDuty() {
  var state = $('#duty-state'), button = $('#duty-toggle');
  state.textContent = GD.t(onDuty ? 'duty.on' : 'duty.off');
  state.className = 'duty-state' + (onDuty ? ' on' : '');
  button.textContent = GD.t(onDuty ? 'duty.go_off' : 'duty.go_on');
  button.setAttribute('aria-pressed', onDuty ? 'true' : 'false');
  var pos = '';
  if (!onDuty) pos = GD.t('duty.hint_off');
  else if (posError) pos = GD.t(posError);
  else if (positionPending) pos = GD.t('pos.pending');
  else if (lastFix && lastSentAt) pos = GD.t('pos.shared', { acc: GD.fmtDistance(lastFix.accuracy_m), t: GD.fmtTime(new Date(lastSentAt)) });
  else pos = GD.t('pos.waiting');
  $('#pos-state').textContent = pos;
  var wake = $('#wake-state');
  wake.hidden = !onDuty || alerts.wake === 'off';
  wake.textContent = alerts.wake === 'on' ? GD.t('wake.on') : GD.t('wake.off');
  wake.className = 'wake' + (alerts.wake === 'on' ? '' : ' warn-text');
}

// ---- offers -----------------------------------------------------------------------------------
function markGone(id, reason) {
  gone.set(id, reason);
  render();
  setTimeout(function () { offers.delete(id); gone.delete(id); render(); }, 5000);
}

function accept(i, button) {
  button.disabled = true;
  GD.api('POST', '/api/v1/mediator/incidents/' + encodeURIComponent(i.id) + '/accept', { token: token }).then(function (r) {
    button.disabled = false;
    if (r.ok) {
      offers.delete(i.id);
      mine.set(r.body.id, r.body);
      GD.toast(GD.tr('o.accepted'), 'ok');
    } else if (r.code === 'already_claimed') {
      markGone(i.id, 'claimed');
    } else if (r.status === 404) {
      markGone(i.id, 'expired');
    } else if (r.code === 'wrong_state') {
      markGone(i.id, 'expired');
    } else {
      checked(r);
      GD.toastError(r);
    }
    render();
  });
}
function decline(i, button) {
  button.disabled = true;
  GD.api('POST', '/api/v1/mediator/incidents/' + encodeURIComponent(i.id) + '/decline', { token: token }).then(function (r) {
    button.disabled = false;
    if (r.ok || r.status === 404 || r.status === 409) { offers.delete(i.id); render(); return; }
    GD.toastError(r);
  });
}

function offerCard(i) {
  var reason = gone.get(i.id);
  return GD.el('article', { class: 'card offer risk-' + i.risk + (reason ? ' gone gone-' + reason : ''), dataset: { id: i.id } }, [
    GD.el('div', { class: 'head' }, [
      GD.el('span', { class: 'cat' }, [GD.t('cat.' + i.category) + ' ', GD.el('span', { class: 'riskpill', text: GD.t('risk.' + i.risk) })]),
      i.distance_m !== undefined ? GD.el('span', { class: 'dist', text: GD.t('o.distance', { d: GD.fmtDistance(i.distance_m) }) }) : null
    ]),
    placeLine(i),
    GD.el('p', { class: 'desc', text: i.description }),
    // The offer's own lapse when it comes first, else the hand-over to the command center.
    i.offer_expires_at
      ? GD.el('span', { class: 'countdown', dataset: { deadline: i.offer_expires_at, kind: 'expires' } })
      : GD.el('span', { class: 'countdown', dataset: { deadline: i.escalated_at ? '' : i.escalate_at } }),
    reason
      ? (reason === 'expired'
        ? GD.el('p', { class: 'gone-note gentle', role: 'status', text: GD.t('o.gone.expired_soft') })
        : GD.el('p', { class: 'gone-note', role: 'alert', text: GD.t('o.gone.' + reason) }))
      : GD.el('div', { class: 'row' }, [
        GD.el('button', { type: 'button', class: 'big good accept', text: GD.t('o.accept'), onclick: function (e) { accept(i, e.currentTarget); } }),
        GD.el('button', { type: 'button', class: 'big ghost decline', text: GD.t('o.decline'), onclick: function (e) { decline(i, e.currentTarget); } })
      ])
  ]);
}

// ---- my incidents -----------------------------------------------------------------------------
function act(i, what, body, button) {
  button.disabled = true;
  return GD.api('POST', '/api/v1/mediator/incidents/' + encodeURIComponent(i.id) + '/' + what, { token: token, body: body || {} })
    .then(function (r) {
      button.disabled = false;
      if (!checked(r).ok) { GD.toastError(r); return null; }
      if (r.body.status === 'resolved') mine.delete(i.id); else mine.set(i.id, r.body);
      render();
      return r.body;
    });
}

function jobCard(i) {
  var q = i.location.lat + ',' + i.location.lng;
  var label = GD.t('cat.' + i.category);
  var children = [
    GD.el('div', { class: 'head' }, [
      GD.el('span', { class: 'cat' }, [label + ' ', GD.el('span', { class: 'riskpill', text: GD.t('risk.' + i.risk) })]),
      GD.el('span', { class: 'muted', text: GD.t('status.' + i.status) })
    ]),
    deadlineBanner(i),
    supervisionNote(i),
    GD.el('p', { class: 'desc', text: i.description }),
    deadlineList(i),
    placeLine(i),
    GD.el('div', { class: 'row' }, [
      i.resident_phone && i.resident_phone.indexOf('*') < 0
        ? GD.el('a', { class: 'big good call', href: 'tel:' + i.resident_phone, text: GD.t('j.call') + ' ' + i.resident_phone })
        : GD.el('span', { class: 'muted', text: GD.t('j.no_phone') }),
      GD.el('a', { class: 'big ghost navigate', href: 'geo:' + q + '?q=' + q + '(' + encodeURIComponent(placeLabel(i)) + ')', text: GD.t('j.navigate') })
    ]),
    navLinks(i),
    GD.el('a', { class: 'big ghost casefile', href: '/m/case/' + encodeURIComponent(i.id), text: GD.t('j.casefile') })
  ];
  if (i.status === 'claimed') {
    children.push(GD.el('button', { type: 'button', class: 'big primary arrive', text: GD.t('j.arrive'),
      onclick: function (e) { act(i, 'arrive', {}, e.currentTarget).then(function (v) { if (v) GD.toast(GD.tr('j.arrived'), 'ok'); }); } }));
  } else if (i.status === 'on_site') {
    var name = 'outcome-' + i.id;
    var noteId = 'note-' + i.id;
    children.push(GD.el('fieldset', { class: 'outcomes', style: null }, [
      GD.el('legend', { text: GD.t('j.outcome') })
    ].concat(['mediated', 'not_mediated', 'referred'].map(function (o) {
      return GD.el('label', {}, [GD.el('input', { type: 'radio', name: name, value: o }), GD.t('outcome.' + o)]);
    }))));
    children.push(GD.el('label', { for: noteId, text: GD.t('j.note') }));
    children.push(GD.el('textarea', { id: noteId, maxlength: '1000', placeholder: GD.t('j.note_ph') }));
    children.push(GD.el('button', { type: 'button', class: 'big primary resolve', text: GD.t('j.resolve'),
      onclick: function (e) {
        var picked = document.querySelector('input[name="' + name + '"]:checked');
        if (!picked) { GD.toast(GD.tr('j.pick_outcome'), 'error'); return; }
        var note = document.getElementById(noteId).value.trim();
        act(i, 'resolve', note ? { outcome: picked.value, note: note } : { outcome: picked.value }, e.currentTarget)
          .then(function (v) { if (v) GD.toast(GD.tr('j.resolved'), 'ok'); });
      } }));
  }
  if (i.status === 'claimed' || i.status === 'on_site') {
    // Video mediation (issue #22): open the room as its host (again, if it is already live).
    children.push(GD.el('button', { type: 'button', class: 'big ghost video', text: GD.t('j.video'),
      onclick: function (e) {
        var b = e.currentTarget;
        b.disabled = true;
        GD.api('POST', '/api/v1/video/sessions', { token: token, body: { incident_id: i.id } }).then(function (r) {
          b.disabled = false;
          if (r.ok) { location.href = r.body.page; return; }
          GD.toastError(r);
        });
      } }));
  }
  return GD.el('article', { class: 'card job risk-' + i.risk, dataset: { id: i.id } }, children);
}

/** What to call the place: its name, else the resident's words, else the category. */
function placeLabel(i) { return i.place_name || i.address || GD.t('cat.' + i.category); }
/** The place: its name (or coordinates), what the resident said, and a warning without a pin. */
function placeLine(i) {
  var name = i.place_name || (i.approximate ? '' : GD.t('p.coords', { lat: i.location.lat.toFixed(5), lng: i.location.lng.toFixed(5) }));
  return GD.el('div', { class: 'place-line' }, [
    name ? GD.el('p', { class: 'place-name', text: name }) : null,
    i.address ? GD.el('p', { class: 'place-address', text: GD.t('p.address', { a: i.address }) }) : null,
    i.approximate ? GD.el('p', { class: 'place-approx', role: 'note', text: GD.t('p.approx') }) : null
  ]);
}
/**
 * Web links of the three map apps, which open inside WeChat and on iOS (where `geo:` does
 * nothing); each takes WGS-84 coordinates (see docs: the maps note).
 */
function navLinks(i) {
  if (i.approximate) return null;
  var lat = i.location.lat, lng = i.location.lng, name = encodeURIComponent(placeLabel(i));
  var links = [
    ['amap', 'https://uri.amap.com/navigation?to=' + lng + ',' + lat + ',' + name + '&mode=car&src=grid-dispatch&coordinate=wgs84&callnative=1'],
    ['qq', 'https://apis.map.qq.com/uri/v1/routeplan?type=drive&to=' + name + '&tocoord=' + lat + ',' + lng + '&coord_type=1&referer=grid-dispatch'],
    ['baidu', 'https://api.map.baidu.com/direction?destination=latlng:' + lat + ',' + lng + '|name:' + name +
      '&mode=driving&coord_type=wgs84&output=html&src=webapp.grid-dispatch.mediator']
  ];
  return GD.el('p', { class: 'nav-links' }, [GD.el('span', { class: 'muted', text: GD.t('nav.with') })].concat(links.map(function (l) {
    return GD.el('a', { class: 'nav-' + l[0], href: l[1], rel: 'noreferrer', target: '_blank', text: GD.t('nav.' + l[0]) });
  })));
}

/** The binding deadline's banner: after a reminder, or once overdue. */
function deadlineBanner(i) {
  var r = reminders.get(i.id);
  if (r && r.deadline === 'arrive' && i.status !== 'claimed') { reminders.delete(i.id); r = null; }
  if (!r && i.overdue) {
    r = i.status === 'claimed' && i.arrive_by && Date.parse(i.arrive_by) <= Date.now()
      ? { deadline: 'arrive', due_at: i.arrive_by, overdue: true } : { deadline: 'resolve', due_at: i.resolve_by, overdue: true };
  }
  if (!r) return null;
  var due = r.due_at || (r.deadline === 'arrive' ? i.arrive_by : i.resolve_by);
  return GD.el('p', { class: 'banner deadline-banner', role: 'alert',
    dataset: { deadline: due || '', kind: r.deadline === 'resolve' ? 'resolve' : 'arrive', over: r.overdue ? '1' : '' } });
}
function supervisionNote(i) {
  var note = (i.supervision && i.supervision.note) || orders.get(i.id);
  return note ? GD.el('p', { class: 'banner supervision', text: GD.t('sup', { note: note }) }) : null;
}
function deadlineList(i) {
  var rows = [];
  if (i.arrive_by) {
    rows.push(GD.el('li', {}, [GD.el('span', { text: GD.t('d.arrive') + ' ' + GD.fmtDue(i.arrive_by) }),
      i.status === 'claimed' ? GD.el('span', { class: 'dl', dataset: { deadline: i.arrive_by } }) : GD.el('span', { class: 'muted', text: GD.t('d.done') })]));
  }
  if (i.resolve_by) {
    rows.push(GD.el('li', {}, [GD.el('span', { text: GD.t('d.resolve') + ' ' + GD.fmtDue(i.resolve_by) }),
      GD.el('span', { class: 'dl', dataset: { deadline: i.resolve_by } })]));
  }
  return rows.length ? GD.el('ul', { class: 'deadlines' }, rows) : null;
}

// ---- rendering ------------------------------------------------------------------------------
var caseDue = new Map();
function renderCaseDue() {
  var items = Array.from(caseDue.values());
  $('#case-due').hidden = !items.length;
  $('#case-due-list').replaceChildren.apply($('#case-due-list'), items.map(function (m) {
    return GD.el('div', { class: 'item' }, [
      GD.el('p', { text: GD.t('cd.' + m.kind, { d: m.date || '' }) }),
      GD.el('a', { class: 'big primary', href: '/m/case/' + encodeURIComponent(m.incident_id), text: GD.t('cd.open') })
    ]);
  }));
}

function render() {
  // Keep a half-typed resolve note across re-renders.
  var drafts = {};
  document.querySelectorAll('#mine textarea').forEach(function (t) { drafts[t.id] = t.value; });
  var picked = {};
  document.querySelectorAll('#mine input[type=radio]:checked').forEach(function (r) { picked[r.name] = r.value; });

  renderCaseDue();
  var jobs = Array.from(mine.values());
  $('#mine-section').hidden = jobs.length === 0;
  $('#mine').replaceChildren.apply($('#mine'), jobs.sort(GD.urgentFirst).map(jobCard));
  Object.keys(drafts).forEach(function (id) { var t = document.getElementById(id); if (t) t.value = drafts[id]; });
  Object.keys(picked).forEach(function (n) {
    var r = document.querySelector('input[name="' + n + '"][value="' + picked[n] + '"]');
    if (r) r.checked = true;
  });

  // Red first, then nearest.
  var list = Array.from(offers.values()).sort(function (a, b) {
    return (GD.RISK_RANK[a.risk] - GD.RISK_RANK[b.risk]) || ((a.distance_m || 0) - (b.distance_m || 0));
  });
  $('#offers').replaceChildren.apply($('#offers'), list.map(offerCard));
  $('#offers-empty').hidden = list.length > 0;
  tick();
}
function tick() {
  var now = Date.now();
  document.querySelectorAll('.countdown').forEach(function (el) {
    var d = el.dataset.deadline ? Date.parse(el.dataset.deadline) : 0;
    var over = !d || now >= d;
    el.classList.toggle('over', over);
    var expires = el.dataset.kind === 'expires';
    el.textContent = over
      ? GD.t(expires ? 'o.expiring' : 'o.over')
      : GD.t(expires ? 'o.expires' : 'o.left', { t: GD.fmtDuration(d - now) });
  });
  document.querySelectorAll('.dl[data-deadline]').forEach(function (el) {
    var d = Date.parse(el.dataset.deadline), over = now >= d;
    el.classList.toggle('over', over);
    el.textContent = GD.t(over ? 'd.over' : 'd.left', { t: GD.fmtDuration(Math.abs(now - d)) });
  });
  document.querySelectorAll('.deadline-banner').forEach(function (el) {
    var d = el.dataset.deadline ? Date.parse(el.dataset.deadline) : 0;
    var over = el.dataset.over === '1' || !d || now >= d;
    el.classList.toggle('over', over);
    el.textContent = GD.t('r.' + el.dataset.kind + (over ? '.over' : '.left'), { n: Math.max(1, Math.ceil((d - now) / 60000)) });
  });
}
setInterval(tick, 1000);
GD.onLang(function () { renderDuty(); render(); });

document.addEventListener('DOMContentLoaded', function () {
  var t = GD.takeToken('mediator');
  if (t) start(t); else showLogin();
});
