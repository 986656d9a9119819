/* daoban citizen chat widget. One tag adds it to any page:
 *   <script src="{daoban base URL}/widget.js" defer></script>
 * Optional attributes: data-region="山东省", data-title="智能导办", data-open="true".
 * Plain JS, no dependencies, everything served by the daoban API (no CDN, no web fonts). */
(function () {
  "use strict";
  if (window.__daobanWidget) return;
  window.__daobanWidget = true;

  var script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  var BASE = script ? new URL(script.src, location.href).origin : location.origin;
  var REGION = (script && script.dataset.region) || null;
  var TITLE = (script && script.dataset.title) || "一件事智能导办";
  var SKEY = "daoban.session";

  var CSS = [
    ".dbw, .dbw * { box-sizing: border-box; }",
    ".dbw { --b:#1d5fbf; --bd:#15468f; --soft:#eaf1fc; --ink:#1f2733; --mut:#66717f; --line:#dfe4ec; --ok:#16804a; --okbg:#e6f5ec; --bad:#c0392b; --badbg:#fdecea;",
    "  font-family: 'PingFang SC','Hiragino Sans GB','Microsoft YaHei','Noto Sans CJK SC','Noto Sans SC',system-ui,sans-serif; font-size:14px; line-height:1.6; color:var(--ink); }",
    ".dbw button, .dbw input, .dbw select, .dbw textarea { font: inherit; color: inherit; }",
    ".dbw :focus-visible { outline: 3px solid #7aa7ec; outline-offset: 2px; }",
    ".dbw-bubble { position: fixed; right: 24px; bottom: 24px; z-index: 2147483000; display:flex; align-items:center; gap:8px; height: 56px; padding: 0 22px 0 18px; border-radius: 28px; border: 0;",
    "  background: var(--b); color: #fff; font-weight: 600; font-size: 15px; cursor: pointer; box-shadow: 0 6px 24px rgba(21,70,143,.35); }",
    ".dbw-bubble:hover { background: var(--bd); }",
    ".dbw-bubble svg { width: 24px; height: 24px; }",
    ".dbw-panel { position: fixed; right: 24px; bottom: 24px; z-index: 2147483001; width: 400px; height: min(680px, calc(100vh - 48px)); background: #f6f8fb;",
    "  border-radius: 14px; box-shadow: 0 12px 48px rgba(16,30,54,.28); display: flex; flex-direction: column; overflow: hidden; border: 1px solid var(--line); }",
    ".dbw-panel[hidden], .dbw-bubble[hidden] { display: none; }",
    ".dbw-head { background: linear-gradient(135deg, #1d5fbf, #15468f); color: #fff; padding: 12px 14px 12px 16px; display: flex; align-items: center; gap: 10px; }",
    ".dbw-head .dbw-logo { width: 32px; height: 32px; border-radius: 9px; background: #fff; color: var(--bd); font-weight: 800; display:flex; align-items:center; justify-content:center; }",
    ".dbw-head h2 { font-size: 16px; margin: 0; line-height: 1.2; } .dbw-head p { margin: 0; font-size: 12px; opacity: .85; }",
    ".dbw-head .dbw-sp { flex: 1; }",
    ".dbw-icon { background: transparent; border: 0; color: #fff; width: 34px; height: 34px; border-radius: 8px; cursor: pointer; font-size: 20px; line-height: 1; }",
    ".dbw-icon:hover { background: rgba(255,255,255,.16); }",
    ".dbw-log { flex: 1; overflow-y: auto; padding: 14px 12px 6px; scroll-behavior: smooth; }",
    ".dbw-msg { display: flex; margin: 0 0 12px; } .dbw-msg.user { justify-content: flex-end; }",
    ".dbw-msg .dbw-b { max-width: 88%; padding: 9px 12px; border-radius: 12px; white-space: pre-wrap; word-break: break-word; }",
    ".dbw-msg.user .dbw-b { background: var(--b); color: #fff; border-bottom-right-radius: 4px; }",
    ".dbw-msg.bot .dbw-b { background: #fff; border: 1px solid var(--line); border-bottom-left-radius: 4px; max-width: 94%; }",
    ".dbw-route { font-size: 12px; color: var(--b); background: var(--soft); border-radius: 999px; padding: 1px 9px; display: inline-block; margin-bottom: 6px; }",
    ".dbw-lead { margin: 0 0 8px; font-weight: 600; min-height: 1.2em; } .dbw-lead:empty::before { content: '正在整理要点…'; color: #888; font-weight: 400; }",
    ".dbw-cursor::after { content: '▍'; animation: dbwblink 1s steps(2) infinite; color: var(--b); } @keyframes dbwblink { 50% { opacity: 0; } }",
    ".dbw-cites { margin: 8px 0 0; padding: 8px 0 0; border-top: 1px dashed var(--line); font-size: 12.5px; list-style: none; }",
    ".dbw-cites li { margin: 2px 0; } .dbw-cites a { color: var(--b); text-decoration: none; } .dbw-cites a:hover { text-decoration: underline; }",
    ".dbw-cites .n { display:inline-block; min-width:18px; height:18px; border-radius:4px; background:var(--soft); color:var(--b); text-align:center; font-size:11px; line-height:18px; margin-right:4px; }",
    ".dbw-clarify { margin-top: 8px; } .dbw-clarify p { margin: 0 0 6px; font-weight: 600; }",
    ".dbw-opt { display: block; width: 100%; text-align: left; background: #fff; border: 1px solid #bcd0f0; color: var(--bd); border-radius: 8px; padding: 7px 10px; margin: 5px 0; cursor: pointer; }",
    ".dbw-opt:hover, .dbw-opt:focus-visible { background: var(--soft); border-color: var(--b); }",
    ".dbw-chips { display: flex; flex-wrap: wrap; gap: 6px; padding: 0 12px 8px; }",
    ".dbw-chip { background: #fff; border: 1px solid var(--line); color: var(--ink); border-radius: 999px; padding: 3px 11px; font-size: 12.5px; cursor: pointer; }",
    ".dbw-chip:hover, .dbw-chip:focus-visible { border-color: var(--b); color: var(--b); }",
    ".dbw-fb { display: flex; gap: 6px; align-items: center; margin-top: 8px; font-size: 12px; color: var(--mut); flex-wrap: wrap; }",
    ".dbw-fb button { border: 1px solid var(--line); background: #fff; border-radius: 999px; padding: 1px 9px; cursor: pointer; font-size: 12px; display: inline-flex; align-items: center; min-height: 24px; }",
    ".dbw-fb button[aria-pressed=true] { background: var(--soft); border-color: var(--b); color: var(--b); }",
    ".dbw-form { background: #fff; border: 1px solid #bcd0f0; border-radius: 12px; margin: 0 0 12px; overflow: hidden; }",
    ".dbw-form h3 { margin: 0; font-size: 14px; padding: 9px 12px; background: var(--soft); color: var(--bd); }",
    ".dbw-form .dbw-fields { padding: 6px 12px 4px; }",
    ".dbw-review { padding: 0 12px; font-size: 12.5px; } .dbw-review h4 { margin: 6px 0 2px; font-size: 13px; }",
    ".dbw-review ul.fix { margin: 2px 0; padding-left: 18px; color: var(--bad); } .dbw-review p { margin: 2px 0; }",
    ".dbw-sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }",
    ".dbw-review h4.pass { color: var(--ok); } .dbw-review ul.fix .dbw-link { font-size: 12px; }",
    ".dbw-secondary { background: #fff; border: 1px solid #bcd0f0; border-radius: 8px; padding: 6px 12px; cursor: pointer; }",
    ".dbw-field { margin: 7px 0; } .dbw-field .dbw-lab { font-size: 12.5px; color: var(--mut); } .dbw-field label { color: var(--mut); }",
    ".dbw-field label .req { color: var(--bad); margin-left: 2px; }",
    ".dbw-field input, .dbw-field select { width: 100%; border: 1px solid var(--line); border-radius: 7px; padding: 6px 9px; background: #fff; }",
    ".dbw-field.invalid input, .dbw-field.invalid select { border-color: var(--bad); background: #fffafa; }",
    ".dbw-field .err { color: var(--bad); font-size: 12px; min-height: 0; }",
    ".dbw-field .src { font-size: 11px; color: var(--ok); margin-left: 6px; }",
    ".dbw-cert { font-size: 11px; color: var(--ok); background: var(--okbg); border: 1px solid #b6e0c7; border-radius: 999px; padding: 0 7px; margin-left: 6px; white-space: nowrap; }",
    ".dbw-field input[readonly] { background: #f4faf6; border-color: #b6e0c7; }",
    ".dbw-link { background: none; border: 0; color: var(--b); cursor: pointer; font-size: 11.5px; padding: 0 4px; text-decoration: underline; }",
    ".dbw-lic { padding: 6px 12px 0; font-size: 12.5px; display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }",
    ".dbw-lic select { border: 1px solid var(--line); border-radius: 7px; padding: 3px 6px; }",
    ".dbw-notes { padding: 0 12px; font-size: 12.5px; } .dbw-notes p { margin: 4px 0; } .dbw-notes .warn { color: #9a5b00; }",
    ".dbw-form .dbw-actions { padding: 8px 12px 12px; display: flex; gap: 8px; align-items: center; }",
    ".dbw-primary { background: var(--b); color: #fff; border: 0; border-radius: 8px; padding: 7px 16px; cursor: pointer; font-weight: 600; }",
    ".dbw-primary:hover { background: var(--bd); } .dbw-primary:disabled { opacity: .6; cursor: default; }",
    ".dbw-receipt { background: var(--okbg); border: 1px solid #b6e0c7; border-radius: 12px; padding: 10px 12px; margin: 0 0 12px; }",
    ".dbw-receipt h3 { margin: 0 0 4px; color: var(--ok); font-size: 14px; } .dbw-receipt dl { margin: 0; display: grid; grid-template-columns: auto 1fr; gap: 2px 10px; font-size: 13px; }",
    ".dbw-receipt details { margin-top: 6px; } .dbw-receipt summary { cursor: pointer; font-size: 12.5px; color: var(--mut); }",
    ".dbw-receipt dt { color: var(--mut); } .dbw-receipt dd { margin: 0; } .dbw-receipt .no { font-family: ui-monospace, Menlo, Consolas, monospace; font-weight: 700; letter-spacing: .5px; }",
    ".dbw-input { display: flex; gap: 8px; padding: 10px 12px 12px; background: #fff; border-top: 1px solid var(--line); align-items: flex-end; }",
    ".dbw-input textarea { flex: 1; resize: none; border: 1px solid var(--line); border-radius: 10px; padding: 8px 10px; max-height: 120px; min-height: 40px; }",
    ".dbw-input textarea:focus { border-color: var(--b); outline: none; box-shadow: 0 0 0 3px #d6e4fa; }",
    ".dbw-error { color: var(--bad); background: var(--badbg); border-radius: 8px; padding: 6px 10px; margin: 0 0 12px; font-size: 13px; }",
    ".dbw-foot { font-size: 11px; color: var(--mut); text-align: center; padding: 0 0 6px; background: #fff; }",
    "@media (max-width: 520px) { .dbw-panel { right: 0; bottom: 0; width: 100vw; height: 100vh; height: 100dvh; border-radius: 0; border: 0; }",
    "  .dbw-bubble { right: 16px; bottom: 16px; } }",
    /* 好差评 and tickets (工单) */
    ".dbw-rate { margin-top: 6px; font-size: 12px; color: var(--mut); } .dbw-rate .dbw-levels { display: flex; gap: 4px; flex-wrap: wrap; margin: 4px 0; }",
    ".dbw-rate button, .dbw-ticket-open { border: 1px solid var(--line); background: #fff; border-radius: 999px; padding: 1px 9px; cursor: pointer; font-size: 12px; min-height: 24px; }",
    ".dbw-rate button[aria-pressed=true] { background: var(--b); border-color: var(--b); color: #fff; }",
    ".dbw-rate .dbw-reasons { display: flex; flex-wrap: wrap; gap: 2px 10px; margin: 4px 0; color: var(--ink); }",
    ".dbw-rate input[type=text], .dbw-tform textarea, .dbw-tform input[type=tel], .dbw-tform select { width: 100%; border: 1px solid var(--line); border-radius: 7px; padding: 5px 8px; background: #fff; }",
    ".dbw-ticket-open { margin-top: 8px; border-color: var(--b); color: var(--b); font-weight: 600; }",
    ".dbw-tform { background: #fff; border: 1px solid #bcd0f0; border-radius: 12px; margin: 0 0 12px; padding: 10px 12px; font-size: 13px; }",
    ".dbw-tform h3 { margin: 0 0 6px; font-size: 14px; color: var(--bd); } .dbw-tform label { display: block; margin: 6px 0 2px; color: var(--mut); font-size: 12.5px; }",
    ".dbw-tform label.dbw-consent { display: flex; gap: 6px; align-items: flex-start; color: var(--ink); } .dbw-tform .err { color: var(--bad); font-size: 12px; min-height: 16px; }"
  ].join("\n");

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "class") node.className = attrs[k];
      else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), attrs[k]);
      else if (attrs[k] !== null && attrs[k] !== undefined && attrs[k] !== false) node.setAttribute(k, attrs[k] === true ? "" : attrs[k]);
    }
    (children || []).forEach(function (c) { if (c) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  }

  var style = el("style", { text: CSS });
  document.head.appendChild(style);
  var root = el("div", { class: "dbw", id: "daoban-widget" });
  var chatIcon = '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" aria-hidden="true"><path d="M21 12a8 8 0 0 1-11.6 7.1L4 20l1.1-4.6A8 8 0 1 1 21 12z"/></svg>';
  var bubble = el("button", { class: "dbw-bubble", type: "button", "aria-label": "打开" + TITLE, "aria-expanded": "false", "aria-controls": "dbw-panel" });
  bubble.innerHTML = chatIcon + "<span>办事咨询</span>";
  var log = el("div", { class: "dbw-log", role: "log", "aria-live": "polite", "aria-label": "对话记录" });
  var chips = el("div", { class: "dbw-chips", "aria-label": "推荐问题" });
  var input = el("textarea", { rows: "1", placeholder: "一句话说说您要办的事…", "aria-label": "输入您的问题", maxlength: "2000" });
  var send = el("button", { class: "dbw-primary", type: "submit", text: "发送" });
  var closeBtn = el("button", { class: "dbw-icon", type: "button", "aria-label": "关闭对话窗口", title: "关闭 (Esc)", text: "×" });
  var resetBtn = el("button", { class: "dbw-icon", type: "button", "aria-label": "开始新的咨询", title: "新的咨询", text: "↻" });
  var panel = el("section", { class: "dbw-panel", id: "dbw-panel", role: "dialog", "aria-label": TITLE, hidden: true }, [
    el("div", { class: "dbw-head" }, [
      el("div", { class: "dbw-logo", "aria-hidden": "true", text: "办" }),
      el("div", {}, [el("h2", { text: TITLE }), el("p", { text: "一次告知 · 一表申请 · 一次办成" })]),
      el("div", { class: "dbw-sp" }), resetBtn, closeBtn]),
    log, chips,
    el("form", { class: "dbw-input", onsubmit: function (e) { e.preventDefault(); ask(input.value); } }, [input, send]),
    el("div", { class: "dbw-foot", text: "回答依据官方办事指南生成，请以受理部门意见为准 · 人工服务请拨 12345" })
  ]);
  root.appendChild(bubble);
  root.appendChild(panel);
  document.body.appendChild(root);

  // The server issues the session and its secret (X-Session-Token, sent once); both stay in this tab only.
  var sessionId = null, sessionToken = null;
  try {
    var saved = JSON.parse(sessionStorage.getItem(SKEY) || "null");
    if (saved && saved.id && saved.token) { sessionId = saved.id; sessionToken = saved.token; }
  } catch (e) { /* storage off or an old value: one page, one session */ }
  var busy = false;
  var formSpecs = {};

  function setSession(id, token) {
    if (token) sessionToken = token;
    sessionId = id;
    try { sessionStorage.setItem(SKEY, JSON.stringify({ id: sessionId, token: sessionToken })); } catch (e) { }
  }
  function forgetSession() { sessionId = null; sessionToken = null; try { sessionStorage.removeItem(SKEY); } catch (e) { } }
  function headers(extra) {
    var h = { "Content-Type": "application/json" };
    if (sessionToken) h["X-Session-Token"] = sessionToken;
    for (var k in extra || {}) h[k] = extra[k];
    return h;
  }
  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }
  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function open() {
    panel.hidden = false; bubble.hidden = true; bubble.setAttribute("aria-expanded", "true");
    if (!log.childElementCount) greet();
    setTimeout(function () { input.focus(); }, 0);
  }
  function close() { panel.hidden = true; bubble.hidden = false; bubble.setAttribute("aria-expanded", "false"); bubble.focus(); }
  bubble.addEventListener("click", open);
  closeBtn.addEventListener("click", close);
  resetBtn.addEventListener("click", function () {
    forgetSession();
    log.innerHTML = ""; greet(); input.focus();
  });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") { e.preventDefault(); close(); } });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); ask(input.value); }
  });
  input.addEventListener("input", function () { input.style.height = "auto"; input.style.height = Math.min(input.scrollHeight, 120) + "px"; });

  function greet() {
    addBot("您好！我是一件事智能导办助手。告诉我您要办的事，我会告诉您要准备什么、去哪办，并帮您预填一张申请表。");
    setChips(["孩子刚出生要办哪些证", "新开饭店要办哪些手续", "水电气报装一起办"]);
  }

  function addUser(text) {
    log.appendChild(el("div", { class: "dbw-msg user" }, [el("div", { class: "dbw-b", text: text })]));
    scrollDown();
  }
  function addBot(text) {
    var b = el("div", { class: "dbw-b", text: text || "" });
    var wrap = el("div", { class: "dbw-msg bot" }, [b]);
    log.appendChild(wrap); scrollDown();
    return b;
  }
  function addError(text) { log.appendChild(el("div", { class: "dbw-error", role: "alert", text: text })); scrollDown(); }

  function setChips(list) {
    chips.innerHTML = "";
    (list || []).slice(0, 4).forEach(function (s) {
      chips.appendChild(el("button", { class: "dbw-chip", type: "button", text: s, onclick: function () { ask(s); } }));
    });
  }

  function payload(message) {
    var body = { message: message, channel: "web", session_id: sessionId };
    if (REGION) body.region = REGION;
    return JSON.stringify(body);
  }

  function ask(text) {
    text = (text || "").trim();
    if (!text || busy) return;
    busy = true; send.disabled = true; input.value = ""; input.style.height = "auto";
    addUser(text); setChips([]);
    var bubbleText = addBot("");
    bubbleText.classList.add("dbw-cursor");
    var answered = false;
    var tokens = 0;
    var lead = null;  // after a draft, the tokens are the LLM's lead above it
    streamChat(text, function (token) {
      (lead || bubbleText).textContent += token; scrollDown();
      bubbleText.setAttribute("data-tokens", String(++tokens));
    }, function (reply, replyId) {
      answered = true; bubbleText.classList.remove("dbw-cursor");
      bubbleText.removeAttribute("data-state");
      renderReply(bubbleText, reply, replyId);
    }, function (draft) {
      // The composed, cited answer is ready before the lead: show it now, the final reply replaces it.
      bubbleText.classList.remove("dbw-cursor");
      richText(bubbleText, draft.answer);
      lead = el("div", { class: "dbw-lead dbw-cursor" });
      bubbleText.insertBefore(lead, bubbleText.firstChild);
      bubbleText.setAttribute("data-state", "draft");
      scrollDown();
    }).catch(function (err) {
      bubbleText.classList.remove("dbw-cursor");
      if (!answered) { bubbleText.parentNode.remove(); addError(err.message || "网络异常，请稍后再试或拨打 12345"); }
    }).then(function () {
      busy = false; send.disabled = false;
      var opt = log.lastElementChild && log.querySelector(".dbw-msg:last-of-type .dbw-opt:not([disabled])");
      (opt || input).focus();  // a question with options: the first option takes the keyboard
    });
  }

  // POST + Server-Sent Events read from the response body (EventSource cannot POST).
  function streamChat(text, onToken, onReply, onDraft, retried) {
    return fetch(BASE + "/v1/chat/stream", { method: "POST", headers: headers(), body: payload(text) })
      .then(function (res) {
        if (res.status === 403 && !retried) {  // the session ended (expired or its secret is gone): start anew
          forgetSession();
          return streamChat(text, onToken, onReply, onDraft, true);
        }
        if (!res.ok) return res.json().catch(function () { return {}; }).then(function (e) { throw new Error(e.message || "请求失败（" + res.status + "）"); });
        var issued = res.headers.get("X-Session-Token");
        var reader = res.body.getReader(), decoder = new TextDecoder(), buf = "";
        function handle(block) {
          var data = block.split("\n").filter(function (l) { return l.indexOf("data:") === 0; }).map(function (l) { return l.slice(5).trim(); }).join("\n");
          if (!data) return;
          var evt = JSON.parse(data);
          if (evt.type === "token") onToken(evt.text);
          else if (evt.type === "draft") onDraft(evt.reply);
          else if (evt.type === "reply") { setSession(evt.reply.session_id, issued); onReply(evt.reply, evt.reply_id); }
          else if (evt.type === "error") throw new Error(evt.message);
        }
        function pump() {
          return reader.read().then(function (r) {
            if (r.done) { if (buf.trim()) handle(buf); return; }
            buf += decoder.decode(r.value, { stream: true });
            var i;
            while ((i = buf.indexOf("\n\n")) >= 0) { handle(buf.slice(0, i)); buf = buf.slice(i + 2); }
            return pump();
          });
        }
        return pump();
      });
  }

  // The answer's light markdown (**bold**, "- " items) as DOM nodes: never innerHTML from the server.
  function richText(node, text) {
    node.textContent = "";
    text.split("\n").forEach(function (line, i) {
      if (i) node.appendChild(document.createTextNode("\n"));
      line = line.replace(/^(\s*)[-*] /, "$1• ");
      line.split(/\*\*(.+?)\*\*/).forEach(function (part, j) {
        if (!part) return;
        node.appendChild(j % 2 ? el("b", { text: part }) : document.createTextNode(part));
      });
    });
  }

  function renderReply(b, reply, replyId) {
    richText(b, reply.answer);
    if (reply.route) b.insertBefore(el("span", { class: "dbw-route", text: (reply.route.kind === "scenario" ? "一件事 · " : "") + reply.route.title }), b.firstChild).after(document.createElement("br"));
    if (reply.citations && reply.citations.length) {
      var ul = el("ol", { class: "dbw-cites", "aria-label": "依据" });
      reply.citations.forEach(function (c, i) {
        var href = BASE + "/guide/" + encodeURIComponent(c.doc_id) + "#" + encodeURIComponent(c.section);
        ul.appendChild(el("li", {}, [el("span", { class: "n", text: String(i + 1) }),
          el("a", { href: href, target: "_blank", rel: "noopener", title: c.snippet, text: c.title + (c.section && c.section !== "title" && c.section !== "lead" ? " · " + sectionName(c.section) : "") })]));
      });
      b.appendChild(ul);
    }
    if (reply.clarify) {
      var box = el("div", { class: "dbw-clarify", role: "group", "data-kind": reply.clarify.kind || "route", "aria-label": reply.clarify.question }, [el("p", { text: reply.clarify.question })]);
      reply.clarify.options.forEach(function (o) {
        box.appendChild(el("button", { class: "dbw-opt", type: "button", text: o.title, onclick: function () {
          box.querySelectorAll("button").forEach(function (x) { x.disabled = true; });
          ask(o.title);
        } }));
      });
      b.appendChild(box);
    }
    b.appendChild(feedbackRow(reply.session_id, replyId));
    b.appendChild(ratingRow({ target: "answer", reply_id: replyId }, "评价本次服务"));
    if (reply.intent && reply.intent.name === "complaint") b.appendChild(ticketButton(reply.route));
    if (reply.form) renderForm(reply.form);
    setChips(reply.suggestions);
    scrollDown();
  }

  var SECTION_NAMES = { title: "概述", lead: "概述", steps: "办理流程", time_fee: "时限与收费", time_limit: "办理时限", fee: "收费标准",
    materials: "所需材料", summary: "简介", places: "办理地点", where: "办理渠道", online: "网上办理", phone: "咨询电话",
    conditions: "办理条件", members: "包含事项", answer: "解答", catalog: "事项目录", situation: "适用情形", legal_basis: "设定依据",
    sample_question: "常见问法" };
  function sectionName(s) {
    if (SECTION_NAMES[s]) return SECTION_NAMES[s];
    if (s.indexOf("faq") === 0) return "常见问题";
    if (s.indexOf("sample_question") === 0) return "常见问法";
    if (s.indexOf("situation:") === 0) return "情形材料";
    if (s.indexOf("question:") === 0) return "情形";
    return s;
  }

  // Feather icons (MIT): emoji fonts are not guaranteed on every system.
  var THUMB_UP = "M14 9V5a3 3 0 0 0-3-3l-4 9v11h11.28a2 2 0 0 0 2-1.7l1.38-9a2 2 0 0 0-2-2.3zM7 22H4a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2h3";
  var THUMB_DOWN = "M10 15v4a3 3 0 0 0 3 3l4-9V2H5.72a2 2 0 0 0-2 1.7l-1.38 9a2 2 0 0 0 2 2.3zm7-13h2.67A2.31 2.31 0 0 1 22 4v7a2.31 2.31 0 0 1-2.33 2H17";

  function feedbackRow(session, replyId) {
    var row = el("div", { class: "dbw-fb", role: "group", "aria-label": "评价这条回答" }, [el("span", { text: "这条回答：" })]);
    function btn(label, aria, body, icon) {
      var x = el("button", { type: "button", "aria-pressed": "false", "aria-label": aria, title: aria, text: icon ? null : label, onclick: function () {
        var payload = Object.assign({ session_id: session, reply_id: replyId }, body);
        fetch(BASE + "/v1/feedback", { method: "POST", headers: headers(), body: JSON.stringify(payload) })
          .then(function (r) { if (r.ok) { x.setAttribute("aria-pressed", "true"); thanks.textContent = "感谢反馈"; } });
      } });
      if (icon) x.innerHTML = '<svg viewBox="0 0 24 24" width="14" height="14" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="' + icon + '"/></svg>';
      row.appendChild(x);
    }
    btn("", "有帮助", { thumbs: "up" }, THUMB_UP);
    btn("", "没帮助", { thumbs: "down" }, THUMB_DOWN);
    btn("问题已解决", "问题已解决", { resolved: true });
    btn("未解决", "问题未解决", { resolved: false });
    var thanks = el("span", { "aria-live": "polite" });
    row.appendChild(thanks);
    return row;
  }

  // -- the prefilled form ----------------------------------------------------------
  function spec(guideId) {  // the form's definition (options, hints) from its guide: a 一件事 or a matter
    if (!formSpecs[guideId]) {
      formSpecs[guideId] = fetch(BASE + "/v1/matters/" + encodeURIComponent(guideId))
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (doc) { var m = {}; ((doc && doc.form && doc.form.fields) || []).forEach(function (f) { m[f.key] = f; }); return { title: doc && doc.form ? doc.form.title : "申请表", fields: m }; })
        .catch(function () { return { title: "申请表", fields: {} }; });
    }
    return formSpecs[guideId];
  }

  var INPUT_TYPES = { date: "date", phone: "tel", int: "number", money: "text" };
  var SOURCE_NAMES = { conversation: "已从对话中填入", derived: "已自动推算", e_license: "已从电子证照调取", account: "取自账户常用地址，请核对", user: "" };

  function asJson(r) { return r.json().then(function (b) { return { ok: r.ok, status: r.status, body: b }; }); }

  // -- 免填写 / 免提交: the city's login and its electronic licences, when the server has a platform ----------------
  var licencesInfo = null;
  function licences() {
    if (!licencesInfo) {
      licencesInfo = fetch(BASE + "/v1/licences").then(function (r) { return r.ok ? r.json() : { enabled: false }; })
        .catch(function () { return { enabled: false, demo: false }; });
    }
    return licencesInfo;
  }

  // The assertion the login signs for this session's nonce: the host page's own login when it offers one
  // (window.daobanLogin(nonce) returns a Promise of it), else the demo platform's sample people.
  function assertionFor(nonce, info, box) {
    if (typeof window.daobanLogin === "function") return Promise.resolve(window.daobanLogin(nonce));
    if (!info.demo) return Promise.reject(new Error("请先登录本网站（统一身份认证）后再使用电子证照"));
    return fetch(BASE + "/v1/licences/demo/people").then(function (r) { return r.json(); }).then(function (people) {
      return new Promise(function (resolve, reject) {
        var pick = el("select", { "aria-label": "演示办事人" }, people.map(function (p) {
          return el("option", { value: String(p.index), text: p.name + "（演示）" }); }));
        var go = el("button", { class: "dbw-secondary", type: "button", text: "演示登录" });
        go.addEventListener("click", function () {
          fetch(BASE + "/v1/licences/demo/login", { method: "POST", headers: headers(),
                body: JSON.stringify({ person: +pick.value, nonce: nonce }) }).then(asJson).then(function (res) {
            if (!res.ok) { reject(new Error(res.body.message)); return; }
            resolve(res.body.assertion);
          }).catch(reject);
        });
        box.replaceChildren(el("span", { text: "演示统一身份认证：" }), pick, go);
        pick.focus();
      });
    });
  }

  function useLicences(form, box, status) {
    var sid = encodeURIComponent(sessionId);
    licences().then(function (info) {
      status.textContent = "正在连接统一身份认证…";
      return fetch(BASE + "/v1/sessions/" + sid + "/identity/nonce", { method: "POST", headers: headers() }).then(asJson)
        .then(function (res) {
          if (!res.ok) throw new Error(res.body.message);
          status.textContent = "";
          return assertionFor(res.body.nonce, info, box);
        })
        .then(function (assertion) {
          status.textContent = "正在调取电子证照…";
          return fetch(BASE + "/v1/sessions/" + sid + "/identity", { method: "POST", headers: headers(),
                       body: JSON.stringify({ assertion: assertion }) }).then(asJson);
        })
        .then(function (res) {
          if (!res.ok) throw new Error(res.body.message);
          status.textContent = "";
          if (res.body.form && res.body.form.form_id === form.form_id) { renderForm(res.body.form); return; }
          return fetch(BASE + "/v1/forms/" + encodeURIComponent(form.form_id) + "?session_id=" + sid, { headers: headers() })
            .then(asJson).then(function (r) { if (r.ok) renderForm(r.body); });
        });
    }).catch(function (e) { status.textContent = (e && e.message) || "登录失败，请重试"; });
  }

  function formNotes(form) {
    var box = el("div", { class: "dbw-notes", "aria-live": "polite" });
    (form.conflicts || []).forEach(function (c) { box.appendChild(el("p", { class: "warn", text: "⚠ " + c.message })); });
    if ((form.exempt_materials || []).length) {
      box.appendChild(el("p", {}, [el("span", { class: "dbw-cert", text: "免提交" }), " 已由电子证照调取，无需提交：" + form.exempt_materials.join("、")]));
    }
    return box;
  }

  // inPlace: the card is redrawn under the user's hands (a choice brought fields in or out), not by a new answer.
  function renderForm(form, inPlace) {
    Promise.all([spec(form.guide_id || form.scenario_id), licences()]).then(function (both) {
      var s = both[0], info = both[1];
      var card = el("form", { class: "dbw-form", "data-form": form.form_id, novalidate: true, "aria-label": s.title });
      var fields = el("div", { class: "dbw-fields" });
      var status = el("span", { class: "muted", "aria-live": "polite", style: "font-size:12px;color:#66717f" });
      card.appendChild(el("h3", { text: s.title + "（已为您预填，请核对）" }));
      var certified = form.fields.some(function (f) { return f.source === "e_license" && f.value; });
      if (info.enabled && !certified) {
        var lic = el("div", { class: "dbw-lic" });
        var useBtn = el("button", { class: "dbw-secondary", type: "button", text: "用电子证照填写" });
        useBtn.addEventListener("click", function () { useLicences(form, lic, status); });
        lic.appendChild(useBtn);
        lic.appendChild(el("span", { class: "muted", text: "登录后由电子证照自动填写（免填写），相关材料免提交" }));
        card.appendChild(lic);
      }
      form.fields.forEach(function (f) { fields.appendChild(fieldRow(form, f, s.fields[f.key] || {})); });
      card.appendChild(fields);
      card.appendChild(formNotes(form));
      var submit = el("button", { class: "dbw-primary", type: "submit", text: "提交申请" });
      // 辅助审核 before submitting: what the department would ask to correct (补正), tied to fields and materials.
      var check = el("button", { class: "dbw-secondary", type: "button", text: "预审" });
      var review = el("div", { class: "dbw-review", "aria-live": "polite", "aria-label": "预审结果" });
      check.addEventListener("click", function () { preReview(form, card, review, status, true); });
      // Once the user asked for the pre-review, it follows the form: an edit here or a correction in the chat
      // (a new card of the same form) checks again, so a fixed item goes at once.
      card.addEventListener("dbw-saved", function (e) {
        if (!card.isConnected) {  // saved from a card drawn again meanwhile: the card on screen takes it
          var live = log.querySelector('.dbw-form[data-form="' + form.form_id + '"]');
          if (live) live.dispatchEvent(new CustomEvent("dbw-saved", { detail: e.detail }));
          return;
        }
        // a choice (本人办理 / 代他人办理, 邮寄送达) changed which fields the form has now: draw them
        var now = e.detail.fields.map(function (x) { return x.key; }).join();
        var shown = Array.prototype.map.call(fields.querySelectorAll(".dbw-field"), function (r) { return r.dataset.key; }).join();
        if (now !== shown) renderForm(e.detail, true);
        else if (card.dataset.reviewed) preReview(form, card, review, status, false);
      });
      var say = el("div", { class: "dbw-sr", "aria-live": "polite" });
      card.addEventListener("dbw-say", function (e) { say.textContent = e.detail; });
      card.appendChild(say);
      card.appendChild(review);
      card.appendChild(el("div", { class: "dbw-actions" }, [check, submit, status]));
      card.addEventListener("submit", function (e) { e.preventDefault(); submitForm(form, card, submit, status); });
      // redrawn in place: what was typed and is not saved yet stays (a save on its way, the field the user is in),
      // and so does the focus
      var old = log.querySelector('.dbw-form[data-form="' + form.form_id + '"]');  // now: another draw may have come first
      var active = inPlace && old && old.contains(document.activeElement) ? document.activeElement : null;
      if (inPlace && old) card.querySelectorAll("input,select").forEach(function (c) {
        var before = old.querySelector('[name="' + c.name + '"]');
        if (before && before.tagName === c.tagName && before.value && (!c.value || before === active)) c.value = before.value;
      });
      var again = active && active.name && card.querySelector('[name="' + active.name + '"]');
      if (old) old.replaceWith(card); else log.appendChild(card);
      if (old && old.dataset.reviewed) preReview(form, card, review, status, false);
      if (again) again.focus(); else if (!inPlace) scrollDown();
    });
  }

  function fieldRow(form, f, def) {
    var id = "dbw-f-" + form.form_id + "-" + f.key;
    var ctrl;
    if (def.options && def.options.length) {
      ctrl = el("select", { id: id, name: f.key }, [el("option", { value: "", text: "请选择" })]);
      def.options.forEach(function (o) { ctrl.appendChild(el("option", { value: o, text: o, selected: o === f.value })); });
    } else {
      ctrl = el("input", { id: id, name: f.key, type: INPUT_TYPES[f.type] || "text", value: f.value || "", autocomplete: "off",
        placeholder: def.hint || (f.type === "id_number" ? "18位身份证号码" : f.type === "phone" ? "11位手机号码" : "") });
    }
    // read with the field (aria-describedby); said aloud once by the card's announcer, not as an alert per field:
    // a pre-review or a refused submission marks many fields at once
    var err = el("div", { class: "err", id: id + "-err" });
    ctrl.setAttribute("aria-describedby", id + "-err");
    // A certified value (免填写) is read-only with its licence named, until the user chooses to change it.
    var cert = f.value && f.source === "e_license";
    var src = cert ? el("span", { class: "dbw-cert", title: "已由电子证照核验", text: "电子证照" + (f.licence ? "·" + f.licence : "") })
      : f.value && SOURCE_NAMES[f.source] ? el("span", { class: "src", text: "✓ " + SOURCE_NAMES[f.source] }) : null;
    var edit = null;
    if (cert) {
      if (ctrl.tagName === "SELECT") ctrl.disabled = true; else ctrl.readOnly = true;
      edit = el("button", { class: "dbw-link", type: "button", text: "修改", "aria-label": "修改" + f.label });
      edit.addEventListener("click", function () { ctrl.readOnly = false; ctrl.disabled = false; edit.remove(); ctrl.focus(); });
    }
    if (f.required) ctrl.setAttribute("aria-required", "true");  // required now: under the 情形 and choices made
    // the label is the field's name alone; the source mark and 修改 sit beside it, not inside its name
    var row = el("div", { class: "dbw-field", "data-key": f.key, "data-source": f.source || "" }, [
      el("div", { class: "dbw-lab" }, [el("label", { for: id }, [f.label, f.required ? el("span", { class: "req", "aria-hidden": "true", text: "*" }) : null]), src, edit]),
      ctrl, err]);
    if (!f.valid && f.error) showError(row, f.error);
    ctrl.addEventListener("change", function () {
      var fields = {}; fields[f.key] = ctrl.value;
      postForm("/v1/forms/" + encodeURIComponent(form.form_id), fields).then(function (res) {
        if (!res.ok) { showError(row, res.body.message); return; }
        var state = res.body.fields.filter(function (x) { return x.key === f.key; })[0];
        showError(row, state && !state.valid ? state.error : "");
        if (state && !state.valid) row.dispatchEvent(new CustomEvent("dbw-say", { bubbles: true, detail: f.label + "：" + state.error }));
        if (src && state && state.source !== "e_license") { src.remove(); src = null; row.dataset.source = state.source || ""; }
        row.dispatchEvent(new CustomEvent("dbw-saved", { bubbles: true, detail: res.body }));
      });
    });
    return row;
  }

  function showError(row, msg) {
    row.classList.toggle("invalid", !!msg);
    var c = row.querySelector("input,select"); if (c) c.setAttribute("aria-invalid", msg ? "true" : "false");
    row.querySelector(".err").textContent = msg || "";
  }

  function postForm(path, fields, extraHeaders) {
    return fetch(BASE + path, { method: "POST", headers: headers(extraHeaders), body: JSON.stringify({ session_id: sessionId, fields: fields }) })
      .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, status: r.status, body: b }; }); });
  }

  function preReview(form, card, box, status, asked) {
    if (asked) status.textContent = "正在预审…";  // a check of its own accord leaves the status line alone
    card.dataset.reviewed = "true";
    var seq = card.dataset.seq = String(+(card.dataset.seq || 0) + 1);  // an answer to an older check is dropped
    fetch(BASE + "/v1/forms/" + encodeURIComponent(form.form_id) + "/review?session_id=" + encodeURIComponent(sessionId),
          { headers: headers() })
      .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
      .then(function (res) {
        if (seq !== card.dataset.seq) return;
        if (asked) status.textContent = "";
        if (!res.ok) { status.textContent = res.body.message || "预审失败，请重试"; return; }
        showReview(card, box, res.body, asked);
      }).catch(function () { status.textContent = "网络异常，请重试"; });
  }

  function fieldOf(card, key) { return card.querySelector('.dbw-field[data-key="' + key + '"]'); }

  // The 补正 items, each on its field (a 情形 item too when the form asks the 情形) and in the list with a link to it.
  function showReview(card, box, r, asked) {
    card.querySelectorAll(".dbw-field").forEach(function (row) { showError(row, ""); });
    var fixes = r.items.filter(function (i) { return i.severity === "fix"; });
    var prepare = r.items.filter(function (i) { return i.severity === "prepare"; });
    fixes.forEach(function (i) {
      var row = i.target !== "material" && fieldOf(card, i.key);
      if (row && !row.classList.contains("invalid")) showError(row, i.message);
    });
    function item(i) {
      var row = i.target !== "material" && fieldOf(card, i.key);
      var li = el("li", { "data-key": i.key, "data-target": i.target }, [i.message]);
      if (row) li.appendChild(el("button", { class: "dbw-link", type: "button", text: "去修改", "aria-label": "修改" + i.label,
        onclick: function () { row.querySelector("input,select").focus(); } }));
      return li;
    }
    box.replaceChildren.apply(box, [
      el("h4", { class: r.status === "pass" ? "pass" : "", text: r.status === "pass" ? "✓ 预审通过，可以提交" : "预审发现 " + fixes.length + " 项需补正" }),
      fixes.length ? el("ul", { class: "fix", "aria-label": "需补正" }, fixes.map(item)) : null,
      prepare.length ? el("p", { class: "muted", text: "请准备：" + prepare.map(function (i) { return i.label; }).join("、") }) : null,
      r.exempt.length ? el("p", { class: "muted", text: "免提交：" + r.exempt.join("、") }) : null
    ].filter(Boolean));
    var first = asked && card.querySelector(".dbw-field.invalid input:not([readonly]), .dbw-field.invalid select:not([disabled])");
    if (first) first.focus();  // asked for: the keyboard goes to the first field to fix
  }

  function submitForm(form, card, button, status) {
    var fields = {};
    card.querySelectorAll("input,select").forEach(function (c) { fields[c.name] = c.value; });
    button.disabled = true; status.textContent = "正在提交…";
    // One key per application: a retry after a lost answer returns the first receipt, never a second one.
    if (!card.dataset.idem) card.dataset.idem = newKey();
    postForm("/v1/forms/" + encodeURIComponent(form.form_id) + "/submit", fields, { "Idempotency-Key": card.dataset.idem }).then(function (res) {
      button.disabled = false;
      card.querySelectorAll(".dbw-field").forEach(function (row) { showError(row, ""); });
      if (res.ok) { status.textContent = ""; showReceipt(card, res.body); return; }
      status.textContent = res.body.message || "提交失败";
      (res.body.errors || []).forEach(function (e) {
        var row = card.querySelector('.dbw-field[data-key="' + e.key + '"]');
        if (row) showError(row, e.message);
      });
      var first = card.querySelector(".dbw-field.invalid input, .dbw-field.invalid select");
      if (first) first.focus();
      // the refused submission saved what was typed: a pre-review on screen says what is left now
      if (card.dataset.reviewed) preReview(form, card, card.querySelector(".dbw-review"), status, false);
    }).catch(function () { button.disabled = false; status.textContent = "网络异常，表单内容已保留，请重试"; });
  }

  function showReceipt(card, r) {
    var when = new Date(r.submitted_at + (/[zZ]|[+-]\d\d:?\d\d$/.test(r.submitted_at) ? "" : "Z"));
    var box = el("div", { class: "dbw-receipt", role: "status", tabindex: "-1" }, [
      el("h3", { text: "✓ 申请已提交，" + r.status }),
      el("dl", {}, [
        el("dt", { text: "受理编号" }), el("dd", { class: "no", text: r.receipt_no }),
        el("dt", { text: "提交时间" }), el("dd", { text: when.toLocaleString("zh-CN", { hour12: false }) }),
        el("dt", { text: "办理部门" }), el("dd", { text: r.departments.join("、") }),
        el("dt", { text: "承诺时限" }), el("dd", { text: r.time_limit }),
        r.status_lookup ? el("dt", { text: "进度查询" }) : null, r.status_lookup ? el("dd", { text: r.status_lookup }) : null,
        r.review && r.review.certified && r.review.certified.length ? el("dt", { text: "电子证照" }) : null,
        r.review && r.review.certified && r.review.certified.length ? el("dd", { text: "已核验 " + r.review.certified.length + " 项（免填写）" }) : null,
        r.review ? el("dt", { text: "预审" }) : null,
        r.review ? el("dd", { class: "review", text: r.review.status === "pass" ? "通过" : "受理时需补正：" + r.review.items
          .filter(function (i) { return i.severity === "fix"; }).map(function (i) { return i.label; }).join("、") }) : null
      ])]);
    if ((r.values || []).length) {  // masked by the server: a shared screen shows no ID number
      box.appendChild(el("details", { class: "dbw-values", open: true }, [el("summary", { text: "提交的信息（部分隐去）" }),
        el("dl", {}, [].concat.apply([], r.values.map(function (v) {
          return [el("dt", { text: v.label }), el("dd", { "data-key": v.key, text: v.value })]; })))]));
    }
    box.appendChild(ratingRow({ target: "submission", receipt_no: r.receipt_no }, "评价本次申请"));
    card.replaceWith(box);
    box.focus(); scrollDown();
  }

  // -- voice (一句话): microphone → POST /v1/asr → the transcript in the input box, to check, edit and send ------
  // Shown only when the server has an ASR service. Recorded with MediaRecorder, sent as 16 kHz mono WAV (what
  // every ASR server reads, and whose length the server checks exactly); never sent to the chat by itself.
  var VOICE_CSS = [
    ".dbw-mic { flex: none; width: 40px; height: 40px; border-radius: 50%; border: 1px solid var(--line); background: #fff; color: var(--b); cursor: pointer; display: inline-flex; align-items: center; justify-content: center; }",
    ".dbw-mic:hover { border-color: var(--b); } .dbw-mic[aria-disabled=true] { opacity: .5; cursor: default; }",
    ".dbw-mic svg { width: 20px; height: 20px; }",
    ".dbw-mic[aria-pressed=true] { background: var(--bad); border-color: var(--bad); color: #fff; animation: dbwpulse 1.2s ease-in-out infinite; }",
    "@keyframes dbwpulse { 0%, 100% { box-shadow: 0 0 0 0 rgba(192,57,43,.45); } 50% { box-shadow: 0 0 0 7px rgba(192,57,43,0); } }",
    ".dbw-voice { font-size: 12.5px; color: var(--mut); padding: 6px 12px 0; background: #fff; border-top: 1px solid var(--line); }",
    ".dbw-voice[hidden] { display: none; } .dbw-voice + .dbw-input { border-top: 0; }",
    ".dbw-voice.rec { color: var(--bad); font-weight: 600; } .dbw-voice.rec::before { content: '● '; }",
    ".dbw-voice.err { color: var(--bad); }"
  ].join("\n");
  var MIC_ICON = '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><rect x="9" y="2" width="6" height="12" rx="3"/><path d="M5 11a7 7 0 0 0 14 0M12 18v4M8 22h8"/></svg>';
  var ASR_RATE = 16000;

  function setupVoice() {
    if (!window.MediaRecorder || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.OfflineAudioContext) return;
    fetch(BASE + "/v1/asr").then(function (r) { return r.ok ? r.json() : null; }).then(function (cfg) {
      if (cfg && cfg.available) addMic(cfg);
    }).catch(function () { /* no voice: typing works as before */ });
  }

  function addMic(cfg) {
    document.head.appendChild(el("style", { text: VOICE_CSS }));
    var mic = el("button", { class: "dbw-mic", type: "button", "aria-pressed": "false", "aria-label": "语音输入", title: "语音输入：点一下开始，再点一下结束" });
    mic.innerHTML = MIC_ICON;
    var status = el("div", { class: "dbw-voice", role: "status", "aria-live": "polite", hidden: true });
    var clock = el("span", { "aria-hidden": "true" });  // the seconds tick visibly; screen readers hear the state once
    var form = input.closest("form");
    form.insertBefore(mic, send);
    form.parentNode.insertBefore(status, form);
    var rec = null, stream = null, chunks = [], timer = null, started = 0, cancelled = false;
    var waiting = false;  // asking for the microphone, or transcribing: clicks wait (aria-disabled keeps the focus)
    function wait(on) { waiting = on; mic.setAttribute("aria-disabled", on ? "true" : "false"); }

    function say(text, kind) {
      status.hidden = !text; status.className = "dbw-voice" + (kind ? " " + kind : "");
      status.textContent = text || "";
    }
    function recording(on) {  // a toggle: its name stays, screen readers say pressed or not
      mic.setAttribute("aria-pressed", on ? "true" : "false");
      mic.title = on ? "结束录音" : "语音输入：点一下开始，再点一下结束";
    }
    function start() {
      cancelled = false;
      wait(true);
      navigator.mediaDevices.getUserMedia({ audio: true }).then(function (s) {
        stream = s; chunks = [];
        rec = new MediaRecorder(s);
        rec.ondataavailable = function (e) { if (e.data && e.data.size) chunks.push(e.data); };
        rec.onstop = function () { finish(new Blob(chunks, { type: rec.mimeType || "audio/webm" })); };
        rec.start(250);
        started = Date.now();
        wait(false); recording(true);
        say("正在录音，说完再点一下麦克风结束（最长 " + cfg.max_seconds + " 秒）", "rec");
        status.appendChild(clock);
        tick(); timer = setInterval(tick, 200);
      }).catch(function (err) {
        wait(false);
        say(err && err.name === "NotAllowedError" ? "没有麦克风权限：请在浏览器中允许使用麦克风，或直接输入文字" : "无法使用麦克风，请直接输入文字", "err");
      });
    }
    function tick() {
      var s = (Date.now() - started) / 1000;
      if (s >= cfg.max_seconds) { stop(); return; }  // at the limit: stop and transcribe what was said
      clock.textContent = " " + Math.floor(s) + " / " + cfg.max_seconds + " 秒";
    }
    function stop() {
      clearInterval(timer); timer = null;
      recording(false);
      if (rec && rec.state !== "inactive") rec.stop();
      if (stream) stream.getTracks().forEach(function (t) { t.stop(); });  // the browser's recording light goes off
    }
    function cancel() { if (rec && rec.state !== "inactive") { cancelled = true; stop(); say(""); } }
    function finish(blob) {
      rec = null; stream = null;
      if (cancelled) return;
      wait(true); say("正在识别…");
      toWav(blob, cfg.max_seconds).then(transcribe).then(function (text) {
        if (!text) { say("没有听清，请再说一遍，或直接输入文字", "err"); return; }
        // put in the box for the speaker to check and edit: never sent by itself
        input.value = input.value.trim() ? input.value.trim() + " " + text : text;
        input.dispatchEvent(new Event("input"));
        input.focus(); input.setSelectionRange(input.value.length, input.value.length);
        say("已识别，请核对（可修改）后发送");
      }).catch(function (err) { say(err.message || "语音识别失败，请直接输入文字", "err"); })
        .then(function () { wait(false); });
    }
    mic.addEventListener("click", function () { if (waiting) return; if (rec) stop(); else start(); });
    closeBtn.addEventListener("click", cancel);  // closing the window ends a recording, it is not sent
    panel.addEventListener("keydown", function (e) { if (e.key === "Escape") cancel(); });
  }

  // The recording, decoded and resampled to 16 kHz mono, as 16-bit PCM WAV; cut at the limit.
  function toWav(blob, maxSeconds) {
    return blob.arrayBuffer().then(function (buf) {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      var ctx = new Ctx();
      return ctx.decodeAudioData(buf).then(function (audio) { ctx.close(); return audio; },
        function () { ctx.close(); throw new Error("没有录到声音，请再说一遍"); });
    }).then(function (audio) {
      var frames = Math.min(Math.ceil(audio.duration * ASR_RATE), Math.floor(maxSeconds * ASR_RATE));
      if (frames < ASR_RATE / 10) throw new Error("录音太短，请再说一遍");
      var off = new OfflineAudioContext(1, frames, ASR_RATE);
      var src = off.createBufferSource();
      src.buffer = audio; src.connect(off.destination); src.start();
      return off.startRendering();
    }).then(function (mono) {
      var pcm = mono.getChannelData(0), view = new DataView(new ArrayBuffer(44 + pcm.length * 2));
      function text(at, s) { for (var i = 0; i < s.length; i++) view.setUint8(at + i, s.charCodeAt(i)); }
      text(0, "RIFF"); view.setUint32(4, 36 + pcm.length * 2, true); text(8, "WAVE"); text(12, "fmt ");
      view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
      view.setUint32(24, ASR_RATE, true); view.setUint32(28, ASR_RATE * 2, true); view.setUint16(32, 2, true);
      view.setUint16(34, 16, true); text(36, "data"); view.setUint32(40, pcm.length * 2, true);
      for (var i = 0; i < pcm.length; i++) {
        var v = Math.max(-1, Math.min(1, pcm[i]));
        view.setInt16(44 + i * 2, v < 0 ? v * 0x8000 : v * 0x7fff, true);
      }
      return new Blob([view], { type: "audio/wav" });
    });
  }

  // A clip belongs to a session (the server issues it, with its secret, as the chat does).
  function ensureSession() {
    if (sessionId && sessionToken) return Promise.resolve();
    var body = { channel: "web" };
    if (REGION) body.region = REGION;
    return fetch(BASE + "/v1/sessions", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .then(function (r) { if (!r.ok) throw new Error("网络异常，请稍后再试"); return r.json(); })
      .then(function (s) { setSession(s.session_id, s.session_token); });
  }

  function transcribe(wav, retried) {
    return ensureSession().then(function () {
      var fd = new FormData();
      fd.append("file", wav, "voice.wav");
      fd.append("session_id", sessionId);
      return fetch(BASE + "/v1/asr", { method: "POST", headers: { "X-Session-Token": sessionToken }, body: fd });
    }).then(function (r) {
      if (r.status === 403 && !retried) { forgetSession(); return transcribe(wav, true); }  // the session ended
      return r.json().catch(function () { return {}; }).then(function (b) {
        if (!r.ok) throw new Error(b.message || "语音识别失败（" + r.status + "），请直接输入文字");
        return b.text;
      });
    });
  }

  setupVoice();

  // -- 好差评 (five levels, standard reasons) and tickets (工单) for complaints and 办不成事 --------------------
  var quality = null;
  function qualityOptions() {
    quality = quality || fetch(BASE + "/v1/ratings/options").then(function (r) { return r.json(); });
    return quality;
  }

  // A folded "评价" link that opens the five levels; a 不满意/非常不满意 asks for at least one reason.
  function ratingRow(target, label) {
    var box = el("div", { class: "dbw-rate" });
    var opener = el("button", { type: "button", text: label + " ▾", onclick: function () {
      opener.remove();
      qualityOptions().then(function (o) { fill(o); });
    } });
    box.appendChild(opener);
    function fill(o) {
      var chosen = null, levels = el("div", { class: "dbw-levels", role: "group", "aria-label": label });
      var reasons = el("div", { class: "dbw-reasons" }), note = el("input", { type: "text", maxlength: "500", placeholder: "意见（可选，请勿填写身份证号等个人信息）", "aria-label": "评价意见" });
      var msg = el("div", { "aria-live": "polite" }), send = el("button", { type: "button", text: "提交评价", disabled: "" });
      o.levels.forEach(function (lv) {
        levels.appendChild(el("button", { type: "button", text: lv.label, "aria-pressed": "false", "data-level": lv.id, onclick: function () {
          chosen = lv; send.disabled = false; msg.textContent = "";
          levels.querySelectorAll("button").forEach(function (x) { x.setAttribute("aria-pressed", String(x === this)); }, this);
          reasons.textContent = "";
          o.reasons.filter(function (r) { return r.for === "any" || r.for === (lv.bad ? "bad" : "good"); }).forEach(function (r) {
            reasons.appendChild(el("label", {}, [el("input", { type: "checkbox", value: r.id }), " " + r.label]));
          });
        } }));
      });
      send.addEventListener("click", function () {
        var picked = Array.prototype.map.call(reasons.querySelectorAll("input:checked"), function (i) { return i.value; });
        if (chosen.bad && !picked.length) { msg.textContent = "请至少选择一项原因"; return; }
        var body = Object.assign({ session_id: sessionId, level: chosen.id, reasons: picked }, target);
        if (note.value.trim()) body.comment = note.value.trim();
        send.disabled = true;
        fetch(BASE + "/v1/ratings", { method: "POST", headers: headers(), body: JSON.stringify(body) })
          .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
          .then(function (res) {
            if (!res.ok) { send.disabled = false; msg.textContent = res.body.message || "提交失败"; return; }
            box.textContent = "感谢您的评价（" + res.body.level_label + "）。" +
              (res.body.ticket_no ? "已为您生成整改工单 " + res.body.ticket_no + "，可发送“查工单 " + res.body.ticket_no + "”查询进度。" : "");
          }).catch(function () { send.disabled = false; msg.textContent = "网络异常，请重试"; });
      });
      box.append(levels, reasons, note, el("div", { style: "margin-top:4px" }, [send]), msg);
      scrollDown();
    }
    return box;
  }

  function ticketButton(route) {
    return el("button", { class: "dbw-ticket-open", type: "button", text: "提交工单（投诉 / 办不成事）", onclick: function () {
      this.disabled = true; openTicketForm(route);
    } });
  }

  function openTicketForm(route) {
    var kind = el("select", { "aria-label": "诉求类型" }, [el("option", { value: "cannot_do", text: "办不成事" }), el("option", { value: "complaint", text: "投诉" })]);
    var text = el("textarea", { rows: "3", maxlength: "1000", required: "", "aria-label": "诉求内容", placeholder: "请说明要办的事、遇到的问题和经过" });
    var phone = el("input", { type: "tel", maxlength: "24", "aria-label": "联系电话", placeholder: "可不填" });
    var consent = el("input", { type: "checkbox" }), err = el("div", { class: "err", "aria-live": "polite" });
    var send = el("button", { class: "dbw-primary", type: "submit", text: "提交工单" });
    var form = el("form", { class: "dbw-tform", "aria-label": "提交工单" }, [el("h3", { text: "提交工单" + (route ? " · " + route.title : "") }),
      el("label", { text: "诉求类型" }), kind, el("label", { text: "诉求内容（保存时隐去身份证号、电话等）" }), text,
      el("label", { text: "联系电话（用于回复，可不填）" }), phone,
      el("label", { class: "dbw-consent" }, [consent, "我同意留存该电话，仅用于回复本工单"]), err, send]);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (text.value.trim().length < 2) { err.textContent = "请填写诉求内容"; text.focus(); return; }
      if (phone.value.trim() && !consent.checked) { err.textContent = "留下电话需勾选同意；也可以不留电话提交"; return; }
      var body = { session_id: sessionId, kind: kind.value, description: text.value.trim(), consent: consent.checked };
      if (phone.value.trim()) body.contact = phone.value.trim();
      send.disabled = true; err.textContent = "";
      fetch(BASE + "/v1/tickets", { method: "POST", headers: headers(), body: JSON.stringify(body) })
        .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
        .then(function (res) {
          if (!res.ok) { send.disabled = false; err.textContent = res.body.message || "提交失败"; return; }
          var t = res.body, due = new Date(t.due_at).toLocaleString("zh-CN", { hour12: false });
          var box = el("div", { class: "dbw-receipt", role: "status", tabindex: "-1" }, [el("h3", { text: "✓ 工单已提交（" + t.status_label + "）" }),
            el("dl", {}, [el("dt", { text: "工单号" }), el("dd", { class: "no", text: t.ticket_no }),
              el("dt", { text: "类型" }), el("dd", { text: t.kind_label + (t.service_title ? " · " + t.service_title : "") }),
              el("dt", { text: "首次回复" }), el("dd", { text: due + " 前" }),
              el("dt", { text: "进度查询" }), el("dd", { text: "发送“查工单 " + t.ticket_no + "”" })])]);
          form.replaceWith(box); box.focus(); scrollDown();
        }).catch(function () { send.disabled = false; err.textContent = "网络异常，内容已保留，请重试"; });
    });
    log.appendChild(form); scrollDown(); text.focus();
  }

  if (script && script.dataset.open === "true") open();
  window.daobanWidget = { open: open, close: close, ask: function (t) { open(); ask(t); } };
})();
