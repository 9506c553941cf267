// (e) Names and free text from the server are text on every page, never markup: a scene, a
// district, a street and a mediator named with a meta refresh and an inline handler (put in the
// store: the API refuses such names), and a description, a supervision note and a resident's
// comment holding the same (the API accepts free text as it is). No page navigates, no script
// runs (the CSP would report it as a page error), and the literal text is shown: the resident
// form, the mediator's offer and job cards, the command center (queue, breadcrumb, map labels,
// the mediator's map tooltip, the incident panel) and the tracking page with its map tooltip.
// usage: node names_are_text.mjs <base> <setup JSON from tests/browser.rs>
import { api, context, scenario, shot, PHONE, WAIT_MS } from './lib.mjs';

const [base, setupJson] = process.argv.slice(2);
const s = JSON.parse(setupJson);
const med = s.mediator;

/** Watch a page once loaded: any navigation, request for an `/evil-` URL or inserted markup fails it. */
async function guard(page, name, errors) {
  const navigations = [];
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations.push(f.url()); });
  page.on('request', (r) => { if (/\/evil-/.test(r.url())) errors.push(`${name} requested ${r.url()}`); });
  await page.evaluate(() => { window.__sameDocument = true; })
    .catch((e) => { throw new Error(`${name} navigated as it loaded: ${e.message}`); });
  return async () => {
    if (navigations.length) throw new Error(`${name} navigated to ${navigations.join(', ')}`);
    const state = await page.evaluate(() => ({
      same: window.__sameDocument === true,
      planted: document.querySelectorAll('meta[http-equiv], img[src="x"]').length,
    }));
    if (!state.same) throw new Error(`${name} was reloaded`);
    if (state.planted) throw new Error(`${name}: ${state.planted} element(s) made from data`);
  };
}

/** Wait until `selector`'s text contains every one of `texts`, literally. */
async function shows(page, selector, texts) {
  await page.waitForFunction(([sel, want]) => {
    const el = document.querySelector(sel);
    return el && want.every((t) => el.textContent.includes(t));
  }, [selector, texts], { timeout: WAIT_MS }).catch(async (e) => {
    const got = await page.evaluate((sel) => document.querySelector(sel)?.textContent ?? '(missing)', selector);
    throw new Error(`${selector} does not show ${JSON.stringify(texts)}: ${got} (${e.message})`);
  });
}

await scenario('names-are-text', async (browser, errors) => {
  const checks = [];
  const phone = await context(browser, errors, PHONE);

  // The resident form of the scene: its name in words.
  const form = await phone.newPage();
  await form.goto(`${base}/r/${encodeURIComponent(s.scene.id)}`);
  checks.push(await guard(form, 'resident form', errors));
  await shows(form, '#place-text strong', [s.scene.name]);
  await shot(form, 'names-resident-form');
  console.log('ok: literal text on the resident form');

  const report = await api(base, 'POST', '/api/v1/reports', {
    body: { scene: s.scene.id, category: 'neighbor', description: s.description, phone: '13812345678' },
  });

  // The mediator's phone: the offer card.
  const mediator = await (await context(browser, errors, PHONE)).newPage();
  await mediator.goto(`${base}/m?token=${encodeURIComponent(med.token)}`);
  checks.push(await guard(mediator, 'mediator phone', errors));
  const offer = `article.offer[data-id="${report.id}"]`;
  await shows(mediator, `${offer} .desc`, [s.description]);
  await shot(mediator, 'names-mediator-offer', { fullPage: true });
  console.log('ok: literal text on the mediator offer');

  // The command center: queue, breadcrumb, area label, the mediator's tooltip, the panel.
  const screen = await (await context(browser, errors, { viewport: { width: 1920, height: 1080 } })).newPage();
  await screen.goto(`${base}/?token=${encodeURIComponent(s.operator)}`);
  await screen.waitForSelector('#link-state[data-state="open"]', { timeout: WAIT_MS });
  checks.push(await guard(screen, 'command center', errors));
  await screen.evaluate(() => window.gdCommand.tab('dispatching'));
  const item = `#q-dispatching [data-id="${report.id}"]`;
  await shows(screen, `${item} .sub`, [s.description]);
  await shows(screen, '#crumbs', [s.district]);
  await shows(screen, '.area-label', [s.street]);
  await screen.waitForFunction((m) => window.gdCommand.names[m.id] === m.name && window.gdCommand.mediators.has(m.id), med, { timeout: WAIT_MS });
  await screen.evaluate((id) => window.gdCommand.showMediator(id), med.id);
  await shows(screen, '.leaflet-tooltip.med-name', [med.name]);
  await screen.click(item);
  await shows(screen, '#panel .desc', [s.description]);
  await shows(screen, '#panel .nearest', [med.name]);
  await shows(screen, '#panel .where', [s.district, s.street]);
  await screen.fill('#sup-note', s.note);
  await screen.click('#sup-send');
  await shows(screen, '#panel .supervision', [s.note]);
  await shows(screen, '#panel ol.timeline', [s.note]);
  await shot(screen, 'names-command-center');
  console.log('ok: literal text on the command center');

  // The mediator accepts: the job card carries the order.
  await mediator.locator(offer).getByRole('button', { name: '接单' }).click();
  const job = `article.job[data-id="${report.id}"]`;
  await shows(mediator, `${job} .desc`, [s.description]);
  await shows(mediator, `${job} .supervision`, [s.note]);
  await shot(mediator, 'names-mediator-job', { fullPage: true });
  console.log('ok: literal text on the mediator job');

  // The resident's tracking page: the mediator's name in words and on the map.
  const track = await phone.newPage();
  await track.goto(`${base}/t/${encodeURIComponent(report.tracking_token)}`);
  checks.push(await guard(track, 'tracking page', errors));
  await shows(track, '#headline', [med.name]);
  await shows(track, '#mediator-name', [med.name]);
  await shows(track, '#track-map .leaflet-tooltip', [med.name]);
  await shows(track, '#report-summary', [s.description]);
  await shot(track, 'names-tracking', { fullPage: true });
  console.log('ok: literal text on the tracking page');

  // Closed, and rated with a comment: the operator's panel shows it.
  const path = `/api/v1/mediator/incidents/${report.id}`;
  await api(base, 'POST', `${path}/arrive`, { token: med.token, body: {} });
  await api(base, 'POST', `${path}/resolve`, { token: med.token, body: { outcome: 'mediated', note: s.note } });
  await track.locator('#feedback-card:not([hidden])').waitFor({ timeout: WAIT_MS });
  await track.getByRole('button', { name: /^4 颗星/ }).click();
  await track.click('#fb-yes');
  await track.fill('#fb-comment', s.comment);
  await track.click('#fb-submit');
  await track.locator('#thanks-card:not([hidden])').waitFor({ timeout: WAIT_MS });
  await shows(screen, '#panel .fb-comment', [s.comment]);
  console.log('ok: literal text on the incident panel');

  for (const check of checks) await check();
  console.log('ok: no page navigated or ran script from data');
});
