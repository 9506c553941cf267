// Shared by the browser scenarios: launch Debian's chromium through playwright-core (never a
// downloaded browser), open contexts, call the API, wait with timeouts, save screenshots.
// A scenario exits 0 and prints "ok: …" lines, or exits 1 with the reason (and failure shots).
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = process.env.GD_ARTIFACTS || path.resolve(here, '..', 'artifacts');
export const WAIT_MS = Number(process.env.GD_WAIT_MS || 20000);
mkdirSync(ARTIFACTS, { recursive: true });

/** Debian's chromium, headless, an empty throwaway profile (playwright makes a fresh temp user-data-dir). */
export async function launch(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.GD_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    timeout: 60000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs],
  });
}

/** Chromium flags for video calls: fake camera and microphone, no permission prompt, ICE on
 *  loopback (the tests' only network), no mDNS host names. */
export const MEDIA_FLAGS = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--autoplay-policy=no-user-gesture-required'];

/**
 * A browser context; `errors` collects uncaught page errors and CSP violations (a scenario
 * fails on any). Time zone UTC on purpose: the pages must show Beijing time themselves.
 */
export async function context(browser, errors, opts = {}) {
  const ctx = await browser.newContext({ locale: 'zh-CN', timezoneId: 'UTC', ...opts });
  ctx.on('page', (page) => watch(page, errors));
  return ctx;
}

function watch(page, errors) {
  page.on('pageerror', (e) => errors.push(`pageerror on ${page.url()}: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text())) errors.push(`CSP on ${page.url()}: ${m.text()}`);
  });
}

/** A phone as a resident or mediator holds it (WeChat's in-app browser user agent). */
export const PHONE = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
  userAgent: 'Mozilla/5.0 (Linux; Android 13; V2183A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0 Mobile Safari/537.36 MicroMessenger/8.0.47',
};

/** Sockets whose URL matches `pattern`, opened in `target` (a page or a context), go through the
 *  test: `cut()` closes the open ones and refuses new ones until `restore()`. */
export async function cuttableSockets(target, pattern) {
  let refuse = false;
  const open = [];
  await target.routeWebSocket(pattern, (ws) => {
    if (refuse) { ws.close({ code: 1011, reason: 'down' }); return; }
    ws.connectToServer();
    open.push(ws);
  });
  return {
    async cut() {
      refuse = true;
      for (const ws of open.splice(0)) await ws.close({ code: 1011, reason: 'cut by the test' });
    },
    restore() { refuse = false; },
  };
}

/** Call the API from the test (not the page). */
export async function api(base, method, p, { token, body, headers } = {}) {
  const h = { ...(headers || {}) };
  if (token) h.authorization = `Bearer ${token}`;
  if (body !== undefined) h['content-type'] = 'application/json';
  const r = await fetch(base + p, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = text; }
  if (!r.ok) throw new Error(`${method} ${p} → ${r.status} ${text}`);
  return json;
}

export async function shot(page, name, { fullPage = false } = {}) {
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.evaluate(() => document.fonts && document.fonts.ready);
  if (fullPage) await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: file, fullPage });
  console.log(`screenshot: ${file}`);
}

/** Run a scenario: a fresh browser, failure screenshots of every open page, exit status. */
export async function scenario(name, body, { args = [] } = {}) {
  const errors = [];
  const browser = await launch(args);
  const timer = setTimeout(() => { console.error(`${name}: scenario timed out`); process.exit(1); }, 150000);
  try {
    await body(browser, errors);
    if (errors.length) throw new Error(`page errors:\n${errors.join('\n')}`);
    console.log(`ok: ${name}`);
  } catch (e) {
    console.error(`FAILED ${name}: ${e && e.stack ? e.stack : e}`);
    let n = 0;
    for (const ctx of browser.contexts()) {
      for (const page of ctx.pages()) {
        await page.screenshot({ path: path.join(ARTIFACTS, `${name}-FAILED-${n++}.png`) }).catch(() => {});
      }
    }
    process.exitCode = 1;
  } finally {
    clearTimeout(timer);
    await browser.close().catch(() => {});
  }
}
