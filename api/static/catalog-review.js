/* Review of the generated keywords and 相似问法 of catalogue matters: approve, edit or reject each entry. */
(function () {
  "use strict";
  var el = daoban.el, $ = function (id) { return document.getElementById(id); };
  var offset = 0, LIMIT = 20, STATUS = { unreviewed: "未审核", approved: "已通过", rejected: "已驳回" };

  function lines(text) { return text.split("\n").map(function (s) { return s.trim(); }).filter(Boolean); }

  function load() {
    var status = $("status").value;
    return daoban.api("/v1/admin/catalog-enrich?status=" + status + "&offset=" + offset + "&limit=" + LIMIT).then(render)
      .catch(function (err) { $("entries").innerHTML = ""; $("entries").append(el("div", { class: "empty", text: err.message })); });
  }

  function decide(docId, action, kw, qs) {
    var body = { action: action };
    if (action === "edit") { body.keywords = lines(kw.value); body.questions = lines(qs.value); }
    return daoban.api("/v1/admin/catalog-enrich/" + encodeURIComponent(docId), { method: "POST", body: body })
      .then(function (r) { daoban.toast(STATUS[r.status] || r.status); load(); })
      .catch(function (err) { daoban.toast(err.message); });
  }

  function render(o) {
    var c = o.counts || {};
    $("counts").textContent = "未审核 " + (c.unreviewed || 0) + " · 已通过 " + (c.approved || 0) + " · 已驳回 " + (c.rejected || 0) + " · 目录事项 " + o.catalog;
    $("page").textContent = o.total ? (offset + 1) + "–" + Math.min(offset + LIMIT, o.total) + " / " + o.total : "";
    var box = $("entries"); box.innerHTML = "";
    if (!o.entries.length) box.append(el("div", { class: "empty", text: "没有这类条目" }));
    o.entries.forEach(function (e) {
      $("policy").textContent = (e.indexed_unreviewed || []).join("、") || "都不进入";
      var kw = el("textarea", { "aria-label": "关键词" }); kw.value = e.keywords.join("\n");
      var qs = el("textarea", { "aria-label": "相似问法" }); qs.value = e.questions.join("\n");
      var title = e.link ? el("a", { href: e.link, target: "_blank", rel: "noopener", text: e.title }) : e.title;
      box.append(el("div", { class: "entry" }, [
        el("h3", {}, [title, " ", el("span", { class: "badge" + (e.status === "rejected" ? " bad" : e.status === "approved" ? " ok" : " warn"), text: STATUS[e.status] }),
          e.stale ? el("span", { class: "badge bad", text: "事项名称已变，不进入索引" }) : null]),
        el("div", { class: "meta", text: e.department + " · " + e.region }),
        el("label", { text: "口语关键词（每行一个）" }), kw,
        el("label", { text: "相似问法（每行一句）" }), qs,
        el("div", { class: "actions" }, [
          el("button", { class: "btn small primary", type: "button", text: "通过", onclick: function () { decide(e.doc_id, "approve"); } }),
          el("button", { class: "btn small", type: "button", text: "修改并通过", onclick: function () { decide(e.doc_id, "edit", kw, qs); } }),
          el("button", { class: "btn small", type: "button", text: "驳回", onclick: function () { decide(e.doc_id, "reject"); } })])]));
    });
    $("prev").disabled = offset === 0;
    $("next").disabled = offset + LIMIT >= o.total;
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("status").addEventListener("change", function () { offset = 0; load(); });
    $("prev").addEventListener("click", function () { offset = Math.max(0, offset - LIMIT); load(); });
    $("next").addEventListener("click", function () { offset += LIMIT; load(); });
    load();
  });
})();
