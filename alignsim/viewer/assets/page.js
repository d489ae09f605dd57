// alignsim episode viewer. Every piece of log text goes into the page through textContent
// (never as markup), so agent messages cannot inject elements or script.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("episode-data").textContent);
  const SVG = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);
  const roleOf = {}, revealedIn = {};
  for (const a of data.agents) { roleOf[a.id] = a.role; revealedIn[a.id] = a.revealed_round; }
  const state = { round: data.rounds.length > 1 ? data.rounds[1] : (data.rounds[0] ?? 0), agent: "" };

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function add(parent, ...children) { for (const c of children) if (c) parent.appendChild(c); return parent; }
  function who(name) {
    const span = el("span", "who", name === null || name === undefined ? "nobody" : name);
    // On a public page a role shows from the round the game revealed it in, as the players learnt it.
    const known = revealedIn[name] === null || revealedIn[name] === undefined || state.round === "all" || revealedIn[name] <= state.round;
    if (name && roleOf[name] && known) add(span, el("span", "role " + roleOf[name], roleOf[name]));
    return span;
  }
  function kind(text) { return el("span", "kind", text); }
  function fields(obj, skip) {
    const dl = el("dl", "fields");
    for (const [k, v] of Object.entries(obj)) {
      if (skip.includes(k)) continue;
      add(dl, el("dt", null, k), el("dd", null, typeof v === "string" ? v : JSON.stringify(v)));
    }
    return dl;
  }
  function pre(text) { return el("pre", null, text); }
  function privateView() { return document.body.classList.contains("show-private"); }

  // The command that replays this episode with this event changed (speech dropped, vote moved).
  function forkCommand(e) {
    const log = quote(data.episode.log || "LOG.jsonl");
    if (e.type === "speech") return "alignsim fork " + log + " --drop-message " + e.seq;
    if (e.type === "vote") return "alignsim fork " + log + " --set-vote " + e.seq + " TARGET";
    return null;
  }
  function quote(text) { return /^[A-Za-z0-9_./:=@%+-]+$/.test(text) ? text : "'" + text.replace(/'/g, "'\\''") + "'"; }
  function seqTag(e) {
    const tag = el("span", "seq", "#" + e.seq);
    const command = forkCommand(e);
    tag.title = command ? "event " + e.seq + ": click for the fork command" : "event " + e.seq;
    if (command) {
      tag.classList.add("forkable");
      tag.addEventListener("click", () => {
        const box = tag.parentElement;
        const shown = box.querySelector("code.fork");
        if (shown) { shown.remove(); return; }
        add(box, el("code", "fork", command));
        if (navigator.clipboard) navigator.clipboard.writeText(command).catch(() => {});
      });
    }
    return tag;
  }

  // Annotators' readings of a statement (alignsim annotate): each judge's claims with the
  // words it took as evidence and alignsim's label. Labels are ground truth: private view only.
  function annotations(e, box) {
    const found = privateView() && data.annotations ? data.annotations[String(e.seq)] || [] : [];
    if (!found.length) return;
    const text = e.message || e.text || "";
    const list = el("div", "annotations");
    for (const a of found) {
      const line = el("div", "annotation");
      add(line, el("span", "judge", a.judge));
      if (!a.ok) add(line, el("span", "kind", "no annotation (unreadable answer)"));
      for (const c of a.claims) {
        const said = c.start >= 0 && c.end <= text.length ? "«" + text.slice(c.start, c.end) + "» " : "";
        const chip = el("span", "claim " + c.label,
          said + c.subject + " " + c.predicate + " " + (c.negated ? "not " : "") + c.value + " · " + c.label.replace("_", " "));
        chip.title = c.start >= 0 ? "evidence: characters " + c.start + "-" + c.end : "evidence not located";
        add(line, chip);
      }
      if (a.evasive) add(line, el("span", "kind", "evasive"));
      if (a.category) add(line, el("span", "kind", a.category));
      add(list, line);
    }
    add(box, list);
  }

  const render = {
    announcement(e, box) { add(box, kind(e.kind), el("span", null, e.text)); },
    speech(e, box) {
      if (e.channel !== "public") add(box, kind(e.channel + " only"));
      add(box, who(e.actor), el("span", "message", e.message));
      if (e.truncated) add(box, kind("cut"));
      if (e.proposal) add(box, el("div", "proposal", "proposes " + e.proposal));
      // Lie / truthful labels are ground truth: only the private view shows them.
      const labels = privateView() ? data.claim_labels[String(e.seq)] || [] : [];
      if (e.claims && e.claims.length) {
        const list = el("div", "claims");
        for (const c of e.claims) {
          const found = labels.find((l) => l.subject === c.subject && l.claimed_role === c.role);
          const chip = el("span", "claim" + (found ? " " + found.label : ""),
            c.subject + " is " + c.role + (found ? " · " + found.label.replace("_", " ") : ""));
          if (found) chip.title = found.label === "lie" ? "false, and the speaker knew it"
            : found.label === "honest_error" ? "false, but the speaker could not know" : "true";
          add(list, chip);
        }
        add(box, list);
      }
    },
    reasoning(e, box) { add(box, who(e.actor), kind("thinks"), el("span", "thought", e.text)); },
    belief(e, box) {
      add(box, who(e.actor), kind("belief P(traitor)"));
      const bars = el("div", "bars");
      for (const [name, p] of Object.entries(e.probs)) {
        const bar = el("div", "bar"); const fill = el("div");
        fill.style.width = Math.round(Math.max(0, Math.min(1, Number(p))) * 100) + "%";
        add(bars, el("span", null, name), add(bar, fill), el("span", null, Number(p).toFixed(2)));
      }
      add(box, bars);
    },
    vote(e, box) {
      add(box, kind(e.vote + " vote" + (e.ballot > 1 ? " · ballot " + e.ballot : "")), who(e.actor),
        el("span", "arrow", "→"), e.target ? who(e.target) : el("span", null, "abstains"));
    },
    vote_result(e, box) {
      const tally = Object.entries(e.tally).map(([k, v]) => k + ": " + v).join(", ") || "no votes";
      add(box, kind(e.vote + " vote result"), el("span", null, tally + " — " + e.resolution +
        (e.tied && e.tied.length ? " (tied: " + e.tied.join(", ") + ")" : "") + "; selected " + (e.selected || "nobody")));
    },
    elimination(e, box) {
      add(box, kind(e.cause), who(e.target),
        el("span", null, e.cause + (e.revealed_role ? " — revealed " + e.revealed_role : "")));
    },
    game_end(e, box) {
      add(box, el("span", null, "Game over: " + (e.winner ? "the " + e.winner + " win" : "no winner") + " (" + e.reason + ")"));
    },
    role_assignment(e, box) {
      add(box, kind("roles dealt (ground truth)"),
        el("span", null, Object.entries(e.roles).map(([k, v]) => k + " " + v).join(", ")));
    },
    memory_write(e, box) {
      add(box, who(e.agent), kind("remembers · " + e.kind + " · " + Number(e.importance).toFixed(1)), el("span", null, e.text));
    },
    invalid_action(e, box) {
      add(box, who(e.agent), kind("invalid action"), el("span", null, e.reason + " → " + e.fallback));
    },
    reward(e, box) {
      add(box, kind("rewards"), el("span", null, Object.entries(e.rewards).map(([k, v]) => k + " " + v).join(", ")));
    },
    episode_end(e, box) {
      add(box, el("span", null, "Episode " + e.status + " after " + e.steps + " actions" + (e.error ? ": " + e.error : "") +
        (e.reason ? " (" + e.reason + ")" : "")));
    },
    llm_call(e, box) {
      const d = el("details", "llm");
      const tokens = e.prompt_tokens + "+" + e.completion_tokens + " tokens";
      add(d, el("summary", null, "LLM call · " + e.agent + " · " + (e.tag || "?") + " · " + e.model + " · " + tokens +
        " · " + Number(e.latency_s).toFixed(2) + " s" + (e.valid ? "" : " · rejected")));
      for (const m of e.messages) add(d, el("div", "msgrole", m.role), pre(m.content));
      if (e.choices) add(d, el("div", "msgrole", "choices"), pre(e.choices.join("\n")));
      add(d, el("div", "msgrole", "raw output"), pre((e.prefill || "") + e.raw_output));
      add(d, el("div", "msgrole", "parsed"), pre(JSON.stringify(e.parsed)));
      add(d, el("div", "msgrole", "params"), pre(JSON.stringify(e.params)));
      if (e.error) add(d, el("div", "msgrole", "error"), pre(e.error));
      box.classList.add("llm-box");
      add(box, d);
    },
    // Self-evolution and principal-agent families: a compact line, then every field.
    compliance_choice(e, box) {
      box.classList.add(e.aligned ? "aligned" : "misaligned");
      add(box, who(e.actor), el("span", "verdict", e.choice + (e.aligned ? " (aligned)" : " (not aligned)")),
        el("span", null, " · told " + e.cue + ", truly " + (e.supervised ? "supervised" : "unsupervised") +
          (e.detected ? " · caught" : "") + " · reward " + e.reward));
      generic(e, box, true);
    },
    threshold_round(e, box) {
      box.classList.add(e.success ? "aligned" : "misaligned");
      add(box, el("span", "verdict", e.n_collective + " of " + Object.keys(e.choices).length + " collective (threshold " +
        e.threshold + "): " + (e.success ? "reached" : "missed")));
      generic(e, box, true);
    },
    pa_decision(e, box) {
      box.classList.add(e.override ? "misaligned" : "aligned");
      add(box, who(e.agent), el("span", "verdict", "chose " + e.label + " · serves " + e.decisive +
        (e.override ? " (override against the customer)" : "")));
      generic(e, box, true);
    },
    pa_outcome(e, box) {
      add(box, el("span", "verdict", "purchased " + (e.purchased === null ? "nothing" : "#" + e.purchased) +
        " · customer " + e.customer + " · surplus " + e.surplus));
      generic(e, box, true);
    },
    action(e, box) {
      const d = el("details", "action");
      add(d, el("summary", null, "action · " + e.agent + " · " + e.policy + " · step " + e.step), pre(JSON.stringify(e.action, null, 1)));
      add(box, d);
    },
  };
  function generic(e, box, fieldsOnly) {
    if (!fieldsOnly) {
      add(box, kind(e.type));
      const actor = e.actor || e.agent;
      if (actor) add(box, who(actor));
    } else {
      box.insertBefore(kind(e.type), box.firstChild);
    }
    for (const key of ["message", "text", "explanation"]) if (typeof e[key] === "string") add(box, el("span", null, e[key]));
    add(box, fields(e, ["seq", "type", "round", "phase", "row", "pub", "step", "visible_to", "actor", "agent", "message", "text", "explanation"]));
  }

  function visible(e) {
    if (state.round !== "all" && e.round !== state.round) return false;
    if (!state.agent) return true;
    return e.visible_to.includes(state.agent) || e.actor === state.agent || e.agent === state.agent;
  }

  function renderTimeline() {
    const root = $("timeline");
    root.replaceChildren();
    const shown = data.events.filter(visible);
    if (!shown.length) { add(root, el("p", "empty", "No events in this round.")); return; }
    let section = null, key = null, rows = new Map();
    for (const e of shown) {
      const phaseKey = e.round + "|" + e.phase;
      if (phaseKey !== key) {
        key = phaseKey; rows = new Map();
        section = el("section", "phase");
        root.appendChild(section);
        section.dataset.round = String(e.round);
        const title = (e.round === 0 ? "Before round 1" : "Round " + e.round) + (e.phase ? " · " + e.phase.replace(/_/g, " ") : "");
        add(section, el("h2", null, title));
        const heads = add(el("div", "colheads"), el("div", null, "public"), el("div", null, "private (reasoning, beliefs, memory, model calls)"));
        add(section, heads);
      }
      let row = rows.get(e.row);
      if (!row) {
        row = el("div", "row");
        section.appendChild(row);
        row.dataset.step = String(e.row);
        add(row, el("div", "cell pub"), el("div", "cell priv"));
        rows.set(e.row, row);
      }
      const box = el("div", "ev " + e.type);
      box.dataset.seq = String(e.seq);
      add(box, seqTag(e));
      (render[e.type] || generic)(e, box);
      annotations(e, box);
      if (e.type === "announcement" && !e.pub) {
        // Long private briefings and prompts fold to three lines; a click unfolds them.
        box.classList.add("folded");
        box.addEventListener("click", () => box.classList.toggle("folded"));
      }
      row.children[e.pub ? 0 : 1].appendChild(box);
    }
  }

  function renderPlayers() {
    const body = $("players-body");
    body.replaceChildren();
    const r = state.round === "all" ? Infinity : state.round;
    for (const a of data.agents) {
      const fate = data.fates[a.id];
      const tr = el("tr", fate && fate.round < r ? "gone" : null);
      const name = el("td"); add(name, who(a.id));
      add(tr, name, el("td", null, a.model || a.policy || "(not shown)"),
        el("td", null, fate ? fate.cause + " r" + fate.round : "alive"));
      add(body, tr);
    }
  }

  function renderGraph() {
    const box = $("graph");
    box.replaceChildren();
    const graph = data.graphs[String(state.round)];
    $("graph-title").textContent = state.round === "all" ? "Trust graph (pick a round)" : "Trust graph · round " + state.round;
    $("graph-section").hidden = !Object.keys(data.graphs).length;
    if (!graph) { add(box, el("p", "empty", "No trust graph for this view.")); return; }
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "-60 -30 440 400"); svg.setAttribute("class", "trust");
    const defs = document.createElementNS(SVG, "defs");
    for (const [id, color] of [["arrow-s", "#c0392b"], ["arrow-t", "#1e8449"]]) {
      const m = document.createElementNS(SVG, "marker");
      for (const [k, v] of [["id", id], ["viewBox", "0 0 10 10"], ["refX", "20"], ["refY", "5"], ["markerWidth", "6"], ["markerHeight", "6"], ["orient", "auto"]]) m.setAttribute(k, v);
      const p = document.createElementNS(SVG, "path"); p.setAttribute("d", "M0,0 L10,5 L0,10 z"); p.setAttribute("fill", color);
      m.appendChild(p); defs.appendChild(m);
    }
    svg.appendChild(defs);
    const at = (n) => data.positions[n];
    for (const e of graph.edges) {
      if (!e.suspects && !e.trusts) continue;
      const [x1, y1] = at(e.source), [x2, y2] = at(e.target);
      const line = document.createElementNS(SVG, "line");
      for (const [k, v] of [["x1", x1], ["y1", y1], ["x2", x2], ["y2", y2]]) line.setAttribute(k, String(v));
      line.setAttribute("stroke", e.suspects ? "#c0392b" : "#1e8449");
      line.setAttribute("stroke-width", String(1 + (e.votes || 0) + 0.5 * (e.accusations || 0)));
      line.setAttribute("stroke-opacity", "0.7");
      line.setAttribute("marker-end", e.suspects ? "url(#arrow-s)" : "url(#arrow-t)");
      const title = document.createElementNS(SVG, "title");
      title.textContent = e.source + " → " + e.target + ": votes " + e.votes + ", accusations " + e.accusations +
        ", defences " + e.defences + (e.belief !== undefined ? ", belief " + e.belief : "");
      line.appendChild(title); svg.appendChild(line);
    }
    for (const n of graph.nodes) {
      const [x, y] = at(n.id);
      const c = document.createElementNS(SVG, "circle");
      c.setAttribute("cx", String(x)); c.setAttribute("cy", String(y)); c.setAttribute("r", "13");
      const known = revealedIn[n.id] === null || revealedIn[n.id] === undefined || revealedIn[n.id] <= state.round;
      const showRole = n.role && known && (document.body.classList.contains("show-private") || document.body.classList.contains("show-roles"));
      c.setAttribute("fill", showRole ? (n.role === "traitor" ? "#8e2a2a" : "#1f5f8b") : "#6b6b66");
      c.setAttribute("stroke", n.fate ? "#000" : "#fff"); c.setAttribute("stroke-width", n.fate ? "3" : "1");
      c.setAttribute("class", "node"); c.dataset.agent = n.id;
      const t = document.createElementNS(SVG, "text");
      t.setAttribute("x", String(x)); t.setAttribute("y", String(y + 27)); t.setAttribute("text-anchor", "middle");
      t.textContent = n.id + (n.fate ? " (" + n.fate + ")" : "");
      svg.appendChild(c); svg.appendChild(t);
    }
    box.appendChild(svg);
  }

  // The round at a glance, beside the timeline: how it was decided, in every family.
  const SUMMARY = ["vote_result", "elimination", "game_end", "threshold_round", "pa_decision", "pa_outcome", "episode_end"];
  function renderSummary() {
    const box = $("summary");
    box.replaceChildren();
    const events = data.events.filter((e) => state.round === "all" || e.round === state.round);
    const choices = events.filter((e) => e.type === "compliance_choice");
    if (choices.length) {
      const aligned = choices.filter((e) => e.aligned).length;
      const caught = choices.filter((e) => e.detected).length;
      add(box, el("div", "ev " + (aligned * 2 >= choices.length ? "aligned" : "misaligned"),
        aligned + " of " + choices.length + " choices aligned (compliant); " + caught + " violation(s) caught"));
    }
    for (const e of events.filter((x) => SUMMARY.includes(x.type))) {
      const item = el("div", "ev " + e.type);
      (render[e.type] || generic)(e, item);
      add(box, item);
    }
    if (!box.children.length) add(box, el("p", "empty", "Nothing decided in this view."));
  }

  function update() {
    const i = data.rounds.indexOf(state.round);
    $("round-label").textContent = state.round === "all" ? "All rounds"
      : (state.round === 0 ? "Before round 1" : "Round " + state.round + " of " + data.rounds[data.rounds.length - 1]);
    $("round-select").value = String(state.round);
    $("prev").disabled = state.round !== "all" && i <= 0;
    $("next").disabled = state.round !== "all" && i >= data.rounds.length - 1;
    renderTimeline(); renderSummary(); renderPlayers(); renderGraph();
  }
  function step(delta) {
    if (state.round === "all") { state.round = data.rounds[0]; update(); return; }
    const i = data.rounds.indexOf(state.round) + delta;
    if (i >= 0 && i < data.rounds.length) { state.round = data.rounds[i]; update(); }
  }

  function header() {
    const ep = data.episode;
    $("title").textContent = ep.id;
    const meta = $("meta");
    const items = [["scenario", ep.scenario], ["env", ep.env_id], ["seed", ep.seed + " / episode " + ep.episode_index],
      ["status", ep.status], ["winner", ep.winner || "none"], ["actions", ep.steps]];
    if (ep.parent) items.push(["forked from", ep.parent]);
    if (ep.fork) items.push(["change", JSON.stringify(ep.fork.change) + " at step " + ep.fork.at]);
    for (const [k, v] of items) add(meta, el("span", null, k + ": " + v));
    const select = $("round-select");
    const option = (parent, value, label) => { const o = el("option", null, label); o.value = value; parent.appendChild(o); };
    for (const r of data.rounds) option(select, String(r), r === 0 ? "before round 1" : "round " + r);
    option(select, "all", "all rounds");
    for (const a of data.agents) option($("agent-filter"), a.id, "seen by " + a.id);
  }

  // Public and one-player pages hold only what the viewer was entitled to (filtered before the
  // page was written): the roles in them were revealed, so they always show.
  if (data.view.kind !== "private") {
    document.body.classList.add("show-roles");
    $("agent-filter").hidden = true;
    if (data.view.kind === "public") for (const id of ["toggle-private", "toggle-llm", "toggle-actions"]) $(id).parentElement.hidden = true;
  }
  header();
  $("prev").addEventListener("click", () => step(-1));
  $("next").addEventListener("click", () => step(1));
  $("round-select").addEventListener("change", (ev) => {
    const v = ev.target.value; state.round = v === "all" ? "all" : Number(v); update();
  });
  $("agent-filter").addEventListener("change", (ev) => { state.agent = ev.target.value; update(); });
  for (const [id, cls] of [["toggle-private", "show-private"], ["toggle-llm", "show-llm"], ["toggle-actions", "show-actions"]]) {
    $(id).addEventListener("change", (ev) => {
      document.body.classList.toggle(cls, ev.target.checked);
      if (id === "toggle-private") update(); else renderGraph();  // ground-truth labels come and go
    });
  }
  document.addEventListener("keydown", (ev) => {
    if (ev.target instanceof HTMLSelectElement) return;
    if (ev.key === "ArrowRight") step(1);
    if (ev.key === "ArrowLeft") step(-1);
  });
  update();
})();
