/* 12345 hotline console: caller's words in, suggested answer and fact card out. */
(function () {
  "use strict";
  var el = daoban.el, $ = function (id) { return document.getElementById(id); };
  var sessionId = null, last = null, busy = false;

  var RECEIPT = /YJS\d{16}/i;

  function lookup(text) {
    text = (text === undefined ? $("said").value : text).trim();
    if (!text || busy) { if (!text) $("said").focus(); return; }
    var said = text.match(RECEIPT);  // the caller read out a receipt number: show that 办件 beside the answer
    if (said) lookupReceipt(said[0]);
    busy = true; $("lookup").disabled = true; $("status").textContent = "正在查询…";
    document.querySelector(".layout").classList.add("loading");
    daoban.api("/v1/hotline/assist", { body: { session_id: sessionId, message: text } }).then(function (res) {
      last = res; sessionId = res.reply.session_id;
      document.dispatchEvent(new CustomEvent("hotline:turn", { detail: res }));  // hotline-tickets.js
      $("said").value = "";
      $("status").textContent = "用时 " + (res.reply.latency_ms / 1000).toFixed(1) + " 秒";
      $("callinfo").textContent = "通话中 · " + sessionId.slice(0, 8);
      render(res);
    }).catch(function (err) {
      $("status").textContent = err.message;
    }).then(function () {
      busy = false; $("lookup").disabled = false;
      document.querySelector(".layout").classList.remove("loading");
      $("said").focus();
    });
  }

  function render(res) {
    var r = res.reply, card = res.card;
    var route = $("route"); route.innerHTML = "";
    if (r.route) {
      route.append(el("span", { class: "badge", text: { scenario: "一件事", matter: "事项", faq: "问答", catalog: "目录事项" }[r.route.kind] || r.route.kind }),
        el("h3", { text: r.route.title }),
        el("span", { class: r.route.score >= 0.5 ? "badge ok" : "badge warn", text: "匹配度 " + Math.round(r.route.score * 100) + "%" }));
    } else {
      route.append(el("span", { class: "badge warn", text: "未匹配到事项" }));
    }
    if (r.handoff) route.append(el("span", { class: "badge bad", text: "建议转人工/转办" }));
    daoban.rich($("answer"), r.answer);
    var clar = $("clarify"); clar.innerHTML = "";
    if (r.clarify) {
      var box = el("div", { class: "clarify" }, [el("b", { text: "需向来电人确认：" }), r.clarify.question, el("br")]);
      r.clarify.options.forEach(function (o, i) {
        box.appendChild(el("button", { class: "btn small", type: "button", text: (i + 1) + ". " + o.title, onclick: function () { lookup(o.title); } }));
      });
      clar.appendChild(box);
    } else if (r.suggestions && r.suggestions.length) {
      // 情形 answers and follow-ups the caller is likely to give: one click asks on their behalf
      var next = el("div", { class: "followups" }, [el("span", { class: "muted", text: "来电人可能接着说：" })]);
      r.suggestions.forEach(function (q) { next.appendChild(el("button", { class: "btn small", type: "button", text: q, onclick: function () { lookup(q); } })); });
      clar.appendChild(next);
    }
    var cites = $("cites"); cites.innerHTML = "";
    var more = r.citations.length > 3 ? el("details", {}, [el("summary", { class: "muted", text: "其余 " + (r.citations.length - 3) + " 条依据" })]) : null;
    r.citations.forEach(function (c, i) {
      (i < 3 || !more ? cites : more).appendChild(el(i < 3 || !more ? "li" : "div", {}, [el("a", { href: "/guide/" + encodeURIComponent(c.doc_id) + "#" + encodeURIComponent(c.section), target: "_blank", rel: "noopener", text: c.title }), " ", el("span", { class: "muted", text: c.snippet.slice(0, 60) })]));
    });
    if (more) cites.appendChild(more);
    var points = $("points"); points.innerHTML = "";
    (card && card.key_points && card.key_points.length ? card.key_points : ["—"]).forEach(function (p) { points.appendChild(el("li", { text: p })); });
    renderFacts(card); renderMaterials(card); renderTransfer(card); renderTranscript(res.transcript);
  }

  function renderFacts(card) {
    var facts = $("facts"); facts.innerHTML = "";
    var link = $("guideLink");
    if (!card) { facts.append(el("dt", { text: "事项" }), el("dd", { class: "muted", text: "—" })); link.hidden = true; return; }
    link.hidden = false; link.href = card.guide_url;
    var rows = [["名称", card.title], ["简介", card.summary], ["时限", card.time_limit && (card.time_limit + (card.time_note ? "（" + card.time_note + "）" : ""))],
      ["收费", card.fee], ["部门", (card.departments || []).join("、")], ["网上办", (card.online || []).join("；")],
      ["窗口", (card.places || []).join("；")]];
    if (card.members) rows.splice(2, 0, ["包含事项", card.members.map(function (m) { return m.title + (m.conditional ? "（" + m.conditional + "）" : ""); }).join("、")]);
    rows.forEach(function (row) {
      if (row[1]) facts.append(el("dt", { text: row[0] }), el("dd", { text: row[1], class: row[0] === "简介" || row[0] === "包含事项" ? "clamp" : null, title: row[1] }));
    });
  }

  function materialText(m) {
    return m.name + "（" + m.form + (m.count === 0 ? "，仅查验" : m.count > 1 ? "，" + m.count + "份" : "") + "）" +
      (m.exempt ? " 免提交" + (m.exempt_reason ? "·" + m.exempt_reason : "") : "") + (m.conditional ? " [适用：" + m.conditional + "]" : "");
  }

  function renderMaterials(card) {
    var ul = $("materials"); ul.innerHTML = "";
    var list = (card && card.materials) || [];
    if (!list.length) ul.appendChild(el("li", { class: "muted", text: card ? "以官方办事指南为准" : "—" }));
    list.forEach(function (m) {
      ul.appendChild(el("li", { class: m.exempt ? "exempt" : "" }, [el("span", { class: "box", "aria-hidden": "true" }),
        el("div", { class: "name" }, [m.name, " ", m.exempt ? el("span", { class: "badge ok", text: "免提交" + (m.exempt_reason ? "·" + m.exempt_reason : "") }) : null,
          el("div", { class: "sub", text: [m.form, m.count === 0 ? "仅查验" : m.count + "份", m.conditional ? "适用：" + m.conditional : null, m.notes].filter(Boolean).join(" · ") })])]));
    });
    var n = list.filter(function (m) { return m.exempt; }).length;
    $("exemptCount").hidden = !n; $("exemptCount").textContent = n + " 项免提交";
  }

  function renderTransfer(card) {
    var t = $("transfer"); t.innerHTML = "";
    if (!card || !card.transfer) { t.append(el("span", { class: "muted", text: "—" })); return; }
    t.append(el("div", { style: "flex:1" }, [el("div", { class: "muted", style: "font-size:12px", text: "转办部门" }), el("b", { text: card.transfer.department })]),
      el("div", { class: "phone", text: card.transfer.phone }));
  }

  function clip(text, n) { text = text.replace(/\s+/g, " ").trim(); return text.length > n ? text.slice(0, n) + "…" : text; }

  function renderTranscript(list) {
    var box = $("transcript"); box.innerHTML = "";
    list.forEach(function (m) {
      box.appendChild(el("div", { class: "turn " + m.role }, [el("div", { class: "who", text: (m.role === "user" ? "来电人" : "建议答复") + " · " + new Date(m.created_at + (/[zZ]|[+-]\d\d:?\d\d$/.test(m.created_at) ? "" : "Z")).toLocaleTimeString("zh-CN", { hour12: false }) }), el("div", { class: "text", title: m.role === "assistant" ? daoban.plain(m.text) : null,
        text: m.role === "assistant" ? clip(daoban.plain(m.text), 90) : m.text })]));
    });
    $("turns").textContent = (list.length / 2) + " 轮";
    box.scrollTop = box.scrollHeight;
  }

  /* A caller's 办件 by receipt number: progress and pre-review (通过 / 需补正 with each 补正 hint), no values. */
  function lookupReceipt(number) {
    number = (number || $("receiptNo").value).trim().toUpperCase();
    var box = $("receipt");
    if (!number) { $("receiptNo").focus(); return; }
    $("receiptNo").value = number; box.textContent = "正在查询…";
    daoban.api("/v1/hotline/submissions/" + encodeURIComponent(number)).then(function (sub) {
      box.innerHTML = "";
      box.append(el("dl", { class: "facts" }, [el("dt", { text: "受理编号" }), el("dd", { text: sub.receipt_no }),
        el("dt", { text: "事项" }), el("dd", { text: sub.scenario_title }), el("dt", { text: "状态" }), el("dd", { text: sub.status }),
        el("dt", { text: "提交时间" }), el("dd", { text: daoban.when(sub.submitted_at) }),
        el("dt", { text: "受理部门" }), el("dd", { text: sub.departments.join("、") })]), daoban.review(sub));
      $("receiptCard").scrollIntoView({ block: "nearest" });
    }).catch(function (err) { box.textContent = err.message; });
  }

  function newCall() {
    sessionId = null; last = null;
    document.dispatchEvent(new CustomEvent("hotline:newcall"));
    $("callinfo").textContent = "新来电"; $("status").textContent = "";
    $("route").innerHTML = ""; $("answer").innerHTML = '<span class="muted">在左侧输入来电人的诉求后按 Ctrl+Enter。</span>';
    $("clarify").innerHTML = ""; $("cites").innerHTML = ""; $("points").innerHTML = '<li class="muted">—</li>';
    renderFacts(null); renderMaterials(null); renderTransfer(null);
    $("transcript").innerHTML = '<div class="empty">尚无对话</div>'; $("turns").textContent = "0 轮";
    $("receipt").innerHTML = ""; $("receiptNo").value = "";
    $("said").value = ""; $("said").focus();
  }

  function copyAnswer() { if (last) daoban.copy(daoban.plain(last.reply.answer), "建议答复"); }
  function copyTransfer() {
    if (!last || !last.card) return;
    var c = last.card;
    daoban.copy("【转办】" + c.transfer.department + " 电话 " + c.transfer.phone + "\n事项：" + c.title +
      "\n来电诉求：" + last.transcript.filter(function (m) { return m.role === "user"; }).map(function (m) { return m.text; }).join(" / "), "转办信息");
  }

  $("lookup").addEventListener("click", function () { lookup(); });
  $("newcall").addEventListener("click", newCall);
  $("receiptForm").addEventListener("submit", function (e) { e.preventDefault(); lookupReceipt(); });
  $("copyAnswer").addEventListener("click", copyAnswer);
  $("copyTransfer").addEventListener("click", copyTransfer);
  $("copyPoints").addEventListener("click", function () { if (last && last.card) daoban.copy(last.card.key_points.join("\n"), "要点"); });
  $("copyMaterials").addEventListener("click", function () { if (last && last.card) daoban.copy(last.card.materials.map(materialText).join("\n"), "材料清单"); });
  $("said").addEventListener("keydown", function (e) { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); lookup(); } });
  document.addEventListener("keydown", function (e) {
    if (e.altKey && !e.ctrlKey) {
      var k = e.key.toLowerCase();
      if (k === "c" || e.code === "KeyC") { e.preventDefault(); copyAnswer(); }
      else if (k === "t" || e.code === "KeyT") { e.preventDefault(); copyTransfer(); }
      else if (k === "n" || e.code === "KeyN") { e.preventDefault(); newCall(); }
    } else if (e.key === "/" && document.activeElement.tagName !== "TEXTAREA" && document.activeElement.tagName !== "INPUT") {
      e.preventDefault(); $("said").focus();
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    // Check the key once on arrival, so the agent logs in before the first call.
    daoban.api("/v1/hotline/ping").catch(function () { });
    $("said").focus();
  });
})();
