// `grid-dispatch demo`'s printed operator link shows the live district at once: incidents in
// the work list, mediators on the map, the district's streets; an operator whose area does not
// exist gets a banner saying so instead of a silent empty screen.
// usage: node demo_link.mjs <base> <demo_operator_token> <lost_operator_token>
import { context, scenario, shot } from './lib.mjs';

const [base, opToken, lostToken] = process.argv.slice(2);
const FIVE_S = { timeout: 5000 };

await scenario('demo-link', async (browser, errors) => {
  const ctx = await context(browser, errors, { viewport: { width: 1920, height: 1080 } });
  const page = await ctx.newPage();
  const opened = Date.now();
  await page.goto(`${base}/?token=${encodeURIComponent(opToken)}`);
  // Within 5 s of opening the link: incidents listed, mediators drawn, the district's names.
  await page.waitForFunction(() => {
    const n = ['escalated', 'dispatching', 'claimed', 'on_site'].reduce((a, t) => a + Number(document.querySelector(`#n-${t}`).textContent), 0);
    return n > 0 && window.gdCommand.mediators.size > 0 && Number(document.querySelector('#c-duty').textContent) > 0
      && document.querySelectorAll('#q-escalated .item, #q-dispatching .item').length > 0;
  }, null, FIVE_S);
  await page.waitForFunction(() => document.querySelector('#crumbs').textContent.includes('城中区')
    && document.querySelectorAll('.area-label').length >= 4, null, FIVE_S);
  const took = Date.now() - opened;
  const seen = await page.evaluate(() => ({
    mediators: window.gdCommand.mediators.size,
    incidents: window.gdCommand.incidents.size,
    duty: document.querySelector('#c-duty').textContent,
    banner: !document.querySelector('#area-banner').hidden,
    labels: [...document.querySelectorAll('.area-label')].map((e) => e.textContent),
  }));
  if (seen.banner) throw new Error('the demo operator gets the unknown-area banner');
  console.log(`ok: the demo link shows ${seen.incidents} incidents and ${seen.mediators} mediators within ${took} ms (streets: ${seen.labels.join('、')})`);
  await page.waitForTimeout(1500); // let the first moves draw before the picture
  await shot(page, 'command-demo');

  // An operator whose area does not exist: the banner, in Chinese and in English.
  const lost = await (await context(browser, errors, { viewport: { width: 1920, height: 1080 } })).newPage();
  await lost.goto(`${base}/?token=${encodeURIComponent(lostToken)}`);
  await lost.waitForSelector('#area-banner:not([hidden])', FIVE_S);
  const text = await lost.locator('#area-banner').innerText();
  if (!text.includes('不存在') || !text.includes('城中区')) throw new Error(`banner: ${text}`);
  console.log(`ok: an unknown area is said: ${text}`);
  await shot(lost, 'command-unknown-area');
  await lost.click('#lang-toggle');
  await lost.waitForFunction(() => /does not exist/.test(document.querySelector('#area-banner').textContent), null, FIVE_S);
  console.log('ok: the banner has English');
});
