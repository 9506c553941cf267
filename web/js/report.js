// The resident's report form (/r/{scene}), for elderly users in WeChat's browser: big category
// buttons, a description, an optional phone, the scene's place or the device's, one submit.
// One Idempotency-Key per page load (per distinct form content), so a double tap files once.
import { GD, $ } from './common.js';
import { addBaseMap, toMap, fromMap, geoJsonOptions } from './basemap.js';

GD.strings({
  zh: {
    'page.title': '矛盾纠纷上报', 'place.title': '地点', 'place.scene': '地点：', 'place.use': '使用我现在的位置',
    'place.scene_hint': '如果事情不在这里发生，请点上面的按钮，使用您现在的位置。',
    'place.none': '请告诉我们事情发生在哪里：用现在的位置、在地图上标出，或写下地址。',
    'place.unknown': '二维码无效或已停用。请用下面任一方法告诉我们地点：',
    'place.need': '请告诉我们地点：点“使用我现在的位置”、在地图上拖动图钉，或写下地址',
    'pick.how': '在地图上拖动红色图钉，放到事情发生的地方（也可以直接点地图）', 'pick.map': '选择地点的地图',
    'pick.set': '已在地图上标出地点', 'pick.pin': '事发地点（可拖动）',
    'addr.label': '地址或附近的标志（选填）', 'addr.ph': '例如：人民街12号小卖部门口', 'call110': '拨打 110',
    'place.device': '已获取您现在的位置（误差约 {acc}）', 'place.locating': '正在获取位置…',
    'place.denied': '无法获取您的位置。请在下面的地图上拖动图钉，或写下地址。', 'place.failed': '暂时无法获取位置，请再试一次。',
    'cat.title': '1. 遇到了什么事？（请点一项）', 'cat.need': '请先点选上面的一项',
    'desc.label': '2. 请简单说说发生了什么', 'desc.ph': '例如：楼上装修噪音很大，沟通了几次都不行', 'desc.need': '请写几句发生了什么',
    'phone.label': '3. 您的手机号（选填）', 'phone.ph': '11位手机号', 'phone.bad': '手机号应为11位数字，不填也可以',
    'phone.hint': '留下电话，调解员可以打给您。只有接单的调解员能看到完整号码。',
    'submit': '提交上报', 'submitting': '正在提交…', 'notice': '遇到打架、伤人等紧急情况，请直接拨打 110。',
    'err.scene': '二维码无效或已停用。请用现在的位置、地图上的图钉或地址告诉我们地点，再提交一次', 'err.retry': '网络不通，请再点一次提交（不会重复上报）'
  },
  en: {
    'page.title': 'Report a dispute', 'place.title': 'Place', 'place.scene': 'Place: ', 'place.use': 'Use my current location',
    'place.scene_hint': 'If it is happening elsewhere, tap the button above to use your current location.',
    'place.none': 'Tell us where it is happening: use your location, mark it on the map, or type the address.',
    'place.unknown': 'This QR code is invalid or no longer in use. Tell us the place another way:',
    'place.need': 'Tell us the place: tap "Use my current location", drag the pin on the map, or type the address',
    'pick.how': 'Drag the red pin to where it is happening (or tap the map)', 'pick.map': 'Map for choosing the place',
    'pick.set': 'Place marked on the map', 'pick.pin': 'The place (drag me)',
    'addr.label': 'Address or a landmark nearby (optional)', 'addr.ph': 'e.g. 12 Renmin St, by the shop', 'call110': 'Call 110',
    'place.device': 'Your current location is set (±{acc})', 'place.locating': 'Getting your location…',
    'place.denied': 'Your location is not available. Drag the pin on the map below, or type the address.', 'place.failed': 'Location unavailable, please try again.',
    'cat.title': '1. What is it about? (tap one)', 'cat.need': 'Please tap one of the options above',
    'desc.label': '2. Tell us briefly what is happening', 'desc.ph': 'e.g. very loud renovation upstairs; talking to them did not help',
    'desc.need': 'Please write a few words about what is happening',
    'phone.label': '3. Your mobile number (optional)', 'phone.ph': '11-digit mobile number', 'phone.bad': 'A mobile number has 11 digits (or leave it empty)',
    'phone.hint': 'A mediator can call you back. Only the mediator who takes the case sees the full number.',
    'submit': 'Send report', 'submitting': 'Sending…', 'notice': 'For fights, injuries or other emergencies call 110 directly.',
    'err.scene': 'This QR code is invalid or no longer in use. Give the place by your location, the map pin or an address, and send again',
    'err.retry': 'No connection. Tap send again (it will not be filed twice)'
  }
});

function meta(name) { var m = document.querySelector('meta[name="' + name + '"]'); return m ? m.content : ''; }

var scene = decodeURIComponent(location.pathname.split('/')[2] || '');
var sceneName = meta('gd-scene-name');
var scenePlace = sceneName && meta('gd-scene-lat') ? { lat: Number(meta('gd-scene-lat')), lng: Number(meta('gd-scene-lng')) } : null;
var device = null, locating = false, placeError = null, category = null;
var pickMap = null, pin = null, pinned = null;
var key = GD.uuid(), keyBody = null, sending = false;

function renderPlace() {
  var p = $('#place-text');
  if (sceneName) p.replaceChildren(GD.t('place.scene'), GD.el('strong', { text: sceneName }));
  else p.textContent = GD.t(scene ? 'place.unknown' : 'place.none');
  p.className = !sceneName && scene ? 'error' : '';
  // Without a scene or a fix: a map to drag a pin on.
  $('#pick').hidden = !!(sceneName || device);
  if (!$('#pick').hidden) initPick();
  $('#pick-state').textContent = pinned ? GD.t('pick.set') : '';
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

/**
 * The pin map: the district's own tiles when configured, else (offline intranets) a plain
 * grid with the district's outline. Starts at the district's centre; drag or tap to mark.
 */
function initPick() {
  if (pickMap || !window.L) return;
  // On GCJ-02 tiles the map's coordinates are shifted: drawn with toMap, read with fromMap.
  var home = toMap(Number(meta('gd-home-lat')) || 0, Number(meta('gd-home-lng')) || 0);
  pickMap = L.map('pick-map', { attributionControl: false, scrollWheelZoom: false, tap: true });
  var tiles = addBaseMap(pickMap);
  pickMap.setView(home, tiles ? 16 : 14);
  if (!tiles) {
    var lines = [], step = 0.005, span = 0.06;
    for (var d = -span; d <= span + 1e-9; d += step) {
      lines.push([[home[0] + d, home[1] - span], [home[0] + d, home[1] + span]]);
      lines.push([[home[0] - span, home[1] + d], [home[0] + span, home[1] + d]]);
    }
    L.polyline(lines, { color: '#c3cbd6', weight: 1, interactive: false }).addTo(pickMap);
  }
  var outline = meta('gd-outline');
  if (outline) {
    try {
      L.geoJSON(JSON.parse(outline), geoJsonOptions({ interactive: false, style: { color: '#0f5fd7', weight: 3, fill: false } })).addTo(pickMap);
    } catch (e) { /* no outline */ }
  }
  L.control.scale({ imperial: false, position: 'bottomleft' }).addTo(pickMap);
  pin = L.marker(home, { draggable: true, autoPan: true, title: GD.t('pick.pin'), alt: GD.t('pick.pin'),
    icon: L.divIcon({ className: 'pick-pin', iconSize: [30, 42], iconAnchor: [15, 42] }) }).addTo(pickMap);
  function mark(latlng) {
    pin.setLatLng(latlng);
    var wgs = fromMap(latlng.lat, latlng.lng);
    pinned = { lat: wgs[0], lng: wgs[1] };
    placeError = null;
    renderPlace();
  }
  pin.on('dragend', function () { mark(pin.getLatLng()); });
  pickMap.on('click', function (e) { mark(e.latlng); });
  window.gdReport = { map: pickMap, pin: pin };
  setTimeout(function () { pickMap.invalidateSize(); }, 0);
}

/** Show (or clear) an error by its key: marked data-i18n, so the toggle re-translates it. */
function setError(id, key) {
  var el = $(id);
  if (key) { el.dataset.i18n = key; el.textContent = GD.t(key); } else { delete el.dataset.i18n; el.textContent = ''; }
}

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
  var address = $('#address').value.trim();
  var placed = sceneName || device || pinned || address;
  if (!placed) { placeError = 'place.need'; renderPlace(); }
  var first = !category ? '#cats' : !description ? '#description' : !phoneOk ? '#phone' : !placed ? '#place-text' : null;
  if (first) { $(first).scrollIntoView({ block: 'center' }); return; }

  var body = { category: category, description: description };
  if (phone) body.phone = phone;
  if (sceneName) body.scene = scene;
  // Browser geolocation and the map are WGS-84.
  var point = device || pinned;
  if (point) body.location = { lat: point.lat, lng: point.lng, coord: 'wgs84' };
  if (address) body.address = address;
  var json = JSON.stringify(body);
  if (keyBody !== null && keyBody !== json) key = GD.uuid(); // they changed the report: a new one
  keyBody = json;

  sending = true;
  var button = $('#submit');
  button.disabled = true;
  button.textContent = GD.t('submitting');
  GD.api('POST', '/api/v1/reports', { body: body, headers: { 'Idempotency-Key': key } }).then(function (r) {
    if (r.ok && r.body && r.body.tracking_token) {
      var place = device || pinned || scenePlace;
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
    else if (r.code && GD.t('code.' + r.code) !== 'code.' + r.code) setError('#form-error', 'code.' + r.code);
    else { setError('#form-error', null); $('#form-error').textContent = GD.errText(r); }
  });
});

GD.onLang(function () { renderPlace(); renderCategories(); if (!sending) $('#submit').textContent = GD.t('submit'); });
document.addEventListener('DOMContentLoaded', function () { renderPlace(); renderCategories(); });
