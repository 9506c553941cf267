// (issue 20) Every party's own copy, on 360 px phones: the holder's case page lists each party's
// link with a QR code and "texted"; the party's link opens their copy (PDF) and the dates ahead
// in plain Chinese, English on the toggle; a made-up link says plainly it does not open.
// usage: node casefile_links.mjs <base> <mediator token> <incident id> <party link token>
import { context, scenario, shot, PHONE, WAIT_MS } from './lib.mjs';

const [base, token, id, link] = process.argv.slice(2);
const SMALL = { ...PHONE, viewport: { width: 360, height: 740 } };

async function fits(page, label) {
  const m = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
  if (m.scroll > m.client) throw new Error(`${label} overflows 360 px: ${m.scroll} > ${m.client}`);
}

await scenario('casefile-links', async (browser, errors) => {
  const ctx = await context(browser, errors, SMALL);
  const holder = await ctx.newPage();
  await holder.goto(`${base}/m/case/${encodeURIComponent(id)}?token=${encodeURIComponent(token)}`);
  await holder.locator('#links').waitFor({ state: 'visible', timeout: WAIT_MS });
  await holder.locator('.party-link .texted', { hasText: '短信已发送' }).nth(1).waitFor({ timeout: WAIT_MS });
  const cards = await holder.locator('.party-link').count();
  if (cards !== 2) throw new Error(`expected two parties' links, saw ${cards}`);
  const qr = await holder.locator('.party-link img.qr').first().evaluate((img) => img.complete && img.naturalWidth > 0);
  if (!qr) throw new Error('the QR code did not render');
  await fits(holder, 'the holder\u2019s links');
  await holder.locator('#links').scrollIntoViewIfNeeded();
  await shot(holder, 'casefile-phone-party-links');
  console.log('ok: the holder sees both links texted, with QR codes');

  const party = await ctx.newPage();
  await party.goto(`${base}/p/${link}`);
  await party.locator('#copy-card').waitFor({ state: 'visible', timeout: WAIT_MS });
  const head = await party.locator('#headline').innerText();
  if (!head.includes('张三')) throw new Error(`not the party's own page: ${head}`);
  const dates = await party.locator('#dates').innerText();
  for (const want of ['2099年1月15日 前履行协议', '当面付清现金', '前可以一起申请司法确认']) {
    if (!dates.includes(want)) throw new Error(`missing "${want}" in the dates: ${dates}`);
  }
  const zh = await party.locator('main').innerText();
  if (/\b[a-z]{1,6}\.[a-z_]{2,}\b/.test(zh)) throw new Error(`an untranslated key shows: ${zh}`);
  const href = await party.locator('#copy-pdf').getAttribute('href');
  const pdf = await party.request.get(new URL(href, base).toString());
  if (pdf.status() !== 200 || pdf.headers()['content-type'] !== 'application/pdf') throw new Error(`the PDF: ${pdf.status()}`);
  await fits(party, 'the party page');
  await shot(party, 'party-copy-360', { fullPage: true });
  console.log('ok: the party copy at 360 px, with the PDF and the dates');

  await party.locator('#lang-toggle').click();
  await party.locator('#headline', { hasText: 'Hello, 张三' }).waitFor({ timeout: WAIT_MS });
  const en = await party.locator('main').innerText();
  if (/[\u4e00-\u9fff]/.test(en.replace(/张三|李四|当面付清现金|南关街社区调解室|人民调解委员会|申请人/g, ''))) {
    throw new Error(`Chinese left in English: ${en}`);
  }
  if (/\b[a-z]{1,6}\.[a-z_]{2,}\b/.test(en)) throw new Error(`an untranslated key shows: ${en}`);
  await fits(party, 'the party page in English');
  await shot(party, 'party-copy-360-en', { fullPage: true });
  console.log('ok: english on the toggle');

  await party.locator('#lang-toggle').click();
  await party.locator('#headline', { hasText: '张三，您好' }).waitFor({ timeout: WAIT_MS });

  const bad = await ctx.newPage();
  await bad.goto(`${base}/p/${id}.p1.not-the-secret`);
  await bad.locator('#headline', { hasText: '这个链接打不开' }).waitFor({ timeout: WAIT_MS });
  await shot(bad, 'party-copy-360-bad-link');
  console.log('ok: a bad link says it does not open');
});
