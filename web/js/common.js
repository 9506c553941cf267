// Shared by every page: language (zh first, English toggle remembered in localStorage),
// Asia/Shanghai time formatting, the domain vocabulary, DOM helpers that only ever set text, the
// API client and a reconnecting WebSocket. A native ES module (no build step, no third-party
// code): pages import `GD` from here. Strings from the server are always set as text
// (`textContent`, `GD.el({text})`, DOM nodes for Leaflet tooltips), never parsed as HTML.

/** The shared toolkit of every page. */
export const GD = {};
var dict = { zh: {}, en: {} };
var listeners = [];

// ---- language -------------------------------------------------------------------------
function initialLang() {
  var q = new URLSearchParams(location.search).get('lang');
  if (q === 'zh' || q === 'en') {
    try { localStorage.setItem('gd.lang', q); } catch (e) { /* private mode */ }
    return q;
  }
  try {
    var saved = localStorage.getItem('gd.lang');
    if (saved === 'zh' || saved === 'en') return saved;
  } catch (e) { /* private mode */ }
  // Chinese unless the browser prefers English over any Chinese.
  var langs = navigator.languages || [navigator.language || 'zh-CN'];
  for (var i = 0; i < langs.length; i++) {
    var l = String(langs[i]).toLowerCase();
    if (l.indexOf('zh') === 0) return 'zh';
    if (l.indexOf('en') === 0) return 'en';
  }
  return 'zh';
}
GD.lang = initialLang();

/** Register this page's strings: {zh: {...}, en: {...}}. */
GD.strings = function (d) {
  ['zh', 'en'].forEach(function (l) { Object.assign(dict[l], d[l] || {}); });
};

/** Translate `key`, replacing {name} with vars.name. */
GD.t = function (key, vars) {
  var s = dict[GD.lang][key];
  if (s === undefined) s = dict.zh[key];
  if (s === undefined) s = key;
  if (vars) {
    s = s.replace(/\{(\w+)\}/g, function (m, k) { return vars[k] === undefined ? m : vars[k]; });
  }
  return s;
};

/** Fill every [data-i18n], [data-i18n-placeholder], [data-i18n-label] under root. */
GD.applyStrings = function (root) {
  root = root || document;
  document.documentElement.lang = GD.lang === 'zh' ? 'zh-CN' : 'en';
  root.querySelectorAll('[data-i18n]').forEach(function (el) { el.textContent = GD.t(el.dataset.i18n); });
  root.querySelectorAll('[data-i18n-placeholder]').forEach(function (el) {
    el.placeholder = GD.t(el.dataset.i18nPlaceholder);
  });
  root.querySelectorAll('[data-i18n-label]').forEach(function (el) {
    el.setAttribute('aria-label', GD.t(el.dataset.i18nLabel));
    el.title = GD.t(el.dataset.i18nLabel);
  });
  if (dict.zh['page.title']) document.title = GD.t('page.title');
};

/** Call fn whenever the language changes (and re-render dynamic parts there). */
GD.onLang = function (fn) { listeners.push(fn); };

GD.setLang = function (lang) {
  GD.lang = lang;
  try { localStorage.setItem('gd.lang', lang); } catch (e) { /* private mode */ }
  GD.applyStrings();
  listeners.forEach(function (fn) { fn(lang); });
};

/** Wire a button as the zh/en toggle: it shows the *other* language's name. */
GD.langToggle = function (button) {
  function label() {
    button.textContent = GD.lang === 'zh' ? 'English' : '中文';
    button.setAttribute('aria-label', GD.lang === 'zh' ? 'Switch to English' : '切换到中文');
  }
  label();
  button.addEventListener('click', function () { GD.setLang(GD.lang === 'zh' ? 'en' : 'zh'); label(); });
};

// ---- time (always Asia/Shanghai, 24-hour) ---------------------------------------------
var parts = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Asia/Shanghai', hourCycle: 'h23',
  year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit'
});
function pieces(t) {
  var o = {};
  parts.formatToParts(t instanceof Date ? t : new Date(t)).forEach(function (p) { o[p.type] = p.value; });
  return o;
}
/** YYYY-MM-DD HH:mm:ss in Beijing time. */
GD.fmtDateTime = function (t) {
  if (!t) return '';
  var p = pieces(t);
  return p.year + '-' + p.month + '-' + p.day + ' ' + p.hour + ':' + p.minute + ':' + p.second;
};
/** HH:mm:ss in Beijing time. */
GD.fmtTime = function (t) {
  if (!t) return '';
  var p = pieces(t);
  return p.hour + ':' + p.minute + ':' + p.second;
};
/** MM-DD HH:mm in Beijing time (compact lists). */
GD.fmtShort = function (t) {
  if (!t) return '';
  var p = pieces(t);
  return p.month + '-' + p.day + ' ' + p.hour + ':' + p.minute;
};
/** A deadline: HH:mm:ss when it falls today (Beijing time), else MM-DD HH:mm. */
GD.fmtDue = function (t) {
  if (!t) return '';
  var p = pieces(t), n = pieces(new Date());
  return p.year === n.year && p.month === n.month && p.day === n.day ? GD.fmtTime(t) : GD.fmtShort(t);
};
/** Midnight today, Beijing time, as a Date. */
GD.startOfToday = function () {
  var shift = 8 * 3600 * 1000;
  var day = Math.floor((Date.now() + shift) / 86400000) * 86400000;
  return new Date(day - shift);
};
/** "3分12秒" / "3m 12s"; hours when long. */
GD.fmtDuration = function (ms) {
  var s = Math.max(0, Math.round(ms / 1000));
  var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  if (GD.lang === 'zh') {
    if (h) return h + '小时' + m + '分';
    if (m) return m + '分' + (sec < 10 ? '0' : '') + sec + '秒';
    return sec + '秒';
  }
  if (h) return h + 'h ' + m + 'm';
  if (m) return m + 'm ' + (sec < 10 ? '0' : '') + sec + 's';
  return sec + 's';
};
/** "850 米" / "1.2 公里". */
GD.fmtDistance = function (m) {
  if (m === null || m === undefined || !isFinite(m)) return '';
  if (m < 1000) return Math.round(m) + (GD.lang === 'zh' ? ' 米' : ' m');
  return (m / 1000).toFixed(1) + (GD.lang === 'zh' ? ' 公里' : ' km');
};

// ---- domain vocabulary ------------------------------------------------------------------
GD.strings({
  zh: {
    'cat.neighbor': '邻里纠纷', 'cat.family': '婚姻家庭', 'cat.property': '物业纠纷', 'cat.wages': '拖欠工资',
    'cat.land': '土地房屋', 'cat.traffic': '交通事故', 'cat.consumer': '消费纠纷', 'cat.other': '其他',
    'status.dispatching': '派单中', 'status.escalated': '超时未接单', 'status.claimed': '已接单',
    'status.on_site': '已到场', 'status.resolved': '已办结', 'status.cancelled': '已撤销',
    'risk.red': '红色', 'risk.yellow': '黄色', 'risk.blue': '蓝色',
    'outcome.mediated': '调解成功', 'outcome.not_mediated': '调解未成功', 'outcome.referred': '转交其他部门',
    'ev.reported': '群众上报，已受理', 'ev.offered': '已派单给附近 {n} 名调解员', 'ev.claimed': '{who} 接单',
    'ev.declined': '{who} 拒单', 'ev.escalated': '超时未接单 → 指挥中心', 'ev.assigned': '指挥中心派单给 {who}',
    'ev.arrived': '调解员到场', 'ev.resolved': '办结：{outcome}', 'ev.cancelled': '群众撤销上报',
    'ev.alerted': '红色预警：已即时通报指挥中心', 'ev.offers_expired': '{n} 名调解员未及时响应，派单失效',
    'ev.reminded.arrive': '已提醒调解员按时到场', 'ev.reminded.resolve': '已提醒调解员按时办结',
    'ev.overdue.arrive': '到场超时，已催办', 'ev.overdue.resolve': '办结超时，已催办',
    'ev.supervised': '指挥中心督办：{note}', 'ev.supervised.resident': '指挥中心正在督促办理',
    'ev.risk_changed': '风险等级调整：{from} → {to}',
    'ev.feedback_given': '群众评价 {rating} 星，{resolved}', 'ev.feedback_given.resident': '您的评价：{rating} 星，{resolved}',
    'ev.fb.yes': '问题已解决', 'ev.fb.no': '问题没有解决',
    'ev.reopened': '群众反映问题未解决，重新交指挥中心', 'ev.reopened.resident': '您反映问题没有解决，已重新交给指挥中心',
    'ev.phone_revealed': '{who} 查看了群众完整电话（已记录）',
    'ev.mediator_phone_revealed': '{who} 查看了调解员 {med} 的电话以便联系（已记录）',
    'ev.case_graded': '{who}定级：{from} → {to}', 'grade.simple': '简易', 'grade.general': '一般', 'grade.major_difficult': '重大疑难', 'grade.none': '未定级',
    'ev.video_started': '开始视频调解', 'ev.video_joined': '{label}进入视频调解', 'ev.video_left': '{label}离开视频调解（{dur}）',
    'ev.video_removed': '{label}被调解员请出视频调解（{dur}）', 'ev.video_ended': '视频调解结束，共 {dur}；参加：{who}（未录音录像）',
    'ev.notified.sent': '微信通知已发送{notice}', 'ev.notified.failed': '微信通知发送失败{notice}',
    'ev.notified.skipped': '微信通知已跳过{notice}', 'ev.notified.other': '微信通知{notice}',
    'notice.offer': '（派单）', 'notice.claimed': '（接单）', 'notice.arrived': '（到场）', 'notice.resolved': '（办结）', 'notice.video_invitation': '（视频调解邀请）',
    'notice.case_follow_up': '（回访提醒）', 'notice.case_confirmation': '（司法确认提醒）', 'notice.case_deadline': '（调解期限）',
    'ev.case_file.performance_due': '协议履行期限（{date}）已到，待调解员回访', 'ev.case_file.confirmation_due': '已提醒当事人在 {date} 前申请司法确认',
    'ev.case_file.deadline_due': '调解期限（{date}）已到', 'ev.case_file.followed_up': '调解员回访：{detail}',
    'ev.case_file.party_removed': '调解员移除了当事人：{detail}',
    'fu.performed': '已履行', 'fu.partly': '部分履行', 'fu.not_performed': '未履行', 'fu.none': '', 'fu.urged': '，已督促履行', 'fu.advised_to_sue': '，已告知可向人民法院起诉',
    'lvl.district': '区', 'lvl.street': '街道', 'lvl.community': '社区', 'lvl.grid': '网格',
    'ladder.community': '社区', 'ladder.street': '街道指挥中心', 'ladder.district': '区指挥中心',
    'ev.ladder.first': '由{to}负责处置', 'ev.ladder.climb': '{from}未及时处置，自动上报至{to}',
    'ev.ladder.up': '上报至{to}：{note}', 'ev.ladder.down': '交{short}处理：{note}',
    'ev.transferred': '转至 {to}（原 {from}）：{note}', 'ev.transferred.nofrom': '转至 {to}：{note}',
    'ev.joint.called_in': '呼叫 {dept} 联合处置', 'ev.joint.reminded_ack': '提醒 {dept} 报到', 'ev.joint.reminded_respond': '提醒 {dept} 答复',
    'ev.joint.acknowledged': '{dept} 已报到', 'ev.joint.responded': '{dept} 已答复', 'ev.joint.accepted': '{dept} 已接手主办',
    'ev.joint.ack_overdue': '{dept} 报到超时，已催办', 'ev.joint.respond_overdue': '{dept} 答复超时，已催办',
    'ev.joint.supervised': '督办 {dept}', 'ev.joint.result': '{dept} 报送办理结果', 'ev.joint.note': '{text}：{note}',
    'who.mediator': '调解员', 'who.operator': '值班员', 'err.network': '网络不通，请稍后再试', 'err.generic': '出错了：{msg}',
    'revoked.4401': '登录已过期，请重新登录', 'revoked.4403': '账号已停用，请联系管理员',
    'code.already_claimed': '已被其他调解员接单', 'code.at_capacity': '您手上的案件已达上限，请先办结再接单',
    'code.wrong_state': '这件事的状态已经变了，请刷新', 'code.store_unavailable': '系统暂时繁忙，请稍后再试',
    'code.rate_limited': '操作太频繁，请稍后再试', 'code.not_found': '没有找到，可能已被撤销', 'code.network': '网络不通，请稍后再试',
    'code.sms_unavailable': '暂不支持短信发送', 'code.sms_failed': '短信暂时发不出去，请稍后再试',
    'code.overloaded': '系统繁忙，请稍后再试', 'code.timeout': '系统响应超时，请稍后再试'
  },
  en: {
    'cat.neighbor': 'Neighbours', 'cat.family': 'Marriage & family', 'cat.property': 'Property management',
    'cat.wages': 'Unpaid wages', 'cat.land': 'Land & housing', 'cat.traffic': 'Traffic accident',
    'cat.consumer': 'Consumer', 'cat.other': 'Other',
    'status.dispatching': 'Dispatching', 'status.escalated': 'Unclaimed, escalated', 'status.claimed': 'Claimed',
    'status.on_site': 'On site', 'status.resolved': 'Closed', 'status.cancelled': 'Withdrawn',
    'risk.red': 'Red', 'risk.yellow': 'Yellow', 'risk.blue': 'Blue',
    'outcome.mediated': 'Settled', 'outcome.not_mediated': 'Not settled', 'outcome.referred': 'Referred',
    'ev.reported': 'Reported by the resident', 'ev.offered': 'Offered to {n} nearby mediators',
    'ev.claimed': 'Claimed by {who}', 'ev.declined': 'Declined by {who}',
    'ev.escalated': 'Unclaimed in time → command center', 'ev.assigned': 'Command center sent {who}',
    'ev.arrived': 'Mediator on site', 'ev.resolved': 'Closed: {outcome}', 'ev.cancelled': 'Withdrawn by the resident',
    'ev.alerted': 'Red alert: command center notified at once', 'ev.offers_expired': '{n} mediators did not answer; offers lapsed',
    'ev.reminded.arrive': 'Mediator reminded to arrive in time', 'ev.reminded.resolve': 'Mediator reminded to close in time',
    'ev.overdue.arrive': 'Arrival overdue: urged', 'ev.overdue.resolve': 'Closing overdue: urged',
    'ev.supervised': 'Supervised by the command center: {note}', 'ev.supervised.resident': 'The command center is following this up',
    'ev.risk_changed': 'Risk colour changed: {from} → {to}',
    'ev.feedback_given': 'Resident rated {rating} stars, {resolved}', 'ev.feedback_given.resident': 'Your rating: {rating} stars, {resolved}',
    'ev.fb.yes': 'problem solved', 'ev.fb.no': 'problem not solved',
    'ev.reopened': 'Resident says not solved: back to the command center', 'ev.reopened.resident': 'You said it is not solved: sent back to the command center',
    'ev.phone_revealed': '{who} viewed the full phone number (recorded)',
    'ev.mediator_phone_revealed': '{who} viewed the phone number of mediator {med} to call them (recorded)',
    'ev.case_graded': 'Graded by {who}: {from} → {to}', 'grade.simple': 'simple', 'grade.general': 'general', 'grade.major_difficult': 'major-difficult', 'grade.none': 'ungraded',
    'ev.video_started': 'Video mediation started', 'ev.video_joined': '{label} joined the video mediation', 'ev.video_left': '{label} left the video mediation ({dur})',
    'ev.video_removed': '{label} was removed from the video mediation ({dur})', 'ev.video_ended': 'Video mediation ended after {dur}; took part: {who} (not recorded)',
    'ev.notified.sent': 'WeChat notice sent{notice}', 'ev.notified.failed': 'WeChat notice failed{notice}',
    'ev.notified.skipped': 'WeChat notice skipped{notice}', 'ev.notified.other': 'WeChat notice{notice}',
    'notice.offer': ' (offer)', 'notice.claimed': ' (claimed)', 'notice.arrived': ' (arrived)', 'notice.resolved': ' (closed)', 'notice.video_invitation': ' (video mediation invitation)',
    'notice.case_follow_up': ' (follow-up due)', 'notice.case_confirmation': ' (judicial confirmation)', 'notice.case_deadline': ' (mediation deadline)',
    'ev.case_file.performance_due': 'Performance day ({date}) passed: the mediator follows up', 'ev.case_file.confirmation_due': 'Parties reminded to apply for judicial confirmation by {date}',
    'ev.case_file.deadline_due': 'The mediation deadline ({date}) passed', 'ev.case_file.followed_up': 'Mediator followed up: {detail}',
    'ev.case_file.party_removed': 'The mediator removed a party: {detail}',
    'fu.performed': 'performed', 'fu.partly': 'partly performed', 'fu.not_performed': 'not performed', 'fu.none': '', 'fu.urged': '; performance urged', 'fu.advised_to_sue': '; advised they may sue',
    'lvl.district': 'district', 'lvl.street': 'street', 'lvl.community': 'community', 'lvl.grid': 'grid',
    'ladder.community': 'community', 'ladder.street': 'street command center', 'ladder.district': 'district command center',
    'ev.ladder.first': 'Handled by the {to}', 'ev.ladder.climb': 'Not handled by the {from} in time: moved up to the {to}',
    'ev.ladder.up': 'Handed up to the {to}: {note}', 'ev.ladder.down': 'Handed down to the {short}: {note}',
    'ev.transferred': 'Transferred to {to} (was {from}): {note}', 'ev.transferred.nofrom': 'Transferred to {to}: {note}',
    'ev.joint.called_in': '{dept} called in', 'ev.joint.reminded_ack': '{dept} reminded to report in', 'ev.joint.reminded_respond': '{dept} reminded to answer',
    'ev.joint.acknowledged': '{dept} reported in', 'ev.joint.responded': '{dept} answered', 'ev.joint.accepted': '{dept} took over the lead',
    'ev.joint.ack_overdue': '{dept} late to report in: urged', 'ev.joint.respond_overdue': '{dept} late to answer: urged',
    'ev.joint.supervised': '{dept} under supervision', 'ev.joint.result': '{dept} sent its result', 'ev.joint.note': '{text}: {note}',
    'who.mediator': 'a mediator', 'who.operator': 'an operator', 'err.network': 'No connection, please try again', 'err.generic': 'Error: {msg}',
    'revoked.4401': 'Your sign-in has expired, please sign in again',
    'revoked.4403': 'This account has been disabled, please contact the administrator',
    'code.already_claimed': 'Another mediator already took it', 'code.at_capacity': 'You hold as many cases as allowed; close one first',
    'code.wrong_state': 'This case has changed; please refresh', 'code.store_unavailable': 'The system is busy; please try again shortly',
    'code.rate_limited': 'Too many tries; please wait a little', 'code.not_found': 'Not found; it may have been withdrawn',
    'code.network': 'No connection, please try again', 'code.sms_unavailable': 'Text messages are not available here',
    'code.sms_failed': 'The text could not be sent; please try again later',
    'code.overloaded': 'The system is busy; please try again shortly', 'code.timeout': 'The system took too long; please try again'
  }
});
GD.CATEGORIES = ['neighbor', 'family', 'property', 'wages', 'land', 'traffic', 'consumer', 'other'];

/**
 * One timeline entry as a sentence, or null when this audience should not see it (and for
 * event types this page does not know: never a raw key). names maps account ids to names.
 * audience: 'staff' (default) or 'resident' (no internal plumbing, no operators' notes).
 */
var RESIDENT_HIDDEN = ['declined', 'offers_expired', 'alerted', 'reminded', 'overdue', 'risk_changed', 'phone_revealed', 'mediator_phone_revealed', 'notified',
  'ladder_moved', 'transferred', 'joint'];
var KNOWN = ['reported', 'offered', 'claimed', 'declined', 'escalated', 'alerted', 'offers_expired', 'reminded', 'overdue',
  'supervised', 'risk_changed', 'feedback_given', 'reopened', 'phone_revealed', 'mediator_phone_revealed', 'assigned', 'arrived', 'resolved', 'cancelled', 'notified',
  'ladder_moved', 'transferred', 'video_started', 'video_joined', 'video_left', 'video_ended', 'case_graded', 'case_file'];
/** Ladder levels, bottom first. */
GD.LADDER = ['community', 'street', 'district'];
/** An area code as a name; a page that knows the areas replaces this. */
GD.areaName = function (code) { return code; };
GD.describeEvent = function (entry, names, audience) {
  var ev = (entry && entry.event) || {};
  var type = ev.type;
  if (KNOWN.indexOf(type) < 0) return null;
  var resident = audience === 'resident';
  if (resident && RESIDENT_HIDDEN.indexOf(type) >= 0) return null;
  var id = ev.mediator_id;
  var who = (id && names && names[id]) || GD.t('who.mediator');
  var vars = { who: who, n: (ev.mediator_ids || []).length, outcome: ev.outcome ? GD.t('outcome.' + ev.outcome) : '' };
  switch (type) {
    case 'reminded': case 'overdue':
      return GD.t('ev.' + type + '.' + (ev.deadline === 'resolve' ? 'resolve' : 'arrive'));
    case 'supervised':
      return resident ? GD.t('ev.supervised.resident') : GD.t('ev.supervised', { note: ev.note || '' });
    case 'risk_changed':
      return GD.t('ev.risk_changed', { from: GD.t('risk.' + ev.from), to: GD.t('risk.' + ev.to) });
    case 'feedback_given':
      return GD.t(resident ? 'ev.feedback_given.resident' : 'ev.feedback_given',
        { rating: ev.rating, resolved: GD.t(ev.resolved === false ? 'ev.fb.no' : 'ev.fb.yes') });
    case 'reopened':
      return GD.t(resident ? 'ev.reopened.resident' : 'ev.reopened');
    case 'phone_revealed':
      return GD.t('ev.phone_revealed', { who: (entry.actor_id && names && names[entry.actor_id]) || GD.t('who.operator') });
    case 'mediator_phone_revealed':
      return GD.t('ev.mediator_phone_revealed', { who: (entry.actor_id && names && names[entry.actor_id]) || GD.t('who.operator'), med: who });
    case 'ladder_moved': {
      var from = GD.LADDER.indexOf(ev.from), to = GD.LADDER.indexOf(ev.to);
      var lv = { to: GD.t('ladder.' + ev.to), short: GD.t('lvl.' + ev.to), note: ev.note || '',
        from: ev.from ? GD.t('ladder.' + ev.from) : '' };
      if (!ev.from) return GD.t('ev.ladder.first', lv);
      if (to < from) return GD.t('ev.ladder.down', lv);
      return GD.t(ev.note ? 'ev.ladder.up' : 'ev.ladder.climb', lv);
    }
    case 'transferred':
      return GD.t(ev.from ? 'ev.transferred' : 'ev.transferred.nofrom',
        { to: GD.areaName(ev.to), from: ev.from ? GD.areaName(ev.from) : '', note: ev.note || '' });
    case 'joint': {
      if (resident && ['called_in', 'accepted', 'result'].indexOf(ev.step) < 0) return null;
      var jk = 'ev.joint.' + ev.step, text = GD.t(jk, { dept: ev.department || '' });
      if (text === jk) return null;
      return ev.note && !resident ? GD.t('ev.joint.note', { text: text, note: ev.note }) : text;
    }
    case 'case_graded':
      return GD.t('ev.case_graded', { who: (entry.actor_id && names && names[entry.actor_id]) || GD.t(entry.actor_role === 'mediator' ? 'who.mediator' : 'who.operator'),
        from: GD.t('grade.' + (ev.from || 'none')), to: GD.t('grade.' + ev.to) });
    case 'video_joined':
      return GD.t('ev.video_joined', { label: ev.label || '' });
    case 'video_left':
      return GD.t(ev.removed ? 'ev.video_removed' : 'ev.video_left', { label: ev.label || '', dur: GD.fmtDuration((ev.seconds || 0) * 1000) });
    case 'video_ended':
      return GD.t('ev.video_ended', { dur: GD.fmtDuration((ev.seconds || 0) * 1000), who: (ev.participants || []).join('、') });
    case 'case_file': {
      if (resident && ev.step !== 'confirmation_due') return null;
      var detail = ev.detail || '';
      if (ev.step === 'followed_up') {
        var fu = detail.split(' ');
        detail = GD.t('fu.' + fu[0]) + (fu[1] ? GD.t('fu.' + fu[1]) : '');
      }
      var ck = 'ev.case_file.' + ev.step, ct = GD.t(ck, { date: ev.date || '', detail: detail });
      return ct === ck ? null : ct;
    }
    case 'notified': {
      var o = String(ev.outcome || '');
      var kind = /^sent/.test(o) ? 'sent' : /^failed/.test(o) ? 'failed' : /^skipped/.test(o) ? 'skipped' : 'other';
      var noticeKey = 'notice.' + ev.notice;
      var notice = GD.t(noticeKey);
      return GD.t('ev.notified.' + kind, { notice: notice === noticeKey ? '' : notice });
    }
    default:
      return GD.t('ev.' + type, vars);
  }
};
/** Risk colours, most urgent first. */
GD.RISK_RANK = { red: 0, yellow: 1, blue: 2 };
/** Sort: red → yellow → blue, then newest first. */
GD.urgentFirst = function (a, b) {
  var ra = GD.RISK_RANK[a.risk], rb = GD.RISK_RANK[b.risk];
  if (ra === undefined) ra = 3;
  if (rb === undefined) rb = 3;
  return (ra - rb) || String(b.created_at).localeCompare(String(a.created_at));
};

// ---- DOM helpers --------------------------------------------------------------------------
/** el('div', {class: 'x', text: 'y', onclick: fn}, [children]) */
GD.el = function (tag, attrs, children) {
  var e = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (k) {
    var v = attrs[k];
    if (v === undefined || v === null || v === false) return;
    if (k === 'text') e.textContent = v;
    else if (k === 'class') e.className = v;
    else if (k.indexOf('on') === 0) e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : v);
  });
  (children || []).forEach(function (c) {
    if (c !== null && c !== undefined && c !== false) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  });
  return e;
};
/** The first element matching `sel` (under `root`). */
export function $(sel, root) { return (root || document).querySelector(sel); }
GD.$ = $;

/**
 * A short message at the bottom of the screen. `text` may be a function returning it: the
 * toast is then written again in the other language if the toggle is tapped while it shows.
 */
var toastText = null;
GD.toast = function (text, kind) {
  var box = GD.$('#toast');
  if (!box) return;
  toastText = typeof text === 'function' ? text : null;
  box.textContent = toastText ? toastText() : text;
  box.className = 'toast show ' + (kind || '');
  clearTimeout(GD._toastTimer);
  GD._toastTimer = setTimeout(function () { box.className = 'toast'; toastText = null; }, 4000);
};
listeners.push(function () { var box = GD.$('#toast'); if (box && toastText) box.textContent = toastText(); });

/**
 * An API failure in the page's language: the error's code when this page knows it, else the
 * server's message (which is English) behind a translated lead.
 */
GD.errText = function (r) {
  var key = 'code.' + (r && r.code);
  var known = dict[GD.lang][key] || dict.zh[key];
  if (known) return GD.t(key);
  if (r && r.status === 0) return GD.t('err.network');
  return GD.t('err.generic', { msg: (r && r.message) || '' });
};
/** A string by key, as a function of the current language (for toasts that re-translate). */
GD.tr = function (key, vars) { return function () { return GD.t(key, vars); }; };
/** Toast an API failure, re-translated on toggle. */
GD.toastError = function (r) { GD.toast(function () { return GD.errText(r); }, 'error'); };

/** 128 random bits as a UUID (works outside secure contexts too). */
GD.uuid = function () {
  if (window.crypto && crypto.randomUUID) {
    try { return crypto.randomUUID(); } catch (e) { /* insecure context */ }
  }
  var b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join('');
  return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
};

// ---- tokens ---------------------------------------------------------------------------------
/** The staff token for `role`: `?token=` (then removed from the address bar) or localStorage. */
GD.takeToken = function (role) {
  var key = 'gd.' + role + '.token';
  var url = new URL(location.href);
  var fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    try { localStorage.setItem(key, fromUrl); } catch (e) { /* private mode */ }
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  try { return localStorage.getItem(key); } catch (e) { return null; }
};
GD.saveToken = function (role, token) {
  try { if (token) localStorage.setItem('gd.' + role + '.token', token); else localStorage.removeItem('gd.' + role + '.token'); } catch (e) { /* private mode */ }
};

/**
 * The staff sign-in form (`#login-form` with `#login-phone`, `#login-password`, `#login-error`):
 * on success the token is kept for `role`, the password cleared and `signedIn(token)` called.
 */
GD.loginForm = function (role, signedIn) {
  $('#login-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var body = { phone: $('#login-phone').value.trim(), password: $('#login-password').value };
    GD.api('POST', '/api/v1/auth/login', { body: body }).then(function (r) {
      if (!r.ok) { $('#login-error').textContent = r.status === 401 ? GD.t('login.failed') : GD.errText(r); return; }
      GD.saveToken(role, r.body.access_token);
      $('#login-password').value = '';
      signedIn(r.body.access_token);
    });
  });
};

// ---- HTTP -------------------------------------------------------------------------------------
/**
 * Call the API. Resolves {ok, status, body, code, message}; network failures resolve with
 * status 0 (never throw), so callers handle one shape.
 */
GD.api = function (method, path, opts) {
  opts = opts || {};
  var headers = Object.assign({ 'Accept': 'application/json' }, opts.headers || {});
  if (opts.token) headers['Authorization'] = 'Bearer ' + opts.token;
  var init = { method: method, headers: headers, cache: 'no-store' };
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(opts.body);
  }
  var ctrl = window.AbortController ? new AbortController() : null;
  if (ctrl) { init.signal = ctrl.signal; setTimeout(function () { ctrl.abort(); }, opts.timeoutMs || 15000); }
  return fetch(path, init).then(function (r) {
    return r.text().then(function (text) {
      var body = null;
      try { body = text ? JSON.parse(text) : null; } catch (e) { body = text; }
      var err = body && body.error ? body.error : {};
      return { ok: r.ok, status: r.status, body: body, code: err.code, message: err.message || r.statusText };
    });
  }, function () {
    return { ok: false, status: 0, body: null, code: 'network', message: GD.t('err.network') };
  });
};

// ---- WebSocket with backoff -------------------------------------------------------------------
/**
 * A socket that reconnects with jittered exponential backoff (1 s → 30 s).
 * opts: url() → string, onOpen(), onMessage(obj), onState(state: 'connecting'|'open'|'down'),
 * onAuthFailed() (closed before ever opening, e.g. a 401/403 upgrade), onRevoked(message)
 * (the server closed it with 4401 token expired or 4403 account disabled: it does not reconnect,
 * the page signs out at once and shows `message`).
 */
var REVOKED = { 4401: 'revoked.4401', 4403: 'revoked.4403' };
GD.LiveSocket = function (opts) {
  var self = this;
  var attempt = 0, ws = null, timer = null, stopped = false, failedFast = 0;
  self.state = 'connecting';
  function setState(s) { self.state = s; if (opts.onState) opts.onState(s); }
  function connect() {
    if (stopped) return;
    setState('connecting');
    var opened = false;
    try {
      ws = new WebSocket(opts.url());
    } catch (e) { schedule(); return; }
    ws.onopen = function () { opened = true; attempt = 0; failedFast = 0; setState('open'); if (opts.onOpen) opts.onOpen(); };
    ws.onmessage = function (ev) {
      var msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      opts.onMessage(msg);
    };
    ws.onclose = function (ev) {
      ws = null;
      if (stopped) return;
      if (REVOKED[ev.code] && opts.onRevoked) { stopped = true; setState('down'); opts.onRevoked(GD.t(REVOKED[ev.code])); return; }
      setState('down');
      if (!opened && ++failedFast >= 3 && opts.onAuthFailed) {
        // Three refusals in a row before opening: check the token over HTTP.
        opts.onAuthFailed();
      }
      schedule();
    };
    ws.onerror = function () { /* onclose follows */ };
  }
  function schedule() {
    if (stopped) return;
    var base = Math.min(30000, 1000 * Math.pow(2, attempt++));
    timer = setTimeout(connect, base / 2 + Math.random() * base / 2);
  }
  self.send = function (obj) {
    if (ws && ws.readyState === 1) { ws.send(JSON.stringify(obj)); return true; }
    return false;
  };
  self.isOpen = function () { return !!ws && ws.readyState === 1; };
  /**
   * Give up on this connection now (the link is dead: no heartbeat, or the browser says it is
   * offline): a dead link may take minutes to report its close, so don't wait for it.
   */
  self.reset = function () {
    if (stopped) return;
    if (ws) { ws.onclose = null; ws.onmessage = null; try { ws.close(); } catch (e) { /* already closing */ } ws = null; }
    clearTimeout(timer);
    setState('down');
    schedule();
  };
  self.stop = function () { stopped = true; clearTimeout(timer); if (ws) ws.close(); };
  /** Reconnect now (e.g. the page became visible again). */
  self.kick = function () { if (!ws && !stopped) { clearTimeout(timer); attempt = 0; connect(); } };
  connect();
};
GD.wsUrl = function (path, token) {
  return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + path +
    '?access_token=' + encodeURIComponent(token);
};

document.addEventListener('DOMContentLoaded', function () {
  GD.applyStrings();
  var toggle = document.getElementById('lang-toggle');
  if (toggle) GD.langToggle(toggle);
});
