// The resident's report form (/r/{scene}), for elderly users in WeChat's browser: big category
// buttons, a description, an optional phone, the scene's place or the device's, one submit.
// One Idempotency-Key per page load (per distinct form content), so a double tap files once.
import { GD, $ } from './common.js';

GD.strings({
  zh: {
    'page.title': '矛盾纠纷上报', 'place.title': '地点', 'place.scene': '地点：', 'place.use': '使用我现在的位置',
    'place.scene_hint': '如果事情不在这里发生，请点上面的按钮，使用您现在的位置。',
    'place.none': '请点下面的按钮，告诉我们事情发生在哪里。', 'place.need': '请先点“使用我现在的位置”',
    'place.device': '已获取您现在的位置（误差约 {acc}）', 'place.locating': '正在获取位置…',
    'place.denied': '无法获取位置。请在提示中点“允许”，或扫描附近的二维码上报。', 'place.failed': '暂时无法获取位置，请再试一次。',
    'cat.title': '1. 遇到了什么事？（请点一项）', 'cat.need': '请先点选上面的一项',
    'desc.label': '2. 请简单说说发生了什么', 'desc.ph': '例如：楼上装修噪音很大，沟通了几次都不行', 'desc.need': '请写几句发生了什么',
    'phone.label': '3. 您的手机号（选填）', 'phone.ph': '11位手机号', 'phone.bad': '手机号应为11位数字，不填也可以',
    'phone.hint': '留下电话，调解员可以打给您。只有接单的调解员能看到完整号码。',
    'submit': '提交上报', 'submitting': '正在提交…', 'notice': '遇到打架、伤人等紧急情况，请直接拨打 110。',
    'err.scene': '这个二维码已失效，请点“使用我现在的位置”后再提交', 'err.retry': '网络不通，请再点一次提交（不会重复上报）'
  },
  en: {
    'page.title': 'Report a dispute', 'place.title': 'Place', 'place.scene': 'Place: ', 'place.use': 'Use my current location',
    'place.scene_hint': 'If it is happening elsewhere, tap the button above to use your current location.',
    'place.none': 'Tap the button below to tell us where it is happening.', 'place.need': 'Please tap "Use my current location" first',
    'place.device': 'Your current location is set (±{acc})', 'place.locating': 'Getting your location…',
    'place.denied': 'No location. Tap "Allow" when asked, or scan a nearby QR code.', 'place.failed': 'Location unavailable, please try again.',
    'cat.title': '1. What is it about? (tap one)', 'cat.need': 'Please tap one of the options above',
    'desc.label': '2. Tell us briefly what is happening', 'desc.ph': 'e.g. very loud renovation upstairs; talking to them did not help',
    'desc.need': 'Please write a few words about what is happening',
    'phone.label': '3. Your mobile number (optional)', 'phone.ph': '11-digit mobile number', 'phone.bad': 'A mobile number has 11 digits (or leave it empty)',
    'phone.hint': 'A mediator can call you back. Only the mediator who takes the case sees the full number.',
    'submit': 'Send report', 'submitting': 'Sending…', 'notice': 'For fights, injuries or other emergencies call 110 directly.',
    'err.scene': 'This QR code is no longer valid; tap "Use my current location" and send again',
    'err.retry': 'No connection. Tap send again (it will not be filed twice)'
  }
});

function meta(name) { var m = document.querySelector('meta[name="' + name + '"]'); return m ? m.content : ''; }

var scene = decodeURIComponent(location.pathname.split('/')[2] || '');
var sceneName = meta('gd-scene-name');
var scenePlace = sceneName && meta('gd-scene-lat') ? { lat: Number(meta('gd-scene-lat')), lng: Number(meta('gd-scene-lng')) } : null;
var device = null, locating = false, placeError = null, category = null;
var key = GD.uuid(), keyBody = null, sending = false;

function renderPlace() {
  var p = $('#place-text');
  if (sceneName) p.replaceChildren(GD.t('place.scene'), GD.el('strong', { text: sceneName }));
  else p.textContent = GD.t('place.none');
  var hint = '';
  if (locating) hint = GD.t('place.locating');
  else if (placeError) hint = GD.t(placeError);
  else if (device) hint = GD.t('place.device', { acc: GD.fmtDistance(device.accuracy) });
  else if (sceneName) hint = GD.t('place.scene_hint');
  $('#place-hint').textContent = hint;
  $('#place-hint').className = 'hint' + (placeError ? ' error' : '');
}

function renderCategories() {
  var box = $('#cats');
  box.replaceChildren.apply(box, GD.CATEGORIES.map(function (c) {
    return GD.el('button', { type: 'button', class: 'cat-btn', 'aria-pressed': c === category ? 'true' : 'false', dataset: { category: c },
      text: GD.t('cat.' + c),
      onclick: function () { category = c; $('#cat-error').textContent = ''; renderCategories(); } });
  }));
}

$('#use-location').addEventListener('click', function () {
  if (!navigator.geolocation) { placeError = 'place.failed'; renderPlace(); return; }
  locating = true; placeError = null; renderPlace();
  navigator.geolocation.getCurrentPosition(function (pos) {
    locating = false;
    device = { lat: pos.coords.latitude, lng: pos.coords.longitude, accuracy: pos.coords.accuracy };
    renderPlace();
  }, function (err) {
    locating = false;
    placeError = err.code === 1 ? 'place.denied' : 'place.failed';
    renderPlace();
  }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
});

function setError(id, key) { $(id).textContent = key ? GD.t(key) : ''; }

$('#report-form').addEventListener('submit', function (e) {
  e.preventDefault();
  if (sending) return;
  var description = $('#description').value.trim();
  var phone = $('#phone').value.replace(/\s+/g, '');
  setError('#cat-error', category ? null : 'cat.need');
  setError('#desc-error', description ? null : 'desc.need');
  var phoneOk = !phone || /^1\d{10}$/.test(phone);
  setError('#phone-error', phoneOk ? null : 'phone.bad');
  setError('#form-error', null);
  if (!sceneName && !device) { placeError = 'place.need'; renderPlace(); }
  var first = !category ? '#cats' : !description ? '#description' : !phoneOk ? '#phone' : (!sceneName && !device) ? '#use-location' : null;
  if (first) { $(first).scrollIntoView({ block: 'center' }); return; }

  var body = { category: category, description: description };
  if (phone) body.phone = phone;
  if (sceneName) body.scene = scene;
  // Browser geolocation is WGS-84.
  if (device) body.location = { lat: device.lat, lng: device.lng, coord: 'wgs84' };
  var json = JSON.stringify(body);
  if (keyBody !== null && keyBody !== json) key = GD.uuid(); // they changed the report: a new one
  keyBody = json;

  sending = true;
  var button = $('#submit');
  button.disabled = true;
  button.textContent = GD.t('submitting');
  GD.api('POST', '/api/v1/reports', { body: body, headers: { 'Idempotency-Key': key } }).then(function (r) {
    if (r.ok && r.body && r.body.tracking_token) {
      var place = device || scenePlace;
      try { if (place) localStorage.setItem('gd.place.' + r.body.id, JSON.stringify({ lat: place.lat, lng: place.lng })); } catch (err) { /* private mode */ }
      location.replace('/t/' + encodeURIComponent(r.body.tracking_token));
      return;
    }
    sending = false;
    button.disabled = false;
    button.textContent = GD.t('submit');
    var field = r.body && r.body.error && r.body.error.field;
    var msg = r.message || '';
    if (r.status === 0 || r.status >= 500) setError('#form-error', 'err.retry');
    else if (field === 'phone' || /phone/.test(msg)) setError('#phone-error', 'phone.bad');
    else if (field === 'scene' || /scene/.test(msg)) { sceneName = ''; renderPlace(); setError('#form-error', 'err.scene'); }
    else if (field === 'description' || /description/.test(msg)) setError('#desc-error', 'desc.need');
    else $('#form-error').textContent = GD.t('err.generic', { msg: msg });
  });
});

GD.onLang(function () { renderPlace(); renderCategories(); if (!sending) $('#submit').textContent = GD.t('submit'); });
document.addEventListener('DOMContentLoaded', function () { renderPlace(); renderCategories(); });
