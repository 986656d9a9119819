/* Shared by the hotline and admin consoles: the API key (kept in sessionStorage), JSON calls, copy, toast. */
(function () {
  "use strict";
  var KEY = "daoban.apikey";
  var gate, resolveKey;

  function getKey() { try { return sessionStorage.getItem(KEY); } catch (e) { return null; } }
  function setKey(k) { try { sessionStorage.setItem(KEY, k); } catch (e) { } }

  function askKey(message) {
    gate = gate || document.getElementById("keygate");
    gate.hidden = false;
    gate.querySelector(".error").textContent = message || "";
    var input = gate.querySelector("input");
    input.value = "";
    setTimeout(function () { input.focus(); }, 0);
    return new Promise(function (resolve) { resolveKey = resolve; });
  }

  /* The key form, the same on every console: the page's <div id="keygate"> gives its title and hint. */
  function buildGate(el) {
    el.innerHTML = '<form class="card" autocomplete="off"><h2></h2><p class="muted" style="margin:0"></p>' +
      '<label for="apikey" class="sr-only">访问密钥</label><input id="apikey" type="password" placeholder="访问密钥">' +
      '<div class="error" role="alert"></div>' +
      '<div class="actions"><button class="btn primary" type="submit">进入</button></div></form>';
    el.querySelector("h2").textContent = el.dataset.title || "登录";
    el.querySelector("p").textContent = el.dataset.hint || "请输入访问密钥（仅保存在本标签页）。";
  }
  // console.js is loaded after the page's markup: the form exists before any page script asks for the key
  buildGate(document.getElementById("keygate"));

  document.addEventListener("DOMContentLoaded", function () {
    gate = document.getElementById("keygate");
    gate.querySelector("form").addEventListener("submit", function (e) {
      e.preventDefault();
      var k = gate.querySelector("input").value.trim();
      if (!k) { gate.querySelector(".error").textContent = "请输入访问密钥"; return; }
      setKey(k); gate.hidden = true;
      if (resolveKey) { var r = resolveKey; resolveKey = null; r(k); }
    });
  });

  /* JSON call with X-API-Key; asks for the key on 401/403 and retries. */
  function api(path, options) {
    options = options || {};
    var key = getKey();
    var ready = key ? Promise.resolve(key) : askKey();
    return ready.then(function (k) {
      var headers = { "X-API-Key": k };
      if (options.body !== undefined) headers["Content-Type"] = "application/json";
      return fetch(path, { method: options.method || (options.body !== undefined ? "POST" : "GET"), headers: headers,
                           body: options.body !== undefined ? JSON.stringify(options.body) : undefined });
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) {
        if (res.status === 401 || res.status === 403) {
          try { sessionStorage.removeItem(KEY); } catch (e) { }
          return askKey(body.message || "密钥无效").then(function () { return api(path, options); });
        }
        if (!res.ok) { var err = new Error(body.message || ("请求失败（" + res.status + "）")); err.body = body; err.status = res.status; throw err; }
        return body;
      });
    });
  }

  function toast(text) {
    var t = document.getElementById("toast");
    t.textContent = text; t.classList.add("show");
    clearTimeout(t._timer); t._timer = setTimeout(function () { t.classList.remove("show"); }, 1600);
  }

  function copy(text, what) {
    function done() { toast("已复制" + (what ? "：" + what : "")); }
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text).then(done, fallback);
    return Promise.resolve(fallback());
    function fallback() {
      var ta = document.createElement("textarea"); ta.value = text; ta.setAttribute("readonly", "");
      ta.style.position = "fixed"; ta.style.opacity = "0"; document.body.appendChild(ta); ta.select();
      try { document.execCommand("copy"); done(); } catch (e) { toast("复制失败，请手动选择文字"); }
      ta.remove();
    }
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "class") node.className = attrs[k];
      else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), attrs[k]);
      else if (attrs[k] !== null && attrs[k] !== undefined && attrs[k] !== false) node.setAttribute(k, attrs[k] === true ? "" : attrs[k]);
    }
    (children || []).forEach(function (c) { if (c !== null && c !== undefined) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  }

  // Light markdown of answers (**bold**, "- " items) as DOM nodes, never innerHTML.
  function rich(node, text) {
    node.textContent = "";
    String(text || "").split("\n").forEach(function (line, i) {
      if (i) node.appendChild(document.createTextNode("\n"));
      line = line.replace(/^(\s*)[-*] /, "$1• ");
      line.split(/\*\*(.+?)\*\*/).forEach(function (part, j) {
        if (!part) return;
        node.appendChild(j % 2 ? el("b", { text: part }) : document.createTextNode(part));
      });
    });
  }
  function plain(text) { return String(text || "").replace(/\*\*(.+?)\*\*/g, "$1"); }

  var REVIEW = { pass: ["通过", "badge ok"], needs_correction: ["需补正", "badge bad"] };

  /* A submission's pre-review: 通过 / 需补正, each 补正 item as "label：hint", the materials still to bring folded.
     The API sends labels and hints only (the review never quotes a value), and nothing else is shown. */
  function review(sub) {
    var shown = REVIEW[sub.review_status] || ["未预审", "badge"];
    var box = el("div", { class: "review", "data-review": sub.review_status || "none" },
      [el("span", { class: shown[1] + " review-status", text: "预审" + shown[0] })]);
    var items = (sub.review && sub.review.items) || [];
    var fixes = items.filter(function (i) { return i.severity === "fix"; });
    var prepare = items.filter(function (i) { return i.severity !== "fix"; });
    if (fixes.length) {
      box.appendChild(el("ol", { class: "review-items" }, fixes.map(function (i) {
        return el("li", { "data-key": i.key }, [el("b", { text: i.label }), "：", i.message]);
      })));
    }
    if (prepare.length) {
      box.appendChild(el("details", { class: "review-more" }, [el("summary", { class: "muted", text: "待准备材料 " + prepare.length + " 项" }),
        el("ul", {}, prepare.map(function (i) { return el("li", { text: i.message }); }))]));
    }
    return box;
  }

  function when(iso) {
    return new Date(iso + (/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? "" : "Z")).toLocaleString("zh-CN", { hour12: false });
  }

  window.daoban = { api: api, rich: rich, plain: plain, copy: copy, toast: toast, el: el, askKey: askKey, review: review, when: when,
                    logout: function () { try { sessionStorage.removeItem(KEY); } catch (e) { } location.reload(); } };
})();
