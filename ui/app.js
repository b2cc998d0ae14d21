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
    subs: $('subs-input'),
    lookupButton: $('lookup-button'),
    lookup: $('lookup'),
    lookupStatus: $('lookup-status'),
    lookupError: $('lookup-error'),
    lookupResult: $('lookup-result'),
    lookupTitle: $('lookup-title'),
    lookupMeta: $('lookup-meta'),
    lookupClose: $('lookup-close'),
    formatField: $('format-field'),
    formatList: $('format-list'),
    formatHint: $('format-hint'),
    playlistBox: $('playlist-box'),
    playlistCount: $('playlist-count'),
    playlistEntries: $('playlist-entries'),
    settings: $('settings'),
    cookiesStatus: $('cookies-status'),
    cookiesFile: $('cookies-file'),
    cookiesRemove: $('cookies-remove'),
    cookiesError: $('cookies-error'),
    ytdlpVersion: $('ytdlp-version'),
    settingsUpdate: $('settings-update'),
    updateStatus: $('ytdlp-update-status'),
    staleBanner: $('stale-banner'),
    staleWarnings: $('stale-warnings'),
    staleUpdate: $('stale-update'),
    updateBanner: $('update-banner'),
    updateResult: $('update-result'),
    updateOutputBox: $('update-output-box'),
    updateOutput: $('update-output'),
    updateDismiss: $('update-dismiss'),
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

  // `{detail, code}` of an error answer; a readable detail whatever the body was.
  async function errorInfo(response) {
    let code = '';
    try {
      const body = await response.json();
      if (body && typeof body.code === 'string') code = body.code;
      if (body && typeof body.detail === 'string' && body.detail) return { detail: body.detail, code };
    } catch (_) {
      // not JSON: fall through
    }
    const detail = 'The server answered ' + response.status + (response.statusText ? ' ' + response.statusText : '') + '.';
    return { detail, code };
  }

  async function errorDetail(response) {
    return (await errorInfo(response)).detail;
  }

  function plural(n, one, many) {
    return n + ' ' + (n === 1 ? one : many);
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
    const subs = make('p', 'card-subs');
    subs.hidden = true;
    const playerSlot = make('div', 'player-slot');

    const foot = make('div', 'card-foot');
    body.append(title, source, meta);
    foot.append(progressRow, error, notice, actions, files, subs);
    el.append(thumb, body, foot, playerSlot);

    const entry = {
      task: null,
      el,
      refs: { thumb, placeholder, img: null, title, source, status, details, time, progress, percent, speed, eta, error, notice, actions, files, subs, playerSlot },
      player: null,
      actionsKey: '',
      filesKey: '',
      subsKey: '',
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
    renderSubs(entry, task);

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

  // Subtitle files the server wrote (`{lang, filename}`), each a download link.
  function subtitlesOf(task) {
    if (task.status !== 'completed' || !Array.isArray(task.subtitles)) return [];
    return task.subtitles.filter((s) => s && typeof s.filename === 'string' && s.filename && typeof s.lang === 'string');
  }

  // The subtitles of one media file: all of them for a single video, those named after the
  // entry's file (`<stem>.<lang>.vtt`) in a playlist.
  function subtitlesFor(task, file) {
    const subs = subtitlesOf(task);
    if (mediaFiles(task).length <= 1) return subs;
    const stem = file.filename.replace(/\.[^.]*$/, '');
    return subs.filter((s) => s.filename.startsWith(stem + '.'));
  }

  function subtitleUrl(sub) {
    return '/api/stream/' + encodeURIComponent(sub.filename);
  }

  function renderSubs(entry, task) {
    const subs = subtitlesOf(task);
    const asked = Array.isArray(task.subtitle_langs) ? task.subtitle_langs.filter((l) => typeof l === 'string') : [];
    const files = mediaFiles(task);
    const key = [task.status, asked.join(','), subs.map((x) => x.lang + '\t' + x.filename).join('\n')].join('|');
    if (entry.subsKey === key) return;
    entry.subsKey = key;
    const box = entry.refs.subs;
    box.replaceChildren();
    if (subs.length) {
      box.append(make('span', 'card-subs-label', 'Subtitles:'));
      subs.forEach((sub) => {
        // In a playlist, say which entry a file belongs to.
        let label = sub.lang;
        if (files.length > 1) {
          const i = files.findIndex((f) => sub.filename.startsWith(f.filename.replace(/\.[^.]*$/, '') + '.'));
          if (i >= 0) label += ' (' + (i + 1) + ')';
        }
        const a = make('a', 'btn btn-small sub-link', label);
        a.href = subtitleUrl(sub);
        a.setAttribute('download', '');
        a.dataset.action = 'subtitle';
        a.title = sub.filename;
        a.setAttribute('aria-label', 'Save the ' + label + ' subtitles');
        box.append(a);
      });
    } else if (task.status === 'completed' && asked.length) {
      box.append(make('span', 'card-subs-none', 'No subtitles found for ' + asked.join(', ') + '.'));
    }
    setHidden(box, box.childElementCount === 0);
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
    if (!audio) {
      // One <track> per subtitle file (served as text/vtt); the first is shown.
      subtitlesFor(task, file).forEach((sub, i) => {
        const track = document.createElement('track');
        track.kind = 'subtitles';
        track.srclang = sub.lang;
        track.label = sub.lang;
        track.src = subtitleUrl(sub);
        if (i === 0) track.default = true;
        media.append(track);
      });
    }
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

  let lastHealth = null;

  async function refreshHealth() {
    try {
      const r = await fetch('/api/health', { cache: 'no-store' });
      if (!r.ok) throw new Error(String(r.status));
      const h = await r.json();
      lastHealth = h;
      const parts = ['offlinetube ' + (h.version || '')];
      parts.push(h.yt_dlp ? 'yt-dlp ' + h.yt_dlp : 'yt-dlp missing');
      parts.push(h.ffmpeg ? 'ffmpeg: yes' : 'ffmpeg: no (single-file formats only)');
      if (typeof h.downloads_dir_free_bytes === 'number') parts.push(formatBytes(h.downloads_dir_free_bytes) + ' free');
      setText(ui.health, parts.join(' · '));
      setHidden(ui.ytdlpBanner, Boolean(h.yt_dlp));
      renderFreshness(h);
    } catch (_) {
      setText(ui.health, 'Server status unavailable.');
    }
  }

  // ------------------------------------------------------------------------------------------
  // yt-dlp freshness: the health warnings in a banner, and "Update yt-dlp"

  let updating = false;

  // The API's hint for programs means nothing on the page, where the button is.
  function warningText(w) {
    const text = w.replace(/\s*\(POST \/api\/ytdlp\/update\)/, '').trim();
    return /[.!?]$/.test(text) ? text : text + '.';
  }

  function renderFreshness(h) {
    const warnings = Array.isArray(h.warnings) ? h.warnings.filter((w) => typeof w === 'string' && w) : [];
    // A missing yt-dlp has its own banner; this one is for a yt-dlp that runs but is stale.
    const show = Boolean(h.yt_dlp) && warnings.length > 0;
    const key = warnings.join('\n');
    if (ui.staleWarnings.dataset.key !== key) {
      ui.staleWarnings.dataset.key = key;
      ui.staleWarnings.replaceChildren(...warnings.map((w) => make('li', '', warningText(w))));
    }
    // While an update runs the banner stays, with its "Updating…" button.
    if (!updating) setHidden(ui.staleBanner, !show);
    let version = 'Not found on the server.';
    if (h.yt_dlp) {
      const age = Number.isInteger(h.yt_dlp_age_days) ? h.yt_dlp_age_days : null;
      version = 'Version ' + h.yt_dlp + (age === null ? '' : age === 0 ? ' (released today)' : ' (' + plural(age, 'day', 'days') + ' old)') + '.';
    }
    setText(ui.ytdlpVersion, version);
  }

  const UPDATE_BUTTONS = [ui.staleUpdate, ui.settingsUpdate];

  function showUpdateResult(ok, text, lines) {
    ui.updateBanner.classList.toggle('banner-ok', ok);
    ui.updateBanner.classList.toggle('banner-error', !ok);
    setText(ui.updateResult, text);
    const output = Array.isArray(lines) ? lines.filter((l) => typeof l === 'string').join('\n') : '';
    setText(ui.updateOutput, output);
    setHidden(ui.updateOutputBox, !output);
    ui.updateOutputBox.open = false;
    setHidden(ui.updateBanner, false);
    // Also where the Settings button is, which may be far below the banner.
    setText(ui.updateStatus, text);
    ui.updateStatus.dataset.ok = String(ok);
  }

  async function updateYtdlp() {
    if (updating) return;
    updating = true;
    const opener = UPDATE_BUTTONS.includes(document.activeElement) ? document.activeElement : null;
    UPDATE_BUTTONS.forEach((b) => {
      b.disabled = true;
      b.setAttribute('aria-busy', 'true');
      setText(b, 'Updating…');
    });
    setHidden(ui.updateBanner, true);
    setText(ui.updateStatus, 'Updating… this can take a minute.');
    ui.updateStatus.dataset.ok = '';
    announce('Updating yt-dlp. This can take a minute.');
    let retryHealth = false;
    try {
      const r = await api('/api/ytdlp/update', { method: 'POST' });
      if (r.ok) {
        const u = await r.json();
        const oldV = u && u.old_version;
        const newV = u && u.new_version;
        let text;
        if (!newV) text = 'The update ran, but yt-dlp does not answer any more. Check the server.';
        else if (oldV && oldV === newV) text = 'yt-dlp is already up to date: ' + newV + '.';
        else text = 'yt-dlp updated' + (oldV ? ' from ' + oldV : '') + ' to ' + newV + '.';
        showUpdateResult(Boolean(newV), text, u && u.output);
      } else {
        const e = await errorInfo(r);
        if (r.status === 409) {
          showUpdateResult(false, 'An update is already running. This page checks again in a few seconds.', null);
          retryHealth = true;
        } else {
          showUpdateResult(false, 'The update failed: ' + e.detail, null);
        }
      }
    } catch (_) {
      showUpdateResult(false, 'Could not reach the server to update yt-dlp.', null);
    } finally {
      updating = false;
      UPDATE_BUTTONS.forEach((b) => {
        b.disabled = false;
        b.removeAttribute('aria-busy');
        setText(b, 'Update yt-dlp');
      });
      announce(ui.updateResult.textContent);
      await refreshHealth();
      // Disabling the button dropped its focus; give it back, or to the result when the
      // banner holding the button went away.
      if (opener) {
        if (opener === ui.staleUpdate && ui.staleBanner.hidden) ui.updateDismiss.focus();
        else opener.focus();
      }
      if (retryHealth) window.setTimeout(refreshHealth, 5000);
    }
  }

  UPDATE_BUTTONS.forEach((b) => b.addEventListener('click', updateYtdlp));
  ui.updateDismiss.addEventListener('click', () => setHidden(ui.updateBanner, true));

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
    syncFormatChoice();
  }

  ui.typeVideo.addEventListener('change', fillQualities);
  ui.typeAudio.addEventListener('change', fillQualities);

  // The message goes next to the form; `field` (the URL unless told otherwise, `null` for
  // none) is marked invalid.
  function showFormError(text, field) {
    const bad = text ? (field === undefined ? ui.url : field) : null;
    setText(ui.formError, text);
    setHidden(ui.formError, !text);
    [ui.url, ui.subs].forEach((el) => {
      if (el === bad) el.setAttribute('aria-invalid', 'true');
      else el.removeAttribute('aria-invalid');
    });
  }

  ui.url.addEventListener('input', () => {
    if (!ui.formError.hidden) showFormError('');
    // Formats belong to the link they were looked up for.
    const url = ui.url.value.trim();
    if ((lookup && lookup.url !== url) || (lookupPending && lookupPending.url !== url)) clearLookup();
  });

  ui.subs.addEventListener('input', () => {
    if (!ui.formError.hidden && ui.subs.getAttribute('aria-invalid') === 'true') showFormError('');
  });

  // "en, es" or "en es" → ["en", "es"]; the server checks the codes.
  function subtitleLangs() {
    const langs = [];
    ui.subs.value.split(/[\s,;]+/).forEach((l) => {
      if (l && !langs.includes(l)) langs.push(l);
    });
    return langs;
  }

  // ------------------------------------------------------------------------------------------
  // Look up a link first: title, length, uploader and its formats (POST /api/info)

  // What the server accepts as format_id.
  const FORMAT_ID_RE = /^[A-Za-z0-9_+\-\[\]<=>/.,:!*?]{1,200}$/;
  const KIND_LABELS = {
    av: 'Video and audio',
    v: 'Video only (the best audio is added)',
    a: 'Audio only',
  };

  let lookup = null; // { url, info }: the result on show
  let lookupPending = null; // { url, run, controller }: a look-up waiting for its answer
  let lookupRun = 0;

  function formatKind(f) {
    if (f.has_video && f.has_audio) return 'av';
    return f.has_video ? 'v' : 'a';
  }

  function shortCodec(c) {
    return typeof c === 'string' && c && c !== 'none' ? c.split('.')[0] : '';
  }

  function formatMain(f) {
    if (f.has_video) {
      const bits = [];
      if (Number.isInteger(f.height) && f.height > 0) bits.push(f.height + 'p');
      else if (f.resolution) bits.push(String(f.resolution));
      else bits.push('Video');
      // 24–30 fps is the norm; only a higher rate is worth a word.
      if (typeof f.fps === 'number' && f.fps > 31) bits.push(Math.round(f.fps) + ' fps');
      return bits.join(' · ');
    }
    return 'Audio' + (f.format_note ? ' · ' + f.format_note : '');
  }

  function formatDetail(f) {
    const bits = [];
    if (f.ext) bits.push(String(f.ext));
    const codecs = [shortCodec(f.vcodec), shortCodec(f.acodec)].filter(Boolean).join(' + ');
    if (codecs) bits.push(codecs);
    if (f.has_video) {
      if (Number.isInteger(f.width) && Number.isInteger(f.height)) bits.push(f.width + '×' + f.height);
      if (f.format_note && !String(f.format_note).startsWith(f.height + 'p')) bits.push(String(f.format_note));
    }
    bits.push(f.filesize_formatted ? String(f.filesize_formatted) : 'size unknown');
    return bits.join(' · ');
  }

  // What goes to POST /api/download for a chosen format: a video-only one gets the best
  // audio merged in (falling back to the format alone), when the server can merge.
  function formatSelector(f) {
    const id = f.format_id;
    if (formatKind(f) === 'v' && !(lastHealth && lastHealth.ffmpeg === false)) return id + '+ba/' + id;
    return id;
  }

  function chosenFormat(url) {
    if (!lookup || lookup.url !== url) return null;
    const radio = ui.formatList.querySelector('input[name="format_choice"]:checked');
    if (!radio || radio.value === '') return null;
    const f = lookup.info.formats[Number(radio.dataset.index)];
    return f && typeof f.format_id === 'string' && FORMAT_ID_RE.test(formatSelector(f)) ? f : null;
  }

  // Quality does nothing while a format is chosen: say so and grey it out.
  function syncFormatChoice() {
    const f = chosenFormat(ui.url.value.trim());
    ui.quality.disabled = Boolean(f);
    let hint = 'Automatic picks the best format for the Quality setting.';
    if (f) {
      hint = 'Format ' + f.format_id + ' replaces the Quality setting.';
      if (formatKind(f) === 'v') {
        hint += lastHealth && lastHealth.ffmpeg === false
          ? ' The server has no ffmpeg, so this video-only format stays without sound.'
          : ' The best audio is merged in.';
      }
    }
    setText(ui.formatHint, hint);
  }

  function clearLookup() {
    lookupRun += 1;
    if (lookupPending) lookupPending.controller.abort();
    lookupPending = null;
    lookup = null;
    ui.lookupButton.removeAttribute('aria-busy');
    setText(ui.lookupButton, 'Look up');
    ui.lookup.removeAttribute('aria-busy');
    ui.formatList.replaceChildren();
    ui.playlistEntries.replaceChildren();
    setHidden(ui.lookup, true);
    syncFormatChoice();
  }

  function showLookupError(text) {
    ui.lookup.dataset.state = 'error';
    setText(ui.lookupStatus, '');
    setText(ui.lookupError, text);
    setHidden(ui.lookupError, false);
    setHidden(ui.lookupResult, true);
    setHidden(ui.lookup, false);
  }

  function lookupErrorText(status, e) {
    if (status === 502) return 'yt-dlp could not read this link: ' + e.detail;
    if (status === 504) return 'The site took too long to answer: ' + e.detail;
    if (status === 503) return 'Cannot look links up right now: ' + e.detail;
    return e.detail;
  }

  function formatOption(f, index) {
    const label = make('label', 'format-option');
    const radio = document.createElement('input');
    radio.type = 'radio';
    radio.name = 'format_choice';
    radio.value = typeof f.format_id === 'string' ? f.format_id : '';
    radio.dataset.index = String(index);
    const usable = Boolean(radio.value) && FORMAT_ID_RE.test(formatSelector(f));
    radio.disabled = !usable;
    const text = make('span', 'format-text');
    text.append(make('span', 'format-main', formatMain(f)), make('span', 'format-detail', formatDetail(f) + (usable ? '' : ' · cannot be chosen')));
    label.append(radio, text);
    return label;
  }

  function renderLookup(url, info) {
    lookup = { url, info };
    ui.lookup.dataset.state = 'result';
    if (!Array.isArray(info.formats)) info.formats = [];
    setText(ui.lookupStatus, '');
    setHidden(ui.lookupError, true);
    const title = typeof info.title === 'string' && info.title.trim() ? info.title : url;
    setText(ui.lookupTitle, title);
    ui.lookupTitle.title = title;
    const meta = [];
    if (info.is_playlist) meta.push('Playlist');
    if (info.duration_formatted) meta.push('Length ' + info.duration_formatted);
    if (info.uploader) meta.push('By ' + info.uploader);
    if (!info.is_playlist || info.formats.length) meta.push(plural(info.formats.length, 'format', 'formats'));
    setText(ui.lookupMeta, meta.join(' · '));

    // Formats, in the server's order (video+audio, video only, audio only), with a heading
    // where the kind changes. "Automatic" first, chosen unless the user picks one.
    const list = ui.formatList;
    list.replaceChildren();
    if (info.formats.length) {
      const auto = make('label', 'format-option format-auto');
      const radio = document.createElement('input');
      radio.type = 'radio';
      radio.name = 'format_choice';
      radio.value = '';
      radio.checked = true;
      const text = make('span', 'format-text');
      text.append(make('span', 'format-main', 'Automatic'), make('span', 'format-detail', 'the best match for Save as and Quality'));
      auto.append(radio, text);
      list.append(auto);
      let kind = '';
      info.formats.forEach((f, i) => {
        if (!f || typeof f !== 'object') return;
        const k = formatKind(f);
        if (k !== kind) {
          kind = k;
          list.append(make('p', 'format-group', KIND_LABELS[k]));
        }
        list.append(formatOption(f, i));
      });
    }
    setHidden(ui.formatField, info.formats.length === 0);

    // A playlist: how many, and their titles.
    const entries = Array.isArray(info.entries) ? info.entries : [];
    const count = Number.isInteger(info.count) ? info.count : entries.length;
    ui.playlistEntries.replaceChildren();
    if (info.is_playlist) {
      setText(ui.playlistCount, plural(count, 'video', 'videos') + ' in this playlist; all of them are downloaded.');
      const MAX = 100;
      entries.slice(0, MAX).forEach((e, i) => {
        const t = e && typeof e.title === 'string' && e.title.trim() ? e.title : (e && e.url) || 'Video ' + (i + 1);
        const li = make('li', '', t);
        if (e && e.duration) li.append(make('span', 'playlist-duration', ' · ' + formatClock(e.duration)));
        ui.playlistEntries.append(li);
      });
      if (entries.length > MAX) ui.playlistEntries.append(make('li', 'playlist-more', '…and ' + (entries.length - MAX) + ' more'));
    }
    setHidden(ui.playlistBox, !info.is_playlist);
    setHidden(ui.lookupResult, false);
    setHidden(ui.lookup, false);
    syncFormatChoice();
    announce('Found: ' + shorten(title, 80) + (info.is_playlist ? ', a playlist of ' + count : ', ' + plural(info.formats.length, 'format', 'formats')));
  }

  function formatClock(seconds) {
    const n = Math.max(0, Math.round(Number(seconds) || 0));
    const h = Math.floor(n / 3600);
    const m = Math.floor((n % 3600) / 60);
    const sec = String(n % 60).padStart(2, '0');
    return h ? h + ':' + String(m).padStart(2, '0') + ':' + sec : m + ':' + sec;
  }

  async function runLookup() {
    const url = ui.url.value.trim();
    if (!url) {
      showFormError('Paste the link of a video or playlist first.');
      ui.url.focus();
      return;
    }
    // The same link is already being looked up: wait for that answer.
    if (lookupPending && lookupPending.url === url) return;
    clearLookup();
    showFormError('');
    const run = lookupRun;
    const controller = new AbortController();
    lookupPending = { url, run, controller };
    ui.lookup.dataset.state = 'busy';
    setText(ui.lookupStatus, 'Looking up… (yt-dlp can take a few seconds)');
    setHidden(ui.lookupError, true);
    setHidden(ui.lookupResult, true);
    setHidden(ui.lookup, false);
    ui.lookup.setAttribute('aria-busy', 'true');
    ui.lookupButton.setAttribute('aria-busy', 'true');
    setText(ui.lookupButton, 'Looking up…');
    try {
      const r = await api('/api/info', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ url }),
        signal: controller.signal,
      });
      if (run !== lookupRun) return;
      if (!r.ok) {
        const e = await errorInfo(r);
        if (run !== lookupRun) return;
        showLookupError(lookupErrorText(r.status, e));
        if (e.code === 'invalid_url') ui.url.setAttribute('aria-invalid', 'true');
        announce('Look-up failed.');
        return;
      }
      const info = await r.json();
      if (run !== lookupRun) return;
      renderLookup(url, info && typeof info === 'object' ? info : {});
    } catch (e) {
      if (run !== lookupRun || (e && e.name === 'AbortError')) return;
      showLookupError('Could not reach the server to look this link up.');
    } finally {
      if (run === lookupRun) {
        lookupPending = null;
        ui.lookup.removeAttribute('aria-busy');
        ui.lookupButton.removeAttribute('aria-busy');
        setText(ui.lookupButton, 'Look up');
      }
    }
  }

  ui.lookupButton.addEventListener('click', runLookup);
  ui.lookupClose.addEventListener('click', () => {
    clearLookup();
    ui.lookupButton.focus();
  });

  // Choosing a format fits "Save as" to it: audio only → Audio, anything with video → Video.
  ui.formatList.addEventListener('change', (event) => {
    const radio = event.target;
    if (!radio || radio.name !== 'format_choice') return;
    const f = chosenFormat(ui.url.value.trim());
    if (f) {
      const audio = formatKind(f) === 'a';
      if (audio !== ui.typeAudio.checked) {
        (audio ? ui.typeAudio : ui.typeVideo).checked = true;
        fillQualities();
      }
    }
    syncFormatChoice();
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
    const format = chosenFormat(url);
    if (format) body.format_id = formatSelector(format);
    const langs = subtitleLangs();
    if (langs.length) body.subtitles = langs;
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
        const e = await errorInfo(r);
        // Only a field the server named is marked invalid (not the link when, say, yt-dlp is
        // missing); focus goes back where the user can act.
        const field = e.code === 'invalid_subtitles' ? ui.subs : e.code === 'invalid_url' ? ui.url : null;
        showFormError(e.detail, field);
        (field || ui.url).focus();
        return;
      }
      const task = await r.json();
      const known = before.has(task.id);
      markLoaded();
      upsert(task);
      ui.url.value = '';
      clearLookup();
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
  // Settings: the cookies file handed to yt-dlp (never a cookie value, only counts and domains)

  // Past this a file cannot be a cookies.txt worth sending (the server takes 1 MiB and says so).
  const COOKIES_READ_LIMIT = 16 * 1024 * 1024;
  let cookiesBusy = false;

  function showCookies(c) {
    const present = Boolean(c && c.present);
    let text = 'No cookies file.';
    if (present) {
      const domains = Array.isArray(c.domains) ? c.domains.filter((d) => typeof d === 'string') : [];
      const MAX = 8;
      let names = domains.slice(0, MAX).join(', ');
      if (domains.length > MAX) names += ' and ' + (domains.length - MAX) + ' more';
      text = plural(Number(c.cookies) || 0, 'cookie', 'cookies') + (names ? ' for ' + names : '') + '.';
    }
    setText(ui.cookiesStatus, text);
    ui.cookiesStatus.dataset.present = String(present);
    setHidden(ui.cookiesRemove, !present);
  }

  function showCookiesError(text) {
    setText(ui.cookiesError, text);
    setHidden(ui.cookiesError, !text);
  }

  async function refreshCookies() {
    try {
      const r = await api('/api/cookies');
      if (r.ok) showCookies(await r.json());
      else setText(ui.cookiesStatus, 'Cannot tell: ' + (await errorDetail(r)));
    } catch (_) {
      setText(ui.cookiesStatus, 'Cannot tell: the server is out of reach.');
    }
  }

  function setCookiesBusy(busy) {
    cookiesBusy = busy;
    ui.cookiesFile.disabled = busy;
    ui.cookiesRemove.disabled = busy;
    if (busy) ui.settings.setAttribute('aria-busy', 'true');
    else ui.settings.removeAttribute('aria-busy');
  }

  ui.settings.addEventListener('toggle', () => {
    if (ui.settings.open) refreshCookies();
  });

  ui.cookiesFile.addEventListener('change', async () => {
    const file = ui.cookiesFile.files && ui.cookiesFile.files[0];
    if (!file || cookiesBusy) return;
    showCookiesError('');
    if (file.size > COOKIES_READ_LIMIT) {
      showCookiesError('“' + file.name + '” is ' + formatBytes(file.size) + ': far too large for a cookies.txt (the limit is 1 MiB).');
      ui.cookiesFile.value = '';
      return;
    }
    setCookiesBusy(true);
    const had = ui.cookiesStatus.textContent;
    setText(ui.cookiesStatus, 'Uploading…');
    try {
      let text;
      try {
        text = await file.text();
      } catch (_) {
        showCookiesError('Could not read “' + file.name + '”.');
        setText(ui.cookiesStatus, had);
        return;
      }
      const r = await api('/api/cookies', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: text });
      if (r.ok) {
        const c = await r.json();
        showCookies(c);
        announce('Cookies saved. ' + ui.cookiesStatus.textContent);
      } else {
        const e = await errorInfo(r);
        setText(ui.cookiesStatus, had);
        showCookiesError(r.status === 413
          ? '“' + file.name + '” is too large for a cookies file: ' + e.detail
          : '“' + file.name + '” was not accepted: ' + e.detail);
        // What is stored did not change, but say what it is now.
        refreshCookies();
      }
    } catch (_) {
      setText(ui.cookiesStatus, had);
      showCookiesError('Could not reach the server to upload the cookies.');
    } finally {
      // The same file can be chosen again after a fix.
      ui.cookiesFile.value = '';
      setCookiesBusy(false);
    }
  });

  ui.cookiesRemove.addEventListener('click', async () => {
    if (cookiesBusy) return;
    showCookiesError('');
    setCookiesBusy(true);
    let removed = false;
    try {
      const r = await api('/api/cookies', { method: 'DELETE' });
      if (r.ok) {
        showCookies(await r.json());
        announce('Cookies removed.');
        removed = true;
      } else {
        showCookiesError('Could not remove the cookies: ' + (await errorDetail(r)));
      }
    } catch (_) {
      showCookiesError('Could not reach the server to remove the cookies.');
    } finally {
      setCookiesBusy(false);
    }
    // The button is gone: the upload control is the next thing to use.
    if (removed) ui.cookiesFile.focus();
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
