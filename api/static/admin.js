/* Content staff console: what went wrong, where coverage is thin, and fixing it in the corpus. */
(function () {
  "use strict";
  var el = daoban.el, $ = function (id) { return document.getElementById(id); };
  var docs = null, stats = null;
  var KIND = { scenario: "一件事", matter: "事项", faq: "问答", catalog: "目录" };

  function load() {
    return Promise.all([daoban.api("/v1/admin/overview"), fetch("/v1/stats").then(function (r) { return r.ok ? r.json() : null; })])
      .then(function (res) { stats = res[1]; render(res[0]); })
      .catch(function (err) { $("groups").innerHTML = ""; $("groups").append(el("div", { class: "empty", text: err.message })); });
  }

  function spark(trend) {
    var max = Math.max.apply(null, trend.map(function (t) { return t.count; }).concat([1]));
    var w = 140, h = 28, step = w / Math.max(trend.length - 1, 1);
    var pts = trend.map(function (t, i) { return (i * step).toFixed(1) + "," + (h - 3 - (t.count / max) * (h - 6)).toFixed(1); }).join(" ");
    var svg = '<svg class="spark" viewBox="0 0 ' + w + " " + h + '" role="img" aria-label="每日趋势：' +
      trend.map(function (t) { return t.day.slice(5) + " " + t.count; }).join("，") + '"><polyline fill="none" stroke="#c0392b" stroke-width="2" points="' + pts + '"/></svg>';
    var span = el("span", { title: trend.map(function (t) { return t.day + "：" + t.count; }).join("\n") });
    span.innerHTML = svg;
    return span;
  }

  function tile(value, label, cls) { return el("div", { class: "card tile " + (cls || "") }, [el("div", { class: "v", text: String(value) }), el("div", { class: "l", text: label })]); }
  function pct(x) { return Math.round((x || 0) * 100) + "%"; }

  function render(o) {
    var t = $("tiles"); t.innerHTML = "";
    t.append(tile(o.issue_total, "待处理问题", o.issue_total ? "bad" : "ok"));
    if (stats) {
      t.append(tile(stats.questions, "咨询量"), tile(pct(stats.fallback_rate), "未匹配率"),
        tile(stats.feedback.up + " / " + stats.feedback.down, "赞 / 踩"),
        tile(stats.feedback.resolved + " / " + stats.feedback.unresolved, "已解决 / 未解决"),
        tile(stats.latency_ms.p95 == null ? "—" : (stats.latency_ms.p95 / 1000).toFixed(1) + "s", "P95 响应时间"),
        tile(stats.submissions, "表单提交"));
    }
    var needs = tile("…", "需补正办件", "bad"); needs.id = "needsCorrection"; t.append(needs);
    $("range").textContent = "近 " + o.days.length + " 天";
    $("issueTotal").textContent = o.issue_total;
    var groups = $("groups"); groups.innerHTML = "";
    if (!o.issue_groups.length) groups.append(el("div", { class: "empty", text: "近期没有需要处理的问题" }));
    o.issue_groups.forEach(function (g) {
      var reasons = Object.keys(g.reasons).map(function (k) { return el("span", { class: "badge " + (k === "未匹配" || k === "未解决" || k === "点踩" || k.indexOf("工单") === 0 ? "bad" : "warn"), text: k + " " + g.reasons[k] }); });
      var ul = el("ul");
      g.questions.forEach(function (q) {
        ul.append(el("li", {}, [el("span", { class: "q", text: q.question }), el("span", { class: "n", text: q.reasons.join("、") + " · " + q.count + "次" }),
          q.ticket_no ? el("a", { class: "btn small", href: "/admin/tickets#" + q.ticket_no, text: "查看工单" })
            : el("button", { class: "btn small", type: "button", text: "加入相似问法", "data-question": q.question, onclick: function () { openAdd(q.question, g.doc_id); } })]));
      });
      groups.append(el("div", { class: "group" }, [el("div", { class: "gh" }, [el("h3", { text: g.topic }), el("span", { class: "count", text: g.count + " 次" })].concat(reasons).concat([el("span", { class: "spacer" }), spark(g.trend)])), ul]));
    });
    var top = $("top"); top.innerHTML = "";
    o.top_questions.forEach(function (q) { top.append(el("tr", {}, [el("td", { text: q.question }), el("td", { class: "muted", text: q.route_title || "未匹配" }), el("td", { class: "num", text: String(q.count) })])); });
    if (!o.top_questions.length) top.append(el("tr", {}, [el("td", { colspan: "3", class: "empty", text: "暂无咨询" })]));
    var hits = $("hits"); hits.innerHTML = "";
    var max = o.doc_hits.length ? o.doc_hits[0].hits : 1;
    o.doc_hits.forEach(function (d) {
      var bar = el("div", { class: "bar" }, [el("i", { style: "width:" + Math.round(d.hits / max * 100) + "%" })]);
      hits.append(el("tr", {}, [el("td", {}, [el("a", { href: "/guide/" + encodeURIComponent(d.doc_id), target: "_blank", text: d.title }), " ", el("span", { class: "badge", text: KIND[d.kind] || d.kind })]), el("td", { style: "width:30%" }, [bar]), el("td", { class: "num", text: String(d.hits) })]));
    });
    if (!o.doc_hits.length) hits.append(el("tr", {}, [el("td", { colspan: "3", class: "empty", text: "暂无命中" })]));
    var never = $("never"); never.innerHTML = "";
    o.never_hit.forEach(function (d) { never.append(el("a", { class: "badge warn", href: "/guide/" + encodeURIComponent(d.doc_id), target: "_blank", text: d.title })); });
    $("neverCount").textContent = o.never_hit.length;
    $("neverCatalog").textContent = o.never_hit_catalog ? "另有 " + o.never_hit_catalog + " 个目录事项从未命中" : "";
    var v = o.validation, c = $("corpus"); c.innerHTML = "";
    c.append(el("p", { style: "margin:0 0 8px" }, [el("span", { class: v.ok ? "badge ok" : "badge bad", text: v.ok ? "校验通过" : v.errors + " 个错误" }), " ",
      el("span", { class: "badge warn", text: v.warnings + " 个提示" }), " ", el("span", { class: o.index.ready ? "badge ok" : "badge bad", text: o.index.ready ? "索引已加载" : "索引未就绪" })]),
      el("p", { class: "muted", style: "margin:0 0 8px;font-size:12.5px", text: "一件事 " + o.corpus.scenarios + " · 事项指南 " + o.corpus.matters + " · 问答 " + o.corpus.faqs + " · 目录事项 " + o.corpus.catalog + " · 校验于 " + v.checked_at.slice(0, 19).replace("T", " ") + " UTC" }));
    if (v.problems.length) c.append(el("div", { class: "problems", text: v.problems.join("\n") }));
  }

  var LABELS = { all: "全部", needs_correction: "需补正", pass: "通过", none: "未预审" };

  /* Submissions with their pre-review, filtered by its result; the filter shows how many each holds. */
  function loadSubmissions(more) {
    var filter = $("reviewFilter").value, body = $("submissions"), next = more ? loadSubmissions.next : 0;
    return daoban.api("/v1/admin/submissions?review_status=" + filter + "&limit=30&offset=" + next).then(function (page) {
      if (!more) body.innerHTML = "";
      page.items.forEach(function (sub) {
        body.append(el("tr", { "data-receipt": sub.receipt_no }, [el("td", { class: "no", text: sub.receipt_no }),
          el("td", { text: sub.scenario_title }), el("td", { class: "muted", text: daoban.when(sub.submitted_at) }),
          el("td", {}, [daoban.review(sub)])]));
      });
      if (!body.children.length) body.append(el("tr", {}, [el("td", { colspan: "4", class: "empty", text: "没有" + (filter === "all" ? "" : LABELS[filter] + "的") + "办件" })]));
      var c = page.counts, total = c.pass + c.needs_correction + c.none;
      Array.prototype.forEach.call($("reviewFilter").options, function (o) {
        o.textContent = LABELS[o.value] + "（" + (o.value === "all" ? total : c[o.value]) + "）";
      });
      loadSubmissions.next = page.next_offset;
      $("moreSubmissions").hidden = page.next_offset === null;
      var tile = $("needsCorrection");
      if (tile) tile.querySelector(".v").textContent = String(c.needs_correction);
    }).catch(function (err) { body.innerHTML = ""; body.append(el("tr", {}, [el("td", { colspan: "4", class: "empty", text: err.message })])); });
  }

  function loadDocs() {
    if (docs) return Promise.resolve(docs);
    return daoban.api("/v1/admin/documents").then(function (list) { docs = list; return list; });
  }

  function openAdd(question, docId) {
    loadDocs().then(function (list) {
      var sel = $("addDoc"); sel.innerHTML = "";
      list.forEach(function (d) { sel.append(el("option", { value: d.doc_id, text: "[" + (KIND[d.kind] || d.kind) + "] " + d.title + "（" + d.region + "）", selected: d.doc_id === docId })); });
      $("addQuestion").value = question; $("addMsg").textContent = ""; $("addSubmit").disabled = false;
      $("addDialog").showModal();
      sel.focus();
    });
  }

  $("addForm").addEventListener("submit", function (e) {
    e.preventDefault();
    var body = { doc_id: $("addDoc").value, question: $("addQuestion").value };
    $("addSubmit").disabled = true; $("addMsg").style.color = ""; $("addMsg").textContent = "正在写入并重建索引…";
    daoban.api("/v1/admin/sample-questions", { body: body }).then(function (res) {
      $("addDialog").close();
      daoban.toast("已加入「" + res.question + "」，索引已更新");
      load();
    }).catch(function (err) {
      $("addSubmit").disabled = false; $("addMsg").style.color = "#c0392b"; $("addMsg").textContent = err.message;
    });
  });
  $("addCancel").addEventListener("click", function () { $("addDialog").close(); });
  $("refresh").addEventListener("click", function () { load().then(function () { loadSubmissions(); }); });
  $("reviewFilter").addEventListener("change", function () { loadSubmissions(); });
  $("moreSubmissions").addEventListener("click", function () { loadSubmissions(true); });
  $("reindex").addEventListener("click", function () {
    var b = $("reindex"); b.disabled = true; b.textContent = "重建中…";
    daoban.api("/v1/admin/reindex", { body: {} }).then(function (res) {
      daoban.toast("索引已更新：新嵌入 " + (res.stats.embedded || 0) + " 条，用时 " + res.stats.seconds + " 秒"); load();
    }).catch(function (err) { daoban.toast(err.message); }).then(function () { b.disabled = false; b.textContent = "重建索引"; });
  });
  // the overview first: it asks for the key once, then the submissions use it
  document.addEventListener("DOMContentLoaded", function () { load().then(function () { loadSubmissions(); }); });
})();
