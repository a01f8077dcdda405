/* The preview table (#apercu) fed by the portal's API: the filter form asks
   /api/datasets/{id}/records with the tabular API's grammar, redraws the rows, and follows the
   answer's "next" link for the following rows. Without script the form reloads the page instead. */
(function () {
  'use strict';
  var form = document.getElementById('filtre');
  var table = document.getElementById('apercu');
  if (!form || !table || !window.fetch) return;
  var body = table.tBodies[0];
  var status = document.getElementById('apercu-etat');
  var more = document.getElementById('apercu-suite');
  var fields = Array.prototype.map.call(table.tHead.rows[0].cells, function (th) { return th.dataset.champ; });
  var next = null;

  function text(value) {
    if (value === null || value === undefined) return '';
    if (typeof value === 'boolean') return value ? 'oui' : 'non';
    if (typeof value === 'object') value = JSON.stringify(value);
    value = String(value);
    return value.length > 60 ? value.slice(0, 57) + '...' : value;
  }

  function apiUrl() {
    var params = new URLSearchParams();
    params.set('version', form.dataset.version);
    params.set('page_size', '20');
    var field = form.elements.champ.value;
    var op = form.elements.operateur.value;
    if (field) {
      var value = (op === 'isnull' || op === 'isnotnull') ? 'true' : form.elements.valeur.value;
      params.set(field + '__' + op, value);
    }
    if (form.elements.tri.value) params.set('sort', form.elements.tri.value);
    return form.dataset.api + '?' + params.toString();
  }

  function pageUrl() {
    var params = new URLSearchParams(new FormData(form));
    params.forEach(function (v, k) { if (!v) params.delete(k); });
    var keep = [];
    params.forEach(function (v, k) { if (v) keep.push([k, v]); });
    return location.pathname + (keep.length ? '?' + new URLSearchParams(keep).toString() : '') + '#apercu';
  }

  function draw(rows, append) {
    if (!append) body.textContent = '';
    rows.forEach(function (row) {
      var tr = document.createElement('tr');
      fields.forEach(function (f) {
        var td = document.createElement('td');
        td.textContent = text(row[f]);
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  function load(url, append) {
    status.textContent = 'Chargement…';
    table.setAttribute('aria-busy', 'true');
    return fetch(url, { headers: { Accept: 'application/json' } })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); })
      .then(function (answer) {
        table.removeAttribute('aria-busy');
        if (!answer.ok) {
          status.textContent = answer.body.erreur || 'La requête a échoué.';
          return;
        }
        draw(answer.body.data, append);
        next = answer.body.next;
        more.hidden = !next;
        var n = body.rows.length;
        status.textContent = n + ' ligne' + (n > 1 ? 's' : '') + ' affichée' + (n > 1 ? 's' : '') +
          (next ? ', d\u2019autres suivent.' : '.');
        table.dataset.charge = url;
      })
      .catch(function () {
        table.removeAttribute('aria-busy');
        status.textContent = 'Le portail ne répond pas ; réessayez.';
      });
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    history.replaceState(null, '', pageUrl());
    load(apiUrl(), false);
  });
  more.addEventListener('click', function () { if (next) load(next, true); });
  // The first page came with the HTML; ask the API once for its "next" link.
  if (body.rows.length >= 20) {
    fetch(apiUrl()).then(function (r) { return r.json(); }).then(function (j) {
      next = j.next; more.hidden = !next;
    }).catch(function () {});
  }
})();
