// The tracking page's video invitation (issue #22): when the mediator invites the parties to a
// video mediation, a big green button appears that opens the room (the link works once).
// Checked on load and every 10 s while the page is visible.
import { GD, $ } from './common.js';

GD.strings({
  zh: { 'v.title': '视频调解', 'v.hint': '调解员邀请您参加视频调解，不用下载软件。点下面的按钮进入：', 'v.enter': '进入视频调解' },
  en: { 'v.title': 'Video mediation', 'v.hint': 'The mediator invites you to a video mediation; nothing to install. Tap to enter:', 'v.enter': 'Enter the video mediation' }
});

var token = decodeURIComponent(location.pathname.split('/')[2] || '');
var CHECK_MS = 10000;

function check() {
  if (document.hidden) return;
  GD.api('GET', '/api/v1/video/track/' + encodeURIComponent(token)).then(function (r) {
    var link = r.ok && r.body && r.body.link;
    $('#video-card').hidden = !link;
    if (link) $('#video-enter').href = link;
  });
}

document.addEventListener('DOMContentLoaded', function () {
  check();
  setInterval(check, CHECK_MS);
  document.addEventListener('visibilitychange', check);
});
