// The live dashboard (web/index.html). No library: every figure comes from the API
// (/api/v1/<report> = `analyze <report> --format json`, /api/agents/... = the design's API),
// charts are SVG drawn by the server (/dash/chart/<name>.svg), and the live stream
// (/api/v1/stream) says when to re-fetch which part. Data is inserted as text, never as markup;
// only the server's own SVG is inserted as markup.
'use strict';
(() => {
  const TOKEN = new URLSearchParams(location.search).get('token');
  const $ = (id) => document.getElementById(id);

  // ── formatting (as src/render.rs formats cells) ─────────────────────────────────────────
  const int = (n) => (n == null ? '-' : Math.round(n).toLocaleString('en-US'));
  const pct = (v) => (v == null ? '-' : (v * 100).toFixed(1) + '%');
  const usd = (v) => (v == null ? '?' : Math.abs(v) < 10 ? '$' + v.toFixed(4) : '$' + v.toFixed(2));
  function dur(ms) {
    if (ms == null) return '-';
    if (ms < 1000) return ms.toFixed(0) + 'ms';
    if (ms < 60000) return (ms / 1000).toFixed(1) + 's';
    if (ms < 3600000) {
      const s = Math.round(ms / 1000);
      return Math.floor(s / 60) + 'm ' + String(s % 60).padStart(2, '0') + 's';
    }
    const m = Math.round(ms / 60000);
    return Math.floor(m / 60) + 'h ' + String(m % 60).padStart(2, '0') + 'm';
  }
  // A host figure (docs/metrics.md, "Resources"): one decimal and its unit, `-` when unknown.
  const host = (v, unit) => (v == null ? '-' : v.toFixed(1) + unit);
  // A run's time split and host figures, those known (as `analyze tree` prints them).
  function resources(r) {
    const parts = [];
    if (r.tool_ms != null) parts.push('tool ' + dur(r.tool_ms));
    if (r.model_ms != null) parts.push('model ' + dur(r.model_ms));
    if (r.host_cpu_seconds != null) parts.push('host CPU ' + host(r.host_cpu_seconds, ' s'));
    if (r.host_rss_mb != null) parts.push('host mem ' + host(r.host_rss_mb, ' MB'));
    return parts.join(' · ');
  }
  const hasHost = (r) => r.host_cpu_seconds != null || r.host_rss_mb != null;
  const HOST_NOTE = 'Host CPU and memory are the Claude Code process’s — its CPU seconds while the run ran and its memory at the run’s stop — shared by every agent running at the same time.';
  const when = (s) => (s ? s.replace('T', ' ').slice(0, 16) : '');
  const short = (id) => (id ? id.slice(0, 8) : '');

  // ── requests ────────────────────────────────────────────────────────────────────────────
  function url(path, params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) {
      for (const x of [].concat(v)) if (x != null) q.append(k, x);
    }
    if (TOKEN) q.set('token', TOKEN);
    const s = q.toString();
    return s ? path + '?' + s : path;
  }
  async function fetchOk(path, params) {
    const r = await fetch(url(path, params), { cache: 'no-store', credentials: 'same-origin' });
    if (r.status === 404) return null; // the report found nothing (the CLI's exit 1)
    if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
    return r;
  }
  const json = async (path, params) => { const r = await fetchOk(path, params); return r && r.json(); };
  const text = async (path, params) => { const r = await fetchOk(path, params); return r && r.text(); };
  const report = (name, params) => json('/dash/api/' + name, params);

  function problem(e) {
    const c = $('conn');
    c.textContent = 'error: ' + e.message;
    c.className = 'conn down';
  }

  // ── DOM helpers: text only ──────────────────────────────────────────────────────────────
  function el(tag, attrs, ...kids) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === 'class') n.className = v;
      else if (k === 'text') n.textContent = v;
      else n.setAttribute(k, v);
    }
    for (const k of kids) if (k != null) n.append(k);
    return n;
  }
  const td = (t, cls, value) => el('td', { class: cls, text: t, 'data-value': value });
  function fill(tbody, rows, cols, emptyText) {
    tbody.replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { class: 'empty', colspan: cols, text: emptyText }))]));
  }

  // ── live part: cards, running agents, delegation tree ──────────────────────────────────
  let hung = { default_ms: 30 * 60000, agents: [] };
  let running = []; // {agent_id, agent_name, task, session_id, parent, startedAt}
  const seen = new Set();

  function hungAfter(agent) {
    const r = hung.agents.find((a) => a.agent === agent);
    return r ? r.hung_after_ms : hung.default_ms;
  }

  async function refreshHung() {
    hung = (await json('/dash/hung.json')) || hung;
    $('hung-note').textContent = 'Hung: running longer than ' + hung.factor + '× its type’s p95 duration (at least ' +
      dur(hung.min_ms) + '; ' + dur(hung.default_ms) + ' for types with fewer than ' + hung.min_runs + ' finished runs).';
  }

  async function refreshLive() {
    const cur = await json('/api/agents/metrics/current');
    if (!cur) return;
    $('card-active').textContent = int(cur.active_agents);
    $('card-runs').textContent = int(cur.executions_today);
    $('card-success').textContent = pct(cur.success_rate);
    $('card-tokens').textContent = int(cur.tokens_used_today);
    $('card-cost').textContent = usd(cur.estimated_cost_today);
    const now = Date.now();
    running = cur.active_agent_details.map((a) => ({ ...a, startedAt: now - a.duration_so_far_ms }));
    renderRunning();
    await refreshTree();
  }

  function renderRunning() {
    const now = Date.now();
    const rows = running.map((a) => {
      const elapsed = now - a.startedAt;
      const isHung = elapsed > hungAfter(a.agent_name) || a.status === 'possibly_hung';
      const tr = el('tr', { 'data-agent-id': a.agent_id, class: [isHung ? 'hung' : '', seen.has(a.agent_id) ? '' : 'new'].join(' ').trim() || null },
        td(a.agent_name), td(a.task || ''), td(short(a.session_id), 'mono'), td(short(a.parent) || 'main', 'mono'),
        td(dur(elapsed), 'n elapsed'), el('td', {}, isHung ? el('span', { class: 'flag', text: 'hung' }) : ''));
      return tr;
    });
    for (const a of running) seen.add(a.agent_id);
    fill($('running').tBodies[0], rows, 6, 'No agent is running.');
  }

  function tick() {
    const now = Date.now();
    for (const tr of $('running').tBodies[0].rows) {
      const a = running.find((x) => x.agent_id === tr.dataset.agentId);
      if (!a) continue;
      const elapsed = now - a.startedAt;
      tr.querySelector('.elapsed').textContent = dur(elapsed);
      const isHung = elapsed > hungAfter(a.agent_name) || a.status === 'possibly_hung';
      if (isHung && !tr.classList.contains('hung')) {
        tr.classList.add('hung');
        tr.cells[5].replaceChildren(el('span', { class: 'flag', text: 'hung' }));
      }
    }
    for (const n of document.querySelectorAll('#tree [data-running-id]')) {
      const a = running.find((x) => x.agent_id === n.dataset.runningId);
      if (a) n.textContent = dur(now - a.startedAt);
    }
  }

  function badge(status) {
    return el('span', { class: 'badge ' + (status || ''), text: status || '' });
  }

  function agentNode(a) {
    const live = running.find((r) => r.agent_id === a.agent_id);
    const time = live ? el('span', { class: 'mono', 'data-running-id': a.agent_id, text: dur(Date.now() - live.startedAt) })
      : el('span', { class: 'mono', text: dur(a.duration_ms) });
    const figures = resources(a);
    const li = el('li', { 'data-agent-id': a.agent_id },
      el('span', { class: 'node' }, el('span', { class: 'kind', text: 'agent' }), el('strong', { text: a.agent_type }),
        el('span', { text: a.description || '' }), badge(a.status), time,
        figures ? el('span', { class: 'muted small resources', text: figures }) : null));
    if (a.children && a.children.length) li.append(el('ul', {}, ...a.children.map(agentNode)));
    return li;
  }

  async function refreshTree() {
    const sessions = [...new Set(running.map((a) => a.session_id).filter(Boolean))].slice(0, 5);
    const trees = await Promise.all(sessions.map((s) => report('tree', { session: s })));
    const box = $('tree');
    const items = [];
    trees.forEach((t, i) => {
      if (!t) return;
      const live = new Set(running.map((a) => a.agent_id));
      const hasLive = (n) => live.has(n.agent_id) || (n.children || []).some(hasLive);
      let turns = t.turns.filter((u) => u.status === 'running' || u.agents.some(hasLive));
      if (!turns.length) turns = t.turns.slice(-1);
      items.push(el('li', { 'data-session': sessions[i] },
        el('span', { class: 'node' }, el('span', { class: 'kind', text: 'session' }), el('strong', { class: 'mono', text: short(sessions[i]) }),
          el('span', { class: 'muted', text: t.project || '' })),
        el('ul', {}, ...turns.map((u) => el('li', {},
          el('span', { class: 'node' }, el('span', { class: 'kind', text: u.kind === 'turn' ? 'turn' : u.kind }),
            el('span', { text: (u.prompt || '').slice(0, 70) }), badge(u.status), u.duration_ms == null ? null : el('span', { class: 'mono', text: dur(u.duration_ms) })),
          el('ul', {}, ...u.agents.map(agentNode)))))));
    });
    box.replaceChildren(items.length ? el('ul', {}, ...items) : el('p', { class: 'muted', text: 'No session is active.' }));
    $('tree-note').hidden = !box.querySelector('.resources');
  }

  // ── history part: anomalies, charts, agent table, failures, overhead ────────────────────
  let agents = [];
  let trends = {};
  const sort = { key: 'runs', dir: -1 };
  const isAnomaly = (t) => t && (t.verdict === 'declining' || t.duration_verdict === 'slower');

  async function refreshAgents() {
    const [s, t] = await Promise.all([report('summary'), report('trends')]);
    agents = s ? s.agents : [];
    if (!performance.getEntriesByName('dashboard-data').length) performance.mark('dashboard-data');
    trends = {};
    for (const a of (t ? t.agents : [])) trends[a.agent] = a;
    renderAgents();
    const bad = Object.values(trends).filter(isAnomaly);
    $('anomalies').hidden = bad.length === 0;
    $('anomaly-list').replaceChildren(...bad.map((a) => el('li', { 'data-agent': a.agent },
      el('strong', { text: a.agent }), ' ',
      a.verdict === 'declining'
        ? 'success rate ' + pct(a.recent.success_rate) + ' in the last 7 days against ' + pct(a.earlier.success_rate) + ' before (z = ' + a.z.toFixed(2) + ')'
        : '',
      a.verdict === 'declining' && a.duration_verdict === 'slower' ? '; ' : '',
      a.duration_verdict === 'slower'
        ? 'average duration ' + dur(a.recent.avg_duration_ms) + ' against ' + dur(a.earlier.avg_duration_ms) + ' before'
        : '')));
  }

  function trendText(t) {
    if (!t) return '';
    return t.verdict + (t.duration_verdict ? ', ' + t.duration_verdict : '');
  }

  function renderAgents() {
    const val = (a) => (sort.key === 'trend' ? trendText(trends[a.agent]) : a[sort.key]);
    const rows = [...agents].sort((x, y) => {
      const a = val(x), b = val(y);
      if (a == null && b == null) return 0;
      if (a == null) return 1;
      if (b == null) return -1;
      return (typeof a === 'string' ? a.localeCompare(b) : a - b) * sort.dir;
    });
    for (const th of $('agents').tHead.rows[0].cells) {
      th.setAttribute('aria-sort', th.dataset.key === sort.key ? (sort.dir > 0 ? 'ascending' : 'descending') : 'none');
    }
    fill($('agents').tBodies[0], rows.map((a) => {
      const t = trends[a.agent];
      const tr = el('tr', { class: isAnomaly(t) ? 'anomaly' : null, 'data-agent': a.agent, tabindex: '0' },
        td(a.agent), td(int(a.runs), 'n', a.runs), td(pct(a.success_rate), 'n', a.success_rate),
        td(dur(a.p50_duration_ms), 'n', a.p50_duration_ms), td(dur(a.p95_duration_ms), 'n', a.p95_duration_ms),
        td(int(a.tokens), 'n', a.tokens), td(usd(a.cost_usd), 'n', a.cost_usd),
        td(a.efficiency == null ? '-' : a.efficiency.toFixed(2), 'n', a.efficiency), td(trendText(t)));
      tr.addEventListener('click', () => openAgent(a.agent));
      tr.addEventListener('keydown', (e) => { if (e.key === 'Enter') openAgent(a.agent); });
      return tr;
    }), 9, 'No agent runs recorded yet.');
  }

  async function refreshCharts() {
    await Promise.all([...document.querySelectorAll('[data-chart]')].map(async (fig) => {
      const svg = await text('/dash/chart/' + fig.dataset.chart + '.svg');
      if (svg != null) fig.innerHTML = svg; // the server's own SVG, every text escaped
    }));
  }

  async function refreshFailures() {
    const e = await report('errors', { limit: 10 });
    fill($('failures').tBodies[0], (e ? e.errors : []).map((r) => el('tr', {},
      td(when(r.time)), td(r.agent), td(r.status), td(r.error || r.description || ''))), 4, 'No failures.');
  }

  async function refreshOverhead() {
    const o = await report('overhead', { limit: 10 });
    const all = o && o.overall;
    $('overhead-verdict').textContent = all && all.overhead != null
      ? 'Overall ' + pct(all.overhead) + ' over ' + int(all.workflows) + ' workflows: ' + all.recommendation + '.'
      : 'No finished workflow with agents yet.';
    fill($('overhead').tBodies[0], (o ? o.workflows : []).map((w) => el('tr', {},
      td(when(w.start)), td(w.kind), td(dur(w.wall_ms), 'n', w.wall_ms), td(int(w.agents), 'n', w.agents),
      td(dur(w.coordination_ms), 'n', w.coordination_ms), td(pct(w.overhead), 'n', w.overhead))), 6, 'No workflows.');
  }

  // ── alerts: what `analyze alerts` shows (evaluated by the request; the server delivers) ──
  async function refreshAlerts() {
    const a = await report('alerts');
    const rows = a ? a.alerts : [];
    const firing = rows.filter((r) => r.state === 'firing');
    const resolved = rows.length - firing.length;
    $('alerts').classList.toggle('firing', firing.length > 0);
    $('alerts-note').textContent = (firing.length ? firing.length + ' firing' : 'none firing') +
      (resolved ? ', ' + resolved + ' resolved in the last ' + a.resolved_window_minutes + ' min' : '') +
      (a ? ' · evaluated ' + when(a.evaluated_at) : '');
    fill($('alert-table').tBodies[0], rows.map((r) => el('tr', {
      class: r.state === 'firing' ? r.severity : 'resolved', 'data-rule': r.rule, 'data-subject': r.subject, 'data-state': r.state },
    td(r.state === 'firing' ? r.severity : 'resolved'), td(r.rule), td(r.subject || '(all)', 'mono'), td(r.message), td(when(r.since)))),
    5, 'No alerts firing.');
  }

  // ── an agent's page ─────────────────────────────────────────────────────────────────────
  async function openAgent(name) {
    const dlg = $('agent-page');
    $('agent-title').textContent = name;
    $('agent-body').replaceChildren(el('p', { class: 'muted', text: 'Loading…' }));
    if (!dlg.open) dlg.showModal();
    if (location.hash !== '#agent=' + encodeURIComponent(name)) history.replaceState(null, '', '#agent=' + encodeURIComponent(name) + '');
    const [perf, a, svg] = await Promise.all([
      json('/api/agents/performance/' + encodeURIComponent(name), { days: 30 }),
      report('agent', { arg: name }),
      text('/dash/chart/agent.svg', { agent: name }),
    ]);
    if ($('agent-title').textContent !== name) return;
    const body = [];
    if (perf) {
      const p = perf.performance;
      body.push(el('dl', { class: 'figures' }, ...[
        ['Runs (30 days)', int(perf.total_executions)], ['Success', pct(perf.success_rate)],
        ['p50', dur(p.p50_duration_ms)], ['p95', dur(p.p95_duration_ms)], ['p99', dur(p.p99_duration_ms)],
        ['Min', dur(p.min_duration_ms)], ['Max', dur(p.max_duration_ms)],
        ['Avg tokens', int(perf.token_usage.avg_tokens)], ['Cost', usd(perf.token_usage.estimated_cost)],
      ].map(([k, v]) => el('div', {}, el('dt', { text: k }), el('dd', { text: v })))));
    }
    if (svg) { const f = el('figure', { class: 'chart-box' }); f.innerHTML = svg; body.push(f); }
    if (a) {
      body.push(el('h3', { text: 'Tools' }), table(['Tool', 'Calls', 'Share', 'Errors'], a.tools.map((t) => [t.tool, int(t.calls), pct(t.share), int(t.errors)]), 'No tool calls recorded.', null, 1));
      body.push(el('h3', { text: 'Delegates' }),
        el('p', {}, 'Delegated by: ', a.delegated_by.map((d) => d.agent + ' (' + d.runs + ')').join(', ') || 'the main agent only'),
        el('p', {}, 'Delegates to: ', a.delegates_to.map((d) => d.agent + ' (' + d.runs + ')').join(', ') || 'nobody'));
      // As `analyze agent` lists them: tool / model time and the host's columns where a run has them.
      const runs = a.recent_runs || [];
      const timed = runs.some((r) => r.tool_ms != null);
      const hosted = runs.some(hasHost);
      body.push(el('h3', { text: 'Recent runs' }), table(
        ['Started (UTC)', 'Status', 'Duration', 'Description', ...(timed ? ['Tool', 'Model'] : []), ...(hosted ? ['Host CPU', 'Host mem'] : [])],
        runs.map((r) => [when(r.start), r.status, dur(r.duration_ms), r.description || '',
          ...(timed ? [dur(r.tool_ms), dur(r.model_ms)] : []),
          ...(hosted ? [host(r.host_cpu_seconds, ' s'), host(r.host_rss_mb, ' MB')] : [])]), 'No runs.', 'recent-runs', 4));
      if (hosted) body.push(el('p', { class: 'muted small', text: HOST_NOTE }));
      body.push(el('h3', { text: 'Recent errors' }), table(['Time (UTC)', 'Status', 'Description', 'Error'],
        a.recent_errors.map((e) => [when(e.time), e.status, e.description || '', e.error || '']), 'No recent errors.'));
      if (a.metrics && a.metrics.length) {
        // As `analyze agent` prints them (docs/metrics.md, "Custom metrics").
        const val = (x) => (x == null ? '-' : Number.isInteger(x) ? int(x) : String(Math.round(x * 100) / 100));
        const trend = (t) => (t.direction ? val(t.earlier_avg) + ' → ' + val(t.recent_avg) + ' (' + t.direction + ')' : '-');
        body.push(el('h3', { text: 'Custom metrics' }), table(['Metric', 'Runs', 'Avg', 'p50', 'p95', 'Min', 'Max', 'Sum', 'Trend (before → last 7d)'],
          a.metrics.map((m) => [m.name, int(m.runs), val(m.avg), val(m.p50), val(m.p95), val(m.min), val(m.max), val(m.sum), trend(m.trend)]), '', 'custom-metrics', 1));
      }
    }
    $('agent-body').replaceChildren(...body);
  }

  // A table of text cells; the columns from `numeric` on are figures, right-aligned.
  function table(headers, rows, emptyText, cls, numeric) {
    const n = (i) => (numeric != null && i >= numeric ? 'n' : null);
    const t = el('table', { class: cls }, el('thead', {}, el('tr', {}, ...headers.map((h, i) => el('th', { scope: 'col', text: h, class: n(i) })))), el('tbody'));
    fill(t.tBodies[0], rows.map((r) => el('tr', {}, ...r.map((c, i) => td(c, n(i))))), headers.length, emptyText);
    return t;
  }

  // ── scheduling: re-fetch what an event can have changed, debounced ─────────────────────
  const parts = {
    live: { run: refreshLive, wait: 50 },
    hung: { run: refreshHung, wait: 1000 },
    agents: { run: refreshAgents, wait: 800 },
    charts: { run: refreshCharts, wait: 1500 },
    failures: { run: refreshFailures, wait: 800 },
    overhead: { run: refreshOverhead, wait: 800 },
    alerts: { run: refreshAlerts, wait: 500 },
  };
  const timers = {};
  const busy = {};
  function schedule(...names) { later(names, null); }
  function later(names, wait) {
    for (const n of names) {
      if (timers[n]) continue;
      timers[n] = setTimeout(async () => {
        timers[n] = null;
        if (busy[n]) { schedule(n); return; }
        busy[n] = true;
        try {
          await parts[n].run();
          $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
        } catch (e) {
          problem(e);
        } finally {
          busy[n] = false;
        }
      }, wait == null ? parts[n].wait : wait);
    }
  }
  // Everything at once (first load, a reconnected stream, the minute's refresh).
  const everything = () => later(Object.keys(parts), 0);
  const affects = {
    agent_started: ['live', 'alerts'],
    agent_finished: ['live', 'hung', 'agents', 'charts', 'failures', 'alerts'],
    turn_started: ['live'],
    turn_ended: ['live', 'overhead', 'failures', 'alerts'],
    lagged: Object.keys(parts),
  };

  let connected = false;
  function connect() {
    const es = new EventSource(url('/api/v1/stream'));
    const c = $('conn');
    // The first load fetched everything already; after a reconnect, events may have been missed.
    es.addEventListener('ready', () => { c.textContent = 'live'; c.className = 'conn live'; if (connected) everything(); connected = true; });
    for (const [ev, names] of Object.entries(affects)) es.addEventListener(ev, () => schedule(...names));
    es.onerror = () => { c.textContent = 'reconnecting…'; c.className = 'conn down'; };
  }

  // Sorting and the agent page.
  for (const th of $('agents').tHead.rows[0].cells) {
    th.querySelector('button').addEventListener('click', () => {
      const k = th.dataset.key;
      sort.dir = sort.key === k ? -sort.dir : (k === 'agent' || k === 'trend' ? 1 : -1);
      sort.key = k;
      renderAgents();
    });
  }
  $('agent-page').addEventListener('close', () => { if (location.hash.startsWith('#agent=')) history.replaceState(null, '', location.pathname + location.search); });
  const fromHash = () => { const m = location.hash.match(/^#agent=(.+)$/); if (m) openAgent(decodeURIComponent(m[1])).catch(problem); };
  window.addEventListener('hashchange', fromHash);

  everything();
  connect();
  fromHash();
  setInterval(tick, 1000);
  // What no event announces: a run turning lost, today becoming tomorrow.
  setInterval(everything, 60000);
  // Alerts also change with time alone (an agent passing the hung threshold, a window moving on).
  setInterval(() => schedule('alerts'), 15000);
})();
