/* Review of the words kept for retrieval only: the catalogue matters' generated keywords and 相似问法, and the
   guides' blind-written 相似问法. One page for both: the set picks the API, the API says which parts to show. */
(function () {
  "use strict";
  var el = daoban.el, $ = function (id) { return document.getElementById(id); };
  var offset = 0, LIMIT = 20, STATUS = { unreviewed: "未审核", approved: "已通过", rejected: "已驳回" };
  var SETS = {
    catalog: { api: "/v1/admin/catalog-enrich", noun: "目录事项", heading: "本地模型生成的口语关键词与相似问法",
               stale: "事项名称已变，不进入索引" },
    phrasings: { api: "/v1/admin/phrasings", noun: "办事指南", heading: "外部作者盲写的相似问法",
                 stale: "指南标题已变，审核后才进入索引" }
  };
  var PARTS = { keywords: "口语关键词（每行一个）", questions: "相似问法（每行一句）" };
  var KINDS = { scenario: "一件事", matter: "事项指南" };

  function lines(text) { return text.split("\n").map(function (s) { return s.trim(); }).filter(Boolean); }
  function set() { return SETS[$("set").value]; }

  function load() {
    var status = $("status").value;
    return daoban.api(set().api + "?status=" + status + "&offset=" + offset + "&limit=" + LIMIT).then(render)
      .catch(function (err) { $("entries").innerHTML = ""; $("entries").append(el("div", { class: "empty", text: err.message })); });
  }

  function decide(docId, action, boxes) {
    var body = { action: action };
    if (action === "edit") Object.keys(boxes).forEach(function (part) { body[part] = lines(boxes[part].value); });
    return daoban.api(set().api + "/" + encodeURIComponent(docId), { method: "POST", body: body })
      .then(function (r) { daoban.toast(STATUS[r.status] || r.status); load(); })
      .catch(function (err) { daoban.toast(err.message); });
  }

  function entry(e, parts) {
    var boxes = {}, fields = [];
    parts.forEach(function (part) {
      boxes[part] = el("textarea", { "aria-label": PARTS[part] }); boxes[part].value = e[part].join("\n");
      fields.push(el("label", { text: PARTS[part] }), boxes[part]);
    });
    var title = e.link ? el("a", { href: e.link, target: "_blank", rel: "noopener", text: e.title }) : e.title;
    var used = e.retrieval_questions.length ? "当前用于检索的问法 " + e.retrieval_questions.length + " 句" : "当前没有问法用于检索";
    return el("div", { class: "entry" }, [
      el("h3", {}, [title, " ", KINDS[e.kind] ? el("span", { class: "badge", text: KINDS[e.kind] }) : null, " ",
        el("span", { class: "badge" + (e.status === "rejected" ? " bad" : e.status === "approved" ? " ok" : " warn"), text: STATUS[e.status] }),
        e.stale ? el("span", { class: "badge bad", text: set().stale }) : null]),
      el("div", { class: "meta", text: (e.department || "") + " · " + e.region }),
      el("div", {}, fields), el("div", { class: "used muted", text: used }),
      el("div", { class: "actions" }, [
        el("button", { class: "btn small primary", type: "button", text: "通过", onclick: function () { decide(e.doc_id, "approve"); } }),
        el("button", { class: "btn small", type: "button", text: "修改并通过", onclick: function () { decide(e.doc_id, "edit", boxes); } }),
        el("button", { class: "btn small", type: "button", text: "驳回", onclick: function () { decide(e.doc_id, "reject"); } })])]);
  }

  function render(o) {
    var c = o.counts || {};
    $("counts").textContent = "未审核 " + (c.unreviewed || 0) + " · 已通过 " + (c.approved || 0) + " · 已驳回 " + (c.rejected || 0) + " · " + set().noun + " " + o.documents;
    $("page").textContent = o.total ? (offset + 1) + "–" + Math.min(offset + LIMIT, o.total) + " / " + o.total : "";
    $("policy").textContent = "";
    var box = $("entries"); box.innerHTML = "";
    if (!o.entries.length) box.append(el("div", { class: "empty", text: "没有这类条目" }));
    o.entries.forEach(function (e) {
      $("policy").textContent = (e.indexed_unreviewed || []).map(function (p) { return PARTS[p].replace(/（.*/, ""); }).join("、") || "都不进入";
      box.append(entry(e, o.parts));
    });
    $("prev").disabled = offset === 0;
    $("next").disabled = offset + LIMIT >= o.total;
  }

  function pick(name) {
    $("set").value = SETS[name] ? name : "catalog";
    $("heading").textContent = set().heading;
    document.querySelectorAll("[data-set]").forEach(function (p) { p.hidden = p.getAttribute("data-set") !== $("set").value; });
    history.replaceState(null, "", "#" + $("set").value);
    offset = 0;
    return load();
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("set").addEventListener("change", function () { pick($("set").value); });
    $("status").addEventListener("change", function () { offset = 0; load(); });
    $("prev").addEventListener("click", function () { offset = Math.max(0, offset - LIMIT); load(); });
    $("next").addEventListener("click", function () { offset += LIMIT; load(); });
    pick(location.hash.slice(1));
  });
})();
