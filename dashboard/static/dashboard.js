// The dashboard page: one EventSource to /events (the whole state on connect, then one update per
// second); the browser reconnects by itself when `up` restarts. Charts are uPlot, served by `up`.
(() => {
  const HISTORY = 900;
  const COLOURS = ['#2563eb', '#16a34a', '#d97706', '#9333ea', '#dc2626', '#0891b2'];

  // The token (when `up` requires one) arrives in the address once; keep it for this tab only and
  // take it out of the address bar so it is not bookmarked, shared or screenshotted.
  const params = new URLSearchParams(location.search);
  if (params.has('token')) {
    sessionStorage.setItem('totesys-cdc-token', params.get('token'));
    params.delete('token');
    history.replaceState(null, '', location.pathname + (params.toString() ? `?${params}` : ''));
  }
  const token = sessionStorage.getItem('totesys-cdc-token');
  const query = token ? `?token=${encodeURIComponent(token)}` : '';

  const $ = (id) => document.getElementById(id);
  const seconds = (ms) => (ms === null || ms === undefined ? null : ms / 1000);
  const fmtMs = (ms) => (ms === null || ms === undefined ? '–' : ms < 1000 ? `${Math.round(ms)} ms` : ms < 120000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 60000).toFixed(1)} min`);
  const fmtCount = (n) => (n === null || n === undefined ? '–' : Number(n).toLocaleString('en'));
  const fmtBytes = (b) => (b === null || b === undefined ? '–' : b < 1024 ? `${b} B` : b < 1048576 ? `${(b / 1024).toFixed(1)} KiB` : `${(b / 1048576).toFixed(1)} MiB`);

  /** Chart definitions: each series takes its value from a sample. */
  const charts = {
    throughput: {
      series: [
        { label: 'source changes/s', value: (s) => s.sourceChangesPerSec },
        { label: 'capture events/s', value: (s) => s.captureEventsPerSec },
        { label: 'processor events/s', value: (s) => s.processorEventsPerSec },
        { label: 'loader rows/s', value: (s) => s.loaderRowsPerSec },
      ],
    },
    freshness: {
      series: [
        { label: 'now (s)', value: (s) => seconds(s.freshnessMs) },
        { label: 'p50 (s)', value: (s) => seconds(s.freshnessP50Ms) },
        { label: 'p99 (s)', value: (s) => seconds(s.freshnessP99Ms) },
        { label: 'watermark age (s)', value: (s) => seconds(s.watermarkAgeMs) },
      ],
    },
    slot: { series: [{ label: 'slot lag', value: (s) => s.slotLagBytes, format: fmtBytes }] },
    consumers: { series: [] }, // one series per consumer, made from the data
    batch: { series: [{ label: 'batch duration (ms)', value: (s) => s.batchDurationMs }] },
    quarantine: { series: [{ label: 'quarantined', value: (s) => s.quarantined }] },
  };

  let samples = [];

  function consumersOf(list) {
    const names = new Set();
    for (const s of list) for (const name of Object.keys(s.consumerLagRecords || {})) names.add(name);
    return [...names].sort();
  }

  function defineConsumerSeries(names) {
    charts.consumers.series = names.map((name) => ({ label: name, value: (s) => (s.consumerLagRecords && name in s.consumerLagRecords ? s.consumerLagRecords[name] : null) }));
    charts.consumers.names = names.join(',');
  }

  function dataOf(chart) {
    return [samples.map((s) => s.atMs / 1000), ...chart.series.map((series) => samples.map((s) => { const v = series.value(s); return v === undefined ? null : v; }))];
  }

  function build(name) {
    const chart = charts[name];
    const host = $(`chart-${name}`);
    if (chart.plot) {
      chart.plot.destroy();
      chart.plot = null;
    }
    const width = Math.max(300, host.clientWidth - 16);
    chart.plot = new uPlot(
      {
        width,
        height: 200,
        legend: { live: true },
        scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min ?? 0), Math.max(1, (max ?? 1) * 1.1)] } },
        axes: [{}, { size: 70, values: chart.series[0]?.format ? (_u, ticks) => ticks.map(chart.series[0].format) : undefined }],
        series: [{}, ...chart.series.map((series, i) => ({ label: series.label, stroke: COLOURS[i % COLOURS.length], width: 1.5, spanGaps: false }))],
      },
      dataOf(chart),
      host,
    );
    host.dataset.points = String(samples.length);
  }

  function redraw() {
    const names = consumersOf(samples).join(',');
    if (names !== charts.consumers.names) {
      defineConsumerSeries(names ? names.split(',') : []);
      build('consumers');
    }
    for (const name of Object.keys(charts)) {
      const chart = charts[name];
      if (!chart.plot) build(name);
      else chart.plot.setData(dataOf(chart));
      const host = $(`chart-${name}`);
      host.dataset.points = String(samples.filter((s) => chart.series.some((series) => series.value(s) !== null && series.value(s) !== undefined)).length);
      // The newest point's values, for people reading the DOM (and the browser test).
      const last = samples[samples.length - 1];
      host.dataset.last = JSON.stringify(Object.fromEntries(chart.series.map((series) => [series.label, last ? (series.value(last) ?? null) : null])));
    }
  }

  function text(id, value) {
    $(id).textContent = value;
  }

  function renderPanels(p, last) {
    if (!p) return;
    text('updated-at', new Date(p.atMs).toLocaleTimeString());
    const capture = p.capture;
    text('capture-phase', capture ? (capture.running ? capture.phase : `not running (${capture.phase})`) : 'no status yet');
    const slot = p.slot;
    const slotText = 'error' in slot ? `error: ${slot.error}` : !slot.exists ? 'not created yet' : `${slot.active ? 'active' : 'INACTIVE'}, ${slot.walStatus || '–'}, lag ${fmtBytes(slot.lagBytes)}`;
    text('slot-state', slotText);
    $('slot-state').className = 'error' in slot || (slot.exists && (!slot.active || (slot.walStatus && slot.walStatus !== 'reserved'))) ? 'bad' : '';
    text('wal-status', 'error' in slot ? '–' : slot.walStatus || '–');
    const w = p.warehouse;
    const fresh = $('freshness-now');
    if ('error' in w) {
      fresh.textContent = `error: ${w.error}`;
      fresh.dataset.ms = '';
    } else {
      fresh.textContent = fmtMs(w.freshnessMs);
      fresh.dataset.ms = w.freshnessMs === null ? '' : String(w.freshnessMs);
      fresh.dataset.at = String(p.atMs);
      text('warehouse-schema', `schema ${w.schema}`);
      text('manifests-loaded', `${fmtCount(w.manifestsLoaded)}${w.failedManifests ? ` (${w.failedManifests} failed)` : ''}`);
    }
    text('freshness-p50', fmtMs(last ? last.freshnessP50Ms : null));
    text('freshness-p99', fmtMs(last ? last.freshnessP99Ms : null));

    const body = $('tables').tBodies[0];
    body.replaceChildren(
      ...p.tables.map((t) => {
        const row = document.createElement('tr');
        row.className = t.kind;
        row.dataset.table = t.table;
        for (const [value, numeric] of [[t.kind === 'fact' ? `${t.table} (versions)` : t.table, false], [fmtCount(t.rows), true], [fmtCount(t.loadedThisRun), true]]) {
          const cell = document.createElement('td');
          cell.textContent = value;
          if (numeric) cell.className = 'n';
          row.append(cell);
        }
        return row;
      }),
    );

    const list = $('events');
    if (p.events.length === 0) {
      const empty = document.createElement('li');
      empty.className = 'none';
      empty.textContent = 'none since up started';
      list.replaceChildren(empty);
      return;
    }
    list.replaceChildren(
      ...p.events.map((e) => {
        const item = document.createElement('li');
        item.className = e.kind;
        const kind = document.createElement('span');
        kind.className = 'kind';
        kind.textContent = e.kind;
        const message = document.createElement('span');
        message.className = 'message';
        message.textContent = e.error ? `${e.message}: ${e.error}` : e.message;
        const meta = document.createElement('div');
        meta.className = 'meta';
        meta.textContent = [new Date(e.at).toLocaleTimeString(), e.stage, e.reason, e.table, e.eventId && `event ${e.eventId}`, e.shardId && `shard ${e.shardId}`, e.sequenceNumber && `seq ${e.sequenceNumber}`].filter(Boolean).join(' · ');
        item.append(kind, message, meta);
        return item;
      }),
    );
  }

  function setConnection(state, label) {
    const badge = $('connection');
    badge.className = `badge ${state}`;
    badge.textContent = label;
  }

  function connect() {
    const source = new EventSource(`/events${query}`);
    source.addEventListener('snapshot', (event) => {
      const state = JSON.parse(event.data);
      samples = state.history.slice(-HISTORY);
      redraw();
      renderPanels(state.panels, samples[samples.length - 1]);
      setConnection('live', 'live');
    });
    source.addEventListener('update', (event) => {
      const update = JSON.parse(event.data);
      samples.push(update.sample);
      if (samples.length > HISTORY) samples.shift();
      redraw();
      renderPanels(update.panels, update.sample);
    });
    source.addEventListener('error', () => {
      // EventSource retries by itself while the server is away; a refused stream (401) closes it.
      if (source.readyState === EventSource.CLOSED) {
        setConnection('down', token ? 'refused: check the token' : 'disconnected: retrying');
        setTimeout(connect, 5000);
      } else setConnection('down', 'reconnecting…');
    });
  }

  let resizeTimer;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      for (const name of Object.keys(charts)) build(name);
    }, 200);
  });

  connect();
})();
