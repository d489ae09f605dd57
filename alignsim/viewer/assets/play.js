// The play page of a human seat (alignsim play --web): polls the server for this seat's
// state and shows it. Everything shown is text set with textContent; the server sends only
// what this seat may see.
"use strict";
(function () {
  const base = location.pathname.replace(/\/$/, "");
  let version = null;
  let pollMs = 400;
  let deadline = null;
  let busy = false;
  let liveCount = 0;
  const liveLines = [];

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  async function post(path, body) {
    busy = true;
    try {
      const response = await fetch(base + "/" + path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      return response.ok;
    } finally {
      busy = false;
    }
  }

  function showMessages(view, messages) {
    // Every message but the last (rules, the seat's briefing) folds away; the last holds
    // the transcript so far and the question.
    messages.forEach((m, i) => {
      if (i < messages.length - 1) {
        const box = el("details", "msg");
        box.appendChild(el("summary", "", m.role === "system" ? "Rules" : "You"));
        box.appendChild(el("div", "", m.content));
        if (m.role !== "system") box.open = true;
        view.appendChild(box);
      }
    });
    const last = messages.length ? messages[messages.length - 1].content.split("\n") : [];
    const question = last.length ? last[last.length - 1] : "";
    const story = el("div", "msg transcript");
    story.id = "transcript";
    last.slice(0, -1).forEach((line) => {
      if (line.trim()) story.appendChild(el("div", "line", line));
    });
    view.appendChild(story);
    return question;
  }

  function showLive() {
    // What the seat has observed so far (filtered by the server), newest last.
    const side = document.getElementById("side");
    let box = document.getElementById("live");
    if (!box) {
      side.appendChild(el("h2", "", "What you have seen"));
      box = el("div", "msg live");
      box.id = "live";
      side.appendChild(box);
    }
    box.replaceChildren();
    liveLines.slice(-200).forEach((line) => box.appendChild(el("div", "line", line)));
    box.scrollTop = box.scrollHeight;
  }

  function render(state) {
    const view = document.getElementById("view");
    const side = document.getElementById("side");
    view.replaceChildren();
    side.replaceChildren();
    document.getElementById("seat").textContent = state.agent + " (" + state.label + ")";
    document.getElementById("title").textContent = "alignsim: you play " + state.agent;
    const status = document.getElementById("status");
    deadline = null;
    if (state.note) side.appendChild(el("p", "problem", state.note));
    if (state.status === "consent") {
      status.textContent = "before the game";
      view.appendChild(el("div", "msg consent", state.consent));
      const agree = el("button", "", "I agree: start");
      agree.id = "agree";
      agree.addEventListener("click", async () => {
        agree.disabled = true;
        await post("consent", {});
      });
      view.appendChild(agree);
    } else if (state.status === "question") {
      const q = state.question;
      status.textContent = "your turn";
      const asked = showMessages(view, q.messages);
      const box = el("div", "ask");
      box.id = "ask";
      box.dataset.tag = q.tag;
      box.dataset.qid = String(q.id);
      box.appendChild(el("div", "question", asked));
      if (q.problem) box.appendChild(el("div", "problem", "Your previous answer could not be used: " + q.problem));
      if (q.timeout_s !== null) deadline = Date.now() + q.timeout_s * 1000;
      if (q.choices !== null) {
        const list = el("div", "choices");
        q.choices.forEach((choice, i) => {
          const button = el("button", "choice", choice);
          button.addEventListener("click", async () => {
            list.querySelectorAll("button").forEach((b) => (b.disabled = true));
            await post("answer", { id: q.id, choice: i });
          });
          list.appendChild(button);
        });
        box.appendChild(list);
      } else {
        box.appendChild(el("label", "", (q.lead || "Your answer:") + " (at most " + q.limit + " characters)"));
        const input = el("input");
        input.id = "answer-text";
        input.type = "text";
        input.maxLength = q.limit;
        const send = el("button", "", "Send");
        send.id = "send";
        const submit = async () => {
          send.disabled = true;
          await post("answer", { id: q.id, text: input.value });
        };
        send.addEventListener("click", submit);
        input.addEventListener("keydown", (e) => {
          if (e.key === "Enter") submit();
        });
        box.appendChild(input);
        box.appendChild(send);
      }
      view.appendChild(box);
      const input = document.getElementById("answer-text");
      if (input) input.focus();
      window.scrollTo(0, document.body.scrollHeight);
    } else if (state.status === "over") {
      status.textContent = "game over";
      const story = el("div", "msg transcript");
      story.id = "transcript";
      state.transcript.forEach((line) => story.appendChild(el("div", "line", line)));
      view.appendChild(story);
      const end = el("div", "over", (state.ending || "The game is over.") + " You can close this page.");
      end.id = "game-over";
      view.appendChild(end);
    } else {
      status.textContent = "waiting for the other players";
      view.appendChild(el("p", "waiting", "Waiting for the other players..."));
    }
    if (state.status !== "consent" && state.status !== "over") showLive();
  }

  async function pollLive() {
    const response = await fetch(base + "/live?after=" + liveCount);
    if (!response.ok) return;
    const news = await response.json();
    if (news.total < liveCount) {
      liveLines.length = 0;
      liveCount = 0;
      return;
    }
    news.lines.forEach((line) => liveLines.push(line));
    liveCount = news.total;
    if (news.lines.length && document.getElementById("live")) showLive();
  }

  function tick() {
    const clock = document.getElementById("clock");
    clock.textContent = deadline === null ? "" : Math.max(0, Math.ceil((deadline - Date.now()) / 1000)) + " s left";
  }

  async function poll() {
    let over = false;
    try {
      if (!busy) {
        const response = await fetch(base + "/state" + (version === null ? "" : "?v=" + version));
        if (response.ok) {
          const state = await response.json();
          if (state.status !== undefined) {
            version = state.version;
            pollMs = state.poll_ms || pollMs;
            render(state);
            over = state.status === "over";
          }
        }
        if (!over && version !== null) await pollLive();
      }
    } catch (e) {
      document.getElementById("status").textContent = "the game server is not answering";
    }
    tick();
    if (!over) setTimeout(poll, pollMs);
  }

  poll();
})();
