// (issue 18) English is complete and nothing overflows a 360 px phone: each phone page is opened
// in Chinese, switched with its toggle, and must then show no Chinese but what people typed
// (names, descriptions, places), including categories, errors and toasts; in both languages the
// document is no wider than the screen (`scrollWidth <= clientWidth`: `innerWidth` grows with an
// overflowing page on a phone-sized browser, so it cannot be the reference).
// usage: node english_360.mjs <base> <setup JSON>
import { context, scenario, shot, PHONE, WAIT_MS } from './lib.mjs';

const [base, setupJson] = process.argv.slice(2);
const setup = JSON.parse(setupJson);
const SMALL = { ...PHONE, viewport: { width: 360, height: 740 } };
const CJK = /[\u3400-\u9fff\uff01-\uff5e\u3000-\u303f]/;

/** The page's visible text without what people typed, which stays as typed. */
async function foreignText(page) {
  const text = await page.evaluate(() => document.body.innerText);
  let rest = text;
  // …and the toggle, which names the other language in that language.
  for (const s of [...setup.typed, '中文']) rest = rest.split(s).join(' ');
  return rest.split('\n').filter((l) => CJK.test(l));
}

async function fits(page, label) {
  await page.evaluate(() => document.fonts && document.fonts.ready);
  const m = await page.evaluate(() => {
    const d = document.documentElement;
    const wide = [...document.querySelectorAll('body *')].filter((e) => {
      const r = e.getBoundingClientRect();
      return r.width > 0 && (r.right > d.clientWidth + 0.5 || r.left < -0.5);
    }).slice(0, 5).map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`);
    return { scroll: d.scrollWidth, client: d.clientWidth, wide };
  });
  if (m.scroll > m.client) throw new Error(`${label} overflows: scrollWidth ${m.scroll} > clientWidth ${m.client}: ${m.wide.join(', ')}`);
}

/** Open in Chinese, check; toggle to English, check text and width, screenshot; toggle back. */
async function both(page, label, ready) {
  await ready();
  await fits(page, `${label} (zh)`);
  await page.locator('#lang-toggle').click();
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  await ready();
  const left = await foreignText(page);
  if (left.length) throw new Error(`${label}: Chinese left after the toggle: ${JSON.stringify(left)}`);
  await fits(page, `${label} (en)`);
  await shot(page, `en-360-${label}`, { fullPage: true });
  await page.locator('#lang-toggle').click();
  await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
  console.log(`ok: ${label} in English, and within 360 px in both languages`);
}

await scenario('english-360', async (browser, errors) => {
  const ctx = await context(browser, errors, SMALL);

  // The report form from a known scene; an error shown in Chinese turns English on the toggle.
  const form = await ctx.newPage();
  await form.goto(`${base}/r/${encodeURIComponent(setup.scene)}`);
  await form.getByRole('button', { name: '提交上报' }).click();
  await form.getByText('请先点选上面的一项').waitFor({ timeout: WAIT_MS });
  await both(form, 'report-form', async () => form.locator('#cats button').first().waitFor());
  // An unknown scene: the map and the address field.
  await form.goto(`${base}/r/${encodeURIComponent(setup.unknown_scene)}`);
  await both(form, 'report-form-unknown-scene', async () => form.locator('.pick-pin').waitFor());

  // Tracking: resolved (the rating form), and with the command center (its phone, the texts).
  const track = await ctx.newPage();
  await track.goto(`${base}/t/${setup.resolved_token}`);
  await track.getByRole('button', { name: '提交评价' }).click();
  await track.getByText('请点一颗星，告诉我们您满不满意').waitFor({ timeout: WAIT_MS });
  await both(track, 'tracking-rating', async () => track.locator('#feedback-card:not([hidden])').waitFor());
  await track.goto(`${base}/t/${setup.escalated_token}`);
  await both(track, 'tracking-escalated', async () => track.locator('#center-card:not([hidden])').waitFor());

  // The mediator: an offer and a job on site; a toast in Chinese is re-written on the toggle.
  const med = await ctx.newPage();
  await med.goto(`${base}/m?token=${encodeURIComponent(setup.mediator_token)}`);
  await med.locator('article.job').first().waitFor({ timeout: WAIT_MS });
  await med.locator('article.offer').first().waitFor({ timeout: WAIT_MS });
  await med.locator('article.job').getByRole('button', { name: '办结' }).click();
  await med.getByText('请选择调解结果').waitFor({ timeout: WAIT_MS });
  await both(med, 'mediator', async () => {
    await med.locator('article.offer').first().waitFor();
    const [lang, toast] = await med.evaluate(() => [document.documentElement.lang, document.querySelector('#toast').textContent]);
    if (lang === 'en' && toast !== 'Pick an outcome') throw new Error(`the toast was not re-translated: ${toast}`);
  });
});
