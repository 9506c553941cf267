// The video room (/v/{invitation} for the invited, /v#seat=… for staff): join with the one-time
// invitation (no account, no install), fetch TURN credentials, a big "enter" button (iOS WeChat
// plays media only after a tap), then the mesh (video_mesh.js) over the room socket. Shows
// connecting / poor network / reconnecting, the people in the room, mute, camera off, switch
// camera, leave; the host (or an operator) can remove someone and end it. A browser without
// WebRTC gets a phone number to call instead. Nothing is recorded.
import { GD, $ } from './common.js';
import { Mesh } from './video_mesh.js';

GD.strings({
  zh: {
    'page.title': '视频调解', 'loading': '正在加载…', 'enter': '进入视频调解', 'no_record': '本次视频不录音、不录像。',
    'h.invited': '调解员邀请您参加视频调解', 's.invited': '点下面的绿色按钮进入。手机会问能不能用摄像头和麦克风，请点“允许”。',
    'h.staff': '视频调解室已准备好', 's.staff': '进入后，用“邀请别人参加”请当事人和专家进来。', 'h.observer': '旁听视频调解', 's.observer': '您只能看和听，别人看不到您。',
    'h.expired': '这个邀请已经过期了', 'h.used': '这个邀请已经用过了', 'h.not_invited': '您不在这次视频调解的名单上',
    'h.ended': '这次视频调解已经结束', 'h.full': '视频调解人数已满', 's.ask_again': '请联系调解员重新发一个邀请。',
    'h.removed': '调解员已请您离开视频调解', 'h.replaced': '您在别的页面打开了视频调解', 'h.left': '您已离开视频调解',
    'h.error': '出了点问题，请稍后再试', 'again': '重新进入',
    'nortc.title': '您的浏览器不能视频通话', 'nortc.hint': '请用手机自带浏览器或电脑上的 Chrome、Edge 打开本链接，或者直接打电话参加：',
    'nortc.call': '打电话参加：{phone}', 'nocam': '打不开摄像头，先用语音参加',
    'net.connecting': '正在连接…', 'net.reconnecting': '网络断了，正在重新连接…', 'net.poor': '网络较差，已切换为只有声音',
    'net.weak': '网络较差，画面可能卡顿', 'controls': '通话按钮',
    'mute': '静音', 'unmute': '打开麦克风', 'camera_off': '关摄像头', 'camera_on': '开摄像头', 'switch': '换摄像头',
    'switch.one': '只有一个摄像头', 'leave': '离开', 'end': '结束本次视频调解', 'people': '参加的人', 'remove': '请离开',
    'me': '（我）', 'st.in': '在线', 'st.muted': '静音', 'st.camoff': '摄像头已关', 'st.audio': '只有声音', 'st.weak': '网络差',
    'kind.host': '调解员', 'kind.party': '当事人', 'kind.department': '部门', 'kind.operator': '指挥中心', 'kind.observer': '旁听',
    'removed.toast': '已请 {who} 离开', 'inv.title': '邀请别人参加', 'inv.party': '邀请当事人', 'inv.dept': '邀请部门专家',
    'inv.party_hint': '已邀请：当事人打开自己的进度页就能看到“进入视频调解”按钮。也可以把下面的链接发给他（只能用一次，{min} 分钟内有效）。',
    'inv.dept_hint': '请把下面的链接发给专家（只能用一次，{min} 分钟内有效）：'
  },
  en: {
    'page.title': 'Video mediation', 'loading': 'Loading…', 'enter': 'Enter the video mediation', 'no_record': 'Nothing in this call is recorded.',
    'h.invited': 'The mediator invites you to a video mediation', 's.invited': 'Tap the green button to enter. Allow the camera and microphone when asked.',
    'h.staff': 'The video mediation room is ready', 's.staff': 'Once in, use "Invite someone" to bring in the parties and experts.', 'h.observer': 'Watching a video mediation', 's.observer': 'You can see and hear; nobody sees you.',
    'h.expired': 'This invitation has expired', 'h.used': 'This invitation has been used already', 'h.not_invited': 'You are not a participant of this video mediation',
    'h.ended': 'This video mediation has ended', 'h.full': 'The video mediation is full', 's.ask_again': 'Ask the mediator to send a new invitation.',
    'h.removed': 'The mediator asked you to leave', 'h.replaced': 'You opened the video mediation on another page', 'h.left': 'You left the video mediation',
    'h.error': 'Something went wrong; try again shortly', 'again': 'Enter again',
    'nortc.title': 'This browser cannot make video calls', 'nortc.hint': 'Open this link in the phone\u2019s own browser, or Chrome or Edge on a computer, or take part by phone:',
    'nortc.call': 'Call in: {phone}', 'nocam': 'The camera would not open: joining with audio only',
    'net.connecting': 'Connecting…', 'net.reconnecting': 'Connection lost, reconnecting…', 'net.poor': 'Weak network: switched to audio only',
    'net.weak': 'Weak network: the picture may stutter', 'controls': 'Call controls',
    'mute': 'Mute', 'unmute': 'Unmute', 'camera_off': 'Camera off', 'camera_on': 'Camera on', 'switch': 'Switch camera',
    'switch.one': 'There is only one camera', 'leave': 'Leave', 'end': 'End this video mediation', 'people': 'In the room', 'remove': 'Remove',
    'me': ' (me)', 'st.in': 'online', 'st.muted': 'muted', 'st.camoff': 'camera off', 'st.audio': 'audio only', 'st.weak': 'weak network',
    'kind.host': 'Mediator', 'kind.party': 'Party', 'kind.department': 'Department', 'kind.operator': 'Command center', 'kind.observer': 'Observer',
    'removed.toast': 'Asked {who} to leave', 'inv.title': 'Invite someone', 'inv.party': 'Invite a party', 'inv.dept': 'Invite a department expert',
    'inv.party_hint': 'Invited: the party sees an "Enter the video mediation" button on their tracking page. You can also send them this link (one use, valid {min} minutes).',
    'inv.dept_hint': 'Send this link to the expert (one use, valid {min} minutes):'
  }
});

var seatToken = null, ice = null, ws = null, mesh = null, local = null, me = null, runsRoom = false;
var people = {}, tiles = {}, chain = Promise.resolve(), attempts = 0, refusals = 0, leaving = false, finished = false;
var muted = false, cameraOff = false, net = 'connecting', badSamples = 0, goodSamples = 0, linkWeak = false, fedStats = null;
var samples = [], lastSent = '';
var headlineKey = 'loading', sublineKey = '';
var LITE = new URLSearchParams(location.search).get('lite') === '1';
var observerHint = /observer=1/.test(location.hash), staffSeat = /seat=/.test(location.hash);

function setHead(h, s) {
  headlineKey = h; sublineKey = s || '';
  $('#headline').textContent = GD.t(h);
  $('#subline').textContent = sublineKey ? GD.t(sublineKey) : '';
}

function refusal(code) {
  var map = { invitation_expired: 'h.expired', invitation_used: 'h.used', not_invited: 'h.not_invited',
    session_ended: 'h.ended', session_full: 'h.full' };
  return map[code] || 'h.error';
}

function stop(h) {
  finished = true;
  leaving = true;
  if (ws) { try { ws.close(1000); } catch (e) { /* closing */ } ws = null; }
  if (mesh) mesh.closeAll();
  if (local) local.getTracks().forEach(function (t) { t.stop(); });
  local = null;
  $('#room').hidden = true;
  $('#intro-card').hidden = false;
  setNet('ok');
  var askAgain = ['h.expired', 'h.used', 'h.full', 'h.not_invited'].indexOf(h) >= 0;
  setHead(h, askAgain ? 's.ask_again' : '');
  var enter = $('#enter');
  enter.hidden = h !== 'h.left';
  enter.textContent = GD.t('again');
}

/** The seat token: from the invitation (used once, then kept in this tab), or the fragment. */
function takeSeat() {
  var m = location.pathname.match(/^\/v\/([A-Za-z0-9_-]{1,64})$/);
  if (m) {
    var key = 'gd.video.inv.' + m[1];
    var kept = sessionStorage.getItem(key);
    if (kept) return Promise.resolve(kept);
    return GD.api('POST', '/api/v1/video/join', { body: { invitation: m[1] } }).then(function (r) {
      if (!r.ok) throw r;
      sessionStorage.setItem(key, r.body.seat_token);
      return r.body.seat_token;
    });
  }
  var h = location.hash.match(/seat=([^&]+)/);
  if (h) {
    var token = decodeURIComponent(h[1]);
    sessionStorage.setItem('gd.video.seat', token);
    history.replaceState(null, '', location.pathname + location.search);
    return Promise.resolve(token);
  }
  var saved = sessionStorage.getItem('gd.video.seat');
  return saved ? Promise.resolve(saved) : Promise.reject({ code: 'not_invited' });
}

function fetchIce() {
  return GD.api('POST', '/api/v1/video/ice', { body: { seat_token: seatToken } }).then(function (r) {
    if (!r.ok) throw r;
    ice = r.body;
    return { iceServers: ice.ice_servers, iceTransportPolicy: ice.ice_transport_policy };
  });
}

function canRtc() {
  return !!(window.RTCPeerConnection && navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
}

function showPhone() {
  $('#intro-card').hidden = true;
  $('#phone-card').hidden = false;
  var meta = document.querySelector('meta[name=gd-video-phone]');
  var phone = (ice && ice.fallback_phone) || (meta && meta.content) || '';
  var a = $('#fallback-call');
  if (phone) {
    a.hidden = false;
    a.href = 'tel:' + phone.replace(/[^0-9+]/g, '');
    a.textContent = GD.t('nortc.call', { phone: phone });
  }
}

// ---- media ------------------------------------------------------------------------------
function openMedia() {
  var audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  // `?lite=1`: a low-bandwidth room (village links, tests on small machines): 320×180 at 10 fps.
  var video = LITE
    ? { facingMode: 'user', width: { ideal: 320 }, height: { ideal: 180 }, frameRate: { ideal: 10, max: 10 } }
    : { facingMode: 'user', width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 15, max: 20 } };
  return navigator.mediaDevices.getUserMedia({ audio: audio, video: video }).catch(function () {
    GD.toast(GD.t('nocam'), 'error');
    cameraOff = true;
    return navigator.mediaDevices.getUserMedia({ audio: audio });
  });
}

function tileFor(id, label, isMe) {
  if (tiles[id]) return tiles[id];
  var video = GD.el('video', { autoplay: '', playsinline: '' });
  video.playsInline = true;
  if (isMe) video.muted = true;
  var name = GD.el('span', { class: 'name', text: label + (isMe ? GD.t('me') : '') });
  var flags = GD.el('span', { class: 'flags' });
  var tile = GD.el('div', { class: 'tile' + (isMe ? ' me' : '') }, [video, name, flags]);
  tile.dataset.seat = id;
  $('#tiles').appendChild(tile);
  tiles[id] = { tile: tile, video: video, flags: flags };
  return tiles[id];
}

function dropTile(id) {
  if (tiles[id]) { tiles[id].tile.remove(); delete tiles[id]; }
}

// ---- people -----------------------------------------------------------------------------
function renderPeople() {
  var list = $('#people');
  list.textContent = '';
  Object.keys(people).forEach(function (id) {
    var p = people[id];
    var st = [GD.t('st.in')];
    if (p.muted) st.push(GD.t('st.muted'));
    if (p.camera_off) st.push(GD.t('st.camoff'));
    if (p.audio_only) st.push(GD.t('st.audio'));
    if (p.network === 'weak') st.push(GD.t('st.weak'));
    var row = GD.el('li', {}, [
      // The kind only when the label does not already say it (“当事人” is a party).
      GD.el('span', { class: 'who', text: p.label + (id === me.id ? GD.t('me') : '') +
        (p.label.indexOf(GD.t('kind.' + p.kind)) === 0 ? '' : ' · ' + GD.t('kind.' + p.kind)) }),
      GD.el('span', { class: 'st', text: st.join('，') })
    ]);
    if (runsRoom && id !== me.id) {
      var b = GD.el('button', { type: 'button', class: 'remove', text: GD.t('remove') });
      b.addEventListener('click', function () {
        send({ type: 'remove', id: id });
        GD.toast(GD.t('removed.toast', { who: p.label }));
      });
      row.appendChild(b);
    }
    list.appendChild(row);
    var t = tiles[id];
    if (t) {
      t.flags.textContent = '';
      st.slice(1).forEach(function (s) { t.flags.appendChild(GD.el('span', { class: 'flag', text: s })); });
      // No picture coming (audio only, camera off): say so on the tile instead of a black box.
      var dark = id !== me.id && !!(p.audio_only || p.camera_off);
      if (dark && !t.cover) { t.cover = GD.el('div', { class: 'novideo' }); t.tile.insertBefore(t.cover, t.tile.children[1]); }
      if (t.cover) { t.cover.hidden = !dark; t.cover.textContent = dark ? GD.t(p.camera_off ? 'st.camoff' : 'st.audio') : ''; }
    }
  });
}

// ---- network state ----------------------------------------------------------------------
function setNet(state) {
  net = state;
  var bar = $('#netbar');
  bar.hidden = state === 'ok';
  bar.classList.toggle('bad', state === 'reconnecting');
  if (state !== 'ok') bar.textContent = GD.t('net.' + state);
  document.body.dataset.net = state;
}

/** The bar's state: the socket and every connection (ICE) first, then the measured quality. */
function peerStates() {
  if (!ws || ws.readyState !== 1) return setNet('reconnecting');
  var states = Object.keys(people).filter(function (id) { return id !== me.id; }).map(function (id) { return people[id].pc; });
  if (states.some(function (s) { return s === 'disconnected' || s === 'failed'; })) return setNet('reconnecting');
  if (states.some(function (s) { return s !== 'connected'; })) return setNet('connecting');
  setNet(mesh && mesh.audioOnly ? 'poor' : linkWeak ? 'weak' : 'ok');
  // The others hear of every change, whichever event brought it.
  if (JSON.stringify(myState()) !== lastSent) sendState();
}

function myState() {
  var weak = net === 'poor' || net === 'weak';
  return { type: 'state', muted: muted, camera_off: cameraOff, audio_only: !!(mesh && mesh.audioOnly), network: weak ? 'weak' : 'ok' };
}

function sendState() {
  var state = myState();
  if (ws && ws.readyState === 1) lastSent = JSON.stringify(state);
  send(state);
}

/** Every 2 s: read the stats (the tests' fed figures laid over them) and judge them; three bad
 *  samples in a row → audio only (video stops going out); fifteen good ones → video again. */
function sample() {
  if (!mesh || finished) return;
  mesh.report().then(function (reports) {
    if (fedStats) reports = reports.map(function (r) { return Object.assign({}, r, fedStats); });
    window.__video.last = reports;
    samples = samples.concat([reports]).slice(-3);
    var verdicts = reports.map(mesh.quality);
    var bad = verdicts.indexOf('bad') >= 0;
    linkWeak = bad || verdicts.indexOf('weak') >= 0;
    if (bad) { badSamples++; goodSamples = 0; } else { goodSamples++; badSamples = 0; }
    if (!mesh.audioOnly && badSamples >= 3 && local) {
      mesh.setAudioOnly(true);
    } else if (mesh.audioOnly && goodSamples >= 15) {
      mesh.setAudioOnly(false);
    }
    peerStates();
  });
}

/** Show “switch camera” only with a second camera to switch to. */
function countCameras() {
  var button = $('#switch');
  if (!local || !local.getVideoTracks().length || !navigator.mediaDevices.enumerateDevices) { button.hidden = true; return Promise.resolve(0); }
  return navigator.mediaDevices.enumerateDevices().then(function (devices) {
    var cams = devices.filter(function (d) { return d.kind === 'videoinput'; }).length;
    button.hidden = cams < 2;
    return cams;
  }, function () { button.hidden = true; return 0; });
}

// ---- the socket -------------------------------------------------------------------------
function send(obj) {
  if (ws && ws.readyState === 1) ws.send(JSON.stringify(obj));
}

function connect() {
  if (finished) return;
  var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/api/v1/video/ws?seat=' + encodeURIComponent(seatToken);
  var opened = false;
  ws = new WebSocket(url);
  ws.onopen = function () { opened = true; attempts = 0; refusals = 0; };
  ws.onmessage = function (ev) {
    var msg;
    try { msg = JSON.parse(ev.data); } catch (e) { return; }
    chain = chain.then(function () { return onMessage(msg); }).catch(function (e) { console.warn('room message failed', e); });
  };
  ws.onclose = function (ev) {
    ws = null;
    if (finished || leaving) return;
    if (ev.code === 4410) return stop('h.removed');
    if (ev.code === 4411) return stop('h.ended');
    if (ev.code === 4409) return stop('h.replaced');
    setNet('reconnecting');
    if (!opened && ++refusals >= 3) {
      // Refused before opening three times: ask over HTTP whether this seat still works.
      fetchIce().then(function () { schedule(); }, function (r) { if (r.status === 403 || r.status === 410) stop(refusal(r.code)); else schedule(); });
      return;
    }
    schedule();
  };
}

function schedule() {
  var base = Math.min(15000, 500 * Math.pow(2, attempts++));
  setTimeout(connect, base / 2 + Math.random() * base / 2);
}

function onMessage(msg) {
  switch (msg.type) {
    case 'welcome':
      // First open, or back after a reconnect: rebuild every connection.
      me = msg.you;
      runsRoom = !!msg.runs_room;
      $('#end').hidden = !runsRoom;
      $('#invite-card').hidden = !runsRoom;
      var ready = (me.kind !== 'observer' && !local) ? openMedia().then(function (s) { local = s; }) : Promise.resolve();
      return ready.then(function () {
        if (mesh) mesh.closeAll();
        Object.keys(tiles).forEach(function (id) { if (id !== me.id) dropTile(id); });
        mesh = new Mesh({
          me: me.id, config: mesh ? mesh.config : window.__video.config, local: local, send: send,
          freshConfig: fetchIce,
          onTrack: function (id, stream) {
            var p = people[id] || { label: '' }, isNew = !tiles[id];
            var t = tileFor(id, p.label, false);
            if (t.video.srcObject !== stream) { t.video.srcObject = stream; t.video.play().catch(function () { /* after a tap */ }); }
            if (isNew) renderPeople();
          },
          onState: function (id, state) { if (people[id]) { people[id].pc = state; peerStates(); } }
        });
        if (cameraOff && local) local.getVideoTracks().forEach(function (t) { t.enabled = false; });
        people = {};
        people[me.id] = Object.assign({}, me, { muted: muted, camera_off: cameraOff });
        if (local) {
          var mine = tileFor(me.id, me.label, true);
          mine.video.srcObject = local;
          mine.video.play().catch(function () { /* muted: plays */ });
        }
        msg.peers.forEach(function (p) { people[p.id] = Object.assign({ pc: 'new' }, p); mesh.add(p.id); });
        $('#intro-card').hidden = true;
        $('#room').hidden = false;
        // An observer only watches: nothing of theirs to mute or switch.
        ['#mute', '#camera'].forEach(function (sel) { $(sel).hidden = !local; });
        countCameras();
        renderPeople();
        peerStates();
        sendState();
      });
    case 'joined':
      // They offer to us; a connection left from their previous visit is stale.
      people[msg.peer.id] = Object.assign({ pc: 'new' }, msg.peer);
      if (mesh) mesh.remove(msg.peer.id);
      renderPeople();
      peerStates();
      sendState();
      return null;
    case 'left':
      delete people[msg.id];
      if (mesh) mesh.remove(msg.id);
      dropTile(msg.id);
      renderPeople();
      peerStates();
      return null;
    case 'signal':
      return mesh ? mesh.signal(msg) : null;
    case 'state':
      if (people[msg.from]) {
        ['muted', 'camera_off', 'audio_only', 'network'].forEach(function (k) { people[msg.from][k] = msg[k]; });
        renderPeople();
      }
      return null;
    case 'invited': {
      var min = Math.max(1, Math.round((Date.parse(msg.expires_at) - Date.now()) / 60000));
      var hint = $('#invite-hint');
      hint.dataset.key = msg.kind === 'party' ? 'inv.party_hint' : 'inv.dept_hint';
      hint.dataset.min = String(min);
      hint.textContent = GD.t(hint.dataset.key, { min: min });
      var input = $('#invite-link');
      input.hidden = false;
      input.value = location.origin + msg.link;
      input.select();
      return null;
    }
    case 'error':
      GD.toast(msg.message, 'error');
      return null;
    default:
      return null;
  }
}

// ---- controls ---------------------------------------------------------------------------
function wireControls() {
  $('#mute').addEventListener('click', function () {
    muted = !muted;
    if (local) local.getAudioTracks().forEach(function (t) { t.enabled = !muted; });
    this.setAttribute('aria-pressed', String(muted));
    this.textContent = GD.t(muted ? 'unmute' : 'mute');
    if (people[me.id]) people[me.id].muted = muted;
    renderPeople();
    sendState();
  });
  $('#camera').addEventListener('click', function () {
    cameraOff = !cameraOff;
    if (local) local.getVideoTracks().forEach(function (t) { t.enabled = !cameraOff; });
    this.setAttribute('aria-pressed', String(cameraOff));
    this.textContent = GD.t(cameraOff ? 'camera_on' : 'camera_off');
    if (people[me.id]) people[me.id].camera_off = cameraOff;
    renderPeople();
    sendState();
  });
  $('#switch').addEventListener('click', function () {
    if (!local) return;
    navigator.mediaDevices.enumerateDevices().then(function (devices) {
      var cams = devices.filter(function (d) { return d.kind === 'videoinput'; });
      var current = local.getVideoTracks()[0];
      var at = current ? cams.findIndex(function (d) { return d.deviceId === current.getSettings().deviceId; }) : -1;
      if (cams.length < 2) { GD.toast(GD.t('switch.one')); return null; }
      var next = cams[(at + 1) % cams.length];
      var size = LITE ? { width: { ideal: 320 }, height: { ideal: 180 } } : { width: { ideal: 640 }, height: { ideal: 360 } };
      return navigator.mediaDevices.getUserMedia({ video: Object.assign({ deviceId: { exact: next.deviceId } }, size) })
        .then(function (s) {
          var track = s.getVideoTracks()[0];
          track.enabled = !cameraOff;
          mesh.replaceVideo(track);
          if (current) { local.removeTrack(current); current.stop(); }
          local.addTrack(track);
        });
    }).catch(function () { GD.toast(GD.t('nocam'), 'error'); });
  });
  $('#leave').addEventListener('click', function () { stop('h.left'); });
  $('#end').addEventListener('click', function () { send({ type: 'end' }); });
  $('#invite-party').addEventListener('click', function () { send({ type: 'invite', kind: 'party' }); });
  $('#invite-dept').addEventListener('click', function () { send({ type: 'invite', kind: 'department' }); });
  $('#enter').addEventListener('click', function () {
    this.hidden = true;
    if (finished) { finished = false; leaving = false; }
    setNet('connecting');
    connect();
  });
  GD.onLang(function () {
    setHead(headlineKey, sublineKey);
    if (!$('#room').hidden) renderPeople();
    if (net !== 'ok') setNet(net);
    var hint = $('#invite-hint');
    if (hint.dataset.key) hint.textContent = GD.t(hint.dataset.key, { min: hint.dataset.min });
  });
}

/** For the tests: the last samples, state, the cameras counted, and figures laid over the
 *  measured stats (e.g. {outKbps: 80}: the same judging and switching as a real weak link). */
window.__video = {
  config: null,
  report: function () { return mesh ? mesh.report() : Promise.resolve([]); },
  history: function () { return samples; },
  state: function () {
    var cam = local && local.getVideoTracks()[0];
    return { net: net, audioOnly: !!(mesh && mesh.audioOnly), me: me, people: Object.keys(people),
      camera: cam ? cam.getSettings().deviceId : null };
  },
  cameras: countCameras,
  feedStats: function (figures) { fedStats = figures || null; }
};

document.addEventListener('DOMContentLoaded', function () {
  wireControls();
  if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) navigator.mediaDevices.addEventListener('devicechange', countCameras);
  // Before the invitation is spent: a browser that cannot take part keeps it for another one.
  if (!canRtc()) { showPhone(); return; }
  takeSeat().then(function (token) {
    seatToken = token;
    return fetchIce();
  }).then(function (config) {
    window.__video.config = config;
    var who = observerHint ? 'observer' : staffSeat ? 'staff' : 'invited';
    setHead('h.' + who, 's.' + who);
    $('#enter').hidden = false;
    setInterval(sample, 2000);
    return null;
  }).catch(function (r) {
    setHead(refusal(r && r.code));
    $('#no-record').hidden = true;
  });
});
