#!/usr/bin/env node
// Drives the offlinetube web page in headless Chromium, like a person would.
//
//   node tests/browser/ui.mjs --base URL --page URL [--shots DIR] [--error-page URL]
//        [--slow-page URL] [--many-base URL] [--live-page URL] [--token-base URL --token T]
//        [--no-ytdlp-base URL] [--multi-page URL] [--subs-page URL]
//        [--stale-base URL --stale-version V]
//
// --base        a server with no tasks (empty state, a whole download, play, seek, remove)
// --page        a fixture page yt-dlp can download (big.mp4 with a thumbnail)
// --error-page  a URL whose download fails (default: <page dir>/missing-page.html)
// --slow-page   a fixture page whose video comes slowly (progress, speed, ETA, Cancel)
// --many-base   a server started with 500 tasks in its tasks.json (time to interactive)
// --live-page   a second fixture page, downloaded on --many-base while the page watches
// --token-base  a server started with --token T (the token prompt and its cookie)
// --no-ytdlp-base  a server whose yt-dlp does not run (the warning banner)
// --multi-page  a fixture page with two videos (a playlist, when looked up)
// --subs-page   a fixture page whose <video> has an English <track> (subtitles)
// --stale-base  a server whose yt-dlp says it is version V, long ago, and whose update
//               command makes it today's (the freshness banner, "Update yt-dlp")
// --shots       where screenshots go (default target/screenshots)
//
// Uses the system Chromium (/usr/bin/chromium) through playwright-core: it never downloads a
// browser. Any console error or uncaught page error fails the run, except the few that a step
// expects (a 400 from an invalid URL, 401s before the token is given) and declares.
// Exit status 0 when every check passed.

import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const DOWNLOAD_TIMEOUT = 90_000;
const OVERALL_TIMEOUT = 390_000;

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const key = a.slice(2);
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--')) throw new Error(`${a} needs a value`);
    out[key] = value;
    i += 1;
  }
  return out;
}

const opts = parseArgs(process.argv.slice(2));
if (!opts.base || !opts.page) {
  console.error('usage: node ui.mjs --base URL --page URL [--shots DIR] [--error-page URL] [--slow-page URL] [--many-base URL] [--live-page URL] [--token-base URL --token T] [--no-ytdlp-base URL] [--multi-page URL] [--subs-page URL] [--stale-base URL --stale-version V]');
  process.exit(2);
}
const base = opts.base.replace(/\/+$/, '');
const shots = path.resolve(opts.shots || 'target/screenshots');
mkdirSync(shots, { recursive: true });

const started = Date.now();
const failures = [];
let checks = 0;

function log(msg) {
  const t = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  console.log(`[${t}s] ${msg}`);
}

function check(cond, what) {
  checks += 1;
  if (cond) {
    log(`ok   ${what}`);
  } else {
    log(`FAIL ${what}`);
    failures.push(what);
  }
  return cond;
}

class Fatal extends Error {}

function must(cond, what) {
  if (!check(cond, what)) throw new Fatal(what);
}

// Console errors and page errors fail the run unless a step declared them (`expect`).
function watch(page, label) {
  const w = { expected: [], retired: [], retiredUntil: 0, unexpected: [], seen: [] };
  w.expect = (re) => w.expected.push(re);
  // Console messages about a response can land a little after the step that caused it:
  // cleared expectations still cover them for a short while.
  w.clear = () => {
    w.retired = w.expected;
    w.retiredUntil = Date.now() + 2000;
    w.expected = [];
  };
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const loc = msg.location();
    const text = `${msg.text()}${loc && loc.url ? ` (${loc.url})` : ''}`;
    w.seen.push(text);
    const late = Date.now() < w.retiredUntil && w.retired.some((re) => re.test(text));
    if (late || w.expected.some((re) => re.test(text))) {
      log(`     (expected console error on ${label}: ${text})`);
    } else {
      w.unexpected.push(text);
      log(`FAIL console error on ${label}: ${text}`);
      failures.push(`console error on ${label}: ${text}`);
    }
  });
  page.on('pageerror', (err) => {
    w.unexpected.push(String(err));
    log(`FAIL page error on ${label}: ${err}`);
    failures.push(`page error on ${label}: ${err}`);
  });
  page.on('crash', () => failures.push(`page crashed on ${label}`));
  return w;
}

async function shot(page, name, fullPage = false) {
  const file = path.join(shots, name);
  await page.screenshot({ path: file, fullPage });
  log(`     screenshot ${file}`);
}

async function newPage(browser, label, viewport = { width: 1440, height: 900 }, colorScheme = 'light') {
  const context = await browser.newContext({ viewport, colorScheme, acceptDownloads: true });
  const page = await context.newPage();
  const watcher = watch(page, label);
  return { context, page, watcher };
}

async function visibleSoon(page, selector, timeout = 2_000) {
  return page.locator(selector).waitFor({ state: 'visible', timeout }).then(() => true, () => false);
}

async function waitLoaded(page) {
  await page.waitForSelector('html[data-loaded="true"]', { timeout: 15_000 });
}

// ---------------------------------------------------------------------------------------------
// 1. Empty server: empty state, form errors, a real download, play, seek, remove.

async function scenarioMain(browser) {
  log('== main flow on ' + base);
  const { context, page, watcher } = await newPage(browser, 'main page');
  await page.goto(base + '/', { waitUntil: 'domcontentloaded' });
  await waitLoaded(page);

  // The page is built from the three embedded files only, with the strict CSP in force.
  const csp = await page.evaluate(async () => (await fetch('/', { method: 'HEAD' })).headers.get('content-security-policy'));
  check(csp && csp.includes("script-src 'self'"), 'the page is served with its Content-Security-Policy');

  const empty = page.locator('#empty-state');
  must(await empty.isVisible(), 'empty state is shown on a server with no downloads');
  const emptyText = await empty.innerText();
  check(/No downloads yet/.test(emptyText) && /Paste a video link/.test(emptyText) && /Download/.test(emptyText),
    `empty state says what to do: "${emptyText.replace(/\s+/g, ' ').trim()}"`);
  check((await page.locator('#tasks > li').count()) === 0, 'no cards on an empty server');

  // Health line and banner
  await page.waitForFunction(() => /yt-dlp/.test(document.getElementById('health-line').textContent), null, { timeout: 10_000 });
  const health = await page.locator('#health-line').innerText();
  check(/yt-dlp \d/.test(health) && /ffmpeg: yes/.test(health) && /free/.test(health), `health line: "${health}"`);
  check(!(await page.locator('#ytdlp-banner').isVisible()), 'no yt-dlp warning banner when yt-dlp is there');
  {
    const warnings = await page.evaluate(async () => (await (await fetch('/api/health')).json()).warnings || []);
    const staleShown = await page.locator('#stale-banner').isVisible();
    check(staleShown === (warnings.length > 0), `the freshness banner shows exactly when health has warnings (${JSON.stringify(warnings)}, shown: ${staleShown})`);
  }
  await page.waitForSelector('#connection[data-state="live"]', { timeout: 10_000 });
  check(true, 'the event stream is live');

  // Bookmarklet
  const href = await page.locator('#bookmarklet').getAttribute('href');
  check(href.startsWith('javascript:') && href.includes(`'${base}/?url='`) && href.includes('encodeURIComponent(location.href)'),
    'bookmarklet opens this server with ?url=<current page>');
  // Run it on the fixture page, as a click on the bookmark would: this server's page opens
  // (a new tab, or the same one where pop-ups are blocked) with the link filled in.
  {
    const site = await context.newPage();
    const ws = watch(site, 'video site page');
    ws.expect(/favicon\.ico/); // the fixture site has none
    await site.goto(opts.page, { waitUntil: 'domcontentloaded' });
    const popup = context.waitForEvent('page', { timeout: 5_000 }).catch(() => null);
    await site.evaluate(href.slice('javascript:'.length));
    const opened = (await popup) || site;
    await opened.waitForURL((u) => u.href.startsWith(base + '/'), { timeout: 5_000 });
    await opened.waitForSelector('html[data-loaded="true"]', { timeout: 10_000 });
    check((await opened.inputValue('#url-input')) === opts.page,
      `the bookmarklet opens offlinetube with the video page's URL filled in (${opened === site ? 'same tab' : 'new tab'})`);
    if (opened !== site) await opened.close();
    await site.close();
  }

  // Labels and keyboard: every form control has a label, Tab reaches the URL field.
  const unlabelled = await page.evaluate(() => Array.from(document.querySelectorAll('input, select'))
    .filter((el) => !el.hidden && el.type !== 'hidden') // not rendered, not exposed
    .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')).map((el) => el.id || el.name));
  check(unlabelled.length === 0, `every input has a label ${unlabelled.length ? JSON.stringify(unlabelled) : ''}`);
  await page.locator('body').focus();
  const reached = [];
  for (let i = 0; i < 6; i += 1) {
    await page.keyboard.press('Tab');
    reached.push(await page.evaluate(() => document.activeElement.id || document.activeElement.className));
    if (reached[reached.length - 1] === 'url-input') break;
  }
  check(reached.includes('url-input'), `Tab reaches the URL field (${reached.join(' → ')})`);

  // Quality choices follow the type
  const videoQualities = await page.locator('#quality-select option').evaluateAll((os) => os.map((o) => o.value));
  check(JSON.stringify(videoQualities) === JSON.stringify(['best', '2160p', '1440p', '1080p', '720p', '480p', '360p', '240p']), `video qualities ${videoQualities}`);
  check(!(await page.locator('#audio-format-select').isVisible()), 'audio format is hidden for video');
  await page.locator('label[for="type-audio"]').click();
  const audioQualities = await page.locator('#quality-select option').evaluateAll((os) => os.map((o) => o.value));
  check(JSON.stringify(audioQualities) === JSON.stringify(['best', '320', '256', '192', '128']), `audio qualities ${audioQualities}`);
  const formats = await page.locator('#audio-format-select option').evaluateAll((os) => os.map((o) => o.value));
  check(await page.locator('#audio-format-select').isVisible() && formats.join() === 'm4a,mp3,opus,flac,wav', `audio formats ${formats}`);
  await page.locator('label[for="type-video"]').click();

  // An invalid URL: the server's 400 detail is shown next to the form.
  watcher.expect(/status of 400.*\/api\/download\b/);
  await page.fill('#url-input', 'not a link');
  await page.click('#add-button');
  await page.waitForSelector('#form-error:not([hidden])', { timeout: 5_000 });
  const formError = await page.locator('#form-error').innerText();
  check(/Invalid url/i.test(formError), `invalid URL shows the API error next to the form: "${formError}"`);
  check((await page.getAttribute('#url-input', 'aria-invalid')) === 'true', 'the URL field is marked invalid');
  await page.fill('#url-input', '');
  check(!(await page.locator('#form-error').isVisible()), 'typing clears the form error');
  watcher.clear();

  // A download that fails: its error message is shown, Retry is offered.
  const errorUrl = opts['error-page'] || new URL('missing-page.html', opts.page).href;
  await page.fill('#url-input', errorUrl);
  await page.click('#add-button');
  const errorCard = page.locator('#tasks > li.card').first();
  await errorCard.waitFor({ timeout: 5_000 });
  await page.waitForSelector('#tasks > li.card[data-status="error"]', { timeout: DOWNLOAD_TIMEOUT });
  const errorText = await errorCard.locator('.card-error').innerText();
  check(errorText.length > 0 && /404|not found|error/i.test(errorText), `a failed download shows its error_message: "${errorText.slice(0, 120)}"`);
  check(await errorCard.locator('button', { hasText: 'Retry' }).isVisible(), 'a failed download offers Retry');
  check(!(await errorCard.locator('button', { hasText: 'Cancel' }).count()), 'a failed download offers no Cancel');
  await shot(page, 'error-task-1440.png');
  // Retry puts it back in the queue, and it fails again.
  await errorCard.locator('button', { hasText: 'Retry' }).click();
  await page.waitForFunction(() => {
    const c = document.querySelector('#tasks > li.card');
    return c && c.dataset.status !== 'error';
  }, null, { timeout: 5_000 }).then(() => check(true, 'Retry re-queues the task'),
    () => check(false, 'Retry re-queues the task'));
  await page.waitForSelector('#tasks > li.card[data-status="error"]', { timeout: DOWNLOAD_TIMEOUT });
  // Remove, but first say no in the dialog.
  await errorCard.locator('button', { hasText: 'Remove' }).click();
  await page.waitForSelector('#confirm-dialog[open]', { timeout: 3_000 });
  check(/missing-page/.test(await page.locator('#confirm-text').innerText()), 'the remove dialog names the download');
  await page.locator('#confirm-dialog button', { hasText: 'Keep it' }).click();
  await page.waitForFunction(() => !document.getElementById('confirm-dialog').open, null, { timeout: 3_000 });
  check((await page.locator('#tasks > li.card').count()) === 1, '"Keep it" keeps the task');
  await errorCard.locator('button', { hasText: 'Remove' }).click();
  await page.locator('#confirm-dialog button', { hasText: 'Remove' }).click();
  await page.waitForSelector('#tasks > li.card', { state: 'detached', timeout: 5_000 });
  check(await visibleSoon(page, '#empty-state'), 'empty state is back after removing the only task');

  // ?url= fills the form (what the bookmarklet opens).
  await page.goto(base + '/?url=' + encodeURIComponent(opts.page), { waitUntil: 'domcontentloaded' });
  await waitLoaded(page);
  check((await page.inputValue('#url-input')) === opts.page, '?url= pre-fills the URL field');
  check(!(await page.evaluate(() => location.search)), '?url= is dropped from the address bar');
  await page.waitForSelector('#connection[data-state="live"]', { timeout: 10_000 });

  // Record every state the card goes through, sampled every 10 ms in the page.
  await page.evaluate(() => {
    window.__samples = [];
    window.__sampler = setInterval(() => {
      const card = document.querySelector('#tasks > li.card');
      if (!card) return;
      const bar = card.querySelector('progress');
      const s = `${card.dataset.status}:${bar ? bar.value : 'nobar'}`;
      if (window.__samples[window.__samples.length - 1] !== s) window.__samples.push(s);
    }, 10);
  });
  const t0 = Date.now();
  const posted = page.waitForResponse((r) => r.url().endsWith('/api/download') && r.request().method() === 'POST');
  await page.click('#add-button');
  const resp = await posted;
  check(resp.status() === 200, `POST /api/download answered ${resp.status()}`);
  const card = page.locator('#tasks > li.card').first();
  await card.waitFor({ timeout: 2_000 });
  const appearedMs = Date.now() - t0;
  check(appearedMs < 2_000, `the new task appears at once (${appearedMs} ms after the click)`);
  check((await page.inputValue('#url-input')) === '', 'the URL field is cleared after adding');
  must(await card.locator('progress').count() === 1, 'the card has a progress bar');
  const firstTitle = await card.locator('.card-title').innerText();
  check(firstTitle.length > 0, `the card has a title (URL while unknown): "${firstTitle}"`);

  await page.waitForSelector('#tasks > li.card[data-status="completed"], #tasks > li.card[data-status="error"]', { timeout: DOWNLOAD_TIMEOUT });
  const doneMs = Date.now() - t0;
  await page.waitForTimeout(100);
  const samples = await page.evaluate(() => {
    clearInterval(window.__sampler);
    return window.__samples;
  });
  log(`     states seen (status:progress): ${samples.join(' → ')}`);
  must((await card.getAttribute('data-status')) === 'completed', `the download completed (${doneMs} ms)`);
  const barValue = await card.locator('progress').evaluate((p) => p.value);
  check(barValue === 100, `the progress bar ends at 100 (${barValue})`);
  check((await card.locator('.progress-percent').innerText()) === '100%', 'the percent reads 100%');
  check(samples.length >= 2 && samples[samples.length - 1] === 'completed:100', 'the bar moved to completed:100 as events came in');
  const title = await card.locator('.card-title').innerText();
  check(title === 'Big test clip', `the title comes from the page once known: "${title}"`);
  check(/Completed/i.test(await card.locator('.badge').innerText()), 'status badge says Completed');
  check(/\d (KB|MB|GB)/.test(await card.locator('.card-details').innerText()), `size shown: "${await card.locator('.card-details').innerText()}"`);

  // Local thumbnail
  const img = card.locator('.thumb img');
  await img.waitFor({ timeout: 5_000 });
  const thumb = await img.evaluate(async (el) => {
    if (!el.complete) await new Promise((r) => el.addEventListener('load', r, { once: true }));
    return { src: el.getAttribute('src'), w: el.naturalWidth };
  });
  check(thumb.src.startsWith('/api/thumbnails/') && thumb.w > 0, `the local thumbnail is shown (${thumb.src}, ${thumb.w}px wide)`);

  // Save link
  const save = card.locator('a[data-action="save"]');
  const saveHref = await save.getAttribute('href');
  check(/^\/api\/download\/[0-9a-f-]{36}\/file$/.test(saveHref), `"Save file" links to ${saveHref}`);
  const head = await page.evaluate(async (u) => {
    const r = await fetch(u, { method: 'HEAD' });
    return [r.status, r.headers.get('content-disposition')];
  }, saveHref);
  check(head[0] === 200 && /attachment/.test(head[1] || ''), `the file link answers ${head[0]} with ${head[1]}`);

  await shot(page, 'completed-1440.png');

  // Play in the page
  await card.locator('button[data-action="play"]').click();
  const video = card.locator('video.player');
  await video.waitFor({ timeout: 5_000 });
  const v = await video.evaluate((el) => ({ src: el.getAttribute('src'), poster: el.getAttribute('poster'), controls: el.controls, preload: el.preload }));
  check(v.src.startsWith('/api/stream/') && v.controls && v.preload === 'metadata', `video player: ${JSON.stringify(v)}`);
  check((v.poster || '').startsWith('/api/thumbnails/'), 'the local thumbnail is the poster');
  const played = await video.evaluate((el) => new Promise((resolve) => {
    const deadline = Date.now() + 15_000;
    (function tick() {
      if (el.currentTime > 0.5) resolve({ ok: true, t: el.currentTime });
      else if (Date.now() > deadline || el.error) resolve({ ok: false, t: el.currentTime, error: el.error && el.error.message, state: el.readyState, paused: el.paused });
      else setTimeout(tick, 50);
    })();
  }));
  must(played.ok, `the video plays (currentTime ${played.t.toFixed(2)} s${played.error ? ', error ' + played.error : ''})`);
  await shot(page, 'playing-1440.png');

  // Seek to 5 s
  const seek = await video.evaluate((el) => new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ ok: false, t: el.currentTime }), 10_000);
    el.addEventListener('seeked', () => {
      clearTimeout(timer);
      resolve({ ok: true, t: el.currentTime });
    }, { once: true });
    el.currentTime = 5;
  }));
  check(seek.ok && Math.abs(seek.t - 5) < 0.6, `seeking to 5 s fires "seeked" at ${seek.t.toFixed(2)} s`);
  const after = await video.evaluate((el) => new Promise((r) => setTimeout(() => r(el.currentTime), 700)));
  check(after > 5, `playback goes on after the seek (${after.toFixed(2)} s)`);

  // 360 px wide with the player open
  await page.setViewportSize({ width: 360, height: 780 });
  await page.waitForTimeout(200);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(overflow <= 0, `no horizontal scrolling at 360 px (overflow ${overflow}px)`);
  await shot(page, 'completed-360.png', true);
  await page.setViewportSize({ width: 1440, height: 900 });

  // Remove it (confirm in the dialog) and see it go.
  await card.locator('button[data-action="remove"]').click();
  await page.waitForSelector('#confirm-dialog[open]', { timeout: 3_000 });
  await shot(page, 'remove-dialog-1440.png');
  await page.locator('#confirm-dialog button', { hasText: 'Remove' }).click();
  await page.waitForSelector('#tasks > li.card', { state: 'detached', timeout: 5_000 });
  check(true, 'the removed task disappears');
  check(await visibleSoon(page, '#empty-state'), 'and the empty state is back');
  const left = await page.evaluate(async () => (await (await fetch('/api/downloads')).json()).length);
  check(left === 0, `the server has no tasks left (${left})`);
  const live = await page.waitForFunction(() => {
    const t = document.getElementById('live').textContent;
    return /Removed/.test(t) && t;
  }, null, { timeout: 2_000 }).then((h) => h.jsonValue(), () => '');
  check(/Removed/.test(live), `the aria-live region announced it: "${live}"`);

  await shot(page, 'empty-1440.png');
  await page.setViewportSize({ width: 360, height: 780 });
  await shot(page, 'empty-360.png', true);
  await page.setViewportSize({ width: 1440, height: 900 });

  // A paced download: the bar moves with speed and ETA, then Cancel stops it.
  if (opts['slow-page']) {
    await page.fill('#url-input', opts['slow-page']);
    await page.click('#add-button');
    const slowCard = page.locator('#tasks > li.card').first();
    await slowCard.waitFor({ timeout: 2_000 });
    await page.waitForFunction(() => {
      const c = document.querySelector('#tasks > li.card');
      const p = c && c.querySelector('progress');
      return c && c.dataset.status === 'downloading' && p.value > 0;
    }, null, { timeout: 30_000 });
    const seen = new Set();
    const until = Date.now() + 2_000;
    while (Date.now() < until) {
      seen.add(await slowCard.locator('progress').evaluate((p) => p.value));
      await page.waitForTimeout(100);
    }
    const values = [...seen].filter((v) => v > 0 && v < 100).sort((a, b) => a - b);
    check(values.length >= 2, `the progress bar moves while downloading (${values.map((v) => v.toFixed(1)).join(', ')})`);
    const speed = await slowCard.locator('.progress-speed').innerText();
    const eta = await slowCard.locator('.progress-eta').innerText();
    check(/\d.*B\/s$/.test(speed) && /^ETA \S+/.test(eta), `speed and ETA are shown: "${speed}", "${eta}"`);
    await shot(page, 'downloading-1440.png');
    await page.setViewportSize({ width: 360, height: 780 });
    await slowCard.scrollIntoViewIfNeeded();
    await shot(page, 'downloading-360.png');
    await page.setViewportSize({ width: 1440, height: 900 });
    await slowCard.locator('button[data-action="cancel"]').click();
    await page.waitForSelector('#tasks > li.card[data-status="cancelled"]', { timeout: 10_000 })
      .then(() => check(true, 'Cancel stops an active download'), () => check(false, 'Cancel stops an active download'));
    check(await slowCard.locator('button[data-action="retry"]').count() === 1 &&
      await slowCard.locator('button[data-action="cancel"]').count() === 0, 'a cancelled download offers Retry, not Cancel');
    await slowCard.locator('button[data-action="remove"]').click();
    await page.locator('#confirm-dialog button', { hasText: 'Remove' }).click();
    await page.waitForSelector('#tasks > li.card', { state: 'detached', timeout: 5_000 });
  }

  // Audio: mp3 at 128 kbps, played in an <audio> element.
  if (opts['live-page']) {
    await page.locator('label[for="type-audio"]').click();
    await page.selectOption('#quality-select', '128');
    await page.selectOption('#audio-format-select', 'mp3');
    await page.fill('#url-input', opts['live-page']);
    await page.click('#add-button');
    const audioCard = page.locator('#tasks > li.card').first();
    await audioCard.waitFor({ timeout: 2_000 });
    await page.waitForSelector('#tasks > li.card[data-status="completed"], #tasks > li.card[data-status="error"]', { timeout: DOWNLOAD_TIMEOUT });
    must((await audioCard.getAttribute('data-status')) === 'completed', 'the audio download completed');
    const details = await audioCard.locator('.card-details').innerText();
    check(/Audio/.test(details) && /MP3/.test(details), `the card says what was asked: "${details}"`);
    await audioCard.locator('button[data-action="play"]').click();
    const audio = audioCard.locator('audio.player');
    await audio.waitFor({ timeout: 5_000 });
    const a = await audio.evaluate((el) => new Promise((resolve) => {
      const deadline = Date.now() + 10_000;
      (function tick() {
        if (el.currentTime > 0.3 || el.error || Date.now() > deadline) {
          resolve({ src: el.getAttribute('src'), t: el.currentTime, error: el.error && el.error.message });
        } else setTimeout(tick, 50);
      })();
    }));
    check(/^\/api\/stream\/.+\.mp3$/.test(a.src) && a.t > 0.3, `the mp3 plays in an <audio> element (${a.src}, ${a.t.toFixed(2)} s${a.error ? ', ' + a.error : ''})`);
    check(!(await audioCard.locator('video').count()), 'no <video> for an audio file');
    await audioCard.locator('button[data-action="remove"]').click();
    await page.locator('#confirm-dialog button', { hasText: 'Remove' }).click();
    await page.waitForSelector('#tasks > li.card', { state: 'detached', timeout: 5_000 });
    await page.locator('label[for="type-video"]').click();
  }

  // The event stream drops: the page polls /api/downloads, then reconnects.
  await context.route('**/api/events', (route) => route.abort());
  watcher.expect(/api\/events/);
  watcher.expect(/net::ERR_FAILED/);
  const p2 = await context.newPage();
  const w2 = watch(p2, 'fallback page');
  w2.expect(/api\/events/);
  w2.expect(/net::ERR_FAILED/);
  await p2.goto(base + '/', { waitUntil: 'domcontentloaded' });
  await p2.waitForSelector('#connection[data-state="polling"]', { timeout: 10_000 });
  await waitLoaded(p2);
  check(true, 'without the event stream the page falls back to polling and still lists');
  const polls = [];
  p2.on('request', (r) => {
    if (r.url().endsWith('/api/downloads')) polls.push(Date.now());
  });
  await p2.waitForTimeout(4_500);
  check(polls.length >= 2, `it polls /api/downloads every 2 s (${polls.length} polls in 4.5 s)`);
  await context.unroute('**/api/events');
  await p2.waitForSelector('#connection[data-state="live"]', { timeout: 12_000 })
    .then(() => check(true, 'and reconnects to the event stream when it is back'),
      () => check(false, 'and reconnects to the event stream when it is back'));
  await p2.close();
  await context.close();
}

// ---------------------------------------------------------------------------------------------
// 2. 500 tasks: time to interactive, screenshots, one card updated per event.

async function scenarioMany(browser) {
  const manyBase = opts['many-base'].replace(/\/+$/, '');
  log('== 500 tasks on ' + manyBase);
  const { context, page } = await newPage(browser, '500-task page');
  const t0 = Date.now();
  await page.goto(manyBase + '/', { waitUntil: 'domcontentloaded' });
  const domMs = Date.now() - t0;
  await page.waitForFunction(() => document.querySelectorAll('#tasks > li.card').length >= 500, null, { timeout: 30_000 });
  // Interactive: the URL field takes typing and a frame comes back.
  await page.fill('#url-input', 'x');
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const interactiveMs = Date.now() - t0;
  await page.fill('#url-input', '');
  const marks = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const m = performance.getEntriesByName('offlinetube:list-rendered')[0];
    return { domInteractive: nav ? Math.round(nav.domInteractive) : null, listRendered: m ? Math.round(m.startTime) : null };
  });
  const count = await page.locator('#tasks > li.card').count();
  check(count === 500, `all 500 tasks listed (${count})`);
  console.log(`INTERACTIVE-500: ${interactiveMs} ms from navigation to 500 cards listed and the form taking input ` +
    `(DOMContentLoaded ${domMs} ms, in-page list rendered at ${marks.listRendered} ms, domInteractive ${marks.domInteractive} ms)`);
  check(interactiveMs < 5_000, `the 500-task page is interactive in under 5 s (${interactiveMs} ms)`);

  // Newest first
  const order = await page.locator('#tasks > li.card time').evaluateAll((ts) => ts.map((t) => t.dateTime));
  const sorted = [...order].sort().reverse();
  check(JSON.stringify(order) === JSON.stringify(sorted), 'tasks are listed newest first');

  // Hostile titles are text, never markup.
  const hostile = await page.evaluate(() => ({
    text: Array.from(document.querySelectorAll('.card-title')).some((h) => h.textContent.includes('<img src=x onerror=')),
    injected: document.querySelectorAll('.card-title img, .card-title script, img[src="x"]').length,
    flag: window.__xss === 1,
  }));
  check(hostile.text && hostile.injected === 0 && !hostile.flag, 'a title holding HTML is shown as text');

  // Failed and cancelled tasks in the list show their state and actions.
  const errCard = page.locator('#tasks > li.card[data-status="error"]').first();
  check(await errCard.locator('.card-error').isVisible(), 'an error task shows its error_message');
  check(await errCard.locator('button', { hasText: 'Retry' }).count() === 1, 'an error task has Retry');
  const cancelled = page.locator('#tasks > li.card[data-status="cancelled"]').first();
  check(await cancelled.locator('button', { hasText: 'Retry' }).count() === 1, 'a cancelled task has Retry');
  const playlist = page.locator('#tasks > li.card .card-files:not([hidden])').first();
  check(await playlist.locator('a[data-action="save"]').count() === 3, 'a playlist task has one Save link per entry');
  const entryHref = await playlist.locator('a[data-action="save"]').nth(2).getAttribute('href');
  check(/\/file\?index=3$/.test(entryHref), `playlist entry 3 links to ${entryHref}`);
  const playlistCard = page.locator('#tasks > li.card', { has: page.locator('.card-files:not([hidden])') }).first();
  await playlist.locator('button[data-action="play"]').nth(1).click();
  const entryVideo = playlistCard.locator('video.player');
  await entryVideo.waitFor({ timeout: 5_000 });
  const entrySrc = await entryVideo.getAttribute('src');
  check(/_2\.mp4$/.test(entrySrc), `Play on entry 2 plays that entry (${entrySrc})`);
  const entryPlays = await entryVideo.evaluate((el) => new Promise((resolve) => {
    const deadline = Date.now() + 10_000;
    (function tick() {
      if (el.currentTime > 0.2 || el.error || Date.now() > deadline) resolve(el.currentTime);
      else setTimeout(tick, 50);
    })();
  }));
  check(entryPlays > 0.2, `the playlist entry plays (${entryPlays.toFixed(2)} s)`);
  await playlistCard.screenshot({ path: path.join(shots, 'playlist-card-1440.png') });
  log(`     screenshot ${path.join(shots, 'playlist-card-1440.png')}`);
  await playlist.locator('button[data-action="play"]').nth(1).click();
  check(await playlistCard.locator('video').count() === 0, 'Close player removes it');
  await page.evaluate(() => window.scrollTo(0, 0));

  await shot(page, 'many-1440.png');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot(page, 'many-dark-1440.png');
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 360, height: 780 });
  await page.waitForTimeout(150);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(overflow <= 0, `no horizontal scrolling at 360 px with 500 tasks (overflow ${overflow}px)`);
  await shot(page, 'many-360.png');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot(page, 'many-dark-360.png');
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 1440, height: 900 });

  // A download started elsewhere arrives through the event stream; the 500 cards stay the
  // same DOM nodes (nothing is rebuilt), and only the new card is inserted.
  if (opts['live-page']) {
    await page.evaluate(() => {
      window.__cards = Array.from(document.querySelectorAll('#tasks > li.card'));
      window.__added = 0;
      window.__removed = 0;
      new MutationObserver((records) => {
        for (const r of records) {
          window.__added += r.addedNodes.length;
          window.__removed += r.removedNodes.length;
        }
      }).observe(document.getElementById('tasks'), { childList: true });
    });
    const res = await fetch(manyBase + '/api/download', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ url: opts['live-page'] }),
    });
    const task = await res.json();
    check(res.status === 200, `download started outside the page (${res.status})`);
    const sel = `#tasks > li.card[data-id="${task.id}"]`;
    await page.waitForSelector(sel, { timeout: 5_000 });
    check(await page.evaluate((s) => document.querySelector('#tasks > li.card') === document.querySelector(s), sel),
      'the new task shows up at the top from the event stream');
    await page.waitForSelector(`${sel}[data-status="completed"]`, { timeout: DOWNLOAD_TIMEOUT });
    const kept = await page.evaluate(() => {
      const now = new Set(document.querySelectorAll('#tasks > li.card'));
      return { same: window.__cards.every((c) => now.has(c)), added: window.__added, removed: window.__removed, total: now.size };
    });
    check(kept.same && kept.added === 1 && kept.removed === 0 && kept.total === 501,
      `task events touch only their own card (${JSON.stringify(kept)})`);
  }
  await context.close();
}

// ---------------------------------------------------------------------------------------------
// 3. A server with --token: the page asks once and keeps the token in a cookie.

async function scenarioToken(browser) {
  const tokenBase = opts['token-base'].replace(/\/+$/, '');
  const token = opts.token;
  log('== token prompt on ' + tokenBase);
  const { context, page, watcher } = await newPage(browser, 'token page', { width: 360, height: 780 });
  // Until the token is given, the API answers 401 (and the event stream is refused).
  watcher.expect(/status of 401/);
  watcher.expect(/EventSource's response has a MIME type/);
  await page.goto(tokenBase + '/', { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#token-dialog[open]', { timeout: 10_000 });
  check(true, 'a 401 opens the token dialog');
  check(await page.evaluate(() => document.activeElement && document.activeElement.id === 'token-input'), 'the token field has focus');
  const health = await page.locator('#health-line').innerText();
  check(/yt-dlp/.test(health), 'the health line works without a token');
  await shot(page, 'token-dialog-360.png');

  await page.fill('#token-input', 'wrong-token');
  await page.click('#token-save');
  await page.waitForSelector('#token-error:not([hidden])', { timeout: 10_000 });
  check(/not accepted/.test(await page.locator('#token-error').innerText()), 'a wrong token is refused with a message');
  check(await page.locator('#token-dialog[open]').count() === 1, 'and the dialog asks again');

  // "Later" dismisses the dialog; the banner brings it back.
  await page.click('#token-later');
  await page.waitForFunction(() => !document.getElementById('token-dialog').open, null, { timeout: 3_000 });
  check(await visibleSoon(page, '#token-banner'), 'after "Later" a banner offers to enter the token');
  await page.click('#token-banner-button');
  await page.waitForSelector('#token-dialog[open]', { timeout: 3_000 });
  check(true, 'the banner reopens the dialog');
  // Typing the token and pressing Enter saves it.
  await page.locator('#token-input').pressSequentially(token);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => !document.getElementById('token-dialog').open, null, { timeout: 5_000 });
  await waitLoaded(page);
  await page.waitForSelector('#connection[data-state="live"]', { timeout: 10_000 });
  check(await page.locator('#empty-state').isVisible(), 'with the token the list loads (empty state)');
  const cookies = await context.cookies(tokenBase);
  const c = cookies.find((k) => k.name === 'offlinetube_token');
  check(c && c.value === token && c.path === '/' && c.sameSite === 'Strict', `the token is kept in a cookie ${c ? JSON.stringify({ path: c.path, sameSite: c.sameSite }) : '(none)'}`);
  watcher.clear();

  // A new visit uses the cookie: no dialog, no 401, and <img>/<video> URLs work too.
  await page.reload({ waitUntil: 'domcontentloaded' });
  await waitLoaded(page);
  await page.waitForSelector('#connection[data-state="live"]', { timeout: 10_000 });
  check(await page.locator('#token-dialog[open]').count() === 0, 'the next visit does not ask again');
  const status = await page.evaluate(async () => (await fetch('/api/downloads')).status);
  check(status === 200, `API calls carry the cookie (${status})`);
  await context.close();
}

// ---------------------------------------------------------------------------------------------
// 4. A server without a working yt-dlp: a warning banner, and the form says why it fails.

async function scenarioNoYtdlp(browser) {
  const noBase = opts['no-ytdlp-base'].replace(/\/+$/, '');
  log('== no yt-dlp on ' + noBase);
  const { context, page, watcher } = await newPage(browser, 'no-yt-dlp page', { width: 360, height: 780 });
  await page.goto(noBase + '/', { waitUntil: 'domcontentloaded' });
  await waitLoaded(page);
  const banner = page.locator('#ytdlp-banner');
  check(await visibleSoon(page, '#ytdlp-banner', 5_000), 'a warning banner says yt-dlp is missing');
  check(/yt-dlp was not found/.test(await banner.innerText()), `banner: "${(await banner.innerText()).replace(/\s+/g, ' ')}"`);
  check(/yt-dlp missing/.test(await page.locator('#health-line').innerText()), 'the health line says so too');
  check(!(await page.locator('#stale-banner').isVisible()), 'no freshness banner on top of it (its warning is the missing yt-dlp)');
  watcher.expect(/status of 503.*\/api\/download\b/);
  await page.fill('#url-input', opts.page);
  await page.click('#add-button');
  await page.waitForSelector('#form-error:not([hidden])', { timeout: 5_000 });
  const text = await page.locator('#form-error').innerText();
  check(/yt-dlp/.test(text), `starting a download shows the server's reason: "${text}"`);
  check(await page.getAttribute('#url-input', 'aria-invalid') === null, 'the link is not marked invalid for a server-side problem');
  await shot(page, 'no-ytdlp-360.png');

  // "Update yt-dlp" from Settings: another update running (409, mocked), then the real
  // answer of this server, whose update command cannot start (502 with its line).
  await page.click('#settings > summary');
  await page.route('**/api/ytdlp/update', (route) => route.fulfill({
    status: 409, contentType: 'application/json', body: JSON.stringify({ detail: 'An update is already running', code: 'update_running' }),
  }));
  watcher.expect(/status of 409.*\/api\/ytdlp\/update\b/);
  await page.click('#settings-update');
  await page.waitForSelector('#update-banner:not([hidden])', { timeout: 5_000 });
  check(/already running/.test(await page.locator('#update-result').innerText()), `a 409 says an update is already running: "${await page.locator('#update-result').innerText()}"`);
  await page.unroute('**/api/ytdlp/update');
  watcher.expect(/status of 502.*\/api\/ytdlp\/update\b/);
  const failed = page.waitForResponse((r) => r.url().endsWith('/api/ytdlp/update'));
  await page.click('#settings-update');
  const failedBody = await (await failed).json();
  await page.waitForFunction(() => /failed/.test(document.getElementById('update-result').textContent), null, { timeout: 10_000 }).catch(() => {});
  const failText = await page.locator('#update-result').innerText();
  check(failText.includes(failedBody.detail) && await page.locator('#update-banner').evaluate((b) => b.classList.contains('banner-error')),
    `a failed update (502) shows its detail as an error: "${failText}"`);
  check(await page.locator('#settings-update').isEnabled() && (await page.locator('#settings-update').innerText()) === 'Update yt-dlp', 'and the button is usable again');
  check((await page.locator('#ytdlp-update-status').innerText()).includes(failedBody.detail), 'Settings shows the outcome beside its button too');
  check(await page.evaluate(() => document.activeElement.id) === 'settings-update', 'focus stays on the button');
  await page.locator('#settings').scrollIntoViewIfNeeded();
  await shot(page, 'update-failed-360.png');
  await context.close();
}

// ---------------------------------------------------------------------------------------------
// 5. Look a link up first: title, length, uploader, formats; choose one and download it.
//    A playlist shows its entries; a page yt-dlp cannot read shows yt-dlp's error line.
//    Then a download with subtitles, played with its <track>.

async function overflowX(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

async function removeAllTasks(page) {
  await page.evaluate(async () => {
    const tasks = await (await fetch('/api/downloads')).json();
    await Promise.all(tasks.map((t) => fetch(`/api/downloads/${t.id}/remove`, { method: 'DELETE' })));
  });
  await page.waitForSelector('#tasks > li.card', { state: 'detached', timeout: 5_000 }).catch(() => {});
}

async function scenarioLookup(browser) {
  log('== look up a link, choose a format, subtitles on ' + base);
  const { context, page, watcher } = await newPage(browser, 'look-up page');
  // Every request the page makes must stay on this server: no remote thumbnail.
  const offsite = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(base + '/') && !r.url().startsWith('data:')) offsite.push(r.url());
  });
  await page.goto(base + '/', { waitUntil: 'domcontentloaded' });
  await waitLoaded(page);
  await page.waitForSelector('#connection[data-state="live"]', { timeout: 10_000 });
  await removeAllTasks(page);

  // Keyboard: the Look up button comes right after the link field.
  await page.focus('#url-input');
  await page.keyboard.press('Tab');
  check(await page.evaluate(() => document.activeElement.id) === 'lookup-button', 'Tab goes from the link field to "Look up"');
  check(!(await page.locator('#lookup').isVisible()), 'no look-up panel before a look-up');

  // Look up the fixture page.
  await page.fill('#url-input', opts.page);
  await page.evaluate(() => {
    window.__lookupStates = [];
    new MutationObserver(() => {
      const t = document.getElementById('lookup-button').textContent;
      if (window.__lookupStates[window.__lookupStates.length - 1] !== t) window.__lookupStates.push(t);
    }).observe(document.getElementById('lookup-button'), { childList: true, subtree: true, characterData: true });
  });
  const infoAnswer = page.waitForResponse((r) => r.url().endsWith('/api/info'));
  await page.click('#lookup-button');
  check(await page.locator('#add-button').isEnabled(), 'Download stays usable while a look-up runs');
  await shot(page, 'lookup-busy-1440.png');
  const infoResp = await infoAnswer;
  const info = await infoResp.json();
  check(infoResp.status() === 200, `POST /api/info answered ${infoResp.status()}`);
  await page.waitForSelector('#lookup-result:not([hidden])', { timeout: 30_000 });
  const states = await page.evaluate(() => window.__lookupStates);
  check(states.includes('Looking up…') && states[states.length - 1] === 'Look up', `the button says "Looking up…" meanwhile (${states.join(' → ')})`);
  const lookTitle = await page.locator('#lookup-title').innerText();
  check(lookTitle === 'Big test clip', `the look-up shows the title: "${lookTitle}"`);
  const lookMeta = await page.locator('#lookup-meta').innerText();
  check((!info.duration_formatted || lookMeta.includes(info.duration_formatted)) && (!info.uploader || lookMeta.includes(info.uploader)) && /format/.test(lookMeta),
    `and the length, uploader and number of formats: "${lookMeta}"`);
  const options = page.locator('#format-list input[name="format_choice"]:not([value=""])');
  const nFormats = await options.count();
  check(nFormats >= 1 && nFormats === info.formats.length, `a choosable list of the ${info.formats.length} format(s) (${nFormats} shown)`);
  check(await page.locator('#format-list input[value=""]').isChecked(), '"Automatic" is chosen until the user picks a format');
  // Groups in the server's order: video+audio, then video only, then audio only.
  const groups = await page.locator('#format-list .format-group').allInnerTexts();
  const kinds = info.formats.map((f) => (f.has_video && f.has_audio ? 'VIDEO AND AUDIO' : f.has_video ? 'VIDEO ONLY' : 'AUDIO ONLY'));
  const expectGroups = kinds.filter((k, i) => i === 0 || k !== kinds[i - 1]);
  check(JSON.stringify(groups.map((g) => g.toUpperCase().replace(/ \(.*/, ''))) === JSON.stringify(expectGroups), `format groups as sent: ${groups.join(' | ')}`);
  // The remote thumbnail is not loaded: a placeholder stands in for it.
  check(await page.locator('#lookup .thumb-placeholder').count() === 1 && await page.locator('#lookup img').count() === 0,
    `a placeholder instead of the remote thumbnail (${info.thumbnail})`);
  // Tab from "Look up" reaches the look-up's controls (Close, then the chosen format).
  await page.focus('#lookup-close');
  await page.keyboard.press('Tab');
  check(await page.evaluate(() => document.activeElement.name) === 'format_choice', 'the format list is reachable with Tab');

  await shot(page, 'lookup-1440.png');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot(page, 'lookup-dark-1440.png');
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 360, height: 780 });
  await page.waitForTimeout(150);
  check(await overflowX(page) <= 0, `no horizontal scrolling at 360 px with the look-up shown (${await overflowX(page)}px)`);
  await page.locator('#lookup').scrollIntoViewIfNeeded();
  await shot(page, 'lookup-360.png', true);
  await page.setViewportSize({ width: 1440, height: 900 });

  // Choose the first real format; Quality is greyed out, the download asks for that format.
  const first = info.formats[0];
  await page.locator('#format-list label.format-option', { has: page.locator(`input[data-index="0"]`) }).click();
  check(await page.locator('#format-list input[data-index="0"]').isChecked(), `format ${first.format_id} is chosen by clicking its row`);
  check(await page.locator('#quality-select').isDisabled(), 'Quality is greyed out while a format is chosen');
  const wanted = first.has_video && !first.has_audio ? `${first.format_id}+ba/${first.format_id}` : first.format_id;
  const posted = page.waitForRequest((r) => r.url().endsWith('/api/download') && r.method() === 'POST');
  await page.click('#add-button');
  const body = (await posted).postDataJSON();
  check(body.format_id === wanted && body.url === opts.page, `POST /api/download carries format_id "${body.format_id}" (wanted "${wanted}")`);
  const card = page.locator('#tasks > li.card').first();
  await card.waitFor({ timeout: 5_000 });
  check(!(await page.locator('#lookup').isVisible()) && (await page.inputValue('#url-input')) === '', 'after adding, the link field and the look-up are cleared');
  check(await page.locator('#quality-select').isEnabled(), 'and Quality is usable again');
  await page.waitForSelector('#tasks > li.card[data-status="completed"], #tasks > li.card[data-status="error"]', { timeout: DOWNLOAD_TIMEOUT });
  must((await card.getAttribute('data-status')) === 'completed', `the download with the chosen format completed (${await card.locator('.card-error').innerText()})`);
  const taskFormat = await page.evaluate(async (id) => (await (await fetch('/api/downloads/' + id)).json()).format_id, await card.getAttribute('data-id'));
  check(taskFormat === wanted, `the task was run with format_id ${taskFormat}`);
  await removeAllTasks(page);

  // A site with many formats (what YouTube answers, trimmed; the answer is mocked, the page
  // is real): the three groups in order, a long list that scrolls, and choosing an audio-only
  // format switches "Save as" to Audio, a video-only one back to Video with audio merged in.
  {
    const fakeUrl = 'https://videos.example.test/watch?v=many-formats';
    const fmt = (id, ext, h, vcodec, acodec, size, note, fps) => ({
      format_id: id, format: `${id} - ${note}`, format_note: note, ext, protocol: 'https', height: h, width: h ? Math.round(h * 16 / 9) : null,
      fps: fps || null, filesize: size, filesize_formatted: size ? `${(size / 1048576).toFixed(1)} MB` : null, vcodec, acodec,
      has_audio: acodec !== 'none', has_video: vcodec !== 'none', resolution: h ? `${Math.round(h * 16 / 9)}x${h}` : 'audio only',
    });
    const mock = {
      id: 'many-formats', title: 'A video with many formats — “quotes” & <b>markup</b>', description: null,
      thumbnail: 'https://i.ytimg.com/vi/many-formats/hqdefault.jpg', duration: 754, duration_formatted: '12:34',
      uploader: 'Some Channel', view_count: 1234, url: fakeUrl,
      formats: [
        fmt('18', 'mp4', 360, 'avc1.42001E', 'mp4a.40.2', 19_100_000, '360p', 30),
        fmt('299', 'mp4', 1080, 'avc1.64002a', 'none', 210_000_000, '1080p60', 60),
        fmt('137', 'mp4', 1080, 'avc1.640028', 'none', 140_000_000, '1080p', 30),
        fmt('248', 'webm', 1080, 'vp9', 'none', 98_000_000, '1080p', 30),
        fmt('136', 'mp4', 720, 'avc1.4d401f', 'none', 71_000_000, '720p', 30),
        fmt('247', 'webm', 720, 'vp9', 'none', 52_000_000, '720p', 30),
        fmt('135', 'mp4', 480, 'avc1.4d401e', 'none', 36_000_000, '480p', 30),
        fmt('134', 'mp4', 360, 'avc1.4d401e', 'none', 21_000_000, '360p', 30),
        fmt('133', 'mp4', 240, 'avc1.4d4015', 'none', 11_000_000, '240p', 30),
        fmt('160', 'mp4', 144, 'avc1.4d400c', 'none', 5_000_000, '144p', 30),
        fmt('140', 'm4a', null, 'none', 'mp4a.40.2', 12_200_000, 'medium'),
        fmt('251', 'webm', null, 'none', 'opus', 11_900_000, 'medium'),
        fmt('139', 'm4a', null, 'none', 'mp4a.40.5', 4_600_000, 'low'),
      ],
    };
    await page.route('**/api/info', async (route) => {
      const asked = route.request().postDataJSON();
      if (asked && asked.url === fakeUrl) await route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(mock) });
      else await route.fallback();
    });
    let sent = null;
    await page.route('**/api/download', async (route) => {
      if (route.request().method() !== 'POST') return route.fallback();
      sent = route.request().postDataJSON();
      // Not sent on: videos.example.test does not exist.
      await route.fulfill({ status: 400, contentType: 'application/json', body: JSON.stringify({ detail: '(test) not sent on', code: 'test' }) });
    });
    watcher.expect(/status of 400.*\/api\/download\b/);
    await page.fill('#url-input', fakeUrl);
    await page.click('#lookup-button');
    await page.waitForSelector('#lookup-result:not([hidden])', { timeout: 10_000 });
    const titleShown = await page.locator('#lookup-title').innerText();
    check(titleShown === mock.title && await page.locator('#lookup-title b').count() === 0, `a title with markup is text: "${titleShown}"`);
    const meta = await page.locator('#lookup-meta').innerText();
    check(/12:34/.test(meta) && /Some Channel/.test(meta) && /13 formats/.test(meta), `length, uploader, count: "${meta}"`);
    const heads = await page.locator('#format-list .format-group').allInnerTexts();
    check(heads.length === 3 && /^Video and audio/.test(heads[0]) && /^Video only/.test(heads[1]) && /^Audio only/.test(heads[2]), `three groups in order: ${heads.join(' | ')}`);
    const ids = await page.locator('#format-list input[name="format_choice"]').evaluateAll((rs) => rs.map((r) => r.value));
    check(JSON.stringify(ids) === JSON.stringify(['', ...mock.formats.map((f) => f.format_id)]), `formats in the order sent (${ids.slice(1).join(' ')})`);
    const scrolls = await page.locator('#format-list').evaluate((el) => el.scrollHeight > el.clientHeight);
    check(scrolls, 'a long list scrolls inside its box');
    await shot(page, 'lookup-formats-1440.png');
    await page.setViewportSize({ width: 360, height: 780 });
    await page.waitForTimeout(150);
    check(await overflowX(page) <= 0, `no horizontal scrolling at 360 px with 13 formats (${await overflowX(page)}px)`);
    await page.locator('#lookup').scrollIntoViewIfNeeded();
    await shot(page, 'lookup-formats-360.png');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot(page, 'lookup-formats-dark-360.png');
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 1440, height: 900 });

    // Keyboard: arrows move through the formats.
    await page.focus('#format-list input[value=""]');
    await page.keyboard.press('ArrowDown');
    check(await page.locator('#format-list input[value="18"]').isChecked(), 'arrow keys choose formats');

    await page.locator('#format-list input[value="251"]').check();
    check(await page.locator('#type-audio').isChecked() && await page.locator('#audio-format-select').isVisible(), 'an audio-only format switches "Save as" to Audio');
    await page.click('#add-button');
    await page.waitForSelector('#form-error:not([hidden])', { timeout: 5_000 });
    check(sent && sent.format_id === '251' && sent.download_type === 'audio', `audio-only: ${JSON.stringify(sent && { format_id: sent.format_id, download_type: sent.download_type })}`);
    await page.locator('#format-list input[value="137"]').check();
    check(await page.locator('#type-video').isChecked(), 'a video-only format switches "Save as" back to Video');
    check(/best audio is merged/.test(await page.locator('#format-hint').innerText()), `the hint says audio is merged in: "${await page.locator('#format-hint').innerText()}"`);
    await page.click('#add-button');
    await page.waitForFunction(() => !document.getElementById('form-error').hidden, null, { timeout: 5_000 });
    check(sent && sent.format_id === '137+ba/137' && sent.download_type === 'video', `video-only: format_id "${sent && sent.format_id}"`);
    await page.locator('#format-list input[value="18"]').check();
    const third = page.waitForResponse((r) => r.url().endsWith('/api/download') && r.request().method() === 'POST');
    await page.click('#add-button');
    const thirdBody = (await third).request().postDataJSON();
    check(thirdBody.format_id === '18', `video+audio: format_id "${thirdBody.format_id}"`);
    // The 400's console message arrives after the response: let it land while it is expected.
    await page.waitForTimeout(300);
    await page.unroute('**/api/info');
    await page.unroute('**/api/download');
    watcher.clear();
    await page.click('#lookup-close');
    await page.fill('#url-input', '');
    check(!offsite.some((u) => u.includes('ytimg')), 'the remote thumbnail was not fetched');
  }

  // A stale look-up never leaks into another link's download.
  await page.fill('#url-input', opts.page);
  await page.click('#lookup-button');
  await page.waitForSelector('#lookup-result:not([hidden])', { timeout: 30_000 });
  await page.locator('#format-list input[data-index="0"]').check();
  await page.fill('#url-input', opts.page + '?other=1');
  check(!(await page.locator('#lookup').isVisible()) && await page.locator('#quality-select').isEnabled(), 'editing the link drops the look-up and its format');
  await page.fill('#url-input', '');

  // A playlist: its count and the titles of its entries.
  if (opts['multi-page']) {
    await page.fill('#url-input', opts['multi-page']);
    await page.click('#lookup-button');
    await page.waitForSelector('#lookup-result:not([hidden])', { timeout: 30_000 });
    const count = await page.locator('#playlist-count').innerText();
    const entries = await page.locator('#playlist-entries li').allInnerTexts();
    check(/^2 videos/.test(count) && entries.length === 2 && /Two clips/.test(entries[0]) && /\(2\)/.test(entries[1]),
      `a playlist shows its count and entries: "${count}" ${JSON.stringify(entries)}`);
    check(/Playlist/.test(await page.locator('#lookup-meta').innerText()), 'and says it is a playlist');
    await shot(page, 'lookup-playlist-1440.png');
    await page.click('#lookup-close');
    check(!(await page.locator('#lookup').isVisible()) && await page.evaluate(() => document.activeElement.id) === 'lookup-button',
      '"Close" hides the look-up and gives focus back to "Look up"');
    await page.fill('#url-input', '');
  }

  // A page yt-dlp cannot read: its error line (the 502 detail) is shown.
  watcher.expect(/status of 502.*\/api\/info\b/);
  const errorUrl = opts['error-page'] || new URL('missing-page.html', opts.page).href;
  await page.fill('#url-input', errorUrl);
  const failed = page.waitForResponse((r) => r.url().endsWith('/api/info'));
  await page.click('#lookup-button');
  const failedResp = await failed;
  const failure = await failedResp.json();
  await page.waitForSelector('#lookup-error:not([hidden])', { timeout: 30_000 });
  const lookupError = await page.locator('#lookup-error').innerText();
  check(failedResp.status() === 502 && lookupError.includes(failure.detail),
    `a failed look-up shows yt-dlp's error line (${failedResp.status()}): "${lookupError}"`);
  check(await page.locator('#lookup-error').getAttribute('role') === 'alert', 'as an alert');
  await page.setViewportSize({ width: 360, height: 780 });
  await page.locator('#lookup').scrollIntoViewIfNeeded();
  await shot(page, 'lookup-error-360.png');
  await page.setViewportSize({ width: 1440, height: 900 });
  watcher.clear();
  await page.fill('#url-input', '');

  if (opts['subs-page']) {
    // Subtitle codes the server refuses: its 400 detail next to the form, on that field.
    watcher.expect(/status of 400.*\/api\/download\b/);
    await page.fill('#url-input', opts['subs-page']);
    await page.fill('#subs-input', 'en, english!');
    await page.click('#add-button');
    await page.waitForSelector('#form-error:not([hidden])', { timeout: 5_000 });
    const subsError = await page.locator('#form-error').innerText();
    check(/subtitles/i.test(subsError), `invalid subtitle codes show the server's 400 detail: "${subsError}"`);
    check(await page.getAttribute('#subs-input', 'aria-invalid') === 'true' && await page.getAttribute('#url-input', 'aria-invalid') === null,
      'the subtitles field (not the link) is marked invalid');
    watcher.clear();

    // Look the page up (its only format is video only: audio is asked for on top), choose
    // it, ask for English subtitles, download.
    await page.click('#lookup-button');
    await page.waitForSelector('#lookup-result:not([hidden])', { timeout: 30_000 });
    const subsInfo = await page.evaluate(async (u) => (await (await fetch('/api/info', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ url: u }),
    })).json()), opts['subs-page']);
    const f0 = subsInfo.formats[0];
    await page.locator('#format-list input[data-index="0"]').check();
    await page.fill('#subs-input', 'en');
    check(!(await page.locator('#form-error').isVisible()), 'fixing the subtitles clears the error');
    const subsPost = page.waitForRequest((r) => r.url().endsWith('/api/download') && r.method() === 'POST');
    await page.click('#add-button');
    const subsBody = (await subsPost).postDataJSON();
    const subsWanted = f0.has_video && !f0.has_audio ? `${f0.format_id}+ba/${f0.format_id}` : f0.format_id;
    check(JSON.stringify(subsBody.subtitles) === '["en"]' && subsBody.format_id === subsWanted,
      `POST /api/download carries subtitles ${JSON.stringify(subsBody.subtitles)} and format_id "${subsBody.format_id}" (${f0.has_audio ? 'video+audio' : 'video only'})`);
    const subsCard = page.locator('#tasks > li.card').first();
    await subsCard.waitFor({ timeout: 5_000 });
    await page.waitForSelector('#tasks > li.card[data-status="completed"], #tasks > li.card[data-status="error"]', { timeout: DOWNLOAD_TIMEOUT });
    must((await subsCard.getAttribute('data-status')) === 'completed', `the download with subtitles completed (${await subsCard.locator('.card-error').innerText()})`);
    check((await page.inputValue('#subs-input')) === 'en', 'the subtitles field keeps its languages for the next download');
    const subLinks = subsCard.locator('.card-subs a');
    const subLinkText = await subLinks.allInnerTexts();
    const subHref = await subLinks.first().getAttribute('href');
    check(subLinkText.join() === 'en' && /^\/api\/stream\/.+\.en\.vtt$/.test(subHref) && (await subLinks.first().getAttribute('download')) !== null,
      `the card lists the subtitles as a download link (${subLinkText.join()} → ${subHref})`);

    await subsCard.locator('button[data-action="play"]').click();
    const video = subsCard.locator('video.player');
    await video.waitFor({ timeout: 5_000 });
    const track = await video.evaluate(async (el) => {
      const t = el.querySelector('track');
      if (!t) return { found: false, textTracks: el.textTracks.length };
      const r = await fetch(t.src);
      const deadline = Date.now() + 10_000;
      while (t.readyState < 2 && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 50));
      return {
        found: true, kind: t.kind, srclang: t.srclang, label: t.label, src: t.getAttribute('src'),
        status: r.status, type: r.headers.get('content-type'), body: (await r.text()).slice(0, 6),
        textTracks: el.textTracks.length, readyState: t.readyState,
        cues: t.track && t.track.cues ? t.track.cues.length : -1,
      };
    });
    check(track.found && track.kind === 'subtitles' && track.srclang === 'en' && track.label === 'en' && track.src === subHref,
      `the player has <track kind=subtitles srclang=en label=en src=${track.src}>`);
    check(track.status === 200 && /^text\/vtt/.test(track.type || '') && track.body === 'WEBVTT', `the track answers ${track.status} ${track.type}`);
    check(track.textTracks >= 1, `video.textTracks.length is ${track.textTracks}`);
    check(track.readyState === 2 && track.cues >= 2, `the browser loaded the track (readyState ${track.readyState}, ${track.cues} cues)`);
    await page.waitForTimeout(300);
    await subsCard.screenshot({ path: path.join(shots, 'subtitles-card-1440.png') });
    log(`     screenshot ${path.join(shots, 'subtitles-card-1440.png')}`);
    await page.setViewportSize({ width: 360, height: 780 });
    await page.waitForTimeout(150);
    check(await overflowX(page) <= 0, `no horizontal scrolling at 360 px with the subtitled player (${await overflowX(page)}px)`);
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.fill('#subs-input', '');
    await removeAllTasks(page);
  }
  check(offsite.length === 0, `the page loaded nothing from other hosts ${offsite.length ? JSON.stringify(offsite) : ''}`);
  await context.close();
}

// ---------------------------------------------------------------------------------------------
// 6. Settings: the cookies file (upload, refused files, remove), never showing a value.

async function scenarioSettings(browser) {
  log('== settings (cookies) on ' + base);
  const { context, page, watcher } = await newPage(browser, 'settings page');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'offlinetube-ui-cookies-'));
  try {
    const SECRET_A = 'Secret-Value-A-9f3c';
    const SECRET_B = 'Secret-Value-B-77d1';
    const good = path.join(dir, 'cookies.txt');
    writeFileSync(good, '# Netscape HTTP Cookie File\n' +
      `.example.com\tTRUE\t/\tTRUE\t1893456000\tSID\t${SECRET_A}\n` +
      `#HttpOnly_www.example.org\tFALSE\t/\tFALSE\t0\tsession\t${SECRET_B}\n`);
    const bad = path.join(dir, 'not-cookies.txt');
    writeFileSync(bad, 'this is not a cookies file\n');
    const huge = path.join(dir, 'huge-cookies.txt');
    const line = `.example.com\tTRUE\t/\tTRUE\t1893456000\tname\t${'v'.repeat(200)}\n`;
    writeFileSync(huge, '# Netscape HTTP Cookie File\n' + line.repeat(Math.ceil((1.1 * 1024 * 1024) / line.length)));

    await page.goto(base + '/', { waitUntil: 'domcontentloaded' });
    await waitLoaded(page);
    check(!(await page.locator('#settings').evaluate((d) => d.open)) && !(await page.locator('#cookies-file').isVisible()), 'Settings is collapsed at first');
    // Keyboard: the summary is reachable and Enter opens it.
    await page.focus('#settings > summary');
    await page.keyboard.press('Enter');
    check(await page.locator('#settings').evaluate((d) => d.open), 'Enter on "Settings" opens it');
    await page.waitForFunction(() => /No cookies file/.test(document.getElementById('cookies-status').textContent), null, { timeout: 5_000 })
      .then(() => check(true, 'with no cookies stored it says "No cookies file"'), () => check(false, 'with no cookies stored it says "No cookies file"'));
    check(!(await page.locator('#cookies-remove').isVisible()), 'no "Remove cookies" while there is nothing to remove');
    const explain = await page.locator('#settings .settings-text').first().innerText();
    check(/sign in/.test(explain) && /not a bot/.test(explain), `it says what cookies are for: "${explain}"`);

    // A valid cookies.txt: counts and domains, never a value.
    const upload = page.waitForRequest((r) => r.url().endsWith('/api/cookies') && r.method() === 'POST');
    await page.setInputFiles('#cookies-file', good);
    const req = await upload;
    check(/^text\/plain/.test(req.headers()['content-type'] || ''), `the file is sent as ${req.headers()['content-type']}`);
    await page.waitForFunction(() => /2 cookies/.test(document.getElementById('cookies-status').textContent), null, { timeout: 5_000 })
      .catch(() => {});
    const status = await page.locator('#cookies-status').innerText();
    check(/^2 cookies for example\.com, www\.example\.org/.test(status), `after the upload: "${status}"`);
    const html = await page.content();
    const text = await page.locator('body').innerText();
    check(![SECRET_A, SECRET_B].some((v) => html.includes(v) || text.includes(v)), 'no cookie value appears anywhere in the page');
    check(await page.locator('#cookies-remove').isVisible(), '"Remove cookies" is offered');
    await page.locator('#settings').scrollIntoViewIfNeeded();
    await shot(page, 'settings-1440.png');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot(page, 'settings-dark-1440.png');
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 360, height: 780 });
    await page.waitForTimeout(150);
    check(await overflowX(page) <= 0, `no horizontal scrolling at 360 px with Settings open (${await overflowX(page)}px)`);
    await page.locator('#settings').scrollIntoViewIfNeeded();
    await shot(page, 'settings-360.png');
    await page.setViewportSize({ width: 1440, height: 900 });

    // A file that is not a cookies.txt: the server's 400 detail; what was stored stays.
    watcher.expect(/status of 400.*\/api\/cookies\b/);
    await page.setInputFiles('#cookies-file', bad);
    await page.waitForSelector('#cookies-error:not([hidden])', { timeout: 5_000 });
    const badText = await page.locator('#cookies-error').innerText();
    check(/line 1/.test(badText) && /Netscape/.test(badText) && /not-cookies\.txt/.test(badText), `an invalid file shows the 400 detail: "${badText}"`);
    await page.waitForFunction(() => /2 cookies/.test(document.getElementById('cookies-status').textContent), null, { timeout: 5_000 })
      .then(() => check(true, 'and the stored cookies are still described'), () => check(false, 'and the stored cookies are still described'));
    await shot(page, 'settings-error-1440.png');

    // Over the server's 1 MiB: the 413 is shown.
    watcher.expect(/status of 413.*\/api\/cookies\b/);
    await page.setInputFiles('#cookies-file', huge);
    await page.waitForFunction(() => {
      const e = document.getElementById('cookies-error');
      return !e.hidden && /too large/.test(e.textContent) && /1024 KiB/.test(e.textContent);
    }, null, { timeout: 10_000 })
      .then(() => check(true, 'a file over 1 MiB shows the 413'), async () => check(false, `a file over 1 MiB shows the 413 ("${await page.locator('#cookies-error').innerText()}")`));
    watcher.clear();

    // Remove: back to "No cookies file", on the server too.
    await page.click('#cookies-remove');
    await page.waitForFunction(() => /No cookies file/.test(document.getElementById('cookies-status').textContent), null, { timeout: 5_000 })
      .then(() => check(true, '"Remove cookies" → "No cookies file"'), () => check(false, '"Remove cookies" → "No cookies file"'));
    const after = await page.evaluate(async () => (await fetch('/api/cookies')).json());
    check(after.present === false, `the server has no cookies file any more (${JSON.stringify(after)})`);
    check(await page.evaluate(() => document.activeElement.id) === 'cookies-file', 'focus moves to the upload control');
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await context.close();
  }
}

// ---------------------------------------------------------------------------------------------
// 7. A stale yt-dlp: the health warning in a banner, "Update yt-dlp", the new version.

async function scenarioStale(browser) {
  const staleBase = opts['stale-base'].replace(/\/+$/, '');
  const oldVersion = opts['stale-version'];
  log('== stale yt-dlp on ' + staleBase);
  const { context, page } = await newPage(browser, 'stale yt-dlp page');
  await page.goto(staleBase + '/', { waitUntil: 'domcontentloaded' });
  await waitLoaded(page);
  must(await visibleSoon(page, '#stale-banner', 5_000), 'a banner warns about the old yt-dlp');
  const bannerText = (await page.locator('#stale-banner').innerText()).replace(/\s+/g, ' ');
  const age = (/yt-dlp is (\d+) days old/.exec(bannerText) || [])[1];
  check(Number(age) > 60, `the banner gives the age: "${bannerText}"`);
  check(!/POST \/api/.test(bannerText), 'without the API hint meant for programs');
  check(!(await page.locator('#ytdlp-banner').isVisible()), 'and not the "yt-dlp was not found" banner');
  check(new RegExp(`yt-dlp ${oldVersion.replace(/\./g, '\\.')}`).test(await page.locator('#health-line').innerText()), 'the health line names the old version');
  await shot(page, 'stale-1440.png');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot(page, 'stale-dark-1440.png');
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 360, height: 780 });
  await page.waitForTimeout(150);
  check(await overflowX(page) <= 0, `no horizontal scrolling at 360 px with the banner (${await overflowX(page)}px)`);
  await shot(page, 'stale-360.png');

  // Update: "Updating…" with the button disabled, then the new version, and no banner.
  const answer = page.waitForResponse((r) => r.url().endsWith('/api/ytdlp/update'), { timeout: 60_000 });
  await page.click('#stale-update');
  const busy = await page.locator('#stale-update').evaluate((b) => ({ text: b.textContent, disabled: b.disabled }));
  check(busy.text === 'Updating…' && busy.disabled, `while it runs the button says "${busy.text}" and is disabled`);
  await shot(page, 'stale-updating-360.png');
  const resp = await answer;
  const result = await resp.json();
  check(resp.status() === 200 && result.old_version === oldVersion && /^\d{4}\.\d{2}\.\d{2}$/.test(result.new_version || ''),
    `POST /api/ytdlp/update answered ${resp.status()} ${JSON.stringify({ old: result.old_version, new: result.new_version })}`);
  await page.waitForSelector('#update-banner:not([hidden])', { timeout: 10_000 });
  const updated = await page.locator('#update-result').innerText();
  check(updated.includes(result.new_version) && updated.includes(oldVersion), `the result names the new version: "${updated}"`);
  await page.waitForSelector('#stale-banner', { state: 'hidden', timeout: 10_000 })
    .then(() => check(true, 'the freshness banner goes away'), () => check(false, 'the freshness banner goes away'));
  await page.waitForFunction((v) => document.getElementById('health-line').textContent.includes('yt-dlp ' + v), result.new_version, { timeout: 5_000 })
    .then(() => check(true, 'the health line shows the new version'), () => check(false, 'the health line shows the new version'));
  check(await page.evaluate(() => document.activeElement.id) === 'update-dismiss', 'focus moves to the result, not lost with the banner');
  await page.locator('#update-output-box summary').click();
  check(/Updated yt-dlp to/.test(await page.locator('#update-output').innerText()), 'the command\'s output can be read');
  await shot(page, 'stale-updated-360.png');
  await page.setViewportSize({ width: 1440, height: 900 });
  await shot(page, 'stale-updated-1440.png');
  await page.click('#update-dismiss');
  check(!(await page.locator('#update-banner').isVisible()), '"Dismiss" hides the result');
  // Settings tells the version too.
  await page.click('#settings > summary');
  check(/released today|1 day old/.test(await page.locator('#ytdlp-version').innerText()), `Settings shows the new version: "${await page.locator('#ytdlp-version').innerText()}"`);
  await context.close();
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  log(`chromium ${browser.version()}`);
  try {
    for (const [name, run, needed] of [
      ['main', scenarioMain, true],
      ['many', scenarioMany, Boolean(opts['many-base'])],
      ['token', scenarioToken, Boolean(opts['token-base'] && opts.token)],
      ['no-yt-dlp', scenarioNoYtdlp, Boolean(opts['no-ytdlp-base'])],
      ['look-up', scenarioLookup, true],
      ['settings', scenarioSettings, true],
      ['stale yt-dlp', scenarioStale, Boolean(opts['stale-base'] && opts['stale-version'])],
    ]) {
      if (!needed) {
        log(`skip ${name} (no arguments for it)`);
        continue;
      }
      try {
        await run(browser);
      } catch (e) {
        if (!(e instanceof Fatal)) failures.push(`${name}: ${e && e.stack ? e.stack : e}`);
        log(`FAIL ${name} stopped: ${e && e.message ? e.message : e}`);
      }
    }
  } finally {
    await browser.close();
  }
}

const watchdog = setTimeout(() => {
  console.error(`ui.mjs: still running after ${OVERALL_TIMEOUT / 1000} s; giving up`);
  process.exit(3);
}, OVERALL_TIMEOUT);

main().then(() => {
  clearTimeout(watchdog);
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (failures.length) {
    console.log(`\n${failures.length} of ${checks} checks failed in ${secs} s:`);
    failures.forEach((f) => console.log(`  - ${f}`));
    process.exit(1);
  }
  console.log(`\nall ${checks} browser checks passed in ${secs} s`);
}, (e) => {
  clearTimeout(watchdog);
  console.error(e);
  process.exit(1);
});
