// Live pages over WebSockets: the queue, a job's page, the nodes. No polling.
//
// The server formats everything (portal/web/present.py); this module only puts
// the values into the page with textContent (never innerHTML), keeps rows in
// order, and ticks the run time of running jobs (and steps) between updates.

const OUTPUT_LIMIT = 512 * 1024; // characters kept in an output <pre>

const csrfToken = () =>
  document.querySelector('meta[name="csrf-token"]')?.getAttribute("content") || "";

// -- connection status in the top bar --------------------------------------
const sockets = new Set();
const openSockets = new Set();
function showStatus() {
  const el = document.querySelector("[data-live-status]");
  if (!el || sockets.size === 0) return;
  const live = openSockets.size === sockets.size;
  el.hidden = false;
  el.textContent = live ? "live" : "reconnecting…";
  el.classList.toggle("is-offline", !live);
}

// A WebSocket that reconnects with backoff. The server sends a fresh snapshot
// on every connect, so nothing missed while disconnected stays missing.
function connect(path, onMessage) {
  const url = new URL(path, window.location.href);
  url.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
  const handle = {};
  sockets.add(handle);
  let delay = 500;
  const open = () => {
    const ws = new WebSocket(url);
    ws.addEventListener("open", () => {
      delay = 500;
      openSockets.add(handle);
      showStatus();
    });
    ws.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      onMessage(message);
    });
    ws.addEventListener("close", (event) => {
      openSockets.delete(handle);
      showStatus();
      if (event.code === 4401 || event.code === 4404) {
        sockets.delete(handle); // not allowed: do not hammer the server
        return;
      }
      window.setTimeout(open, delay);
      delay = Math.min(delay * 2, 15000);
    });
  };
  open();
  showStatus();
}

// -- small DOM helpers -----------------------------------------------------
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") node.textContent = String(value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

const badge = (state, cls, text) =>
  el("span", { class: `badge badge-${cls}`, text: text ?? state });

function readJson(id) {
  const script = document.getElementById(id);
  if (!script) return null;
  try {
    return JSON.parse(script.textContent);
  } catch {
    return null;
  }
}

// squeue's TIME: M:SS, H:MM:SS, D-HH:MM:SS (same as drover.timefmt.format_elapsed).
function duration(total) {
  let s = Math.max(0, Math.floor(total));
  const days = Math.floor(s / 86400);
  s -= days * 86400;
  const hours = Math.floor(s / 3600);
  s -= hours * 3600;
  const minutes = Math.floor(s / 60);
  s -= minutes * 60;
  const pad = (n) => String(n).padStart(2, "0");
  if (days) return `${days}-${pad(hours)}:${pad(minutes)}:${pad(s)}`;
  if (hours) return `${hours}:${pad(minutes)}:${pad(s)}`;
  return `${minutes}:${pad(s)}`;
}

const ticking = new Set(); // {row, received, cells: [elements]} for RUNNING jobs
window.setInterval(() => {
  const now = performance.now();
  for (const t of ticking) {
    const text = duration(t.row.run_time_s + (now - t.received) / 1000);
    for (const cell of t.cells) if (cell.isConnected) cell.textContent = text;
  }
}, 1000);

// -- the queue table (queue page and dashboard) -----------------------------
function queueTable(table) {
  const tbody = table.tBodies[0];
  const compact = table.hasAttribute("data-compact");
  const limit = Number(table.dataset.limit || 0);
  const minAge = Number(table.dataset.minJobAge || 300);
  const next = table.dataset.next || window.location.pathname;
  const empty = table.closest("section")?.querySelector("[data-empty]");
  const entries = new Map(); // key -> {row, tr, tick, timer}
  // Queue page: by job id, an array's tasks in order (present.by_job_id). Dashboard:
  // running and pending jobs first, then finished ones, newest first (present.mine_first).
  const byId = (a, b) => a.order[0] - b.order[0] || a.order[1] - b.order[1];
  const order = limit ? (a, b) => Number(b.active) - Number(a.active) || byId(b, a) : byId;

  function buildRow(row) {
    const timeCell = el("td", { class: "mono num", text: row.time });
    const cells = [el("td", { class: "mono" }, el("a", { href: row.url, text: row.job_id }))];
    if (!compact) cells.push(el("td", { text: row.partition }));
    cells.push(el("td", { class: "name", title: row.name, text: row.name }));
    if (!compact) cells.push(el("td", { text: row.user }));
    cells.push(el("td", {}, badge(row.state, row.state_class)));
    cells.push(timeCell);
    if (!compact) cells.push(el("td", { class: "num", text: row.num_nodes }));
    cells.push(el("td", { class: "mono nodelist", text: row.nodelist_reason }));
    if (!compact) {
      const actions = el("td", { class: "actions" });
      if (row.active) {
        actions.append(
          el(
            "form",
            { method: "post", action: row.cancel_url },
            el("input", { type: "hidden", name: "csrfmiddlewaretoken", value: csrfToken() }),
            el("input", { type: "hidden", name: "next", value: next }),
            el("button", { type: "submit", class: "btn btn-small btn-danger-ghost", text: "Cancel" }),
          ),
        );
      }
      cells.push(actions);
    }
    return { tr: el("tr", { "data-key": row.key, "data-state": row.state }, ...cells), timeCell };
  }

  function remove(key) {
    const entry = entries.get(key);
    if (!entry) return;
    entry.tr.remove();
    if (entry.tick) ticking.delete(entry.tick);
    window.clearTimeout(entry.timer);
    entries.delete(key);
  }

  function upsert(row, ageS = 0) {
    const old = entries.get(row.key);
    const { tr, timeCell } = buildRow(row);
    if (old) {
      // Out first: a job that ends moves on the dashboard.
      old.tr.remove();
      entries.delete(row.key);
      if (old.tick) ticking.delete(old.tick);
      window.clearTimeout(old.timer);
    }
    const before = [...tbody.rows].find((r) => order(row, entries.get(r.dataset.key).row) < 0);
    tbody.insertBefore(tr, before || null);
    const entry = { row, tr, tick: null, timer: 0 };
    if (row.state === "RUNNING") {
      entry.tick = { row, received: performance.now(), cells: [timeCell] };
      ticking.add(entry.tick);
    }
    if (!row.active) {
      // Finished jobs leave the queue after MinJobAge, as in squeue.
      const left = Math.max(0, minAge - ageS);
      entry.timer = window.setTimeout(() => {
        remove(row.key);
        refresh();
      }, left * 1000);
    }
    entries.set(row.key, entry);
  }

  function refresh() {
    if (limit) [...tbody.rows].forEach((tr, i) => (tr.hidden = i >= limit));
    if (empty) empty.hidden = entries.size > 0;
    const counts = {};
    for (const { row } of entries.values()) counts[row.state] = (counts[row.state] || 0) + 1;
    for (const node of document.querySelectorAll("[data-count]")) {
      node.textContent = String(counts[node.dataset.count] || 0);
    }
  }

  function load(rows) {
    for (const key of [...entries.keys()]) remove(key);
    tbody.replaceChildren();
    const nowS = Date.now() / 1000;
    for (const row of rows) upsert(row, row.end_time ? Math.max(0, nowS - row.end_time) : 0);
    refresh();
  }

  load(readJson("queue-rows") || []);
  connect(table.dataset.ws, (message) => {
    if (message.type === "snapshot") load(message.rows);
    else if (message.type === "job") {
      upsert(message.row);
      refresh();
    }
  });
}

// -- nodes (cluster page, dashboard summary) --------------------------------
function nodesView(root) {
  const tbody = root.tBodies ? root.tBodies[0] : null;
  const nodes = new Map();

  function buildRow(n) {
    const meter = el("meter", { class: "meter meter-small", min: 0, max: n.cpus, value: n.alloc_cpus });
    return el(
      "tr",
      { "data-key": n.key },
      el("td", { class: "mono" }, el("strong", { text: n.name })),
      el("td", {}, badge(n.state, n.state_class, n.state_text)),
      el("td", {}, el("div", { class: "cpu-cell" }, el("span", { class: "mono", text: n.cpus_text }), meter)),
      el("td", { class: "mono", text: n.memory_text }),
      el("td", { class: "mono num", text: n.load }),
      el("td", { class: "mono", text: n.gres || "—" }),
      el("td", { text: n.partitions }),
      el("td", { class: "muted", text: n.reason }),
    );
  }

  function summary() {
    let cpus = 0, alloc = 0, gpus = 0, gpusUsed = 0;
    const byState = new Map();
    for (const n of nodes.values()) {
      cpus += n.cpus;
      alloc += n.alloc_cpus;
      gpus += n.gpus;
      gpusUsed += n.gpus_used;
      const s = byState.get(n.state) || { count: 0, cls: n.state_class };
      s.count += 1;
      byState.set(n.state, s);
    }
    const values = { cpus, alloc_cpus: alloc, gpus, gpus_used: gpusUsed, nodes: nodes.size };
    for (const node of document.querySelectorAll("[data-usage]")) {
      if (node.dataset.usage in values) node.textContent = String(values[node.dataset.usage]);
    }
    for (const meter of document.querySelectorAll('[data-usage-meter="cpu"]')) {
      meter.value = cpus ? Math.round((100 * alloc) / cpus) : 0;
    }
    for (const list of document.querySelectorAll("[data-usage-states]")) {
      list.replaceChildren(
        ...[...byState.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([state, s]) => el("li", {}, badge(state, s.cls), el("span", { class: "count", text: s.count }))),
      );
    }
  }

  function upsert(n) {
    nodes.set(n.key, n);
    if (!tbody) return;
    const tr = buildRow(n);
    const old = tbody.querySelector(`tr[data-key="${CSS.escape(n.key)}"]`);
    if (old) old.replaceWith(tr);
    else {
      const before = [...tbody.rows].find((r) => r.dataset.key.localeCompare(n.key, undefined, { numeric: true }) > 0);
      tbody.insertBefore(tr, before || null);
    }
  }

  for (const n of readJson("node-rows") || []) nodes.set(n.key, n);
  connect(root.dataset.ws, (message) => {
    if (message.type === "snapshot") {
      nodes.clear();
      if (tbody) tbody.replaceChildren();
      for (const n of message.rows) upsert(n);
    } else if (message.type === "node") upsert(message.row);
    summary();
  });
}

// -- one job's page ----------------------------------------------------------
function jobPage(root) {
  let tick = null;
  const note = root.querySelector("[data-output-note]");

  function fill(detail) {
    for (const node of root.querySelectorAll("[data-field]")) {
      const value = detail[node.dataset.field];
      if (value === undefined || value === null) continue;
      node.textContent = String(value) || (node.dataset.field === "nodes" ? "—" : "");
      if (node.hasAttribute("data-badge")) {
        node.className = `badge badge-lg badge-${detail.state_class}`;
      }
    }
    for (const node of root.querySelectorAll("[data-when-active]")) node.hidden = !detail.active;
    if (note) note.hidden = detail.state !== "PENDING";
    const errBlock = root.querySelector("[data-stderr-block]");
    if (errBlock) errBlock.hidden = !detail.stderr || detail.stderr === detail.stdout;
    if (tick) ticking.delete(tick);
    tick = null;
    if (detail.state === "RUNNING") {
      tick = { row: detail, received: performance.now(), cells: [...root.querySelectorAll('[data-field="time"]')] };
      ticking.add(tick);
    }
    root.dataset.state = detail.state;
  }

  // The step table: rebuilt from the server's rows (present.step_rows) on every update.
  const stepsBody = root.querySelector("table[data-steps] tbody");
  const stepsEmpty = root.querySelector("[data-steps-empty]");
  const stepTicks = new Set();

  function steps(rows) {
    if (!stepsBody) return;
    for (const t of stepTicks) ticking.delete(t);
    stepTicks.clear();
    stepsBody.replaceChildren(
      ...rows.map((s) => {
        const elapsed = el("td", { class: "mono num", text: s.elapsed });
        if (s.running) {
          const t = { row: s, received: performance.now(), cells: [elapsed] };
          stepTicks.add(t);
          ticking.add(t);
        }
        return el(
          "tr",
          { "data-key": s.key, "data-state": s.state },
          el("td", { class: "mono", text: s.step_id }),
          el("td", { class: "name", title: s.name, text: s.name }),
          el("td", {}, badge(s.state, s.state_class)),
          el("td", { class: "mono num", text: s.exit_code }),
          el("td", { class: "mono col-start", text: s.start_time_text }),
          elapsed,
          el("td", { class: "num", text: s.cpus }),
          el("td", { class: "num", text: s.ntasks }),
          el("td", { class: "mono num", text: s.cpu_time }),
          el("td", { class: "mono num", text: s.max_rss }),
          el("td", { class: "mono num", text: s.rss }),
        );
      }),
    );
    if (stepsEmpty) stepsEmpty.hidden = rows.length > 0;
  }

  function output(message) {
    const pre = root.querySelector(`[data-output="${CSS.escape(message.stream)}"]`);
    if (!pre) return;
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
    if (message.reset) {
      pre.textContent = (message.truncated ? "… (earlier output not shown)\n" : "") + message.text;
    } else {
      pre.append(message.text);
      if (pre.textContent.length > OUTPUT_LIMIT) {
        pre.textContent = "… (earlier output not shown)\n" + pre.textContent.slice(-OUTPUT_LIMIT);
      }
    }
    if (atBottom) pre.scrollTop = pre.scrollHeight;
  }

  connect(root.dataset.ws, (message) => {
    if (message.type === "job" && message.detail) {
      fill(message.detail);
      if (message.steps) steps(message.steps);
    } else if (message.type === "steps") steps(message.rows);
    else if (message.type === "output") output(message);
    else if (message.type === "output.done") root.dataset.outputDone = "1";
    else if (message.type === "output.problem") {
      const pre = root.querySelector(`[data-output="${CSS.escape(message.stream)}"]`);
      if (pre) pre.textContent = message.problem;
    }
  });
}

// -- start -------------------------------------------------------------------
function start() {
  for (const table of document.querySelectorAll("table[data-live-queue]")) queueTable(table);
  for (const root of document.querySelectorAll("[data-live-nodes]")) nodesView(root);
  for (const root of document.querySelectorAll("[data-live-job]")) jobPage(root);
  // The user menu closes when you click elsewhere.
  document.addEventListener("click", (event) => {
    for (const menu of document.querySelectorAll("details.usermenu[open]")) {
      if (!menu.contains(event.target)) menu.open = false;
    }
  });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
