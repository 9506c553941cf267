// The department's page (/d): the call-ins to this department (called in, acknowledged,
// overdue), acknowledge (报到) and respond with a note, record a hand-over's result; live over
// the department socket, which sends the queue on connect and a message for every change.
import { GD, $ } from './common.js';

GD.strings({
  zh: {
    'page.title': '部门报到', 'logout': '退出',
    'q.overdue': '已超时，请马上处理', 'q.called': '待报到', 'q.none': '暂无新的报到请求',
    'q.acked': '已报到，待答复', 'q.none_acked': '暂无', 'q.done': '已答复',
    'c.ask': '指挥中心的要求：{note}', 'c.ack_by': '请在 {t} 前报到', 'c.respond_by': '请在 {t} 前答复',
    'c.ack_over': '报到已超时', 'c.respond_over': '答复已超时', 'c.supervised': '督办：{note}',
    'c.urgent': '紧急', 'c.handover': '移交主办', 'c.note': '说明（选填）', 'c.note_ph': '例如：民警已出发，10 分钟到',
    'c.ack': '报到', 'c.respond': '答复', 'c.pick': '答复方式',
    'r.arrived': '已到场', 'r.opinion': '出具意见', 'r.took_over': '接手办理', 'r.declined': '退回（须写明理由）',
    'c.result': '办理结果', 'c.result_ph': '例如：已责令企业支付工资', 'c.send_result': '报送结果',
    'c.answered': '答复：{r}', 'c.closed': '结果已报送：{r}', 'c.leading': '本部门正在主办，办结后请报送结果',
    'ok.ack': '已报到', 'ok.respond': '已答复', 'ok.result': '结果已报送', 'new': '有新的报到请求',
    'urged': '有一单已超时，指挥中心在催办', 'need.reason': '退回请写明理由',
    'net.down': '实时连接中断，正在重连', 'net.connecting': '正在连接…',
    'login.title': '部门账号登录', 'login.phone': '手机号', 'login.password': '密码', 'login.submit': '登录',
    'login.failed': '手机号或密码不正确', 'login.expired': '登录已失效，请重新登录', 'login.wrong_role': '这不是部门账号'
  },
  en: {
    'page.title': 'Department', 'logout': 'Log out',
    'q.overdue': 'Overdue: act now', 'q.called': 'Waiting for you to report in', 'q.none': 'No new call-ins',
    'q.acked': 'Reported in, answer due', 'q.none_acked': 'None', 'q.done': 'Answered',
    'c.ask': 'The command center asks: {note}', 'c.ack_by': 'Report in by {t}', 'c.respond_by': 'Answer by {t}',
    'c.ack_over': 'Report-in overdue', 'c.respond_over': 'Answer overdue', 'c.supervised': 'Supervision: {note}',
    'c.urgent': 'Urgent', 'c.handover': 'Hand-over', 'c.note': 'Note (optional)', 'c.note_ph': 'e.g. an officer is on the way, 10 min',
    'c.ack': 'Report in', 'c.respond': 'Answer', 'c.pick': 'Answer',
    'r.arrived': 'Arrived', 'r.opinion': 'Opinion given', 'r.took_over': 'Taking it over', 'r.declined': 'Decline (give the reason)',
    'c.result': 'Result', 'c.result_ph': 'e.g. the employer was ordered to pay the wages', 'c.send_result': 'Send the result',
    'c.answered': 'Answer: {r}', 'c.closed': 'Result sent: {r}', 'c.leading': 'Your department leads this case: send the result when done',
    'ok.ack': 'Reported in', 'ok.respond': 'Answered', 'ok.result': 'Result sent', 'new': 'A new call-in',
    'urged': 'A call-in is overdue: the command center is urging', 'need.reason': 'Give the reason for declining',
    'net.down': 'Live connection lost, reconnecting', 'net.connecting': 'Connecting…',
    'login.title': 'Department sign-in', 'login.phone': 'Phone', 'login.password': 'Password', 'login.submit': 'Sign in',
    'login.failed': 'Wrong phone or password', 'login.expired': 'Session expired, please sign in', 'login.wrong_role': 'Not a department account'
  }
});

var RESPONSES = ['arrived', 'opinion', 'took_over', 'declined'];
var token = null, socket = null, items = [], department = null;

GD.onLang(render);

function showLogin(message) {
  $('#app').hidden = true;
  $('#logout').hidden = true;
  $('#netbar').hidden = true;
  $('#login-form').hidden = false;
  $('#login-error').textContent = message || '';
}
GD.loginForm('department', start);
$('#logout').addEventListener('click', function () { stop(); GD.saveToken('department', null); showLogin(); });
function stop() { if (socket) socket.stop(); socket = null; token = null; }
function authFailed(status, message) {
  stop();
  GD.saveToken('department', null);
  showLogin(message || GD.t(status === 403 ? 'login.wrong_role' : 'login.expired'));
}
function checked(r) {
  if (r.status === 401 || r.status === 403) authFailed(r.status);
  return r;
}

function start(t) {
  token = t;
  $('#login-form').hidden = true;
  $('#app').hidden = false;
  $('#logout').hidden = false;
  GD.api('GET', '/api/v1/department/me', { token: token }).then(function (r) {
    if (!checked(r).ok) return;
    department = r.body;
    $('#dept-name').textContent = department.name;
  });
  socket = new GD.LiveSocket({
    url: function () { return GD.wsUrl('/api/v1/department/ws', token); },
    onMessage: onMessage,
    onState: renderNet,
    onRevoked: function (message) { authFailed(0, message); },
    onAuthFailed: function () { GD.api('GET', '/api/v1/department/me', { token: token }).then(checked); }
  });
}

function renderNet() {
  var bar = $('#netbar'), s = socket ? socket.state : 'open';
  bar.hidden = s === 'open';
  bar.className = 'netbar' + (s === 'down' ? ' bad' : '');
  bar.textContent = s === 'down' ? GD.t('net.down') : GD.t('net.connecting');
}

function onMessage(m) {
  if (m.type === 'queue') { items = m.items || []; render(); return; }
  if (m.type !== 'call_in' || !m.call_in) return;
  var known = items.find(function (i) { return i.call_in.id === m.call_in.id; });
  if (!known) { load(); GD.toast(GD.tr('new')); return; }
  known.call_in = m.call_in;
  if (m.urging) GD.toast(GD.tr('urged'), 'error');
  render();
}

function load() {
  return GD.api('GET', '/api/v1/department/call-ins', { token: token }).then(function (r) {
    if (!checked(r).ok) return;
    items = r.body || [];
    render();
  });
}

function overdue(c) {
  return (c.ack_overdue && c.state === 'called') || (c.respond_overdue && (c.state === 'called' || c.state === 'acknowledged'));
}

function render() {
  if (!token) return;
  var lists = { overdue: [], called: [], acked: [], done: [] };
  items.slice().reverse().forEach(function (item) {
    var c = item.call_in;
    var where = overdue(c) ? 'overdue' : c.state === 'called' ? 'called' : (c.state === 'acknowledged' || c.state === 'leading') ? 'acked' : 'done';
    lists[where].push(card(item));
  });
  Object.keys(lists).forEach(function (k) { $('#' + k).replaceChildren.apply($('#' + k), lists[k]); });
  $('#overdue-section').hidden = lists.overdue.length === 0;
  $('#called-empty').hidden = lists.called.length > 0;
  $('#acked-empty').hidden = lists.acked.length > 0;
}

function card(item) {
  var c = item.call_in, i = item.incident || {};
  var risk = i.risk || 'blue';
  var box = GD.el('article', { class: 'card callin risk-' + risk + (overdue(c) ? ' overdue' : ''), 'data-call-in': c.id });
  var tags = [GD.el('span', { class: 'riskpill', text: GD.t('risk.' + risk) })];
  if (c.urgency === 'urgent') tags.push(GD.el('span', { class: 'tag', text: GD.t('c.urgent') }));
  if (c.purpose === 'handover') tags.push(GD.el('span', { class: 'tag handover', text: GD.t('c.handover') }));
  box.append(GD.el('div', { class: 'head' }, [
    GD.el('span', { class: 'cat', text: i.category ? GD.t('cat.' + i.category) : '' }),
    GD.el('span', {}, tags)
  ]));
  if (i.place_name || i.address) box.append(GD.el('div', { class: 'muted', text: i.place_name || i.address }));
  if (i.description) box.append(GD.el('p', { class: 'desc', text: i.description }));
  box.append(GD.el('p', { class: 'ask', text: GD.t('c.ask', { note: c.note }) }));
  (c.supervised || []).forEach(function (s) { box.append(GD.el('div', { class: 'banner supervision', text: GD.t('c.supervised', { note: s }) })); });
  var dl = GD.el('ul', { class: 'deadlines' });
  if (c.state === 'called') dl.append(deadline(c.ack_overdue ? GD.t('c.ack_over') : GD.t('c.ack_by', { t: GD.fmtShort(c.ack_due) }), c.ack_overdue));
  if (c.state === 'called' || c.state === 'acknowledged') {
    dl.append(deadline(c.respond_overdue ? GD.t('c.respond_over') : GD.t('c.respond_by', { t: GD.fmtShort(c.respond_due) }), c.respond_overdue));
  }
  if (dl.children.length) box.append(dl);
  if (c.state === 'called') box.append(ackForm(c));
  if (c.state === 'called' || c.state === 'acknowledged') box.append(respondForm(c));
  if (c.response) {
    var said = GD.t('r.' + c.response) + (c.response_note ? ' — ' + c.response_note : '');
    box.append(GD.el('div', { class: 'answer', text: GD.t('c.answered', { r: said }) }));
  }
  if (c.state === 'leading') { box.append(GD.el('p', { class: 'notice', text: GD.t('c.leading') })); box.append(resultForm(c)); }
  if (c.state === 'closed') box.append(GD.el('div', { class: 'answer', text: GD.t('c.closed', { r: c.result || '' }) }));
  return box;
}

function deadline(text, over) {
  return GD.el('li', {}, [GD.el('span', { class: 'dl' + (over ? ' over' : ''), text: text })]);
}

function noteField(id, label, placeholder) {
  return [GD.el('label', { for: id, text: label }), GD.el('textarea', { id: id, placeholder: placeholder, maxlength: '1000' })];
}

function ackForm(c) {
  var id = 'ack-note-' + c.id;
  var form = GD.el('form', { class: 'ack-form' }, noteField(id, GD.t('c.note'), GD.t('c.note_ph')).concat([
    GD.el('button', { type: 'submit', class: 'big primary', text: GD.t('c.ack') })
  ]));
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    send(c, 'acknowledge', { note: $('#' + CSS.escape(id)).value }, 'ok.ack');
  });
  return form;
}

function respondForm(c) {
  var id = 'resp-note-' + c.id, pick = 'resp-kind-' + c.id;
  var select = GD.el('select', { id: pick }, RESPONSES.map(function (r) { return GD.el('option', { value: r, text: GD.t('r.' + r) }); }));
  var form = GD.el('form', { class: 'respond-form' }, [GD.el('label', { for: pick, text: GD.t('c.pick') }), select]
    .concat(noteField(id, GD.t('c.note'), ''))
    .concat([GD.el('button', { type: 'submit', class: 'big', text: GD.t('c.respond') })]));
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var kind = select.value, note = $('#' + CSS.escape(id)).value;
    if (kind === 'declined' && !note.trim()) { GD.toast(GD.tr('need.reason'), 'error'); return; }
    send(c, 'respond', { response: kind, note: note }, 'ok.respond');
  });
  return form;
}

function resultForm(c) {
  var id = 'result-' + c.id;
  var form = GD.el('form', { class: 'result-form' }, noteField(id, GD.t('c.result'), GD.t('c.result_ph')).concat([
    GD.el('button', { type: 'submit', class: 'big primary', text: GD.t('c.send_result') })
  ]));
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    send(c, 'result', { note: $('#' + CSS.escape(id)).value }, 'ok.result');
  });
  return form;
}

function send(c, what, body, ok) {
  if (body.note !== undefined && !String(body.note).trim()) delete body.note;
  GD.api('POST', '/api/v1/department/call-ins/' + encodeURIComponent(c.id) + '/' + what, { token: token, body: body }).then(function (r) {
    if (!checked(r).ok) { GD.toastError(r); return; }
    var item = items.find(function (i) { return i.call_in.id === c.id; });
    if (item) item.call_in = r.body;
    render();
    GD.toast(GD.tr(ok), 'ok');
  });
}

document.addEventListener('DOMContentLoaded', function () {
  var t = GD.takeToken('department');
  if (t) start(t); else showLogin();
});
