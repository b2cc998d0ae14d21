// offlinetube web page: vanilla JS, no build step. Served with a strict CSP (script-src 'self'),
// so no inline handlers and no style attributes: only CSSOM writes such as `el.style.width`.
// Task data is hostile input (titles, URLs, error lines): it only ever reaches the DOM through
// textContent, properties and encodeURIComponent, never through innerHTML.
'use strict';

(function () {
  const VIDEO_QUALITIES = [
    ['best', 'Best available'],
    ['2160p', '2160p (4K)'],
    ['1440p', '1440p'],
    ['1080p', '1080p'],
    ['720p', '720p'],
    ['480p', '480p'],
    ['360p', '360p'],
    ['240p', '240p'],
  ];
  const AUDIO_QUALITIES = [
    ['best', 'Best available'],
    ['320', '320 kbps'],
    ['256', '256 kbps'],
    ['192', '192 kbps'],
    ['128', '128 kbps'],
  ];
  const STATUS_LABELS = {
    pending: 'Queued',
    downloading: 'Downloading',
    processing: 'Processing',
    completed: 'Completed',
    error: 'Failed',
    cancelled: 'Cancelled',
  };
  const ACTIVE = new Set(['pending', 'downloading', 'processing']);
  const AUDIO_EXTENSIONS = new Set(['mp3', 'm4a', 'opus', 'ogg', 'oga', 'flac', 'wav', 'aac', 'weba']);
  const POLL_MS = 2000;
  const RECONNECT_MS = 5000;
  const HEALTH_MS = 60000;
  const TOKEN_COOKIE = 'offlinetube_token';

  const $ = (id) => document.getElementById(id);

  const ui = {
    form: $('add-form'),
    url: $('url-input'),
    typeVideo: $('type-video'),
    typeAudio: $('type-audio'),
    quality: $('quality-select'),
    audioField: $('audio-format-field'),
    audioFormat: $('audio-format-select'),
    addButton: $('add-button'),
    formError: $('form-error'),
    list: $('tasks'),
    loading: $('loading'),
    empty: $('empty-state'),
    count: $('task-count'),
    summary: $('task-summary'),
    health: $('health-line'),
    connection: $('connection'),
    live: $('live'),
    ytdlpBanner: $('ytdlp-banner'),
    tokenBanner: $('token-banner'),
    tokenBannerButton: $('token-banner-button'),
    confirmDialog: $('confirm-dialog'),
    confirmText: $('confirm-text'),
    tokenDialog: $('token-dialog'),
    tokenForm: $('token-form'),
    tokenInput: $('token-input'),
    tokenError: $('token-error'),
    bookmarklet: $('bookmarklet'),
    bookmarkletHint: $('bookmarklet-hint'),
  };

  // id -> { task, el, refs, player }
  const cards = new Map();
  let loaded = false;

  // ------------------------------------------------------------------------------------------
  // Small helpers

  function setText(el, text) {
    const value = text == null ? '' : String(text);
    if (el.textContent !== value) el.textContent = value;
  }

  function setHidden(el, hidden) {
    if (el.hidden !== hidden) el.hidden = hidden;
  }

  function make(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text != null) el.textContent = text;
    return el;
  }

  function button(label, className, action) {
    const b = make('button', 'btn btn-small' + (className ? ' ' + className : ''), label);
    b.type = 'button';
    b.dataset.action = action;
    return b;
  }

  function formatBytes(n) {
    if (!Number.isFinite(n) || n <= 0) return '';
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i += 1;
    }
    return (i === 0 ? String(Math.round(n)) : n.toFixed(1)) + ' ' + units[i];
  }

  function formatPercent(p) {
    const v = Math.max(0, Math.min(100, Number(p) || 0));
    return (v >= 100 || v === 0 ? v.toFixed(0) : v.toFixed(1)) + '%';
  }

  function formatDate(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return '';
    return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  }

  function extensionOf(name) {
    const m = /\.([A-Za-z0-9]+)$/.exec(name || '');
    return m ? m[1].toLowerCase() : '';
  }

  function isAudioFile(name, task) {
    const ext = extensionOf(name);
    if (ext) return AUDIO_EXTENSIONS.has(ext);
    return task.download_type === 'audio';
  }

  function displayTitle(task) {
    return task.title && task.title.trim() ? task.title : task.url;
  }

  function localThumbnail(task) {
    const t = task.thumbnail;
    return typeof t === 'string' && t.startsWith('/api/') ? t : '';
  }

  function announce(message) {
    // Clearing first makes screen readers repeat an identical message.
    ui.live.textContent = '';
    window.setTimeout(() => {
      ui.live.textContent = message;
    }, 50);
  }

  function shorten(text, max) {
    return text.length > max ? text.slice(0, max - 1) + '…' : text;
  }

  // ------------------------------------------------------------------------------------------
  // API access, with the token prompt on 401

  let tokenWaiters = null; // Promise resolved when a token has been saved
  let tokenRejected = false;

  function readCookie(name) {
    const prefix = name + '=';
    for (const part of document.cookie.split(';')) {
      const kv = part.trim();
      if (kv.startsWith(prefix)) return kv.slice(prefix.length);
    }
    return null;
  }

  function waitForToken() {
    if (!tokenWaiters) {
      let resolve;
      const promise = new Promise((r) => {
        resolve = r;
      });
      tokenWaiters = { promise, resolve };
      // A cookie was already sent and refused: say so.
      tokenRejected = readCookie(TOKEN_COOKIE) !== null;
      setConnection('auth', 'Waiting for the access token');
      openTokenDialog();
    }
    return tokenWaiters.promise;
  }

  function openTokenDialog() {
    setHidden(ui.tokenBanner, false);
    setText(ui.tokenError, tokenRejected ? 'That token was not accepted. Check it and try again.' : '');
    setHidden(ui.tokenError, !tokenRejected);
    ui.tokenInput.value = '';
    if (!ui.tokenDialog.open) ui.tokenDialog.showModal();
    ui.tokenInput.focus();
  }

  ui.tokenBannerButton.addEventListener('click', openTokenDialog);

  // "Later" is a plain button: Enter in the token field must save, not dismiss.
  $('token-later').addEventListener('click', () => ui.tokenDialog.close('later'));

  ui.tokenForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const token = ui.tokenInput.value.trim();
    if (!token) {
      setText(ui.tokenError, 'Enter the token.');
      setHidden(ui.tokenError, false);
      ui.tokenInput.focus();
      return;
    }
    const secure = location.protocol === 'https:' ? '; Secure' : '';
    // Percent-encoded, so spaces, quotes or semicolons survive; the server decodes it.
    document.cookie = TOKEN_COOKIE + '=' + encodeURIComponent(token) + '; path=/; max-age=31536000; SameSite=Strict' + secure;
    ui.tokenDialog.close('save');
    setHidden(ui.tokenBanner, true);
    const waiters = tokenWaiters;
    tokenWaiters = null;
    if (waiters) waiters.resolve();
    announce('Token saved.');
    // The event stream failed on the 401; open it again with the cookie.
    connectEvents();
    refreshHealth();
  });

  // fetch() that waits for a token and tries again whenever the server answers 401.
  async function api(path, options) {
    for (;;) {
      const response = await fetch(path, Object.assign({ credentials: 'same-origin', cache: 'no-store' }, options));
      if (response.status !== 401) return response;
      await waitForToken();
    }
  }

  async function errorDetail(response) {
    try {
      const body = await response.json();
      if (body && typeof body.detail === 'string' && body.detail) return body.detail;
    } catch (_) {
      // not JSON: fall through
    }
    return 'The server answered ' + response.status + (response.statusText ? ' ' + response.statusText : '') + '.';
  }

  // ------------------------------------------------------------------------------------------
  // Cards

  function createCard(task) {
    const el = make('li', 'card');
    el.dataset.id = task.id;

    const thumb = make('div', 'thumb');
    const placeholder = make('div', 'thumb-placeholder');
    placeholder.setAttribute('aria-hidden', 'true');
    thumb.append(placeholder);

    const body = make('div', 'card-body');
    const title = make('h3', 'card-title');
    const source = make('p', 'card-source');
    const meta = make('p', 'card-meta');
    const status = make('span', 'badge');
    const details = make('span', 'card-details');
    const time = make('time', 'card-time');
    meta.append(status, details, time);

    const progressRow = make('div', 'progress-row');
    const progress = document.createElement('progress');
    progress.max = 100;
    progress.className = 'progress';
    const percent = make('span', 'progress-percent');
    const speed = make('span', 'progress-speed');
    const eta = make('span', 'progress-eta');
    progressRow.append(progress, percent, speed, eta);

    const error = make('p', 'card-error');
    error.setAttribute('role', 'note');
    const notice = make('p', 'card-notice');
    notice.hidden = true;
    const actions = make('div', 'card-actions');
    const files = make('ul', 'card-files');
    files.hidden = true;
    const playerSlot = make('div', 'player-slot');

    const foot = make('div', 'card-foot');
    body.append(title, source, meta);
    foot.append(progressRow, error, notice, actions, files);
    el.append(thumb, body, foot, playerSlot);

    const entry = {
      task: null,
      el,
      refs: { thumb, placeholder, img: null, title, source, status, details, time, progress, percent, speed, eta, error, notice, actions, files, playerSlot },
      player: null,
      actionsKey: '',
      filesKey: '',
    };
    progress.setAttribute('aria-label', 'Progress');
    return entry;
  }

  function renderCard(entry, task) {
    const prev = entry.task;
    const r = entry.refs;
    entry.task = task;
    const el = entry.el;
    if (el.dataset.status !== task.status) el.dataset.status = task.status;

    // Thumbnail: only local ones (the CSP forbids remote images, and remote URLs leak).
    // One that fails to load leaves the placeholder until the task's thumbnail changes.
    const thumbUrl = localThumbnail(task);
    if (prev && prev.status !== task.status && task.status === 'completed') entry.brokenThumb = '';
    if (thumbUrl && thumbUrl !== entry.brokenThumb) {
      if (!r.img) {
        const img = document.createElement('img');
        img.alt = '';
        img.loading = 'lazy';
        img.decoding = 'async';
        img.width = 160;
        img.height = 90;
        img.addEventListener('error', () => {
          entry.brokenThumb = img.getAttribute('src');
          img.remove();
          if (r.img === img) r.img = null;
        });
        r.img = img;
      }
      if (r.img.getAttribute('src') !== thumbUrl) r.img.src = thumbUrl;
      if (!r.img.isConnected) r.thumb.append(r.img);
    } else if (r.img) {
      r.img.remove();
      r.img = null;
    }

    const title = displayTitle(task);
    setText(r.title, title);
    if (r.title.title !== title) r.title.title = title;
    const showSource = Boolean(task.title && task.title.trim());
    setText(r.source, showSource ? task.url : '');
    setHidden(r.source, !showSource);

    setText(r.status, STATUS_LABELS[task.status] || task.status);
    if (r.status.dataset.status !== task.status) r.status.dataset.status = task.status;

    const bits = [];
    bits.push(task.download_type === 'audio' ? 'Audio' : 'Video');
    if (task.format_note) bits.push(task.format_note);
    else if (task.quality && task.quality !== 'best') bits.push(task.download_type === 'audio' ? task.quality + ' kbps' : task.quality);
    if (task.download_type === 'audio' && task.audio_format) bits.push(task.audio_format.toUpperCase());
    if (task.is_playlist) {
      bits.push(task.status === 'completed' || !task.playlist_index
        ? 'Playlist of ' + task.playlist_total
        : 'Item ' + task.playlist_index + ' of ' + task.playlist_total);
    }
    const size = task.status === 'completed' ? formatBytes(task.filesize) : '';
    if (size) bits.push(size);
    setText(r.details, bits.join(' · '));
    if (r.time.dateTime !== task.created_at) {
      r.time.dateTime = task.created_at || '';
      setText(r.time, formatDate(task.created_at));
    }

    // Progress
    const pct = Math.max(0, Math.min(100, Number(task.progress) || 0));
    if (r.progress.value !== pct) r.progress.value = pct;
    const pctText = formatPercent(pct);
    setText(r.percent, pctText);
    const valueText = pctText + (task.status === 'completed' ? ', completed' : '');
    if (r.progress.getAttribute('aria-valuetext') !== valueText) r.progress.setAttribute('aria-valuetext', valueText);
    const downloading = task.status === 'downloading';
    let speedText = downloading && task.speed ? task.speed : '';
    if (!speedText && downloading && task.downloaded_bytes > 0) {
      speedText = formatBytes(task.downloaded_bytes) + (task.filesize ? ' of ' + formatBytes(task.filesize) : '');
    }
    if (task.status === 'processing') speedText = 'Finishing (merging, converting)…';
    else if (task.status === 'pending') speedText = 'Waiting for a free slot…';
    setText(r.speed, speedText);
    setText(r.eta, downloading && task.eta ? 'ETA ' + task.eta : '');

    // Error message
    const errorText = task.status === 'error' ? (task.error_message || 'The download failed (no reason given).') : '';
    setText(r.error, errorText);
    setHidden(r.error, !errorText);

    // A running player whose file went away (retry, error) is closed.
    if (entry.player && task.status !== 'completed') closePlayer(entry);
    renderActions(entry, task);
    renderFiles(entry, task);

    if (prev && prev.status !== task.status && loaded) {
      const name = shorten(displayTitle(task), 80);
      if (task.status === 'completed') {
        announce('Finished: ' + name);
        scheduleHealth();
      }
      else if (task.status === 'error') announce('Failed: ' + name + '. ' + (task.error_message || ''));
      else if (task.status === 'cancelled') announce('Cancelled: ' + name);
      else if (task.status === 'downloading' && prev.status === 'pending') announce('Downloading: ' + name);
    }
  }

  function mediaFiles(task) {
    if (Array.isArray(task.files) && task.files.length) return task.files;
    if (task.filename) return [{ filename: task.filename, title: task.title, filesize: task.filesize }];
    return [];
  }

  function renderActions(entry, task) {
    const files = mediaFiles(task);
    const single = task.status === 'completed' && files.length === 1;
    const key = [task.status, single ? files[0].filename : '', entry.player ? 'open' : '', displayTitle(task)].join('|');
    if (entry.actionsKey === key) return;
    entry.actionsKey = key;
    const box = entry.refs.actions;
    const had = box.contains(document.activeElement) ? document.activeElement.dataset.action : null;
    box.replaceChildren();
    const name = shorten(displayTitle(task), 60);
    if (single) {
      const audio = isAudioFile(files[0].filename, task);
      const play = button(entry.player ? 'Close player' : (audio ? 'Play' : 'Play'), 'btn-primary', 'play');
      play.dataset.index = '1';
      play.setAttribute('aria-expanded', entry.player ? 'true' : 'false');
      play.setAttribute('aria-label', (entry.player ? 'Close player for ' : 'Play ') + name);
      box.append(play);
      box.append(saveLink(task, 1, 'Save file', 'Save ' + name + ' to this device'));
    }
    if (ACTIVE.has(task.status)) {
      const b = button('Cancel', '', 'cancel');
      b.setAttribute('aria-label', 'Cancel ' + name);
      box.append(b);
    }
    if (task.status === 'error' || task.status === 'cancelled') {
      const b = button('Retry', 'btn-primary', 'retry');
      b.setAttribute('aria-label', 'Retry ' + name);
      box.append(b);
    }
    const remove = button('Remove', 'btn-danger-quiet', 'remove');
    remove.setAttribute('aria-label', 'Remove ' + name);
    box.append(remove);
    if (had) {
      const again = box.querySelector('[data-action="' + had + '"]');
      if (again) again.focus();
    }
  }

  function saveLink(task, index, label, ariaLabel) {
    const a = make('a', 'btn btn-small', label);
    a.href = '/api/download/' + encodeURIComponent(task.id) + '/file' + (index > 1 ? '?index=' + index : '');
    a.setAttribute('download', '');
    a.dataset.action = 'save';
    if (ariaLabel) a.setAttribute('aria-label', ariaLabel);
    return a;
  }

  function renderFiles(entry, task) {
    const files = task.status === 'completed' ? mediaFiles(task) : [];
    const list = files.length > 1 ? files : [];
    const key = list.map((f) => f.filename).join('\n') + '|' + (entry.player ? entry.player.index : '');
    if (entry.filesKey === key) return;
    entry.filesKey = key;
    const box = entry.refs.files;
    box.replaceChildren();
    list.forEach((f, i) => {
      const li = make('li', 'file-row');
      const label = make('span', 'file-name', (i + 1) + '. ' + (f.title || f.filename));
      label.title = f.filename;
      const size = make('span', 'file-size', formatBytes(f.filesize));
      const open = entry.player && entry.player.index === i + 1;
      const play = button(open ? 'Close player' : 'Play', '', 'play');
      play.dataset.index = String(i + 1);
      play.setAttribute('aria-expanded', open ? 'true' : 'false');
      play.setAttribute('aria-label', (open ? 'Close player for ' : 'Play ') + shorten(f.title || f.filename, 60));
      const save = saveLink(task, i + 1, 'Save', 'Save ' + shorten(f.title || f.filename, 60));
      const buttons = make('span', 'file-actions');
      buttons.append(play, save);
      li.append(label, size, buttons);
      box.append(li);
    });
    setHidden(box, list.length === 0);
  }

  // ------------------------------------------------------------------------------------------
  // Player: one at a time, created on demand (500 idle <video> elements would each hold a
  // connection of the browser's six per host, and the API needs those).

  let openPlayer = null;

  function togglePlayer(entry, index) {
    if (entry.player && entry.player.index === index) {
      closePlayer(entry);
      rerenderControls(entry);
      return;
    }
    if (openPlayer) {
      const other = openPlayer;
      closePlayer(other);
      rerenderControls(other);
    }
    const task = entry.task;
    const file = mediaFiles(task)[index - 1];
    if (!file) return;
    const audio = isAudioFile(file.filename, task);
    const media = document.createElement(audio ? 'audio' : 'video');
    media.controls = true;
    media.preload = 'metadata';
    media.className = audio ? 'player player-audio' : 'player player-video';
    const poster = localThumbnail(task);
    if (!audio && poster) media.poster = poster;
    media.src = '/api/stream/' + encodeURIComponent(file.filename);
    media.setAttribute('aria-label', shorten(file.title || displayTitle(task), 80));
    const problem = make('p', 'card-error');
    problem.hidden = true;
    media.addEventListener('error', () => {
      setText(problem, 'This file cannot be played here. Save it and open it with a media player.');
      problem.hidden = false;
    });
    entry.refs.playerSlot.append(media, problem);
    entry.player = { index, media, problem };
    openPlayer = entry;
    rerenderControls(entry);
    const started = media.play();
    if (started && typeof started.catch === 'function') started.catch(() => { /* the user presses play */ });
    media.focus();
  }

  function closePlayer(entry) {
    const p = entry.player;
    if (!p) return;
    entry.player = null;
    if (openPlayer === entry) openPlayer = null;
    try {
      p.media.pause();
      // Releases the connection and the decoder at once.
      p.media.removeAttribute('src');
      p.media.load();
    } catch (_) {
      // ignore
    }
    p.media.remove();
    p.problem.remove();
  }

  function rerenderControls(entry) {
    entry.actionsKey = '';
    entry.filesKey = '';
    renderActions(entry, entry.task);
    renderFiles(entry, entry.task);
  }

  // ------------------------------------------------------------------------------------------
  // The list

  function newerFirst(a, b) {
    const ta = a.created_at || '';
    const tb = b.created_at || '';
    if (ta !== tb) return ta < tb ? 1 : -1;
    return (b._seq || 0) - (a._seq || 0);
  }

  let seq = 0;

  const RANK = { pending: 0, downloading: 1, processing: 2, completed: 3, error: 3, cancelled: 3 };

  // `next` is older than `cur`. Times have one-second steps, so within one second the order
  // of a run decides: pending → downloading → processing → an end, and progress only grows;
  // from an end only a retry (pending) goes on.
  function isStale(cur, next) {
    if (!cur.updated_at || !next.updated_at) return false;
    if (next.updated_at !== cur.updated_at) return next.updated_at < cur.updated_at;
    const a = RANK[cur.status];
    const b = RANK[next.status];
    if (a === undefined || b === undefined) return false;
    if (a === 3) return b !== 3 && next.status !== 'pending';
    if (b !== a) return b < a;
    return (Number(next.progress) || 0) < (Number(cur.progress) || 0);
  }

  // Adds or updates one task; only its own card is touched.
  function upsert(task, opts) {
    if (!task || typeof task.id !== 'string') return;
    const existing = cards.get(task.id);
    if (existing) {
      const cur = existing.task;
      // A stale copy (an event sent again around a reconnect, or the POST answer arriving
      // after the stream's newer events) must not move a task backwards. Full lists are
      // authoritative and skip this check.
      if (!(opts && opts.authoritative) && isStale(cur, task)) return;
      task._seq = cur._seq;
      renderCard(existing, task);
      if (cur.status !== task.status) updateCounts();
      return;
    }
    task._seq = ++seq;
    const entry = createCard(task);
    renderCard(entry, task);
    cards.set(task.id, entry);
    if (!(opts && opts.deferPlacement)) placeNew(entry);
    updateCounts();
  }

  // A new card goes where its creation time puts it (new downloads: at the top).
  function placeNew(entry) {
    const list = ui.list;
    let before = list.firstElementChild;
    while (before) {
      const other = cards.get(before.dataset.id);
      if (other && newerFirst(entry.task, other.task) < 0) break;
      before = before.nextElementSibling;
    }
    list.insertBefore(entry.el, before);
  }

  function removeTask(id) {
    const entry = cards.get(id);
    if (!entry) return;
    if (entry.player) closePlayer(entry);
    const hadFocus = entry.el.contains(document.activeElement);
    const next = entry.el.nextElementSibling || entry.el.previousElementSibling;
    entry.el.remove();
    cards.delete(id);
    updateCounts();
    if (hadFocus) {
      const target = next && next.querySelector('button, a[href]');
      if (target) target.focus();
      else document.getElementById('tasks-heading').focus();
    }
  }

  // A full list (snapshot or poll): update changed cards, add new, drop gone, fix the order.
  function reconcile(tasks) {
    if (!Array.isArray(tasks)) return;
    const seen = new Set();
    const firstLoad = cards.size === 0;
    tasks.forEach((t) => {
      if (t && typeof t.id === 'string') {
        seen.add(t.id);
        upsert(t, { deferPlacement: true, authoritative: true });
      }
    });
    for (const id of Array.from(cards.keys())) {
      if (!seen.has(id)) removeTask(id);
    }
    const ordered = Array.from(cards.values()).sort((a, b) => newerFirst(a.task, b.task));
    if (firstLoad) {
      const frag = document.createDocumentFragment();
      ordered.forEach((e) => frag.append(e.el));
      ui.list.append(frag);
    } else {
      let cursor = ui.list.firstElementChild;
      ordered.forEach((e) => {
        if (e.el === cursor) {
          cursor = cursor.nextElementSibling;
        } else {
          ui.list.insertBefore(e.el, cursor);
        }
      });
    }
    markLoaded();
    updateCounts();
  }

  function markLoaded() {
    if (loaded) return;
    loaded = true;
    setHidden(ui.loading, true);
    document.documentElement.dataset.loaded = 'true';
    if (window.performance && performance.mark) performance.mark('offlinetube:list-rendered');
  }

  let countsQueued = false;
  function updateCounts() {
    if (countsQueued) return;
    countsQueued = true;
    window.requestAnimationFrame(() => {
      countsQueued = false;
      const n = cards.size;
      setText(ui.count, n ? '(' + n + ')' : '');
      setHidden(ui.empty, !loaded || n > 0);
      const by = {};
      cards.forEach((e) => {
        by[e.task.status] = (by[e.task.status] || 0) + 1;
      });
      const parts = [];
      ['downloading', 'processing', 'pending', 'error', 'cancelled', 'completed'].forEach((s) => {
        if (by[s]) parts.push(by[s] + ' ' + STATUS_LABELS[s].toLowerCase());
      });
      setText(ui.summary, parts.join(' · '));
    });
  }

  // Clicks on any card's buttons (one listener for the whole list).
  ui.list.addEventListener('click', (event) => {
    const target = event.target.closest('[data-action]');
    if (!target || !ui.list.contains(target)) return;
    const card = target.closest('.card');
    const entry = card && cards.get(card.dataset.id);
    if (!entry) return;
    const action = target.dataset.action;
    if (action === 'play') togglePlayer(entry, Number(target.dataset.index) || 1);
    else if (action === 'cancel') cancelTask(entry, target);
    else if (action === 'retry') retryTask(entry, target);
    else if (action === 'remove') confirmRemove(entry);
  });

  function showNotice(entry, text) {
    const n = entry.refs.notice;
    setText(n, text);
    setHidden(n, !text);
    if (text) {
      window.clearTimeout(entry.noticeTimer);
      entry.noticeTimer = window.setTimeout(() => setHidden(n, true), 8000);
    }
  }

  async function cancelTask(entry, btn) {
    btn.disabled = true;
    try {
      const r = await api('/api/downloads/' + encodeURIComponent(entry.task.id), { method: 'DELETE' });
      if (!r.ok) {
        showNotice(entry, 'Could not cancel: ' + (await errorDetail(r)));
      } else {
        announce('Cancelling ' + shorten(displayTitle(entry.task), 80));
        refreshOne(entry.task.id);
      }
    } catch (_) {
      showNotice(entry, 'Could not reach the server to cancel.');
    } finally {
      btn.disabled = false;
    }
  }

  async function retryTask(entry, btn) {
    btn.disabled = true;
    try {
      const r = await api('/api/downloads/' + encodeURIComponent(entry.task.id) + '/retry', { method: 'POST' });
      if (!r.ok) {
        showNotice(entry, 'Could not retry: ' + (await errorDetail(r)));
      } else {
        showNotice(entry, '');
        upsert(await r.json());
        announce('Retrying ' + shorten(displayTitle(entry.task), 80));
      }
    } catch (_) {
      showNotice(entry, 'Could not reach the server to retry.');
    } finally {
      btn.disabled = false;
    }
  }

  async function refreshOne(id) {
    try {
      const r = await api('/api/downloads/' + encodeURIComponent(id));
      if (r.ok) upsert(await r.json());
      else if (r.status === 404) removeTask(id);
    } catch (_) {
      // the event stream or the poll will catch up
    }
  }

  function confirmRemove(entry) {
    const dialog = ui.confirmDialog;
    const name = shorten(displayTitle(entry.task), 120);
    setText(ui.confirmText, '“' + name + '” and its downloaded files will be deleted from the server.');
    dialog.returnValue = '';
    const opener = entry.el.querySelector('[data-action="remove"]');
    const onClose = () => {
      dialog.removeEventListener('close', onClose);
      if (dialog.returnValue === 'remove') removeOnServer(entry);
      else if (opener && opener.isConnected) opener.focus();
    };
    dialog.addEventListener('close', onClose);
    dialog.showModal();
  }

  $('confirm-keep').addEventListener('click', () => ui.confirmDialog.close('cancel'));
  ui.confirmDialog.querySelector('form').addEventListener('submit', (event) => {
    event.preventDefault();
    ui.confirmDialog.close(event.submitter && event.submitter.value === 'remove' ? 'remove' : 'cancel');
  });

  async function removeOnServer(entry) {
    const id = entry.task.id;
    // Stop playback first: the file is about to be deleted under the player.
    if (entry.player) {
      closePlayer(entry);
      rerenderControls(entry);
    }
    entry.el.classList.add('is-removing');
    try {
      const r = await api('/api/downloads/' + encodeURIComponent(id) + '/remove', { method: 'DELETE' });
      if (r.ok || r.status === 404) {
        const name = shorten(displayTitle(entry.task), 80);
        removeTask(id);
        announce('Removed: ' + name);
        scheduleHealth();
      } else {
        entry.el.classList.remove('is-removing');
        showNotice(entry, 'Could not remove: ' + (await errorDetail(r)));
      }
    } catch (_) {
      entry.el.classList.remove('is-removing');
      showNotice(entry, 'Could not reach the server to remove this download.');
    }
  }

  // ------------------------------------------------------------------------------------------
  // Live updates: Server-Sent Events, with polling while the stream is down

  let source = null;
  let pollTimer = null;
  let polling = false;
  let reconnectTimer = null;
  let snapshotTimer = null;
  let lastSnapshotAt = -1;

  function setConnection(state, text) {
    if (ui.connection.dataset.state !== state) ui.connection.dataset.state = state;
    setText(ui.connection, text);
  }

  function connectEvents() {
    if (source) source.close();
    window.clearTimeout(reconnectTimer);
    let es;
    try {
      es = new EventSource('/api/events');
    } catch (_) {
      startPolling();
      return;
    }
    source = es;
    window.clearTimeout(snapshotTimer);
    // No snapshot soon: show the list from a plain request meanwhile.
    snapshotTimer = window.setTimeout(() => {
      if (source === es && !loaded) pollOnce();
    }, 3000);
    es.addEventListener('snapshot', (event) => {
      if (source !== es) return;
      let tasks;
      try {
        tasks = JSON.parse(event.data);
      } catch (_) {
        return;
      }
      stopPolling();
      lastSnapshotAt = performance.now();
      reconcile(tasks);
      setConnection('live', 'Live updates on');
    });
    es.addEventListener('task', (event) => {
      if (source !== es) return;
      try {
        upsert(JSON.parse(event.data));
      } catch (_) {
        // ignore a malformed event
      }
    });
    es.addEventListener('removed', (event) => {
      if (source !== es) return;
      try {
        const data = JSON.parse(event.data);
        if (data && typeof data.id === 'string') removeTask(data.id);
      } catch (_) {
        // ignore
      }
    });
    es.addEventListener('error', () => {
      if (source !== es) return;
      startPolling();
      if (es.readyState === EventSource.CLOSED) {
        // Refused for good (401, 503, wrong type): the poll finds out why; try again later.
        source = null;
        reconnectTimer = window.setTimeout(() => {
          if (!tokenWaiters) connectEvents();
        }, RECONNECT_MS);
      }
    });
  }

  function startPolling() {
    if (pollTimer !== null) return;
    setConnection('polling', 'Live updates interrupted: checking every 2 s');
    pollTimer = window.setInterval(pollOnce, POLL_MS);
    pollOnce();
  }

  function stopPolling() {
    if (pollTimer !== null) {
      window.clearInterval(pollTimer);
      pollTimer = null;
    }
  }

  async function pollOnce() {
    if (polling) return;
    polling = true;
    const asked = performance.now();
    try {
      const r = await api('/api/downloads');
      if (r.ok) {
        const tasks = await r.json();
        // A snapshot that came in meanwhile is newer than this answer.
        if (lastSnapshotAt < asked) reconcile(tasks);
        if (pollTimer !== null) setConnection('polling', 'Live updates interrupted: checking every 2 s');
      } else {
        setConnection('offline', 'The server answered ' + r.status + ': retrying');
      }
    } catch (_) {
      setConnection('offline', 'Cannot reach the server: retrying');
    } finally {
      polling = false;
    }
  }

  // ------------------------------------------------------------------------------------------
  // Health line

  async function refreshHealth() {
    try {
      const r = await fetch('/api/health', { cache: 'no-store' });
      if (!r.ok) throw new Error(String(r.status));
      const h = await r.json();
      const parts = ['offlinetube ' + (h.version || '')];
      parts.push(h.yt_dlp ? 'yt-dlp ' + h.yt_dlp : 'yt-dlp missing');
      parts.push(h.ffmpeg ? 'ffmpeg: yes' : 'ffmpeg: no (single-file formats only)');
      if (typeof h.downloads_dir_free_bytes === 'number') parts.push(formatBytes(h.downloads_dir_free_bytes) + ' free');
      setText(ui.health, parts.join(' · '));
      setHidden(ui.ytdlpBanner, Boolean(h.yt_dlp));
    } catch (_) {
      setText(ui.health, 'Server status unavailable.');
    }
  }

  // Free space changes when a download finishes or is removed.
  let healthTimer = null;
  function scheduleHealth() {
    window.clearTimeout(healthTimer);
    healthTimer = window.setTimeout(refreshHealth, 1000);
  }

  // ------------------------------------------------------------------------------------------
  // The form

  function fillQualities() {
    const audio = ui.typeAudio.checked;
    const wanted = audio ? AUDIO_QUALITIES : VIDEO_QUALITIES;
    const keep = ui.quality.value;
    ui.quality.replaceChildren();
    wanted.forEach(([value, label]) => {
      const o = document.createElement('option');
      o.value = value;
      o.textContent = label;
      ui.quality.append(o);
    });
    if (wanted.some(([v]) => v === keep)) ui.quality.value = keep;
    setHidden(ui.audioField, !audio);
    ui.audioFormat.disabled = !audio;
  }

  ui.typeVideo.addEventListener('change', fillQualities);
  ui.typeAudio.addEventListener('change', fillQualities);

  function showFormError(text) {
    setText(ui.formError, text);
    setHidden(ui.formError, !text);
    if (text) ui.url.setAttribute('aria-invalid', 'true');
    else ui.url.removeAttribute('aria-invalid');
  }

  ui.url.addEventListener('input', () => {
    if (!ui.formError.hidden) showFormError('');
  });

  ui.form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const url = ui.url.value.trim();
    if (!url) {
      showFormError('Paste the link of a video or playlist first.');
      ui.url.focus();
      return;
    }
    showFormError('');
    const audio = ui.typeAudio.checked;
    const body = { url, download_type: audio ? 'audio' : 'video', quality: ui.quality.value };
    if (audio) body.audio_format = ui.audioFormat.value;
    ui.addButton.disabled = true;
    ui.form.setAttribute('aria-busy', 'true');
    // The event stream may deliver a new task before this answer: what was listed before the
    // request tells a new download from one the server already had running.
    const before = new Set(cards.keys());
    try {
      const r = await api('/api/download', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (!r.ok) {
        showFormError(await errorDetail(r));
        ui.url.focus();
        return;
      }
      const task = await r.json();
      const known = before.has(task.id);
      markLoaded();
      upsert(task);
      ui.url.value = '';
      announce(known ? 'That link is already being downloaded.' : 'Added: ' + shorten(url, 80));
      const entry = cards.get(task.id);
      if (entry) {
        entry.el.classList.remove('is-new');
        void entry.el.offsetWidth; // restart the highlight animation
        entry.el.classList.add('is-new');
        if (known) showNotice(entry, 'Already in the list with these options.');
      }
    } catch (_) {
      showFormError('Could not reach the server. Check that it is running and try again.');
    } finally {
      ui.addButton.disabled = false;
      ui.form.removeAttribute('aria-busy');
    }
  });

  // ------------------------------------------------------------------------------------------
  // Bookmarklet and ?url=

  function setUpBookmarklet() {
    const target = location.origin + '/?url=';
    const code = "(function(){var u='" + target.replace(/\\/g, '\\\\').replace(/'/g, "\\'") +
      "'+encodeURIComponent(location.href);var w=window.open(u,'_blank');if(!w)location.href=u;})()";
    ui.bookmarklet.href = 'javascript:' + code;
    // Running it here would only add this page, and the CSP forbids javascript: URLs anyway.
    ui.bookmarklet.addEventListener('click', (event) => {
      event.preventDefault();
      ui.bookmarkletHint.classList.add('is-highlighted');
      announce('Drag the “Add to offlinetube” link to your bookmarks bar, then click it on a video page.');
      window.setTimeout(() => ui.bookmarkletHint.classList.remove('is-highlighted'), 2000);
    });
  }

  function prefillFromQuery() {
    const params = new URLSearchParams(location.search);
    const url = params.get('url');
    if (!url) return;
    ui.url.value = url;
    params.delete('url');
    const rest = params.toString();
    history.replaceState(null, '', location.pathname + (rest ? '?' + rest : '') + location.hash);
    ui.addButton.focus();
  }

  // ------------------------------------------------------------------------------------------
  // Start

  fillQualities();
  setUpBookmarklet();
  prefillFromQuery();
  connectEvents();
  refreshHealth();
  window.setInterval(refreshHealth, HEALTH_MS);
})();
