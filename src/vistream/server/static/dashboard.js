// vistream dashboard: plain JS, no build step, no network beyond this service.
"use strict";
(() => {
  const HISTORY = 60;            // samples kept per chart series
  const POLL_MS = 1000;          // streams, stats, health
  const PREVIEW_MS = 250;        // preview refresh
  const fpsHistory = new Map();  // stream name -> [fps...]
  const latencyHistory = { p50: [], p99: [] };
  const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  const $ = (id) => document.getElementById(id);

  async function api(path, options = {}) {
    const response = await fetch(path, { credentials: "same-origin", ...options,
      headers: { "Content-Type": "application/json", ...(options.headers || {}) } });
    const text = await response.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch (e) { body = { detail: text }; }
    if (!response.ok && response.status !== 503) {
      throw new Error((body && (body.detail || body.error)) || response.statusText);
    }
    return { status: response.status, body };
  }

  function say(text, isError = false) {
    const el = $("message");
    el.textContent = text;
    el.className = isError ? "error" : "";
  }

  function cell(row, text, className) {
    const td = row.insertCell();
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function renderStreams(streams) {
    const body = $("streams").tBodies[0];
    body.replaceChildren();
    for (const s of streams) {
      const row = body.insertRow();
      row.dataset.stream = s.name;
      cell(row, s.source_id);
      cell(row, s.name, "name");
      cell(row, s.state, "state state-" + s.state);
      cell(row, s.fps.toFixed(1), "fps");
      cell(row, s.frames, "frames");
      cell(row, s.reconnects);
      cell(row, s.uri, "uri").title = s.uri;
      const actions = row.insertCell();
      const toggle = document.createElement("button");
      toggle.textContent = s.state === "paused" ? "resume" : "pause";
      toggle.onclick = () => act(`/api/streams/${encodeURIComponent(s.name)}/${toggle.textContent}`, "POST");
      const remove = document.createElement("button");
      remove.textContent = "remove";
      remove.className = "remove";
      remove.onclick = () => act(`/api/streams/${encodeURIComponent(s.name)}`, "DELETE");
      actions.append(toggle, " ", remove);
    }
    renderPreviews(streams);
  }

  function renderPreviews(streams) {
    const box = $("previews");
    const wanted = new Set(streams.filter((s) => s.state !== "ended").map((s) => s.name));
    for (const fig of [...box.children]) {
      if (!wanted.has(fig.dataset.stream)) fig.remove();
    }
    for (const name of wanted) {
      if (box.querySelector(`figure[data-stream="${CSS.escape(name)}"]`)) continue;
      const fig = document.createElement("figure");
      fig.dataset.stream = name;
      const img = document.createElement("img");
      img.alt = "preview of " + name;
      img.className = "preview";
      const link = document.createElement("a");
      link.href = `api/streams/${encodeURIComponent(name)}/preview.mjpg`;
      link.textContent = name + " (live MJPEG)";
      const caption = document.createElement("figcaption");
      caption.append(link);
      fig.append(img, caption);
      box.append(fig);
    }
  }

  function refreshPreviews() {
    for (const fig of $("previews").children) {
      const img = fig.querySelector("img");
      if (img.dataset.loading) continue;
      const next = new Image();
      img.dataset.loading = "1";
      next.onload = () => { img.src = next.src; delete img.dataset.loading; };
      next.onerror = () => { delete img.dataset.loading; };
      next.src = `api/streams/${encodeURIComponent(fig.dataset.stream)}/preview.jpg?t=${Date.now()}`;
    }
  }

  function push(series, value) {
    series.push(value);
    if (series.length > HISTORY) series.shift();
  }

  function drawChart(canvas, seriesList) {
    const ctx = canvas.getContext("2d");
    const w = canvas.width, h = canvas.height, pad = 28;
    ctx.clearRect(0, 0, w, h);
    const max = Math.max(1, ...seriesList.flatMap((s) => s.values)) * 1.1;
    ctx.strokeStyle = "#ccc"; ctx.fillStyle = "#666"; ctx.font = "10px sans-serif";
    for (let i = 0; i <= 4; i++) {
      const y = pad / 2 + (h - pad) * i / 4;
      ctx.beginPath(); ctx.moveTo(pad, y); ctx.lineTo(w, y); ctx.stroke();
      ctx.fillText((max * (4 - i) / 4).toFixed(0), 2, y + 3);
    }
    seriesList.forEach((s, k) => {
      ctx.strokeStyle = s.color || COLORS[k % COLORS.length];
      ctx.beginPath();
      s.values.forEach((v, i) => {
        const x = pad + (w - pad) * (i + HISTORY - s.values.length) / (HISTORY - 1);
        const y = pad / 2 + (h - pad) * (1 - v / max);
        i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
      });
      ctx.stroke();
      ctx.fillStyle = ctx.strokeStyle;
      ctx.fillText(s.label, w - 90, 12 + 11 * k);
    });
  }

  async function poll() {
    try {
      const [streams, stats, health] = await Promise.all([api("api/streams"), api("api/stats"), api("health")]);
      renderStreams(streams.body);
      const names = new Set(streams.body.map((s) => s.name));
      for (const s of streams.body) {
        if (!fpsHistory.has(s.name)) fpsHistory.set(s.name, []);
        push(fpsHistory.get(s.name), s.fps);
      }
      for (const name of [...fpsHistory.keys()]) if (!names.has(name)) fpsHistory.delete(name);
      drawChart($("fps-chart"), [...fpsHistory].map(([label, values]) => ({ label, values })));
      const latency = stats.body.latency || {};
      push(latencyHistory.p50, latency.p50_ms || 0);
      push(latencyHistory.p99, latency.p99_ms || 0);
      drawChart($("latency-chart"), [{ label: "p50", values: latencyHistory.p50 },
                                     { label: "p99", values: latencyHistory.p99, color: "#d62728" }]);
      const badge = $("health");
      const ok = health.status === 200;
      badge.textContent = ok ? "healthy" : "unhealthy: " + (health.body.reasons || []).join("; ");
      badge.className = "badge " + (ok ? "ok" : "bad");
      const total = streams.body.reduce((a, s) => a + s.fps, 0);
      $("summary").textContent = `${streams.body.length} streams, ${total.toFixed(1)} fps, up ${Math.round(stats.body.uptime_s)} s`;
    } catch (e) {
      $("health").textContent = "unreachable: " + e.message;
      $("health").className = "badge bad";
    }
  }

  async function pollEvents() {
    try {
      const { body } = await api("api/events?limit=20");
      const list = $("events");
      list.replaceChildren(...body.slice().reverse().map((e) => {
        const li = document.createElement("li");
        li.className = e.type;
        li.textContent = `${new Date(e.time * 1000).toLocaleTimeString()} [${e.type}] ${e.element}: ${e.text}`;
        return li;
      }));
    } catch (e) { /* shown by poll() */ }
  }

  async function act(path, method, body) {
    try {
      await api(path, { method, body: body ? JSON.stringify(body) : undefined });
      say(`${method} ${path}: done`);
    } catch (e) {
      say(e.message, true);
    }
    poll(); pollEvents();
  }

  $("add-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const properties = $("add-loop").checked ? { loop: true } : {};
    act("api/streams", "POST", { name: $("add-name").value.trim(), uri: $("add-uri").value.trim(), properties });
  });
  $("remove-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(`api/streams/${encodeURIComponent($("remove-name").value.trim())}`, "DELETE");
  });

  poll(); pollEvents();
  setInterval(poll, POLL_MS);
  setInterval(pollEvents, 2000);
  setInterval(refreshPreviews, PREVIEW_MS);
})();
