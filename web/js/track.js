// The resident's tracking page (/t/{tracking_token}): status steps, the mediator's name, a call
// button, position and ETA on a small map once claimed, the timeline, and cancel before a
// claim. Updates without reloading: Server-Sent Events, or polling every 5 s when they fail.
import { GD, $ } from './common.js';
import { addBaseMap, toMap } from './basemap.js';
import './track_video.js';

GD.strings({
  zh: {
    'page.title': '上报进度', 'loading': '正在加载…', 'm.title': '调解员', 'm.call': '拨打调解员电话', 'm.map': '调解员位置地图',
    'steps.title': '办理进度', 'tl.title': '详细记录', 'keep': '请保存本页链接，随时查看进度。',
    'cancel': '撤销这次上报', 'cancel.ask': '确定要撤销吗？撤销后调解员不会再来。', 'cancel.yes': '确定撤销', 'cancel.no': '不撤销',
    'cancel.late': '调解员已经接单，不能撤销了', 'cancel.done': '已撤销',
    'step.0': '已受理', 'step.1': '已派单', 'step.2': '已接单', 'step.3': '已到场', 'step.4': '已办结',
    'h.dispatching': '已收到您的上报，正在通知附近的调解员', 's.dispatching': '一般几分钟内就会有调解员接单，请稍候。',
    'h.escalated': '指挥中心正在为您安排调解员', 's.escalated': '附近暂时没有调解员接单，已转到指挥中心。',
    'h.claimed': '调解员{name}已接单，正在赶来', 'h.on_site': '调解员{name}已到场',
    'h.resolved': '已办结：{outcome}', 's.resolved': '感谢您的信任。', 'h.cancelled': '您已撤销这次上报',
    'h.notfound': '没有找到这次上报', 's.notfound': '链接可能不完整，请从原来的消息里重新打开。',
    'eta': '距离约 {d}，大约 {m} 分钟到', 'eta.near': '就在附近', 'summary': '{cat}：{desc}',
    'pin.you': '事发地点', 'pin.mediator': '调解员',
    'fb.title': '请您评价这次调解', 'fb.stars': '您满意吗？请点一颗星', 'fb.solved': '问题解决了吗？',
    'fb.yes': '问题已解决', 'fb.no': '问题没有解决', 'fb.comment': '还想说的话（可以不填）', 'fb.submit': '提交评价',
    'fb.1': '很不满意', 'fb.2': '不满意', 'fb.3': '一般', 'fb.4': '满意', 'fb.5': '很满意',
    'fb.star_label': '{n} 颗星：{word}', 'fb.picked': '您选了 {n} 颗星：{word}',
    'fb.need_star': '请点一颗星，告诉我们您满不满意', 'fb.need_solved': '请告诉我们问题解决了没有',
    'fb.thanks': '感谢您的评价', 'fb.thanks_sub': '您的评价：{n} 颗星（{word}）。',
    'fb.reopened': '您说问题没有解决，已经重新交给指挥中心，会再安排调解员联系您。',
    'fb.sent_late': '这次上报已经评价过了', 'fb.sending': '正在提交…',
    'h.reopened': '已重新交给指挥中心，正在为您再安排调解员', 's.reopened': '您反映问题没有解决，指挥中心会尽快处理。',
    'step.resolved1': '第一次办结', 'step.reopened': '重新交给指挥中心',
    'm.name': '调解员：{name}', 'c.hint': '指挥中心正在为您安排调解员。着急的话，可以直接打电话：', 'c.call': '拨打指挥中心电话',
    'c.waited': '您已经等了 {t}', 'place': '地点：{p}', 'place.said': '您说的地址：{a}',
    'lead.department': '现在由 {d} 负责办理', 'lead.closed': '{d} 已办结，并把结果告诉了我们',
    'keep.title': '以后怎么找回这一页', 'keep.copy': '复制本页链接', 'keep.copied': '链接已复制，可以粘贴保存',
    'keep.copy_failed': '复制不了：请长按上面的网址保存', 'sms.label': '把本页链接用短信发到手机', 'sms.ph': '11位手机号',
    'sms.send': '发短信给我', 'sms.sent': '短信已发送，请查收', 'sms.bad': '手机号应为11位数字',
    'code.rate_limited': '短信发得太多了，请明天再试',
    'cf.title': '请申请司法确认', 'cf.copy': '查看调解协议书',
    'cf.text': '您的调解协议已经生效。您和对方当事人可以在 {d} 前，一起到人民法院申请司法确认；确认后，对方不履行时可以申请法院强制执行。请带上调解协议书和身份证。'
  },
  en: {
    'page.title': 'Your report', 'loading': 'Loading…', 'm.title': 'Mediator', 'm.call': 'Call the mediator', 'm.map': 'Map of the mediator\u2019s position',
    'steps.title': 'Progress', 'tl.title': 'Details', 'keep': 'Keep this link to check progress at any time.',
    'cancel': 'Withdraw this report', 'cancel.ask': 'Withdraw it? No mediator will come.', 'cancel.yes': 'Withdraw', 'cancel.no': 'Keep it',
    'cancel.late': 'A mediator already took it; it can no longer be withdrawn', 'cancel.done': 'Withdrawn',
    'step.0': 'Received', 'step.1': 'Sent to mediators', 'step.2': 'Mediator on the way', 'step.3': 'Mediator arrived', 'step.4': 'Closed',
    'h.dispatching': 'Received. Nearby mediators are being notified', 's.dispatching': 'Usually a mediator takes it within a few minutes.',
    'h.escalated': 'The command center is finding a mediator for you', 's.escalated': 'No nearby mediator was free, so the command center took over.',
    'h.claimed': 'Mediator {name} is on the way', 'h.on_site': 'Mediator {name} has arrived',
    'h.resolved': 'Closed: {outcome}', 's.resolved': 'Thank you.', 'h.cancelled': 'You withdrew this report',
    'h.notfound': 'Report not found', 's.notfound': 'The link may be incomplete; open it again from the original message.',
    'eta': 'About {d} away, about {m} min', 'eta.near': 'Nearby', 'summary': '{cat}: {desc}',
    'pin.you': 'The place', 'pin.mediator': 'Mediator',
    'fb.title': 'Please rate this mediation', 'fb.stars': 'Were you satisfied? Tap a star', 'fb.solved': 'Is the problem solved?',
    'fb.yes': 'Yes, solved', 'fb.no': 'No, not solved', 'fb.comment': 'Anything else to tell us (optional)', 'fb.submit': 'Send',
    'fb.1': 'Awful', 'fb.2': 'Poor', 'fb.3': 'OK', 'fb.4': 'Good', 'fb.5': 'Great',
    'fb.star_label': '{n} stars: {word}', 'fb.picked': 'You chose {n} stars: {word}',
    'fb.need_star': 'Please tap a star to tell us how satisfied you are', 'fb.need_solved': 'Please tell us whether the problem is solved',
    'fb.thanks': 'Thank you for your feedback', 'fb.thanks_sub': 'Your rating: {n} stars ({word}).',
    'fb.reopened': 'You said it is not solved: it went back to the command center, and a mediator will contact you again.',
    'fb.sent_late': 'This report has already been rated', 'fb.sending': 'Sending…',
    'h.reopened': 'Back with the command center: another mediator is being arranged', 's.reopened': 'You said the problem is not solved; the command center will act soon.',
    'step.resolved1': 'First closed', 'step.reopened': 'Back to the command center',
    'm.name': 'Mediator: {name}', 'c.hint': 'The command center is finding a mediator for you. If it is urgent, call them:', 'c.call': 'Call the command center',
    'c.waited': 'You have waited {t}', 'place': 'Place: {p}', 'place.said': 'Address you gave: {a}',
    'lead.department': '{d} is handling your case now', 'lead.closed': '{d} has finished and told us the result',
    'keep.title': 'How to find this page again', "keep.copy": "Copy this page's link", 'keep.copied': 'Link copied: paste it somewhere safe',
    'keep.copy_failed': 'Could not copy: press and hold the address above to save it', "sms.label": "Text this page's link to my phone",
    'sms.ph': '11-digit mobile number', 'sms.send': 'Text it to me', 'sms.sent': 'Text sent; check your phone', 'sms.bad': 'A mobile number has 11 digits',
    'code.rate_limited': 'Too many texts for this report; please try tomorrow',
    'cf.title': 'Apply for judicial confirmation', 'cf.copy': 'View the mediation agreement',
    'cf.text': 'Your mediation agreement is in effect. You and the other party may apply together to the people\'s court for judicial confirmation until {d}; once confirmed, the agreement can be enforced by the court. Bring the agreement and your ID cards.'
  }
});

var POLL_MS = 5000;
var token = decodeURIComponent(location.pathname.split('/')[2] || '');
var base = '/api/v1/track/' + encodeURIComponent(token);
var fbRating = 0, fbResolved = null, fbSending = false;
var view = null, es = null, pollTimer = null, sseRetry = null, map = null, medMarker = null, placeMarker = null, fittedFor = null;
window.gdTrack = { updates: 0, view: null, via: 'none' };

function terminal(v) { return v && (v.status === 'resolved' || v.status === 'cancelled'); }

// ---- updates ------------------------------------------------------------------------------
function load() {
  return GD.api('GET', base).then(function (r) {
    if (r.ok) { window.gdTrack.via = window.gdTrack.via === 'none' ? 'poll' : window.gdTrack.via; apply(r.body); }
    else if (r.status === 404) notFound();
  });
}
function startPolling() {
  if (pollTimer || terminal(view)) return;
  pollTimer = setInterval(function () { if (terminal(view)) stopPolling(); else load(); }, POLL_MS);
}
function stopPolling() { clearInterval(pollTimer); pollTimer = null; }

function startEvents() {
  if (!window.EventSource || terminal(view)) { startPolling(); return; }
  es = new EventSource(base + '/events');
  es.onopen = function () { stopPolling(); };
  // The server names its events `update`; unnamed ones are accepted too.
  var onUpdate = function (ev) {
    var v;
    try { v = JSON.parse(ev.data); } catch (e) { return; }
    window.gdTrack.via = 'sse';
    stopPolling();
    apply(v);
    if (terminal(v) && es) { es.close(); es = null; }
  };
  es.onmessage = onUpdate;
  es.addEventListener('update', onUpdate);
  es.onerror = function () {
    // While it reconnects (or if the stream is not available at all), poll instead.
    startPolling();
    if (es && es.readyState === EventSource.CLOSED) {
      es = null;
      clearTimeout(sseRetry);
      sseRetry = setTimeout(function () { if (!terminal(view)) startEvents(); }, 30000);
    }
  };
}
document.addEventListener('visibilitychange', function () {
  if (document.visibilityState === 'visible' && !terminal(view)) load();
});

// ---- rendering ------------------------------------------------------------------------------
function notFound() {
  $('#headline').textContent = GD.t('h.notfound');
  $('#subline').textContent = GD.t('s.notfound');
  stopPolling();
  if (es) { es.close(); es = null; }
}

var lead = null;
function apply(v) {
  view = v;
  window.gdTrack.view = v;
  window.gdTrack.updates++;
  render();
  // Who has it now, when a department took it over (issue #21).
  GD.api('GET', base + '/lead').then(function (r) {
    if (r.ok) { lead = r.body; renderLead(); }
  });
}
function renderLead() {
  var line = $('#lead-line');
  var show = lead && lead.department && (lead.lead === 'department' || lead.lead === 'closed');
  line.hidden = !show;
  line.textContent = show ? GD.t('lead.' + lead.lead, { d: lead.department }) : '';
}
GD.onLang(renderLead);

/** Index of the last `reopened` entry, or -1. */
function reopenedAt(tl) {
  for (var k = tl.length - 1; k >= 0; k--) if (tl[k].event.type === 'reopened') return k;
  return -1;
}
function feedbackEntry(tl) {
  return tl.find(function (x) { return x.event.type === 'feedback_given'; }) || null;
}
/** First entry of one of `types` at or after index `from`. */
function firstOf(tl, types, from) {
  for (var k = from || 0; k < tl.length; k++) if (types.indexOf(tl[k].event.type) >= 0) return tl[k];
  return null;
}

/** The steps: received → sent → claimed → arrived → closed; a reopened case restarts after "back to the command center". */
function steps(v) {
  var tl = v.timeline || [];
  var r = reopenedAt(tl);
  var list;
  if (r < 0) {
    var reached = { dispatching: 2, escalated: 2, claimed: 3, on_site: 4, resolved: 5 }[v.status];
    if (reached === undefined) reached = firstOf(tl, ['claimed', 'assigned']) ? 3 : 2;
    var times = [(firstOf(tl, ['reported']) || { at: v.created_at }).at, (firstOf(tl, ['offered', 'escalated']) || {}).at,
      (firstOf(tl, ['claimed', 'assigned']) || {}).at, (firstOf(tl, ['arrived']) || {}).at, (firstOf(tl, ['resolved']) || {}).at];
    list = [0, 1, 2, 3, 4].map(function (n) { return { label: GD.t('step.' + n), at: times[n], done: n < reached }; });
  } else {
    var firstClosed = firstOf(tl, ['resolved']);
    var claimed = firstOf(tl, ['claimed', 'assigned'], r), arrived = firstOf(tl, ['arrived'], r), closed = firstOf(tl, ['resolved'], r);
    list = [
      { label: GD.t('step.0'), at: (firstOf(tl, ['reported']) || { at: v.created_at }).at, done: true },
      { label: GD.t('step.resolved1'), at: firstClosed && firstClosed.at, done: true },
      { label: GD.t('step.reopened'), at: tl[r].at, done: true },
      { label: GD.t('step.2'), at: claimed && claimed.at, done: !!claimed || v.status === 'claimed' || v.status === 'on_site' || v.status === 'resolved' },
      { label: GD.t('step.3'), at: arrived && arrived.at, done: !!arrived || v.status === 'on_site' || v.status === 'resolved' },
      { label: GD.t('step.4'), at: closed && closed.at, done: v.status === 'resolved' }
    ];
  }
  var current = -1;
  if (v.status !== 'resolved' && v.status !== 'cancelled') {
    for (var k = 0; k < list.length; k++) if (!list[k].done) { current = k; break; }
  }
  return list.map(function (st, n) {
    return GD.el('li', { class: (st.done ? 'done' : '') + (n === current ? ' current' : ''), 'aria-current': n === current ? 'step' : null }, [
      st.label, st.done && st.at ? GD.el('time', { datetime: st.at, text: GD.fmtDateTime(st.at) }) : null
    ]);
  });
}

function render() {
  if (!view) return;
  var v = view, m = v.mediator, tl = v.timeline || [];
  var name = m ? m.name : '';
  var lastResolved = null;
  tl.forEach(function (x) { if (x.event.type === 'resolved') lastResolved = x; });
  var outcome = lastResolved && lastResolved.event.outcome ? GD.t('outcome.' + lastResolved.event.outcome) : '';
  var reopened = reopenedAt(tl) >= 0;
  var headKey = reopened && v.status === 'escalated' ? 'reopened' : v.status;
  $('#headline').textContent = GD.t('h.' + headKey, { name: name ? ' ' + name + ' ' : '', outcome: outcome });
  $('#subline').textContent = dict('s.' + headKey);
  $('#subline').hidden = !$('#subline').textContent;

  $('#steps').replaceChildren.apply($('#steps'), steps(v));

  // The mediator: name, call, distance/ETA, map.
  $('#mediator-card').hidden = !m;
  if (m) {
    $('#mediator-name').textContent = GD.t('m.name', { name: m.name });
    $('#call').href = 'tel:' + m.phone;
    $('#call').textContent = GD.t('m.call') + ' ' + m.phone;
    var showEta = v.status === 'claimed' && m.distance_m !== null && m.distance_m !== undefined;
    $('#mediator-eta').textContent = showEta
      ? (m.distance_m < 100 ? GD.t('eta.near') : GD.t('eta', { d: GD.fmtDistance(m.distance_m), m: m.eta_min }))
      : '';
    renderMap(m);
  }

  // The follow-up visit: a rating form once resolved and not yet rated; thanks afterwards.
  var fb = feedbackEntry(tl);
  $('#feedback-card').hidden = !(v.status === 'resolved' && !fb);
  $('#thanks-card').hidden = !fb;
  if (fb) {
    var n = fb.event.rating;
    $('#thanks-sub').textContent = GD.t('fb.thanks_sub', { n: n, word: GD.t('fb.' + n) }) +
      (fb.event.resolved === false ? ' ' + GD.t('fb.reopened') : '');
  }
  renderStars();

  // The 司法确认 reminder: the parties apply together, by the date it names.
  var reminder = null;
  tl.forEach(function (x) { if (x.event.type === 'case_file' && x.event.step === 'confirmation_due') reminder = x; });
  $('#confirm-card').hidden = !reminder;
  if (reminder) {
    $('#confirm-text').textContent = GD.t('cf.text', { d: reminder.event.date || '' });
    $('#confirm-copy').href = base + '/agreement.pdf';
  }

  $('#cancel-card').hidden = !(v.status === 'dispatching' || v.status === 'escalated') || reopened;
  var place = v.place_name ? GD.t('place', { p: v.place_name }) : '';
  if (v.address) place = (place ? place + ' · ' : '') + GD.t('place.said', { a: v.address });
  $('#place-line').textContent = place;
  $('#place-line').hidden = !place;
  renderCenter();
  $('#sms-box').hidden = !v.sms_available;
  $('#report-summary').textContent = GD.t('summary', { cat: v.category ? GD.t('cat.' + v.category) : v.category_label, desc: v.description });
  $('#timeline').replaceChildren.apply($('#timeline'), tl.map(function (e) {
    // Each claim or assignment names its own mediator (also after a reopen).
    var who = e.who || (e.event.type === 'claimed' || e.event.type === 'assigned' ? '' : name);
    var text = GD.describeEvent(e, who && e.event.mediator_id ? fakeNames(e.event.mediator_id, who) : null, 'resident');
    if (text === null) return null;
    return GD.el('li', {}, [GD.el('time', { datetime: e.at, text: GD.fmtShort(e.at) }), GD.el('span', { text: text })]);
  }).filter(Boolean));
}

/** While the command center has it: how long they have waited, and its number to call. */
function renderCenter() {
  var v = view;
  var waiting = v && (v.status === 'dispatching' || v.status === 'escalated');
  $('#center-card').hidden = !(waiting && (v.center_phone || v.status === 'escalated'));
  if ($('#center-card').hidden) return;
  var ms = Date.now() - Date.parse(v.created_at);
  $('#waited').textContent = GD.t('c.waited', { t: GD.fmtDuration(ms) });
  $('#center-call').hidden = !v.center_phone;
  $('#center-hint').hidden = !v.center_phone;
  if (v.center_phone) {
    $('#center-call').href = 'tel:' + v.center_phone.replace(/[^0-9+]/g, '');
    $('#center-call').replaceChildren(GD.t('c.call') + ' ', GD.el('span', { class: 'nowrap', text: v.center_phone }));
  }
}
setInterval(function () { if (view) renderCenter(); }, 1000);

// ---- finding this page again: copy the link, or have it texted ------------------------------------
$('#copy-link').addEventListener('click', function () {
  var done = function () { GD.toast(function () { return GD.t('keep.copied'); }, 'ok'); };
  var failed = function () { GD.toast(function () { return GD.t('keep.copy_failed'); }, 'error'); };
  if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(location.href).then(done, failed);
  else failed();
});
$('#sms-send').addEventListener('click', function (e) {
  var b = e.currentTarget, phone = $('#sms-phone').value.replace(/\s+/g, '');
  var err = $('#sms-error');
  if (!/^1\d{10}$/.test(phone)) { err.dataset.i18n = 'sms.bad'; err.textContent = GD.t('sms.bad'); return; }
  delete err.dataset.i18n; err.textContent = '';
  b.disabled = true;
  GD.api('POST', base + '/sms', { body: { phone: phone } }).then(function (r) {
    b.disabled = false;
    if (r.ok) { GD.toast(function () { return GD.t('sms.sent'); }, 'ok'); return; }
    if (GD.t('code.' + r.code) !== 'code.' + r.code) { err.dataset.i18n = 'code.' + r.code; err.textContent = GD.t('code.' + r.code); }
    else err.textContent = GD.errText(r);
  });
});

// ---- rating form (回访) -----------------------------------------------------------------------
function renderStars() {
  var row = $('#fb-stars');
  row.replaceChildren.apply(row, [1, 2, 3, 4, 5].map(function (n) {
    return GD.el('button', { type: 'button', class: 'star' + (n <= fbRating ? ' on' : ''), 'aria-pressed': n === fbRating ? 'true' : 'false',
      'aria-label': GD.t('fb.star_label', { n: n, word: GD.t('fb.' + n) }), dataset: { n: String(n) },
      onclick: function () { fbRating = n; fbError(null); renderStars(); } }, [
      GD.el('span', { class: 'glyph', 'aria-hidden': 'true', text: n <= fbRating ? '★' : '☆' }),
      GD.el('span', { class: 'word', 'aria-hidden': 'true', text: GD.t('fb.' + n) })
    ]);
  }));
  $('#fb-picked').textContent = fbRating ? GD.t('fb.picked', { n: fbRating, word: GD.t('fb.' + fbRating) }) : '';
  $('#fb-yes').setAttribute('aria-pressed', fbResolved === true ? 'true' : 'false');
  $('#fb-no').setAttribute('aria-pressed', fbResolved === false ? 'true' : 'false');
}
/** A rating-form error by key (re-translated on toggle). */
function fbError(key) {
  var el = $('#fb-error');
  if (key) { el.dataset.i18n = key; el.textContent = GD.t(key); } else { delete el.dataset.i18n; el.textContent = ''; }
}
$('#fb-yes').addEventListener('click', function () { fbResolved = true; fbError(null); renderStars(); });
$('#fb-no').addEventListener('click', function () { fbResolved = false; fbError(null); renderStars(); });
$('#fb-submit').addEventListener('click', function (e) {
  var b = e.currentTarget;
  if (fbSending) return;
  if (!fbRating) { fbError('fb.need_star'); return; }
  if (fbResolved === null) { fbError('fb.need_solved'); return; }
  var body = { rating: fbRating, resolved: fbResolved };
  var comment = $('#fb-comment').value.trim();
  if (comment) body.comment = comment;
  fbSending = true;
  b.disabled = true;
  b.textContent = GD.t('fb.sending');
  GD.api('POST', base + '/feedback', { body: body }).then(function (r) {
    fbSending = false;
    b.disabled = false;
    b.textContent = GD.t('fb.submit');
    if (r.ok) {
      apply(r.body);
      $('#thanks-card').scrollIntoView({ block: 'start' });
      if (!terminal(r.body) && !es) startEvents();
      return;
    }
    if (r.status === 409) { GD.toast(function () { return GD.t('fb.sent_late'); }, 'error'); load(); return; }
    fbError(null);
    $('#fb-error').textContent = GD.errText(r);
  });
});

function dict(key) { var s = GD.t(key); return s === key ? '' : s; }
// The resident knows only the holder's name; every claim/assign event is about them.
function fakeNames(id, name) { var o = {}; o[id] = name; return o; }

function storedPlace() {
  try { var p = JSON.parse(localStorage.getItem('gd.place.' + view.id) || 'null'); return p && isFinite(p.lat) ? p : null; } catch (e) { return null; }
}

function renderMap(m) {
  var box = $('#track-map');
  if (!m.position || !window.L) { box.hidden = true; return; }
  box.hidden = false;
  if (!map) {
    map = L.map(box, { preferCanvas: true, attributionControl: false, zoomControl: true, dragging: true, scrollWheelZoom: false });
    addBaseMap(map);
    L.control.scale({ imperial: false, position: 'bottomleft' }).addTo(map);
    map.setView(toMap(m.position.lat, m.position.lng), 15);
  }
  var pos = toMap(m.position.lat, m.position.lng);
  if (!medMarker) {
    medMarker = L.circleMarker(pos, { radius: 10, color: '#fff', weight: 3, fillColor: '#0f5fd7', fillOpacity: 1 }).addTo(map);
    // Leaflet sets a string as HTML: the name goes in as a text node.
    medMarker.bindTooltip(GD.el('span', { text: GD.t('pin.mediator') + ' ' + m.name }), { permanent: true, direction: 'top', offset: [0, -10] });
  } else {
    medMarker.setLatLng(pos);
  }
  var place = view.location && isFinite(view.location.lat) ? view.location : storedPlace();
  if (place && !placeMarker) {
    placeMarker = L.circleMarker(toMap(place.lat, place.lng), { radius: 10, color: '#fff', weight: 3, fillColor: '#d93025', fillOpacity: 1 }).addTo(map);
    placeMarker.bindTooltip(GD.t('pin.you'), { permanent: true, direction: 'bottom', offset: [0, 10] });
  }
  // Fit once per claim (keep what the resident zoomed to afterwards).
  if (fittedFor !== view.id + m.name) {
    fittedFor = view.id + m.name;
    if (place) map.fitBounds(L.latLngBounds([pos, toMap(place.lat, place.lng)]), { padding: [56, 56], maxZoom: 17, animate: false });
    else map.setView(pos, 15, { animate: false });
  }
  setTimeout(function () { map.invalidateSize(); }, 0);
}

// ---- cancel -----------------------------------------------------------------------------------
$('#cancel').addEventListener('click', function () { $('#cancel-confirm').hidden = false; $('#cancel').hidden = true; });
$('#cancel-no').addEventListener('click', function () { $('#cancel-confirm').hidden = true; $('#cancel').hidden = false; });
$('#cancel-yes').addEventListener('click', function (e) {
  var b = e.currentTarget;
  b.disabled = true;
  GD.api('POST', base + '/cancel').then(function (r) {
    b.disabled = false;
    $('#cancel-confirm').hidden = true;
    $('#cancel').hidden = false;
    if (r.ok) { GD.toast(function () { return GD.t('cancel.done'); }, 'ok'); apply(r.body); return; }
    GD.toast(function () { return r.status === 409 ? GD.t('cancel.late') : GD.errText(r); }, 'error');
    load();
  });
});

GD.onLang(function () {
  if (medMarker) { map.removeLayer(medMarker); medMarker = null; }
  if (placeMarker) { map.removeLayer(placeMarker); placeMarker = null; }
  render();
});
document.addEventListener('DOMContentLoaded', function () { load().then(startEvents); });
