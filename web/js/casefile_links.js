// Each party's own link on the holder's phone, once the agreement is in effect: the link, a QR
// code to show on the phone for the party to scan, whether the text with it went out, and
// "send a new link" (the old one stops working). Mounted by casefile.js, refreshed with it.
import { GD, $ } from './common.js';

GD.strings({
  zh: {
    'links.title': '当事人的协议书链接', 'links.hint': '每位当事人（报告人除外，他用进度链接）有自己的链接，可以查看、下载协议书和后续日期。请当事人扫码，或发短信给他。',
    'links.texted': '短信已发送（{t}）', 'links.not_texted': '没有发出短信（没有手机号或短信未开通）', 'links.until': '{d} 前有效',
    'links.reissue': '换新链接并发短信', 'links.reissued': '已换新链接，旧链接不能再用', 'links.qr': '{name} 的协议书链接二维码'
  },
  en: {
    'links.title': 'Parties\u2019 links to their copy', 'links.hint': 'Each party (but the reporter, who has the tracking link) has their own link to read and download the agreement and the dates ahead. Let them scan it, or text it.',
    'links.texted': 'Texted ({t})', 'links.not_texted': 'Not texted (no phone, or texts are off)', 'links.until': 'Works until {d}',
    'links.reissue': 'New link, and text it', 'links.reissued': 'New link issued; the old one no longer works', 'links.qr': 'QR code of {name}\u2019s link'
  }
});

/** Mount the links card; returns the function that reloads it with the case file `c`. */
export function mountLinks(base, call, partyName) {
  var card = $('#links');
  function render(links) {
    var list = $('#links-list');
    list.replaceChildren();
    links.forEach(function (l) {
      var name = partyName(l.party_id);
      list.appendChild(GD.el('div', { class: 'item party-link', dataset: { party: l.party_id } }, [
        GD.el('strong', { text: name }),
        GD.el('img', { class: 'qr', alt: GD.t('links.qr', { name: name }), width: 200, height: 200,
          src: 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(l.qr_svg) }),
        GD.el('p', { class: 'link-url', text: l.url }),
        GD.el('p', { class: l.texted_at ? 'state effective texted' : 'muted texted',
          text: l.texted_at ? GD.t('links.texted', { t: GD.fmtShort(l.texted_at) }) : GD.t('links.not_texted') }),
        GD.el('p', { class: 'muted', text: GD.t('links.until', { d: l.expires_at.slice(0, 10) }) }),
        GD.el('button', { type: 'button', class: 'big ghost', text: GD.t('links.reissue'), onclick: function () {
          call('POST', base + '/parties/' + encodeURIComponent(l.party_id) + '/link', {}).then(function (r) {
            if (r.ok) { GD.toast(GD.t('links.reissued')); refresh(true); }
          });
        } })
      ]));
    });
  }
  function refresh(inEffect) {
    card.hidden = !inEffect;
    if (!inEffect) return Promise.resolve();
    return call('GET', base + '/links').then(function (r) { if (r.ok) render(r.body); });
  }
  return refresh;
}
